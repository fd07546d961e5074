"""Sensitivity indices (SALib) and PRIM scenario discovery computed from the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import AnalysisError, analyze, run
from experiments.sweep.cli import sweep_app

LINEAR = """\
name = "linear"
model = "sweep_toy_models:linear_evaluate"
scenario = "toy"
replicates = {replicates}
seed_root = 3
outcomes = ["y"]

[design]
{design}

[[uncertainties]]
name = "parameters.a"

[[uncertainties]]
name = "parameters.b"

[execution]
backend = "sequential"
"""


def _linear(tmp_path, design, replicates=1):
    p = tmp_path / "linear.toml"
    p.write_text(LINEAR.format(design=design, replicates=replicates))
    run(p, tmp_path / "out", progress=False)
    return p


def test_sobol_indices_of_a_linear_model(tmp_path):
    # y = 4a + 2b', a, b' ~ U(0,1): Var = 16/12 + 4/12, S1 = ST = 0.8 and 0.2
    spec = _linear(tmp_path, 'method = "saltelli"\nn = 512', replicates=2)
    r = analyze(spec, tmp_path / "out")
    assert r.method == "sobol"
    idx = r.indices.set_index("parameter")
    assert list(r.indices.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert idx.loc["parameters.a", "S1"] == pytest.approx(0.8, abs=0.05)
    assert idx.loc["parameters.b", "S1"] == pytest.approx(0.2, abs=0.05)
    assert idx.loc["parameters.a", "ST"] == pytest.approx(0.8, abs=0.05)
    assert idx.loc["parameters.b", "ST"] == pytest.approx(0.2, abs=0.05)
    assert (idx["S1_conf"] > 0).all() and (idx["S1_conf"] < 0.1).all()
    files = {f.rsplit("/", 1)[-1] for f in r.files}
    assert {"sobol.csv", "sobol_y.png", "summary.csv", "design_means.csv"} <= files
    back = pd.read_csv(tmp_path / "out" / "linear" / "analysis" / "sobol.csv")
    assert np.allclose(back["S1"], r.indices["S1"])
    assert r.summary.set_index("outcome").loc["y", "n_ok"] == 512 * 4 * 2


def test_morris_mu_star_of_a_linear_model(tmp_path):
    spec = _linear(tmp_path, 'method = "morris"\nn = 12')
    r = analyze(spec, tmp_path / "out")
    idx = r.indices.set_index("parameter")
    # elementary effects per full range: 4 for a, 2 for b (b spans [-1, 1] -> b' in [0, 1])
    assert idx.loc["parameters.a", "mu_star"] == pytest.approx(4.0)
    assert idx.loc["parameters.b", "mu_star"] == pytest.approx(2.0)
    assert idx["sigma"].abs().max() < 1e-9
    assert (tmp_path / "out" / "linear" / "analysis" / "morris_y.png").stat().st_size > 1000


def test_fast_indices_of_a_linear_model(tmp_path):
    spec = _linear(tmp_path, 'method = "fast"\nn = 257')
    r = analyze(spec, tmp_path / "out")
    idx = r.indices.set_index("parameter")
    assert idx.loc["parameters.a", "S1"] == pytest.approx(0.8, abs=0.05)
    assert idx.loc["parameters.b", "S1"] == pytest.approx(0.2, abs=0.05)


def test_indices_refused_when_runs_are_missing(tmp_path):
    p = tmp_path / "linear.toml"
    p.write_text(LINEAR.format(design='method = "saltelli"\nn = 16', replicates=1))
    run(p, tmp_path / "out", max_runs=50, progress=False)
    with pytest.raises(AnalysisError, match=r"14 of 64 rows have no successful run"):
        analyze(p, tmp_path / "out")
    with pytest.raises(AnalysisError, match="no sweep"):
        analyze(p, tmp_path / "elsewhere")


def test_prim_finds_the_lever_that_keeps_losses_near_zero(tmp_path):
    pytest.importorskip("ema_workbench")
    # loss = max(0, 3a - 2 flag): with flag on, loss <= 0.5 for every a <= 0.83
    spec = write_toy_spec(
        tmp_path / "s.toml", replicates=1, design='method = "factorial"\nlevels = 5',
        extra='[[discovery]]\noutcome = "loss"\ncondition = "<="\nthreshold = 0.5\n'
              'inputs = "levers"\n\n[[discovery]]\noutcome = "loss"\ncondition = "<="\n'
              'threshold = 0.5\ninputs = "all"\nthreshold_density = 0.95\n')
    run(spec, tmp_path / "out", progress=False)
    r = analyze(spec, tmp_path / "out", plots=False)
    assert r.method is None and any("sensitivity indices need" in n for n in r.notes)
    levers, all_inputs = r.discovery
    lim = levers["limits"].set_index("parameter")
    assert list(lim.index) == ["levers.flag"] and lim.loc["levers.flag", "levels"] == "True"
    # 5 a-levels x 5 k x 3 modes x 2 flags; flag on & a <= 0.75 (4 of 5 levels) or a <= 0.0
    assert levers["cases"] == (4 * 5 * 3) + (1 * 5 * 3)
    assert levers["coverage"] == pytest.approx(60 / 75)
    assert levers["density"] == pytest.approx(60 / 75)
    lim2 = all_inputs["limits"].set_index("parameter")
    # the box excludes a = 1.0 (PRIM puts the limit between the levels 0.75 and 1.0)
    assert 0.75 <= lim2.loc["parameters.a", "upper"] < 1.0
    assert all_inputs["density"] >= 0.95
    assert (tmp_path / "out" / "toy" / "analysis" / "prim_loss.csv").exists()
    res = CliRunner().invoke(sweep_app, ["analyze", str(spec), "--out", str(tmp_path / "out"),
                                         "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "PRIM" in res.output and "levers.flag in True" in res.output


def test_cli_analyze_prints_indices(tmp_path):
    spec = _linear(tmp_path, 'method = "saltelli"\nn = 64')
    res = CliRunner().invoke(sweep_app, ["analyze", str(spec), "--out", str(tmp_path / "out"),
                                         "--json"])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.output)
    assert doc["method"] == "sobol" and len(doc["indices"]) == 2


def test_analyze_warns_when_results_are_partial(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", model="flaky_evaluate", replicates=1,
                          design='method = "lhs"\nn = 20')
    out = tmp_path / "out"
    s = run(spec, out, progress=False, max_runs=12)
    assert s.failed > 0 and s.ok > 0
    r = analyze(spec, out, plots=False)
    assert r.warnings == [(
        f"results are partial: {s.ok} of 20 runs finished ok, {s.failed} failed, 8 not run yet; "
        f"the tables cover the {s.ok} ok runs only (design rows without one are NaN). Use "
        f"`ree sweep run {spec} --out {out}` to finish and `ree sweep status {spec} --out {out}` "
        "for the errors and `run --retry-failed`")]
    assert r.summary["n_ok"].tolist() == [s.ok] * 3
    res = CliRunner().invoke(sweep_app, ["analyze", str(spec), "--out", str(out), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert f"warning: results are partial: {s.ok} of 20 runs finished ok" in res.output
    # a complete sweep has no warning
    full = write_toy_spec(tmp_path / "full.toml", name="full", replicates=1,
                          design='method = "lhs"\nn = 20')
    run(full, out, progress=False)
    assert analyze(full, out, plots=False).warnings == []
