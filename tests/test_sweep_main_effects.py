"""`ree sweep analyze` (issue 14): factorial designs get a main-effects table and plot; every
analysis CSV carries units and floats rounded to 6 significant digits. Values hand-checked on
the toy models of sweep_toy_models.py."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sweep_toy_models import LINEAR_SPEC, write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import analyze, run
from experiments.sweep.cli import sweep_app
from experiments.tables import round_frame, round_sig

LINEAR = LINEAR_SPEC


def _linear(tmp_path, design):
    p = tmp_path / "linear.toml"
    p.write_text(LINEAR.format(design=design, replicates=2))
    run(p, tmp_path / "out", progress=False)
    return p


def test_main_effects_of_a_linear_model_by_hand(tmp_path):
    # y = 4a + 2b', b' = (b+1)/2; levels a in {0, 0.5, 1}, b in {-1, 0, 1}: 9 rows x 2 reps.
    # Mean y at a = 0.5: 4 * 0.5 + 2 * mean(b') = 2 + 1 = 3; at a = 1: 5; at a = 0: 1.
    # Mean y at b = -1: 4 * mean(a) + 0 = 2; at b = 0: 3; at b = 1: 4. Grand mean 3.
    spec = _linear(tmp_path, 'method = "factorial"\nlevels = 3')
    r = analyze(spec, tmp_path / "out")
    e = r.main_effects
    assert list(e.columns) == [
        "factor",
        "factor_unit",
        "level",
        "outcome",
        "unit",
        "runs",
        "mean",
        "effect",
    ]
    a = e[e["factor"] == "parameters.a"]
    assert list(a["level"]) == [0.0, 0.5, 1.0]
    assert list(a["mean"]) == pytest.approx([1.0, 3.0, 5.0])
    assert list(a["effect"]) == pytest.approx([-2.0, 0.0, 2.0])
    assert list(a["runs"]) == [6, 6, 6]  # 3 b-levels x 2 replicates
    b = e[e["factor"] == "parameters.b"]
    assert list(b["level"]) == [-1.0, 0.0, 1.0]
    assert list(b["mean"]) == pytest.approx([2.0, 3.0, 4.0])
    assert set(e["unit"]) == {"1"} and set(e["factor_unit"]) == {"1"}  # toy OUTCOMES, space
    adir = tmp_path / "out" / "linear" / "analysis"
    back = pd.read_csv(adir / "main_effects.csv")
    assert back.loc[back["factor"] == "parameters.b", "mean"].tolist() == pytest.approx(
        [2.0, 3.0, 4.0]
    )
    assert (adir / "main_effects_y.png").stat().st_size > 5000
    assert str(adir / "main_effects.csv") in r.files


def test_main_effects_of_categorical_and_bool_levers(tmp_path):
    # toy: y = a + 2b^2 + 0.1k + mode + flag + 0.01 noise, b = 0; a in {0, .5, 1},
    # k in {1, 3, 5}, mode none/tariff/quota = 0/1/2, flag 0/1 (54 rows x 1 replicate):
    # mean y at mode = quota: 0.5 + 0.3 + 2 + 0.5 = 3.3; at flag = True: 0.5 + 0.3 + 1 + 1 = 2.8
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    run(spec, tmp_path / "out", progress=False)
    r = analyze(spec, tmp_path / "out", plots=False, discovery=False)
    e = r.main_effects.set_index(["factor", "level", "outcome"])
    assert e.loc[("levers.mode", "quota", "y"), "mean"] == pytest.approx(3.3, abs=0.01)
    assert e.loc[("levers.mode", "none", "y"), "mean"] == pytest.approx(1.3, abs=0.01)
    assert e.loc[("levers.flag", True, "y"), "mean"] == pytest.approx(2.8, abs=0.01)
    assert e.loc[("levers.flag", True, "y"), "runs"] == 27
    assert e.loc[("parameters.k", 5, "loss"), "unit"] == "months"
    assert e.loc[("parameters.k", 5, "loss"), "factor_unit"] == "count"
    res = CliRunner().invoke(
        sweep_app,
        ["analyze", str(spec), "--out", str(tmp_path / "out"), "--no-plots"],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "main effects" in res.output
    line = next(
        ln
        for ln in res.output.splitlines()
        if "levers.mode" in ln and "quota" in ln and " y " in ln
    )
    assert re.search(r"\b3\.3\d*\b", line), line


def test_analysis_csvs_carry_units_and_rounded_floats(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=2)
    run(spec, tmp_path / "out", progress=False)
    analyze(spec, tmp_path / "out", plots=False, discovery=False)
    adir = tmp_path / "out" / "toy" / "analysis"
    summary = pd.read_csv(adir / "summary.csv", dtype={"unit": str}).set_index("outcome")
    assert summary["unit"].to_dict() == {"y": "1", "noise": "1", "loss": "months"}
    header = pd.read_csv(adir / "design_means.csv", nrows=0).columns.tolist()
    assert {"parameters.a [1]", "parameters.k [count]", "y [1]", "loss [months]"} <= set(header)
    for name in ("summary.csv", "design_means.csv", "main_effects.csv"):
        text = (adir / name).read_text()
        digits = [
            len(re.sub(r"^0\.0*", "", m.replace("-", "")).replace(".", "").lstrip("0"))
            for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)
            if "e" not in m
        ]
        assert digits and max(digits) <= 6, (name, max(digits))


def test_sobol_and_morris_csvs_name_their_units(tmp_path):
    spec = _linear(tmp_path, 'method = "morris"\nn = 8')
    analyze(spec, tmp_path / "out", plots=False)
    m = pd.read_csv(tmp_path / "out" / "linear" / "analysis" / "morris.csv", dtype={"unit": str})
    assert list(m.columns[:3]) == ["outcome", "unit", "parameter"]
    assert set(m["unit"]) == {"1"}  # the outcome's unit (the toy y is in [1])


def test_round_sig():
    assert round_sig(1087577981.307271) == 1087580000.0
    assert round_sig(0.002666347427612874) == 0.00266635
    assert round_sig(-3.7814906948190005e-05) == -3.78149e-05
    assert round_sig(0.0) == 0.0 and round_sig(7) == 7
    assert pd.isna(round_sig(float("nan")))
    df = round_frame(pd.DataFrame({"x": [1 / 3, 2e9 / 3], "n": [1, 2], "s": ["a", "b"]}))
    assert df["x"].tolist() == [0.333333, 666667000.0] and df["n"].tolist() == [1, 2]
