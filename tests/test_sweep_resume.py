"""Resumable sweeps: SIGKILL part way, rerun, nothing lost or duplicated; idempotent reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_toy_models import result_table, write_toy_spec

from experiments.sweep import RunStore, run, status

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("toy_models_importable")


@pytest.fixture(autouse=True)
def _no_toy_sleep(monkeypatch):
    monkeypatch.setenv("SWEEP_TOY_SLEEP", "0")


def _spec(tmp_path, **kw):
    return write_toy_spec(
        tmp_path / "toy.toml",
        model="slow_evaluate",
        design='method = "lhs"\nn = 60',
        replicates=2,
        execution="chunk_size = 1\nflush_every = 4\nflush_seconds = 0.2",
        **kw,
    )


@pytest.mark.timeout(180)
def test_sigkill_part_way_then_resume_gives_the_uninterrupted_table(tmp_path, dask_address):
    """A driver SIGKILLed part way, then resumed on Dask: every stored run kept, the rest run
    once, and the table equals an uninterrupted sequential pass."""
    spec = _spec(tmp_path)
    ref = run(spec, tmp_path / "ref", backend="sequential", progress=False)
    assert ref.ok == 120
    reference = result_table(tmp_path / "ref" / "toy")

    out = tmp_path / "out"
    env = dict(os.environ, SWEEP_TOY_SLEEP="0.05")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.sweep.cli",
            "run",
            str(spec),
            "--out",
            str(out),
            "--backend",
            "sequential",
            "--no-progress",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    store = RunStore(out / "toy")
    try:
        deadline = time.time() + 90
        stored = 0
        while time.time() < deadline and proc.poll() is None:
            if store.results_dir.is_dir():
                stored = len(store.read_results(columns=["run_id"], dedupe=False))
                if stored >= 20:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[0]
        assert stored >= 20
        # the driver (sequential: Dask's case, no worker left after a killed driver, is
        # test_sweep_reliability.py::test_sigkill_of_the_driver_leaves_no_process)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGKILL

    raw = store.read_results(dedupe=False)
    before = len(raw)
    assert 20 <= before < 120, before
    assert raw["run_id"].is_unique
    assert (raw["status"] == "ok").all()
    st = status(spec, out)
    assert (st.planned, st.ok, st.remaining) == (120, before, 120 - before)
    killed_inv = store.read_provenance()["invocations"][-1]
    assert killed_inv["status"] == "running" and killed_inv["end"] is None
    # the killed driver could not record its end, but status does not call it running
    assert st.last_state.startswith("interrupted (the process is gone")

    again = run(spec, out, backend="dask", address=dask_address, progress=False)
    assert again.skipped == before
    assert again.executed == 120 - before
    assert (again.total_ok, again.remaining) == (120, 0)
    raw = store.read_results(dedupe=False)
    assert len(raw) == 120 and raw["run_id"].is_unique  # nothing lost, nothing duplicated
    pd.testing.assert_frame_equal(result_table(out / "toy"), reference)
    assert store.read_provenance()["invocations"][-1]["status"] == "completed"

    third = run(spec, out, backend="dask", address=dask_address, progress=False)
    assert third.nothing_to_run and third.executed == 0
    assert "nothing left to run: all 120 runs" in third.message


def test_partial_runs_then_resume_equal_a_single_pass(tmp_path):
    spec = _spec(tmp_path)
    run(spec, tmp_path / "ref", backend="sequential", progress=False)
    out = tmp_path / "out"
    done = 0
    for step in (7, 30, 1, 500):
        s = run(spec, out, backend="sequential", max_runs=step, progress=False)
        assert s.executed == min(step, 120 - done)
        done += s.executed
    assert done == 120
    pd.testing.assert_frame_equal(result_table(out / "toy"), result_table(tmp_path / "ref" / "toy"))
    assert len(RunStore(out / "toy").read_results(dedupe=False)) == 120


@pytest.mark.parametrize("backend", ["sequential", "dask"])
def test_keyboard_interrupt_flushes_finished_runs(tmp_path, backend, request):
    """Ctrl-C in the driver (here from the on_result callback) while runs are in flight: every
    run the driver received is stored, the rest are redone by the next call, none twice."""
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    kw = {"address": request.getfixturevalue("dask_address")} if backend == "dask" else {}
    seen = []

    def stop_after_25(rec):
        seen.append(rec["run_id"])
        if len(seen) == 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(spec, out, backend=backend, progress=False, on_result=stop_after_25, **kw)
    store = RunStore(out / "toy")
    stored = store.read_results()
    assert sorted(stored["run_id"]) == sorted(seen)  # everything finished was written
    assert store.read_provenance()["invocations"][-1]["status"] == "interrupted"
    s = run(spec, out, backend=backend, progress=False, **kw)
    assert (s.skipped, s.executed, s.total_ok) == (25, 95, 120)
    assert len(store.read_results(dedupe=False)) == 120


def test_orphan_timeseries_shard_is_removed_on_resume(tmp_path):
    spec = write_toy_spec(
        tmp_path / "ts.toml",
        replicates=1,
        design='method = "factorial"\nlevels = 2',
        top="keep_timeseries = true",
    )
    out = tmp_path / "out"
    s = run(spec, out, backend="sequential", progress=False)
    assert s.ok == 24
    store = RunStore(out / "toy")
    ts = store.read_timeseries()
    assert len(ts) == 24 * 12 and set(ts["run_id"]) == set(store.read_results()["run_id"])
    assert list(ts.columns) == [
        "run_id",
        "date",
        "step",
        "metric",
        "good",
        "region",
        "partner",
        "value",
        "unit",
    ]
    # simulate a crash between the time-series shard and its results shard
    orphan = store.timeseries_dir / "part-orphan.parquet"
    orphan.write_bytes(next(store.timeseries_dir.glob("part-*.parquet")).read_bytes())
    (store.results_dir / ".part-x.parquet.123.tmp").write_bytes(b"half")
    again = run(spec, out, backend="sequential", progress=False)
    assert again.nothing_to_run
    assert not orphan.exists()
    assert not list(store.results_dir.glob(".*.tmp"))
    assert len(store.read_timeseries()) == 24 * 12
