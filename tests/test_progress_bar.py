"""One progress bar for every command (experiments.terminal.RunProgress): `ree run`,
`ree run --seeds`, `ree sweep run` and `ree reproduce` drew four copies of it."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from experiments.terminal import RunProgress

ROOT = Path(__file__).resolve().parent.parent


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=120, force_terminal=False, color_system=None), buf


def test_bar_counts_work_and_runs():
    con, buf = _console()
    with RunProgress(10, "sweep [sequential]", console=con, counts=True) as bar:
        bar.advance(4, ok=3, failed=1)
        bar.advance(6, ok=5, label="last label")
    text = buf.getvalue()
    assert (bar.ok, bar.failed) == (8, 1)
    assert re.search(r"last label .* 10/10 8 ok 1 failed elapsed", text), text


def test_disabled_bar_draws_nothing_but_counts():
    con, buf = _console()
    with RunProgress(3, "x", enabled=False, console=con, counts=True) as bar:
        bar.advance(1, failed=1)
    assert buf.getvalue() == "" and bar.failed == 1


def test_rich_progress_is_used_only_by_the_helper():
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "experiments").rglob("*.py")
        if "rich.progress" in p.read_text()
    )
    assert users == ["experiments/terminal.py"]


def test_piped_progress_bar_keeps_its_eta():
    # a new user piping `ree reproduce` saw "... 45 ok 0 failed elapsed E…": on a pipe rich
    # drew the stderr bar at its default width of 80 and cut the line (session 16); piped
    # stderr now gets the piped table width, which holds the longest bar
    import os
    import subprocess
    import sys

    from experiments.terminal import PIPED_WIDTH

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = (
        "import io, sys; from rich.console import Console; "
        "from experiments.terminal import RunProgress, err_console; "
        "buf = io.StringIO(); con = Console(file=buf, width=err_console.width, "
        "color_system=None); bar = RunProgress(45, 'reproduce: 45/45 runs, last "
        "embargo-2010/no-quotas #4', console=con, counts=True); bar.advance(45, ok=45); "
        "bar.close(); print(err_console.width); print(buf.getvalue().splitlines()[-1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    width, last = out.stdout.splitlines()[:2]
    assert int(width) == PIPED_WIDTH, out.stdout
    assert "…" not in last and re.search(r"45 ok 0 failed elapsed \S+ ETA", last), last
