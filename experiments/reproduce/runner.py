"""Running the variants: one replicate of one variant (:func:`run_task`, the function the
executors call) and many in parallel (:func:`run_variants`, the sweep framework's executors
with a bounded in-flight window and a rich progress bar)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait

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
        from experiments.terminal import err_console
        bar = Progress(TextColumn("[bold]reproduce[/bold] {task.description}"), BarColumn(),
                       MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                       console=err_console)
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
