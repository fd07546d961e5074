"""End-use demand outlook and the probit adoption rule of thrifting and substitution.

``DemandOutlook`` turns ``abm/data/demand_outlook.csv`` into sectoral growth paths of magnet
end use: the IEA Global Critical Minerals Outlook 2024, Announced Pledges Scenario (APS):
EV traction motors 8.2%/yr 2023-50; other magnet uses 4.75%/yr 2023-30 and 0.28%/yr
2030-50 (derived so that the two add up to the APS totals: 93 kt in 2023, 131 kt in 2030,
181 kt in 2050, 5.0%/yr to 2030). Years before 2023 use the historical rate (magnet REE
demand "nearly doubled since 2015", 9.05%/yr), the same for every sector (no sectoral split
was found), except where ``abm/data/end_use_activity.csv`` records the world output of each
sector's driver (hybrid and electric car sales, wind installations, hard disk drives,
motor vehicles): there end use follows the recorded activity (derived demand), which
carries a run that starts in 2009 through the recession and the 2010 rebound.

``adoption_target`` and ``adopt`` are the adoption rule used by OEMs (substitution,
Dy-free designs) and magnet makers (thrifting): a probit diffusion model (David 1969;
Davies 1979) gives the share of users whose switching threshold the price exceeds, and
the actual share moves towards it fast when the target rises (adoption,
``substitution_lag_months``) and slowly when it falls (a design lasts a product generation,
``design_life_months``: putty-clay).
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.tsa.interp.denton import dentonm
from threadpoolctl import threadpool_limits

from abm.data import check_driver_series, load_table

#: Model sectors and the outlook's sector whose growth rate they follow.
OUTLOOK_SECTOR = {"ev": "ev", "wind": "non_ev", "electronics": "non_ev", "industrial": "non_ev"}
#: First year of the outlook (earlier years use the historical growth rate).
OUTLOOK_FROM = 2023
#: Model sectors and the ``end_use_activity.csv`` sector whose driver series (recorded world
#: activity) they follow in the years the table covers.
ACTIVITY_SECTOR = {
    "ev": "ev",
    "wind": "wind",
    "electronics": "electronics",
    "industrial": "industrial_other",
}


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
    """Growth paths of end use by sector and month: recorded world activity where
    ``end_use_activity.csv`` covers the month, the outlook's rates after it.

    *Recorded activity* (derived demand: a firm's input demand moves with the output of the
    goods it goes into, Marshall; Hicks 1932): in the years the activity table covers, a
    sector's end use follows the world output of its driver series (hybrid and electric
    cars, wind installations, hard disk drives, motor vehicles). Annual values become
    months by Denton benchmarking (:meth:`monthly`), so each year's mean level keeps its
    recorded ratio to the base year's. A path uses the table when the table has the run's
    start year for that sector; after the table's last December it compounds at the
    outlook's rates below.

    *Rates* (1/yr, compounded monthly, ``(1 + rate) ** (1/12)`` a month): the recorded
    growth ``A_y / A_(y-1) - 1`` where the table has the year and the one before; otherwise
    the IEA GCMO 2024 APS by sector from 2023 and the historical 9.05%/yr before (both
    times ``scale``).

    Args:
        scale: multiplier on the outlook's rates (``demand_outlook_scale``); recorded
            activity is not scaled.
        table: the outlook table (default: the shipped ``demand_outlook.csv``).
        activity: the activity table (default: the shipped ``end_use_activity.csv``).

    Raises:
        DataError: a table fails validation (from :func:`abm.data.load_table`).
        ValueError: the outlook has no growth rate for a sector the model uses.
        DataError: an activity sector has more than one driver series or a missing year
            (:func:`abm.data.check_driver_series`).
    """

    def __init__(self, scale: float = 1.0, table=None, activity=None):
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
        if activity is None:
            act = load_table("end_use_activity.csv")  # validated, drivers checked
        else:
            act = activity
            check_driver_series(act)
        act = act[act["driver"] == "yes"]
        #: recorded world activity of each sector's driver series: {year: level}
        self.activity: dict[str, dict[int, float]] = {
            path: {int(r.year): float(r.value) for r in act[act["sector"] == sec].itertuples()}
            for path, sec in ACTIVITY_SECTOR.items()
        }
        self._paths: dict[tuple, list[float]] = {}
        self._monthly: dict[str, np.ndarray] = {}

    def rate(self, sector: str, year: int) -> float:
        """Growth rate of ``sector``'s end use in calendar ``year``, 1/yr.

        The recorded growth where the activity table has ``year`` and the year before
        (unscaled); otherwise the outlook's (scaled). ``"all"`` is the outlook's total
        for magnet rare earths (what investors read, 7.13); other sectors outside
        :data:`OUTLOOK_SECTOR` (defense) raise KeyError; years after the last outlook year
        keep the last rate."""
        act = self.activity.get(sector, {})
        if year in act and year - 1 in act:
            return act[year] / act[year - 1] - 1.0
        return self.outlook_rate(sector, year)

    def outlook_rate(self, sector: str, year: int) -> float:
        """The outlook's growth rate of ``sector`` in ``year``, 1/yr (scaled), whatever the
        activity table records (see :meth:`rate`)."""
        if year < OUTLOOK_FROM:
            return self.history * self.scale
        spans = self.future["all" if sector == "all" else OUTLOOK_SECTOR[sector]]
        for y0, y1, r in spans:
            if y0 <= year < y1:
                return r * self.scale
        return max(spans, key=lambda x: x[1])[2] * self.scale

    def covers(self, sector: str, start_year: int) -> bool:
        """Whether ``sector``'s path from a start in ``start_year`` follows recorded
        activity: the table has that year for the sector."""
        return start_year in self.activity.get(sector, {})

    def monthly(self, sector: str) -> np.ndarray:
        """Recorded activity of ``sector`` by month, January of the table's first year to
        December of its last, shape ``(12 x years,)``, in the table's unit: Denton's
        proportional first-difference benchmarking of the annual values (Denton 1971; IMF
        Quarterly National Accounts Manual, Bloem, Dippelsman and Maehle 2001, ch. VI)
        with a flat indicator, so that each year's months average its annual value and
        the path has no jumps (``statsmodels.tsa.interp.denton.dentonm``).

        The benchmarking solves a linear system with LAPACK on one BLAS thread
        (``threadpoolctl``): a multithreaded solve rounds differently with the thread count,
        which made a seed's run in a Dask worker (one thread) differ from the same seed run
        alone (session 31)."""
        if sector not in self._monthly:
            act = self.activity[sector]
            years = np.array([act[y] for y in sorted(act)], dtype=float)
            with threadpool_limits(limits=1, user_api="blas"):
                path = dentonm(np.ones(12 * len(years)), 12.0 * years, "other", k=12)
            self._monthly[sector] = path
        return self._monthly[sector]

    def factor(self, sector: str, start_year: int, start_month: int, months: int) -> float:
        """Level of ``sector``'s end use ``months`` months after the start month
        (``start_year``, ``start_month`` 1-12) relative to the base year.

        Where the table covers the start year (:meth:`covers`): the recorded activity of
        the month (:meth:`monthly`) over the start year's annual value (so not 1 at month
        0: base-year demand is an annual mean), to the table's last December, then each
        month ``(1 + rate) ** (1/12)`` at the outlook's rate of the month's calendar year
        (:meth:`outlook_rate`). For any other start: 1 at month 0, then each month
        ``(1 + rate) ** (1/12)`` at the rate of the previous month's calendar year
        (:meth:`rate`: so 12 months from January compound to one year's rate)."""
        key = (sector, start_year, start_month)
        path = self._paths.get(key)
        if path is not None and len(path) > months:
            return path[int(months)]
        recorded = self.covers(sector, start_year)
        if recorded:
            series = self.monthly(sector)
            j0 = (start_year - min(self.activity[sector])) * 12 + start_month - 1
            series = series[j0:] / self.activity[sector][start_year]
        if key not in self._paths:
            self._paths[key] = [float(series[0])] if recorded else [1.0]
        path = self._paths[key]
        while len(path) <= months:
            k = len(path)
            year = start_year + (start_month - 1 + k - 1) // 12
            if recorded and k < len(series):
                path.append(float(series[k]))
            elif recorded:  # past the table: the outlook, in the year of the month entered
                y = start_year + (start_month - 1 + k) // 12
                path.append(path[-1] * (1.0 + self.outlook_rate(sector, y)) ** (1.0 / 12.0))
            else:
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
