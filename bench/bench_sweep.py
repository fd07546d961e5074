"""Benchmark the sweep runner: runs per minute, parallel efficiency, per-run overhead,
driver memory.

A sweep of ``--runs`` replicates of the default scenario (no parameter varies; every run has its
own seed) is run on the Dask backend (a local cluster) with 1 and 2 workers, each configuration in a
fresh driver subprocess so that its peak RSS (``ru_maxrss``) is the driver's alone (the
cluster's workers are separate processes and are not counted). A sequential pass of
``--baseline-runs`` runs gives the pure model time per run.

Reported per configuration:

* ``runs_per_min``: executed runs / wall time of ``sweep.run`` (including backend start-up,
  design, store writes) x 60;
* ``efficiency``: runs_per_min(2 workers) / (2 x runs_per_min(1 worker)) on the same backend;
* ``overhead_ms_per_run``: (wall x workers - sum of model wall times) / runs, i.e. worker-slot
  time not spent inside the model (start-up amortised, scheduling, serialisation, idle tail);
* ``driver_peak_mb``: peak resident memory of the driver process.

Usage::

    python bench/bench_sweep.py                      # abm baseline, 200 runs
    python bench/bench_sweep.py --months 24 --runs 200 --json bench/results/sweep.json
    # harness check:
    python bench/bench_sweep.py --model sweep_toy_models:slow_evaluate --scenario toy
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SPEC = """\
name = "bench"
model = "{model}"
scenario = "{scenario}"
{months}
replicates = {runs}
seed_root = 20260101
outcomes = {outcomes}

[design]
method = "factorial"
"""


def _write_spec(path: Path, args: argparse.Namespace) -> Path:
    outcomes = args.outcomes
    if not outcomes:
        if args.model == "abm":
            from abm.outcomes import OUTCOMES

            outcomes = list(OUTCOMES)
        else:
            from experiments.sweep.model import resolve_model

            outcomes = list(resolve_model(args.model).outcomes() or [])
    path.write_text(
        SPEC.format(
            model=args.model,
            scenario=args.scenario,
            runs=args.runs,
            months=f"months = {args.months}" if args.months else "",
            outcomes=json.dumps(outcomes),
        )
    )
    return path


def _one(spec: str, out: str, backend: str, workers: int, max_runs: int | None) -> dict:
    """Run one configuration in this (fresh) process and return its figures."""
    from experiments.sweep import RunStore, run

    t0 = time.perf_counter()
    s = run(
        spec, out, backend=backend, workers=workers, fresh=True, progress=False, max_runs=max_runs
    )
    wall = time.perf_counter() - t0
    df = RunStore(Path(out) / "bench").read_results(columns=["status", "wall_s"])
    model_s = float(df["wall_s"].sum())
    n = s.executed
    return {
        "backend": backend,
        "workers": workers,
        "runs": n,
        "ok": s.ok,
        "failed": s.failed,
        "wall_s": wall,
        "runs_per_min": 60.0 * n / wall,
        "model_s_per_run": model_s / n,
        "overhead_ms_per_run": 1000.0 * (wall * workers - model_s) / n,
        "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="abm")
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--months", type=int, default=None, help="horizon (default: scenario's)")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--baseline-runs", type=int, default=10)
    ap.add_argument("--outcomes", nargs="*", default=None)
    ap.add_argument("--backends", nargs="*", default=["dask"])
    ap.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument(
        "--one",
        nargs=5,
        metavar=("SPEC", "OUT", "BACKEND", "WORKERS", "MAXRUNS"),
        help=argparse.SUPPRESS,
    )
    args = ap.parse_args()
    if args.one:
        spec, out, backend, workers, max_runs = args.one
        mr = int(max_runs) if int(max_runs) > 0 else None
        print(json.dumps(_one(spec, out, backend, int(workers), mr)))
        return

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(REPO / "tests")]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        spec = _write_spec(Path(tmp) / "bench.toml", args)

        def sub(backend: str, workers: int, max_runs: int = 0) -> dict:
            r = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(spec),
                    str(Path(tmp) / f"out-{backend}-{workers}"),
                    backend,
                    str(workers),
                    str(max_runs),
                ],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if r.returncode != 0:
                raise SystemExit(f"{backend} x{workers} failed:\n{r.stdout}\n{r.stderr}")
            return json.loads(r.stdout.strip().splitlines()[-1])

        base = sub("sequential", 1, args.baseline_runs)
        print(
            f"model time per run (sequential, {base['runs']} runs): "
            f"{base['model_s_per_run'] * 1000:.1f} ms; "
            f"sequential rate {base['runs_per_min']:.1f} runs/min",
            flush=True,
        )
        for backend in args.backends:
            for w in args.workers:
                r = sub(backend, w)
                rows.append(r)
                print(
                    f"{backend:8s} x{w}: {r['runs']} runs in {r['wall_s']:.1f} s = "
                    f"{r['runs_per_min']:.1f} runs/min; "
                    f"overhead {r['overhead_ms_per_run']:.1f} ms/run; "
                    f"driver peak {r['driver_peak_mb']:.0f} MB",
                    flush=True,
                )
    by = {(r["backend"], r["workers"]): r for r in rows}
    for r in rows:
        one = by.get((r["backend"], 1))
        r["efficiency"] = (
            (r["runs_per_min"] / (r["workers"] * one["runs_per_min"])) if one else None
        )
    print()
    print(
        "| backend | workers | runs | wall s | runs/min | efficiency | overhead ms/run "
        "| driver peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        eff = f"{r['efficiency']:.2f}" if r["efficiency"] is not None else "-"
        print(
            f"| {r['backend']} | {r['workers']} | {r['runs']} | {r['wall_s']:.1f} | "
            f"{r['runs_per_min']:.1f} | {eff} | {r['overhead_ms_per_run']:.1f} | "
            f"{r['driver_peak_mb']:.0f} |"
        )
    print(
        f"\nmodel time per run: {base['model_s_per_run'] * 1000:.1f} ms "
        f"(sequential driver peak {base['driver_peak_mb']:.0f} MB); cores: {os.cpu_count()}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "baseline": base,
                    "rows": rows,
                    "args": {
                        k: (str(v) if isinstance(v, Path) else v)
                        for k, v in vars(args).items()
                        if k != "one"
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
