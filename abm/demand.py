"""End-use demand outlook and the probit adoption rule of thrifting and substitution.

``DemandOutlook`` turns ``abm/data/demand_outlook.csv`` into sectoral growth paths of magnet
end use: the IEA Global Critical Minerals Outlook 2024, Announced Pledges Scenario (APS):
EV traction motors 8.2%/yr 2023-50; other magnet uses 4.75%/yr 2023-30 and 0.28%/yr
2030-50 (derived so that the two add up to the APS totals: 93 kt in 2023, 131 kt in 2030,
181 kt in 2050, 5.0%/yr to 2030). Years before 2023 use the historical rate (magnet REE
demand "nearly doubled since 2015", 9.05%/yr), the same for every sector (no sectoral split
was found).

``adoption_target`` and ``adopt`` are the adoption rule used by OEMs (substitution,
Dy-free designs) and magnet makers (thrifting): a probit diffusion model (David 1969;
Davies 1979) gives the share of users whose switching threshold the price exceeds, and
the actual share moves towards it fast when the target rises (adoption,
``substitution_lag_months``) and slowly when it falls (a design lasts a product generation,
``design_life_months``: putty-clay).
"""

from __future__ import annotations

import math

from abm.data import load_table

#: Model sectors and the outlook's sector whose growth rate they follow.
OUTLOOK_SECTOR = {"ev": "ev", "wind": "non_ev", "electronics": "non_ev", "industrial": "non_ev"}
#: First year of the outlook (earlier years use the historical growth rate).
OUTLOOK_FROM = 2023


def last_data_month() -> str:
    """The last month a run may reach, ``"YYYY-12"``: December of the last year of the
    demand outlook the model reads (``iea_gcmo2024`` growth rates in
    ``abm/data/demand_outlook.csv``, :class:`DemandOutlook`; later years would repeat the
    last rate, an extrapolation beyond the data).

    Raises:
        DataError: the table fails validation.
    """
    spans = DemandOutlook().future.values()
    return f"{max(y1 for rows in spans for _y0, y1, _r in rows)}-12"


class DemandOutlook:
    """Annual growth rates of magnet end use by sector and calendar year.

    Args:
        scale: multiplier on every rate (``demand_outlook_scale``).
        table: the outlook table (default: the shipped ``demand_outlook.csv``).

    Raises:
        DataError: the table fails validation (from :func:`abm.data.load_table`).
        ValueError: the table has no growth rate for a sector the model uses.
    """

    def __init__(self, scale: float = 1.0, table=None):
        t = load_table("demand_outlook.csv") if table is None else table
        t = t[(t["outlook"] == "iea_gcmo2024") & (t["metric"] == "growth_pct_yr")]
        self.scale = float(scale)
        self.future = {}
        # the model's sectors' outlook sectors, and "all" (the total, which investors read)
        for sec in sorted(set(OUTLOOK_SECTOR.values()) | {"all"}):
            rows = t[(t["scenario"] == "aps") & (t["sector"] == sec)]
            if rows.empty:
                raise ValueError(
                    f"demand_outlook.csv: no iea_gcmo2024 aps growth_pct_yr row for sector '{sec}'"
                )
            # (year_from, year_to, rate), narrowest span first where spans overlap
            self.future[sec] = sorted(
                ((int(r.year_from), int(r.year_to), r.value / 100.0) for r in rows.itertuples()),
                key=lambda x: x[1] - x[0],
            )
        hist = t[(t["scenario"] == "history") & (t["sector"] == "all")]
        if hist.empty:
            raise ValueError("demand_outlook.csv: no iea_gcmo2024 history growth_pct_yr row")
        self.history = float(hist.iloc[0]["value"]) / 100.0
        self._paths: dict[tuple, list[float]] = {}

    def rate(self, sector: str, year: int) -> float:
        """Growth rate of ``sector``'s end use in calendar ``year``, 1/yr (scaled).

        ``sector`` ``"all"`` is the outlook's total for magnet rare earths (what investors
        read, 7.13); other sectors outside :data:`OUTLOOK_SECTOR` (defense, non-magnet
        users) raise KeyError; years after the last outlook year keep the last rate."""
        if year < OUTLOOK_FROM:
            return self.history * self.scale
        spans = self.future["all" if sector == "all" else OUTLOOK_SECTOR[sector]]
        for y0, y1, r in spans:
            if y0 <= year < y1:
                return r * self.scale
        return max(spans, key=lambda x: x[1])[2] * self.scale

    def factor(self, sector: str, start_year: int, start_month: int, months: int) -> float:
        """Growth factor of ``sector``'s end use ``months`` months after the start month
        (``start_year``, ``start_month`` 1-12), compounding each month at the rate of its
        calendar year: ``prod (1 + rate) ** (1/12)``."""
        key = (sector, start_year, start_month)
        path = self._paths.setdefault(key, [1.0])
        while len(path) <= months:
            k = len(path) - 1
            year = start_year + (start_month - 1 + k) // 12
            path.append(path[-1] * (1.0 + self.rate(sector, year)) ** (1.0 / 12.0))
        return path[int(months)]


def phi(x: float) -> float:
    """Standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def adoption_target(rel_price: float, max_share: float, trigger: float, dispersion: float) -> float:
    """Target adoption share at a price multiple ``rel_price`` (expected over base-year
    price): the share of users whose lognormal switching threshold (median ``trigger``,
    log spread ``dispersion``) the price exceeds (probit diffusion: David 1969; Davies
    1979), counted among the users who had not switched at the base-year price (those are
    in the base-year recipes already)::

        max_share x (Phi(z) - Phi(z0)) / (1 - Phi(z0)),  z = ln(rel_price / trigger) / d,
                                                          z0 = ln(1 / trigger) / d

    0 at or below the base-year price (``rel_price <= 1``), ``max_share`` as the price
    multiple grows without bound."""
    if rel_price <= 1.0:  # also a subnormal price that underflows to 0 (Hypothesis)
        return 0.0
    base = phi(math.log(1.0 / trigger) / dispersion)
    return max_share * ((phi(math.log(rel_price / trigger) / dispersion) - base) / (1.0 - base))


def adopt(share: float, target: float, up_months: float, down_months: float) -> float:
    """One month of adoption: ``share + (target - share) x (1 - exp(-1 / tau))`` with
    ``tau = up_months`` when the target is above the share and ``down_months`` when below.
    Stays between ``share`` and ``target`` (so in [0, 1] when both are)."""
    tau = up_months if target > share else down_months
    return share + (target - share) * (1.0 - math.exp(-1.0 / tau))
