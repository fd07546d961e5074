"""Every paper experiment in one call: the 2010-11 and 2025 episodes, their counterfactuals
and the decoupling study, with targets checked against stated tolerances (``ree reproduce``).

What runs
---------
Each *variant* is a shipped scenario, optionally with measures removed (a counterfactual:
``embargo-2010`` without its quotas, ``controls-2025`` without the DoD price floor, ...).
Every variant runs for ``seeds`` replicates; replicate ``r`` of every variant draws from
``numpy.random.SeedSequence(seed_root, spawn_key=(r,))`` (common random numbers, so a
counterfactual differs from its episode by the measures removed, not by noise). Runs are
spread over the local cores with the sweep framework's executors
(:func:`experiments.sweep.backends.open_backend`) and a rich progress bar.

Each run returns a few monthly series (prices outside and inside China, China's magnet
exports, capacity, China-origin content of magnet supply, mine output by origin, and the
share of magnet-REE demand removed by thrifting and substitution, computed from the OEM and
magnet-maker agents' state) plus the base-year check and the mass-balance residual.

What it writes (``out``)
------------------------
``REPORT.md`` (each target: observed median and 5-95% band over seeds, tolerance, PASS or
FAIL, source; counterfactual comparisons; decoupling table; run facts), ``tables/*.csv``
and ``tables/*.md``, ``figures/*.png`` and ``figures/*.svg`` (median line and 5-95% band over
seeds), ``data/series.parquet`` (every extracted series of every run) and ``manifest.json``
(profile, seeds, scenario hashes, package versions, git commit, wall times).

The ``full`` profile adds the IMF comparison (one seed): an 80% cut of China's exports of
oxides and magnets, GDP effects for Japan, the US and the EU beside IMF Working Paper
2026/073 (:func:`imf_cut_experiment`; ``tables/imf_cut.*`` and a REPORT.md section).

Targets are defined in :data:`TARGETS`; their dates (the 2010 quota cut, the April 2025
licences) are read from the scenario measures with the ids named there, never hard-coded.

Python API::

    from experiments.reproduce import reproduce
    result = reproduce("results/reproduce", quick=True, seeds=3)
    result.targets          # DataFrame: one row per target with median, band, PASS/FAIL
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from abm.scenario import Scenario, load_scenario, scenario_from_dict
from abm.timeline import to_month
from experiments.runs import check_output_folder, new_staging_folder, publish_folder

__all__ = ["IMF_SHORT_RUN_GDP_LOSS", "PROFILES", "TARGETS", "VARIANTS", "ImfCut", "Profile", "ReproduceResult", "Target", "Variant",
           "build_scenario", "evaluate_targets", "imf_cut_experiment", "imf_cut_markdown",
           "imf_cut_scenario", "reproduce", "run_task", "run_variants",
           "scenario_events_markdown", "series_from_model", "sweep_evaluate"]

DEFAULT_SEED_ROOT = 20100921
REGIONS_DECOUPLING = ("US", "EU", "JP", "KR")
DECOUPLING_SCENARIOS = ("baseline", "controls-2025", "escalation-2026", "allied-response",
                        "substitution-recycling", "no-controls")


# ===================================================================== variants
@dataclass(frozen=True)
class Variant:
    """A run configuration: a shipped scenario, optionally with measures removed.

    Attributes:
        name: unique name (``scenario`` or ``scenario/counterfactual``).
        scenario: shipped scenario name (or a TOML path).
        drop: measure ids or kinds removed (suspensions of removed measures go too).
        overrides: dotted-path overrides (:func:`abm.scenario.apply_overrides`).
        label: short legend label.
        description: what the variant isolates.
    """

    name: str
    scenario: str
    drop: tuple[str, ...] = ()
    overrides: tuple[tuple[str, object], ...] = ()
    label: str = ""
    description: str = ""


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("embargo-2010", "embargo-2010", label="2010-11 episode",
            description="the 2009 world with China's duties, quotas, the halt to Japan and the "
                        "WTO aftermath"),
    Variant("embargo-2010/no-quotas", "embargo-2010",
            drop=("export_quota", "production_quota"), label="without quotas",
            description="counterfactual: no export or mining quotas (duties and the halt to "
                        "Japan kept)"),
    Variant("embargo-2010/no-halt", "embargo-2010", drop=("cn_halt_japan_2010",),
            label="without the halt to Japan",
            description="counterfactual: the quotas without the Sep-Nov 2010 halt to Japan"),
    Variant("baseline", "baseline", label="baseline",
            description="the 2024 world with no new measures"),
    Variant("controls-2025", "controls-2025", label="controls-2025",
            description="the 2025 timeline"),
    Variant("controls-2025/no-floor", "controls-2025", drop=("dod_floor",),
            label="without the DoD floor",
            description="counterfactual: the 2025 timeline without the $110/kg NdPr floor and "
                        "the magnet offtake (the DoD capital support kept)"),
    Variant("no-controls", "no-controls", label="no-controls",
            description="counterfactual: the 2025 tariffs without China's licence regime"),
    Variant("escalation-2026", "escalation-2026", label="escalation-2026",
            description="the October 2025 measures return on 10 Nov 2026; US tariffs"),
    Variant("allied-response", "allied-response", label="allied-response",
            description="coordinated allied stockpiles, floors, free trade and permits"),
    Variant("substitution-recycling", "substitution-recycling", label="substitution-recycling",
            description="faster Dy-free and Ce/ferrite substitution and a recycling push"),
]}


def _measure_ids(sc: Scenario) -> dict[str, object]:
    return {m.id: m for m in sc.measures if m.id}


def build_scenario(variant: Variant | str) -> Scenario:
    """The scenario of a variant: the shipped scenario with the variant's measures removed
    (and suspensions whose target was removed) and its overrides applied.

    Raises:
        ScenarioError: unknown scenario or invalid override.
        KeyError: a ``drop`` entry names neither a measure id nor a kind of the scenario.
    """
    from abm.scenario import apply_overrides

    v = VARIANTS[variant] if isinstance(variant, str) else variant
    sc = load_scenario(v.scenario)
    if v.drop:
        known = {m.id for m in sc.measures if m.id} | {m.kind for m in sc.measures}
        missing = [d for d in v.drop if d not in known]
        if missing:
            raise KeyError(f"variant {v.name}: {missing} name no measure id or kind of "
                           f"scenario {sc.name}")
        data = sc.model_dump(mode="json")
        kept = [m for m in data["measures"]
                if m["kind"] not in v.drop and m.get("id") not in v.drop]
        ids = {m.get("id") for m in kept}
        kept = [m for m in kept if m["kind"] != "suspension" or m["target_id"] in ids]
        data["measures"] = kept
        data["name"] = v.name
        sc = scenario_from_dict(data, v.name)
    return apply_overrides(sc, dict(v.overrides)) if v.overrides else sc


# ===================================================================== one run
def demand_removed_share(model) -> float:
    """Share of magnet-REE demand (t REO in magnets) removed by thrifting and substitution.

    For every magnet-using OEM and defense contractor, this month's planned units are valued
    twice: with the base-year recipe and full Dy/Tb content, and with the current recipe
    (Ce/ferrite substitution ``sub_share``, Dy-free designs ``dy_free_share``) and the
    capacity-weighted Dy/Tb thrifting factor of magnet makers (``hre_factor``). Price-driven
    demand destruction (fewer units) is not counted: both sides use the same units.
    """
    from abm.goods import ELEMENTS, mag
    from agents import OEM, MagnetMaker, NonMagnetUser

    cat = model.catalog
    makers = [a for a in model.agents_by_type.get(MagnetMaker, []) if a.capacity > 0]
    cap = sum(a.capacity for a in makers)
    hre = sum(a.capacity * a.hre_factor for a in makers) / cap if cap > 0 else 1.0
    hre_idx = [ELEMENTS.index("Dy"), ELEMENTS.index("Tb")]
    base_c = cat.content.sum(axis=1)
    cur_c = base_c - cat.content[:, hre_idx].sum(axis=1) * (1.0 - hre)
    mags = {cat.index[mag(g)] for g in ("ndfeb_std", "ndfeb_ht", "smco")}
    d0 = d1 = 0.0
    for cls, group in model.agents_by_type.items():
        if not issubclass(cls, OEM) or issubclass(cls, NonMagnetUser):
            continue
        for a in group:
            u = a.plan_units
            if u <= 0:
                continue
            d0 += u * sum(v * base_c[g] for g, v in a.recipe0.items() if g in mags)
            d1 += u * sum(v * cur_c[g] for g, v in a.recipe().items() if g in mags)
    return 1.0 - d1 / d0 if d0 > 0 else 0.0


def _adaptation_state(model) -> dict[str, float]:
    from agents import OEM, MagnetMaker, NonMagnetUser

    oems = [a for cls, grp in model.agents_by_type.items()
            if issubclass(cls, OEM) and not issubclass(cls, NonMagnetUser) for a in grp]
    w = np.array([max(a.plan_units, 0.0) * sum(a.recipe0.values()) for a in oems])
    w = w / w.sum() if w.sum() > 0 else np.full(len(oems), 1 / max(len(oems), 1))
    makers = [a for a in model.agents_by_type.get(MagnetMaker, []) if a.capacity > 0]
    cap = sum(a.capacity for a in makers)
    return {
        "demand_removed": demand_removed_share(model),
        "sub_share": float(sum(wi * a.sub_share for wi, a in zip(w, oems))),
        "dy_free_share": float(sum(wi * a.dy_free_share for wi, a in zip(w, oems))),
        "hre_factor": sum(a.capacity * a.hre_factor for a in makers) / cap if cap else 1.0,
    }


def series_from_model(model, adaptation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Monthly series of a finished run as a wide table indexed by month (Timestamp).

    Columns, each read from a recorded series of :mod:`abm.metrics`: ``price_row:<good>``
    (``price_outside_china_median``: median over the regions outside China that traded the
    good, USD/kg) and ``price_cn:<good>`` (``price`` of CN) for ox_Nd, ox_Dy, ox_Tb and NdPr;
    ``cn_magnet_exports`` and ``cn_oxide_exports`` (``china_exports``, t/month);
    ``capacity:<stage>:US`` and ``capacity:<stage>:nonCN`` (sums of ``capacity`` rows, t/yr);
    ``china_content:<region>`` and ``china_content_12m:<region>`` (share of magnet supply,
    monthly and over the last 12 months); ``china_share:<stage>``; ``mine:world`` and
    ``mine:nonCN`` (sums of concentrate ``production`` rows, t REO/month);
    ``lost_output:oem`` (``lost_output_civil_magnet``, World, USD/month); and the
    adaptation columns when ``adaptation`` is given.
    """
    ts = model.timeseries()
    dates = pd.DatetimeIndex(sorted(ts["date"].unique()))
    out: dict[str, pd.Series] = {}

    def recorded(metric, good=None, region=None) -> pd.Series:
        m = ts["metric"] == metric
        if good is not None:
            m &= ts["good"] == good
        if region is not None:
            m &= ts["region"] == region
        return ts[m].set_index("date")["value"]

    for good in ("ox_Nd", "ox_Dy", "ox_Tb", "NdPr"):
        out[f"price_row:{good}"] = recorded("price_outside_china_median", good)
        out[f"price_cn:{good}"] = recorded("price", good, "CN")
    out["cn_magnet_exports"] = recorded("china_exports", "magnets")
    out["cn_oxide_exports"] = recorded("china_exports", "oxides")
    cap = ts[ts["metric"] == "capacity"]
    for stage in ("mining", "separation", "magnets"):
        c = cap[cap["good"] == stage]
        out[f"capacity:{stage}:US"] = c[c["region"] == "US"].groupby("date")["value"].sum()
        out[f"capacity:{stage}:nonCN"] = c[c["region"] != "CN"].groupby("date")["value"].sum()
    for r in REGIONS_DECOUPLING:
        out[f"china_content:{r}"] = recorded("china_content", region=r)
        out[f"china_content_12m:{r}"] = recorded("china_content_12m", region=r)
    for stage in ("mining", "separation", "magnets"):
        out[f"china_share:{stage}"] = recorded("china_share", stage)
    prod = ts[(ts["metric"] == "production") & ts["good"].str.startswith("conc_")]
    out["mine:world"] = prod.groupby("date")["value"].sum()
    out["mine:nonCN"] = prod[prod["region"] != "CN"].groupby("date")["value"].sum()
    out["lost_output:oem"] = recorded("lost_output_civil_magnet", region="World")
    frame = pd.DataFrame({k: v.reindex(dates) for k, v in out.items()}, index=dates)
    for k in ("cn_magnet_exports", "cn_oxide_exports", "mine:nonCN", "lost_output:oem",
              "capacity:mining:US", "capacity:separation:US", "capacity:magnets:US"):
        frame[k] = frame[k].fillna(0.0)
    if adaptation is not None:
        frame = frame.join(adaptation.set_axis(dates[:len(adaptation)]))
    frame.index.name = "date"
    return frame


def _simulate(scenario: Scenario, seed, months: int | None) -> dict:
    from abm.model import RareEarthModel

    t0 = time.perf_counter()
    model = RareEarthModel(scenario, seed=seed, months=months)
    base_check = model.base_year_check()      # the built base-year world, before any step
    rows = []
    for _ in range(model.months):
        model.step()
        rows.append(_adaptation_state(model))
    wide = series_from_model(model, pd.DataFrame(rows))
    long = wide.reset_index().melt(id_vars="date", var_name="series", value_name="value")
    ev = model.events_frame()
    ev = ev[ev["text"].str.contains(r"\(US\)") & ev["kind"].str.contains("investment|magnets")]
    resid = float(np.abs(model.mass_balance()).max())
    scale = max(1.0, float(model.produced.max()))
    return {"months": model.steps, "series": long, "wide": wide,
            "base_year_check": base_check, "mass_balance": resid / scale,
            "mass_balance_abs": resid, "events": ev.to_dict("records"),
            "wall_s": time.perf_counter() - t0}


def run_task(variant_name: str, scenario: Scenario, seed_root: int, rep: int,
             months: int | None) -> dict:
    """Run one replicate of one variant (the function the executors call).

    Returns:
        ``{"variant", "rep", "months", "series" (long DataFrame: date, series, value),
        "base_year_check" (of the built world, before the first step), "mass_balance"
        (max |residual| / max produced), "mass_balance_abs" (t), "events" (investment and
        capacity events of US magnet makers), "wall_s"}``.
    """
    from experiments.sweep.seeds import make_seed_sequence

    out = _simulate(scenario, make_seed_sequence(seed_root, (rep,)), months)
    out.pop("wide")
    return {"variant": variant_name, "rep": rep, **out}


# ===================================================================== profiles
@dataclass(frozen=True)
class Profile:
    """Which variants run, for how many months, with how many seeds.

    Attributes:
        name: ``quick`` or ``full`` (or a custom name).
        seeds: default replicates per variant.
        months: variant name -> months to simulate (None: the scenario horizon).
    """

    name: str
    seeds: int
    months: dict[str, int | None]


PROFILES: dict[str, Profile] = {
    # --quick: every target and figure on shorter horizons and 5 seeds (about 6-12 minutes on 2 shared cores)
    "quick": Profile("quick", 5, {
        "embargo-2010": 60, "embargo-2010/no-quotas": 60,                # 2009-01..2013-12
        "controls-2025": 84, "controls-2025/no-floor": 72, "no-controls": 84,   # to 2030-12/2029-12
        "baseline": 84, "escalation-2026": 84, "allied-response": 84,
        "substitution-recycling": 84}),
    # the paper: full horizons, 20 seeds, and the extra counterfactual of the halt to Japan
    "full": Profile("full", 20, {name: None for name in VARIANTS}),
}


# ===================================================================== targets
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


def _measure_month(scenario: str, measure_id: str) -> pd.Timestamp:
    sc = load_scenario(scenario)
    m = _measure_ids(sc).get(measure_id)
    if m is None:
        raise KeyError(f"scenario {scenario} has no measure with id '{measure_id}'")
    return to_month(m.date).to_timestamp()


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


PEAK_WINDOW_MONTHS = 36      # the 2010-11 peak is sought from the quota cut to 36 months after


def _price_peak_multiple(good: str):
    def f(runs):
        s = runs["embargo-2010"][f"price_row:{good}"]
        cut = _measure_month("embargo-2010", "cn_quota_2010")
        peak, _ = _peak(s, cut, PEAK_WINDOW_MONTHS)
        return peak / _pre_shock(s, 2009)
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


def _export_fall(runs):
    s = runs["controls-2025"]["cn_magnet_exports"]
    t0 = _measure_month("controls-2025", "cn_licences_apr2025")
    pre = s[(s.index >= t0 - pd.DateOffset(months=3)) & (s.index < t0)].mean()
    after = [s.get(t0 + pd.DateOffset(months=k), np.nan) for k in (1, 2)]
    if not np.isfinite(pre) or pre <= 0 or not np.isfinite(after).any():
        return float("nan")
    return float(1.0 - np.nanmin(after) / pre)


def _us_capacity_2029(variant: str):
    def f(runs):
        s = runs[variant]["capacity:magnets:US"]
        w = s[s.index.year == 2029]
        return float(w.mean()) if len(w) == 12 else float("nan")
    return f


def _floor_shortfall(runs):
    a = _us_capacity_2029("controls-2025")(runs)
    b = _us_capacity_2029("controls-2025/no-floor")(runs)
    return float(1.0 - b / a) if a and np.isfinite(a) and np.isfinite(b) else float("nan")


def _base(key):
    return lambda runs: float(runs["_base"][key])


_PRICE_SRC = ("the project's design brief: Nd and Dy oxide prices rose roughly tenfold or more "
              "within about a year of the 2010 quota cut (FOB China basis; abm/data/prices.csv: "
              "Dy oxide 118 USD/kg FOB in 2008, Nd metal 'more than triple' by Jan 2011, JMB)")
TARGETS: list[Target] = [
    Target("dy_peak_multiple", "2010-11", "Dy oxide price peak / 2009 level",
           "highest monthly price outside China (median over importing regions) from the 2010 "
           "quota cut (measure cn_quota_2010) to 36 months after, over the 2009 mean",
           8.0, 30.0, "x", _PRICE_SRC, ("embargo-2010",), _price_peak_multiple("ox_Dy"), "{:.1f}"),
    Target("nd_peak_multiple", "2010-11", "Nd oxide price peak / 2009 level",
           "as for Dy, Nd oxide", 8.0, 30.0, "x", _PRICE_SRC, ("embargo-2010",),
           _price_peak_multiple("ox_Nd"), "{:.1f}"),
    Target("dy_peak_lag", "2010-11", "months from the 2010 quota cut to the Dy peak",
           "months from the month of cn_quota_2010 (July 2010, the second batch) to the first "
           "month in which the Dy oxide price outside China is within 2% of its peak above",
           8.0, 14.0, "months", _PRICE_SRC, ("embargo-2010",),
           _price_peak_lag("ox_Dy"), "{:.0f}"),
    Target("nd_peak_lag", "2010-11", "months from the 2010 quota cut to the Nd peak",
           "as for Dy, Nd oxide", 8.0, 14.0, "months", _PRICE_SRC, ("embargo-2010",),
           _price_peak_lag("ox_Nd"), "{:.0f}"),
    Target("substitution_rate_at_peak", "2010-11",
           "magnet-REE demand removed by thrifting and substitution per year, at the peak",
           "rise over the 12 months centred on the Nd oxide peak of the share of magnet-REE "
           "demand (t REO in magnets) removed by Ce/ferrite substitution, Dy-free designs and "
           "Dy/Tb thrifting (OEM sub_share, dy_free_share; MagnetMaker hre_factor)",
           0.07, 0.13, "share/yr", "Sprecher et al. 2017, ES&T 51(7) 3860-3870 (annual "
           "substitution reached about 10% of total demand)", ("embargo-2010",),
           _removal_rate_at_peak, "{:.3f}"),
    Target("non_china_mine_ramp", "2010-11",
           "non-China mine supply growth, pp of the market per year, 2011-2013",
           "(non-China mine output in 2013 - in 2010) / 3, over the mean world mine output of "
           "2011-2013, in percentage points per year", 2.5, 5.5, "pp/yr",
           "Sprecher et al. 2017 (non-Chinese primary production ramped at about 4% of total "
           "market volume per year)", ("embargo-2010",), _non_china_ramp, "{:.2f}"),
    Target("cn_magnet_export_fall", "2025",
           "fall of China's magnet exports 1-2 months after the April 2025 licences",
           "1 - (lowest of China's NdFeB/SmCo exports in the 1st and 2nd month after the month "
           "of cn_licences_apr2025) / (mean of the 3 months before it)", 0.60, 0.85, "share",
           "China customs via WSJ/automotiveworld.com 2025-06-20: magnet exports -74% y/y in "
           "May 2025 (trade_flows.csv, verified)", ("controls-2025",), _export_fall, "{:.2f}"),
    Target("us_magnet_capacity_2029", "2025",
           "US magnet capacity in 2029 with the $110/kg floor and offtake",
           "mean US sintered-magnet capacity over 2029 in controls-2025 (t/yr)",
           8000.0, 12000.0, "t/yr", "MP Materials / DoD 2025-07-10: 10,000 t/yr of magnet "
           "capacity with the 10X plant, commissioning 2028 (policy_events.csv, verified)",
           ("controls-2025",), _us_capacity_2029("controls-2025"), "{:,.0f}"),
    Target("us_capacity_shortfall_without_floor", "2025",
           "US magnet capacity in 2029 lost without the floor (delay or shrink)",
           "1 - (mean 2029 US magnet capacity without the floor, measure dod_floor removed) / "
           "(with it); the entrant delays or shrinks when >= 0.2", 0.20, 1.0, "share",
           "counterfactual of the reproduction brief (without the floor the entrant delays or "
           "shrinks); MP Materials / DoD 2025-07-10 (the floor and offtake underwrite the 10X "
           "decision)", ("controls-2025", "controls-2025/no-floor"),
           _floor_shortfall, "{:.2f}"),
    Target("china_share_mining_2024", "base year 2024", "China's share of mining",
           "RareEarthModel('baseline').base_year_check()['china_share_mining']", 0.60, 0.70,
           "share", "USGS MCS2025/2026 (China 270,000 t of ~390,000 t); IEA GCMO 2024 (62% in "
           "2023)", ("baseline",), _base("china_share_mining"), "{:.3f}"),
    Target("china_share_separation_2024", "base year 2024", "China's share of separation",
           "base_year_check()['china_share_separation'] (output basis)", 0.85, 0.92, "share",
           "IEA GCMO 2024 (92% of refined output, 2023); FDD 2025 (89%); SMM 2025 (85%)",
           ("baseline",), _base("china_share_separation"), "{:.3f}"),
    Target("china_share_magnets_2024", "base year 2024", "China's share of magnets",
           "base_year_check()['china_share_magnets']", 0.88, 0.94, "share",
           "Reuters / REEx 2025 (about 90%, '>90%'); processing_magnets.csv", ("baseline",),
           _base("china_share_magnets"), "{:.3f}"),
]


def _wide(series: pd.DataFrame) -> pd.DataFrame:
    return series.pivot_table(index="date", columns="series", values="value", aggfunc="first",
                              dropna=False)


def evaluate_targets(results: Sequence[dict], targets: Sequence[Target] = TARGETS) -> pd.DataFrame:
    """Per-replicate target values, then median, 5-95% band and PASS/FAIL.

    Args:
        results: :func:`run_task` outputs.

    Returns:
        One row per target: ``id, episode, title, median, p5, p95, n, lo, hi, unit, status,
        source, definition, values`` (``status`` is PASS, FAIL or ``n/a`` when a variant was
        not run or its horizon is too short).
    """
    by_rep: dict[int, dict] = {}
    for r in results:
        d = by_rep.setdefault(r["rep"], {})
        d[r["variant"]] = _wide(r["series"])
    for r in results:   # the base-year world of 2024 (baseline, else controls-2025)
        if r["variant"] in ("baseline", "controls-2025"):
            d = by_rep[r["rep"]]
            if r["variant"] == "baseline" or "_base" not in d:
                d["_base"] = r["base_year_check"]
    rows = []
    for t in targets:
        vals = []
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
        arr = np.array([v for v in vals if v is not None and np.isfinite(v)], dtype=float)
        if len(arr):
            med, p5, p95 = (float(np.median(arr)), float(np.percentile(arr, 5)),
                            float(np.percentile(arr, 95)))
            status = "PASS" if t.lo <= med <= t.hi else "FAIL"
        else:
            med = p5 = p95 = float("nan")
            status = "n/a"
        rows.append({"id": t.id, "episode": t.episode, "title": t.title, "median": med,
                     "p5": p5, "p95": p95, "n": len(arr), "lo": t.lo, "hi": t.hi,
                     "unit": t.unit, "status": status, "source": t.source,
                     "definition": t.definition, "values": [float(x) for x in arr]})
    return pd.DataFrame(rows)


#: targets computable from one run, by the scenario whose run they read
SINGLE_RUN_TARGETS = {"embargo-2010": ("dy_peak_multiple", "nd_peak_multiple", "dy_peak_lag",
                                       "nd_peak_lag", "substitution_rate_at_peak",
                                       "non_china_mine_ramp"),
                      "controls-2025": ("cn_magnet_export_fall", "us_magnet_capacity_2029")}


def sweep_evaluate(scenario, *, overrides=None, seed=0, months=None, outcomes=None,
                   keep_timeseries=False) -> tuple[dict[str, float], pd.DataFrame | None]:
    """Sweep adapter: the single-run reproduction targets of one run, for calibration sweeps
    with the sweep framework (``model = "experiments.reproduce:sweep_evaluate"``, scenario
    ``embargo-2010`` or ``controls-2025``; same signature as :func:`abm.outcomes.evaluate`).

    Returns:
        ``({target id: value}, wide series table or None)``; targets of the other episode
        are NaN.

    Raises:
        KeyError: an unknown outcome name.
    """
    from abm.scenario import apply_overrides

    sc = apply_overrides(load_scenario(scenario), overrides)
    names = list(sweep_evaluate.OUTCOMES) if outcomes is None else list(outcomes)
    unknown = [n for n in names if n not in sweep_evaluate.OUTCOMES]
    if unknown:
        raise KeyError(f"unknown outcome(s) {unknown}; known: {sorted(sweep_evaluate.OUTCOMES)}")
    ids = _measure_ids(sc)
    episode = ("embargo-2010" if "cn_quota_2010" in ids else
               "controls-2025" if "cn_licences_apr2025" in ids else None)
    run = _simulate(sc, seed, months)
    by_id = {t.id: t for t in TARGETS}
    values = {}
    for n in names:
        if episode is None or n not in SINGLE_RUN_TARGETS[episode]:
            values[n] = float("nan")
            continue
        try:
            values[n] = float(by_id[n].compute({episode: run["wide"]}))
        except (KeyError, ValueError, TypeError, ZeroDivisionError):
            values[n] = float("nan")
    return values, (run["wide"] if keep_timeseries else None)


sweep_evaluate.OUTCOMES = {t.id: f"{t.title} [{t.unit}] (tolerance {t.lo:g}-{t.hi:g})"
                           for t in TARGETS if any(t.id in v for v in SINGLE_RUN_TARGETS.values())}


def _parameter_space():
    from abm.scenario import parameter_space
    return parameter_space()


sweep_evaluate.parameter_space = _parameter_space
sweep_evaluate.load_scenario = load_scenario


# ===================================================================== running
def run_variants(tasks: Sequence[tuple[str | Variant, int | None]], seeds: int, *,
                 seed_root: int = DEFAULT_SEED_ROOT, workers: int | None = None,
                 backend: str = "process", progress: bool = True,
                 on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Run ``(variant, months)`` pairs for replicates ``0..seeds-1`` in parallel.

    A variant is a name from :data:`VARIANTS` or a :class:`Variant`; ``months`` None runs the
    scenario horizon (longer requests are cut to it).

    Tasks are submitted longest first with a bounded in-flight window; a rich progress bar
    ticks as runs finish. Returns the :func:`run_task` outputs (any order).

    Raises:
        RuntimeError: a run failed (the message names the variant and replicate).
    """
    from experiments.sweep.backends import open_backend

    jobs = []
    for var, months in tasks:
        name = var if isinstance(var, str) else var.name
        sc = build_scenario(var)
        n = sc.months if months is None else min(months, sc.months)
        for rep in range(seeds):
            jobs.append((n, name, sc, rep))
    jobs.sort(key=lambda j: (-j[0], j[1], j[3]))
    total_months = sum(j[0] for j in jobs)
    results: list[dict] = []
    bar = task = None
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        bar = Progress(TextColumn("[bold]reproduce[/bold] {task.description}"), BarColumn(),
                       MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        bar.start()
        task = bar.add_task(f"{len(jobs)} runs", total=total_months)
    try:
        with open_backend(backend, workers) as be:
            window = max(2 * be.workers, 2)
            pending: dict = {}
            it = iter(jobs)
            done_runs = 0

            def submit_next() -> bool:
                j = next(it, None)
                if j is None:
                    return False
                n, name, sc, rep = j
                fut = be.executor.submit(run_task, name, sc, seed_root, rep, n)
                pending[fut] = j
                return True

            while len(pending) < window and submit_next():
                pass
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in finished:
                    n, name, _sc, rep = pending.pop(fut)
                    try:
                        res = fut.result()
                    except Exception as exc:
                        raise RuntimeError(f"run {name} replicate {rep} failed: {exc!r}") from exc
                    results.append(res)
                    done_runs += 1
                    if on_result:
                        on_result(res)
                    if bar is not None:
                        bar.update(task, advance=n, description=f"{done_runs}/{len(jobs)} runs, "
                                   f"last {name} #{rep}")
                    submit_next()
    finally:
        if bar is not None:
            bar.stop()
    return results


@dataclass
class ReproduceResult:
    """What :func:`reproduce` produced.

    Attributes:
        out: output folder.
        targets: :func:`evaluate_targets` table.
        decoupling: China-origin share of magnet supply by scenario, region and year.
        series: every extracted series (variant, rep, date, series, value).
        wall_s: wall time of the whole call, seconds.
        files: files written (relative to ``out``).
    """

    out: Path
    targets: pd.DataFrame
    decoupling: pd.DataFrame
    series: pd.DataFrame
    wall_s: float
    files: list[str]


def reproduce(out: str | Path = "results/reproduce", *, quick: bool = False,
              seeds: int | None = None, workers: int | None = None, backend: str = "process",
              seed_root: int = DEFAULT_SEED_ROOT, progress: bool = True,
              profile: Profile | None = None, make_figures: bool = True) -> ReproduceResult:
    """Run every paper experiment and write figures, tables, REPORT.md and the data.

    Args:
        out: output folder (replaced atomically when everything is written).
        quick: the ``quick`` profile (shorter horizons, 5 seeds) instead of ``full``.
        seeds: replicates per variant (default: the profile's; the issue asks >= 20).
        workers: parallel worker processes (default: available cores).
        backend: ``process`` (default), ``sequential``, ``dask`` or ``ray`` (needs Ray).
        seed_root: root of the seed sequence.
        progress: show a rich progress bar.
        profile: a custom :class:`Profile` (overrides ``quick``).
        make_figures: write PNG and SVG figures.

    Raises:
        ValueError: an unknown ``backend``.
        ImportError: the backend's package is missing (Ray).
        RuntimeError: a run failed.
        OutputError: ``out`` is unusable: a file, the current folder or a parent, or an
            existing folder that is not an earlier reproduction (nothing is deleted).
    """
    from experiments.sweep.spec import BACKENDS

    if backend not in BACKENDS:
        raise ValueError(f"--backend {backend!r} is unknown; allowed: {', '.join(BACKENDS)}")
    t_start = time.perf_counter()
    prof = profile or PROFILES["quick" if quick else "full"]
    n_seeds = int(seeds or prof.seeds)
    out = check_output_folder(out, allowed=None,
                              required=frozenset({"manifest.json", "REPORT.md"}))
    tmp = new_staging_folder(out)  # before the runs: an unwritable --out is refused at once
    files: list[str] = []
    try:
        tasks = list(prof.months.items())
        t_runs = time.perf_counter()
        results = run_variants(tasks, n_seeds, seed_root=seed_root, workers=workers,
                               backend=backend, progress=progress)
        runs_wall = time.perf_counter() - t_runs
        results = sorted(results, key=lambda r: (r["variant"], r["rep"]))  # not completion order
        series = pd.concat([r["series"].assign(variant=r["variant"], rep=r["rep"])
                            for r in results],
                           ignore_index=True)[["variant", "rep", "date", "series", "value"]]
        targets = evaluate_targets(results)
        decoupling = decoupling_table(series)
        mechanisms = mechanism_table(results)
        for sub in ("tables", "figures", "data"):
            (tmp / sub).mkdir()
        series.to_parquet(tmp / "data" / "series.parquet", index=False)
        files.append("data/series.parquet")
        tt = targets.drop(columns=["values"]).copy()
        tt.to_csv(tmp / "tables" / "targets.csv", index=False)
        (tmp / "tables" / "targets.md").write_text(_targets_markdown(targets))
        decoupling.to_csv(tmp / "tables" / "decoupling.csv", index=False)
        (tmp / "tables" / "decoupling.md").write_text(_decoupling_markdown(decoupling))
        mechanisms.to_csv(tmp / "tables" / "counterfactuals.csv", index=False)
        (tmp / "tables" / "counterfactuals.md").write_text(_markdown(mechanisms))
        summary = scenario_summary(series)
        summary.to_csv(tmp / "tables" / "scenarios.csv", index=False)
        (tmp / "tables" / "scenarios.md").write_text(_markdown(summary))
        files += [f"tables/{n}.{e}" for n in ("targets", "decoupling", "counterfactuals",
                                               "scenarios") for e in ("csv", "md")]
        if make_figures:
            files += [f"figures/{p.name}" for p in figures(series, tmp / "figures")]
        wall = time.perf_counter() - t_start
        resid = max(r["mass_balance"] for r in results)
        manifest = _manifest(prof, n_seeds, seed_root, backend, workers, results, wall, runs_wall)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        files.append("manifest.json")
        imf_md = ""
        if prof.name == "full":
            # the IMF comparison (one seed; full profile only: about 130 model months)
            imf = imf_cut_experiment(seed=seed_root)
            imf.to_csv(tmp / "tables" / "imf_cut.csv", index=False)
            imf_md = imf_cut_markdown(imf)
            (tmp / "tables" / "imf_cut.md").write_text(imf_md)
            files += ["tables/imf_cut.csv", "tables/imf_cut.md"]
        report = _report(prof, n_seeds, targets, mechanisms, decoupling, manifest, resid,
                         files)
        if imf_md:
            report += "\n" + imf_md
        (tmp / "REPORT.md").write_text(report)
        files.append("REPORT.md")
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReproduceResult(out, targets, decoupling, series, time.perf_counter() - t_start,
                           sorted(files))


# ===================================================================== tables
def _band(values: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    g = values.groupby(by)["value"]
    return pd.DataFrame({"median": g.median(), "p5": g.quantile(0.05), "p95": g.quantile(0.95),
                         "n": g.count()}).reset_index()


def decoupling_table(series: pd.DataFrame) -> pd.DataFrame:
    """China-origin share of US, EU, Japanese and Korean magnet supply, 2024-2035.

    Annual mean per replicate, then median and 5-95% band over replicates, for every
    decoupling scenario that ran. Columns: ``scenario, region, year, median, p5, p95, n``.
    """
    s = series[series["variant"].isin(DECOUPLING_SCENARIOS)
               & series["series"].str.startswith("china_content:")].copy()
    if s.empty:
        return pd.DataFrame(columns=["scenario", "region", "year", "median", "p5", "p95", "n"])
    s["region"] = s["series"].str.split(":").str[1]
    s["year"] = pd.to_datetime(s["date"]).dt.year
    annual = s.groupby(["variant", "region", "year", "rep"])["value"].mean().reset_index()
    out = _band(annual, ["variant", "region", "year"]).rename(columns={"variant": "scenario"})
    order = {n: i for i, n in enumerate(DECOUPLING_SCENARIOS)}
    out["_o"] = out["scenario"].map(order)
    return out.sort_values(["_o", "region", "year"]).drop(columns="_o").reset_index(drop=True)


def scenario_summary(series: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers per variant (median over replicates, 5-95% band in brackets)."""
    rows = []
    defs = [("peak NdPr price outside China (USD/kg)", "price_row:NdPr", "max"),
            ("peak Dy oxide price outside China (USD/kg)", "price_row:ox_Dy", "max"),
            ("lowest China magnet exports (t/month)", "cn_magnet_exports", "min"),
            ("cumulative OEM lost output (USD bn)", "lost_output:oem", "sum_bn"),
            ("magnet capacity outside China, last month (t/yr)", "capacity:magnets:nonCN", "last"),
            ("US magnet capacity, last month (t/yr)", "capacity:magnets:US", "last")]
    for variant, g in series.groupby("variant", sort=False):
        row = {"variant": variant}
        for label, key, how in defs:
            s = g[g["series"] == key]
            if s.empty:
                continue
            per = s.groupby("rep")["value"]
            v = {"max": per.max(), "min": per.min(), "sum_bn": per.sum() / 1e9,
                 "last": s.sort_values("date").groupby("rep")["value"].last()}[how]
            row[label] = f"{v.median():,.1f} [{v.quantile(0.05):,.1f}-{v.quantile(0.95):,.1f}]"
        row["months"] = int(g["date"].nunique())
        row["seeds"] = int(g["rep"].nunique())
        rows.append(row)
    order = {n: i for i, n in enumerate(VARIANTS)}
    out = pd.DataFrame(rows).sort_values("variant", key=lambda c: c.map(order))
    return out.reset_index(drop=True)


def mechanism_table(results: Sequence[dict]) -> pd.DataFrame:
    """Episode vs counterfactual on the scalar behind each target (median over replicates).

    Rows: the 2010 price peak multiples, the demand-removal rate and the non-China ramp with
    and without quotas (and without the halt to Japan); the 2025 export fall with and without
    licences; US magnet capacity in 2029 with and without the floor.
    """
    by_rep: dict[int, dict] = {}
    for r in results:
        by_rep.setdefault(r["rep"], {})[r["variant"]] = _wide(r["series"])

    def med(fn, variant_map):
        vals = []
        for runs in by_rep.values():
            if not all(v in runs for v in variant_map.values()):
                continue
            try:
                vals.append(fn({k: runs[v] for k, v in variant_map.items()}))
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                pass
        vals = [v for v in vals if np.isfinite(v)]
        return (float(np.median(vals)), len(vals)) if vals else (float("nan"), 0)

    rows = []
    specs = [
        ("Nd oxide peak / 2009 (x)", _price_peak_multiple("ox_Nd"), "embargo-2010",
         ["embargo-2010/no-quotas", "embargo-2010/no-halt"]),
        ("Dy oxide peak / 2009 (x)", _price_peak_multiple("ox_Dy"), "embargo-2010",
         ["embargo-2010/no-quotas", "embargo-2010/no-halt"]),
        ("demand removed per year at the peak (share)", _removal_rate_at_peak, "embargo-2010",
         ["embargo-2010/no-quotas"]),
        ("non-China mine ramp 2011-13 (pp/yr)", _non_china_ramp, "embargo-2010",
         ["embargo-2010/no-quotas"]),
        ("China magnet export fall 1-2 months after the licences (share)", _export_fall,
         "controls-2025", ["no-controls"]),
        ("US magnet capacity 2029 (t/yr)", _us_capacity_2029("controls-2025"), "controls-2025",
         ["controls-2025/no-floor"]),
    ]
    for label, fn, base, cfs in specs:
        v0, n0 = med(fn, {base: base})
        for cf in cfs:
            v1, n1 = med(fn, {base: cf})
            if n0 == 0 or n1 == 0:
                continue
            rows.append({"quantity": label, "episode": base, "episode_median": v0,
                         "counterfactual": cf, "counterfactual_median": v1,
                         "seeds": min(n0, n1)})
    return pd.DataFrame(rows, columns=["quantity", "episode", "episode_median", "counterfactual",
                                       "counterfactual_median", "seeds"])


def _fmt(v, fmt="{:.2f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    try:
        return fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def _markdown(df: pd.DataFrame, floatfmt: str = "{:,.3g}") -> str:
    """A GitHub Markdown table of ``df`` (no tabulate dependency)."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |",
             "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(_fmt(v, floatfmt) if isinstance(v, float) else str(v).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _targets_markdown(targets: pd.DataFrame) -> str:
    fmts = {t.id: t.fmt for t in TARGETS}
    lines = ["| episode | target | observed median | 5-95% band | tolerance | result | source |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in targets.iterrows():
        f = fmts.get(r["id"], "{:.2f}")
        band = f"{_fmt(r['p5'], f)} - {_fmt(r['p95'], f)}" if r["n"] else "n/a"
        tol = f"{_fmt(r['lo'], f)} - {_fmt(r['hi'], f)} {r['unit']}"
        res = {"PASS": "**PASS**", "FAIL": "**FAIL**"}.get(r["status"], r["status"])
        lines.append(f"| {r['episode']} | {r['title']} (`{r['id']}`) | {_fmt(r['median'], f)} | "
                     f"{band} | {tol} | {res} (n={r['n']}) | {r['source']} |")
    return "\n".join(lines) + "\n"


def _decoupling_markdown(dec: pd.DataFrame, years=(2024, 2026, 2028, 2030, 2035)) -> str:
    if dec.empty:
        return "No decoupling runs.\n"
    d = dec[dec["year"].isin(years)].copy()
    d["cell"] = [f"{m:.0%} [{a:.0%}-{b:.0%}]" if np.isfinite(m) else "n/a"
                 for m, a, b in zip(d["median"], d["p5"], d["p95"])]
    wide = d.pivot_table(index=["scenario", "region"], columns="year", values="cell",
                         aggfunc="first").reset_index()
    order = {n: i for i, n in enumerate(DECOUPLING_SCENARIOS)}
    wide = wide.sort_values(["scenario", "region"], key=lambda c: c.map(order) if c.name ==
                            "scenario" else c)
    wide.columns = [str(c) for c in wide.columns]
    return _markdown(wide.fillna("n/a"))


# ===================================================================== figures
def _band_lines(ax, series: pd.DataFrame, variant: str, key: str, label: str, color=None,
                scale: float = 1.0, relative_to_year: int | None = None):
    s = series[(series["variant"] == variant) & (series["series"] == key)]
    if s.empty:
        return None
    piv = s.pivot_table(index="date", columns="rep", values="value", aggfunc="first")
    if relative_to_year is not None:
        base = piv[piv.index.year == relative_to_year].mean()
        piv = piv / base
    piv = piv * scale
    med = piv.median(axis=1)
    lo, hi = piv.quantile(0.05, axis=1), piv.quantile(0.95, axis=1)
    line, = ax.plot(med.index, med.values, label=label, color=color, lw=1.6)
    ax.fill_between(med.index, lo.values, hi.values, color=line.get_color(), alpha=0.2, lw=0)
    return line


def figures(series: pd.DataFrame, folder: Path) -> list[Path]:
    """Write the paper figures (PNG and SVG; median line and 5-95% band over seeds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    n = int(series["rep"].nunique())
    note = f"median and 5-95% band over {n} seeds"

    def save(fig, name):
        fig.tight_layout()
        for ext in ("png", "svg"):
            p = folder / f"{name}.{ext}"
            fig.savefig(p, dpi=120 if ext == "png" else None)
            files.append(p)
        plt.close(fig)

    def mark(ax, scenario, ids):
        sc = load_scenario(scenario)
        known = _measure_ids(sc)
        for i in ids:
            if i in known:
                ax.axvline(to_month(known[i].date).to_timestamp(), color="grey", ls=":", lw=1)

    have = set(series["variant"].unique())
    # 1. the 2010-11 price spike
    if "embargo-2010" in have:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        for ax, good, name in zip(axes, ("ox_Dy", "ox_Nd"), ("Dy oxide", "Nd oxide")):
            for v, c in (("embargo-2010", "C3"), ("embargo-2010/no-halt", "C1"),
                         ("embargo-2010/no-quotas", "C0")):
                _band_lines(ax, series, v, f"price_row:{good}", VARIANTS[v].label, c,
                            relative_to_year=2009)
            ax.axhspan(8, 30, color="green", alpha=0.07, label="target 8-30x")
            mark(ax, "embargo-2010", ["cn_quota_2010", "cn_halt_japan_2010"])
            ax.set_yscale("log")
            ax.set_title(f"{name} price outside China / 2009 mean")
            ax.set_ylabel("multiple of 2009 level")
            ax.legend(fontsize=8)
        fig.suptitle(f"2010-11 episode ({note}); dotted: July 2010 quota cut, halt to Japan",
                     fontsize=9)
        save(fig, "fig1_2010_price_spike")
        # 2. adaptation: demand removed and non-China supply
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for v, c in (("embargo-2010", "C3"), ("embargo-2010/no-quotas", "C0")):
            _band_lines(axes[0], series, v, "demand_removed", VARIANTS[v].label, c, scale=100)
        axes[0].set_title("magnet-REE demand removed by thrifting and substitution")
        axes[0].set_ylabel("% of magnet-REE demand")
        axes[0].legend(fontsize=8)
        for v, c in (("embargo-2010", "C3"), ("embargo-2010/no-quotas", "C0")):
            s = series[(series["variant"] == v)
                       & series["series"].isin(["mine:world", "mine:nonCN"])]
            if s.empty:
                continue
            piv = s.pivot_table(index=["date", "rep"], columns="series", values="value")
            share = (piv["mine:nonCN"] / piv["mine:world"] * 100).rename("value").reset_index()
            share = share.assign(variant=v, series="nonCN_share")
            _band_lines(axes[1], share, v, "nonCN_share", VARIANTS[v].label, c)
        axes[1].set_title("non-China share of world mine output")
        axes[1].set_ylabel("%")
        axes[1].legend(fontsize=8)
        for ax in axes:
            mark(ax, "embargo-2010", ["cn_quota_2010"])
        fig.suptitle(note, fontsize=9)
        save(fig, "fig2_2010_adaptation")
    # 3. the 2025 export collapse
    if "controls-2025" in have:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sub = series[pd.to_datetime(series["date"]) < pd.Timestamp("2027-01-01")]
        for v, c in (("controls-2025", "C3"), ("no-controls", "C0")):
            _band_lines(ax, sub, v, "cn_magnet_exports", VARIANTS[v].label, c)
        mark(ax, "controls-2025",
             ["cn_licences_apr2025", "london_framework", "cn_general_licences"])
        ax.set_title("China's magnet exports")
        ax.set_ylabel("t/month")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        fig.suptitle(f"{note}; dotted: 4 Apr 2025 licences, London framework, general licences",
                     fontsize=9)
        save(fig, "fig3_2025_magnet_exports")
        # 4. US magnet capacity with and without the floor
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sub = series[pd.to_datetime(series["date"]) < pd.Timestamp("2031-01-01")]
        for v, c in (("controls-2025", "C3"), ("controls-2025/no-floor", "C0")):
            _band_lines(ax, sub, v, "capacity:magnets:US", VARIANTS[v].label, c)
        ax.axhline(10000, color="green", ls="--", lw=1, label="10,000 t/yr (MP/DoD plan)")
        mark(ax, "controls-2025", ["dod_floor"])
        ax.set_title("US sintered-magnet capacity")
        ax.set_ylabel("t/yr")
        ax.legend(fontsize=8)
        fig.suptitle(note, fontsize=9)
        save(fig, "fig4_2025_us_magnet_capacity")
    # 5. decoupling
    dec_v = [v for v in DECOUPLING_SCENARIOS if v in have]
    if dec_v:
        fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True, sharey=True)
        for ax, r in zip(axes.ravel(), REGIONS_DECOUPLING):
            for i, v in enumerate(dec_v):
                s = series[(series["variant"] == v) & (series["series"] == f"china_content:{r}")]
                s = s.assign(date=pd.to_datetime(s["date"]))
                ann = s.groupby([s["date"].dt.year, "rep"])["value"].mean()
                ann = ann.rename("value").reset_index().rename(columns={"date": "year"})
                ann["date"] = pd.to_datetime(ann["year"].astype(str) + "-07-01")
                ann = ann.assign(variant=v, series="cc")
                _band_lines(ax, ann, v, "cc", v, f"C{i}", scale=100)
            ax.set_title(f"China-origin share of {r} magnet supply")
            ax.set_ylabel("% (annual mean)")
            ax.set_ylim(0, 105)
        axes[0, 0].legend(fontsize=8)
        fig.suptitle(f"Decoupling study ({note})", fontsize=9)
        save(fig, "fig5_decoupling")
        # 6. prices by scenario
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for ax, key, name in zip(axes, ("price_row:NdPr", "price_row:ox_Dy"),
                                 ("NdPr oxide", "Dy oxide")):
            for i, v in enumerate(dec_v):
                _band_lines(ax, series, v, key, v, f"C{i}")
            ax.set_title(f"{name} price outside China")
            ax.set_ylabel("USD/kg")
            ax.set_yscale("log")
        axes[0].legend(fontsize=8)
        fig.suptitle(note, fontsize=9)
        save(fig, "fig6_scenario_prices")
    return files


# ===================================================================== report
def _manifest(prof, n_seeds, seed_root, backend, workers, results, wall, runs_wall) -> dict:
    from experiments.runs import git_commit, package_versions
    from experiments.sweep.backends import default_workers

    hashes = {}
    for name in prof.months:
        hashes[name] = build_scenario(name).content_hash()
    run_walls = [r["wall_s"] for r in results]
    return {"profile": prof.name, "seeds": n_seeds, "seed_root": seed_root,
            "seed_scheme": "SeedSequence(seed_root, spawn_key=(rep,)) shared by all variants",
            "variants": {k: {"months": max((r["months"] for r in results if r["variant"] == k),
                                           default=None),
                             "scenario_hash": hashes[k],
                             "drop": list(VARIANTS[k].drop)} for k in prof.months},
            "backend": backend, "workers": workers or default_workers(),
            "runs": len(results), "model_months": int(sum(r["months"] for r in results)),
            "wall_time_s": round(wall, 1), "runs_wall_time_s": round(runs_wall, 1),
            "cpu_time_of_runs_s": round(float(sum(run_walls)), 1),
            "mass_balance_max_relative": max(r["mass_balance"] for r in results),
            "packages": package_versions(), "git_commit": git_commit(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _report(prof, n_seeds, targets, mechanisms, decoupling, manifest, resid, files) -> str:
    n_pass = int((targets["status"] == "PASS").sum())
    n_fail = int((targets["status"] == "FAIL").sum())
    lines = [
        "# Reproduction report",
        "",
        (f"Profile **{prof.name}**, {n_seeds} seeds per experiment "
         f"({manifest['runs']} runs, {manifest['model_months']:,} model months), "
         f"{manifest['workers']} {manifest['backend']} workers, wall time "
         f"{manifest['wall_time_s']:.0f} s; git commit `{manifest['git_commit']}`; "
         f"created {manifest['created']}."),
        "",
        (f"**{n_pass} of {len(targets)} targets pass, {n_fail} fail.** A target passes when "
         "the median over seeds lies inside the tolerance; the band is the 5-95% range over "
         "seeds."),
        "",
    ]
    if n_seeds < 20:
        lines += [("> This run uses fewer than the 20 seeds the targets are stated for "
                   "(quick or custom profile); run `ree reproduce` for the paper numbers."), ""]
    if prof.name != "full":
        lines += ["> Horizons are shortened in this profile: "
                  + ", ".join(f"{k} {v} months" for k, v in prof.months.items() if v) + ".", ""]
    lines += ["## Targets", "", _targets_markdown(targets), "", "### Definitions", ""]
    for _, r in targets.iterrows():
        lines.append(f"- `{r['id']}`: {r['definition']}.")
    lines += ["", "## Episodes against their counterfactuals", "",
              ("Median over seeds of the quantity behind each target (common random numbers: "
               "replicate r of every variant shares its seed)."), "",
              _markdown(mechanisms) if len(mechanisms) else "No counterfactual runs.", ""]
    skipped = [v.name for v in VARIANTS.values() if "/" in v.name and v.name not in prof.months]
    if skipped:
        lines += [f"Not run in the {prof.name} profile: "
                  + ", ".join(f"`{n}`" for n in skipped) + " (run `ree reproduce` without "
                  "--quick for them).", ""]
    lines += ["## Decoupling study", "",
              ("China-origin share of magnet supply (share of the magnets received by the "
               "region's OEMs and defense contractors that passed through China at any stage), "
               "annual mean, median [5-95%] over seeds. Full table: `tables/decoupling.csv`."),
              "",
              _decoupling_markdown(decoupling), ""]
    lines += ["## Runs", "",
              (f"- Mass balance: largest residual over all runs {resid:.1e} of the largest "
               "production ledger (RareEarthModel.mass_balance())."),
              (f"- Runs' CPU time {manifest['cpu_time_of_runs_s']:.0f} s; wall time of the runs "
               f"{manifest['runs_wall_time_s']:.0f} s; total {manifest['wall_time_s']:.0f} s."),
              "- Variants: " + "; ".join(
                  f"`{k}` ({v['months']} months"
                  + (f", without {', '.join(v['drop'])}" if v["drop"] else "") + ")"
                  for k, v in manifest["variants"].items()) + ".",
              "- Seeds: " + manifest["seed_scheme"] + f", seed_root {manifest['seed_root']}.",
              ("- Scenario hashes, package versions: `manifest.json`; every series of every "
               "run: `data/series.parquet`."), "",
              "## Files", ""] + [f"- `{f}`" for f in files if not f.endswith(".svg")] + [
              "", "SVG versions of every figure sit next to the PNGs.", "",
              "Regenerate with `ree reproduce" + (" --quick" if prof.name == "quick" else "")
              + f" --seeds {n_seeds}`.", ""]
    return "\n".join(lines)


# ===================================================================== scenario documentation
def _measure_value(m) -> str:
    k = m.kind
    if k == "tariff":
        return (f"{m.rate:.0%} on {', '.join(m.targets)}" + (" (added)" if m.mode == "add" else "")
                + ("" if m.goods == ["all"] else f"; {', '.join(m.goods)}"))
    if k == "export_duty":
        return f"{m.rate:.0%} on {', '.join(m.goods)}"
    if k == "export_licence":
        appr = ", ".join(f"{d} {p:g}" for d, p in m.approval.items())
        extra = "; 0.1% extraterritorial rule" if m.extraterritorial else ""
        rev = ("; review " + ", ".join(f"{d} {r:g} months" for d, r in m.review_months.items())
               if m.review_months else "")
        forms = ("" if list(m.forms) == ["concentrates", "oxides", "magnets"]
                 else f" ({', '.join(m.forms)})")
        return (f"{', '.join(m.elements)}{forms}; approval {appr}" + rev
                + ("; defense end use denied" if m.defense_denial else "") + extra)
    if k == "licence_policy":
        parts = []
        if m.elements is not None:
            parts.append(", ".join(m.elements))
        if list(m.forms) != ["concentrates", "oxides", "magnets"]:
            parts.append(", ".join(m.forms))
        if m.end_use != "all":
            parts.append(f"{m.end_use} end use")
        if m.approval:
            parts.append("approval " + ", ".join(f"{d} {p:g}" for d, p in m.approval.items()))
        if m.review_months:
            parts.append("review " + ", ".join(f"{d} {r:g} months"
                                               for d, r in m.review_months.items()))
        return "; ".join(parts)
    if k == "export_quota":
        return f"{m.tonnes_per_year:,.0f} t/yr of {', '.join(m.goods)}"
    if k == "embargo":
        return f"no exports of {', '.join(m.goods)} to {', '.join(m.targets)}"
    if k == "production_quota":
        return f"mine output <= {m.tonnes_per_year:,.0f} t/yr"
    if k == "suspension":
        return f"suspends `{m.target_id}`"
    if k == "price_floor":
        return (f"${m.floor_usd_kg:g}/kg on {', '.join(m.goods)}; offtake {m.offtake_share:.0%} "
                "of magnet output")
    if k == "subsidy":
        return (f"capex {m.capex_share:.0%} ({', '.join(m.stages)}); lead times "
                f"x{m.lead_time_factor:g}")
    if k == "stockpile":
        return f"{m.target_months:g} months of use of {', '.join(m.goods)}"
    if k == "sourcing_rule":
        return f"defense may not buy {', '.join(m.banned)}-origin {', '.join(m.goods)}"
    return ""


def scenario_events_markdown(name: str, relative_to: str | None = None) -> str:
    """The measures of a shipped scenario as a Markdown table (date, end, id, kind, actor,
    value, event, source). With ``relative_to``, only measures that are new or differ from
    that scenario's measure of the same id are listed (docs/scenarios.md)."""
    sc = load_scenario(name)
    base = {m.id: m for m in load_scenario(relative_to).measures} if relative_to else {}
    lines = ["| date | end | id | kind | actor | value | event | source |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m in sc.measures:
        if relative_to and m.id in base and base[m.id] == m:
            continue
        actor = getattr(m, "actor", "")
        cells = [m.date, m.end or "", f"`{m.id}`" if m.id else "", m.kind, actor,
                 _measure_value(m), m.label, m.source]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ===================================================================== IMF 80% cut
#: GDP effects of an 80% cut in rare-earth supply at low (short-run, under a year)
#: substitution elasticities, % of GDP: IMF Working Paper 2026/073 (Bogmans, Jerez-Osses,
#: Miranda Pinto and Natal, "Macroeconomic Effects of Rare Earths Supply Chain
#: Disruptions", 14 April 2026, 47 pp., abstract at
#: https://econpapers.repec.org/paper/imfimfwpa/2026_2f073.htm, checked again 2026-12):
#: Japan 1.8, the US 1.5, Germany 1.2; "aggregate losses become negligible" at higher
#: (longer-run) elasticities. The paper's shock is an 80% reduction of each economy's REE
#: supply in a small-open-economy production-network model (US, Germany, France, UK, Japan,
#: India; REE-augmented input-output table from USGS data), not a cut of China's exports
#: only; its tables were not read (the full text was not found with the search tools).
#: The model's EU row stands in for Germany (its table has no Germany).
IMF_SHORT_RUN_GDP_LOSS = {"JP": 1.8, "US": 1.5, "EU": 1.2}

#: The cut: share of China's base-year exports of oxides and magnets removed.
IMF_CUT_SHARE = 0.8


@dataclass(frozen=True)
class ImfCut:
    """The IMF comparison experiment: the baseline world with an export quota that cuts
    China's exports of oxides and magnets (the model's separated oxides stand for oxides and
    metals) by ``cut`` from ``date`` on, quota split over the goods by base-year exports
    (``allocation = "historical"``).

    Attributes:
        cut: share of base-year exports removed (0-1).
        date: first month of the cut (YYYY-MM).
        short_months: months after the cut averaged for the short run (under a year).
        long_from, long_to: months after the cut (first, last) averaged for the long run.
        short_substitution_speed: ``levers.substitution_speed`` of the short-run run (the
            lever's low end: substitution limited); the long run uses the default 1.
    """

    cut: float = IMF_CUT_SHARE
    date: str = "2025-01"
    short_months: int = 12
    long_from: int = 37
    long_to: int = 60
    short_substitution_speed: float = 0.25


def china_base_exports(seed=0) -> float:
    """China's base-year exports of oxides plus magnets in the model, t/yr: the first month
    of the ``baseline`` scenario (``china_exports`` rows x 12)."""
    from abm.model import RareEarthModel

    m = RareEarthModel("baseline", seed=seed, months=1)
    m.run()
    ts = m.timeseries()
    return float(ts.loc[ts["metric"] == "china_exports", "value"].sum()) * 12.0


def imf_cut_scenario(spec: ImfCut = ImfCut(), base_exports_t_yr: float | None = None,
                     substitution_speed: float = 1.0) -> Scenario:
    """The ``baseline`` scenario plus China's export quota of ``(1 - cut) x`` base-year
    exports of oxides and magnets from ``spec.date`` (name ``imf-cut``)."""
    base = china_base_exports() if base_exports_t_yr is None else base_exports_t_yr
    data = load_scenario("baseline").model_dump(mode="json")
    data["name"] = "imf-cut"
    data["measures"] = list(data["measures"]) + [{
        "kind": "export_quota", "id": "cn_cut_80", "date": spec.date, "actor": "CN",
        "tonnes_per_year": (1.0 - spec.cut) * base, "goods": ["oxides", "magnets"],
        "allocation": "historical",
        "label": f"China's exports of oxides and magnets cut by {spec.cut:.0%}",
        "source": "IMF WP 2026/073 experiment (80% cut in rare-earth supply)"}]
    data["levers"] = {**data.get("levers", {}), "substitution_speed": substitution_speed}
    return scenario_from_dict(data, "imf-cut")


def imf_cut_experiment(spec: ImfCut = ImfCut(), seed=0) -> pd.DataFrame:
    """Run the IMF comparison (one seed): a short run with limited substitution and a long
    run with the default substitution speed.

    Returns:
        One row per region of :data:`IMF_SHORT_RUN_GDP_LOSS`: ``short_run_pct_gdp`` (mean of
        ``value_added_lost_pct_gdp`` over the first ``short_months`` months of the cut,
        limited substitution), ``long_run_pct_gdp`` (mean over months ``long_from`` to
        ``long_to`` of the cut, default substitution), ``imf_short_run_pct_gdp``, ``ratio``
        (model short run / IMF) and ``within_factor_2``; plus ``china_exports_cut`` (China's
        oxide and magnet exports in the first 12 months of the cut over the base rate).
    """
    from abm.model import RareEarthModel

    base = china_base_exports(seed)
    start = to_month(load_scenario("baseline").start)
    k0 = int((to_month(spec.date) - start).n)
    out = {}
    for run, speed, months in (("short", spec.short_substitution_speed,
                                k0 + spec.short_months),
                               ("long", 1.0, k0 + spec.long_to)):
        sc = imf_cut_scenario(spec, base, speed)
        m = RareEarthModel(sc, seed=seed, months=months)
        m.run()
        ts = m.timeseries()
        out[run] = ts
    rows = []
    for r, imf in IMF_SHORT_RUN_GDP_LOSS.items():
        vals = {}
        for run, (a, b) in (("short", (0, spec.short_months - 1)),
                            ("long", (spec.long_from - 1, spec.long_to - 1))):
            ts = out[run]
            s = ts[(ts["metric"] == "value_added_lost_pct_gdp") & (ts["region"] == r)]
            s = s[(s["step"] >= k0 + a) & (s["step"] <= k0 + b)]["value"]
            vals[run] = float(s.mean()) if len(s) else float("nan")
        ratio = vals["short"] / imf
        rows.append({"region": r, "short_run_pct_gdp": vals["short"],
                     "long_run_pct_gdp": vals["long"], "imf_short_run_pct_gdp": imf,
                     "ratio": ratio, "within_factor_2": bool(0.5 <= ratio <= 2.0)})
    df = pd.DataFrame(rows)
    ts = out["short"]
    ex = ts[(ts["metric"] == "china_exports") & (ts["step"] >= k0)
            & (ts["step"] < k0 + spec.short_months)]
    cut = float(ex["value"].sum()) / max(spec.short_months, 1) * 12.0 / base
    df["china_exports_cut"] = 1.0 - cut
    return df


def imf_cut_markdown(df: pd.DataFrame, spec: ImfCut = ImfCut()) -> str:
    """REPORT.md section of the IMF comparison (rows of :func:`imf_cut_experiment`)."""
    ranking_model = list(df.sort_values("short_run_pct_gdp", ascending=False)["region"])
    ranking_imf = list(df.sort_values("imf_short_run_pct_gdp", ascending=False)["region"])
    lines = [
        "## GDP effect of an 80% cut of China's rare-earth exports (IMF WP 2026/073)", "",
        (f"Baseline world; from {spec.date} China's exports of oxides and magnets are held to "
         f"{1 - spec.cut:.0%} of their base-year level (export quota, split by base-year "
         f"exports; realised cut in the first year "
         f"{float(df['china_exports_cut'].iloc[0]):.0%}). Model: mean of "
         "`value_added_lost_pct_gdp` (value added lost, direct and through the domestic "
         f"supply chain, % of GDP at an annual rate) over the first {spec.short_months} "
         f"months with substitution limited (`substitution_speed` "
         f"{spec.short_substitution_speed}), and over months {spec.long_from}-{spec.long_to} "
         "with the default speed. IMF: production-network model, 80% cut, low short-run "
         "elasticities (Japan 1.8, US 1.5, Germany 1.2% of GDP; negligible at longer-run "
         "elasticities). The EU row stands in for Germany. One seed."), "",
        ("| region | model short run (% GDP) | model long run (% GDP) | IMF short run (% GDP) "
         "| model / IMF | within x2 |"), "| --- | --- | --- | --- | --- | --- |"]
    for _, r in df.iterrows():
        lines.append(f"| {r['region']} | {r['short_run_pct_gdp']:.3f} | "
                     f"{r['long_run_pct_gdp']:.3f} | {r['imf_short_run_pct_gdp']:.1f} | "
                     f"{r['ratio']:.3f} | {'yes' if r['within_factor_2'] else 'no'} |")
    lines += ["", (f"Ranking, model: {' > '.join(ranking_model)}; IMF: "
                   f"{' > '.join(ranking_imf)}."), ""]
    if not df["within_factor_2"].all() or ranking_model != ranking_imf:
        lines += [
            ("Why the model misses (where it does): (1) the cut applies to China's direct "
             "exports of oxides and magnets only; rare earths embedded in imported motors, "
             "vehicles and electronics, which the IMF's REE-augmented input-output table "
             "traces, are outside the model, so the US (which buys many of its magnets "
             "embedded in imported goods) loses least; (2) value added lost counts the "
             "magnet-using lines that stop plus their domestic suppliers (Type-I, backward "
             "linkages); the IMF's network-adjusted value-added shares also carry forward "
             "linkages to the sectors that use those products; (3) inventories, magnet "
             "makers outside China (Japan, the EU) and re-routing through third countries "
             "absorb part of the cut in the first year; (4) the EU row is the whole EU (GDP "
             "about four times Germany's), so its share of GDP is diluted; (5) the "
             "value-added shares and multipliers are recalled OECD figures, not yet read "
             "from the ICIO tables (abm/data/SOURCES.md)."), ""]
    return "\n".join(lines)
