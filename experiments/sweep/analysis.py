"""Analysis of stored sweep results: sensitivity indices and scenario discovery.

Reads only from the store (never re-runs anything) and writes to ``<store>/analysis/``:

* ``summary.csv``: per outcome: its unit, n_ok, mean, std, min, p05, median, p95, max over ok
  runs. When runs failed or are not run yet, the result carries a warning saying how many
  (the tables then describe the ok runs only).
* ``design_means.csv``: one row per design row: parameters, runs ok, replicate mean per outcome
  (the unit in each parameter's and outcome's header, e.g. ``y [t/month]``).
* ``factorial`` designs: ``main_effects.csv`` (factor, its unit, level, outcome, its unit,
  runs, mean of the outcome over the ok runs at that level, and that mean less the mean over
  all ok runs) and ``main_effects_<outcome>.png`` (one panel per factor).
* Sensitivity indices, chosen by the design method (SALib on replicate means, in design-row
  order, on the unit-scaled problem):

  - ``saltelli`` -> ``sobol.csv`` (outcome, unit, parameter, S1, S1_conf, ST, ST_conf) and
    ``sobol_<outcome>.png``; second-order indices in ``sobol_s2.csv`` when designed.
  - ``morris`` -> ``morris.csv`` (outcome, unit, parameter, mu, mu_star, mu_star_conf,
    sigma), with effects per full parameter range, and ``morris_<outcome>.png``.
  - ``fast`` -> ``fast.csv`` (outcome, unit, parameter, S1, S1_conf, ST, ST_conf),
    ``fast_<outcome>.png``.

  Indices need every design row: if any row has no successful run, :class:`AnalysisError`
  says how many are missing and how to complete them.
* Scenario discovery for every ``[[discovery]]`` entry, with PRIM from ema-workbench (optional
  extra ``ree-abm[analysis]``): ``prim_<outcome>.csv`` (the chosen box: restricted parameters,
  their units and limits), ``prim_<outcome>_trajectory.csv`` (peeling trajectory: coverage, density,
  mass, res_dim) and the headline in the returned summary.

Every CSV carries units (a ``unit`` column, or the unit in the header) and floats rounded to
6 significant digits (:func:`experiments.tables.round_frame`). Sobol and FAST indices are
shares of the outcome's variance (unit ``1``); Morris ``mu``, ``mu_star`` and ``sigma`` are in
the outcome's unit per full range of the parameter.

Stochastic outputs inflate Sobol indices (ST can exceed 1); use replicates (averaged here) or
``seed_scheme = "crn"``, and check that the ``*_conf`` columns are small. The result's
warnings carry SALib's own warnings (one line each, :mod:`.library_warnings`) and, when Sobol
indices are unreliable, one line saying the sample is too small with a suggested
``design.n`` (:func:`sobol_reliability`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.tables import round_frame

from .design import UNIT_PREFIX, expected_rows, salib_problem
from .library_warnings import captured, ignore_import_noise
from .spec import ExperimentSpec, load_spec
from .store import RunStore

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "analyze",
    "load_table",
    "main_effects",
    "one_at_a_time",
    "prim_discovery",
]

SA_METHODS = {"saltelli": "sobol", "morris": "morris", "fast": "fast"}


class AnalysisError(RuntimeError):
    """Analysis cannot proceed (missing runs, store from another spec, missing extra)."""


@dataclass
class AnalysisResult:
    """What ``analyze`` computed and wrote.

    Attributes:
        store: store directory.
        method: sensitivity method used (``sobol``/``morris``/``fast``) or None.
        indices: long table of indices (one row per outcome x parameter) or None.
        summary: per-outcome descriptive statistics.
        discovery: one dict per ``[[discovery]]`` entry (box limits, coverage, density, ...).
        files: files written.
        notes: remarks (skipped parts and why).
        warnings: problems with the results themselves, one line each: partial results
            (runs failed or not run yet), SALib's and ema-workbench's warnings, unreliable
            Sobol indices (:func:`sobol_reliability`): the CLI prints them first, as warnings.
        main_effects: for a factorial design, :func:`main_effects` (else None).
        one_at_a_time: for an ``oat`` design, :func:`one_at_a_time` (else None).
    """

    store: str
    method: str | None
    indices: pd.DataFrame | None
    summary: pd.DataFrame
    discovery: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    main_effects: pd.DataFrame | None = None
    one_at_a_time: pd.DataFrame | None = None


def _partial_warning(table: pd.DataFrame, where: str) -> str | None:
    """One line naming how many runs are ok, failed and not run, or None when all are ok
    (``where``: the spec path and ``--out`` for the commands it suggests)."""
    runs = table.drop_duplicates("run_id")
    n, ok = len(runs), int((runs["status"] == "ok").sum())
    missing = int(runs["status"].isna().sum())
    failed = n - ok - missing
    if ok == n:
        return None
    todo = []
    if missing:
        todo.append(f"`ree sweep run {where}` to finish")
    if failed:
        todo.append(f"`ree sweep status {where}` for the errors and `run --retry-failed`")
    return (
        f"results are partial: {ok} of {n} runs finished ok, {failed} failed, {missing} "
        f"not run yet; the tables cover the {ok} ok runs only (design rows without one "
        f"are NaN). Use {' and '.join(todo)}"
    )


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)


def load_table(store: RunStore) -> pd.DataFrame:
    """Design joined with results: one row per planned run (design order), results columns
    NaN/None for runs without a result. Runs that share an id share their result."""
    design = store.read_design()
    res = store.read_results()
    keep = [c for c in res.columns if c not in design.columns or c == "run_id"]
    return design.merge(res[keep], on="run_id", how="left", validate="many_to_one")


_UNIT_IN_DESCRIPTION = re.compile(r"\[([^\[\]]*)\]\s*$")


def outcome_units(handle: Any, outcomes: list[str]) -> dict[str, str]:
    """Unit of each outcome, read from the model's outcome descriptions (``"... [unit]"``,
    :meth:`~experiments.sweep.model.ModelHandle.outcomes`); ``""`` when not declared."""
    described = (handle.outcomes() if handle is not None else None) or {}
    out = {}
    for o in outcomes:
        m = _UNIT_IN_DESCRIPTION.search(str(described.get(o, "")))
        out[o] = m.group(1).strip() if m else ""
    return out


def parameter_units(spec: ExperimentSpec, handle: Any) -> dict[str, str]:
    """Unit of each parameter: the spec's ``unit``, else the model's parameter space
    (:meth:`~experiments.sweep.model.ModelHandle.parameter_space`), else ``""``."""
    space = (handle.parameter_space() if handle is not None else None) or {}
    return {
        p.name: p.unit or str((space.get(p.name) or {}).get("unit") or "") for p in spec.parameters
    }


def _with_unit(name: str, unit: str) -> str:
    """A wide table's header: ``name [unit]`` (``name`` alone when the unit is unknown)."""
    return f"{name} [{unit}]" if unit else name


def _write_csv(df: pd.DataFrame, path: Path, files: list[str], **kw) -> None:
    """Write ``df`` with floats to 6 significant digits and record the file."""
    round_frame(df).to_csv(path, **kw)
    files.append(str(path))


def main_effects(
    spec: ExperimentSpec,
    ok: pd.DataFrame,
    units: dict[str, str],
    factor_units: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Main effects of a factorial design: the mean of each outcome over the ok runs (all
    replicates) at each level of each factor.

    Args:
        spec: the sweep's spec (its parameters are the factors, its outcomes the outcomes).
        ok: one row per ok run, with a column per parameter and per outcome.
        units: outcome -> unit.
        factor_units: parameter -> unit (default: the spec's ``unit``).

    Returns:
        long table, one row per factor x level x outcome (levels in design order): factor,
        factor_unit, level, outcome, unit, runs (ok runs with a value at the level), mean
        (outcome unit), effect (mean less the mean over all ok runs, outcome unit).
    """
    rows = []
    for p in spec.parameters:
        levels = list(dict.fromkeys(ok[p.name].tolist()))  # design order
        for o in spec.outcomes:
            v = ok[[p.name, o]].dropna()
            grand = float(v[o].mean()) if len(v) else float("nan")
            for lev in levels:
                at = v.loc[v[p.name] == lev, o]
                mean = float(at.mean()) if len(at) else float("nan")
                rows.append(
                    {
                        "factor": p.name,
                        "factor_unit": (factor_units or {}).get(p.name, p.unit),
                        "level": lev,
                        "outcome": o,
                        "unit": units.get(o, ""),
                        "runs": len(at),
                        "mean": mean,
                        "effect": mean - grand,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["factor", "factor_unit", "level", "outcome", "unit", "runs", "mean", "effect"],
    )


def one_at_a_time(
    spec: ExperimentSpec,
    means: pd.DataFrame,
    units: dict[str, str],
    factor_units: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Swings of an ``oat`` design (:func:`experiments.sweep.design.unit_sample`): each
    outcome with every parameter at its center, and with one parameter at its low or high end.

    Args:
        spec: the sweep's spec (``design.method`` ``oat``).
        means: design means by design row (:func:`_design_means`): row 0 the center, rows
            2j+1 and 2j+2 parameter j at its low and high end.
        units: outcome -> unit.
        factor_units: parameter -> unit (default: the spec's ``unit``).

    Returns:
        long table, one row per parameter x outcome, ordered by outcome, then by ``swing``
        (largest first): parameter, parameter_unit, low, center, high, outcome, unit,
        at_low, at_center, at_high (outcome unit, means over the replicates), swing
        (largest absolute move from ``at_center``, outcome unit), swing_pct (that move in %
        of ``|at_center|``; NaN when it is 0).
    """
    rows = []
    for o in spec.outcomes:
        c = float(means.loc[0, o]) if 0 in means.index else float("nan")
        for j, p in enumerate(spec.parameters):
            lo = float(means.loc[2 * j + 1, o]) if 2 * j + 1 in means.index else float("nan")
            hi = float(means.loc[2 * j + 2, o]) if 2 * j + 2 in means.index else float("nan")
            swing = (
                float(np.nanmax([abs(lo - c), abs(hi - c)]))
                if not (np.isnan(lo) and np.isnan(hi))
                else float("nan")
            )
            rows.append(
                {
                    "parameter": p.name,
                    "parameter_unit": (factor_units or {}).get(p.name, p.unit),
                    "low": means.loc[2 * j + 1, p.name] if 2 * j + 1 in means.index else None,
                    "center": p.center,
                    "high": means.loc[2 * j + 2, p.name] if 2 * j + 2 in means.index else None,
                    "outcome": o,
                    "unit": units.get(o, ""),
                    "at_low": lo,
                    "at_center": c,
                    "at_high": hi,
                    "swing": swing,
                    "swing_pct": 100.0 * swing / abs(c) if c else float("nan"),
                }
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "parameter_unit",
            "low",
            "center",
            "high",
            "outcome",
            "unit",
            "at_low",
            "at_center",
            "at_high",
            "swing",
            "swing_pct",
        ],
    )
    order = {o: i for i, o in enumerate(spec.outcomes)}
    out["_o"] = out["outcome"].map(order)
    out = out.sort_values(["_o", "swing"], ascending=[True, False], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def _tornado_chart(oat: pd.DataFrame, outcome: str, path: Path, top: int = 20) -> None:
    """Tornado chart of an ``oat`` design: the ``top`` largest swings of ``outcome``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    d = oat[oat["outcome"] == outcome].head(top).iloc[::-1]
    c = float(d["at_center"].iloc[0]) if len(d) else 0.0
    fig, ax = plt.subplots(figsize=(8.0, 0.32 * len(d) + 1.4))
    y = np.arange(len(d))
    ax.barh(y, d["at_low"].to_numpy(float) - c, left=c, color="tab:blue", label="at low end")
    ax.barh(
        y,
        d["at_high"].to_numpy(float) - c,
        left=c,
        color="tab:orange",
        alpha=0.7,
        label="at high end",
    )
    ax.axvline(c, color="black", lw=0.8)
    ax.set_yticks(y, [n.split(".", 1)[-1] for n in d["parameter"]], fontsize=7)
    unit = d["unit"].iloc[0] if len(d) else ""
    ax.set_xlabel(_with_unit(outcome, unit))
    vals = np.concatenate([d["at_low"].to_numpy(float), d["at_high"].to_numpy(float), [c]])
    vals = vals[np.isfinite(vals)]
    if len(vals) and vals.min() > 0 and vals.max() / vals.min() > 20:
        ax.set_xscale("log")  # one outlier would flatten a linear axis
        ax.set_xlabel(_with_unit(outcome, unit) + ", log scale")
    ax.set_title(f"One at a time over the documented ranges: {outcome}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _main_effects_chart(effects: pd.DataFrame, outcome: str, title: str, path: Path) -> None:
    """One panel per factor: the outcome's mean at each level (shared y axis)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    d = effects[effects["outcome"] == outcome]
    factors = list(dict.fromkeys(d["factor"]))
    fig, axes = plt.subplots(
        1, len(factors), figsize=(max(4.0, 3.2 * len(factors)), 3.6), sharey=True, squeeze=False
    )
    for ax, f in zip(axes[0], factors, strict=True):
        e = d[d["factor"] == f]
        x = np.arange(len(e))
        ax.plot(x, e["mean"].to_numpy(float), "o-")
        ax.set_xticks(x, [f"{v:g}" if isinstance(v, float) else str(v) for v in e["level"]])
        unit = e["factor_unit"].iloc[0]
        ax.set_xlabel(_with_unit(f, unit))
    unit = d["unit"].iloc[0] if len(d) else ""
    axes[0][0].set_ylabel(_with_unit(f"mean {outcome}", unit))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _design_means(spec: ExperimentSpec, table: pd.DataFrame) -> pd.DataFrame:
    params = [p.name for p in spec.parameters]
    okmask = table["status"] == "ok"
    first = table.drop_duplicates("design_row").set_index("design_row")
    out = (
        first[params + [UNIT_PREFIX + p for p in params]].copy()
        if params
        else pd.DataFrame(index=first.index)
    )
    out["runs_ok"] = table[okmask].groupby("design_row").size().reindex(out.index, fill_value=0)
    means = table[okmask].groupby("design_row")[list(spec.outcomes)].mean()
    out = out.join(means, how="left")
    return out.sort_index()


def _bar_chart(
    df: pd.DataFrame, cols: list[tuple[str, str | None]], title: str, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(df)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * n + 2), 3.8))
    width = 0.8 / len(cols)
    x = np.arange(n)
    for i, (c, err) in enumerate(cols):
        yerr = df[err].to_numpy() if err else None
        ax.bar(
            x + (i - (len(cols) - 1) / 2) * width,
            df[c].to_numpy(),
            width,
            yerr=yerr,
            capsize=3,
            label=c,
        )
    ax.set_xticks(x, [str(p) for p in df["parameter"]], rotation=30, ha="right")
    ax.set_title(title)
    ax.axhline(0, color="black", lw=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sensitivity(
    spec: ExperimentSpec, means: pd.DataFrame, conf_level: float, num_resamples: int, seed: int
) -> tuple[str, pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Indices per outcome and parameter; also SALib's warnings, one line each (an
    outcome's lines prefixed with its name)."""
    from SALib.analyze import fast as a_fast
    from SALib.analyze import morris as a_morris
    from SALib.analyze import sobol as a_sobol

    method = SA_METHODS[spec.design.method]
    problem = salib_problem(spec)
    names = problem["names"]
    X = means[[UNIT_PREFIX + n for n in names]].to_numpy(dtype=float)
    rows, s2rows, notices = [], [], []
    for o in spec.outcomes:
        Y = means[o].to_numpy(dtype=float)
        with captured(f"SALib {method}.analyze, outcome {o}") as lines:
            if method == "sobol":
                si = a_sobol.analyze(
                    problem,
                    Y,
                    calc_second_order=spec.design.second_order,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=seed,
                )
                for j, n in enumerate(names):
                    rows.append(
                        {
                            "outcome": o,
                            "parameter": n,
                            "S1": si["S1"][j],
                            "S1_conf": si["S1_conf"][j],
                            "ST": si["ST"][j],
                            "ST_conf": si["ST_conf"][j],
                        }
                    )
                if spec.design.second_order:
                    for j in range(len(names)):
                        for k in range(j + 1, len(names)):
                            s2rows.append(
                                {
                                    "outcome": o,
                                    "parameter": names[j],
                                    "other": names[k],
                                    "S2": si["S2"][j, k],
                                    "S2_conf": si["S2_conf"][j, k],
                                }
                            )
            elif method == "morris":
                si = a_morris.analyze(
                    problem,
                    X,
                    Y,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    num_levels=spec.design.num_levels,
                    seed=seed,
                )
                for j, n in enumerate(names):
                    rows.append(
                        {
                            "outcome": o,
                            "parameter": n,
                            "mu": si["mu"][j],
                            "mu_star": si["mu_star"][j],
                            "mu_star_conf": si["mu_star_conf"][j],
                            "sigma": si["sigma"][j],
                        }
                    )
            else:
                si = a_fast.analyze(
                    problem,
                    Y,
                    M=spec.design.M,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=seed,
                )
                for j, n in enumerate(names):
                    rows.append(
                        {
                            "outcome": o,
                            "parameter": n,
                            "S1": si["S1"][j],
                            "S1_conf": si["S1_conf"][j],
                            "ST": si["ST"][j],
                            "ST_conf": si["ST_conf"][j],
                        }
                    )
        notices += [line for line in lines if line not in notices]
    return method, pd.DataFrame(rows), (pd.DataFrame(s2rows) if s2rows else None), notices


#: Sobol indices are variance shares, in [0, 1]; estimates outside this interval (estimator
#: noise allowed for) mean the sample is too small (Saltelli et al. 2010, CPC 181: 259-270)
SOBOL_RANGE = (-0.1, 1.1)
#: the widest ``ST_conf`` (SALib's bootstrap confidence half-width) taken as reliable
SOBOL_MAX_ST_CONF = 0.5


def _pow2_at_least(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(x, 1.0))))


def sobol_reliability(spec: ExperimentSpec, indices: pd.DataFrame) -> str | None:
    """One warning line when Sobol indices are unreliable, else None.

    Unreliable: any ``S1`` or ``ST`` outside :data:`SOBOL_RANGE`, or any ``ST_conf`` above
    :data:`SOBOL_MAX_ST_CONF` (NaN ignored). The line names the worst values with their
    parameter and outcome, says the sample is too small and suggests ``design.n``: the
    next power of two of at least twice the current ``n`` and of the ``n`` at which the
    widest interval would shrink to the limit (intervals shrink as ``1/sqrt(n)``), with the
    runs it takes.

    Args:
        spec: the sweep's spec (a ``saltelli`` design).
        indices: long table with columns outcome, parameter, S1, S1_conf, ST, ST_conf.
    """
    lo, hi = SOBOL_RANGE
    found = []
    for col in ("ST", "S1"):
        v = indices[col]
        for bad, how in ((v > hi, "up to"), (v < lo, "down to")):
            if bad.any():
                r = indices.loc[v[bad].abs().idxmax()]
                found.append(f"{col} {how} {r[col]:.2f} ({r['parameter']} on {r['outcome']})")
    conf = indices["ST_conf"]
    widest = float(conf.max()) if conf.notna().any() else float("nan")
    if widest > SOBOL_MAX_ST_CONF:
        r = indices.loc[conf.idxmax()]
        found.append(f"ST_conf up to {widest:.2f} ({r['parameter']} on {r['outcome']})")
    if not found:
        return None
    n = int(spec.design.n or 1)
    factor = (widest / SOBOL_MAX_ST_CONF) ** 2 if widest > SOBOL_MAX_ST_CONF else 1.0
    better = _pow2_at_least(max(2 * n, n * factor))
    runs_per_n = expected_rows(spec) // n * spec.replicates
    return (
        f"Sobol indices are unreliable: {', '.join(found)}; S1 and ST must lie in "
        f"[{lo:g}, {hi:g}] and ST_conf be at most {SOBOL_MAX_ST_CONF:g}. The sample is too "
        f"small (design.n = {n}, {n * runs_per_n} runs): use design.n = {better} or more "
        f"({better * runs_per_n} runs)"
    )


def prim_discovery(
    x: pd.DataFrame, y: np.ndarray, *, threshold_density: float = 0.8, peel_alpha: float = 0.05
) -> dict[str, Any]:
    """Find one PRIM box for the cases ``y`` (bool) in inputs ``x``.

    The box kept is, among the peeling trajectory's boxes with density >= threshold_density,
    the one with the highest coverage (else the densest box).

    Returns:
        {"limits": DataFrame(parameter, lower, upper, levels), "coverage", "density", "mass",
        "res_dim", "trajectory": DataFrame, "cases": int, "n": int, "warnings": the
        warnings ema-workbench raised, one line each}

    Raises:
        AnalysisError: ema-workbench is not installed.
    """
    try:
        with warnings.catch_warnings():
            ignore_import_noise()  # "ipyparallel not installed": only that import notice
            from ema_workbench.analysis import prim as ema_prim
    except ImportError as exc:
        raise AnalysisError(
            "PRIM needs ema-workbench: pip install 'ree-abm[analysis]' (ema-workbench>=3.0)"
        ) from exc
    import logging

    logging.getLogger("EMA").setLevel(logging.ERROR)
    x = x.reset_index(drop=True).copy()
    for c in x.columns:
        if x[c].dtype == bool or x[c].dtype == object or str(x[c].dtype).startswith("str"):
            x[c] = x[c].astype(str).astype("category")
    with captured("PRIM (ema-workbench)") as lines:
        p = ema_prim.Prim(x, np.asarray(y, dtype=bool), peel_alpha=peel_alpha)
        box = p.find_box()
    traj = box.peeling_trajectory.copy()
    good = traj[traj["density"] >= threshold_density]
    i = int(good["coverage"].idxmax()) if len(good) else int(traj["density"].idxmax())
    box.select(i)
    lim = box.box_lims[i]
    init = p.box_init
    rows = []
    for c in x.columns:
        lo, hi = lim[c].iloc[0], lim[c].iloc[1]
        ilo, ihi = init[c].iloc[0], init[c].iloc[1]
        if isinstance(lo, set):
            if lo != ilo:
                rows.append(
                    {
                        "parameter": c,
                        "lower": None,
                        "upper": None,
                        "levels": ",".join(sorted(map(str, lo))),
                    }
                )
        elif lo != ilo or hi != ihi:
            rows.append({"parameter": c, "lower": float(lo), "upper": float(hi), "levels": None})
    t = traj.loc[i]
    return {
        "limits": pd.DataFrame(rows, columns=["parameter", "lower", "upper", "levels"]),
        "coverage": float(t["coverage"]),
        "density": float(t["density"]),
        "mass": float(t["mass"]),
        "res_dim": int(t["res_dim"]),
        "trajectory": traj,
        "cases": int(np.sum(y)),
        "n": len(y),
        "warnings": lines,
    }


_OPS = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}


def analyze(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    seed: int | None = None,
    plots: bool = True,
    discovery: bool = True,
) -> AnalysisResult:
    """Compute sensitivity indices and scenario-discovery boxes from a stored sweep.

    Args:
        spec_path: the spec (its name locates the store; it must match the stored spec).
        out: store parent directory (default ``runs``).
        conf_level: confidence level of the bootstrap intervals.
        num_resamples: bootstrap resamples.
        seed: bootstrap seed (default: the spec's seed_root).
        plots: write bar charts (matplotlib, Agg).
        discovery: run the spec's ``[[discovery]]`` PRIM questions.

    Returns:
        :class:`AnalysisResult`.

    Raises:
        SpecError: invalid spec.
        AnalysisError: no store, a store made by another spec, or (for indices) design rows
            without a successful run.
    """
    from .runner import DEFAULT_OUT

    spec, handle, digest = load_spec(spec_path)
    store = RunStore(Path(out or DEFAULT_OUT) / spec.name)
    store.check_folder()
    # the spec and the --out given, for the commands a message suggests
    where = f"{spec_path}" + (f" --out {out}" if out and str(out) != DEFAULT_OUT else "")
    if not store.exists():
        raise AnalysisError(f"no sweep in {store.root}; run `ree sweep run {where}` first")
    if store.stored_hash() != spec.spec_hash(digest):
        raise AnalysisError(
            f"the store {store.root} holds results of a different spec; rerun the sweep "
            "(with --fresh) before analysing"
        )
    seed = spec.seed_root % 2**32 if seed is None else seed
    table = load_table(store)
    ok = table[table["status"] == "ok"]
    missing = [o for o in spec.outcomes if o not in ok.columns]
    if ok.empty:
        raise AnalysisError(
            f"no finished runs in {store.root} to analyse; run `ree sweep run {where}` first"
        )
    if missing:
        raise AnalysisError(
            f"the finished runs in {store.root} lack the outcomes {missing}; "
            "rerun the sweep (with --fresh)"
        )
    adir = store.analysis_dir
    adir.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    notes: list[str] = []
    partial = _partial_warning(table, where)
    warned: list[str] = [partial] if partial else []

    units = outcome_units(handle, list(spec.outcomes))
    punits = parameter_units(spec, handle)
    q = ok[list(spec.outcomes)]
    summary = pd.DataFrame(
        {
            "outcome": list(spec.outcomes),
            "unit": [units[o] for o in spec.outcomes],
            "n_ok": [int(q[o].notna().sum()) for o in spec.outcomes],
            "mean": q.mean().to_numpy(),
            "std": q.std().to_numpy(),
            "min": q.min().to_numpy(),
            "p05": q.quantile(0.05).to_numpy(),
            "median": q.median().to_numpy(),
            "p95": q.quantile(0.95).to_numpy(),
            "max": q.max().to_numpy(),
        }
    )
    _write_csv(summary, adir / "summary.csv", files, index=False)
    means = _design_means(spec, table)
    header = {p.name: _with_unit(p.name, punits[p.name]) for p in spec.parameters}
    header.update({o: _with_unit(o, units[o]) for o in spec.outcomes})
    _write_csv(means.rename(columns=header), adir / "design_means.csv", files)
    effects = None
    if spec.design.method == "factorial" and spec.parameters:
        effects = main_effects(spec, ok, units, punits)
        _write_csv(effects, adir / "main_effects.csv", files, index=False)
        if plots:
            for o in spec.outcomes:
                png = adir / f"main_effects_{_slug(o)}.png"
                _main_effects_chart(effects, o, f"Main effects: {o}", png)
                files.append(str(png))

    oat = None
    if spec.design.method == "oat" and spec.parameters:
        oat = one_at_a_time(spec, means, units, punits)
        _write_csv(oat, adir / "oat.csv", files, index=False)
        if plots:
            for o in spec.outcomes:
                png = adir / f"oat_{_slug(o)}.png"
                _tornado_chart(oat, o, png)
                files.append(str(png))

    method = None
    indices = None
    if spec.design.method in SA_METHODS:
        missing = means[(means["runs_ok"] == 0) | means[list(spec.outcomes)].isna().any(axis=1)]
        if len(missing):
            n_failed = int(
                table.loc[table["design_row"].isin(missing.index), "status"].eq("failed").sum()
            )
            raise AnalysisError(
                f"{SA_METHODS[spec.design.method]} indices need every design row; "
                f"{len(missing)} of {len(means)} rows have no successful run "
                f"({n_failed} failed runs among them). Finish the sweep (`ree sweep run {where}`, "
                "`--retry-failed` for failures) before analysing."
            )
        method, indices, s2, salib_lines = _sensitivity(
            spec, means, conf_level, num_resamples, seed
        )
        warned += salib_lines
        if method == "sobol" and (line := sobol_reliability(spec, indices)):
            warned.append(line)
        written = indices.copy()  # Morris: outcome units per full range; Sobol, FAST: shares
        written.insert(
            1, "unit", [units[o] for o in indices["outcome"]] if method == "morris" else "1"
        )
        _write_csv(written, adir / f"{method}.csv", files, index=False)
        if s2 is not None:
            s2.insert(1, "unit", "1")
            _write_csv(s2, adir / "sobol_s2.csv", files, index=False)
        if plots:
            for o in spec.outcomes:
                d = indices[indices["outcome"] == o]
                png = adir / f"{method}_{_slug(o)}.png"
                if method == "morris":
                    _bar_chart(
                        d, [("mu_star", "mu_star_conf"), ("sigma", None)], f"Morris: {o}", png
                    )
                else:
                    _bar_chart(
                        d,
                        [("S1", "S1_conf"), ("ST", "ST_conf")],
                        f"{method.upper()} indices: {o}",
                        png,
                    )
                files.append(str(png))
    elif spec.design.method not in ("oat", "factorial"):  # those have their own tables
        notes.append(
            f"design {spec.design.method!r}: sensitivity indices need a saltelli, morris or fast "
            "design; wrote summary and design means only"
        )

    results: list[dict[str, Any]] = []
    if discovery and spec.discovery:
        for dsc in spec.discovery:
            if dsc.inputs == "levers":
                cols = [p.name for p in spec.levers]
            elif dsc.inputs == "uncertainties":
                cols = [p.name for p in spec.uncertainties]
            else:
                cols = [p.name for p in spec.parameters]
            if not cols:
                notes.append(f"discovery on {dsc.outcome}: no {dsc.inputs} to search over")
                continue
            data = ok[ok[dsc.outcome].notna()]
            y = _OPS[dsc.condition](data[dsc.outcome].to_numpy(float), dsc.threshold)
            question = f"{dsc.outcome} {dsc.condition} {dsc.threshold:g}"
            if y.all() or not y.any():
                notes.append(
                    f"discovery '{question}': {'all' if y.all() else 'no'} runs qualify; "
                    "nothing to discover"
                )
                results.append(
                    {
                        "question": question,
                        "cases": int(y.sum()),
                        "n": len(y),
                        "limits": pd.DataFrame(),
                    }
                )
                continue
            try:
                box = prim_discovery(
                    data[cols],
                    y,
                    threshold_density=dsc.threshold_density,
                    peel_alpha=dsc.peel_alpha,
                )
            except AnalysisError as exc:
                notes.append(str(exc))
                continue
            box["question"] = question
            warned += [f"{question}: {line}" for line in box["warnings"]]
            p1 = adir / f"prim_{_slug(dsc.outcome)}.csv"
            p2 = adir / f"prim_{_slug(dsc.outcome)}_trajectory.csv"
            lim = box["limits"].copy()
            lim.insert(1, "unit", [punits.get(c, "") for c in lim["parameter"]])
            _write_csv(lim, p1, files, index=False)
            _write_csv(box["trajectory"], p2, files, index=False)  # shares and counts
            results.append(box)
    return AnalysisResult(
        str(store.root), method, indices, summary, results, files, notes, warned, effects, oat
    )
