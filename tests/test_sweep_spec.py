"""Spec validation: bad specs are rejected with the field named, and nothing is written."""

from __future__ import annotations

import json

import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import SpecChangedError, SpecError, load_spec, plan, run
from experiments.sweep.cli import sweep_app

GOOD_DESIGN = 'method = "factorial"\nlevels = 3'


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = {
    # id: (transform of the default toy spec text, expected fragments of the message)
    "unknown-parameter": (
        lambda t: _replace(t, 'name = "levers.mode"', 'name = "levers.modee"'),
        ["levers[0].name", "unknown parameter 'levers.modee'", "levers.mode"],
    ),
    "empty-range": (
        lambda t: _replace(t, "low = 0.0\nhigh = 1.0", "low = 0.5\nhigh = 0.5"),
        ["uncertainties[0]", "empty range", "parameters.a"],
    ),
    "lower-above-upper": (
        lambda t: _replace(t, "low = 0.0\nhigh = 1.0", "low = 0.9\nhigh = 0.1"),
        ["uncertainties[0]", "low (0.9) is greater than high (0.1)"],
    ),
    "empty-levels": (
        lambda t: _replace(t, 'name = "levers.flag"', 'name = "levers.flag"\nlevels = []'),
        ["levers[1]", "empty levels"],
    ),
    "outside-model-range": (
        lambda t: _replace(t, "low = 0.0\nhigh = 1.0", "low = 0.0\nhigh = 2.0"),
        ["uncertainties[0].high", "above the model's upper limit 1.0"],
    ),
    "unknown-outcome": (
        lambda t: _replace(t, '["y", "noise", "loss"]', '["y", "yy"]'),
        ["outcomes[1]", "unknown outcome 'yy'", "did you mean 'y'"],
    ),
    "reproduction-check-under-another-model": (
        lambda t: _replace(t, '["y", "noise", "loss"]', '["y", "la_fob_2011_q2"]'),
        [
            "outcomes[1]",
            "unknown outcome 'la_fob_2011_q2'",
            'use model = "experiments.reproduce:sweep_evaluate"',
        ],
    ),
    "no-outcomes": (
        lambda t: _replace(t, '["y", "noise", "loss"]', "[]"),
        ["outcomes", "at least 1"],
    ),
    "unknown-backend": (
        lambda t: _replace(t, 'backend = "sequential"', 'backend = "spark"'),
        ["execution.backend", "unknown backend 'spark'; allowed: dask, sequential"],
    ),
    "unknown-design": (
        lambda t: _replace(t, 'method = "factorial"', 'method = "taguchi"'),
        ["design.method", "'saltelli'", "'morris'"],
    ),
    "lhs-without-n": (
        lambda t: _replace(t, 'method = "factorial"', 'method = "lhs"'),
        ["design", "needs n"],
    ),
    "fast-too-small": (
        lambda t: _replace(t, 'method = "factorial"', 'method = "fast"\nn = 64'),
        ["design", "n > 4*M**2 = 64"],
    ),
    "unknown-field": (
        lambda t: _replace(t, "replicates = 2", "replicates = 2\nreplicate = 3"),
        ["replicate", "unknown field"],
    ),
    "zero-replicates": (
        lambda t: _replace(t, "replicates = 2", "replicates = 0"),
        ["replicates", "greater than or equal to 1"],
    ),
    "unknown-constant": (
        lambda t: t + '\n[constants]\n"parameters.zzz" = 1.0\n',
        ["constants.parameters.zzz", "unknown parameter"],
    ),
    "bad-model": (
        lambda t: _replace(
            t, 'model = "sweep_toy_models:toy_evaluate"', 'model = "sweep_toy_models:nope"'
        ),
        ["model", "no callable 'nope'"],
    ),
    "bad-categorical-level": (
        lambda t: _replace(
            t, 'name = "levers.mode"', 'name = "levers.mode"\nlevels = ["none", "ban"]'
        ),
        ["levers[0].levels", "['ban'] not among allowed levels"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_spec_rejected_naming_field_and_nothing_written(tmp_path, case):
    base = write_toy_spec(tmp_path / "good.toml", execution="workers = 1").read_text()
    transform, fragments = BAD[case]
    spec = tmp_path / "bad.toml"
    spec.write_text(transform(base))
    out = tmp_path / "out"
    for fn in (plan, run):
        with pytest.raises(SpecError) as ei:
            fn(spec, out)
        msg = str(ei.value)
        for frag in fragments:
            assert frag in msg, (frag, msg)
    assert not out.exists()


def test_unknown_backend_argument_rejected(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml")
    out = tmp_path / "out"
    with pytest.raises(SpecError) as ei:
        run(spec, out, backend="spark")
    assert "unknown backend 'spark'" in str(ei.value)
    assert "allowed: dask, sequential" in str(ei.value)
    assert not out.exists()


def test_cli_rejects_bad_spec_with_exit_2(tmp_path):
    base = write_toy_spec(tmp_path / "good.toml").read_text()
    spec = tmp_path / "bad.toml"
    spec.write_text(base.replace("low = 0.0\nhigh = 1.0", "low = 0.9\nhigh = 0.1", 1))
    out = tmp_path / "out"
    res = CliRunner().invoke(sweep_app, ["run", str(spec), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert "uncertainties[0]" in res.output and "greater than high" in res.output
    res = CliRunner().invoke(
        sweep_app, ["run", str(tmp_path / "good.toml"), "--out", str(out), "--backend", "mpi"]
    )
    assert res.exit_code == 2 and "unknown backend 'mpi'" in res.output
    assert not out.exists()


def test_toml_syntax_error_and_missing_file(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("name = \n")
    with pytest.raises(SpecError, match="TOML syntax error"):
        load_spec(p)
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "nope.toml")


def test_parameter_completed_from_model_and_constants_flattened(tmp_path):
    spec_path = write_toy_spec(tmp_path / "s.toml", extra="[constants]\nparameters.b = 0.25\n")
    spec, _handle, digest = load_spec(spec_path)
    # name-only parameters take their type, levels and range from the model
    assert [p.type for p in spec.parameters] == ["real", "integer", "categorical", "bool"]
    assert spec.levers[0].levels == ["none", "tariff", "quota"]
    assert spec.levers[1].levels == [False, True]
    assert spec.constants == {"parameters.b": 0.25}
    assert len(digest) == 16


def test_spec_hash_ignores_execution_but_not_design(tmp_path):
    a, _, da = load_spec(write_toy_spec(tmp_path / "a.toml", execution="workers = 1"))
    b, _, db = load_spec(write_toy_spec(tmp_path / "b.toml", execution="workers = 2\nretries = 0"))
    c, _, dc = load_spec(
        write_toy_spec(tmp_path / "c.toml", design='method = "factorial"\nlevels = 4')
    )
    assert a.spec_hash(da) == b.spec_hash(db)
    assert a.spec_hash(da) != c.spec_hash(dc)
    assert len(a.spec_hash(da)) == 64


def test_changed_spec_refused_unless_fresh(tmp_path):
    out = tmp_path / "out"
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    first = run(spec, out, progress=False)
    assert first.ok == 54
    write_toy_spec(spec, replicates=1, design='method = "factorial"\nlevels = 2')
    before = sorted(p.name for p in (out / "toy" / "results").iterdir())
    with pytest.raises(SpecChangedError) as ei:
        run(spec, out, progress=False)
    msg = str(ei.value)
    assert "design.levels" in msg and "--fresh" in msg and "54 stored result" in msg
    with pytest.raises(SpecChangedError):
        plan(spec, out)
    # nothing was touched
    assert sorted(p.name for p in (out / "toy" / "results").iterdir()) == before
    res = CliRunner().invoke(sweep_app, ["run", str(spec), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2 and "different spec" in res.output
    fresh = run(spec, out, fresh=True, progress=False)
    assert fresh.executed == 2 * 2 * 3 * 2 and fresh.skipped == 0
    stored = json.loads((out / "toy" / "spec.json").read_text())
    assert stored["spec"]["design"]["levels"] == 2


def test_top_level_keys_after_a_table_header_are_named_as_misplaced(tmp_path):
    """TOML puts every key after `[execution]` into that table: `months` and `outcomes`
    written there were reported as "outcomes: required field is missing" plus two unknown
    fields (a new user's report, session 28); now one line each says where they belong."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "x"\nscenario = "baseline"\n[design]\nmethod = "factorial"\n'
        '[[levers]]\nname = "levers.us_tariff_on_china"\nlevels = [0.0, 0.5]\n'
        '[execution]\nbackend = "dask"\nmonths = 3\noutcomes = ["peak_dy_price_us"]\n'
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and not any("required field is missing" in x for x in lines)
    assert all("is a top-level key but sits in [execution]" in x for x in lines)
    assert "execution.outcomes: 'outcomes' is a top-level key" in lines[1]
    # an unknown key that is no top-level field keeps the allowed fields of its table
    spec.write_text(spec.read_text().replace("months = 3\n", "wrokers = 2\n"))
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert "unknown field 'wrokers'; did you mean 'workers'?" in str(err.value)
