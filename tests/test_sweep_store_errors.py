"""A damaged or misplaced result store gives one line naming the file or folder, what is wrong
with it and what to do (exit 1, no traceback), and the advised fix works."""

from __future__ import annotations

import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import run
from experiments.sweep.cli import sweep_app


def _cli(*args):
    return CliRunner().invoke(sweep_app, [str(a) for a in args])


def _error(r) -> str:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ": error: " in ln]
    assert len(lines) == 1, r.output
    return lines[0]


@pytest.fixture
def done(tmp_path):
    """A finished 24-run toy sweep: (spec, out, store folder)."""
    spec = write_toy_spec(
        tmp_path / "s.toml", replicates=1, design='method = "factorial"\nlevels = 2'
    )
    out = tmp_path / "out"
    assert run(spec, out, progress=False).ok == 24
    return spec, out, out / "toy"


def test_missing_or_damaged_design(done):
    spec, out, store = done
    (store / "design.parquet").unlink()
    for cmd in ("status", "analyze"):
        line = _error(_cli(cmd, spec, "--out", out))
        assert (
            f"{store / 'design.parquet'} is missing; it is the table of planned runs: run "
            "`ree sweep plan` on the same spec to write it again (finished runs are kept)" in line
        )
    (store / "design.parquet").write_bytes(b"not parquet")
    line = _error(_cli("status", spec, "--out", out))
    assert "design.parquet is not a readable Parquet file" in line and "delete it and run" in line
    (store / "design.parquet").unlink()
    assert _cli("plan", spec, "--out", out).exit_code == 0  # the advice works
    r = _cli("status", spec, "--out", out, "--json")
    assert r.exit_code == 0 and '"ok": 24' in r.output


@pytest.mark.parametrize("name", ["spec.json", "provenance.json"])
def test_invalid_json_names_the_file(tmp_path, name):
    spec = write_toy_spec(
        tmp_path / "s.toml", replicates=1, design='method = "factorial"\nlevels = 2'
    )
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    assert run(spec, out, progress=False, max_runs=12).ok == 12  # 12 still to run
    (store / name).write_text("{not json")
    before = sorted(p.name for p in (store / "results").iterdir())
    for cmd in ("run", "status"):
        line = _error(_cli(cmd, spec, "--out", out))
        assert f"{store / name} is not valid JSON (" in line
        assert "other shards" not in line
    assert sorted(p.name for p in (store / "results").iterdir()) == before  # nothing written
    assert (store / name).read_text() == "{not json"
    if name == "spec.json":
        assert "delete it and run `ree sweep plan` on the same spec" in line
    else:
        assert "delete it (the results are kept, the history is lost) and rerun" in line
    (store / name).unlink()  # the advice works
    if name == "spec.json":
        assert _cli("plan", spec, "--out", out).exit_code == 0
    r = _cli("run", spec, "--out", out, "--json")
    assert r.exit_code == 0 and '"skipped": 12' in r.output and '"total_ok": 24' in r.output


def test_damaged_results_shard_is_named(done):
    spec, out, store = done
    shard = min((store / "results").glob("part-*.parquet"))
    shard.write_bytes(b"junk")
    line = _error(_cli("status", spec, "--out", out))
    assert f"{shard} is not a readable Parquet file" in line and "other shards are kept" in line


@pytest.mark.parametrize("where", ["store", "out"])
def test_a_file_where_the_store_folder_belongs(tmp_path, where):
    spec = write_toy_spec(
        tmp_path / "s.toml", replicates=1, design='method = "factorial"\nlevels = 2'
    )
    out = tmp_path / "out"
    if where == "store":
        out.mkdir()
        (out / "toy").write_text("mine")
        blocker = out / "toy"
    else:
        out.write_text("mine")
        blocker = out
    for cmd in ("plan", "run", "status", "analyze"):
        line = _error(_cli(cmd, spec, "--out", out))
        assert f"{blocker} is a file, not a folder" in line and "choose another --out" in line
    assert blocker.read_text() == "mine"
