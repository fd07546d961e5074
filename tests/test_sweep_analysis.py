"""Sensitivity indices (SALib) and PRIM scenario discovery computed from the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_toy_models import LINEAR_SPEC, write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import AnalysisError, analyze, run
from experiments.sweep.cli import sweep_app

LINEAR = LINEAR_SPEC


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
        tmp_path / "s.toml",
        replicates=1,
        design='method = "factorial"\nlevels = 5',
        extra='[[discovery]]\noutcome = "loss"\ncondition = "<="\nthreshold = 0.5\n'
        'inputs = "levers"\n\n[[discovery]]\noutcome = "loss"\ncondition = "<="\n'
        'threshold = 0.5\ninputs = "all"\nthreshold_density = 0.95\n',
    )
    run(spec, tmp_path / "out", progress=False)
    r = analyze(spec, tmp_path / "out", plots=False)
    # a factorial design gets main effects, not a note that it has no indices
    assert r.method is None and not any("sensitivity indices need" in n for n in r.notes)
    assert r.main_effects is not None
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
    res = CliRunner().invoke(
        sweep_app, ["analyze", str(spec), "--out", str(tmp_path / "out"), "--no-plots"]
    )
    assert res.exit_code == 0, res.output
    assert "PRIM" in res.output and "levers.flag in True" in res.output


def test_cli_analyze_prints_indices(tmp_path):
    spec = _linear(tmp_path, 'method = "saltelli"\nn = 64')
    res = CliRunner().invoke(
        sweep_app, ["analyze", str(spec), "--out", str(tmp_path / "out"), "--json"]
    )
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.output)
    assert doc["method"] == "sobol" and len(doc["indices"]) == 2


def test_analyze_warns_when_results_are_partial(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml", model="flaky_evaluate", replicates=1, design='method = "lhs"\nn = 20'
    )
    out = tmp_path / "out"
    s = run(spec, out, progress=False, max_runs=12)
    assert s.failed > 0 and s.ok > 0
    r = analyze(spec, out, plots=False)
    assert r.warnings == [
        (
            f"results are partial: {s.ok} of 20 runs finished ok, {s.failed} failed, 8 not run yet; "
            f"the tables cover the {s.ok} ok runs only (design rows without one are NaN). Use "
            f"`ree sweep run {spec} --out {out}` to finish and `ree sweep status {spec} --out {out}` "
            "for the errors and `run --retry-failed`"
        )
    ]
    assert r.summary["n_ok"].tolist() == [s.ok] * 3
    res = CliRunner().invoke(sweep_app, ["analyze", str(spec), "--out", str(out), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert f"warning: results are partial: {s.ok} of 20 runs finished ok" in res.output
    # a complete sweep has no warning
    full = write_toy_spec(
        tmp_path / "full.toml", name="full", replicates=1, design='method = "lhs"\nn = 20'
    )
    run(full, out, progress=False)
    assert analyze(full, out, plots=False).warnings == []


# ------------------------------------------------------- SALib's warnings reach the user
def test_library_warnings_one_line_each_import_noise_dropped():
    from experiments.sweep.library_warnings import captured

    with (
        pytest.warns(DeprecationWarning, match="inplace keyword") as outside,
        captured("SALib sobol.sample") as lines,
    ):
        _raise_sampler_warnings()
    # a library's own deprecation is handed back to Python's filters, not turned into a line
    assert [str(w.message) for w in outside] == ["The inplace keyword is deprecated"]
    assert lines == [
        (
            "SALib sobol.sample: Convergence properties of the Sobol' sequence is only valid if "
            "`skip_values` (3) is a power of 2."
        ),
        (
            "SALib sobol.sample: The balance properties of Sobol' points require n to be a power "
            "of 2."
        ),
    ]


def _raise_sampler_warnings():
    """What a sampler may raise: import noise, a library deprecation, SALib's multi-line
    notice and the same notice twice."""
    import warnings

    warnings.warn("ipyparallel not installed - IpyparalleEvaluator not available", stacklevel=2)
    warnings.warn("The inplace keyword is deprecated", DeprecationWarning, stacklevel=2)
    warnings.warn(
        "\n            Convergence properties of the Sobol' sequence is only "
        "valid if\n            `skip_values` (3) is a power of 2.\n",
        stacklevel=2,
    )
    warnings.warn(
        "The balance properties of Sobol' points require n to be a power of 2.", stacklevel=2
    )
    warnings.warn(
        "The balance properties of Sobol' points require n to be a power of 2.", stacklevel=2
    )


POWER_OF_TWO = (
    "warning: design saltelli (SALib sobol.sample): The balance properties of "
    "Sobol' points require n to be a power of 2."
)


@pytest.mark.parametrize("n, warned", [(6, True), (8, False)])
def test_sobol_sample_size_warning_reaches_the_user(tmp_path, n, warned):
    p = tmp_path / "linear.toml"
    p.write_text(LINEAR.format(design=f'method = "saltelli"\nn = {n}', replicates=1))
    res = CliRunner().invoke(sweep_app, ["plan", str(p), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert res.output.count(POWER_OF_TWO) == (1 if warned else 0)


def _indices(st, s1, st_conf):
    return pd.DataFrame(
        {
            "outcome": ["y", "y"],
            "parameter": ["parameters.a", "parameters.b"],
            "S1": s1,
            "S1_conf": [0.1, 0.1],
            "ST": st,
            "ST_conf": st_conf,
        }
    )


def test_sobol_reliability_by_hand(tmp_path):
    from experiments.sweep.analysis import sobol_reliability
    from experiments.sweep.spec import load_spec

    p = tmp_path / "linear.toml"
    p.write_text(LINEAR.format(design='method = "saltelli"\nn = 16', replicates=1))
    spec = load_spec(p)[0]
    # inside [-0.1, 1.1] with ST_conf <= 0.5 (the limits themselves included): reliable
    assert sobol_reliability(spec, _indices([1.1, 0.2], [-0.1, 0.2], [0.5, 0.1])) is None
    # ST 2.57, S1 -1.09, ST_conf 0.8: n' = 2**ceil(log2(max(2 x 16, 16 x (0.8 / 0.5)**2 =
    # 40.96))) = 64; N(D + 2) = 4 runs per unit of n (D = 2, one replicate)
    line = sobol_reliability(spec, _indices([2.57, 0.3], [0.5, -1.09], [0.8, 0.2]))
    assert line == (
        "Sobol indices are unreliable: ST up to 2.57 (parameters.a on y), S1 down to -1.09 "
        "(parameters.b on y), ST_conf up to 0.80 (parameters.a on y); S1 and ST must lie in "
        "[-0.1, 1.1] and ST_conf be at most 0.5. The sample is too small (design.n = 16, 64 "
        "runs): use design.n = 64 or more (256 runs)"
    )
    # only an index out of range: double n
    assert sobol_reliability(spec, _indices([1.2, 0.3], [0.5, 0.2], [0.1, 0.1])).endswith(
        "use design.n = 32 or more (128 runs)"
    )


def test_analyze_warns_that_a_small_sobol_sample_is_unreliable(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml",
        name="small",
        replicates=1,
        outcomes='["noise"]',
        design='method = "saltelli"\nn = 4',
    )
    out = tmp_path / "out"
    run(spec, out, progress=False)
    r = analyze(spec, out, plots=False)
    unreliable = [w for w in r.warnings if w.startswith("Sobol indices are unreliable")]
    assert len(unreliable) == 1
    assert "The sample is too small (design.n = 4, 24 runs): use design.n = " in unreliable[0]
    res = CliRunner().invoke(sweep_app, ["analyze", str(spec), "--out", str(out), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "warning: Sobol indices are unreliable: " in res.output
    # a large sample of the linear model has no such warning
    good = _linear(tmp_path, 'method = "saltelli"\nn = 256')
    assert analyze(good, tmp_path / "out", plots=False).warnings == []


def test_analyze_before_any_run_says_so_and_writes_nothing(tmp_path):
    # a new user's failing input: `ree sweep plan SPEC` then `ree sweep analyze SPEC` gave a
    # KeyError traceback and left an empty analysis folder
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1, design='method = "lhs"\nn = 4')
    out = tmp_path / "out"
    run(spec, out, progress=False, max_runs=0)
    with pytest.raises(AnalysisError, match="no finished runs .* run `ree sweep run"):
        analyze(spec, out, plots=False)
    assert not any(p.name == "analysis" for p in out.rglob("*"))
