"""Stopping `ree run --seeds` (Ctrl-C, SIGTERM, a failed seed) leaves --out exactly as it
was, and the staging folders of killed runs are cleaned up by the next run.

A new user's failing input (session 15): Ctrl-C during `ree run --seeds 0-3 --months 60 --out
X` (Dask workers, and also --workers 1) printed "the partial output was removed and --out is
as it was" but left X/seed-0/, X/seed-1/ and a hidden X/.seed-2.<random>/, and the next `ree
run --seeds ... --out X` was refused ("it holds: .seed-2.s9t9io21")."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experiments.cli import app
from experiments.runs import STAGING_OWNER

REPO = Path(__file__).resolve().parents[1]
CTRL_C_LINE = "ree run: interrupted (Ctrl-C); the partial output was removed and --out is as it was"
runner = CliRunner()


def _state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _ensemble(seeds: str, out: Path, months: str = "1"):
    return runner.invoke(
        app,
        ["run", "--seeds", seeds, "--months", months, "--no-charts", "--workers", "1"]
        + ["--out", str(out)],
    )


def _dead_pid() -> int:
    """The id of a process of this host that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _staging(folder: Path, pid: int) -> Path:
    """A staging folder as a killed ``ree run`` leaves it: a half-written file and the owner
    marker naming process ``pid`` of this host."""
    folder.mkdir(parents=True)
    (folder / "timeseries.parquet").write_bytes(b"PAR1 half")
    (folder / STAGING_OWNER).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    return folder


@pytest.mark.timeout(180)
def test_ctrl_c_with_dask_workers_leaves_no_output_and_the_next_run_works(tmp_path):
    # the user's input: SIGINT once seed 0 is written, Dask workers (the default)
    out = tmp_path / "int5"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from experiments.cli import app; app(prog_name='ree')"]
        + ["run", "--seeds", "0-3", "--months", "48"]
        + ["--no-charts", "--workers", "2", "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a suite started in the background inherits Ctrl-C as ignored; give the default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        t0 = time.monotonic()
        while not glob.glob(str(tmp_path / ".int5.*" / "seed-0" / "manifest.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 150, "seed 0 was not written in time"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == CTRL_C_LINE
    # --out did not exist before: nothing at all is left, hidden staging folders included
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    time.sleep(1.0)  # no worker still writing after the command ended
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    res = _ensemble("0-1", out, months="2")  # the user's next command
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".ree-files.json",
        "ensemble.parquet",
        "seed-0",
        "seed-1",
    ]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError("seed 1 failed")])
def test_a_stopped_ensemble_keeps_the_earlier_ensemble_byte_for_byte(tmp_path, monkeypatch, stop):
    # --workers 1: seed 0 is written, then Ctrl-C (or a failure) in seed 1; the earlier
    # ensemble in --out was replaced seed by seed before (seed-0 new, seed-1 old)
    import experiments.runs as runs

    out = tmp_path / "ens"
    assert _ensemble("0-1", out).exit_code == 0
    before = _state(out)
    real = runs.run_to_folder
    calls = []

    def stops_in_seed_1(scenario, folder, **kw):
        calls.append(kw["seed"])
        if kw["seed"] == 1:
            (Path(folder).parent / ".seed-1.halfdone").mkdir()  # as a worker mid-write
            raise stop
        return real(scenario, folder, **kw)

    monkeypatch.setattr(runs, "run_to_folder", stops_in_seed_1)
    res = runner.invoke(
        app,
        ["run", "--seeds", "0-1", "--months", "2", "--no-charts", "--workers", "1"]
        + ["--out", str(out)],
    )
    assert calls == [0, 1]
    if stop is KeyboardInterrupt:
        assert res.exit_code == 130
        assert res.output.strip().splitlines()[-1] == CTRL_C_LINE
    else:
        assert res.exit_code == 2 and "seed 1 failed" in res.output
    assert _state(out) == before  # the earlier 1-month ensemble, not seed 0 of the new one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens"]  # no staging folder left


def test_a_folder_wedged_by_the_old_interrupt_is_cleaned_and_reused(tmp_path):
    # what the earlier version left in --out: seed-0 written, a per-seed staging folder of a
    # worker that is gone; the next run was refused ("it holds: .seed-2.s9t9io21")
    out = tmp_path / "int5"
    assert _ensemble("1", out).exit_code == 0  # a count: seed 0
    (out / ".ree-files.json").unlink()  # the old version wrote no inventory there
    _staging(out / ".seed-2.s9t9io21", _dead_pid())
    res = _ensemble("0-1", out)
    assert res.exit_code == 0, res.output
    assert "ree run: note: cleaned up 1 staging folder(s) left by a killed earlier run: " in (
        res.stderr
    )
    assert sorted(p.name for p in out.iterdir()) == [
        ".ree-files.json",
        "ensemble.parquet",
        "seed-0",
        "seed-1",
    ]


def test_staging_folders_of_killed_runs_beside_out_are_removed_with_a_note(tmp_path):
    # after SIGKILL, hidden .OUT.<random>/ folders stayed in the parent folder; they were
    # cleaned only when the same --out was used again
    dead = _dead_pid()
    killed = _staging(tmp_path / ".k9b.mtyhxztx", dead)  # a killed run of --out k9b
    live = _staging(tmp_path / ".busy.abcdefgh", os.getpid())  # a run still going
    (tmp_path / ".mine.abcdefgh").mkdir()  # the user's, no marker
    (tmp_path / ".mine.abcdefgh" / "notes.txt").write_text("keep")
    res = runner.invoke(
        app, ["run", "--months", "1", "--no-charts", "--out", str(tmp_path / "new")]
    )
    assert res.exit_code == 0, res.output
    note = [ln for ln in res.stderr.splitlines() if "note:" in ln]
    assert note == [
        f"ree run: note: cleaned up 1 staging folder(s) left by a killed earlier run: {killed}"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".busy.abcdefgh",
        ".mine.abcdefgh",
        "new",
    ]
    assert (live / STAGING_OWNER).is_file()
    assert (tmp_path / ".mine.abcdefgh" / "notes.txt").read_text() == "keep"
