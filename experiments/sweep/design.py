"""Compile an experiment spec into a design table (one row per run).

Designs (``design.method``):

=========  ==========================================  ======================
method     source                                      rows (D parameters)
=========  ==========================================  ======================
factorial  ``itertools.product`` of per-parameter      product of level counts
           levels (continuous: ``design.levels``
           evenly spaced points)
oat        one at a time: row 0 holds every            1 + 2D
           parameter at its ``center``; rows 2j+1
           and 2j+2 move parameter j to its low and
           high end (Saltelli et al. 2008, *Global
           Sensitivity Analysis. The Primer*, 1.2.3)
lhs        ``scipy.stats.qmc.LatinHypercube``          n
sobol      ``scipy.stats.qmc.Sobol``                   n (power of 2 advised)
halton     ``scipy.stats.qmc.Halton``                  n
saltelli   ``SALib.sample.sobol`` (Saltelli scheme)    n(D+2), n(2D+2) with
                                                       second order
morris     ``SALib.sample.morris``                     n(D+1)
fast       ``SALib.sample.fast_sampler`` (eFAST)       n*D
=========  ==========================================  ======================

Sampling designs draw unit coordinates ``u`` in [0, 1]^D and map them to values: real
``low + u (high - low)``; integer ``low + floor(u (high - low + 1))`` (clipped); parameters with
``levels`` take ``levels[floor(u k)]`` (clipped). The unit coordinates are kept in the table as
``u:<name>`` columns: SALib's analysers use them (problem bounds are [0, 1]), so Morris
elementary effects are per full parameter range.

Each design row is expanded into ``replicates`` runs with a seed key and a content-hashed run id
(:mod:`experiments.sweep.seeds`). Columns of the returned table, in order: ``run_id`` (str),
``design_row`` (int64), ``rep`` (int64), ``seed_int`` (uint64), one column per parameter
(float64 / int64 / bool / str), one ``u:<name>`` float64 column per parameter.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from .library_warnings import logged
from .seeds import canonical_value, run_id, seed_int, spawn_key
from .spec import ExperimentSpec, Parameter

__all__ = [
    "build_design",
    "center_unit",
    "check_plan_size",
    "expected_rows",
    "factorial_values",
    "salib_problem",
    "unit_sample",
]

UNIT_PREFIX = "u:"


def factorial_values(p: Parameter, n_levels: int) -> list[Any]:
    """Values a parameter takes in a factorial design (levels, or ``n_levels`` even points)."""
    if p.levels is not None:
        return list(p.levels)
    assert p.low is not None and p.high is not None
    if p.kind == "integer":
        lo, hi = int(p.low), int(p.high)
        if hi - lo + 1 <= n_levels:
            return list(range(lo, hi + 1))
        return sorted({int(round(x)) for x in np.linspace(lo, hi, n_levels)})
    return [float(x) for x in np.linspace(float(p.low), float(p.high), n_levels)]


def salib_problem(spec: ExperimentSpec) -> dict[str, Any]:
    """SALib problem dict on unit bounds:
    ``{"num_vars": D, "names": [...], "bounds": [[0,1]]*D}``."""
    names = [p.name for p in spec.parameters]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _factorial_count(p: Parameter, n_levels: int, exact: bool = True) -> int | None:
    """Values ``p`` takes in a factorial design, counted without listing them (the count of
    :func:`factorial_values`). With ``exact=False`` (the parameter not yet completed from the
    model): None when the count depends on the model."""
    if p.levels is not None:
        return len(p.levels)
    if p.low is None or p.high is None:
        return None if not exact else len(factorial_values(p, n_levels))
    if p.type is None and not exact:  # real or integer: the model says; count the fewer
        whole = float(p.low).is_integer() and float(p.high).is_integer()
        return min(n_levels, int(p.high) - int(p.low) + 1) if whole else n_levels
    if p.kind == "integer":
        return min(n_levels, int(p.high) - int(p.low) + 1)
    return n_levels


def expected_rows(spec: ExperimentSpec) -> int:
    """Number of design rows (before replication) the spec's design produces (counted, not
    built: cheap for any size)."""
    d = spec.design
    D = len(spec.parameters)
    if d.method == "factorial":
        return math.prod(_factorial_count(p, d.levels) or 1 for p in spec.parameters)
    if d.method == "oat":
        return 1 + 2 * D
    assert d.n is not None
    if d.method == "saltelli":
        return d.n * (2 * D + 2 if d.second_order else D + 2)
    if d.method == "morris":
        return d.n * (D + 1)
    if d.method == "fast":
        return d.n * D
    return d.n


def check_plan_size(spec: ExperimentSpec, source: str | None = None, exact: bool = True) -> int:
    """Refuse a plan of more than :data:`~experiments.sweep.spec.MAX_RUNS` runs (design rows x
    replicates), counted without building anything.

    With ``exact=False`` (before the parameters are completed from the model) a factorial
    parameter whose number of values depends on the model counts as one value, so the count is
    a lower bound and only plans that are too large whatever the model says are refused.

    Returns:
        the number of runs (a lower bound with ``exact=False``).

    Raises:
        SpecError: naming ``replicates`` and ``design`` with the count and the limit.
    """
    from .spec import MAX_RUNS, SpecError

    d = spec.design
    if d.method == "factorial":
        counts = [_factorial_count(p, d.levels, exact) for p in spec.parameters]
        rows, known = math.prod(c or 1 for c in counts), all(c is not None for c in counts)
    else:
        rows, known = expected_rows(spec), True
    runs = rows * spec.replicates
    if runs > MAX_RUNS:
        size = f"{rows:,} design rows" if known else f"at least {rows:,} design rows"
        total = f"{runs:,}" if known else f"at least {runs:,}"
        why = (
            f"the plan has {size} ({d.method}) x {spec.replicates:,} replicates = {total} "
            f"runs, more than the limit of {MAX_RUNS:,} runs per sweep; lower replicates or "
            "the design size (design.n, design.levels, levels), or split the study into "
            "several specs"
        )
        raise SpecError([("replicates", why)], source)
    return runs


def center_unit(p: Parameter) -> float:
    """Unit coordinate that :func:`build_design` maps back to ``p.center`` (``oat`` designs):
    ``(center - low) / (high - low)`` for a real parameter, the middle of the center's cell
    for an integer or a parameter with levels.

    Raises:
        ValueError: ``p.center`` is not set (the spec was not checked against the model).
    """
    if p.center is None:
        raise ValueError(f"{p.name}: no center for the oat design (check the spec first)")
    if p.levels is not None:
        return (p.levels.index(p.center) + 0.5) / len(p.levels)
    lo, hi = float(p.low), float(p.high)  # type: ignore[arg-type]
    if p.kind == "integer":
        return (float(p.center) - lo + 0.5) / (hi - lo + 1)
    return (float(p.center) - lo) / (hi - lo)


def _design_seed(spec: ExperimentSpec) -> int:
    return spec.design.seed if spec.design.seed is not None else spec.seed_root % 2**32


def unit_sample(spec: ExperimentSpec) -> np.ndarray:
    """Unit coordinates of the design rows, shape (rows, D), values in [0, 1].

    The samplers' warnings (a Sobol' sample whose size is not a power of two, an odd number
    of Morris levels) are logged as one line each on the ``ree.sweep`` logger
    (:func:`experiments.sweep.library_warnings.logged`); ``ree sweep`` prints them.

    Raises:
        ValueError: the design method is unknown (allowed: see ``DESIGN_METHODS``).
    """
    d = spec.design
    D = len(spec.parameters)
    seed = _design_seed(spec)
    if d.method == "factorial":
        axes = []
        for p in spec.parameters:
            k = len(factorial_values(p, d.levels))
            axes.append([i / (k - 1) if k > 1 else 0.0 for i in range(k)])
        rows = list(itertools.product(*axes)) if axes else [()]
        return np.asarray(rows, dtype=float).reshape(len(rows), D)
    if d.method == "oat":
        U = np.tile([center_unit(p) for p in spec.parameters], (1 + 2 * D, 1)).reshape(1 + 2 * D, D)
        for j in range(D):
            U[2 * j + 1, j], U[2 * j + 2, j] = 0.0, 1.0
        return U
    from scipy.stats import qmc

    n = int(d.n or 0)
    if d.method == "lhs":
        return qmc.LatinHypercube(d=D, scramble=d.scramble, rng=np.random.default_rng(seed)).random(
            n
        )
    if d.method in ("sobol", "halton"):
        cls = qmc.Sobol if d.method == "sobol" else qmc.Halton
        eng = cls(d=D, scramble=d.scramble, rng=np.random.default_rng(seed))
        with logged(f"design {d.method} (scipy.stats.qmc)"):  # n not a power of 2, etc.
            return eng.random(n)
    problem = salib_problem(spec)
    if d.method == "saltelli":
        from SALib.sample import sobol as salib_sobol

        with logged("design saltelli (SALib sobol.sample)"):
            return salib_sobol.sample(
                problem, n, calc_second_order=d.second_order, scramble=d.scramble, seed=seed
            )
    if d.method == "morris":
        from SALib.sample import morris as salib_morris

        with logged("design morris (SALib morris.sample)"):
            return salib_morris.sample(problem, n, num_levels=d.num_levels, seed=seed)
    if d.method == "fast":
        from SALib.sample import fast_sampler

        with logged("design fast (SALib fast_sampler.sample)"):
            return fast_sampler.sample(problem, n, M=d.M, seed=seed)
    raise ValueError(f"design.method: unknown {d.method!r}")


def _map_column(p: Parameter, u: np.ndarray, method: str, n_levels: int) -> np.ndarray | list:
    if method == "factorial":
        vals = factorial_values(p, n_levels)
        k = len(vals)
        idx = np.rint(u * (k - 1)).astype(int) if k > 1 else np.zeros(len(u), int)
        out = [vals[i] for i in idx]
    elif p.levels is not None:
        k = len(p.levels)
        idx = np.minimum(np.floor(u * k).astype(int), k - 1)
        out = [p.levels[i] for i in idx]
    elif p.kind == "integer":
        lo, hi = int(p.low), int(p.high)  # type: ignore[arg-type]
        return lo + np.minimum(np.floor(u * (hi - lo + 1)).astype(np.int64), hi - lo)
    else:
        lo, hi = float(p.low), float(p.high)  # type: ignore[arg-type]
        return lo + u * (hi - lo)
    return out


def _column_dtype(p: Parameter, values: list | np.ndarray) -> Any:
    if p.kind == "integer" or (
        p.levels is not None
        and all(isinstance(v, int) and not isinstance(v, bool) for v in p.levels)
    ):
        return "int64"
    if p.kind == "bool" or (p.levels is not None and all(isinstance(v, bool) for v in p.levels)):
        return "bool"
    if p.levels is not None and all(isinstance(v, str) for v in p.levels):
        return "str"
    return "float64"


def build_design(spec: ExperimentSpec, scenario_digest: str | None) -> pd.DataFrame:
    """Build the run table for ``spec`` (rows = design rows x replicates).

    Args:
        spec: a validated (and model-checked) spec.
        scenario_digest: the base scenario's content digest, part of every run id.

    Returns:
        DataFrame with the columns described in the module docstring, ordered by
        (design_row, rep).
    """
    U = unit_sample(spec)
    params = spec.parameters
    n_rows = U.shape[0]
    cols: dict[str, Any] = {}
    for j, p in enumerate(params):
        vals = _map_column(p, U[:, j], spec.design.method, spec.design.levels)
        if spec.design.method == "oat":  # the center exactly, not low + u (high - low)
            vals = [
                p.center if u == center_unit(p) else v for u, v in zip(U[:, j], vals, strict=True)
            ]
        dtype = _column_dtype(p, vals)
        if dtype == "str":
            cols[p.name] = np.asarray([str(v) for v in vals], dtype=object)
        else:
            cols[p.name] = np.asarray(vals).astype(dtype)
    constants = {k: canonical_value(v) for k, v in spec.constants.items()}
    records = []
    for r in range(n_rows):
        row_params = {p.name: canonical_value(cols[p.name][r]) for p in params}
        overrides = {**constants, **row_params}
        for rep in range(spec.replicates):
            key = spawn_key(spec.seed_scheme, r, rep)
            rid = run_id(
                model=spec.model,
                scenario_digest=scenario_digest,
                months=spec.months,
                outcomes=spec.outcomes,
                keep_timeseries=spec.keep_timeseries,
                overrides=overrides,
                seed_root=spec.seed_root,
                key=key,
            )
            records.append((rid, r, rep, seed_int(spec.seed_root, key)))
    df = pd.DataFrame(
        {
            "run_id": pd.array([x[0] for x in records], dtype=object),
            "design_row": np.array([x[1] for x in records], dtype=np.int64),
            "rep": np.array([x[2] for x in records], dtype=np.int64),
            "seed_int": np.array([x[3] for x in records], dtype=np.uint64),
        }
    )
    take = df["design_row"].to_numpy()
    extra = {p.name: cols[p.name][take] for p in params}  # one concat: many parameters
    extra.update({UNIT_PREFIX + p.name: U[take, j].astype(float) for j, p in enumerate(params)})
    return pd.concat([df, pd.DataFrame(extra, index=df.index)], axis=1) if extra else df
