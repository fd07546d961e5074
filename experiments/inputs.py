"""Reading the text files a user hands to ``ree`` (scenario and sweep-spec TOML).

Every TOML file read in ``experiments/`` goes through :func:`read_text_file`: UTF-8 with or
without a byte-order mark (as Windows editors save it) is accepted; anything else (Latin-1,
UTF-16, a binary file) is refused with one line naming the file, before any work.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

__all__ = [
    "InputFileError",
    "check_end",
    "last_data_month",
    "measures_never_apply",
    "load_scenario_input",
    "read_text_file",
    "scenario_with_overrides",
]

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class InputFileError(ValueError):
    """An input file cannot be read as text; the message names the file and what to do."""


def read_text_file(path: str | Path) -> str:
    """The text of ``path`` decoded as UTF-8; a leading UTF-8 byte-order mark is dropped.

    Raises:
        InputFileError: the file is missing, unreadable, or not UTF-8 (the message gives the
            file, the offending byte and its offset, and how to fix it).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{p} is a folder; give a .toml file") from None
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read the file ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        for bom, name in _BOMS:
            if data.startswith(bom):
                raise InputFileError(
                    f"{p} is {name} text, not UTF-8; save it as UTF-8 (with "
                    "or without a byte-order mark)"
                ) from None
        raise InputFileError(
            f"{p} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8 (with or without a byte-order "
            "mark)"
        ) from None


def last_data_month() -> str:
    """The last month a run may reach, ``"YYYY-12"`` (:func:`abm.demand.last_data_month`)."""
    from abm.demand import last_data_month as last

    return last()


def check_end(sc: Any, overrides: dict | None = None, origin: str = "") -> None:
    """Refuse a scenario whose ``end`` lies after :func:`last_data_month`.

    Raises:
        abm.scenario.ScenarioError: one line naming the key (``--set end=...`` or the
            scenario's field ``end``), the allowed range and why.
    """
    from abm.scenario import ScenarioError, end_allowed
    from abm.timeline import to_month

    last = last_data_month()
    if to_month(sc.end) <= to_month(last):
        return
    if overrides and "end" in overrides:
        raise ScenarioError(f"--set end={overrides['end']}: end must be {end_allowed(sc.start)}")
    raise ScenarioError(
        f"{origin or sc.name}: field 'end': {sc.end} is after {last}; allowed: "
        + end_allowed(sc.start)
    )


def scenario_with_overrides(
    scenario: Any, overrides: dict | None = None, origin: str = "--set"
) -> Any:
    """The scenario of ``ree run``: :func:`load_scenario_input`, then
    :func:`abm.scenario.apply_overrides` (its errors name the overrides as ``origin``), then
    :func:`check_end`.

    Raises:
        abm.scenario.ScenarioError: the scenario, an override or ``end`` is invalid (one line;
            an unknown name with the closest allowed ones).
    """
    from abm.scenario import apply_overrides

    sc = load_scenario_input(scenario)
    out = apply_overrides(sc, overrides, origin)
    check_end(out, overrides, str(scenario) if isinstance(scenario, str | Path) else "")
    return out


def load_scenario_input(name_or_path: Any) -> Any:
    """:func:`abm.scenario.load_scenario`, with an existing file read by :func:`read_text_file`
    (so a byte-order mark is accepted and a non-UTF-8 file is named); shipped names and
    :class:`~abm.scenario.Scenario` objects are passed through unchanged.

    Raises:
        abm.scenario.ScenarioError: unknown name, unreadable or non-UTF-8 file, invalid
            content; an unknown key or name close to an allowed one gets "did you mean"
            (:func:`abm.scenario.unknown_name`).
    """
    from abm.scenario import ScenarioError, load_scenario, loads_scenario

    if (
        isinstance(name_or_path, str | Path)
        and str(name_or_path).strip()
        and Path(name_or_path).is_file()
    ):
        try:
            text = read_text_file(name_or_path)
        except InputFileError as exc:
            raise ScenarioError(str(exc)) from None
        return loads_scenario(text, str(Path(name_or_path)))
    return load_scenario(name_or_path)


def measures_never_apply(
    scenario: Any, months: int | None, keys: Any
) -> tuple[int, list[str]] | None:
    """For a run of ``months`` months (None: the whole horizon) of ``scenario`` (an
    :class:`abm.scenario.Scenario`, overrides applied) in which overrides among ``keys`` set
    a field of a measure (``measures.<id>.<field>``) that comes into force only after the
    run's last month: the months a run needs for the first of them to apply (the step of its
    date + 1) and the keys; else None. A whole-horizon run holds every measure."""
    from abm.scenario import MEASURE_PREFIX
    from abm.timeline import month_index, to_month

    if months is None:
        return None
    start = to_month(scenario.start)
    dates = {m.id: m.date for m in scenario.measures if m.id}
    late = []
    for k in keys or ():
        parts = str(k).split(".")
        if str(k).startswith(MEASURE_PREFIX) and len(parts) == 3 and parts[1] in dates:
            step = month_index(dates[parts[1]], start)
            if step >= int(months):
                late.append((step + 1, str(k)))
    if not late:
        return None
    return min(n for n, _ in late), [k for _, k in late]
