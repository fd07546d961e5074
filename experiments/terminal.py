"""The CLI's consoles (tables and summaries to stdout, one-line errors to stderr) and its
progress bar (:class:`RunProgress`, on stderr).

When stdout is not a terminal (piped to a file or to ``less``), rich would lay tables out
at 80 columns and wrap their cells; ``ree`` lays them out at :data:`PIPED_WIDTH` columns
instead, unless the user sets ``COLUMNS``.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

#: Width of tables written to a pipe or file, characters (wide enough for the targets and
#: sweep tables without wrapping a cell).
PIPED_WIDTH = 200


def output_width(stream=None) -> int | None:
    """Width for a console on ``stream`` (default stdout): ``None`` (rich's own choice) on a
    terminal or when ``COLUMNS`` is set, else :data:`PIPED_WIDTH`."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return PIPED_WIDTH


#: Standard output (tables, summaries).
out_console = Console(width=output_width(), soft_wrap=True)
#: Errors go to stderr, one line each, never wrapped at the terminal width (so they can be
#: grepped and copied whole); the progress bar too, as wide as tables when stderr is piped
#: (at rich's default of 80 a piped bar lost its ETA: "elapsed E...").
err_console = Console(stderr=True, soft_wrap=True, width=output_width(sys.stderr))


# ----------------------------------------------------------------- progress bars
class RunProgress:
    """The progress bar of ``ree run``, ``ree run --seeds``, ``ree sweep run`` and ``ree
    reproduce`` (one rich bar on stderr, so a piped summary holds only the tables):
    ``<label> [bar] done/total [ok/failed counts] elapsed <t> ETA <t>``. A no-op when
    ``enabled`` is False.

    Args:
        total: units of work (runs, or model months).
        label: text before the bar; :meth:`advance` may change it.
        enabled: draw the bar.
        console: a ``rich.console.Console`` (default :data:`err_console`).
        counts: show the ``ok``/``failed`` run counts (:meth:`advance` ``ok``, ``failed``).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, total: float, label: str, *, enabled: bool = True, console=None, counts: bool = False
    ):
        self.enabled = enabled
        self.ok = self.failed = 0
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        cols = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
        if counts:
            cols.append(
                TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]")
            )
        cols += [
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        self._bar = Progress(*cols, console=console or err_console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, ok=0, failed=0)

    def advance(
        self, steps: float = 1, *, ok: int = 0, failed: int = 0, label: str | None = None
    ) -> None:
        """Add ``steps`` units of work done, ``ok``/``failed`` finished runs; set the label."""
        self.ok += ok
        self.failed += failed
        if self.enabled:
            extra = {} if label is None else {"description": label}
            self._bar.update(self._task, advance=steps, ok=self.ok, failed=self.failed, **extra)

    def close(self) -> None:
        """Stop drawing (the finished bar stays on the terminal)."""
        if self.enabled:
            self._bar.stop()
            self.enabled = False

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
