"""Scalar outcomes of a run (for sweeps, sensitivity analysis and reproduction).

Each :class:`Outcome` maps a finished model to one number with a unit. :func:`evaluate` is
the single entry point sweeps call: build the model from a scenario with overrides and a
seed, run it, and return the requested outcomes (and optionally the tidy time series).
Outcomes reduce recorded series of :mod:`abm.metrics` (a maximum, sum, count or mean over
months or regions); the price outside China and the civil lost output are the recorded
``price_outside_china_median`` and ``lost_output_civil_magnet`` series, not recomputed here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from abm.accounts import FOCUS_REGIONS
from abm.regions import OUTSIDE_CHINA


@dataclass(frozen=True)
class Outcome:
    """A named scalar summary of a run.

    ``year``: the calendar year the outcome summarises (the run must cover all of it, else
    the value is NaN or a partial-year mean; sweeps check this before running), or None.
    """

    name: str
    unit: str
    description: str
    fn: Callable[[pd.DataFrame], float]
    year: int | None = None


def _rows(ts: pd.DataFrame, metric: str, good=None, region=None) -> pd.DataFrame:
    m = ts["metric"] == metric
    if good is not None:
        m &= ts["good"] == good
    if region is not None:
        m &= ts["region"] == region
    return ts[m]


def _peak_price_outside_china(good: str):
    """Highest monthly ``price_outside_china_median`` (abm.metrics) of ``good``."""

    def f(ts):
        p = _rows(ts, "price_outside_china_median", good, OUTSIDE_CHINA)["value"]
        return float(p.max()) if len(p) else float("nan")

    return f


def _peak_price_in(good: str, region: str):
    """Highest monthly ``price`` (the civil price paid, :meth:`abm.model.RareEarthModel._observe`)
    of ``good`` in ``region``."""

    def f(ts):
        p = _rows(ts, "price", good, region)["value"]
        return float(p.max()) if len(p) else float("nan")

    return f


def _lost_months(ts):
    """Months with a positive world ``lost_output_civil_magnet``."""
    return float((_rows(ts, "lost_output_civil_magnet", region="World")["value"] > 0).sum())


def _lost_usd(metric: str, region: str = "World"):
    """Sum over months of ``metric`` (``lost_output_civil_magnet`` or ``lost_output_defense``)
    in ``region`` (``World``: the world total row)."""

    def f(ts):
        return float(_rows(ts, metric, region=region)["value"].sum())

    return f


def _content_in_year(region: str, year: int):
    def f(ts):
        s = _rows(ts, "china_content", region=region)
        s = s[s["date"].dt.year == year]
        return float(s["value"].mean()) if len(s) else float("nan")

    return f


def _subsidy(ts):
    s = ts[ts["metric"] == "subsidy_cost"]
    return float(s.groupby("region")["value"].max().sum()) if len(s) else 0.0


def _account_sum(metric: str, region: str):
    """Sum over months of an account row (``abm.accounts``, good ``all``) of ``region``."""

    def f(ts):
        return float(_rows(ts, metric, "all", region)["value"].sum())

    return f


def _va_lost_pct_gdp_peak(region: str):
    """Highest 12-month mean of ``value_added_lost_pct_gdp`` of ``region`` (% of GDP):
    the worst year's value added lost (fewer months at the start of a run)."""

    def f(ts):
        s = _rows(ts, "value_added_lost_pct_gdp", "all", region).sort_values("date")["value"]
        return float(s.rolling(12, min_periods=1).mean().max()) if len(s) else float("nan")

    return f


def _capacity_outside_china(stage: str):
    def f(ts):
        s = ts[(ts["metric"] == "capacity") & (ts["good"] == stage) & (ts["region"] != "CN")]
        if not len(s):
            return 0.0
        last = s["date"].max()
        return float(s[s["date"] == last]["value"].sum())

    return f


def _in_years(ts: pd.DataFrame, first: int, last: int) -> pd.Series:
    """Boolean mask of the rows of ``ts`` dated in calendar years ``first``..``last``."""
    y = pd.to_datetime(ts["date"].astype(str)).dt.year
    return (y >= first) & (y <= last)


def _mine_utilisation_min(first: int, last: int):
    """Lowest monthly world mine utilisation in ``first``..``last``: mined concentrate
    (``production`` of the ``conc_*`` goods, t REO/month, all regions) over mining capacity
    (``capacity`` of ``mining``, t/yr, / 12)."""

    def f(ts):
        w = ts[_in_years(ts, first, last)]
        out = w[(w["metric"] == "production") & w["good"].astype(str).str.startswith("conc_")]
        cap = w[(w["metric"] == "capacity") & (w["good"] == "mining")]
        u = (
            out.groupby("date")["value"].sum() / (cap.groupby("date")["value"].sum() / 12.0)
        ).dropna()
        return float(u.min()) if len(u) else float("nan")

    return f


#: The magnet rare earths of the IEA's supply shares (Nd, Pr, Dy, Tb: IEA Global Critical
#: Minerals Outlook data, "magnet rare earth elements").
MAGNET_ELEMENTS = ("Nd", "Pr", "Dy", "Tb")


def _china_magnet_share(stage: str, year: int):
    """China's share of the world's magnet rare earths (:data:`MAGNET_ELEMENTS`) at
    ``stage`` over calendar ``year``, the basis of the IEA's outlook shares (GCMO 2025 base
    case for 2035: mining 52%, refining 76%): ``mining``, the Nd+Pr+Dy+Tb content of mined
    concentrate (``production`` of each ``conc_<deposit>``, t REO, times the deposit's
    composition, :func:`abm.goods.deposit_compositions`); ``separation``, the ``production``
    of Nd, Pr, Dy and Tb oxide (recyclers' oxide included). NaN without output."""
    from abm.goods import deposit_compositions

    comp = deposit_compositions()
    if stage == "mining":
        weight = {
            f"conc_{d}": sum(shares.get(e, 0.0) for e in MAGNET_ELEMENTS)
            for d, shares in comp.items()
        }
    else:
        weight = {f"ox_{e}": 1.0 for e in MAGNET_ELEMENTS}

    def f(ts):
        w = ts[(ts["metric"] == "production") & _in_years(ts, year, year)]
        factor = w["good"].astype(str).map(weight)  # NaN for goods of other stages
        w, factor = w[factor.notna()], factor[factor.notna()].astype(float)
        content = w["value"] * factor
        total = float(content.sum())
        return float(content[w["region"] == "CN"].sum() / total) if total > 0 else float("nan")

    return f


def _ndpr_ratio(first: int, last: int, base: int, how: str):
    """Highest (``how="max"``) or lowest monthly China NdPr price (``price`` of ``NdPr``,
    CN) in ``first``..``last`` over its ``base``-year mean."""

    def f(ts):
        p = _rows(ts, "price", "NdPr", "CN")
        ref = p[_in_years(p, base, base)]["value"].mean()
        w = p[_in_years(p, first, last)]["value"]
        if not len(w) or not np.isfinite(ref) or ref <= 0:
            return float("nan")
        return float(getattr(w, how)() / ref)

    return f


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in [
        Outcome(
            "peak_dy_price_outside_china",
            "USD/kg",
            "highest monthly median Dy oxide price across regions outside China that traded it "
            "(recorded series price_outside_china_median)",
            _peak_price_outside_china("ox_Dy"),
        ),
        Outcome(
            "peak_ndpr_price_outside_china",
            "USD/kg",
            "highest monthly median NdPr (Nd oxide) price outside China "
            "(recorded series price_outside_china_median of ox_Nd)",
            _peak_price_outside_china("ox_Nd"),
        ),
        Outcome(
            "peak_dy_price_us",
            "USD/kg",
            "highest monthly Dy oxide price paid in the US (recorded series price of ox_Dy, "
            "US): the market a US licence policy acts on, which the median over the regions "
            "outside China barely shows",
            _peak_price_in("ox_Dy", "US"),
        ),
        Outcome(
            "oem_lost_output_months",
            "months",
            "months with any civil magnet-using OEM lost output (all regions; recorded series "
            "lost_output_civil_magnet)",
            _lost_months,
        ),
        Outcome(
            "oem_lost_output_usd",
            "USD",
            "cumulative lost output of civil magnet-using OEMs, all regions "
            "(lost_output_civil_magnet, World)",
            _lost_usd("lost_output_civil_magnet"),
        ),
        Outcome(
            "us_oem_lost_output_usd",
            "USD",
            "cumulative lost output of US civil OEMs (lost_output_civil_magnet, US)",
            _lost_usd("lost_output_civil_magnet", "US"),
        ),
        Outcome(
            "defense_lost_output_usd",
            "USD",
            "cumulative lost output of defense contractors (lost_output_defense, World)",
            _lost_usd("lost_output_defense"),
        ),
        Outcome(
            "china_content_us_2030",
            "share",
            "China-origin share of US magnet supply, mean of 2030",
            _content_in_year("US", 2030),
            year=2030,
        ),
        Outcome(
            "china_content_eu_2030",
            "share",
            "China-origin share of EU magnet supply, mean of 2030",
            _content_in_year("EU", 2030),
            year=2030,
        ),
        Outcome(
            "mine_utilisation_min_2029_2035",
            "share",
            "lowest monthly world mine utilisation over 2029-35 (mined t REO over mining "
            "capacity; issue 12 target >= 0.7 in baseline)",
            _mine_utilisation_min(2029, 2035),
            year=2035,
        ),
        Outcome(
            "ndpr_china_max_ratio_2029_2035",
            "x 2024",
            "highest monthly China NdPr price over 2029-35 over its 2024 mean (issue 12 "
            "target <= 1.4 in baseline)",
            _ndpr_ratio(2029, 2035, 2024, "max"),
            year=2035,
        ),
        Outcome(
            "ndpr_china_min_ratio_2029_2035",
            "x 2024",
            "lowest monthly China NdPr price over 2029-35 over its 2024 mean (issue 12 "
            "target >= 0.6 in baseline)",
            _ndpr_ratio(2029, 2035, 2024, "min"),
            year=2035,
        ),
        Outcome(
            "china_share_magnet_mining_2035",
            "share",
            "China's share of the Nd, Pr, Dy and Tb content of mined concentrate in 2035, the "
            "basis of the IEA's outlook (GCMO 2025 base case: 0.52)",
            _china_magnet_share("mining", 2035),
            year=2035,
        ),
        Outcome(
            "china_share_magnet_separation_2035",
            "share",
            "China's share of Nd, Pr, Dy and Tb oxide output in 2035, the basis of the IEA's "
            "outlook (GCMO 2025 base case refining: 0.76)",
            _china_magnet_share("separation", 2035),
            year=2035,
        ),
        Outcome(
            "cumulative_subsidy_cost",
            "USD",
            "price-floor and offtake payments by governments, cumulative",
            _subsidy,
        ),
        Outcome(
            "magnet_capacity_outside_china",
            "t/yr",
            "magnet capacity outside China at the end of the run",
            _capacity_outside_china("magnets"),
        ),
        Outcome(
            "tariff_revenue_usd",
            "USD",
            "tariff revenue of all importers, cumulative (tariff_revenue, World)",
            _account_sum("tariff_revenue", "World"),
        ),
        Outcome(
            "buyer_extra_cost_usd",
            "USD",
            "extra cost to buyers of rare-earth goods against "
            "pre-shock prices, all regions, cumulative (buyer_extra_cost, World)",
            _account_sum("buyer_extra_cost", "World"),
        ),
        Outcome(
            "us_buyer_extra_cost_usd",
            "USD",
            "extra cost to US buyers of rare-earth goods (magnets, oxides, concentrate) "
            "against pre-shock prices, tariffs included, cumulative (buyer_extra_cost, US): "
            "what a policy costs US buyers through prices, beside the output they lose "
            "(us_oem_lost_output_usd)",
            _account_sum("buyer_extra_cost", "US"),
        ),
        *[
            Outcome(
                f"value_added_lost_usd_{r.lower()}",
                "USD",
                f"value added lost in {r}, direct and through the domestic supply chain, "
                "cumulative (value_added_lost, all)",
                _account_sum("value_added_lost", r),
            )
            for r in FOCUS_REGIONS
        ],
        *[
            Outcome(
                f"value_added_lost_pct_gdp_{r.lower()}",
                "% of GDP",
                f"value added lost in {r} in the worst 12 months, % of GDP (highest 12-month "
                "mean of value_added_lost_pct_gdp)",
                _va_lost_pct_gdp_peak(r),
            )
            for r in FOCUS_REGIONS
        ],
    ]
}


def evaluate(
    scenario, *, overrides=None, seed=0, months=None, outcomes=None, keep_timeseries=False
) -> tuple[dict[str, float], pd.DataFrame | None]:
    """Run one simulation and compute scalar outcomes.

    Args:
        scenario: scenario name, TOML path or :class:`~abm.scenario.Scenario`.
        overrides: dotted-path overrides (see :func:`abm.scenario.parameter_space`).
        seed: int or :class:`numpy.random.SeedSequence`.
        months: months to simulate (None: the scenario horizon).
        outcomes: names from :data:`OUTCOMES` (None: all).
        keep_timeseries: also return the tidy time series.

    Returns:
        ``({outcome name: value}, timeseries DataFrame or None)``.

    Raises:
        KeyError: an unknown outcome name (lists the known ones).
        ScenarioError: invalid scenario or override.
    """
    from abm.model import RareEarthModel

    names = list(OUTCOMES) if outcomes is None else list(outcomes)
    unknown = [n for n in names if n not in OUTCOMES]
    if unknown:
        raise KeyError(f"unknown outcome(s) {unknown}; known: {sorted(OUTCOMES)}")
    model = RareEarthModel(scenario, seed=seed, months=months, overrides=overrides)
    model.run()
    ts = model.timeseries()
    values = {n: float(OUTCOMES[n].fn(ts)) for n in names}
    values = {k: (v if np.isfinite(v) else float("nan")) for k, v in values.items()}
    nan = [k for k, v in values.items() if np.isnan(v)]
    if nan and model.months < model.horizon:
        # an outcome of a year or period after a short run's end is NaN (``ree sweep
        # plan`` refuses such a design; the API returns NaN, and says why)
        last = model.start + (model.months - 1)
        warnings.warn(
            f"evaluate: {len(nan)} outcome(s) are NaN in this run of {model.months} months "
            f"({model.start} to {last}): {nan}; an outcome of a year or period the run does "
            f"not reach is NaN (months=None runs the whole horizon, {model.horizon} months)",
            stacklevel=2,
        )
    return values, (ts if keep_timeseries else None)
