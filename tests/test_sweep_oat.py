"""One-at-a-time designs (``design.method = "oat"``): every parameter at its center, then each
parameter alone at the low and the high end of its range. Values hand-checked on the toy
models of sweep_toy_models.py."""

from __future__ import annotations

import pandas as pd
import pytest
from sweep_toy_models import LINEAR_SPEC

from experiments.sweep import analyze, plan, run
from experiments.sweep.design import build_design, center_unit, expected_rows
from experiments.sweep.spec import SpecError, load_spec


def _spec(tmp_path, extra_a="", extra_b=""):
    text = LINEAR_SPEC.format(design='method = "oat"', replicates=1)
    text = text.replace('name = "parameters.a"\n', 'name = "parameters.a"\n' + extra_a)
    text = text.replace('name = "parameters.b"\n', 'name = "parameters.b"\n' + extra_b)
    p = tmp_path / "linear.toml"
    p.write_text(text)
    return p


def test_oat_rows_hold_the_others_at_their_centers(tmp_path):
    # a in [0, 1], model default 0.5; b in [-1, 1] with center 0.25 given in the spec
    spec, _h, digest = load_spec(_spec(tmp_path, extra_b="center = 0.25\n"))
    assert expected_rows(spec) == 5
    d = build_design(spec, digest)
    got = d[["design_row", "parameters.a", "parameters.b"]].values.tolist()
    assert got == [[0, 0.5, 0.25], [1, 0.0, 0.25], [2, 1.0, 0.25], [3, 0.5, -1.0], [4, 0.5, 1.0]]
    assert center_unit(spec.parameters[1]) == pytest.approx(0.625)


def test_oat_center_outside_the_range_is_refused(tmp_path):
    with pytest.raises(SpecError, match=r"uncertainties\[1\]\.center.*outside \[-1.0, 1.0\]"):
        load_spec(_spec(tmp_path, extra_b="center = 3.0\n"))


def test_oat_integer_center_maps_back_exactly():
    from experiments.sweep.spec import Parameter

    p = Parameter(name="parameters.k", type="integer", low=1, high=5, center=2)
    # floor(u (high - low + 1)) + low must give 2 back: u in [0.2, 0.4)
    assert 0.2 <= center_unit(p) < 0.4


def test_oat_swings_of_a_linear_model_by_hand(tmp_path):
    # y = 4a + 2(b+1)/2. Center a = 0.5, b = 0: y = 2 + 1 = 3. a at 0 / 1: 1 / 5 (swing 2);
    # b at -1 / 1: 2 / 4 (swing 1). Rows ordered by swing, largest first.
    p = _spec(tmp_path)
    assert plan(p, tmp_path / "out").runs == 5
    run(p, tmp_path / "out", progress=False)
    r = analyze(p, tmp_path / "out", discovery=False)
    t = r.one_at_a_time
    assert r.main_effects is None
    assert list(t["parameter"]) == ["parameters.a", "parameters.b"]
    a, b = t.iloc[0], t.iloc[1]
    assert (a["low"], a["center"], a["high"]) == (0.0, 0.5, 1.0)
    assert (a["at_low"], a["at_center"], a["at_high"]) == pytest.approx((1.0, 3.0, 5.0))
    assert (b["at_low"], b["at_high"], b["swing"]) == pytest.approx((2.0, 4.0, 1.0))
    assert a["swing_pct"] == pytest.approx(200.0 / 3.0)
    adir = tmp_path / "out" / "linear" / "analysis"
    back = pd.read_csv(adir / "oat.csv")
    assert back["swing"].tolist() == pytest.approx([2.0, 1.0])
    assert (adir / "oat_y.png").stat().st_size > 5000
    assert not any("sensitivity indices need" in n for n in r.notes)


def test_oat_analyze_cli_prints_the_largest_swings(tmp_path):
    from typer.testing import CliRunner

    from experiments.sweep.cli import sweep_app

    p = _spec(tmp_path)
    run(p, tmp_path / "out", progress=False)
    res = CliRunner().invoke(
        sweep_app, ["analyze", str(p), "--out", str(tmp_path / "out"), "--no-plots"]
    )
    assert res.exit_code == 0, res.output
    assert "one at a time" in res.output and "parameters.a" in res.output


def test_reproduction_targets_carry_their_units_into_sweep_tables():
    # the oat_embargo_2010 spec's outcomes are reproduction targets; their units reach the
    # CSV headers and the unit column (the description ends with "[unit]")
    from experiments.reproduce import sweep_evaluate
    from experiments.sweep.analysis import outcome_units

    class Handle:
        outcomes = staticmethod(lambda: sweep_evaluate.OUTCOMES)

    units = outcome_units(Handle, ["dy_peak_multiple", "nd_peak_lag", "non_china_mine_ramp"])
    assert units == {
        "dy_peak_multiple": "x",
        "nd_peak_lag": "months",
        "non_china_mine_ramp": "pp/yr",
    }


@pytest.mark.parametrize(("at_high", "scale"), [(5.0, "linear"), (2600.0, "log")])
def test_tornado_axis_is_logarithmic_when_swings_span_more_than_20x(
    tmp_path, monkeypatch, at_high, scale
):
    # center 7, a low end of 3: the span is 5/3 (linear) or 2600/3 > 20 (log: one runaway
    # would flatten every other bar on a linear axis)
    import matplotlib.figure

    from experiments.sweep.analysis import _tornado_chart

    seen = []
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        "savefig",
        lambda fig, *a, **k: seen.append(fig.axes[0].get_xscale()),
    )
    oat = pd.DataFrame(
        {
            "parameter": ["parameters.a", "parameters.b"],
            "outcome": ["y", "y"],
            "unit": ["x", "x"],
            "at_low": [3.0, 6.0],
            "at_center": [7.0, 7.0],
            "at_high": [at_high, 8.0],
        }
    )
    _tornado_chart(oat, "y", tmp_path / "t.png")
    assert seen == [scale]
