"""Running the variants: one replicate of one variant (:func:`run_task`, the function the
workers call) and many in parallel (:func:`run_variants`, through the sweep's
:func:`experiments.sweep.execute.execute` and a rich progress bar)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from abm.scenario import Scenario
from experiments.reproduce.series import _adaptation_state, series_from_model
from experiments.reproduce.variants import Variant, build_scenario

DEFAULT_SEED_ROOT = 20100921


def _simulate(scenario: Scenario, seed, months: int | None) -> dict:
    from abm.model import RareEarthModel

    t0 = time.perf_counter()
    model = RareEarthModel(scenario, seed=seed, months=months)
    base_check = model.base_year_check()  # the built base-year world, before any step
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
    return {
        "months": model.steps,
        "series": long,
        "wide": wide,
        "base_year_check": base_check,
        "mass_balance": resid / scale,
        "mass_balance_abs": resid,
        "events": ev.to_dict("records"),
        "wall_s": time.perf_counter() - t0,
    }


def run_task(
    variant_name: str, scenario: Scenario, seed_root: int, rep: int, months: int | None
) -> dict:
    """Run one replicate of one variant (the function the executors call).

    Returns:
        ``{"variant", "rep", "status" ("ok"), "months", "series" (long DataFrame: date,
        series, value), "base_year_check" (of the built world, before the first step),
        "mass_balance" (max |residual| / max produced), "mass_balance_abs" (t), "events"
        (investment and capacity events of US magnet makers), "wall_s"}``.

    Raises:
        Exception: whatever the model raises (:func:`run_variants` records it as a failed run).
    """
    from experiments.sweep.seeds import make_seed_sequence

    out = _simulate(scenario, make_seed_sequence(seed_root, (rep,)), months)
    out.pop("wide")
    return {"variant": variant_name, "rep": rep, "status": "ok", **out}


def failed_record(variant_name: str, rep: int, months: int, exc: BaseException) -> dict:
    """The record of a run that raised ``exc``: ``{"variant", "rep", "months" (planned),
    "status": "failed", "error_type", "error", "traceback", "wall_s": nan}`` (the fields of a
    failed sweep run, :func:`experiments.sweep.runner.failure_fields`)."""
    from experiments.sweep.runner import failure_fields

    return {
        "variant": variant_name,
        "rep": rep,
        "months": months,
        **failure_fields(exc),
        "wall_s": float("nan"),
    }


def run_variants(
    tasks: Sequence[tuple[str | Variant, int | None]],
    seeds: int,
    *,
    seed_root: int = DEFAULT_SEED_ROOT,
    workers: int | None = None,
    backend: str = "dask",
    address: str | None = None,
    progress: bool = True,
    on_result: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Run ``(variant, months)`` pairs for replicates ``0..seeds-1`` in parallel.

    A variant is a name from :data:`VARIANTS` or a :class:`Variant`; ``months`` None runs the
    scenario horizon (longer requests are cut to it).

    Tasks are submitted longest first through :func:`experiments.sweep.execute.execute` (the
    sweep's loop: ``backend`` ``dask``, a local cluster of ``workers`` processes or the
    running scheduler at ``address``, or ``sequential``); a progress bar
    (:class:`experiments.terminal.RunProgress`) ticks as runs finish. A run that raises (in
    the model, ``KeyboardInterrupt`` and ``SystemExit`` on a worker included) or kills its
    worker becomes a failed record (:func:`failed_record`) and the other runs go on, as in a
    sweep.

    Returns:
        One record per run (any order): :func:`run_task` outputs (``status`` ``"ok"``) and
        :func:`failed_record` records (``status`` ``"failed"``, with ``error_type`` and
        ``error``).

    Raises:
        SpecError: an unknown or removed ``backend``.
    """
    from experiments.sweep.backends import open_backend
    from experiments.sweep.execute import execute
    from experiments.terminal import RunProgress

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
    with (
        RunProgress(
            total_months, f"reproduce: {len(jobs)} runs", enabled=progress, counts=True
        ) as bar,
        open_backend(backend, workers, address) as be,
    ):
        for (n, name, _sc, rep), res in execute(
            be, run_task, jobs, lambda j: (j[1], j[2], seed_root, j[3], j[0])
        ):
            rec = failed_record(name, rep, n, res) if isinstance(res, BaseException) else res
            results.append(rec)
            ok = rec["status"] == "ok"
            if on_result:
                on_result(rec)
            bar.advance(
                n,
                ok=int(ok),
                failed=int(not ok),
                label=f"reproduce: {len(results)}/{len(jobs)} runs, last "
                f"{rec['variant']} #{rec['rep']}",
            )
    return results
