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

import pandas as pd

__all__ = [
    "TIMESERIES_COLUMNS",
    "RunFolderError",
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


def read_run_json(
    path: Path, which: str = "", fix: str = "", required: tuple[str, ...] = ()
) -> dict:
    """The JSON object in ``path`` (``manifest.json``, ``summary.json``).

    Args:
        required: keys the object must have (e.g. :data:`MANIFEST_KEYS`).

    Raises:
        RunFolderError: ``[<which> ]<path>: cannot read it (<reason>); <fix>`` when it is
            missing, unreadable or not JSON, ``...: not a JSON object; <fix>`` when it holds
            another JSON value, ``...: lacks the keys 'scenario', 'seed'; <fix>`` when it
            lacks any of ``required``.
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
    return doc


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
