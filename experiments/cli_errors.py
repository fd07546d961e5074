"""One-line command-line errors for ``ree`` (:class:`OneLineErrors`, the typer group class of
``ree`` and ``ree sweep``): click/typer's usage errors (an unknown option or command, a value
that is not a number or out of range, a missing argument or option value) are printed as one
line on stderr, :func:`usage_error_line`, with click's exit code 2, instead of typer's usage
line, help hint and boxed message.

Kept apart from :mod:`experiments.terminal` so worker processes (which import the progress
bar through the runners) do not import typer.
"""

from __future__ import annotations

import difflib

import typer
from typer.core import TyperGroup

from experiments.terminal import err_console

try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - typer with click as a dependency
    from click import exceptions as _cx

_LIMITS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


#: What an option accepts when its range is checked later, against something the command
#: line does not know yet (``ree run --months``: the scenario's horizon), keyed by
#: "<sub-command path> <option>" (the path without the program name); other number options
#: state their type and ``min``/``max``.
ALLOWED = {"run --months": "an integer from 1 to the scenario's horizon"}


def _allowed(param, where: str = "") -> str:
    """What a number option accepts, e.g. ``an integer >= 0`` or ``a number from 0.5 to
    0.999`` (from its type and its ``min``/``max``, or :data:`ALLOWED` for ``where``, the
    sub-command path and option); ``""`` for other parameters."""
    if where in ALLOWED:
        return ALLOWED[where]
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

    Examples: ``ree run: error: --seed: 'x' is not an integer (allowed: an integer from 0
    to 9223372036854775807); see 'ree run --help'``, ``ree: error: no such command 'rn';
    did you mean 'run'? ...``.
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
        allowed = _allowed(exc.param, " ".join(path.split()[1:] + [name]))
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
        known = sorted(
            {
                o
                for p in (ctx.command.params if ctx else [])
                for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
                if o.startswith("--")
            }
        )
        close = difflib.get_close_matches(
            exc.option_name.lstrip("-"), [o[2:] for o in known], n=2, cutoff=0.6
        )
        what = f"no such option {exc.option_name}"
        if close:
            what += f"; did you mean {' or '.join('--' + c for c in close)}?"
    elif isinstance(exc, _cx.BadOptionUsage) and "requires an argument" in exc.message:
        what = f"{exc.option_name} needs a value"
    elif (
        ctx is not None
        and hasattr(ctx.command, "commands")
        and exc.message.startswith("No such command")
    ):
        word = exc.message.split("'")[1] if "'" in exc.message else ""
        names = sorted(ctx.command.commands)
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
        what = (
            f"no such command {word!r}; "
            + (f"did you mean {close[0]!r}? " if close else "")
            + f"allowed: {', '.join(names)}"
        )
    else:
        msg = exc.format_message()
        what = msg[:1].lower() + msg[1:].rstrip(".")
    return f"{path}: error: {what}{' ' if what.endswith('?') else '; '}see '{path} --help'"


def command_path(group: str = "") -> str:
    """The running command as the user typed it, ``ree run`` (``ree`` and the running click
    command's sub-command path; ``group`` is added when that group's app was invoked on its
    own); ``ree`` outside a command."""
    try:  # typer >= 0.22 carries its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - typer with click as a dependency
        from click import get_current_context
    ctx = get_current_context(silent=True)
    words = ctx.command_path.split()[1:] if ctx is not None else []
    if group and words[:1] != [group]:  # the group's app invoked on its own (tests, API)
        words.insert(0, group)
    return " ".join(["ree", *words])  # the program's name, whatever click calls the root


def error_line(message: str, what: str = "", group: str = "") -> str:
    """One line for an error found while a command runs (bad input, unusable folder, failed
    runs): ``<command>: error: [<what>: ]<message>``, the form of :func:`usage_error_line`
    without its help hint, e.g. ``ree run: error: invalid scenario: --set: unknown key
    'levers.nope'; ...``. The command is ``ree`` and the running click command's sub-command
    path; ``group`` (``"sweep"``) is added when that group's app was invoked on its own. A
    message of several lines (one problem each) gives one such line per problem."""
    path = command_path(group)
    head = what[:1].lower() + what[1:] if what else ""
    lead = f"{path}: error: {head + ': ' if head else ''}"
    # several problems (a spec with two bad fields) are one such line each
    return "\n".join(lead + line for line in (message.splitlines() or [""]))


def _help_as_flag(opt):
    """``opt`` (a command's ``--help`` option, or None) with an empty metavar, so typer's
    help lists it as a flag, as our own flags are, not as ``--help <bool>`` (click builds
    the option once per command and keeps it, so setting it before the command parses is
    enough)."""
    if opt is not None:
        opt.metavar = ""
    return opt


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
        if cmd is not None:
            _help_as_flag(cmd.get_help_option(ctx))
        return name, cmd, rest

    def get_help_option(self, ctx):
        """The group's ``--help``, shown as a flag (:func:`_help_as_flag`)."""
        return _help_as_flag(super().get_help_option(ctx))

    def invoke(self, ctx):
        def where():
            sub = ctx.meta.get(self._SUB)
            return f"{ctx.command_path} {sub}" if sub else ctx.command_path

        return self._one_line(where, super().invoke, ctx)
