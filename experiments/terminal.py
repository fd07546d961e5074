"""The CLI's consoles: tables and summaries to stdout, one-line errors to stderr.

When stdout is not a terminal (piped to a file or to ``less``), rich would lay tables out
at 80 columns and wrap their cells; ``ree`` lays them out at :data:`PIPED_WIDTH` columns
instead, unless the user sets ``COLUMNS``.
"""

from __future__ import annotations

import difflib
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

    def __init__(self, total: float, label: str, *, enabled: bool = True, console=None,
                 counts: bool = False):
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
            cols.append(TextColumn("[green]{task.fields[ok]} ok[/] "
                                   "[red]{task.fields[failed]} failed[/]"))
        cols += [TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"),
                 TimeRemainingColumn()]
        self._bar = Progress(*cols, console=console or err_console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, ok=0, failed=0)

    def advance(self, steps: float = 1, *, ok: int = 0, failed: int = 0,
                label: str | None = None) -> None:
        """Add ``steps`` units of work done, ``ok``/``failed`` finished runs; set the label."""
        self.ok += ok
        self.failed += failed
        if self.enabled:
            extra = {} if label is None else {"description": label}
            self._bar.update(self._task, advance=steps, ok=self.ok, failed=self.failed,
                             **extra)

    def close(self) -> None:
        """Stop drawing (the finished bar stays on the terminal)."""
        if self.enabled:
            self._bar.stop()
            self.enabled = False

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------- command-line errors
try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - typer with click as a dependency
    from click import exceptions as _cx

import typer
from typer.core import TyperGroup

_LIMITS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}


def _allowed(param) -> str:
    """What a number option accepts, e.g. ``an integer >= 0`` or ``a number from 0.5 to
    0.999`` (from its type and its ``min``/``max``); ``""`` for other parameters."""
    kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    what = {int: "an integer", float: "a number"}.get(kind)
    if what is None:
        return ""
    lo, hi = getattr(param, "min", None), getattr(param, "max", None)
    if lo is not None and hi is not None:
        return f"{what} from {lo} to {hi}"
    if lo is not None:
        return f"{what} >= {lo}"
    if hi is not None:
        return f"{what} <= {hi}"
    return what


def _param_name(exc) -> str:
    """``--seed`` (the option's longest spelling) or ``RUN_A`` (an argument's metavar)."""
    p = getattr(exc, "param", None)
    if p is None:
        return ""
    if getattr(p, "param_type_name", "") == "argument":
        return p.metavar or (p.name or "").upper()
    return max(p.opts, key=len) if p.opts else (p.name or "")


def usage_error_line(exc, where: str = "") -> str:
    """One line for a command-line error of click/typer ``exc``:
    ``<command>: error: <what>; see '<command> --help'``; ``where`` is the command when the
    error does not carry its context (an option without its value).

    Examples: ``ree run: error: --seed: 'x' is not an integer (allowed: an integer >= 0);
    see 'ree run --help'``, ``ree: error: no such command 'rn'; did you mean 'run'? ...``.
    """
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else (where or "ree")
    name = _param_name(exc)
    cause = exc.__cause__
    errors = cause.errors(include_url=False) if hasattr(cause, "errors") else []
    if isinstance(exc, _cx.MissingParameter):
        what = f"missing {'argument' if name.isupper() else 'option'} {name}"
    elif isinstance(exc, _cx.BadParameter) and errors:
        e = errors[0]
        allowed = _allowed(exc.param)
        got = e.get("input")
        if e["type"] in _LIMITS:
            what = f"{name}: {got} is out of range"
        elif e["type"] in ("int_parsing", "int_from_float"):
            what = f"{name}: {got!r} is not an integer"
        elif e["type"] == "float_parsing":
            what = f"{name}: {got!r} is not a number"
        else:
            what = f"{name}: {got!r}: {e['msg']}"
        what += f" (allowed: {allowed})" if allowed else ""
    elif isinstance(exc, _cx.BadParameter):
        what = f"{name}: {exc.message}" if name else exc.message
    elif isinstance(exc, _cx.NoSuchOption):
        known = sorted({o for p in (ctx.command.params if ctx else []) for o in
                        getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
                        if o.startswith("--")})
        close = difflib.get_close_matches(exc.option_name.lstrip("-"),
                                          [o[2:] for o in known], n=2, cutoff=0.6)
        what = f"no such option {exc.option_name}"
        if close:
            what += f"; did you mean {' or '.join('--' + c for c in close)}?"
    elif isinstance(exc, _cx.BadOptionUsage) and "requires an argument" in exc.message:
        what = f"{exc.option_name} needs a value"
    elif ctx is not None and hasattr(ctx.command, "commands") and \
            exc.message.startswith("No such command"):
        word = exc.message.split("'")[1] if "'" in exc.message else ""
        names = sorted(ctx.command.commands)
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
        what = f"no such command {word!r}; " + (f"did you mean {close[0]!r}? " if close else "") \
            + f"allowed: {', '.join(names)}"
    else:
        msg = exc.format_message()
        what = msg[:1].lower() + msg[1:].rstrip(".")
    return f"{path}: error: {what}{' ' if what.endswith('?') else '; '}see '{path} --help'"


class OneLineErrors(TyperGroup):
    """A typer command group whose command-line errors (unknown option or command, a bad
    value, a missing argument, in it or in any of its sub-commands) are one line on stderr,
    :func:`usage_error_line`, with exit code 2 (click's code for usage errors), instead of
    typer's usage line, help hint and boxed message. ``ree`` without arguments still prints
    the help."""

    _SUB = "experiments.terminal.subcommand"  # ctx.meta key: the sub-command being run

    def _one_line(self, where, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except _cx.NoArgsIsHelpError:
            raise
        except _cx.UsageError as exc:
            err_console.print(usage_error_line(exc, where()), highlight=False, markup=False)
            raise typer.Exit(exc.exit_code) from None

    def make_context(self, info_name, args, parent=None, **extra):
        def where():
            return f"{parent.command_path} {info_name}" if parent else str(info_name)
        return self._one_line(where, super().make_context, info_name, args, parent, **extra)

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        ctx.meta[self._SUB] = name
        return name, cmd, rest

    def invoke(self, ctx):
        def where():
            sub = ctx.meta.get(self._SUB)
            return f"{ctx.command_path} {sub}" if sub else ctx.command_path
        return self._one_line(where, super().invoke, ctx)
