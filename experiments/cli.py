"""The ``ree`` command line: ``ree run``, ``ree scenarios``, ``ree sweep ...``, ``ree app``.

The model, pandas and the sweep machinery are imported inside the commands, so ``ree --help``
and ``ree sweep plan`` do not pay for what they do not use.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from experiments.cli_errors import OneLineErrors, command_path, error_line
from experiments.interrupts import Terminated, sigterm_raises
from experiments.labels import months_text, number_text
from experiments.terminal import RunProgress, err_console, out_console

app = typer.Typer(
    help="Agent-based model of the rare-earth supply chain under export controls and tariffs.",
    no_args_is_help=True,
    add_completion=False,
    cls=OneLineErrors,
)
console = out_console
#: metavar of a flag option: no "<bool>" type column in --help (a flag takes no value)
FLAG = ""


def use_data_folder(folder: Path | list[Path] | None) -> None:
    """Point the model at a folder of replacement calibration tables (``--data``): set
    ``REE_DATA_DIR`` (inherited by worker processes) and validate every table now, before
    any work; exit 2 with one line naming the file and field on a bad table, or the
    folders when ``--data`` is given more than once (only one folder replaces tables)."""
    from abm.data import DATA_ENV, DataError, check_tables

    if isinstance(folder, (list, tuple)):
        if len(folder) > 1:
            fail(
                f"--data is given {len(folder)} times ({', '.join(map(str, folder))}); give "
                "one folder: put every replacement table in it",
                what="invalid data",
            )
        folder = folder[0] if folder else None

    if folder is None:  # REE_DATA_DIR, if set, is checked now: one line, before any work
        try:
            from abm.data import override_dir

            if override_dir() is not None:
                check_tables()
        except DataError as exc:
            fail(str(exc), what="invalid data")
        return
    if not Path(folder).expanduser().is_dir():  # named as the user gave it, not REE_DATA_DIR
        fail(
            f"--data {folder}: not a folder; give a folder of calibration tables (CSV files "
            "named as in abm/data)",
            what="invalid data",
        )
    if not any(Path(folder).expanduser().glob("*.csv")):  # a mistake, not a run to make
        fail(
            f"--data {folder}: holds no CSV file, so no table would be replaced; give a "
            "folder of calibration tables (CSV files named as in abm/data), or leave out "
            "--data",
            what="invalid data",
        )
    os.environ[DATA_ENV] = str(Path(folder).expanduser().resolve())
    try:
        check_tables()
    except DataError as exc:
        fail(str(exc), what="invalid data")


def warn_inert_levers(scenario: str, overrides: dict) -> None:
    """One warning line on stderr per lever set that cannot act in ``scenario`` (a
    licence lever in a scenario without export licences; a truce length without a truce
    start; new users' reports)."""
    if not any(k.startswith("levers.") for k in overrides):
        return
    from experiments.inputs import scenario_with_overrides

    sc = scenario_with_overrides(scenario, overrides)
    for name in sc.inert_levers():
        why = (
            "levers.truce_start is not set, so no truce starts"
            if name == "truce_months"
            else f"scenario {sc.name} has no export-licence measure"
        )
        err_console.print(
            f"[yellow]Warning:[/yellow] levers.{name} has no effect: {why}", highlight=False
        )


def fail(message: str, code: int = 2, what: str = "") -> NoReturn:
    """Print one error line to stderr, ``<command>: error: [<what>: ]<message>``
    (:func:`experiments.cli_errors.error_line`, the form of the usage errors), and exit with
    ``code``."""
    err_console.print(escape(error_line(message, what)), highlight=False)
    raise typer.Exit(code)


def _stopped(how: str, code: int) -> None:
    """One line after Ctrl-C (130) or SIGTERM (143), naming the command as the errors do
    (``ree run: interrupted (Ctrl-C); ...``): the staging folder is already removed."""
    print(
        f"{command_path()}: {how}; the partial output was removed and --out is as it was",
        file=sys.stderr,
        flush=True,
    )
    raise typer.Exit(code)


try:  # the sweep sub-commands (experiments/sweep) when present
    from experiments.sweep.cli import sweep_app

    app.add_typer(sweep_app, name="sweep")
except ImportError:  # pragma: no cover
    pass


def _version(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            v = metadata.version("ree-abm")
        except metadata.PackageNotFoundError:  # pragma: no cover - source tree, not installed
            v = "unknown (not installed)"
        console.print(f"ree-abm {v}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        metavar=FLAG,
        callback=_version,
        is_eager=True,
        help="print the package version and exit",
    ),
):
    """Agent-based model of the rare-earth supply chain under export controls and tariffs."""


def parse_sets(items: list[str] | None) -> dict:
    """``--set KEY=VALUE`` items as overrides (dotted path -> value).

    VALUE is read as a TOML value (``0.1``, ``true``, ``["Dy", "Tb"]``, ``"2025-06"``); text
    that is not TOML (``2025-06``) is taken as a string. The scenario validates the keys and
    values (:func:`abm.scenario.apply_overrides`).

    Raises:
        typer.BadParameter: an item without ``=`` or a key given twice.
    """
    import tomllib

    out: dict = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if sep and key and not text.strip():
            kind = _set_value_kind(key)
            allowed = f" (allowed: {kind[1]})" if kind is not None else ""
            raise typer.BadParameter(f"{key}= has no value{allowed}", param_hint="--set")
        if not sep or not key:
            raise typer.BadParameter(
                f"{item!r}: write --set KEY=VALUE, e.g. --set levers.approval_rate_us=0.1",
                param_hint="--set",
            )
        if key in out:
            raise typer.BadParameter(f"{key} is set twice", param_hint="--set")
        try:
            out[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError as exc:
            out[key] = text.strip()
            kind = _set_value_kind(key)
            if kind is not None:  # a bare word for a number or a boolean: not "quoted"
                raise typer.BadParameter(
                    f"{key}={text.strip()}: {text.strip()!r} is not {kind[0]} (allowed: {kind[1]})",
                    param_hint="--set",
                ) from exc
    return out


def _set_value_kind(key: str) -> tuple[str, str] | None:
    """For a ``--set`` key whose value must be a number or a boolean: (what it must be,
    the allowed values, e.g. ``("a number", "a number from 0.0 to 1.0")``); None for other
    keys (text such as ``end`` or ``levers.start``, or an unknown key, which
    :func:`abm.scenario.apply_overrides` names)."""
    from abm.scenario import Scenario, parameter_space

    info = parameter_space().get(key)
    if key == "firms":
        bounds = {
            type(m).__name__: getattr(m, "ge", getattr(m, "le", None))
            for m in Scenario.model_fields["firms"].metadata
        }
        info = {"type": "integer", "low": bounds.get("Ge"), "high": bounds.get("Le")}
    if info is None:
        return None
    if info["type"] == "bool":
        return "true or false", "true or false"
    what = "an integer" if info["type"] == "integer" else "a number"
    lo, hi = info.get("low"), info.get("high")
    allowed = (
        f"{what} from {lo} to {hi}"
        if lo is not None and hi is not None
        else f"{what} >= {lo}"
        if lo is not None
        else f"{what} <= {hi}"
        if hi is not None
        else what
    )
    return ("a whole number" if what == "an integer" else "a number"), allowed


#: Largest seed: seeds are written as 64-bit integers to the run manifest and the Parquet
#: results (as a sweep's ``seed_root``, experiments.sweep.spec).
SEED_MAX = 2**63 - 1
#: Most runs one ``--seeds`` may ask for: checked before the list is built, so a typo such
#: as ``0-99999999999`` is one line, not an exhausted memory.
SEEDS_MAX_COUNT = 100_000


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: a count (``3`` -> 0, 1, 2), a list (``0,1,5``), ranges (``0-9``) or both
    (``0-4,10``); each seed an integer from 0 to :data:`SEED_MAX`, none twice, at most
    :data:`SEEDS_MAX_COUNT` in all.

    Raises:
        typer.BadParameter: anything else (one line with the accepted forms).
    """
    forms = "a count (3 = seeds 0,1,2), a list (0,1,5) or a range (0-9)"
    parts = [t.strip() for t in text.split(",")]

    def too_many(n: int) -> typer.BadParameter:
        return typer.BadParameter(
            f"{text!r}: {n:,} runs; at most {SEEDS_MAX_COUNT:,} seeds at once (split the job)",
            param_hint="--seeds",
        )

    try:
        if len(parts) == 1 and parts[0].isdigit():
            n = int(parts[0])
            if n < 1:
                raise typer.BadParameter(
                    f"{text!r}: a count of seeds must be at least 1; give {forms}",
                    param_hint="--seeds",
                )
            if n > SEEDS_MAX_COUNT:
                raise too_many(n)
            return list(range(n))
        spans: list[tuple[int, int]] = []
        for t in parts:
            lo, dash, hi = t.partition("-")
            if not lo.isdigit() or (dash and not hi.isdigit()):
                raise ValueError
            a, b = int(lo), int(hi) if dash else int(lo)
            if b < a:
                raise typer.BadParameter(
                    f"{text!r}: the range {t} runs backwards; write it {hi}-{lo}",
                    param_hint="--seeds",
                )
            if b > SEED_MAX:
                raise typer.BadParameter(
                    f"{text!r}: seed {b} is above the largest seed, 2**63 - 1 = {SEED_MAX}",
                    param_hint="--seeds",
                )
            spans.append((a, b))
        n = sum(b - a + 1 for a, b in spans)
        if n > SEEDS_MAX_COUNT:
            raise too_many(n)
        seeds = [s for a, b in spans for s in range(a, b + 1)]
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give {forms}", param_hint="--seeds") from None
    if len(set(seeds)) != len(seeds):
        raise typer.BadParameter(f"{text!r}: a seed is given twice", param_hint="--seeds")
    return seeds


@app.command(context_settings={"allow_extra_args": True})
def run(
    ctx: typer.Context,
    scenario_arg: str = typer.Argument(
        None,
        metavar="SCENARIO",
        show_default=False,
        help="shipped scenario name or path to a .toml file (default controls-2025)",
    ),
    scenario: str = typer.Option(None, "--scenario", "-s", help="the same as SCENARIO"),
    sets: list[str] = typer.Option(
        None,
        "--set",
        metavar="KEY=VALUE",
        help="override one value (repeatable): a "
        "levers.* or parameters.* key, end, firms, or a field of a measure with an id, "
        "measures.<id>.<field>, e.g. levers.start=2025-06 or end=2030-12 "
        "(keys: docs/ODD.md sections 6 and 8; measure ids: the scenario's file)",
    ),
    seed: int = typer.Option(
        None, "--seed", min=0, max=SEED_MAX, help="random seed (0 to 2**63 - 1; default 0)"
    ),
    seeds: str = typer.Option(
        None,
        "--seeds",
        help="several seeds, each to OUT/seed-N: a count (3 = seeds "
        "0,1,2), a list (0,1,5) or a range (0-9)",
    ),
    months: int = typer.Option(
        None,
        "--months",
        help="months to simulate, 1 to the scenario horizon (default: the horizon)",
    ),
    out: Path = typer.Option(Path("results/run"), "--out", help="output folder"),
    charts: bool = typer.Option(
        True, "--charts/--no-charts", metavar=FLAG, help="write PNG charts"
    ),
    data: list[Path] = typer.Option(
        None,
        "--data",
        metavar="DIR",
        help="folder of replacement calibration tables (CSV files "
        "named as in abm/data; the others stay the shipped "
        "ones); sets REE_DATA_DIR",
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        min=1,
        help="--seeds: seeds run at once on a local Dask cluster (default: CPUs; 1 runs "
        "them one after the other in this process)",
    ),
):
    """Run one scenario (default controls-2025, 2024-01 to 2035-12) and write its outputs;
    --set changes one value, --seeds runs several seeds in parallel."""
    from abm.scenario import ScenarioError
    from experiments.runs import (
        OutputError,
        accounts_lines,
        check_not_ensemble_member,
        run_to_folder,
    )

    try:
        if ctx.args:
            extra = " ".join(ctx.args)
            if seeds is not None and all(a.isdigit() for a in ctx.args):
                raise typer.BadParameter(
                    f"{seeds + ' ' + extra!r}: --seeds takes one value; write the seeds with "
                    f"commas, e.g. --seeds {','.join([seeds, *ctx.args])}, or a range "
                    "(0-9) or a count (3 = seeds 0,1,2)",
                    param_hint="--seeds",
                )
            # the parser's own wording, as before extra arguments reached the command
            fail(f"got unexpected extra argument(s) ({extra}); see 'ree run --help'")
        if scenario_arg and scenario and scenario_arg != scenario:
            raise typer.BadParameter(
                f"SCENARIO {scenario_arg!r} and --scenario {scenario!r} differ; give one",
                param_hint="SCENARIO",
            )
        scenario = scenario_arg or scenario or "controls-2025"
        overrides = parse_sets(sets)
        if seeds is not None and seed is not None:
            raise typer.BadParameter("give --seed or --seeds, not both", param_hint="--seeds")
        seed_list = parse_seeds(seeds) if seeds is not None else None
    except typer.BadParameter as exc:
        msg = exc.format_message()
        fail(msg[:1].lower() + msg[1:])  # "invalid value for --set: ..."
    use_data_folder(data)
    seed = 0 if seed is None else seed
    try:
        with sigterm_raises():
            if seed_list is None:
                check_not_ensemble_member(out)  # before any work
            warn_inert_levers(scenario, overrides)
            if seed_list is not None:
                _run_seeds(scenario, seed_list, overrides, months, out, charts, workers)
                return
            model, summ = run_to_folder(
                scenario,
                out,
                seed=seed,
                months=months,
                overrides=overrides,
                make_charts=charts,
                note=_note,
            )
    except Terminated:
        _stopped("stopped by SIGTERM", 143)
    except KeyboardInterrupt:
        _stopped("interrupted (Ctrl-C)", 130)
    except ScenarioError as exc:
        fail(str(exc), what="invalid scenario")
    except (OutputError, ValueError, RuntimeError) as exc:
        fail(str(exc))
    tab = Table(
        title=f"{model.spec.name}, seed {seed}, {months_text(model.steps)} "
        f"({model.spec.start} to {model.start + model.steps - 1})"
    )
    tab.add_column("series")
    for c in ("first", "peak", "peak month", "min", "last"):
        tab.add_column(c, justify="right")
    for key, v in summ.items():
        if isinstance(v, dict) and "peak" in v:
            tab.add_row(
                key,
                f"{v['first']:,.1f}",
                f"{v['peak']:,.1f}",
                v.get("peak_month") or "-",  # "-": zero throughout, no peak
                *(f"{v[c]:,.1f}" for c in ("min", "last")),
            )
    tab.caption = (
        "outside China: mean over the other regions weighted by base-year NdPr oxide "
        "use (recorded series price_outside_china_weighted); OEM: civil magnet users"
    )
    console.print(tab)
    lo = summ["lost_output_usd"]
    console.print(
        f"Lost output, cumulative over the run: OEM {lo['oem'] / 1e9:,.2f} bn USD, "
        f"defense {lo['defense'] / 1e9:,.2f} bn USD"
    )
    for line in accounts_lines(summ, model.spec):
        console.print(line)
    if "china_content_12m_last" in summ:
        cc = summ["china_content_12m_last"]
        n = min(12, model.steps)
        span = "the last month" if n == 1 else f"the last {n} months"
        console.print(
            f"China-origin share of magnet supply (mass-weighted over {span}): "
            + ", ".join(f"{r} {cc[r]:.0%}" for r in ("US", "EU", "JP", "KR") if r in cc)
        )
    if "capacity_built_outside_china_t_yr" in summ:
        cap = summ["capacity_built_outside_china_t_yr"]
        console.print(
            "Net capacity change outside China (t/yr; new plants less exits): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in cap.items())
        )
    console.print(
        f"Wrote {out}/ (timeseries.parquet, manifest.json, events.csv, "
        f"summary.json{', charts' if charts else ''})"
    )
    console.print(
        "[yellow]Note: the dynamic calibration is work in progress (see README "
        "Status); compare seeds and scenarios before drawing conclusions.[/yellow]"
    )


def _note(line: str) -> None:
    """One note line on stderr, naming the command (``ree run: note: ...``)."""
    err_console.print(escape(f"{command_path()}: {line}"), highlight=False)


#: Column heads of the per-seed table of ``ree run --seeds``, with units.
SEED_TABLE_COLUMNS = (
    "seed",
    "NdPr China peak (USD/kg)",
    "NdPr outside China peak (USD/kg)",
    "OEM lost output (bn USD, cumulative)",
    "defense lost output (bn USD, cumulative)",
    "folder",
)


#: Formats of the four numbers of the per-seed table (per seed, median and band alike).
SEED_TABLE_FORMATS = ("{:,.1f}", "{:,.1f}", "{:,.2f}", "{:,.2f}")


def seed_band_rows(cols: list[list[float]]) -> list[list[str]]:
    """The ensemble's answer under the per-seed table of ``ree run --seeds``: the median and
    the 5-95% band over the seeds of each of its four numbers (``cols``: one list of
    [NdPr China peak, NdPr outside China peak, OEM and defense lost output in bn USD] per
    seed), as printed: ``[["median", ...], ["5-95%", "lo-hi", ...]]``. Linear quantiles,
    as the bands of ``ensemble.parquet`` (:func:`experiments.runs.ensemble_table`)."""
    import numpy as np

    vals = np.asarray(cols, dtype=float)
    med = np.nanmedian(vals, axis=0)
    p5, p95 = np.nanquantile(vals, [0.05, 0.95], axis=0)
    fmt = SEED_TABLE_FORMATS
    return [
        ["median", *(f.format(v) for f, v in zip(fmt, med, strict=True))],
        ["5-95%", *(f"{f.format(a)}-{f.format(b)}" for f, a, b in zip(fmt, p5, p95, strict=True))],
    ]


def _check_ensemble_folder(out: Path, seeds: list[int]) -> Path:
    """The resolved ``--out`` of ``ree run --seeds`` if it can be written: a new or empty
    folder, or the output of an earlier ``ree run --seeds`` of the same seeds (only
    ``seed-N`` folders of ours, ``ensemble.parquet`` and its inventory).

    Raises:
        OutputError: one line naming the folder and what it holds.
    """
    from experiments.runs import INVENTORY, OutputError, check_output_folder, resolve_out

    shown = out
    out = resolve_out(out, "results/ens")
    if (out / "manifest.json").is_file():
        raise OutputError(
            f"--out {shown} holds a single run's output; give another folder for "
            "--seeds (each seed is written to OUT/seed-N)"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {shown} exists and is not a folder")
    folders = {s: out / f"seed-{s}" for s in seeds}
    if out.is_dir():
        # a --seeds folder holds only seed-N folders: files of yours are refused (as for a
        # single run), and so are seed-N folders of an earlier, larger ensemble, which
        # would otherwise sit beside the new runs as if they belonged to them
        names = sorted(q.name for q in out.iterdir())
        strange = [
            n
            for n in names
            if not re.fullmatch(r"seed-\d+", n) and n not in ("ensemble.parquet", INVENTORY)
        ]
        if strange:
            raise OutputError(
                f"--out {shown} exists and is not an earlier output of ree run "
                f"--seeds (it holds: {', '.join(strange[:8])}"
                f"{' and more' if len(strange) > 8 else ''}); choose a new "
                "folder or move those files"
            )
        ours = {f.name for f in folders.values()} | {"ensemble.parquet", INVENTORY}
        stale = [n for n in names if n not in ours]
        if stale:
            raise OutputError(
                f"--out {shown} holds {', '.join(stale[:8])} of an earlier "
                f"ensemble, not in --seeds {','.join(map(str, seeds))}; include "
                "those seeds, remove those folders or choose a new folder"
            )
    for folder in folders.values():
        check_output_folder(folder)
    return out


def _run_seeds(
    scenario: str,
    seeds: list[int],
    overrides: dict,
    months: int | None,
    out: Path,
    charts: bool,
    workers: int | None = None,
) -> None:
    """``ree run --seeds``: one run per seed into ``out/seed-N``, in parallel on a local Dask
    cluster (``workers`` processes, default the CPUs; 1: one after the other in this
    process), under one progress bar (months of all runs); then one summary line per seed
    and ``out/ensemble.parquet``, the median and 5-95% band over seeds of every series
    (:func:`experiments.runs.ensemble_table`). The scenario, ``--set``, ``--months`` and
    every output folder are checked before the first run.

    Everything is written into one hidden staging folder beside ``out``
    (:func:`experiments.runs.new_staging_folder`) and published as ``out`` only when every
    seed and ``ensemble.parquet`` are written (:func:`experiments.runs.publish_folder`): a
    failed seed, Ctrl-C or SIGTERM stops the workers, removes the staging folder and leaves
    ``out`` as it was (an earlier ensemble there is kept whole).

    Raises:
        OutputError: ``out`` cannot hold the ensemble (before any run).
        RuntimeError: a seed failed (naming it; nothing written).
    """
    from abm.data import check_tables
    from abm.model import check_months
    from experiments.inputs import scenario_with_overrides
    from experiments.runs import (
        ensemble_table,
        new_staging_folder,
        publish_folder,
        remove_folder,
        remove_stale_beside,
        remove_stale_staging,
        run_to_folder,
    )

    sc = scenario_with_overrides(scenario, overrides)
    n = check_months(sc, months, minimum=1, name="--months")
    check_tables()
    # what a killed earlier run left: beside --out (an ensemble being published) and inside
    # it (the per-seed staging folders of versions that wrote the seeds in place)
    whole = Path(out).expanduser().resolve()
    cleaned = remove_stale_staging(whole) + (remove_stale_beside(whole) if whole.is_dir() else [])
    target = _check_ensemble_folder(out, seeds)
    folders = {s: out / f"seed-{s}" for s in seeds}  # as the user gave --out, for the table
    tab = Table(title=f"{sc.name}, {len(seeds)} seed{'s' * (len(seeds) != 1)}, {months_text(n)}")
    for c in SEED_TABLE_COLUMNS:
        tab.add_column(c, justify="left" if c == "folder" else "right")
    summaries = {}
    procs = min(workers or os.cpu_count() or 1, len(seeds))
    stage = new_staging_folder(target, note=_note, cleaned=cleaned)
    staged = {s: stage / f"seed-{s}" for s in seeds}
    try:
        with RunProgress(n * len(seeds), sc.name) as bar:
            if procs <= 1:
                for i, s in enumerate(seeds):
                    bar.advance(0, label=f"{sc.name} seed {s} ({i + 1}/{len(seeds)})")
                    _model, summaries[s] = run_to_folder(
                        scenario,
                        staged[s],
                        seed=s,
                        months=months,
                        overrides=overrides,
                        progress=False,
                        make_charts=charts,
                        on_step=lambda _m: bar.advance(1),
                    )
            else:
                summaries = _seeds_on_dask(
                    scenario, staged, months, n, overrides, charts, procs, bar
                )
        with console.status(
            f"Building the ensemble table (median and 5-95% band of every series over "
            f"{len(seeds)} seeds)..."
        ):
            ens = ensemble_table(staged)
            ens.to_parquet(stage / "ensemble.parquet", index=False)
        publish_folder(stage, target)
    except BaseException:
        # the workers are stopped (_seeds_on_dask closes its cluster first): nothing writes
        # into the staging folder any more
        remove_folder(stage)
        raise
    cols = []  # per seed: the four numbers of the table
    for s in seeds:
        summ = summaries[s]
        peaks = [
            summ.get(k, {}).get("peak", float("nan"))
            for k in ("NdPr price China (USD/kg)", "NdPr price outside China (USD/kg)")
        ]
        lo = summ["lost_output_usd"]
        cols.append([peaks[0], peaks[1], lo["oem"] / 1e9, lo["defense"] / 1e9])
        cells = (f.format(v) for f, v in zip(SEED_TABLE_FORMATS, cols[-1], strict=True))
        tab.add_row(str(s), *cells, str(folders[s]))
    if len(seeds) > 1:
        tab.add_section()
        for row in seed_band_rows(cols):
            tab.add_row(*row, "")
    console.print(tab)
    console.print(
        f"Wrote {len(seeds)} run{'s' * (len(seeds) != 1)} under {out}/ (seed-N/timeseries.parquet, "
        f"manifest.json, events.csv, summary.json{', charts' if charts else ''}) and "
        f"{out}/ensemble.parquet ("
        + (
            "median and 5-95% band over the seeds of every series)"
            if len(seeds) > 1
            else "the one seed's series; a band needs several seeds)"
        )
    )


def _seeds_on_dask(scenario, folders, months, n, overrides, charts, procs, bar) -> dict:
    """Run the seeds of ``ree run --seeds`` on a local Dask cluster of ``procs`` worker
    processes (:func:`experiments.sweep.execute.execute`); the bar advances by a run's ``n``
    months as it finishes. Raises ``RuntimeError`` naming the first seed that failed. On
    any exit but success (a failed seed, Ctrl-C, SIGTERM) the runs in flight are cancelled
    and the cluster is closed before this returns, so no worker writes any more."""
    from abm.data import DATA_ENV
    from experiments.runs import seed_task
    from experiments.sweep.backends import open_backend
    from experiments.sweep.execute import execute

    data_dir = os.environ.get(DATA_ENV) or None
    out: dict = {}
    be = open_backend("dask", procs)
    done = False
    try:
        for s, res in execute(
            be,
            seed_task,
            list(folders),
            lambda s: (scenario, str(folders[s]), s, months, overrides, charts, data_dir),
        ):
            if isinstance(res, BaseException):
                raise RuntimeError(f"seed {s} failed: {type(res).__name__}: {res}")
            out[s] = res
            bar.advance(n, label=f"seed {s} done ({len(out)}/{len(folders)})")
        done = True
    finally:
        be.close(cancel=not done)
    return out


def target_rows(targets) -> list[tuple[str, ...]]:
    """The rows of ``ree reproduce``'s terminal table: ``(id, median, 5-95% band, tolerance,
    unit, status)``, each number in its target's own format (``Target.fmt``, as REPORT.md;
    a median that would print as a tolerance edge it misses gets more digits,
    :func:`~experiments.reproduce.tables.median_text`), bands as ``lo - hi``; ``n/a`` where a
    value is not defined.

    Args:
        targets: the targets table of :func:`experiments.reproduce.reproduce` (``id``,
            ``median``, ``p5``, ``p95``, ``lo``, ``hi``, ``unit``, ``status``).
    """
    from experiments.reproduce.tables import _fmt, median_text
    from experiments.reproduce.targets import TARGETS

    fmts = {t.id: t.fmt for t in TARGETS}
    rows = []
    for _, r in targets.iterrows():
        f = fmts.get(r["id"], "{:.2f}")
        rows.append(
            (
                str(r["id"]),
                median_text(r["median"], r["lo"], r["hi"], f),
                f"{_fmt(r['p5'], f)} - {_fmt(r['p95'], f)}",
                f"{_fmt(r['lo'], f)} - {_fmt(r['hi'], f)}",
                str(r["unit"]),
                str(r["status"]),
            )
        )
    return rows


def run_period(m: dict) -> str:
    """A run's period from its ``manifest.json``: ``2024-01 to 2035-12 (144 months)``, or
    ``144 months`` when the manifest lacks its first or last month."""
    months = months_text(m.get("months", "?"))
    if m.get("start") and m.get("end"):
        return f"{m['start']} to {m['end']} ({months})"
    return months


def horizon_warning(ma: dict, mb: dict) -> str | None:
    """The warning ``ree compare`` prints before its table when the two runs cover different
    periods (first month, last month or number of months differ, from their
    ``manifest.json``), naming both periods and the rows that compare different months:
    the "last month" and "last 12 months" values when the last months differ, the
    cumulative sums and net capacity changes when the first months or lengths differ, and
    the peaks and worst 12 months always. None when both cover the same period."""
    keys = ("months", "start", "end")
    if all(ma.get(k) == mb.get(k) for k in keys):
        return None
    rows = []
    known = all(m.get("end") for m in (ma, mb))
    if ma.get("end") != mb.get("end") if known else ma.get("months") != mb.get("months"):
        rows.append("'last month' and 'last 12 months' values")
    if ma.get("start") != mb.get("start") or ma.get("months") != mb.get("months"):
        rows.append("'cumulative' sums and net capacity changes")
    rows.append("peaks and worst 12 months")
    return (
        f"the runs cover different periods, RUN_A {run_period(ma)} and RUN_B "
        f"{run_period(mb)}; these rows compare different months: {', '.join(rows)} (for a "
        "like-for-like comparison give runs of the same scenario period and --months)"
    )


@app.command()
def compare(
    run_a: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_A",
            show_default=False,
            help="a ree run output folder (a --seeds folder: the median over its seeds)",
        ),
    ],
    run_b: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_B", show_default=False, help="another ree run output folder (likewise)"
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="folder for comparison.csv, comparison.png and comparison.json"),
    ] = Path("results/compare"),
):
    """Compare two ree run outputs: print each outcome of both runs and the difference
    (B - A), write comparison.csv (with units) and an overlay chart of the key series. A
    ree run --seeds folder counts as the median over its seeds."""
    from experiments.compare import RunFolderError, compare_to_folder
    from experiments.runs import OutputError

    try:
        table, a, b = compare_to_folder(run_a, run_b, out)
    except (RunFolderError, OutputError) as exc:
        fail(str(exc))
    if (w := horizon_warning(a.manifest, b.manifest)) is not None:  # before the table
        err_console.print(f"[bold yellow]warning:[/] {escape(w)}", highlight=False)
    tab = Table(
        title=f"A: {a.label}, {run_period(a.manifest)}\nB: {b.label}, {run_period(b.manifest)}"
    )
    for c in ("outcome", "unit", "A", "B", "B - A", "change"):
        tab.add_column(c, justify="left" if c in ("outcome", "unit") else "right")
    zero = (table["run_a"] == 0) & (table["run_b"] == 0)
    for _, r in table[~zero].iterrows():
        if r["unit"] == "share":  # a share's change in percentage points
            pct = "-" if math.isnan(r["change_pp"]) else f"{r['change_pp']:+.1f} pp"
        else:
            pct = "-" if math.isnan(r["change_pct"]) else f"{r['change_pct']:+.1f}%"
        tab.add_row(
            r["outcome"],
            r["unit"],
            number_text(r["run_a"]),
            number_text(r["run_b"]),
            number_text(r["difference"]),
            pct,
        )
    tab.caption = "change = (B - A) / |A|; for shares, B - A in percentage points (pp)"
    if zero.any():
        tab.caption = (
            f"{int(zero.sum())} outcomes are zero in both runs and not shown "
            f"(they are in comparison.csv); {tab.caption}"
        )
    console.print(tab)
    console.print(f"Wrote {out}/ (comparison.csv, comparison.png, comparison.json)")


#: The end of a sentence: ".", "!" or "?" then space and a capital letter, not after "e.g."
#: or "i.e.".
_SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s+(?=[A-Z])")


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, whitespace collapsed (``""`` for an empty text)."""
    return _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]


@app.command()
def scenarios():
    """List the shipped scenarios: name, period, base year, number of measures and the first
    sentence of each one's description."""
    from abm.scenario import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        sc = load_scenario(name)
        console.print(
            f"[bold]{name}[/bold] ({sc.start} to {sc.end}, base year {sc.base_year}, "
            f"{len(sc.measures)} measures)"
        )
        if about := first_sentence(sc.description):
            console.print(Text("  " + about))  # one line: the terminal wraps it


@app.command()
def reproduce(
    quick: bool = typer.Option(
        False,
        "--quick",
        metavar=FLAG,
        help="shorter horizons and 5 seeds (CI; about 3-4 minutes on 2 shared cores)",
    ),
    seeds: int = typer.Option(
        None,
        "--seeds",
        min=1,
        max=SEEDS_MAX_COUNT,
        help="seeds per experiment (default 20; --quick 5)",
    ),
    out: Path = typer.Option(Path("results/reproduce"), "--out", help="output folder"),
    workers: int = typer.Option(
        None, "--workers", min=1, help="worker processes (default: available cores)"
    ),
    backend: str = typer.Option(
        "dask", "--backend", help="dask (a local cluster of --workers processes) or sequential"
    ),
    address: str = typer.Option(
        None,
        "--address",
        help="a running Dask scheduler (tcp://host:8786) instead of a local cluster",
    ),
    strict: bool = typer.Option(
        False, "--strict", metavar=FLAG, help="exit with code 1 when any target fails"
    ),
    data: list[Path] = typer.Option(
        None,
        "--data",
        metavar="DIR",
        help="folder of replacement calibration tables (sets REE_DATA_DIR)",
    ),
):
    """Run every paper experiment (episodes, counterfactuals, decoupling study) and write
    figures, tables and REPORT.md with each target's PASS or FAIL. A run that fails is
    listed (tables/failed_runs.csv) and the targets that need it are n/a; the exit code is
    then 1."""
    from abm.scenario import ScenarioError
    from experiments.reproduce import reproduce as run_all

    use_data_folder(data)

    try:
        with sigterm_raises():
            res = run_all(
                out, quick=quick, seeds=seeds, workers=workers, backend=backend, address=address
            )
    except Terminated:
        _stopped("stopped by SIGTERM", 143)
    except KeyboardInterrupt:
        _stopped("interrupted (Ctrl-C)", 130)
    except (RuntimeError, ScenarioError, ValueError, ImportError) as exc:
        fail(str(exc))
    tab = Table(
        title=f"Targets ({'quick' if quick else 'full'} profile, "
        f"{res.series['rep'].nunique()} seeds, {res.wall_s:.0f} s)"
    )
    for c in ("target", "median", "5-95%", "tolerance", "unit", "result"):
        tab.add_column(c, justify="right" if c in ("median", "5-95%", "tolerance") else "left")
    for row in target_rows(res.targets):
        colour = {"PASS": "green", "FAIL": "red"}.get(row[-1], "yellow")
        tab.add_row(*row[:-1], f"[{colour}]{row[-1]}[/{colour}]")
    console.print(tab)
    for _, r in res.targets[res.targets["censored"] > 0].iterrows():
        console.print(
            f"{r['id']}: peak censored in {int(r['censored'])} of {r['n']} replicates (the "
            "price is higher within 12 months after the window; FAIL when most are)"
        )
    console.print(
        f"Wrote {out}/ (REPORT.md, tables/, figures/, data/series.parquet, manifest.json)"
    )
    failed = res.targets.loc[res.targets["status"] != "PASS", "id"].tolist()
    if len(res.failed):
        runs = "; ".join(
            f"{r.variant} replicate {r.rep} ({r.error_type}: "
            f"{(str(r.error).splitlines() or [''])[0][:200]})"
            for r in res.failed.itertuples()
        )
        lost = res.targets.loc[res.targets["note"] != "", "id"].tolist()
        fail(
            f"{len(res.failed)} run(s) failed: {runs}; targets n/a because of them: "
            f"{', '.join(lost) or 'none'}; see {out}/tables/failed_runs.csv",
            1,
        )
    if strict and failed:
        console.print(f"--strict: {len(failed)} target(s) not passed: {', '.join(failed)}")
        raise typer.Exit(1)


@app.command("app")
def app_cmd(
    port: int = typer.Option(8765, min=1, max=65535, help="port (1-65535)"),
    host: str = typer.Option("127.0.0.1", help="bind address"),
):
    """Start the browser UI (Solara) on 127.0.0.1."""
    root = Path(__file__).resolve().parent.parent / "app.py"
    if not root.exists():
        fail("app.py is not available in this installation")
    try:  # a clear message before Solara starts, rather than its bind traceback
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        fail(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port or --host"
        )
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    # replace this process by the server, so stopping `ree app` (any signal) stops Solara
    os.execve(
        sys.executable,
        [
            sys.executable,
            "-m",
            "solara",
            "run",
            str(root),
            "--host",
            host,
            "--port",
            str(port),
            "--production",
        ],
        env,
    )


def main():  # pragma: no cover
    app(prog_name="ree")


if __name__ == "__main__":  # pragma: no cover
    # ``python -m experiments.cli``: messages still name the program ``ree``
    app(prog_name="ree")
