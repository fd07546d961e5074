"""A new user's reports: capacity.png of `ree run` had no unit a reader could match with the
recorded `capacity` rows (t/yr), and the README's sweep example runs PRIM, which needs an
extra that the README's set-up does not install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from experiments.runs import CAPACITY_UNITS, chart_figures

ROOT = Path(__file__).resolve().parent.parent


def test_capacity_chart_is_in_t_per_year_with_the_unit_on_each_axis():
    rows = [
        {
            "date": pd.Timestamp("2025-01-01"),
            "step": 0,
            "metric": "capacity",
            "good": st,
            "region": "CN",
            "partner": "",
            "value": v,
            "unit": "t/yr",
        }
        for st, v in (("mining", 270_000.0), ("separation", 250_000.0), ("magnets", 300_000.0))
    ]
    figs = chart_figures(pd.DataFrame(rows), "baseline, seed 0")
    axes = figs["capacity.png"].axes
    assert [ax.get_ylabel() for ax in axes] == [
        "t REO/yr (mine output)",
        "t REO/yr (feed)",
        "t/yr of magnets",
    ]
    assert [ax.get_ylabel() for ax in axes] == list(CAPACITY_UNITS.values())
    # the recorded t/yr, not thousands of them, with thousands separators on the ticks
    assert [float(ax.get_lines()[0].get_ydata()[0]) for ax in axes] == [
        270_000.0,
        250_000.0,
        300_000.0,
    ]
    assert axes[0].yaxis.get_major_formatter()(270_000, 0) == "270,000"
    plt.close("all")


def test_readme_sweep_example_names_the_extra_prim_needs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("ema-workbench") for d in extras["analysis"])
    readme = (ROOT / "README.md").read_text()
    sweep = readme[readme.index("ree sweep plan    experiments/sweeps/tariff_licence") :]
    sweep = sweep[: sweep.index("\n## ")]
    assert 'pip install -e ".[analysis]"' in sweep
    spec = (ROOT / "experiments/sweeps/tariff_licence_stockpile.toml").read_text()
    assert re.search(r"^\[\[discovery\]\]", spec, re.M)  # the example does run PRIM


def test_analyze_without_the_analysis_extra_notes_prim_and_writes_the_rest(tmp_path, monkeypatch):
    """What the README promises when ema-workbench is missing (import blocked here)."""
    import builtins

    from sweep_toy_models import write_toy_spec
    from typer.testing import CliRunner

    from experiments.sweep import run
    from experiments.sweep.cli import sweep_app

    real_import = builtins.__import__

    def no_ema(name, *args, **kwargs):
        if name.startswith("ema_workbench"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ema)
    spec = write_toy_spec(
        tmp_path / "s.toml",
        replicates=1,
        design='method = "factorial"\nlevels = 2',
        extra='[[discovery]]\noutcome = "loss"\ncondition = "<="\n'
        'threshold = 0.5\ninputs = "levers"\n',
    )
    run(spec, tmp_path / "out", progress=False)
    res = CliRunner().invoke(
        sweep_app, ["analyze", str(spec), "--out", str(tmp_path / "out"), "--no-plots"]
    )
    assert res.exit_code == 0, res.output
    assert (
        "note: PRIM needs ema-workbench: pip install 'ree-abm[analysis]' (ema-workbench>=3.0)"
    ) in res.stderr
    assert (tmp_path / "out" / "toy" / "analysis" / "summary.csv").exists()
    assert not (tmp_path / "out" / "toy" / "analysis" / "prim_loss.csv").exists()


def test_run_times_in_the_help_the_readme_and_the_sweep_spec_agree():
    # a new user's report: `ree reproduce --help` said --quick takes 6-12 minutes, the README
    # 2-4 (181 s measured); the sweep spec said 27-32 s per run, the README 10 s (5.3 s and
    # 75 s in all measured on 2026-12-06)
    from typer.testing import CliRunner

    from experiments.cli import app

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    res = CliRunner().invoke(app, ["reproduce", "--help"], env={"COLUMNS": "300"})
    help_text = " ".join(res.output.replace("│", " ").split())
    quick = re.search(r"--quick shorter horizons and 5 seeds \(CI; about (\S+) minutes", help_text)
    assert quick is not None and quick.group(1) == "3-4"
    assert "`--quick` (5 seeds, shorter horizons) takes about 3-4 minutes on 2 shared" in readme
    spec = (ROOT / "experiments/sweeps/tariff_licence_stockpile.toml").read_text()
    head = " ".join(ln.lstrip("# ") for ln in spec.splitlines() if ln.startswith("#"))
    per_run, total = re.search(r"mean model time (\S+) s per run, (\S+) s in all", head).groups()
    assert (per_run, total) == ("10", "143")  # session 27 (5.3 and 75.3 on 2026-12-06)
    lo, hi = re.search(
        r"\(about 10 s of model time per run, (\d+)-(\d+) s in all on 2 cores", readme
    ).groups()
    assert int(lo) <= float(total) <= int(hi)
