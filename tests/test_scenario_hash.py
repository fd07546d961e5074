"""A scenario file's hash does not depend on how the file was saved: the ``scenario_hash`` of a
run's manifest (:meth:`abm.scenario.Scenario.content_hash`) and a sweep's scenario digest
(:func:`experiments.sweep.model.scenario_digest`) hash the validated content, so the same file
saved with a UTF-8 byte-order mark (as Windows editors do) or with CRLF line endings gets the
same hash as without, and loads at all (``tomllib`` alone refuses a byte-order mark)."""

from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from abm.scenario import load_scenario, loads_scenario
from experiments.cli import app
from experiments.inputs import load_scenario_input
from experiments.sweep.model import resolve_model, scenario_digest

#: a user's scenario with a comment, multi-line strings (a CRLF inside one is a line ending
#: too), a lever and a measure
TEXT = (
    "# a user's scenario\n"
    'name = "saved"\n'
    'description = """two\nlines"""\n'
    "[levers]\n"
    'start = "2024-01"\n'
    "us_tariff_on_china = 0.5\n"
    "[[measures]]\n"
    'kind = "tariff"\n'
    'id = "t"\n'
    'date = "2025-03"\n'
    'actor = "US"\n'
    'targets = ["CN"]\n'
    "rate = 0.1\n"
    "label = '''x\ny'''\n"
)
BOM = b"\xef\xbb\xbf"
SAVED = {
    "lf": TEXT.encode(),
    "bom": BOM + TEXT.encode(),
    "crlf": TEXT.replace("\n", "\r\n").encode(),
    "bom_crlf": BOM + TEXT.replace("\n", "\r\n").encode(),
}


@pytest.fixture
def files(tmp_path):
    """The scenario saved in each way of :data:`SAVED`: name -> path."""
    out = {}
    for name, data in SAVED.items():
        out[name] = tmp_path / f"{name}.toml"
        out[name].write_bytes(data)
    return out


def test_tomllib_alone_refuses_a_byte_order_mark():
    # why the files are read as utf-8-sig: the mark is not TOML
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads("\ufeff" + TEXT)


def test_a_bom_or_crlf_file_loads_and_hashes_as_the_plain_file(files):
    plain = loads_scenario(TEXT)
    assert plain.description == "two\nlines" and plain.measures[0].label == "x\ny"
    want = plain.content_hash()
    assert len(want) == 64
    digest = scenario_digest(resolve_model("abm"), str(files["lf"]))
    for name, p in files.items():
        sc = load_scenario(p)
        assert sc == plain, name
        assert sc.description == "two\nlines" and sc.measures[0].label == "x\ny", name
        assert sc.content_hash() == want, name
        assert load_scenario_input(p).content_hash() == want, name  # what ree run reads
        assert load_scenario_input(str(p)).content_hash() == want, name
        assert scenario_digest(resolve_model("abm"), str(p)) == digest, name  # sweeps


def test_ree_run_records_the_same_scenario_hash_for_a_bom_crlf_file(files, tmp_path):
    hashes = {}
    for name in ("lf", "bom_crlf"):
        out = tmp_path / f"run_{name}"
        res = CliRunner().invoke(
            app, ["run", str(files[name]), "--months", "1", "--no-charts", "--out", str(out)]
        )
        assert res.exit_code == 0, res.output
        hashes[name] = json.loads((out / "manifest.json").read_text())["scenario_hash"]
    assert hashes["bom_crlf"] == hashes["lf"] == loads_scenario(TEXT).content_hash()
