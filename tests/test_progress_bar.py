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
