"""`ree run` end to end and its handling of bad input."""

import json

import pandas as pd
from typer.testing import CliRunner

from experiments.cli import app

runner = CliRunner()


def test_ree_run_writes_outputs(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "--scenario", "controls-2025", "--months", "16",
                              "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["step"].max() == 15
    man = json.loads((out / "manifest.json").read_text())
    assert man["scenario"] == "controls-2025" and man["seed"] == 1 and len(man["scenario_hash"]) == 64
    assert (out / "prices.png").stat().st_size > 1000
    assert "NdPr price" in res.output


def test_bad_scenario_file_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ncolour = "red"\n')
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--scenario", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "unknown key 'colour'" in res.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]
