"""The CLI's consoles: tables and summaries to stdout, one-line errors to stderr.

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
#: grepped and copied whole).
err_console = Console(stderr=True, soft_wrap=True)
