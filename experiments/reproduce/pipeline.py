"""The whole reproduction in one call (:func:`reproduce`, ``ree reproduce``): run the
variants of a profile, evaluate the targets, write tables, figures, the data, the manifest
and REPORT.md into a staging folder, and publish it atomically."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from experiments.reproduce.history import evaluate_history, history_markdown
from experiments.reproduce.imf_cut import imf_cut_experiment, imf_cut_markdown
from experiments.reproduce.plots import figures
from experiments.reproduce.profiles import PROFILES, Profile
from experiments.reproduce.report import _manifest, _report
from experiments.reproduce.runner import DEFAULT_SEED_ROOT, run_variants
from experiments.reproduce.tables import (
    _decoupling_markdown,
    _markdown,
    _targets_markdown,
    decoupling_table,
    mechanism_table,
    scenario_summary,
)
from experiments.reproduce.targets import evaluate_targets
from experiments.runs import check_output_folder, new_staging_folder, publish_folder

#: Columns of ``tables/failed_runs.csv`` and :attr:`ReproduceResult.failed`.
FAILED_COLUMNS = ("variant", "rep", "months", "error_type", "error")


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
        failed: the runs that failed (columns :data:`FAILED_COLUMNS`; empty when none did);
            the targets that need them are ``n/a``.
    """

    out: Path
    targets: pd.DataFrame
    decoupling: pd.DataFrame
    series: pd.DataFrame
    wall_s: float
    files: list[str]
    failed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FAILED_COLUMNS)))


def reproduce(
    out: str | Path = "results/reproduce",
    *,
    quick: bool = False,
    seeds: int | None = None,
    workers: int | None = None,
    backend: str = "dask",
    address: str | None = None,
    seed_root: int = DEFAULT_SEED_ROOT,
    progress: bool = True,
    profile: Profile | None = None,
    make_figures: bool = True,
) -> ReproduceResult:
    """Run every paper experiment and write figures, tables, REPORT.md and the data.

    Args:
        out: output folder (replaced atomically when everything is written).
        quick: the ``quick`` profile (shorter horizons, 5 seeds) instead of ``full``.
        seeds: replicates per variant (default: the profile's; the issue asks >= 20).
        workers: parallel worker processes (default: available cores).
        backend: ``dask`` (default: a local cluster of ``workers`` processes) or
            ``sequential``.
        address: a running Dask scheduler (``tcp://host:8786``) to use instead of a local
            cluster.
        seed_root: root of the seed sequence.
        progress: show a rich progress bar.
        profile: a custom :class:`Profile` (overrides ``quick``).
        make_figures: write PNG and SVG figures.

    Raises:
        ValueError: an unknown or removed ``backend`` (``--backend 'process' was removed;
            use ...``), or no scheduler answers at ``address``.
        RuntimeError: every run failed (a failed run among others is recorded in
            ``failed``, ``tables/failed_runs.csv`` and REPORT.md, and its targets are ``n/a``).
        OutputError: ``out`` is unusable: a file, the current folder or a parent, or an
            existing folder that is not an earlier reproduction (nothing is deleted).
    """
    from experiments.sweep.spec import backend_problem

    if problem := backend_problem(backend):
        raise ValueError(f"--backend: {problem}")
    if backend == "dask" and address:
        from experiments.sweep.backends import require_scheduler

        require_scheduler(address)  # before anything is written
    t_start = time.perf_counter()
    prof = profile or PROFILES["quick" if quick else "full"]
    n_seeds = int(seeds or prof.seeds)
    out = check_output_folder(out, allowed=None, required=frozenset({"manifest.json", "REPORT.md"}))
    tmp = new_staging_folder(out)  # before the runs: an unwritable --out is refused at once
    files: list[str] = []
    try:
        tasks = list(prof.months.items())
        t_runs = time.perf_counter()
        records = run_variants(
            tasks,
            n_seeds,
            seed_root=seed_root,
            workers=workers,
            backend=backend,
            address=address,
            progress=progress,
        )
        runs_wall = time.perf_counter() - t_runs
        records = sorted(records, key=lambda r: (r["variant"], r["rep"]))  # not completion order
        results = [r for r in records if r["status"] == "ok"]
        failures = [r for r in records if r["status"] != "ok"]
        failed = pd.DataFrame(
            [{k: r[k] for k in FAILED_COLUMNS} for r in failures], columns=list(FAILED_COLUMNS)
        )
        if not results:
            first = failures[0]
            raise RuntimeError(
                f"all {len(failures)} runs failed; the first: {first['variant']} "
                f"replicate {first['rep']}: {first['error_type']}: "
                f"{first['error']}"
            )
        series = pd.concat(
            [r["series"].assign(variant=r["variant"], rep=r["rep"]) for r in results],
            ignore_index=True,
        )[["variant", "rep", "date", "series", "value"]]
        targets = evaluate_targets(results, failed=failures)
        history = evaluate_history(results)
        decoupling = decoupling_table(series)
        mechanisms = mechanism_table(results)
        for sub in ("tables", "figures", "data"):
            (tmp / sub).mkdir()
        series.to_parquet(tmp / "data" / "series.parquet", index=False)
        files.append("data/series.parquet")
        tt = targets.drop(columns=["values"]).copy()
        tt.to_csv(tmp / "tables" / "targets.csv", index=False)
        (tmp / "tables" / "targets.md").write_text(_targets_markdown(targets))
        history.to_csv(tmp / "tables" / "history.csv", index=False)
        (tmp / "tables" / "history.md").write_text(history_markdown(history))
        decoupling.to_csv(tmp / "tables" / "decoupling.csv", index=False)
        (tmp / "tables" / "decoupling.md").write_text(_decoupling_markdown(decoupling))
        if len(failed):
            failed.to_csv(tmp / "tables" / "failed_runs.csv", index=False)
            files.append("tables/failed_runs.csv")
        mechanisms.to_csv(tmp / "tables" / "counterfactuals.csv", index=False)
        (tmp / "tables" / "counterfactuals.md").write_text(_markdown(mechanisms))
        summary = scenario_summary(series)
        summary.to_csv(tmp / "tables" / "scenarios.csv", index=False)
        (tmp / "tables" / "scenarios.md").write_text(_markdown(summary))
        files += [
            f"tables/{n}.{e}"
            for n in ("targets", "history", "decoupling", "counterfactuals", "scenarios")
            for e in ("csv", "md")
        ]
        if make_figures:
            files += [f"figures/{p.name}" for p in figures(series, tmp / "figures")]
        wall = time.perf_counter() - t_start
        resid = max(r["mass_balance"] for r in results)
        manifest = _manifest(
            prof, n_seeds, seed_root, backend, workers, results, wall, runs_wall, failed
        )
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
        report = _report(
            prof, n_seeds, targets, mechanisms, decoupling, manifest, resid, files, failed, history
        )
        if imf_md:
            report += "\n" + imf_md
        (tmp / "REPORT.md").write_text(report)
        files.append("REPORT.md")
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReproduceResult(
        out, targets, decoupling, series, time.perf_counter() - t_start, sorted(files), failed
    )
