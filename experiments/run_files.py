"""Reading the files of a results folder (``ree run`` output, a ``--seeds`` folder's runs):
``manifest.json``, ``summary.json``, ``timeseries.parquet``.

A file that is damaged (truncated, empty, not JSON or not Parquet, missing columns) raises
:class:`RunFolderError`, one line naming the file, what is wrong with it and what to do,
instead of a pyarrow or json traceback; every reader of a results folder uses these
functions (``ree compare``, the ensemble statistics of ``ree run --seeds``).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "TIMESERIES_COLUMNS",
    "RunFolderError",
    "check_run_json",
    "RunManifest",
    "RunSummary",
    "SeriesSummary",
    "read_run_json",
    "read_run_table",
    "rerun_command",
]

#: Columns every ``timeseries.parquet`` holds (:meth:`abm.model.RareEarthModel.timeseries`).
TIMESERIES_COLUMNS = ("date", "step", "metric", "good", "region", "partner", "value", "unit")


class RunFolderError(ValueError):
    """A results folder or one of its files cannot be used; the message says which file,
    what is wrong and what to do."""


def _where(path: Path, which: str) -> str:
    return f"{which} {path}" if which else str(path)


def _first_line(exc: BaseException) -> str:
    """The first sentence of ``exc``'s message, without pyarrow's "Could not open Parquet
    input source '<path>': " (the line names the file already)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    if line.startswith("Could not open") and "': " in line:
        line = line.split("': ", 1)[1]
    return line.split(". ")[0].rstrip(".")[:160]


def rerun_command(folder: Path, manifest: dict | None = None) -> str:
    """The ``ree run`` command that writes ``folder`` again, from its ``manifest.json``
    (scenario, seed, months, ``--set`` overrides) when known, e.g. ``ree run controls-2025
    --seed 0 --months 24 --out results/a``; ``ree run ... --out FOLDER`` otherwise."""
    m = manifest or {}
    scenario = (
        m.get("scenario_source") if m.get("scenario_source") not in (None, "shipped") else None
    )
    scenario = scenario or m.get("scenario")
    if not scenario or scenario == "in memory":
        return f"ree run ... --out {shlex.quote(str(folder))}"
    words = ["ree", "run", shlex.quote(str(scenario))]
    if "seed" in m:
        words += ["--seed", str(m["seed"])]
    if "months" in m:
        words += ["--months", str(m["months"])]
    for k, v in (m.get("overrides") or {}).items():
        text = v if isinstance(v, str) else json.dumps(v)
        words += ["--set", shlex.quote(f"{k}={text}")]
    words += ["--out", shlex.quote(str(folder))]
    return " ".join(words)


#: Keys every run's ``manifest.json`` has that ``ree compare`` needs (its title and
#: horizon warning name the scenario, seed and months).
MANIFEST_KEYS = ("scenario", "seed", "months")


class _Strict(BaseModel):
    """JSON values as written, no conversion (a number written as text is refused)."""

    model_config = ConfigDict(strict=True, extra="allow")


class SeriesSummary(_Strict):
    """One headline series of ``summary.json`` (:func:`experiments.runs.summary`), in the
    series' unit (named in its key, e.g. ``"NdPr price China (USD/kg)"``): first, peak, min
    and last month's value, and the peak's month (YYYY-MM; null for a series zero
    throughout)."""

    first: float
    peak: float
    peak_month: str | None = None
    min: float
    last: float


class RunSummary(_Strict):
    """The shape of a run's ``summary.json`` (:func:`experiments.runs.summary`): cumulative
    lost output (USD), country accounts (region -> account -> USD, or % of GDP for
    ``value_added_lost_pct_gdp_peak_12m``), China-origin shares (region -> share 0-1), net
    capacity change outside China (stage -> t/yr); every other key is a headline series
    (:class:`SeriesSummary`)."""

    lost_output_usd: dict[str, float] = {}
    accounts: dict[str, dict[str, float]] = {}
    china_content_12m_last: dict[str, float] = {}
    capacity_built_outside_china_t_yr: dict[str, float] = {}
    __pydantic_extra__: dict[str, SeriesSummary]


class RunManifest(_Strict):
    """The keys of a run's ``manifest.json`` that readers use (:func:`rerun_command`,
    ``ree compare``): scenario name, seed, months run, ``--set`` overrides, first and last
    month (YYYY-MM); the other keys (provenance) are not checked."""

    scenario: str
    seed: int
    months: int
    overrides: dict[str, Any] = {}
    scenario_source: str | None = None
    scenario_hash: str | None = None
    start: str | None = None
    end: str | None = None


#: How a shape error names the JSON type expected (pydantic's error type -> text).
_EXPECTED = {
    "dict_type": "an object ({...})",
    "model_type": "an object ({...})",
    "float_type": "a number",
    "int_type": "a whole number",
    "string_type": "a string",
    "list_type": "a list",
    "bool_type": "true or false",
}


def _json_type(value: Any) -> str:
    """The JSON type of a value read by ``json.loads``, as a shape error names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def shape_error(exc: ValidationError) -> str:
    """The first problem of a shape check as one phrase: ``key 'accounts' must be an object
    ({...}), not the string 'oops'`` (nested keys joined by ``.``), ``lacks the key
    'NdPr price China (USD/kg).peak'``."""
    err = exc.errors(include_url=False)[0]
    key = ".".join(str(k) for k in err["loc"])
    if err["type"] == "missing":
        return f"lacks the key '{key}'"
    expected = _EXPECTED.get(err["type"], err["msg"].lower())
    return f"key '{key}' must be {expected}, not {_json_type(err.get('input'))}"


def read_run_json(
    path: Path,
    which: str = "",
    fix: str = "",
    required: tuple[str, ...] = (),
    shape: type[BaseModel] | None = None,
) -> dict:
    """The JSON object in ``path`` (``manifest.json``, ``summary.json``).

    Args:
        required: keys the object must have (e.g. :data:`MANIFEST_KEYS`).
        shape: the model the object must match (:class:`RunManifest`, :class:`RunSummary`):
            each key's JSON type (object, number, string), nested keys included.

    Raises:
        RunFolderError: ``[<which> ]<path>: cannot read it (<reason>); <fix>`` when it is
            missing, unreadable or not JSON, ``...: not a JSON object; <fix>`` when it holds
            another JSON value, ``...: lacks the keys 'scenario', 'seed'; <fix>`` when it
            lacks any of ``required``, ``...: key 'accounts' must be an object ({...}), not
            the string 'oops'; <fix>`` when a value has the wrong type for ``shape``
            (:func:`shape_error`).
    """
    where = _where(path, which)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{where}: cannot read it ({_first_line(exc)}); {fix}") from None
    if not isinstance(doc, dict):
        raise RunFolderError(f"{where}: not a JSON object; {fix}")
    if missing := [k for k in required if k not in doc]:
        keys = ", ".join(f"'{k}'" for k in missing)
        raise RunFolderError(
            f"{where}: lacks the key{'s' if len(missing) > 1 else ''} {keys}; {fix}"
        )
    if shape is not None:
        check_run_json(doc, shape, path, which, fix)
    return doc


def check_run_json(
    doc: dict, shape: type[BaseModel], path: Path, which: str = "", fix: str = ""
) -> None:
    """Check the object ``doc`` read from ``path`` against ``shape`` (see
    :func:`read_run_json`).

    Raises:
        RunFolderError: ``[<which> ]<path>: key 'accounts' must be an object ({...}), not
            the string 'oops'; <fix>`` (:func:`shape_error`).
    """
    try:
        shape.model_validate(doc)
    except ValidationError as exc:
        raise RunFolderError(f"{_where(path, which)}: {shape_error(exc)}; {fix}") from None


def read_run_table(
    path: Path,
    which: str = "",
    fix: str = "",
    columns: tuple[str, ...] = TIMESERIES_COLUMNS,
) -> pd.DataFrame:
    """The table in the Parquet file ``path`` (a run's ``timeseries.parquet``).

    Raises:
        RunFolderError: one line ``[<which> ]<path>: <what is wrong>; <fix>``: the file is
            missing, empty (0 bytes), not a readable Parquet file (truncated or damaged:
            pyarrow's reason), or lacks any of ``columns``.
    """
    import pyarrow as pa

    path = Path(path)
    where = _where(path, which)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RunFolderError(f"{where}: cannot read it ({exc.strerror or exc}); {fix}") from None
    if size == 0:
        raise RunFolderError(f"{where}: the file is empty (0 bytes); {fix}")
    try:
        df = pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RunFolderError(
            f"{where}: not a readable Parquet file ({size:,} bytes; truncated or damaged: "
            f"{_first_line(exc)}); {fix}"
        ) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFolderError(f"{where}: lacks the columns {', '.join(missing)}; {fix}")
    return df
