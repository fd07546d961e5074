"""Sweep adapter: the single-run reproduction targets, and the checks against history
outside them, of one run as sweep outcomes (``model = "experiments.reproduce:sweep_evaluate"``)."""

from __future__ import annotations

import pandas as pd

from abm.scenario import apply_overrides, load_scenario
from experiments.reproduce.history import HISTORY
from experiments.reproduce.runner import _simulate
from experiments.reproduce.targets import TARGETS
from experiments.reproduce.variants import _measure_ids
from experiments.sweep.model import load_checked_scenario

#: targets computable from one run, by the scenario whose run they read
SINGLE_RUN_TARGETS = {
    "embargo-2010": (
        "dy_peak_multiple",
        "nd_peak_multiple",
        "dy_peak_lag",
        "nd_peak_lag",
        "substitution_rate_at_peak",
        "non_china_mine_ramp",
        "japan_share_magnets_2010",
        "china_magnet_growth_2010",
        "china_magnet_exports_2010",
        "china_export_fill_2011",
        "china_dy_rise_2011q1",
    ),
    "controls-2025": ("cn_magnet_export_fall", "mp_magnet_capacity_2029"),
}


#: the reproduction episodes: their name in messages and the measure a scenario must have to
#: be one of them (:func:`_episode`)
CHECK_EPISODES = {
    "embargo-2010": ("the 2010-11 episode", "cn_quota_2010"),
    "controls-2025": ("the 2025 episode", "cn_licences_apr2025"),
}


def _episode(scenario) -> str | None:
    """The reproduction episode whose single-run targets and checks a run of ``scenario``
    computes: the first of :data:`CHECK_EPISODES` whose measure the scenario has
    (``embargo-2010``: cn_quota_2010; ``controls-2025``: cn_licences_apr2025), or None."""
    ids = _measure_ids(scenario)
    return next((ep for ep, (_what, m) in CHECK_EPISODES.items() if m in ids), None)


def sweep_evaluate(
    scenario, *, overrides=None, seed=0, months=None, outcomes=None, keep_timeseries=False
) -> tuple[dict[str, float], pd.DataFrame | None]:
    """Sweep adapter: the single-run reproduction targets of one run, and the checks against
    history outside them of its episode (:data:`experiments.reproduce.history.HISTORY`: e.g.
    ``nd_fob_2014_12`` for ``embargo-2010``, ``dy_eu_2025_may_sep`` for ``controls-2025``), for
    calibration sweeps with the sweep framework (``model =
    "experiments.reproduce:sweep_evaluate"``, scenario ``embargo-2010`` or
    ``controls-2025``; same signature as :func:`abm.outcomes.evaluate`).

    Returns:
        ``({target or check id: value}, wide series table or None)``; targets and checks of
        the other episode, and checks a run does not reach, are NaN.

    Raises:
        KeyError: an unknown outcome name.
    """
    sc = apply_overrides(load_scenario(scenario), overrides)
    names = list(sweep_evaluate.OUTCOMES) if outcomes is None else list(outcomes)
    unknown = [n for n in names if n not in sweep_evaluate.OUTCOMES]
    if unknown:
        raise KeyError(f"unknown outcome(s) {unknown}; known: {sorted(sweep_evaluate.OUTCOMES)}")
    episode = _episode(sc)
    run = _simulate(sc, seed, months)
    by_id = {t.id: t for t in TARGETS}
    checks = {c.id: c for c in HISTORY}
    values = {}
    for n in names:
        try:
            if n in checks:
                ok = episode == checks[n].scenario
                values[n] = float(checks[n].compute(run["wide"])) if ok else float("nan")
            elif episode is None or n not in SINGLE_RUN_TARGETS[episode]:
                values[n] = float("nan")
            else:
                values[n] = float(by_id[n].compute({episode: run["wide"]}))
        except (KeyError, ValueError, TypeError, ZeroDivisionError):
            values[n] = float("nan")
    return values, (run["wide"] if keep_timeseries else None)


sweep_evaluate.OUTCOMES = {
    t.id: f"{t.title} (tolerance {t.lo:g}-{t.hi:g}) [{t.unit}]"
    for t in TARGETS
    if any(t.id in v for v in SINGLE_RUN_TARGETS.values())
} | {
    c.id: f"{c.title} (record {c.lo:.3g}-{c.hi:.3g}; a check, not a target) [{c.unit}]"
    for c in HISTORY
}


def _check_outcomes(scenario, months: int | None, outcomes: list[str]) -> dict[str, str]:
    """{outcome: why} for checks against history that runs of ``months`` months from the
    scenario's start (None: its horizon) do not reach, or that a scenario of another episode
    than the check's (:attr:`~experiments.reproduce.history.HistoryCheck.scenario`) cannot
    compute (they would be NaN in every run), before any run."""
    from abm.timeline import months_between, to_month
    from experiments.sweep.model import run_span

    first, last, months = run_span(scenario, months)
    checks = {c.id: c for c in HISTORY}
    episode = _episode(scenario)
    out = {}
    for name in outcomes:
        c = checks.get(name)
        if c is None:
            continue
        if episode != c.scenario:
            what, measure = CHECK_EPISODES[c.scenario]
            out[name] = (
                f"{name!r} is a check on the history of {what}: it reads runs of {c.scenario} "
                f"(a scenario with the measure {measure}) and would be NaN in every run of this "
                f"one; drop it or use {c.scenario}"
            )
            continue
        if to_month(c.last_month) <= last:
            continue
        need = months_between(first, to_month(c.last_month)) + 1
        fix = (
            f"set months = {need} or more, or drop the outcome"
            if need <= scenario.months
            else f"the scenario ends in {scenario.end}: drop the outcome"
        )
        out[name] = (
            f"{name!r} reads months up to {c.last_month}, but the runs cover {first} to {last} "
            f"(months = {months}), so it would be NaN in every run; {fix}"
        )
    return out


def _parameter_space():
    from abm.scenario import parameter_space

    return parameter_space()


sweep_evaluate.parameter_space = _parameter_space
# the sweep's scenario loader checks the model's data tables too, so a bad table stops
# `ree sweep plan` before any work rather than failing every run (session 31)
sweep_evaluate.load_scenario = load_checked_scenario
# the sweep checks constants and levels (and measures.<id>.<field> names) against the scenario
sweep_evaluate.apply_overrides = apply_overrides
# the checks against history must lie within the runs (checked when a sweep is planned)
sweep_evaluate.check_outcomes = _check_outcomes
