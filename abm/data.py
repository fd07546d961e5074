"""Loading and validating the shipped calibration data (``abm/data/*.csv``).

Every table keeps the ``source`` and ``status`` columns of ``../shared/data`` (see
``abm/data/SOURCES.md``). :func:`load_table` checks column names, types, units and the
vocabulary (regions, elements, deposits, stages) and raises :class:`DataError` naming the
file, the row and the field on any problem.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import pandas as pd

DATA_DIR = Path(str(resources.files("abm") / "data"))

STATUSES = {"verified", "secondary", "derived", "UNVERIFIED", "UNVERIFIED-recalled"}


class DataError(ValueError):
    """A calibration file is missing, malformed or uses unknown vocabulary."""


# file -> {column: kind}; kinds: "str", "float", "int", "bool", "date" (YYYY-MM), "status"
SCHEMAS: dict[str, dict[str, str]] = {
    "regions.csv": {"code": "str", "name": "str", "continent": "str", "alliance": "str?",
                    "usgs_names": "str", "source": "str", "status": "status"},
    "elements.csv": {"symbol": "str", "name": "str", "group": "str",
                     "price_2024_usd_kg": "float", "price_2024_source": "str",
                     "price_2024_status": "status", "price_2009_usd_kg": "float",
                     "price_2009_source": "str", "price_2009_status": "status"},
    "deposits.csv": {"deposit": "str", "element": "element", "percent_reo": "float+",
                     "source": "str", "status": "status"},
    "magnets.csv": {"grade": "str", "element": "element", "t_oxide_per_t_magnet": "float+",
                    "base_price_2024_usd_kg": "float+", "base_price_2009_usd_kg": "float+",
                    "conversion_cost_usd_kg": "float+", "source": "str", "status": "status"},
    "firms.csv": {"base_year": "int", "stage": "stage", "region": "region", "firm": "str?",
                  "product": "str", "base_output_t_per_yr": "float+", "n_firms": "int",
                  "unit_cost_usd_kg": "float+", "ht_share": "float?", "source": "str",
                  "status": "status"},
    "projects.csv": {"base_year": "int", "stage": "stage", "region": "region", "firm": "str",
                     "product": "str", "capacity_t_per_yr": "float+", "announced": "date",
                     "online": "date", "needs_support": "bool", "unit_cost_usd_kg": "float+",
                     "ht_share": "float?", "source": "str", "status": "status"},
    "demand.csv": {"base_year": "int", "region": "region", "sector": "str",
                   "quantity": "float+", "unit": "str", "source": "str", "status": "status"},
    "sectors.csv": {"sector": "str", "share_of_civil_magnets": "float+", "ht_fraction": "float+",
                    "smco_fraction": "float+", "kg_magnet_per_unit": "float+",
                    "unit_value_usd": "float+", "source": "str", "status": "status"},
}

STAGES = ("mining", "separation", "magnets")
ELEMENT_SYMBOLS = ("La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er",
                   "Tm", "Yb", "Lu", "Y", "Sc")


def _fail(file: str, row: int | None, field: str, msg: str) -> DataError:
    where = f"{file}" + (f", data row {row + 1}" if row is not None else "")
    return DataError(f"{where}, field '{field}': {msg}")


@functools.cache
def _region_codes() -> tuple[str, ...]:
    df = pd.read_csv(DATA_DIR / "regions.csv", dtype=str, keep_default_na=False)
    return tuple(df["code"])


def validate_frame(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Check a calibration table against its schema and return it with typed columns.

    Args:
        df: the raw table (all columns as strings).
        file: the file name, a key of :data:`SCHEMAS` (used for the schema and messages).

    Returns:
        A copy with numeric, boolean and date columns converted.

    Raises:
        DataError: a missing column, an empty required value, a non-number, a negative
            quantity, an unknown region/element/stage/status; the message names the file,
            the data row (1-based) and the field, and lists the allowed values.
    """
    schema = SCHEMAS[file]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise _fail(file, None, missing[0], f"missing column; expected columns {list(schema)}")
    out = df.copy()
    regions = _region_codes() if file != "regions.csv" else ()
    for col, kind in schema.items():
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        values = []
        for i, raw in enumerate(df[col].tolist()):
            raw = "" if raw is None else str(raw).strip()
            if raw == "" or raw.lower() == "nan":
                if optional:
                    values.append(None)
                    continue
                raise _fail(file, i, col, "empty value (required)")
            if kind in ("float", "float+", "int"):
                try:
                    v = float(raw) if kind != "int" else int(raw)
                except ValueError:
                    raise _fail(file, i, col, f"'{raw}' is not a number") from None
                if kind == "float+" and v < 0:
                    raise _fail(file, i, col, f"negative value {v}; must be >= 0")
                values.append(v)
            elif kind == "bool":
                if raw.lower() not in ("true", "false"):
                    raise _fail(file, i, col, f"'{raw}' is not true/false")
                values.append(raw.lower() == "true")
            elif kind == "date":
                try:
                    values.append(pd.Period(raw, freq="M"))
                except (ValueError, TypeError):
                    raise _fail(file, i, col, f"'{raw}' is not a YYYY-MM date") from None
            elif kind == "status":
                if raw not in STATUSES:
                    raise _fail(file, i, col,
                                f"unknown status '{raw}'; allowed: {sorted(STATUSES)}")
                values.append(raw)
            elif kind == "region":
                if raw not in regions:
                    raise _fail(file, i, col, f"unknown region '{raw}'; allowed: {list(regions)}")
                values.append(raw)
            elif kind == "element":
                if raw not in ELEMENT_SYMBOLS:
                    raise _fail(file, i, col,
                                f"unknown element '{raw}'; allowed: {list(ELEMENT_SYMBOLS)}")
                values.append(raw)
            elif kind == "stage":
                if raw not in STAGES:
                    raise _fail(file, i, col, f"unknown stage '{raw}'; allowed: {list(STAGES)}")
                values.append(raw)
            else:
                values.append(raw)
        out[col] = values
    return out


@functools.cache
def _load_cached(file: str, directory: str) -> pd.DataFrame:
    path = Path(directory) / file
    if not path.exists():
        raise DataError(f"{path}: calibration file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse CSV ({exc})") from exc
    return validate_frame(df, file)


def load_table(file: str, directory: Path | str | None = None) -> pd.DataFrame:
    """Load one validated calibration table (cached; returns a copy).

    Args:
        file: a file name listed in :data:`SCHEMAS`, e.g. ``"firms.csv"``.
        directory: folder to read from (default: the shipped ``abm/data``).

    Raises:
        DataError: unknown file name, file missing, or validation failure.
    """
    if file not in SCHEMAS:
        raise DataError(f"unknown calibration table '{file}'; allowed: {sorted(SCHEMAS)}")
    return _load_cached(file, str(directory or DATA_DIR)).copy()
