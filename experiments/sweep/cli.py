"""``ree sweep``: plan, run, inspect and analyse parameter sweeps (typer app ``sweep_app``).

Examples::

    ree sweep plan experiments/sweeps/tariff_licence_stockpile.toml
    ree sweep run experiments/sweeps/tariff_licence_stockpile.toml --workers 2
    ree sweep run SPEC --backend dask --address tcp://10.0.0.5:8786
    ree sweep status SPEC
    ree sweep analyze SPEC
    ree sweep outcomes            # what a spec's `outcomes` may name

Exit codes: 0 success; 1 analysis, backend or store error, or (``run``) the sweep has failed
runs (listed by ``status``; ``run --retry-failed`` reruns them); 2 invalid spec/backend or a store
made by a different spec (use ``--fresh``); 130 interrupted by Ctrl-C, 143 stopped by SIGTERM
(finished runs are kept; rerun to resume).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..cli_errors import OneLineErrors
from ..interrupts import Terminated, sigterm_raises
from ..terminal import err_console, out_console
from . import DEFAULT_OUT


# The runner, store and analysis (pandas, pyarrow, numpy, the model) are imported when a
# command runs, so `ree --help` and `ree sweep --help` start in a fraction of a second.
def _plan(*args, **kwargs):
    from .runner import plan

    return plan(*args, **kwargs)


def _run(*args, **kwargs):
    from .runner import run

    return run(*args, **kwargs)


def _status(*args, **kwargs):
    from .runner import status

    return status(*args, **kwargs)


def _analyze(*args, **kwargs):
    from .analysis import analyze

    return analyze(*args, **kwargs)


sweep_app = typer.Typer(
    name="sweep",
    help="Parameter sweeps, sensitivity analysis and resumable runs (on a local Dask cluster, "
    "a Dask scheduler or in process).",
    no_args_is_help=True,
    add_completion=False,
    cls=OneLineErrors,
)


SpecArg = typer.Argument(
    ..., metavar="SPEC", help="Experiment spec (TOML).", exists=False, dir_okay=False
)
#: metavar of a flag option: no "<bool>" type column in --help (a flag takes no value)
FLAG = ""
OutOpt = typer.Option(DEFAULT_OUT, "--out", "-o", help="Parent directory of the result store.")
JsonOpt = typer.Option(
    False, "--json", metavar=FLAG, help="Print a JSON summary instead of tables."
)


class _WarningLines(logging.Handler):
    """Print the ``ree.sweep`` logger's warnings (SALib's and scipy's samplers, one line each,
    :mod:`experiments.sweep.library_warnings`) as ``warning: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        err_console.print(
            f"[bold yellow]warning:[/] {escape(record.getMessage())}", highlight=False
        )


_sweep_log = logging.getLogger("ree.sweep")
if not any(isinstance(h, _WarningLines) for h in _sweep_log.handlers):
    _sweep_log.addHandler(_WarningLines(logging.WARNING))


def _fail(msg: str, code: int) -> None:
    """One error line, ``ree sweep <command>: error: <msg>``
    (:func:`experiments.cli_errors.error_line`), and exit with ``code``."""
    from ..cli_errors import error_line

    err_console.print(escape(error_line(msg, group="sweep")), highlight=False)
    raise typer.Exit(code)


def _stopped(how: str, code: int) -> None:
    err_console.print(
        f"ree sweep: {how}; finished runs are kept, `ree sweep run` resumes",
        highlight=False,
        markup=False,
    )
    raise typer.Exit(code)


def _guard(fn, *args, **kwargs):
    """Call ``fn`` and turn the errors a user can cause into one line and an exit code; SIGTERM
    and Ctrl-C stop it like an interruption (see :mod:`experiments.interrupts`)."""
    import pyarrow as pa

    from abm.data import DataError

    from .analysis import AnalysisError
    from .backends import SchedulerUnreachable
    from .spec import SpecError
    from .store import SpecChangedError, StoreError

    try:
        with sigterm_raises():
            return fn(*args, **kwargs)
    except Terminated:
        _stopped("stopped by SIGTERM", 143)
    except KeyboardInterrupt:
        _stopped("interrupted (Ctrl-C)", 130)
    except (SpecError, SpecChangedError) as exc:
        _fail(str(exc), 2)
    except DataError as exc:  # a calibration table (REE_DATA_DIR), not the spec, is at fault
        _fail(f"invalid data: {exc}", 2)
    except (AnalysisError, StoreError, SchedulerUnreachable) as exc:
        _fail(str(exc), 1)
    except FileNotFoundError as exc:
        _fail(str(exc), 1)
    except (pa.ArrowInvalid, json.JSONDecodeError) as exc:
        _fail(
            f"the result store is damaged ({type(exc).__name__}: {exc}); delete the damaged "
            "file (runs in other shards are kept and the next `run` redoes the missing "
            "ones) or start again with `run --fresh`",
            1,
        )
    except ImportError as exc:
        _fail(str(exc), 1)
    except (OSError, TimeoutError) as exc:
        _fail(f"backend error: {type(exc).__name__}: {exc}", 1)


def _fmt_s(s: float | None) -> str:
    if s is None or math.isnan(s):
        return "-"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


@sweep_app.command("plan")
def plan_cmd(
    spec: Path = SpecArg,
    out: Path = OutOpt,
    fresh: bool = typer.Option(
        False, "--fresh", metavar=FLAG, help="Discard a store made by a different spec."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Workers for the time estimate."
    ),
    pilot: bool = typer.Option(
        False, "--pilot", metavar=FLAG, help="Time one run in-process for the estimate."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Validate SPEC, compile its design and write spec.json + design.parquet."""
    s = _guard(_plan, spec, out, fresh=fresh, pilot=pilot)
    if as_json:
        out_console.print_json(json.dumps(s.to_dict(), default=str))
        return
    t = Table(title=f"sweep plan: {s.store}", show_header=False)
    t.add_row(
        "design",
        f"{s.method}: {s.design_rows} rows x {s.replicates} replicates = {s.runs} runs"
        + (f" ({s.unique_runs} distinct)" if s.unique_runs != s.runs else ""),
    )
    t.add_row("parameters", ", ".join(s.parameters) or "(none)")
    t.add_row("outcomes", ", ".join(s.outcomes))
    t.add_row("finished", f"{s.finished_ok} ok, {s.failed} failed")
    t.add_row("to run", str(s.to_run))
    t.add_row("spec hash", s.spec_hash[:16])
    if s.mean_run_s is not None:
        from .backends import default_workers

        w = workers or default_workers()
        t.add_row(
            "estimate",
            f"{_fmt_s(s.mean_run_s)} per run; "
            f"~{_fmt_s(s.mean_run_s * s.to_run / w)} on {w} workers",
        )
    out_console.print(t)
    for n in s.notes:
        err_console.print(f"[yellow]note:[/] {escape(n)}")


@sweep_app.command("run")
def run_cmd(
    spec: Path = SpecArg,
    backend: str | None = typer.Option(
        None,
        "--backend",
        "-b",
        help="dask | sequential (default: the spec's, dask: a local cluster).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", help="Worker processes (default: CPU count)."
    ),
    address: str | None = typer.Option(
        None, "--address", help="Address of a running Dask scheduler (tcp://host:8786)."
    ),
    out: Path = OutOpt,
    fresh: bool = typer.Option(
        False,
        "--fresh",
        metavar=FLAG,
        help="Discard a store made by a different spec (and its results).",
    ),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", metavar=FLAG, help="Also rerun runs that failed before."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1, help="Runs per task (default: the spec's, 1)."
    ),
    max_runs: int | None = typer.Option(
        None, "--max-runs", min=0, help="Run at most this many now."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", metavar=FLAG, help="Show a progress bar with an ETA."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Run every unfinished run of SPEC (resumes; a finished sweep runs nothing).

    Exits with 1 when any run of the sweep has failed (after printing the summary)."""
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1, got {workers}", 2)
    s = _guard(
        _run,
        spec,
        out,
        backend=backend,
        workers=workers,
        address=address,
        fresh=fresh,
        retry_failed=retry_failed,
        chunk_size=chunk_size,
        max_runs=max_runs,
        progress=progress,
        console=err_console,
    )
    if as_json:
        out_console.print_json(json.dumps(s.to_dict(), default=str))
    else:
        out_console.print(escape(s.message))
        if s.executed:
            out_console.print(
                f"{s.runs_per_minute:.1f} runs/min; "
                f"mean model time {_fmt_s(s.run_wall_s / s.executed)} per run"
            )
    if s.total_failed:
        where = f"{spec}" + (f" --out {out}" if str(out) != DEFAULT_OUT else "")
        err_console.print(
            f"[bold red]error:[/] {s.total_failed} of {s.planned} runs failed; see the errors with "
            f"`ree sweep status {escape(where)}`, rerun them with `ree sweep run {escape(where)} "
            "--retry-failed`",
            highlight=False,
        )
        raise typer.Exit(1)


@sweep_app.command("status")
def status_cmd(spec: Path = SpecArg, out: Path = OutOpt, as_json: bool = JsonOpt) -> None:
    """Show planned, finished, failed (with the first error of each type) and remaining runs
    of SPEC's store, and the state of the last invocation."""
    s = _guard(_status, spec, out)
    if as_json:
        out_console.print_json(json.dumps(s.to_dict(), default=str))
        return
    t = Table(title=f"sweep status: {s.store}", show_header=False)
    t.add_row("planned", str(s.planned))
    t.add_row("ok", str(s.ok))
    t.add_row(
        "failed",
        str(s.failed)
        + (f" ({', '.join(f'{k}: {v}' for k, v in s.failures.items())})" if s.failures else ""),
    )
    for etype, msg in s.failure_examples.items():
        first = (msg.strip().splitlines() or [""])[0]
        first = first if len(first) <= 300 else first[:297] + "..."
        t.add_row(f"  {escape(etype)}", f"first error: {escape(first)}")
    t.add_row("remaining", str(s.remaining))
    t.add_row("mean run time", _fmt_s(s.mean_run_s))
    t.add_row("spec", "unchanged" if s.spec_matches else "[red]CHANGED since plan (use --fresh)[/]")
    if s.last:
        end = s.last.get("end")
        t.add_row(
            "last invocation",
            f"{s.last.get('command')} {s.last_state}, started "
            f"{s.last.get('start')}" + (f", ended {end}" if end else ""),
        )
    if len(s.code_versions) > 1:
        t.add_row(
            "code versions",
            "[yellow]results come from several commits: "
            + ", ".join(c[:10] for c in s.code_versions)
            + "[/]",
        )
    out_console.print(t)


@sweep_app.command("outcomes")
def outcomes_cmd(
    model: str = typer.Option(
        "abm",
        "--model",
        help='The spec\'s model: "abm" (default) or "package.module:function" '
        '(e.g. "experiments.reproduce:sweep_evaluate" for the reproduction targets).',
    ),
    as_json: bool = JsonOpt,
) -> None:
    """List the outcomes a spec's `outcomes` may name: name, unit, the calendar year the run
    must cover (if any) and what it measures."""
    from experiments.sweep.model import ModelError, resolve_model

    try:
        handle = resolve_model(model)
    except (ModelError, ImportError) as exc:  # a bad --model is bad input: exit 2
        _fail(f"--model: {exc}", 2)
    known = handle.outcomes()
    if known is None:
        _fail(f"model {model!r} declares no outcomes (any name is run as asked)", 2)
    # the abm model's outcomes carry unit and year; another model declares a description
    from abm.outcomes import OUTCOMES

    objects = OUTCOMES if model == "abm" else {}
    rows = []
    for name in sorted(known):
        obj = objects.get(name)
        rows.append(
            {
                "name": name,
                "unit": getattr(obj, "unit", ""),
                "year": getattr(obj, "year", None),
                "description": getattr(obj, "description", None) or str(known[name]),
            }
        )
    if as_json:
        out_console.print_json(json.dumps(rows))
        return
    t = Table(title=f"outcomes of model {model!r} ({len(rows)})")
    for col in ("name", "unit", "year", "description"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            r["name"], r["unit"], "" if r["year"] is None else str(r["year"]), r["description"]
        )
    out_console.print(t)


@sweep_app.command("analyze")
def analyze_cmd(
    spec: Path = SpecArg,
    out: Path = OutOpt,
    conf_level: float = typer.Option(0.95, "--conf-level", min=0.5, max=0.999),
    num_resamples: int = typer.Option(200, "--resamples", min=10),
    plots: bool = typer.Option(True, "--plots/--no-plots", metavar=FLAG, help="Write bar charts."),
    as_json: bool = JsonOpt,
) -> None:
    """Sobol/Morris/FAST indices, factorial main effects and PRIM scenario discovery from
    SPEC's stored results."""
    r = _guard(_analyze, spec, out, conf_level=conf_level, num_resamples=num_resamples, plots=plots)
    for w in r.warnings:
        err_console.print(f"[bold yellow]warning:[/] {escape(w)}", highlight=False)
    if as_json:
        doc = {
            "store": r.store,
            "method": r.method,
            "files": r.files,
            "notes": r.notes,
            "warnings": r.warnings,
            "indices": None if r.indices is None else r.indices.to_dict(orient="records"),
            "main_effects": (
                None if r.main_effects is None else r.main_effects.to_dict(orient="records")
            ),
            "one_at_a_time": (
                None if r.one_at_a_time is None else r.one_at_a_time.to_dict(orient="records")
            ),
            "discovery": [
                {
                    k: (v.to_dict(orient="records") if hasattr(v, "to_dict") else v)
                    for k, v in d.items()
                    if k != "trajectory"
                }
                for d in r.discovery
            ],
        }
        out_console.print_json(json.dumps(doc, default=str))
        return
    if r.indices is not None:
        t = Table(title=f"{r.method} indices")
        for c in r.indices.columns:
            t.add_column(c)
        for row in r.indices.itertuples(index=False):
            t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
        out_console.print(t)
    if r.main_effects is not None:
        t = Table(title="main effects: mean of each outcome at each level of each factor")
        for c in ("factor", "level", "outcome", "unit", "runs", "mean", "effect"):
            t.add_column(c, justify="right" if c in ("runs", "mean", "effect") else "left")
        for row in r.main_effects.itertuples(index=False):
            t.add_row(
                row.factor,
                f"{row.level:g}" if isinstance(row.level, float) else str(row.level),
                row.outcome,
                row.unit,
                str(row.runs),
                f"{row.mean:.4g}",
                f"{row.effect:+.3g}",
            )
        out_console.print(t)
    if r.one_at_a_time is not None:
        t = Table(title="one at a time: the 5 largest swings of each outcome (all in oat.csv)")
        for c in ("outcome", "unit", "parameter", "low", "high", "at low", "at center", "at high"):
            t.add_column(c, justify="left" if c in ("outcome", "unit", "parameter") else "right")
        for _o, g in r.one_at_a_time.groupby("outcome", sort=False):
            for row in g.head(5).itertuples(index=False):
                t.add_row(
                    row.outcome,
                    row.unit,
                    row.parameter,
                    f"{row.low:g}",
                    f"{row.high:g}",
                    f"{row.at_low:.4g}",
                    f"{row.at_center:.4g}",
                    f"{row.at_high:.4g}",
                )
        out_console.print(t)
    for d in r.discovery:
        lim = d.get("limits")
        if lim is None or not len(lim):
            continue
        out_console.print(
            f"[bold]PRIM[/] {d['question']}: box with coverage {d['coverage']:.2f}, density "
            f"{d['density']:.2f}, mass {d['mass']:.2f} ({d['cases']} of {d['n']} runs qualify)"
        )
        for row in lim.itertuples(index=False):
            rng = row.levels if row.levels else f"[{row.lower:g}, {row.upper:g}]"
            out_console.print(f"  {row.parameter} in {rng}")
    for n in r.notes:
        err_console.print(f"[yellow]note:[/] {escape(n)}")
    out_console.print(f"wrote {len(r.files)} file(s) to {Path(r.store) / 'analysis'}")


def main() -> None:  # pragma: no cover - console entry for `python -m experiments.sweep.cli`
    sweep_app()


if __name__ == "__main__":  # pragma: no cover
    main()
