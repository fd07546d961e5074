"""The ``ree`` command line: ``ree run``, ``ree scenarios``, ``ree sweep ...``, ``ree app``.

The model, pandas and the sweep machinery are imported inside the commands, so ``ree --help``
and ``ree sweep plan`` do not pay for what they do not use.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from experiments.interrupts import Terminated, sigterm_raises

app = typer.Typer(help="Agent-based model of the rare-earth supply chain under export "
                       "controls and tariffs.", no_args_is_help=True, add_completion=False)
console = Console()

def _stopped(how: str, code: int) -> None:
    """One line after Ctrl-C (130) or SIGTERM (143): the staging folder is already removed."""
    print(f"ree: {how}; the partial output was removed and --out is as it was",
          file=sys.stderr, flush=True)
    raise typer.Exit(code)


try:  # the sweep sub-commands (experiments/sweep) when present
    from experiments.sweep.cli import sweep_app
    app.add_typer(sweep_app, name="sweep")
except ImportError:  # pragma: no cover
    pass


@app.command()
def run(scenario: str = typer.Option("controls-2025", "--scenario", "-s",
                                     help="shipped scenario name or path to a .toml file"),
        seed: int = typer.Option(0, "--seed", min=0, help="random seed (>= 0)"),
        months: int = typer.Option(None, "--months",
                                   help="months to simulate, 1 to the scenario horizon "
                                        "(default: the horizon)"),
        out: Path = typer.Option(Path("results/run"), "--out", help="output folder"),
        charts: bool = typer.Option(True, "--charts/--no-charts", help="write PNG charts")):
    """Run one scenario (default controls-2025, 2024-01 to 2035-12) and write its outputs."""
    from abm.scenario import ScenarioError
    from experiments.runs import OutputError, accounts_lines, run_to_folder

    try:
        with sigterm_raises():
            model, summ = run_to_folder(scenario, out, seed=seed, months=months,
                                        make_charts=charts)
    except Terminated:
        _stopped("stopped by SIGTERM", 143)
    except KeyboardInterrupt:
        _stopped("interrupted (Ctrl-C)", 130)
    except ScenarioError as exc:
        console.print(f"[red]Invalid scenario:[/red]\n{escape(str(exc))}")
        raise typer.Exit(2) from None
    except (OutputError, ValueError) as exc:
        console.print(f"[red]Error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    tab = Table(title=f"{model.spec.name}, seed {seed}, {model.steps} months "
                      f"({model.spec.start} to {model.start + model.steps - 1})")
    tab.add_column("series")
    for c in ("first", "peak", "min", "last"):
        tab.add_column(c, justify="right")
    for key, v in summ.items():
        if isinstance(v, dict) and "peak" in v:
            tab.add_row(key, *(f"{v[c]:,.1f}" for c in ("first", "peak", "min", "last")))
    tab.caption = ("outside China: mean over the other regions weighted by base-year NdPr oxide "
                   "use (recorded series price_outside_china_weighted); OEM: civil magnet users")
    console.print(tab)
    lo = summ["lost_output_usd"]
    console.print(f"Lost output, cumulative over the run: OEM {lo['oem'] / 1e9:,.2f} bn USD, "
                  f"defense {lo['defense'] / 1e9:,.2f} bn USD")
    for line in accounts_lines(summ):
        console.print(line)
    if "china_content_12m_last" in summ:
        cc = summ["china_content_12m_last"]
        n = min(12, model.steps)
        span = "the last month" if n == 1 else f"the last {n} months"
        console.print(f"China-origin share of magnet supply (mass-weighted over {span}): "
                      + ", ".join(f"{r} {cc[r]:.0%}" for r in ("US", "EU", "JP", "KR") if r in cc))
    if "capacity_built_outside_china_t_yr" in summ:
        cap = summ["capacity_built_outside_china_t_yr"]
        console.print("Net capacity change outside China (t/yr; new plants less exits): "
                      + ", ".join(f"{k} {v:,.0f}" for k, v in cap.items()))
    console.print(f"Wrote {out}/ (timeseries.parquet, manifest.json, events.csv, "
                  f"summary.json{', charts' if charts else ''})")
    console.print("[yellow]Note: the dynamic calibration is work in progress (see README "
                  "Status); compare seeds and scenarios before drawing conclusions.[/yellow]")


@app.command()
def scenarios():
    """List the shipped scenarios."""
    from abm.scenario import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        sc = load_scenario(name)
        console.print(f"[bold]{name}[/bold] ({sc.start} to {sc.end}, base year {sc.base_year}, "
                      f"{len(sc.measures)} measures)")


@app.command()
def reproduce(quick: bool = typer.Option(
                  False, "--quick",
                  help="shorter horizons and 5 seeds (CI; 1-2.5 minutes on 2 cores)"),
              seeds: int = typer.Option(None, "--seeds", min=1,
                                        help="seeds per experiment (default 20; --quick 5)"),
              out: Path = typer.Option(Path("results/reproduce"), "--out", help="output folder"),
              workers: int = typer.Option(None, "--workers", min=1,
                                          help="worker processes (default: available cores)"),
              backend: str = typer.Option("process", "--backend",
                                          help="process, sequential, dask or ray"),
              strict: bool = typer.Option(False, "--strict",
                                          help="exit with code 1 when any target fails")):
    """Run every paper experiment (episodes, counterfactuals, decoupling study) and write
    figures, tables and REPORT.md with each target's PASS or FAIL."""
    from abm.scenario import ScenarioError
    from experiments.reproduce import reproduce as run_all

    try:
        with sigterm_raises():
            res = run_all(out, quick=quick, seeds=seeds, workers=workers, backend=backend)
    except Terminated:
        _stopped("stopped by SIGTERM", 143)
    except KeyboardInterrupt:
        _stopped("interrupted (Ctrl-C)", 130)
    except (RuntimeError, ScenarioError, ValueError, ImportError) as exc:
        console.print(f"[red]reproduce failed:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    tab = Table(title=f"Targets ({'quick' if quick else 'full'} profile, "
                      f"{res.series['rep'].nunique()} seeds, {res.wall_s:.0f} s)")
    for c in ("target", "median", "5-95%", "tolerance", "result"):
        tab.add_column(c, justify="left" if c == "target" else "right")
    for _, r in res.targets.iterrows():
        colour = {"PASS": "green", "FAIL": "red"}.get(r["status"], "yellow")
        tab.add_row(r["id"], f"{r['median']:.3g}", f"{r['p5']:.3g}-{r['p95']:.3g}",
                    f"{r['lo']:.3g}-{r['hi']:.3g}", f"[{colour}]{r['status']}[/{colour}]")
    console.print(tab)
    console.print(f"Wrote {out}/ (REPORT.md, tables/, figures/, data/series.parquet, "
                  "manifest.json)")
    failed = res.targets.loc[res.targets["status"] != "PASS", "id"].tolist()
    if strict and failed:
        console.print(f"--strict: {len(failed)} target(s) not passed: {', '.join(failed)}")
        raise typer.Exit(1)


@app.command("app")
def app_cmd(port: int = typer.Option(8765, min=1, max=65535, help="port (1-65535)"),
            host: str = typer.Option("127.0.0.1", help="bind address")):
    """Start the browser UI (Solara) on 127.0.0.1."""
    root = Path(__file__).resolve().parent.parent / "app.py"
    if not root.exists():
        console.print("[red]app.py is not available in this installation[/red]")
        raise typer.Exit(2)
    try:  # a clear message before Solara starts, rather than its bind traceback
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        console.print(f"[red]Error:[/red] cannot listen on {escape(host)}:{port} "
                      f"({escape(exc.strerror or str(exc))}); try another --port or --host")
        raise typer.Exit(2) from None
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    # replace this process by the server, so stopping `ree app` (any signal) stops Solara
    os.execve(sys.executable, [sys.executable, "-m", "solara", "run", str(root),
                               "--host", host, "--port", str(port), "--production"], env)


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
