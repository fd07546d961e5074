"""Reproduction targets: a scalar per replicate computed from the extracted series, checked
on the median over seeds against a stated tolerance (:data:`TARGETS`,
:func:`evaluate_targets`). Dates (the 2010 quota cut, the April 2025 licences) are read from
the scenario measures with the ids named here, never hard-coded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from abm.scenario import load_scenario
from abm.timeline import to_month
from experiments.reproduce.series import _wide
from experiments.reproduce.variants import _measure_ids


@dataclass(frozen=True)
class Target:
    """A reproduction target: a scalar per replicate, checked on the median over seeds.

    Attributes:
        id: short identifier.
        episode: ``2010-11``, ``2025`` or ``base year 2024``.
        title: what is reproduced.
        definition: how the scalar is computed (REPORT.md).
        lo, hi: tolerance (inclusive); the median over seeds must lie inside.
        unit: unit of the scalar.
        source: the source of the target.
        variants: variants the computation needs.
        compute: ``f(runs) -> float`` where ``runs`` maps variant name to the replicate's wide
            series table (and ``"_base"`` to its base-year check dict).
        censored: ``f(runs) -> bool``, for a peak target: True when the replicate's peak is
            censored by the target's window (the series rises higher just after it), so the
            value is the window's edge, not a peak. A target censored in more than half of
            its replicates fails whatever its median (:func:`evaluate_targets`).
    """

    id: str
    episode: str
    title: str
    definition: str
    lo: float
    hi: float
    unit: str
    source: str
    variants: tuple[str, ...]
    compute: Callable[[dict], float] = field(repr=False)
    fmt: str = "{:.2f}"
    censored: Callable[[dict], bool] | None = field(default=None, repr=False)


def _measure(scenario: str, measure_id: str):
    """The measure ``measure_id`` of the shipped ``scenario`` (KeyError if it has none)."""
    m = _measure_ids(load_scenario(scenario)).get(measure_id)
    if m is None:
        raise KeyError(f"scenario {scenario} has no measure with id '{measure_id}'")
    return m


def _measure_month(scenario: str, measure_id: str) -> pd.Timestamp:
    return to_month(_measure(scenario, measure_id).date).to_timestamp()


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


PEAK_LEVEL_TOLERANCE = 0.02  # the peak month is the first month within 2% of the peak level


def _peak(s: pd.Series, start: pd.Timestamp, months: int) -> tuple[float, pd.Timestamp | None]:
    """Highest value of ``s`` in ``[start, start + months)`` and the first month within
    :data:`PEAK_LEVEL_TOLERANCE` of it (so a price that reaches a plateau, e.g. the bid
    ceiling, peaks when it first reaches the plateau, not at a later rounding-level maximum)."""
    end = start + pd.DateOffset(months=months)
    w = s[(s.index >= start) & (s.index < end)].dropna()
    if w.empty:
        return float("nan"), None
    top = float(w.max())
    return top, w[w >= (1 - PEAK_LEVEL_TOLERANCE) * top].index[0]


def _pre_shock(s: pd.Series, year: int) -> float:
    w = s[s.index.year == year].dropna()
    return float(w.mean()) if len(w) else float("nan")


PEAK_WINDOW_MONTHS = 36  # the 2010-11 peak is sought from the quota cut to 36 months after


def _price_peak_multiple(good: str):
    def f(runs):
        s = runs["embargo-2010"][f"price_row:{good}"]
        cut = _measure_month("embargo-2010", "cn_quota_2010")
        peak, _ = _peak(s, cut, PEAK_WINDOW_MONTHS)
        return peak / _pre_shock(s, 2009)

    return f


#: months after the peak window in which a higher price marks the window's peak as censored
POST_WINDOW_MONTHS = 12


def _price_peak_censored(good: str):
    """True when the price outside China rises above its in-window peak (by more than
    :data:`PEAK_LEVEL_TOLERANCE`) within :data:`POST_WINDOW_MONTHS` after the window: the
    "peak" is then the window's edge of a price still rising (session 15: Nd in 2013)."""

    def f(runs):
        s = runs["embargo-2010"][f"price_row:{good}"]
        cut = _measure_month("embargo-2010", "cn_quota_2010")
        top, _ = _peak(s, cut, PEAK_WINDOW_MONTHS)
        end = cut + pd.DateOffset(months=PEAK_WINDOW_MONTHS)
        after = s[(s.index >= end) & (s.index < end + pd.DateOffset(months=POST_WINDOW_MONTHS))]
        after = after.dropna()
        return bool(len(after)) and float(after.max()) > (1 + PEAK_LEVEL_TOLERANCE) * top

    return f


def _price_peak_lag(good: str):
    def f(runs):
        s = runs["embargo-2010"][f"price_row:{good}"]
        cut = _measure_month("embargo-2010", "cn_quota_2010")
        _, when = _peak(s, cut, PEAK_WINDOW_MONTHS)
        return float(_months_between(cut, when)) if when is not None else float("nan")

    return f


def _removal_rate_at_peak(runs):
    w = runs["embargo-2010"]
    cut = _measure_month("embargo-2010", "cn_quota_2010")
    _, when = _peak(w["price_row:ox_Nd"], cut, PEAK_WINDOW_MONTHS)
    if when is None or "demand_removed" not in w:
        return float("nan")
    s = w["demand_removed"]
    a, b = when - pd.DateOffset(months=6), when + pd.DateOffset(months=6)
    if a not in s.index or b not in s.index:
        return float("nan")
    return float(s[b] - s[a])


def _non_china_ramp(runs):
    w = runs["embargo-2010"]
    yearly = w[["mine:world", "mine:nonCN"]].groupby(w.index.year).sum()
    if not {2010, 2013} <= set(yearly.index) or (w.index.year == 2013).sum() < 12:
        return float("nan")
    ramp = (yearly.loc[2013, "mine:nonCN"] - yearly.loc[2010, "mine:nonCN"]) / 3.0
    market = yearly.loc[[2011, 2012, 2013], "mine:world"].mean()
    return float(100.0 * ramp / market)


def year_sum(s: pd.Series, year: int) -> float:
    """Sum of the monthly series ``s`` (indexed by month) over ``year``, in its unit times a
    month (t for a t/month series); NaN unless all 12 months of the year ran."""
    y = s[s.index.year == year]
    return float(y.sum()) if len(y) == 12 else float("nan")


def _ndfeb_year(runs, region: str, year: int) -> float:
    """NdFeB magnet output of ``region`` (or ``world``) in ``year`` of embargo-2010, t (NaN
    unless the run covers the whole year)."""
    w = runs["embargo-2010"]
    col = f"ndfeb:{region}"
    return year_sum(w[col], year) if col in w else float("nan")


def _japan_share_magnets_2010(runs):
    world = _ndfeb_year(runs, "world", 2010)
    return _ndfeb_year(runs, "JP", 2010) / world if world > 0 else float("nan")


def _china_magnet_exports_2010(runs):
    return year_sum(runs["embargo-2010"]["cn_magnet_exports"], 2010)


def month_mean(s: pd.Series, year: int, month: int) -> float:
    """Mean of the monthly series ``s`` (indexed by month) in ``year``-``month``; NaN when
    ``s`` has no value there."""
    w = s[(s.index.year == year) & (s.index.month == month)].dropna()
    return float(w.mean()) if len(w) else float("nan")


def export_fill(w: pd.DataFrame, year: int, quota_id: str) -> float:
    """China's recorded oxide exports (``cn_oxide_exports``, t) in ``year`` of one
    ``embargo-2010`` run's wide series ``w``, over the t/yr of its export quota measure
    ``quota_id``; NaN unless the run covers the whole year."""
    y = w[w.index.year == year]
    if len(y) < 12:
        return float("nan")
    return float(y["cn_oxide_exports"].sum()) / float(
        _measure("embargo-2010", quota_id).tonnes_per_year
    )


def price_ratio(s: pd.Series, at: tuple[int, int], base: tuple[int, int]) -> float:
    """Monthly mean of the price series ``s`` in month ``at`` = (year, month) over its mean
    in month ``base`` (:func:`month_mean`); NaN unless both months have a positive value."""
    now, then = month_mean(s, *at), month_mean(s, *base)
    return now / then if np.isfinite(now) and then > 0 else float("nan")


def _china_export_fill_2011(runs):
    """China's recorded oxide exports in 2011 over the 2011 export quota (NaN unless the
    run covers 2011)."""
    return export_fill(runs["embargo-2010"], 2011, "cn_quota_2011")


def _china_dy_rise_2011q1(runs):
    """China's domestic Dy oxide price in March 2011 over December 2010 (monthly means;
    NaN unless the run covers both months)."""
    return price_ratio(runs["embargo-2010"]["price_cn:ox_Dy"], (2011, 3), (2010, 12))


def _china_magnet_growth_2010(runs):
    before = _ndfeb_year(runs, "CN", 2009)
    return _ndfeb_year(runs, "CN", 2010) / before if before > 0 else float("nan")


def _export_fall(runs):
    s = runs["controls-2025"]["cn_magnet_exports"]
    t0 = _measure_month("controls-2025", "cn_licences_apr2025")
    pre = s[(s.index >= t0 - pd.DateOffset(months=3)) & (s.index < t0)].mean()
    after = [s.get(t0 + pd.DateOffset(months=k), np.nan) for k in (1, 2)]
    if not np.isfinite(pre) or pre <= 0 or not np.isfinite(after).any():
        return float("nan")
    return float(1.0 - np.nanmin(after) / pre)


def _mean_2029(variant: str, key: str):
    """Mean over 2029 of the series ``key`` of ``variant`` (NaN unless all 12 months ran)."""

    def f(runs):
        s = runs[variant][key]
        w = s[s.index.year == 2029]
        return float(w.mean()) if len(w) == 12 else float("nan")

    return f


def _us_capacity_2029(variant: str):
    """All US firms' operating magnet capacity, mean over 2029, t/yr."""
    return _mean_2029(variant, "capacity:magnets:US")


def _mp_nameplate_2029(variant: str):
    """MP Materials' magnet nameplate (active plants), mean over 2029, t/yr."""
    return _mean_2029(variant, "nameplate:magnets:MP")


def _floor_shortfall(runs):
    a = _us_capacity_2029("controls-2025")(runs)
    b = _us_capacity_2029("controls-2025/no-floor")(runs)
    return float(1.0 - b / a) if a and np.isfinite(a) and np.isfinite(b) else float("nan")


def _base(key):
    return lambda runs: float(runs["_base"][key])


_PRICE_SRC = (
    "abm/data/prices_2010_2012.csv: Dy oxide FOB China about 3,500 USD/kg in July 2011, "
    "30x its 2009 mean of 115.7 (derived from abrasivesunion 2013-07-13; Lynas/Metal-Pages "
    "2009 mean); Nd oxide FOB 190-200 USD/kg at the end of 2011, 10x its 2009 mean of 19.1 "
    "(USGS MCS2016), after a summer-2011 peak (Nd metal above 417 USD/kg, about 14x the "
    "start of 2010; Dy metal about 4,000, about 22x; Japan Metal Bulletin p=19361, p=4991); "
    "China's domestic prices peaked in July 2011 (episode_2010_12.csv, Xinhua 2011-10-19): "
    "peaks about 12 months after the July 2010 cut"
)
TARGETS: list[Target] = [
    Target(
        "dy_peak_multiple",
        "2010-11",
        "Dy oxide price peak / 2009 level",
        "highest monthly price outside China (median over importing regions) from the 2010 "
        "quota cut (measure cn_quota_2010) to 36 months after, over the 2009 mean; a peak "
        "the window censors (the price higher within 12 months after it) in most replicates "
        "fails",
        8.0,
        30.0,
        "x",
        _PRICE_SRC,
        ("embargo-2010",),
        _price_peak_multiple("ox_Dy"),
        "{:.1f}",
        censored=_price_peak_censored("ox_Dy"),
    ),
    Target(
        "nd_peak_multiple",
        "2010-11",
        "Nd oxide price peak / 2009 level",
        "as for Dy, Nd oxide",
        8.0,
        30.0,
        "x",
        _PRICE_SRC,
        ("embargo-2010",),
        _price_peak_multiple("ox_Nd"),
        "{:.1f}",
        censored=_price_peak_censored("ox_Nd"),
    ),
    Target(
        "dy_peak_lag",
        "2010-11",
        "months from the 2010 quota cut to the Dy peak",
        "months from the month of cn_quota_2010 (July 2010, the second batch) to the first "
        "month in which the Dy oxide price outside China is within 2% of its peak above; "
        "fails as the peak does when the window censors it",
        8.0,
        14.0,
        "months",
        _PRICE_SRC,
        ("embargo-2010",),
        _price_peak_lag("ox_Dy"),
        "{:.0f}",
        censored=_price_peak_censored("ox_Dy"),
    ),
    Target(
        "nd_peak_lag",
        "2010-11",
        "months from the 2010 quota cut to the Nd peak",
        "as for Dy, Nd oxide",
        8.0,
        14.0,
        "months",
        _PRICE_SRC,
        ("embargo-2010",),
        _price_peak_lag("ox_Nd"),
        "{:.0f}",
        censored=_price_peak_censored("ox_Nd"),
    ),
    Target(
        "substitution_rate_at_peak",
        "2010-11",
        "magnet-REE demand removed by thrifting and substitution per year, at the peak",
        "rise over the 12 months centred on the Nd oxide peak of the share of magnet-REE "
        "demand (t REO in magnets) removed by Ce/ferrite substitution, Dy-free designs and "
        "Dy/Tb thrifting and less magnet per unit (OEM sub_share, dy_free_share, "
        "intensity; MagnetMaker hre_factor)",
        0.07,
        0.13,
        "share/yr",
        "Sprecher et al. 2017, ES&T 51(7) 3860-3870 (annual "
        "substitution reached about 10% of total demand)",
        ("embargo-2010",),
        _removal_rate_at_peak,
        "{:.3f}",
    ),
    Target(
        "japan_share_magnets_2010",
        "2010-11",
        "Japan's share of world NdFeB magnet output in 2010",
        "Japan's NdFeB magnet production over the world's, calendar 2010 (embargo-2010)",
        0.15,
        0.24,
        "share",
        "abm/data/processing_magnets.csv: world sintered NdFeB 98,200 t in 2010, China 79.4%, "
        "Japan 19.3%, Europe 1.3% (china.org.cn 2013-08-12); a check against history outside "
        "the issues' targets (session 15)",
        ("embargo-2010",),
        _japan_share_magnets_2010,
        "{:.3f}",
    ),
    Target(
        "china_magnet_growth_2010",
        "2010-11",
        "China's NdFeB magnet output, 2010 over 2009",
        "China's NdFeB magnet production in calendar 2010 over 2009 (embargo-2010)",
        1.3,
        1.7,
        "x",
        "abm/data/processing_magnets.csv: China's sintered NdFeB 52,000 t in 2009 and 78,000 t "
        "in 2010, +50% (China Chemical Reporter 2011-08-17); a check against history outside "
        "the issues' targets (session 15)",
        ("embargo-2010",),
        _china_magnet_growth_2010,
        "{:.2f}",
    ),
    Target(
        "china_magnet_exports_2010",
        "2010-11",
        "China's rare-earth magnet exports in 2010",
        "China's shipments of magnets to all other regions, calendar 2010 (embargo-2010)",
        10400.0,
        17400.0,
        "t",
        "abm/data/trade_flows.csv: 13,886 t in 2010 (in kind), +48% on 2009; US 1,740 t, "
        "Germany 1,078 t, Japan below 747 t (China Chemical Reporter 2011-08-17); tolerance "
        "+-25%; a check against history outside the issues' targets (session 15)",
        ("embargo-2010",),
        _china_magnet_exports_2010,
        "{:,.0f}",
    ),
    Target(
        "china_export_fill_2011",
        "2010-11",
        "China's recorded oxide exports in 2011 over the 2011 export quota",
        "China's oxide exports to all other regions recorded by its customs (smuggled "
        "tonnes excluded), calendar 2011, over the 30,184 t quota (embargo-2010)",
        0.5,
        0.65,
        "share",
        "abm/data/china_quotas.csv and episode_2010_12.csv: 16,900 t (CREIA, 0.56) or "
        "18,600 t (customs, 0.62) of the 30,184 t quota; issue 12 asks for at most 0.60, "
        "emerging from decisions",
        ("embargo-2010",),
        _china_export_fill_2011,
        "{:.2f}",
    ),
    Target(
        "china_dy_rise_2011q1",
        "2010-11",
        "China's domestic Dy oxide price, March 2011 over December 2010",
        "China's Dy oxide price (price_cn:ox_Dy, the delivered price in China) in March 2011 "
        "over December 2010 (embargo-2010); issue 12 asks that China's domestic Nd and Dy "
        "prices rise in Q1 2011",
        1.53,
        2.55,
        "x",
        "abm/data/prices_2010_2012.csv: Dy oxide +104% from the end of 2010 to 25 March "
        "2011 (Tb +81.5%), with speculative funds buying in Ganzhou and Baotou after the "
        "Lunar New Year (Xinhua 2011-03-30, Hwabao Securities data); tolerance +-25%",
        ("embargo-2010",),
        _china_dy_rise_2011q1,
        "{:.2f}",
    ),
    Target(
        "non_china_mine_ramp",
        "2010-11",
        "non-China mine supply growth, pp of the market per year, 2011-2013",
        "(non-China mine output in 2013 - in 2010) / 3, over the mean world mine output of "
        "2011-2013, in percentage points per year",
        2.5,
        5.5,
        "pp/yr",
        "Sprecher et al. 2017 (non-Chinese primary production ramped at about 4% of total "
        "market volume per year)",
        ("embargo-2010",),
        _non_china_ramp,
        "{:.2f}",
    ),
    Target(
        "cn_magnet_export_fall",
        "2025",
        "fall of China's magnet exports 1-2 months after the April 2025 licences",
        "1 - (lowest of China's NdFeB/SmCo exports in the 1st and 2nd month after the month "
        "of cn_licences_apr2025) / (mean of the 3 months before it)",
        0.60,
        0.85,
        "share",
        "China customs via WSJ/automotiveworld.com 2025-06-20: magnet exports -74% y/y in "
        "May 2025 (trade_flows.csv, verified)",
        ("controls-2025",),
        _export_fall,
        "{:.2f}",
    ),
    Target(
        "mp_magnet_capacity_2029",
        "2025",
        "MP Materials' installed magnet capacity in 2029 with the $110/kg floor and offtake",
        "mean over 2029 of the nameplate of MP Materials' active US magnet plants in "
        "controls-2025 (t/yr; plants in their start-up ramp count at nameplate, as the "
        "announcement does): Independence 1,000, its expansion for Apple 1,000 (announced "
        "2025-07-15, after the DoD release) and 10X 9,000 when built; the same firm and "
        "quantity the source states (until session 14 this target read all US operating "
        "capacity, which adds other firms' plants and subtracts ramps). It checks the 10X "
        "investment decision, taken on an NPV test under the floor (without the floor 10X "
        "is built late or not at all: us_capacity_shortfall_without_floor), not the ramp",
        8000.0,
        12000.0,
        "t/yr",
        "MP Materials / DoD 2025-07-10: 10,000 t/yr of magnet "
        "capacity with the 10X plant, commissioning 2028 (policy_events.csv, verified)",
        ("controls-2025",),
        _mp_nameplate_2029("controls-2025"),
        "{:,.0f}",
    ),
    Target(
        "us_capacity_shortfall_without_floor",
        "2025",
        "US magnet capacity in 2029 lost without the floor (delay or shrink)",
        "1 - (mean 2029 US magnet capacity without the floor, measure dod_floor removed) / "
        "(with it); the entrant delays or shrinks when >= 0.2",
        0.20,
        1.0,
        "share",
        "counterfactual of the reproduction brief (without the floor the entrant delays or "
        "shrinks); MP Materials / DoD 2025-07-10 (the floor and offtake underwrite the 10X "
        "decision)",
        ("controls-2025", "controls-2025/no-floor"),
        _floor_shortfall,
        "{:.2f}",
    ),
    Target(
        "china_share_mining_2024",
        "base year 2024",
        "China's share of mining",
        "RareEarthModel('baseline').base_year_check()['china_share_mining']",
        0.60,
        0.70,
        "share",
        "USGS MCS2025/2026 (China 270,000 t of ~390,000 t); IEA GCMO 2024 (62% in 2023)",
        ("baseline",),
        _base("china_share_mining"),
        "{:.3f}",
    ),
    Target(
        "china_share_separation_2024",
        "base year 2024",
        "China's share of separation",
        "base_year_check()['china_share_separation'] (output basis)",
        0.85,
        0.92,
        "share",
        "IEA GCMO 2024 (92% of refined output, 2023); FDD 2025 (89%); SMM 2025 (85%)",
        ("baseline",),
        _base("china_share_separation"),
        "{:.3f}",
    ),
    Target(
        "china_share_magnets_2024",
        "base year 2024",
        "China's share of magnets",
        "base_year_check()['china_share_magnets']",
        0.88,
        0.94,
        "share",
        "Reuters / REEx 2025 (about 90%, '>90%'); processing_magnets.csv",
        ("baseline",),
        _base("china_share_magnets"),
        "{:.3f}",
    ),
]


def _sources(t: Target, results: Sequence[dict], failed: Sequence[dict]) -> tuple[str, ...]:
    """The variants whose runs ``t`` reads: its ``variants``; for a base-year target, the
    variant whose built world it reads (baseline when run, else controls-2025)."""
    if t.episode == "base year 2024" and not any(
        r["variant"] == "baseline" for r in (*results, *failed)
    ):
        return ("controls-2025",)
    return t.variants


def evaluate_targets(
    results: Sequence[dict], targets: Sequence[Target] = TARGETS, failed: Sequence[dict] = ()
) -> pd.DataFrame:
    """Per-replicate target values, then median, 5-95% band and PASS/FAIL.

    Args:
        results: :func:`run_task` outputs (finished runs).
        failed: records of failed runs (:func:`~experiments.reproduce.runner.failed_record`):
            a target that needs a variant with a failed run is ``n/a`` (its median over the
            other seeds would not be the median the tolerance is stated for).

    Returns:
        One row per target: ``id, episode, title, median, p5, p95, n, lo, hi, unit, status,
        source, definition, values, note, censored`` (``status`` is PASS, FAIL or ``n/a`` when
        a variant was not run, its horizon is too short or a run of it failed, and FAIL when
        the peak is censored in more than half of the replicates; ``note`` names the failed
        runs, else ``""``; ``censored`` counts the replicates whose peak is censored).
    """
    failed_by_variant: dict[str, list[str]] = {}
    for f in failed:
        failed_by_variant.setdefault(f["variant"], []).append(
            f"{f['variant']} #{f['rep']} ({f['error_type']})"
        )
    by_rep: dict[int, dict] = {}
    for r in results:
        d = by_rep.setdefault(r["rep"], {})
        d[r["variant"]] = _wide(r["series"])
    for r in results:  # the base-year world of 2024 (baseline, else controls-2025)
        if r["variant"] in ("baseline", "controls-2025"):
            d = by_rep[r["rep"]]
            if r["variant"] == "baseline" or "_base" not in d:
                d["_base"] = r["base_year_check"]
    rows = []
    for t in targets:
        vals = []
        censored = 0
        for rep in sorted(by_rep):
            runs = by_rep[rep]
            needs = ("_base",) if t.episode == "base year 2024" else t.variants
            if not all(v in runs for v in needs):
                continue
            try:
                v = t.compute(runs)
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                v = float("nan")
            vals.append(v)
            if t.censored is not None and v is not None and np.isfinite(v):
                try:
                    censored += bool(t.censored(runs))
                except (KeyError, ValueError, TypeError, ZeroDivisionError):
                    pass
        arr = np.array([v for v in vals if v is not None and np.isfinite(v)], dtype=float)
        lost = [x for v in _sources(t, results, failed) for x in failed_by_variant.get(v, [])]
        note = f"runs failed: {', '.join(lost)}" if lost else ""
        if lost:
            med = p5 = p95 = float("nan")
            status = "n/a"
        elif len(arr):
            med, p5, p95 = (
                float(np.median(arr)),
                float(np.percentile(arr, 5)),
                float(np.percentile(arr, 95)),
            )
            status = "PASS" if t.lo <= med <= t.hi else "FAIL"
            if 2 * censored > len(arr):
                status = "FAIL"  # mostly the window's edge of a price still rising
        else:
            med = p5 = p95 = float("nan")
            status = "n/a"
        rows.append(
            {
                "id": t.id,
                "episode": t.episode,
                "title": t.title,
                "median": med,
                "p5": p5,
                "p95": p95,
                "n": len(arr),
                "lo": t.lo,
                "hi": t.hi,
                "unit": t.unit,
                "status": status,
                "source": t.source,
                "definition": t.definition,
                "values": [float(x) for x in arr],
                "note": note,
                "censored": censored,
            }
        )
    return pd.DataFrame(rows)
