"""The same spec gives identical outcome tables on the sequential and Dask backends; a run that
kills its Dask worker or stops itself there is a failed record, never a hang or a Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_toy_models import result_table, write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import RunStore, SpecError, run
from experiments.sweep.backends import SequentialExecutor, open_backend
from experiments.sweep.cli import sweep_app

pytestmark = pytest.mark.usefixtures("toy_models_importable")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    spec = write_toy_spec(d / "toy.toml", design='method = "lhs"\nn = 24', replicates=2)
    s = run(spec, d / "out", backend="sequential", progress=False)
    assert s.ok == 48 and s.failed == 0
    return spec, result_table(d / "out" / "toy")


def test_sequential_executor_delivers_exceptions_through_futures():
    ex = SequentialExecutor()
    assert ex.submit(pow, 2, 10).result() == 1024
    fut = ex.submit(int, "x")
    assert isinstance(fut.exception(), ValueError)


@pytest.mark.timeout(180)
def test_dask_localcluster_matches_sequential(reference, tmp_path):
    """The default backend: a LocalCluster of two worker processes started by the runner."""
    spec, ref = reference
    s = run(spec, tmp_path / "out", backend="dask", workers=2, progress=False)
    assert (s.backend, s.workers, s.executed, s.ok) == ("dask", 2, 48, 48)
    pd.testing.assert_frame_equal(result_table(tmp_path / "out" / "toy"), ref)
    # pids show the work really ran in two worker processes, not the driver
    pids = set(RunStore(tmp_path / "out" / "toy").read_results()["pid"])
    assert os.getpid() not in pids and len(pids) == 2


@pytest.mark.timeout(120)
def test_dask_chunks_of_seven_on_a_running_scheduler_match(reference, tmp_path, dask_address):
    spec, ref = reference
    s = run(
        spec, tmp_path / "out", backend="dask", address=dask_address, chunk_size=7, progress=False
    )
    assert (s.executed, s.ok) == (48, 48)
    pd.testing.assert_frame_equal(result_table(tmp_path / "out" / "toy"), ref)


def _dask_bin() -> str:
    cand = Path(sys.executable).parent / "dask"
    return str(cand) if cand.exists() else "dask"


@pytest.mark.timeout(180)
def test_dask_scheduler_and_two_workers_on_localhost_via_cli(reference, tmp_path):
    """A real `dask scheduler` + two `dask worker` processes on 127.0.0.1, used via --address."""
    spec, ref = reference
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    _dask_bin(),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), "scheduler did not start"
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        _dask_bin(),
                        "worker",
                        "--scheduler-file",
                        str(sched_file),
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        out = tmp_path / "out"
        res = CliRunner().invoke(
            sweep_app,
            [
                "run",
                str(spec),
                "--backend",
                "dask",
                "--address",
                address,
                "--out",
                str(out),
                "--no-progress",
            ],
        )
        assert res.exit_code == 0, res.output
        assert "ran 48 of 48 runs (48 ok, 0 failed)" in res.output
        assert "dask x2" in res.output
        pd.testing.assert_frame_equal(result_table(out / "toy"), ref)
        again = CliRunner().invoke(
            sweep_app,
            [
                "run",
                str(spec),
                "--backend",
                "dask",
                "--address",
                address,
                "--out",
                str(out),
                "--no-progress",
            ],
        )
        assert again.exit_code == 0 and "nothing left to run" in again.output
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)


@pytest.mark.timeout(120)
def test_a_run_that_kills_its_worker_is_a_failed_record(tmp_path, dask_address):
    """os._exit in the model kills the worker; Dask reruns the run on another worker, and when
    that dies too (allowed-failures 1) the run is a KilledWorker record; the rest are ok."""
    spec = write_toy_spec(
        tmp_path / "s.toml",
        model="crash_evaluate",
        replicates=1,
        design='method = "lhs"\nn = 16',
        execution="retries = 1",
    )
    t0 = time.perf_counter()
    s = run(spec, tmp_path / "out", backend="dask", address=dask_address, progress=False)
    assert time.perf_counter() - t0 < 60
    df = RunStore(tmp_path / "out" / "toy").read_results()
    crashers = df["parameters.a"] > 0.9  # LHS: one or two of 16 strata lie above 0.9
    assert 1 <= crashers.sum() <= 2
    assert not s.interrupted and s.executed == 16 and len(df) == 16 and df["run_id"].is_unique
    assert (s.ok, s.failed) == (16 - crashers.sum(), crashers.sum())
    failed = df[df["status"] == "failed"]
    assert failed["run_id"].tolist() == df.loc[crashers, "run_id"].tolist()
    assert set(failed["error_type"]) == {"KilledWorker"}
    assert failed["error"].str.startswith("the backend could not run it: ").all()
    assert (df.loc[~crashers, "status"] == "ok").all() and df.loc[~crashers, "y"].notna().all()
    inv = RunStore(tmp_path / "out" / "toy").read_provenance()["invocations"][-1]
    assert inv["status"] == "completed"


@pytest.mark.timeout(120)
def test_keyboard_interrupt_or_exit_on_a_worker_is_a_failed_record(tmp_path, dask_address):
    """A model raising KeyboardInterrupt or SystemExit on a worker is that run's failure, not
    the user's Ctrl-C: the sweep completes and is recorded as completed."""
    spec = write_toy_spec(
        tmp_path / "s.toml", model="stop_evaluate", replicates=1, design='method = "lhs"\nn = 20'
    )
    s = run(spec, tmp_path / "out", backend="dask", address=dask_address, progress=False)
    df = RunStore(tmp_path / "out" / "toy").read_results()
    a = df["parameters.a"]
    want = (
        pd.Series("ok", index=df.index)
        .mask(a > 0.8, "KeyboardInterrupt")
        .mask(a < 0.1, "SystemExit")
    )
    assert (want == "KeyboardInterrupt").any() and (want == "SystemExit").any()
    assert not s.interrupted and (s.executed, s.failed) == (20, int((want != "ok").sum()))
    assert df["error_type"].fillna("ok").tolist() == want.tolist()
    assert df.loc[a > 0.8, "error"].str.startswith("toy stop: a=").all()
    assert df.loc[a > 0.8, "traceback"].str.contains("stop_evaluate").all()
    inv = RunStore(tmp_path / "out" / "toy").read_provenance()["invocations"][-1]
    assert inv["status"] == "completed"


@pytest.mark.parametrize("name", ["process", "ray"])
def test_removed_backends_are_one_line_naming_what_to_use(tmp_path, name):
    with pytest.raises(
        SpecError,
        match=f"backend: backend '{name}' was removed; use 'dask' "
        r"\(a local cluster, .*\) or 'sequential'",
    ):
        open_backend(name)
    spec = write_toy_spec(tmp_path / "s.toml")
    r = CliRunner().invoke(
        sweep_app,
        ["run", str(spec), "--out", str(tmp_path / "out"), "--backend", name, "--no-progress"],
    )
    assert r.exit_code == 2 and r.output.count("error:") == 1, r.output
    assert f"backend '{name}' was removed" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()
    spec.write_text(spec.read_text().replace('backend = "sequential"', f'backend = "{name}"'))
    r = CliRunner().invoke(sweep_app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert f"execution.backend: backend '{name}' was removed" in r.output


def test_open_backend_rejects_unknown_name():
    with pytest.raises(SpecError, match="unknown backend 'threads'; allowed: dask, sequential"):
        open_backend("threads")


@pytest.mark.timeout(60)
def test_unreachable_dask_scheduler_is_a_clean_error():
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises((OSError, TimeoutError)):
        # 0.5 s (was 2 s): the error comes only when the timeout runs out, so the timeout is
        # the test's duration; refused connections are retried until then
        open_backend("dask", address=f"tcp://127.0.0.1:{port}", connect_timeout=0.5)
