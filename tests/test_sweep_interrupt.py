"""Stopping `ree sweep run` with SIGTERM or Ctrl-C: one line, exit 143 or 130, finished runs
kept, the invocation recorded as interrupted, and the next run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import RunStore, run
from experiments.sweep.cli import sweep_app

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("toy_models_importable")


@pytest.fixture(autouse=True)
def _no_toy_sleep(monkeypatch):
    monkeypatch.setenv("SWEEP_TOY_SLEEP", "0")


SIGTERM_LINE = "ree sweep: stopped by SIGTERM; finished runs are kept, `ree sweep run` resumes"
CTRL_C_LINE = "ree sweep: interrupted (Ctrl-C); finished runs are kept, `ree sweep run` resumes"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("backend", "sig", "code", "line"),
    [
        # SIGTERM on the sequential backend is in the slow set: the same handler as the Dask
        # backend's SIGTERM and the sequential backend's Ctrl-C below (about 5 s each)
        pytest.param("sequential", signal.SIGTERM, 143, SIGTERM_LINE, marks=pytest.mark.slow),
        ("dask", signal.SIGTERM, 143, SIGTERM_LINE),
        ("sequential", signal.SIGINT, 130, CTRL_C_LINE),
    ],
)
def test_stopped_run_says_so_records_it_and_resumes(tmp_path, backend, sig, code, line):
    spec = write_toy_spec(
        tmp_path / "toy.toml",
        model="slow_evaluate",
        design='method = "lhs"\nn = 30',
        replicates=1,
        execution="chunk_size = 1\nflush_every = 2\nflush_seconds = 0.1",
    )
    out = tmp_path / "out"
    store = RunStore(out / "toy")
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
            backend,
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=REPO,
        env=dict(os.environ, SWEEP_TOY_SLEEP="0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a suite started in the background (nohup ... &) inherits Ctrl-C as ignored; the
        # child gets the default disposition back, as a terminal user's `ree` has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if store.results_dir.is_dir() and len(store.read_results(columns=["run_id"])) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)  # the driver only, as `kill PID` or `timeout` do
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    assert proc.returncode == code, (stdout, stderr)
    assert stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in stderr
    inv = store.read_provenance()["invocations"][-1]
    assert inv["status"] == "interrupted" and inv["end"] is not None
    res = store.read_results()
    assert 4 <= len(res) < 30
    assert (res["status"] == "ok").all()  # the run in flight is not recorded as a failure

    r = CliRunner().invoke(sweep_app, ["status", str(spec), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "run interrupted, started" in r.output and "None" not in r.output

    again = run(spec, out, backend="sequential", progress=False)
    assert (again.skipped, again.total_ok, again.remaining) == (len(res), 30, 0)
