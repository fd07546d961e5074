"""Loading and validating the shipped calibration data (``abm/data/*.csv``).

Every table keeps the ``source`` and ``status`` columns of ``../shared/data`` (see
``abm/data/SOURCES.md``). :func:`load_table` checks column names, types, units, ranges,
unique keys and the vocabulary (regions, elements, stages and the allowed values in
:data:`CHOICES`) and raises :class:`DataError` naming the file, the row and the field on any
problem. :func:`rampup_shares` and :func:`fit_rampup` turn ``rampup.csv`` into the share of
nameplate reached by years since start-up and fit ``share(t) = 1 - exp(-(t - t0)/tau)``.
"""

from __future__ import annotations

import contextvars
import csv
import difflib
import functools
import hashlib
import io
import math
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from abm.goods import DEPOSITS, ELEMENT_SYMBOLS, GRADES, STAGES

DATA_DIR = Path(str(resources.files("abm") / "data"))

#: Environment variable naming a folder of replacement calibration tables: a table found
#: there is read instead of the shipped one (same name, same schema), the others are the
#: shipped ones. ``ree run --data DIR`` and ``ree reproduce --data DIR`` set it.
DATA_ENV = "REE_DATA_DIR"

STATUSES = {"verified", "secondary", "derived", "UNVERIFIED", "UNVERIFIED-recalled"}


class DataError(ValueError):
    """A calibration file is missing, malformed or uses unknown vocabulary."""


# file -> {column: kind}; a trailing "?" makes the value optional. Kinds: "str", "float",
# "float+" (>= 0), "int", "count" (whole number >= 1), "year", "share" (0 to 1), "percent"
# (0 to 100), "bool" (true/false), "date" (YYYY-MM), "day" (YYYY, YYYY-MM or YYYY-MM-DD),
# "period" (starts with YYYY[-MM[-DD]], a note may follow: "2014-12 (yearend)", "2025-01/04"),
# "amount" (a non-negative number or range, a note may follow: ">90", "320-360", "~4 (3+)"),
# "status", "region", "element", "stage" and "choice:<name>" (one of CHOICES[name])
#: columns of a table of dated price points (prices_2010_2012.csv, prices_2025.csv)
_PRICE_POINTS = {
    "item": "str",
    "date": "day",
    "price_low": "float+",
    "price_high": "float+?",
    "unit": "choice:price_unit",
    "basis": "choice:price_basis",
    "source": "str",
    "status": "status",
}

SCHEMAS: dict[str, dict[str, str]] = {
    "regions.csv": {
        "code": "str",
        "name": "str",
        "continent": "str",
        "alliance": "choice:alliance?",
        "usgs_names": "str",
        "source": "str",
        "status": "status",
    },
    "elements.csv": {
        "symbol": "element",
        "name": "str",
        "group": "choice:element_group",
        "price_2024_usd_kg": "float+",
        "price_2024_source": "str",
        "price_2024_status": "status",
        "price_2009_usd_kg": "float+",
        "price_2009_source": "str",
        "price_2009_status": "status",
    },
    "deposits.csv": {
        "deposit": "choice:deposit",
        "element": "element",
        "percent_reo": "percent",
        "source": "str",
        "status": "status",
    },
    "magnets.csv": {
        "grade": "choice:grade",
        "element": "element",
        "t_oxide_per_t_magnet": "share",
        "t_oxide_per_t_magnet_2009": "share",
        "base_price_2024_usd_kg": "float+",
        "base_price_2009_usd_kg": "float+",
        "source": "str",
        "status": "status",
    },
    "firms.csv": {
        "base_year": "year",
        "stage": "stage",
        "region": "region",
        "firm": "str?",
        "product": "str",
        "base_output_t_per_yr": "float+",
        "n_firms": "count",
        "unit_cost_usd_kg": "float+",
        "ht_share": "share?",
        "source": "str",
        "status": "status",
        "separates": "choice:circuit?",
        "heavy_circuit_from": "date?",
    },
    "projects.csv": {
        "base_year": "year",
        "stage": "stage",
        "region": "region",
        "firm": "str",
        "product": "str",
        "capacity_t_per_yr": "float+",
        "announced": "date",
        "online": "date",
        "needs_support": "bool",
        "unit_cost_usd_kg": "float+",
        "ht_share": "share?",
        "source": "str",
        "status": "status",
    },
    "demand.csv": {
        "base_year": "year",
        "region": "region",
        "sector": "str",
        "quantity": "float+",
        "unit": "str",
        "source": "str",
        "status": "status",
    },
    "sectors.csv": {
        "sector": "str",
        "share_of_civil_magnets": "share",
        "ht_fraction": "share",
        "smco_fraction": "share",
        "kg_magnet_per_unit": "float+",
        "unit_value_usd": "float+",
        "source": "str",
        "status": "status",
    },
    # ---- reference tables (sources of the calibration; read by tests, docs and world.py)
    "mine_production.csv": {
        "country": "str",
        "year": "year",
        "tonnes_reo": "float+",
        "source": "str",
        "mcs_edition": "str",
        "status": "status",
    },
    "reserves.csv": {
        "country": "str",
        "mcs_edition": "str",
        "as_of_year": "year",
        "reserves_t_reo": "amount?",
        "source": "str",
        "status": "status",
    },
    "processing_magnets.csv": {
        "year": "year",
        "stage": "str",
        "country": "str",
        "metric": "str",
        "value": "amount",
        "unit": "str",
        "source": "str",
        "status": "status",
    },
    "trade_flows.csv": {
        "period": "period",
        "flow": "str",
        "product": "str",
        "tonnes": "float+",
        "mom_pct": "float?",
        "yoy_pct": "float?",
        "source": "str",
        "status": "status",
    },
    "prices.csv": {
        "element": "str",
        "date": "period",
        "usd_per_kg": "amount",
        "basis": "str",
        "source": "str",
        "status": "status",
    },
    "policy_events.csv": {
        "date": "period",
        "actor": "str",
        "target": "str",
        "measure": "str",
        "elements": "str",
        "value": "str",
        "source": "str",
        "status": "status",
    },
    "demand_parameters.csv": {
        "parameter": "str",
        "value": "str",
        "unit": "str",
        "year": "period",
        "source": "str",
        "status": "status",
    },
    # ---- issue 12 tables: pipeline, ramp-up, quotas, demand outlook, 2010-12 episode
    "project_pipeline.csv": {
        "project_id": "str",
        "firm": "str",
        "project": "str",
        "region": "region",
        "country": "str",
        "stage": "choice:pipeline_stage",
        "product": "str",
        "capacity_t_per_yr": "float+?",
        "capacity_unit": "choice:capacity_unit",
        "capex_usd_m": "float+?",
        "project_status": "choice:project_status",
        "announced": "date?",
        "earliest_start": "date?",
        "decided": "date?",
        "source": "str",
        "status": "status",
    },
    "rampup.csv": {
        "project": "str",
        "period": "str",
        "period_start": "date",
        "period_years": "float+",
        "start_up": "date",
        "output_t": "float+",
        "nameplate_t_per_yr": "float+",
        "basis": "str",
        "source": "str",
        "status": "status",
    },
    "china_quotas.csv": {
        "year": "year",
        "quota": "choice:quota",
        "group": "choice:quota_group",
        "tonnes": "float+?",
        "published": "choice:published",
        "actual_t": "float+?",
        "actual_basis": "str?",
        "source": "str",
        "status": "status",
    },
    "demand_outlook.csv": {
        "outlook": "str",
        "scenario": "choice:scenario",
        "sector": "choice:sector",
        "metric": "choice:metric",
        "year_from": "year",
        "year_to": "year",
        "value": "float",
        "unit": "str",
        "source": "str",
        "status": "status",
    },
    "end_use_activity.csv": {
        "series": "str",
        "sector": "choice:activity_sector",
        "year": "year",
        "value": "float",
        "unit": "str",
        "driver": "choice:driver",
        "source": "str",
        "status": "status",
    },
    "sector_mix.csv": {
        "year": "year",
        "sector": "choice:sector",
        "share": "share",
        "basis": "str",
        "source": "str",
        "status": "status",
    },
    "supply_outlook.csv": {
        "outlook": "str",
        "scenario": "choice:scenario",
        "year": "year",
        "stage": "choice:outlook_stage",
        "region": "region",
        "share": "share",
        "source": "str",
        "status": "status",
    },
    "episode_2010_12.csv": {
        "date": "day",
        "event": "choice:episode_event",
        "actor": "str",
        "quantity": "float+?",
        "unit": "str?",
        "source": "str",
        "status": "status",
    },
    "prices_2010_2012.csv": _PRICE_POINTS,
    # oxide prices in Europe and in China after China's export licences of 4 April 2025
    "prices_2025.csv": _PRICE_POINTS,
    # ---- issue 13 tables: country economic accounts (abm/accounts.py)
    "io_multipliers.csv": {
        "region": "choice:io_region",
        "sector": "choice:io_sector",
        "io_industry": "str",
        "va_share": "share",
        "va_multiplier": "float+",
        "source": "str",
        "status": "status",
        "note": "str?",
    },
    "gdp.csv": {
        "region": "region",
        "year": "year",
        "gdp_usd_bn": "float+",
        "source": "str",
        "status": "status",
        "note": "str?",
    },
    "defense_platforms.csv": {
        "platform": "str",
        "ree_lb": "float+",
        "ree_kg": "float+",
        "unit_cost_usd": "float+",
        "cost_basis": "str",
        "source": "str",
        "status": "status",
    },
}

# allowed values of the "choice:<name>" kinds
CHOICES: dict[str, tuple[str, ...]] = {
    "alliance": ("allied",),
    # separation circuits: every element, or the light ones (La, Ce, Pr, Nd) only
    "circuit": ("all", "light"),
    "element_group": ("light", "medium", "heavy"),
    "deposit": DEPOSITS,
    "grade": GRADES,
    "pipeline_stage": ("mining", "cracking", "separation", "metal", "magnets", "recycling"),
    "capacity_unit": ("reo", "ndpr_oxide", "dytb_oxide", "hre_feed", "magnet"),
    "project_status": (
        "operating",
        "construction",
        "committed",
        "announced",
        "feasibility",
        "on_hold",
        "closed",
    ),
    "quota": ("mining", "separation", "export"),
    "quota_group": ("total", "light", "heavy"),
    "published": ("yes", "no", "unknown"),
    # end_use_activity.csv: the series that drives its sector's demand, or a reference row
    "driver": ("yes", "no"),
    # end_use_activity.csv: the magnet sectors whose demand recorded activity drives
    # (abm.demand.ACTIVITY_SECTOR)
    "activity_sector": ("ev", "wind", "electronics", "industrial_other"),
    "scenario": ("history", "base", "stated_policies", "aps", "company"),
    "sector": (
        "all",
        "ev",
        "wind",
        "ev_wind",
        "clean_energy",
        "non_ev",
        "electronics",
        "industrial",
        "industrial_other",
        "other",
    ),
    "metric": ("demand_t", "growth_pct_yr", "supply_growth_pct_yr", "share"),
    "outlook_stage": ("mining", "refining", "magnets"),
    "episode_event": (
        "production_halt",
        "stockpile_plan",
        "state_purchase",
        "price_support_purchase",
        "speculative_buying",
        "price_peak",
        "industry_call",
        "tax",
        "mining_quota",
        "export_shortfall",
        "thrifting",
        "smuggling",
        "exports",
        "imports",
        "demand",
        "minimum_export_price",
    ),
    # "x China domestic": a quoted ratio to China's domestic price of the same month, where
    # the source gives no level (prices_2025.csv: Benchmark's PrNd in Europe, July 2025)
    "price_unit": ("USD/kg", "USD/kg REO", "CNY/kg", "x China domestic"),
    "io_region": ("US", "JP", "EU", "KR", "CN", "default"),
    "io_sector": ("ev", "wind", "electronics", "industrial", "defense", "non_magnet"),
    "price_basis": (
        "fob_china",
        "fob_china_unit_value",
        "china_domestic",
        "international",
        "lynas_basket",
        # delivered or CIF Europe (Argus "Europe", Benchmark CIF Europe, CIF Rotterdam)
        "europe",
    ),
}

# closed numeric ranges (lo, hi) per (file, column); checked after type conversion
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    # reference prices divide and scale everything priced: a zero price is no price
    ("elements.csv", "price_2024_usd_kg"): (0.0, 1e5),
    ("elements.csv", "price_2009_usd_kg"): (0.0, 1e5),
    ("magnets.csv", "base_price_2024_usd_kg"): (0.01, 1e5),
    ("magnets.csv", "base_price_2009_usd_kg"): (0.01, 1e5),
    # a month-on-month or year-on-year change cannot fall below -100%
    ("trade_flows.csv", "mom_pct"): (-100.0, 1e4),
    ("trade_flows.csv", "yoy_pct"): (-100.0, 1e4),
    ("rampup.csv", "period_years"): (0.05, 1.0),
    ("rampup.csv", "nameplate_t_per_yr"): (1.0, 1e6),
    ("project_pipeline.csv", "capacity_t_per_yr"): (1.0, 1e6),
    ("project_pipeline.csv", "capex_usd_m"): (0.1, 1e5),
    ("china_quotas.csv", "tonnes"): (1.0, 1e6),
    ("demand_outlook.csv", "value"): (0.0, 1e7),
    # a level whose ratios are growth rates: zero would be no activity at all
    ("end_use_activity.csv", "value"): (1e-3, 1e12),
    ("io_multipliers.csv", "va_multiplier"): (1.0, 10.0),
    ("gdp.csv", "gdp_usd_bn"): (1.0, 1e6),
    ("defense_platforms.csv", "ree_kg"): (1.0, 1e5),
    # divisors of the magnet users' value per kilogram: zero would divide by zero
    ("sectors.csv", "kg_magnet_per_unit"): (1e-4, 1e5),
    ("sectors.csv", "unit_value_usd"): (1.0, 1e10),
    # a firm or a project larger than world output (about 390 kt REO in 2024) is a typo
    ("firms.csv", "base_output_t_per_yr"): (0.0, 1e6),
    ("projects.csv", "capacity_t_per_yr"): (1.0, 1e6),
}

# columns whose combined values must be unique in each table
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "regions.csv": ("code",),
    "elements.csv": ("symbol",),
    "deposits.csv": ("deposit", "element"),
    "magnets.csv": ("grade", "element"),
    "firms.csv": ("base_year", "stage", "region", "firm", "product"),
    "projects.csv": ("base_year", "stage", "region", "firm", "product"),
    "demand.csv": ("base_year", "region", "sector"),
    "sectors.csv": ("sector",),
    "mine_production.csv": ("country", "year", "mcs_edition"),
    "reserves.csv": ("country", "mcs_edition"),
    "processing_magnets.csv": ("year", "stage", "country", "metric", "unit"),
    "trade_flows.csv": ("period", "flow", "product"),
    "prices.csv": ("element", "date", "basis"),
    "policy_events.csv": ("date", "actor", "target", "measure", "elements"),
    "demand_parameters.csv": ("parameter",),
    "project_pipeline.csv": ("project_id",),
    "rampup.csv": ("project", "period"),
    "china_quotas.csv": ("year", "quota", "group"),
    "demand_outlook.csv": ("outlook", "scenario", "sector", "metric", "year_from", "year_to"),
    "end_use_activity.csv": ("series", "year"),
    "sector_mix.csv": ("year", "sector", "basis"),
    "supply_outlook.csv": ("outlook", "scenario", "year", "stage", "region"),
    "episode_2010_12.csv": ("date", "event", "actor"),
    "prices_2010_2012.csv": ("item", "date", "basis"),
    "prices_2025.csv": ("item", "date", "basis"),
    "io_multipliers.csv": ("region", "sector"),
    "gdp.csv": ("region", "year"),
    "defense_platforms.csv": ("platform",),
}

# cross-field rules: (file) -> [(field named in the message, test on a typed row, message)]
#: a price point's range: high at least low (prices_2010_2012.csv, prices_2025.csv)
_PRICE_RANGE = [
    (
        "price_high",
        lambda r: pd.isna(r["price_high"]) or r["price_high"] >= r["price_low"],
        "must be >= price_low",
    )
]

ROW_RULES: dict[str, list[tuple[str, object, str]]] = {
    "projects.csv": [
        (
            "online",
            lambda r: pd.isna(r["announced"]) or str(r["online"]) >= str(r["announced"]),
            "the month the project comes online cannot be before it was announced",
        )
    ],
    "firms.csv": [
        (
            "separates",
            lambda r: (r["stage"] == "separation") == (not pd.isna(r["separates"])),
            "required for a separation row ('all' or 'light') and empty for other stages",
        ),
        (
            "heavy_circuit_from",
            lambda r: pd.isna(r["heavy_circuit_from"]) or r["separates"] == "light",
            "a heavy circuit's start month is given only for a plant that separates 'light'",
        ),
    ],
    "elements.csv": [
        (
            c,
            lambda r, c=c: r["symbol"] == "Pm" or r[c] > 0,
            "must be > 0 (only Pm, which is not mined, has price 0)",
        )
        for c in ("price_2024_usd_kg", "price_2009_usd_kg")
    ],
    "processing_magnets.csv": [
        (
            "value",
            lambda r: r["unit"] != "%" or r["value"][-1] <= 100.0,
            "a percentage must lie in [0, 100]",
        )
    ],
    "china_quotas.csv": [
        (
            "tonnes",
            lambda r: r["published"] != "yes" or pd.notna(r["tonnes"]),
            "empty value; required when published is 'yes'",
        )
    ],
    "demand_outlook.csv": [
        ("year_to", lambda r: r["year_to"] >= r["year_from"], "must be >= year_from"),
        (
            "value",
            lambda r: r["metric"] != "share" or 0.0 <= r["value"] <= 1.0,
            "a share must lie in [0, 1]",
        ),
    ],
    "prices_2010_2012.csv": _PRICE_RANGE,
    "prices_2025.csv": _PRICE_RANGE,
    "rampup.csv": [
        (
            "period_start",
            lambda r: r["period_start"] >= r["start_up"] - 1,
            "period starts more than a month before start_up",
        )
    ],
    "defense_platforms.csv": [
        (
            "ree_kg",
            lambda r: abs(r["ree_kg"] - 0.45359237 * r["ree_lb"]) <= 0.01 * r["ree_kg"],
            "must equal ree_lb x 0.4536 (within 1%)",
        )
    ],
}

#: Allowed total of a deposit's composition in deposits.csv, % of REO (inclusive). The
#: shares are normalised by their total where used (:func:`abm.goods.deposit_compositions`);
#: published analyses sum to about 100 (the shipped table: 99.5 to 102.0), and a total
#: further off is a typing error, not rounding.
DEPOSIT_SUM_PERCENT = (98.0, 102.0)

#: Allowed rare-earth mass of a magnet grade's bill of materials in magnets.csv, t oxide per
#: t magnet (inclusive): stoichiometric Nd2Fe14B holds 26.7% Nd by mass and sintered grades
#: 28-33% rare earths with their rare-earth-rich grain boundaries; SmCo5 holds 34% Sm and
#: Sm2Co17 23-26% (the shipped bills: 0.26-0.30). A total outside this range is a typing
#: error (session 31: a high-temperature grade at 1.97 t per t ran without a word).
MAGNET_RE_MASS = (0.15, 0.5)
_MAGNET_NOTE = "the rare-earth mass of a sintered magnet"
_DEPOSIT_NOTE = "the shares are normalised by their sum"

# table-level rules: file -> [(group column, summed column, (lo, hi), groups that must
# appear, what the sum is, what the range means)]; each group's total of the summed column
# must lie in [lo, hi]
GROUP_SUMS: dict[str, list[tuple[str, str, tuple[float, float], tuple[str, ...], str, str]]] = {
    "deposits.csv": [
        ("deposit", "percent_reo", DEPOSIT_SUM_PERCENT, DEPOSITS, "% of REO", _DEPOSIT_NOTE),
    ],
    "magnets.csv": [
        ("grade", col, MAGNET_RE_MASS, GRADES, " t oxide per t magnet", _MAGNET_NOTE)
        for col in ("t_oxide_per_t_magnet", "t_oxide_per_t_magnet_2009")
    ],
}

YEAR_RANGE = (1990, 2100)
_DAY_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?=$|[\s(/-])")
_AMOUNT_RE = re.compile(
    r"^[<>~]?\s*(\d[\d,]*(?:\.\d+)?)(?:\s*-\s*(\d[\d,]*(?:\.\d+)?))?"
    r"(?=$|[\s(%+])"
)
_MISSING = {"", "nan", "na", "n/a"}


# file line of each data row of the table being validated (set by validate_frame when the
# table was read from a file), so that messages point where an editor shows the row
_ROW_LINES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "_ROW_LINES", default=None
)


def _numeric_range(file: str, col: str, kind: str) -> tuple[float, float]:
    """Allowed range of a numeric cell of kind ``kind`` in ``file``'s column ``col``."""
    return {
        "year": YEAR_RANGE,
        "share": (0.0, 1.0),
        "percent": (0.0, 100.0),
        "count": (1, 10**6),
        "float+": RANGES.get((file, col), (0.0, math.inf)),
    }.get(kind, RANGES.get((file, col), (-math.inf, math.inf)))


#: the schema kinds whose cells are numbers
_NUMERIC_KINDS = ("float", "float+", "int", "count", "year", "share", "percent")


def _allowed(file: str, col: str) -> str:
    """What a cell of ``file``'s column ``col`` may hold, for error messages: the numeric
    kinds' range, a choice's values, else the column's kind."""
    kind = SCHEMAS[file][col].rstrip("?")
    if kind.startswith("choice:"):
        return f"allowed: {list(CHOICES[kind.split(':', 1)[1]])}"
    if kind in _NUMERIC_KINDS:
        lo, hi = _numeric_range(file, col, kind)
        what = "a whole number" if kind in ("int", "count", "year") else "a number"
        if math.isinf(lo) and math.isinf(hi):
            return f"allowed {what}"
        if math.isinf(hi):
            return f"allowed {what} >= {lo:g}"
        return f"allowed {what} from {lo:g} to {hi:g}"
    return f"allowed a value of kind '{kind}'"


#: the free-text column any calibration table may carry besides its schema's columns
NOTE_COLUMN = "note"


def _row_text(row: int) -> str:
    """``data row N`` (1-based), with its file line where known: ``data row 3 (line 4)``."""
    lines = _ROW_LINES.get()
    line = f" (line {lines[row]})" if lines is not None and row < len(lines) else ""
    return f"data row {row + 1}{line}"


def _fail(file: str, row: int | None, field: str, msg: str) -> DataError:
    where = f"{file}" + (f", {_row_text(row)}" if row is not None else "")
    return DataError(f"{where}, field '{field}': {msg}")


def _data_row_lines(text: str) -> list[int]:
    """File line (1-based) on which each data row of CSV ``text`` starts, as pandas reads
    it: blank lines skipped, a quoted field may span lines."""
    reader = csv.reader(io.StringIO(text))
    starts, end = [], 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if any(field.strip() for field in record):
            starts.append(start)
    return starts[1:]  # the first record is the header


def _region_codes() -> tuple[str, ...]:
    """The region codes of the ``regions.csv`` the model reads (:func:`table_path`: the
    ``REE_DATA_DIR`` folder's if it holds one, else the shipped one)."""
    return _region_codes_in(str(table_path("regions.csv")))


@functools.cache
def _region_codes_in(path: str) -> tuple[str, ...]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return tuple(df["code"])


def _unknown_region(file: str, name: str, row: int, col: str, code: str, regions) -> DataError:
    """The error for a region ``code`` that is not in ``regions``. When ``name`` is a shipped
    table (in ``abm/data``) and the codes come from a replacement ``regions.csv`` (in the
    ``REE_DATA_DIR`` folder), the shipped table is not at fault: the line says the code is
    used there but missing from the replacement, and how to fix it."""
    allowed = list(regions)
    over = table_path("regions.csv")
    if over.parent != DATA_DIR and Path(name).parent == DATA_DIR:
        return DataError(
            f"region '{code}' is used in {name}, {_row_text(row)}, field '{col}' (shipped, "
            f"not replaced), but missing from the replacement {over}; allowed region codes: "
            f"{allowed}; add '{code}' to {over}, or put a {file} without it in {over.parent}"
        )
    return _fail(name, row, col, f"unknown region '{code}'; allowed: {allowed}")


def validate_frame(
    df: pd.DataFrame, file: str, origin: str | None = None, lines: list[int] | None = None
) -> pd.DataFrame:
    """Check a calibration table against its schema and return it with typed columns.

    Args:
        df: the raw table (all columns as strings).
        file: the file name, a key of :data:`SCHEMAS` (used for the schema and messages).
        origin: how messages name the file (default ``file``; :func:`load_table` gives the
            path it read).
        lines: the file line of each data row, if read from a file; messages then give it
            beside the data row (``data row 3 (line 4)``).

    Returns:
        A copy with numeric, boolean and date columns converted.

    Raises:
        DataError: a missing column, an empty required value, a non-number, a negative
            quantity, a share outside [0, 1], a percentage outside [0, 100], a count below 1,
            a value outside :data:`RANGES`, an unknown region/element/stage/status/choice, a
            repeated key (:data:`UNIQUE_KEYS`) or no data rows; the message names the file,
            the data row (1-based; with its file line where known) and the field, and gives
            the allowed values.
    """
    token = _ROW_LINES.set(lines)
    try:
        return _validate_frame(df, file, origin)
    finally:
        _ROW_LINES.reset(token)


def _validate_frame(df: pd.DataFrame, file: str, origin: str | None) -> pd.DataFrame:
    schema = SCHEMAS[file]
    name = origin or file
    missing = [c for c in schema if c not in df.columns]
    # an extra column would otherwise be ignored silently; every table may carry a
    # free-text 'note' column
    unknown = [str(c) for c in df.columns if c not in schema and c != NOTE_COLUMN]
    if missing:
        also = f"; unknown column(s) {unknown}: misspelt?" if unknown else ""
        raise _fail(
            name, None, missing[0], f"missing column; expected columns {list(schema)}{also}"
        )
    if unknown:
        raise _fail(
            name,
            None,
            str(unknown[0]),
            f"unknown column; expected columns {list(schema)} and an optional '{NOTE_COLUMN}'",
        )
    if df.empty:
        raise DataError(
            f"{name}: no data rows; expected at least one row under the header {list(df.columns)}"
        )
    columns = {c: df[c].tolist() for c in df.columns}  # typed in place, one frame at the end
    rule_values: dict[str, list] = {}
    regions = _region_codes() if file != "regions.csv" else ()
    for col, kind in schema.items():
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        values = []
        amounts: dict[int, list[float]] = {}
        for i, raw in enumerate(columns[col]):
            raw = "" if raw is None else str(raw).strip()
            # "" and "nan" are empty anywhere; "NA" and "n/a" only where a value is optional
            if raw.lower() in ("", "nan") or (optional and raw.lower() in _MISSING):
                if optional:
                    values.append(None)
                    continue
                got = f" ('{raw}')" if raw else ""
                raise _fail(
                    name, i, col, f"empty value{got}; a value is required ({_allowed(file, col)})"
                )
            if kind in _NUMERIC_KINDS:
                whole = kind in ("int", "count", "year")
                try:
                    v = int(raw) if whole else float(raw)
                except ValueError:
                    what = "a whole number" if whole else "a number"
                    raise _fail(
                        name,
                        i,
                        col,
                        f"'{raw}' is not {what} (no thousands separator); {_allowed(file, col)}",
                    ) from None
                if not math.isfinite(v):
                    raise _fail(
                        name, i, col, f"'{raw}' is not a finite number; {_allowed(file, col)}"
                    )
                if kind == "float+" and v < 0:
                    raise _fail(name, i, col, f"negative value {v}; must be >= 0")
                lo, hi = _numeric_range(file, col, kind)
                if not lo <= v <= hi:
                    what = {"share": "a share", "percent": "a percentage", "count": "a count"}.get(
                        kind, "value"
                    )
                    raise _fail(name, i, col, f"{what} {v} out of range; allowed {lo} to {hi}")
                values.append(v)
            elif kind == "amount":
                hit = _AMOUNT_RE.match(raw)
                if not hit:
                    raise _fail(
                        name,
                        i,
                        col,
                        f"'{raw}' is not a non-negative amount; write a "
                        "number or a range (e.g. 92, >90, 320-360), a note may follow",
                    )
                nums = [float(x.replace(",", "")) for x in hit.groups() if x is not None]
                if len(nums) == 2 and nums[1] < nums[0]:
                    raise _fail(
                        name, i, col, f"range '{hit.group(0)}' runs backwards; write low-high"
                    )
                values.append(raw)
                amounts[i] = nums
            elif kind == "period":
                hit = _PERIOD_RE.match(raw)
                ok = (
                    bool(hit)
                    and YEAR_RANGE[0] <= int(hit.group(1)) <= YEAR_RANGE[1]
                    and (hit.group(2) is None or 1 <= int(hit.group(2)) <= 12)
                    and (hit.group(3) is None or 1 <= int(hit.group(3)) <= 31)
                )
                if not ok:
                    raise _fail(
                        name,
                        i,
                        col,
                        f"'{raw}' does not start with a YYYY, YYYY-MM or "
                        f"YYYY-MM-DD date (years {YEAR_RANGE[0]} to {YEAR_RANGE[1]})",
                    )
                values.append(raw)
            elif kind.startswith("choice:"):
                allowed = CHOICES[kind.split(":", 1)[1]]
                if raw not in allowed:
                    raise _fail(name, i, col, f"unknown value '{raw}'; allowed: {list(allowed)}")
                values.append(raw)
            elif kind == "day":
                try:
                    ok = bool(_DAY_RE.match(raw)) and pd.Timestamp(raw) is not None
                except ValueError:
                    ok = False
                if not ok:
                    raise _fail(name, i, col, f"'{raw}' is not a YYYY, YYYY-MM or YYYY-MM-DD date")
                values.append(raw)
            elif kind == "bool":
                if raw.lower() not in ("true", "false"):
                    raise _fail(name, i, col, f"'{raw}' is not true/false")
                values.append(raw.lower() == "true")
            elif kind == "date":
                hit = _MONTH_RE.match(raw)
                if not (
                    hit
                    and YEAR_RANGE[0] <= int(hit.group(1)) <= YEAR_RANGE[1]
                    and 1 <= int(hit.group(2)) <= 12
                ):
                    # pandas would read "May 2025", "2025Q3" or "1/5/2025" as some month
                    raise _fail(
                        name,
                        i,
                        col,
                        f"'{raw}' is not a YYYY-MM date "
                        f"(years {YEAR_RANGE[0]} to {YEAR_RANGE[1]}, e.g. 2025-05)",
                    )
                values.append(pd.Period(raw, freq="M"))
            elif kind == "status":
                if raw not in STATUSES:
                    raise _fail(
                        name, i, col, f"unknown status '{raw}'; allowed: {sorted(STATUSES)}"
                    )
                values.append(raw)
            elif kind == "region":
                if raw not in regions:
                    raise _unknown_region(file, name, i, col, raw, regions)
                values.append(raw)
            elif kind == "element":
                if raw not in ELEMENT_SYMBOLS:
                    raise _fail(
                        name, i, col, f"unknown element '{raw}'; allowed: {list(ELEMENT_SYMBOLS)}"
                    )
                values.append(raw)
            elif kind == "stage":
                if raw not in STAGES:
                    raise _fail(name, i, col, f"unknown stage '{raw}'; allowed: {list(STAGES)}")
                values.append(raw)
            else:
                values.append(raw)
        columns[col] = values
        if amounts:  # rules see the numbers of an amount, e.g. [90.0] for ">90"
            rule_values[col] = [amounts.get(i) for i in range(len(values))]
    _check_unique(columns, file, name)
    out = pd.DataFrame(columns, columns=df.columns)
    if file in ROW_RULES:
        _check_rules(out.assign(**rule_values), file, name)
    if file in GROUP_SUMS:
        _check_group_sums(out, file, name)
    if file == "end_use_activity.csv":
        check_driver_series(out, name)
    return out


def check_driver_series(df: pd.DataFrame, name: str = "end_use_activity.csv") -> None:
    """``end_use_activity.csv``: the rows with ``driver`` ``yes`` of a sector are one series
    with consecutive years (the demand path a sector follows, :mod:`abm.demand`).

    Args:
        df: the table (columns ``series``, ``sector``, ``year``, ``driver``; a RangeIndex,
            row ``i`` being data row ``i + 1``).
        name: the file named in the message.

    Raises:
        DataError: one line naming the file, the first offending data row and the field."""
    drivers = df[df["driver"] == "yes"]
    for sector in dict.fromkeys(drivers["sector"]):
        rows = drivers[drivers["sector"] == sector]
        series = list(dict.fromkeys(rows["series"]))
        if len(series) > 1:
            second = int(rows.index[rows["series"] == series[1]][0])
            raise _fail(
                name,
                second,
                "driver",
                f"sector '{sector}' has {len(series)} driver series ({', '.join(series)}); "
                "allowed: one (mark the others 'no')",
            )
        years = sorted(int(y) for y in rows["year"])
        for before, after in zip(years, years[1:], strict=False):
            if after != before + 1:
                row = int(rows.index[rows["year"] == after][0])
                raise _fail(
                    name,
                    row,
                    "year",
                    f"sector '{sector}' driver series '{series[0]}' has no 'yes' row for "
                    f"{before + 1}; allowed: consecutive years",
                )


def _check_group_sums(df: pd.DataFrame, file: str, name: str) -> None:
    """Apply the table-level sums of :data:`GROUP_SUMS`; the message names the group's
    first data row, its total and the allowed range."""
    for group, col, (lo, hi), required, unit, note in GROUP_SUMS.get(file, []):
        keys = df[group].tolist()
        for key in dict.fromkeys([*required, *keys]):
            rows = [i for i, k in enumerate(keys) if k == key]
            if not rows:
                raise _fail(
                    name,
                    None,
                    group,
                    f"no rows for {group} '{key}'; every {group} needs its composition "
                    f"({list(required)})",
                )
            total = round(float(sum(df[col].iloc[rows])), 9)
            if not lo <= total <= hi:
                span = (
                    f"data rows {rows[0] + 1}-{rows[-1] + 1}"
                    if len(rows) > 1
                    else f"data row {rows[0] + 1}"
                )
                raise _fail(
                    name,
                    rows[0],
                    col,
                    f"{group} '{key}' sums to {total:g}{unit} over its {span}; "
                    f"allowed {lo:g} to {hi:g} ({note})",
                )


def _check_rules(df: pd.DataFrame, file: str, name: str) -> None:
    """Apply the cross-field rules of :data:`ROW_RULES` to a typed table."""
    rows = df.to_dict("records")
    for field, test, msg in ROW_RULES.get(file, []):
        for i, row in enumerate(rows):
            if not test(row):
                raise _fail(name, i, field, msg)


def _check_unique(columns: dict[str, list], file: str, name: str) -> None:
    """Raise on the first repeated key of :data:`UNIQUE_KEYS` (message names both rows)."""
    key = UNIQUE_KEYS.get(file)
    if not key:
        return
    seen: dict[tuple, int] = {}
    for i, row in enumerate(zip(*(columns[k] for k in key), strict=True)):
        if row in seen:
            raise _fail(
                name,
                i,
                "+".join(key),
                f"duplicate key {row} (also {_row_text(seen[row])}); keys must be unique",
            )
        seen[row] = i


def _load_checked(file: str, directory: str) -> pd.DataFrame:
    """:func:`_load_cached`, keyed also by the ``regions.csv`` a table with region columns is
    checked against, so a table read before a replacement ``regions.csv`` was named (or after
    it was dropped) is checked again against the codes the model now reads."""
    regions = ""
    if file != "regions.csv" and "region" in (k.rstrip("?") for k in SCHEMAS[file].values()):
        regions = str(table_path("regions.csv"))
    return _load_cached(file, directory, regions)


@functools.cache
def _load_cached(file: str, directory: str, regions: str = "") -> pd.DataFrame:
    path = Path(directory) / file
    if not path.exists():
        raise DataError(f"{path}: calibration file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; expected the header "
            f"{','.join(SCHEMAS[file])},... and at least one data row"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte at offset {exc.start}); save it as UTF-8"
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: cannot parse CSV ({' '.join(str(exc).split())})") from None
    df = validate_frame(df, file, str(path), _data_row_lines(text))
    if file in COVERAGE and Path(directory).resolve() != DATA_DIR.resolve():
        _check_coverage(df, file, path, regions)
    return df


#: Tables whose rows the model reads by key, for every region it knows: a replacement must
#: hold a row for each key the shipped table holds (of the regions in the ``regions.csv``
#: in use), or the model would fail when it reads the missing one (GDP) or silently run
#: without it (no demand in a region, or none at all in a base year).
COVERAGE = {"gdp.csv": ("region", "year"), "demand.csv": ("base_year", "region", "sector")}


def _check_coverage(df: pd.DataFrame, file: str, path: Path, regions: str) -> None:
    """Raise :class:`DataError` when the replacement ``df`` of ``file`` lacks a key
    (:data:`COVERAGE`) that the shipped table has, for a region still in use."""
    cols = list(COVERAGE[file])
    shipped = _load_cached(file, str(DATA_DIR), str(DATA_DIR / "regions.csv"))
    in_use = set(_region_codes_in(regions))  # both tables have a region column
    have = set(map(tuple, df[cols].astype(str).to_numpy().tolist()))
    need = [
        k
        for k in map(tuple, shipped[cols].astype(str).to_numpy().tolist())
        if k[cols.index("region")] in in_use and k not in have
    ]
    if need:
        shown = ", ".join("/".join(k) for k in need[:4]) + (" ..." if len(need) > 4 else "")
        raise DataError(
            f"{path}: {len(need)} row(s) missing, keyed {'/'.join(cols)}: {shown} (the model "
            f"reads a row for every {', '.join(cols)} the shipped {file} has)"
        )


def override_dir() -> Path | None:
    """The folder of replacement tables named by ``REE_DATA_DIR`` (:data:`DATA_ENV`), or
    None when it is not set.

    Raises:
        DataError: the folder does not exist, or holds a ``.csv`` file that is not a
            calibration table (a misspelt name would otherwise be ignored silently).
    """
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(
            f"{DATA_ENV}={value}: not a folder; give a folder of calibration "
            "tables (CSV files named as in abm/data)"
        )
    for f in sorted(path.glob("*.csv")):
        if f.name not in SCHEMAS:
            close = difflib.get_close_matches(f.name, sorted(SCHEMAS), n=1)
            raise DataError(
                f"{f}: not a calibration table name; did you mean {close[0]!r}? "
                f"({len(SCHEMAS)} tables, named as in abm/data)"
                if close
                else f"{f}: not a calibration table name; allowed: {sorted(SCHEMAS)}"
            )
    return path


def table_path(file: str) -> Path:
    """Where ``file`` is read from: the ``REE_DATA_DIR`` folder if it holds the file, else
    the shipped ``abm/data``.

    Raises:
        DataError: as :func:`override_dir`.
    """
    over = override_dir()
    if over is not None and (over / file).exists():
        return over / file
    return DATA_DIR / file


def data_fingerprint() -> dict:
    """Provenance of the calibration data a run reads, for ``manifest.json``:
    ``{"data_dir": the REE_DATA_DIR folder or "shipped", "overridden": [file names read
    from it], "sha256": hash of every table's name and bytes as read}``.

    Raises:
        DataError: as :func:`override_dir`.
    """
    over = override_dir()
    h = hashlib.sha256()
    used = []
    for file in sorted(SCHEMAS):
        path = table_path(file)
        if over is not None and path.parent == over:
            used.append(file)
        h.update(file.encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return {
        "data_dir": str(over) if over is not None else "shipped",
        "overridden": used,
        "sha256": h.hexdigest(),
    }


def load_table(file: str, directory: Path | str | None = None) -> pd.DataFrame:
    """Load one validated calibration table (cached; returns a copy).

    Args:
        file: a file name listed in :data:`SCHEMAS`, e.g. ``"firms.csv"``.
        directory: folder to read from (default: :func:`table_path`: the ``REE_DATA_DIR``
            folder if it holds the file, else the shipped ``abm/data``).

    Raises:
        DataError: unknown file name, file missing, or validation failure.
    """
    if file not in SCHEMAS:
        raise DataError(f"unknown calibration table '{file}'; allowed: {sorted(SCHEMAS)}")
    folder = Path(directory) if directory else table_path(file).parent
    return _load_checked(file, str(folder)).copy()


def check_tables(directory: Path | str | None = None) -> None:
    """Load and validate every table of :data:`SCHEMAS` (cached), so a bad data file is
    reported before any work starts rather than when the model first reads it.

    Raises:
        DataError: the first table that fails (one line naming the file, row and field).
    """
    for file in SCHEMAS:
        _load_checked(file, str(Path(directory) if directory else table_path(file).parent))


# ------------------------------------------------------------------------------ ramp-up curve
@dataclass(frozen=True)
class RampupFit:
    """Least-squares fit of ``share(t) = 1 - exp(-(t - t0) / tau)`` (0 before ``t0``).

    Attributes:
        tau: time constant, years.
        t0: delay before output starts, years (0 unless fitted with ``shifted=True``).
        rmse: root-mean-square error of the fitted shares (share of nameplate).
        n: number of observations used.
    """

    tau: float
    t0: float
    rmse: float
    n: int

    def share(self, t_years: float | np.ndarray) -> np.ndarray:
        """Fitted share of nameplate after ``t_years`` years since start-up (array, 0..1)."""
        t = np.asarray(t_years, dtype=float)
        return np.where(t > self.t0, 1.0 - np.exp(-(t - self.t0) / self.tau), 0.0)


def rampup_shares(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ramp-up observations with years since start-up and share of nameplate.

    Args:
        df: a validated ``rampup.csv`` table (default: the shipped one).

    Returns:
        The table plus ``t_mid_yr`` (years from ``start_up`` to the middle of the period,
        months / 12) and ``share`` (output / (nameplate x period_years)); one row per period.
        Source of each number: the row's ``source`` column (USGS MCS, Lynas and MP releases).
    """
    df = load_table("rampup.csv") if df is None else df.copy()
    months = [(p - s).n for p, s in zip(df["period_start"], df["start_up"], strict=True)]
    df["t_mid_yr"] = np.array(months, dtype=float) / 12.0 + df["period_years"] / 2.0
    df["share"] = df["output_t"] / (df["nameplate_t_per_yr"] * df["period_years"])
    return df


def fit_rampup(
    shares: pd.DataFrame, shifted: bool = False, min_period_years: float = 0.5
) -> RampupFit:
    """Fit the exponential approach to nameplate to ramp-up observations.

    Args:
        shares: output of :func:`rampup_shares` (optionally filtered to some projects).
        shifted: also fit the delay ``t0`` (years); else ``t0 = 0``.
        min_period_years: drop shorter periods (quarters overlap the fiscal years).

    Returns:
        :class:`RampupFit` (tau and t0 in years).

    Raises:
        ValueError: fewer observations than fitted parameters.
    """
    from scipy.optimize import least_squares  # 1 s to import: only where a fit is made

    d = shares[shares["period_years"] >= min_period_years]
    t = d["t_mid_yr"].to_numpy(float)
    y = d["share"].to_numpy(float)
    k = 2 if shifted else 1
    if len(t) < k + 1:
        raise ValueError(f"fit_rampup: {len(t)} observations, need at least {k + 1}")

    def resid(p):
        tau, t0 = (p[0], p[1]) if shifted else (p[0], 0.0)
        return np.where(t > t0, 1.0 - np.exp(-(t - t0) / tau), 0.0) - y

    x0, lo, hi = ([2.0, 0.3], [0.05, 0.0], [50.0, 5.0]) if shifted else ([2.0], [0.05], [50.0])
    res = least_squares(resid, x0, bounds=(lo, hi))
    tau, t0 = (float(res.x[0]), float(res.x[1])) if shifted else (float(res.x[0]), 0.0)
    return RampupFit(tau=tau, t0=t0, rmse=float(np.sqrt(np.mean(res.fun**2))), n=len(t))
