"""A failed run in `ree reproduce` is a record, as in a sweep: the other runs finish, the
failed run is listed (stderr, tables/failed_runs.csv, REPORT.md, manifest.json) with its
exception type and message, the targets that need its variant are n/a, and the exit code is
1. Runs here are 2 months long on the sequential backend (the failure is injected into
run_task, which Dask's worker processes would not see)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments import reproduce as rp
from experiments.cli import app
from experiments.reproduce import runner as rp_runner

#: the targets that read controls-2025 (the variant whose run fails below)
CONTROLS_TARGETS = [
    "cn_magnet_export_fall",
    "mp_magnet_capacity_2029",
    "us_capacity_shortfall_without_floor",
]


@pytest.fixture
def one_run_fails(monkeypatch):
    """run_task raises ValueError('model blew up') for controls-2025 replicate 1."""
    real = rp_runner.run_task

    def run_task(name, scenario, seed_root, rep, months):
        if name == "controls-2025" and rep == 1:
            raise ValueError("model blew up")
        return real(name, scenario, seed_root, rep, months)

    monkeypatch.setattr(rp_runner, "run_task", run_task)


def test_a_failed_run_is_a_record_and_the_others_finish(one_run_fails):
    seen = []
    recs = rp.run_variants(
        [("baseline", 2), ("controls-2025", 2)],
        2,
        backend="sequential",
        progress=False,
        on_result=seen.append,
    )
    assert len(recs) == len(seen) == 4
    assert sorted((r["variant"], r["rep"], r["status"]) for r in recs) == [
        ("baseline", 0, "ok"),
        ("baseline", 1, "ok"),
        ("controls-2025", 0, "ok"),
        ("controls-2025", 1, "failed"),
    ]
    (bad,) = [r for r in recs if r["status"] == "failed"]
    assert (bad["error_type"], bad["error"], bad["months"]) == ("ValueError", "model blew up", 2)
    assert "ValueError: model blew up" in bad["traceback"] and "series" not in bad
    assert all(r["months"] == 2 and len(r["series"]) for r in recs if r["status"] == "ok")


def test_targets_of_a_variant_with_a_failed_run_are_na():
    ok = rp.run_variants([("baseline", 2)], 1, backend="sequential", progress=False)
    failed = [{"variant": "controls-2025", "rep": 0, "error_type": "ValueError"}]
    t = rp.evaluate_targets(ok, failed=failed).set_index("id")
    assert list(t.index[t["note"] != ""]) == CONTROLS_TARGETS
    assert set(t.loc[CONTROLS_TARGETS, "status"]) == {"n/a"}
    assert t.loc["cn_magnet_export_fall", "note"] == "runs failed: controls-2025 #0 (ValueError)"
    # the base-year targets read the baseline run, which did not fail
    assert t.loc["china_share_mining_2024", "status"] == "PASS"
    # without a baseline run they read controls-2025's built world: n/a when it failed
    t = rp.evaluate_targets([], failed=failed).set_index("id")
    assert t.loc["china_share_mining_2024", "note"] == "runs failed: controls-2025 #0 (ValueError)"


def test_reproduce_lists_the_failed_run_and_exits_1(tmp_path, monkeypatch, one_run_fails):
    monkeypatch.setitem(
        rp.PROFILES, "quick", rp.Profile("tiny", 2, {"baseline": 2, "controls-2025": 2})
    )
    out = tmp_path / "rep"
    res = CliRunner().invoke(
        app, ["reproduce", "--quick", "--backend", "sequential", "--out", str(out)]
    )
    assert res.exit_code == 1, res.output
    assert res.stderr.strip().splitlines()[-1] == (
        "ree reproduce: error: 1 run(s) failed: controls-2025 replicate 1 (ValueError: model blew up); "
        f"targets n/a because of them: {', '.join(CONTROLS_TARGETS)}; see "
        f"{out}/tables/failed_runs.csv"
    )
    assert "Targets" in res.stdout  # the table is still printed
    failed = pd.read_csv(out / "tables" / "failed_runs.csv")
    assert failed.to_dict("records") == [
        {
            "variant": "controls-2025",
            "rep": 1,
            "months": 2,
            "error_type": "ValueError",
            "error": "model blew up",
        }
    ]
    targets = pd.read_csv(out / "tables" / "targets.csv", keep_default_na=False)
    assert set(targets.loc[targets["id"].isin(CONTROLS_TARGETS), "status"]) == {"n/a"}
    report = (out / "REPORT.md").read_text()
    assert "**1 run(s) failed**" in report
    assert "- `controls-2025` replicate 1: ValueError: model blew up" in report
    man = json.loads((out / "manifest.json").read_text())
    assert man["runs"] == 3 and man["failed_runs"] == failed.to_dict("records")


def test_every_run_failing_is_one_error_and_nothing_is_written(tmp_path, monkeypatch):
    def run_task(name, scenario, seed_root, rep, months):
        raise RuntimeError("no luck")

    monkeypatch.setattr(rp_runner, "run_task", run_task)
    monkeypatch.setitem(rp.PROFILES, "quick", rp.Profile("tiny", 1, {"baseline": 2}))
    out = tmp_path / "rep"
    res = CliRunner().invoke(
        app, ["reproduce", "--quick", "--backend", "sequential", "--out", str(out)]
    )
    assert res.exit_code == 2
    # the last stderr line (the progress bar is drawn above it)
    assert res.stderr.strip().splitlines()[-1] == (
        "ree reproduce: error: all 1 runs failed; the first: baseline replicate 0: RuntimeError: "
        "no luck"
    )
    assert not out.exists() and not list(tmp_path.iterdir())


def _worker_failure(backend, address):
    """A run that raises in the worker (months -1: RareEarthModel refuses it) beside one
    that finishes, on a real backend."""
    recs = rp.run_variants(
        [("baseline", -1), ("controls-2025", 2)],
        1,
        backend=backend,
        address=address,
        progress=False,
    )
    by = {r["variant"]: r for r in recs}
    assert by["controls-2025"]["status"] == "ok" and by["controls-2025"]["months"] == 2
    bad = by["baseline"]
    assert (bad["status"], bad["error_type"], bad["months"]) == ("failed", "ValueError", -1)
    assert bad["error"].startswith(
        "months must be a whole number from 1 to the scenario horizon (144 months"
    )


def test_a_run_failing_on_a_dask_worker_is_a_record(dask_address):
    _worker_failure("dask", dask_address)


def test_reproduce_refuses_a_dead_scheduler_before_writing(tmp_path):
    """`ree reproduce --address` to a scheduler that is not running: one ValueError naming
    the address, at once, and no output or staging folder."""
    import socket

    from experiments.reproduce import reproduce

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "rep"
    with pytest.raises(ValueError, match=r"--address: no Dask scheduler answers at tcp://"):
        reproduce(out, quick=True, address=f"tcp://127.0.0.1:{port}", progress=False)
    assert list(tmp_path.iterdir()) == []
