"""Checks against recorded history outside the reproduction targets.

The targets (:mod:`experiments.reproduce.targets`) are what the model is calibrated against.
The checks here are recorded prices and trade of 2011-2015 that no target names: the fall
of Nd and Dy oxide prices after the 2011 peak, La and Ce oxide prices abroad in 2011-12,
and China's export quota fill in 2012. They have no tolerance and no PASS/FAIL; ``ree
reproduce`` reports the model's median over seeds next to the record so that a reader sees
how far the model is from history it was not tuned to (:func:`evaluate_history`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from experiments.reproduce.series import _wide
from experiments.reproduce.targets import _pre_shock, export_fill, month_mean, price_ratio

#: 2009 mean FOB China prices, USD/kg, that the record's multiples divide by (the same
#: bases as the 2010-11 price targets): Nd oxide 19.12 (Lynas price table, Metal-Pages basis,
#: via raremetalblog 2010-07; abm/data/prices_2010_2012.csv), Dy oxide 115.7 (derived:
#: abm/data/prices_2010_2012.csv, the base of ``dy_peak_multiple``); La oxide 4.88 and Ce
#: oxide 3.88 (the same Lynas table)
BASE_2009_USD_KG = {"ox_Nd": 19.12, "ox_Dy": 115.7, "ox_La": 4.88, "ox_Ce": 3.88}


@dataclass(frozen=True)
class HistoryCheck:
    """One recorded value the model is compared with, untuned.

    Attributes:
        id: short identifier.
        title: what is compared.
        lo, hi: the record (a range where the source gives one), in ``unit``.
        unit: unit of the value.
        source: the record's source (a file of ``abm/data`` and the source it cites).
        compute: ``f(wide series of one embargo-2010 replicate) -> float``.
        last_month: the latest month the check reads, ``YYYY-MM`` (a run must reach it).
    """

    id: str
    title: str
    lo: float
    hi: float
    unit: str
    source: str
    compute: Callable[[pd.DataFrame], float] = field(repr=False)
    last_month: str


def _fob_multiple(good: str, year: int, months: tuple[int, ...]) -> Callable[[pd.DataFrame], float]:
    """Mean price outside China (median over importing regions) over ``months`` of ``year``
    over its 2009 mean; NaN when the run does not reach one of those months."""

    def f(w: pd.DataFrame) -> float:
        s = w[f"price_row:{good}"]
        return float(np.mean([month_mean(s, year, m) for m in months])) / _pre_shock(s, 2009)

    return f


def _fob(
    good: str,
    label: str,
    year: int,
    usd: tuple[float, float],
    src: str,
    *,
    month: int | None = None,
    quarter: int | None = None,
) -> HistoryCheck:
    """The check of ``good``'s price outside China in one ``month`` of ``year`` (the record:
    a FOB China price or range, ``usd``, USD/kg) or over one ``quarter`` (the record: a
    quarterly average), over its 2009 mean (:data:`BASE_2009_USD_KG`)."""
    base = BASE_2009_USD_KG[good]
    if quarter is not None:
        months = tuple(range(3 * quarter - 2, 3 * quarter + 1))
        tag, when = f"q{quarter}", f"Q{quarter} {year} mean"
    else:
        months = (month,)
        tag, when = f"{month:02d}", f"{pd.Timestamp(year=year, month=month, day=1):%B %Y}"
    return HistoryCheck(
        f"{good[3:].lower()}_fob_{year}_{tag}",
        f"{label} oxide price outside China (record: FOB China), {when}, over its 2009 mean",
        usd[0] / base,
        usd[1] / base,
        "x",
        f"{usd[0]:g}{'' if usd[0] == usd[1] else f'-{usd[1]:g}'} USD/kg: {src}; 2009 mean "
        f"{base} USD/kg",
        _fob_multiple(good, year, months),
        f"{year}-{months[-1]:02d}",
    )


_USGS = "USGS MCS2016 yearend price (abm/data/prices_2010_2012.csv, prices.csv; verified)"
_JULY_2013 = "abrasivesunion 2013-07-13 (abm/data/prices_2010_2012.csv; secondary)"
_LYNAS_2011 = (
    "Lynas quarterly average via WSJ 2011-09 (abm/data/prices_2010_2012.csv; secondary); the "
    "peak that non_magnet_ree_cost_share was set against in session 11 (docs/calibration.md "
    "4.16), so not out of sample for that parameter"
)
_LYNAS_2012 = (
    "Lynas quarterly average via mining.com 2012 (abm/data/prices_2010_2012.csv; secondary)"
)

#: the checks, in the order of the report
HISTORY: list[HistoryCheck] = [
    _fob("ox_Nd", "Nd", 2011, (190.0, 200.0), _USGS, month=12),
    _fob("ox_Nd", "Nd", 2012, (75.0, 80.0), _USGS, month=12),
    _fob("ox_Nd", "Nd", 2013, (70.0, 70.0), _JULY_2013, month=7),
    _fob("ox_Nd", "Nd", 2014, (56.0, 60.0), _USGS, month=12),
    _fob("ox_Nd", "Nd", 2015, (37.0, 42.0), _USGS, month=12),
    _fob("ox_Dy", "Dy", 2011, (1400.0, 1420.0), _USGS, month=12),
    _fob("ox_Dy", "Dy", 2012, (600.0, 630.0), _USGS, month=12),
    _fob("ox_Dy", "Dy", 2013, (500.0, 500.0), _JULY_2013, month=7),
    _fob("ox_Dy", "Dy", 2014, (320.0, 360.0), _USGS, month=12),
    _fob("ox_Dy", "Dy", 2015, (215.0, 240.0), _USGS, month=12),
    _fob("ox_La", "La", 2011, (135.02, 135.02), _LYNAS_2011, quarter=2),
    _fob("ox_Ce", "Ce", 2011, (138.29, 138.29), _LYNAS_2011, quarter=2),
    _fob("ox_La", "La", 2012, (42.31, 42.31), _LYNAS_2012, quarter=1),
    _fob("ox_Ce", "Ce", 2012, (24.79, 24.79), _LYNAS_2012, quarter=1),
    HistoryCheck(
        "nd_cn_2012_03",
        "China's domestic Nd oxide price, March 2012, over December 2010",
        470.0 / 261.0,
        480.0 / 261.0,
        "x",
        "470-480 CNY/kg on 2012-03-09 (Reuters) over 261 CNY/kg at the end of 2010 (derived "
        "from Xinhua 2011-03-30); abm/data/prices_2010_2012.csv",
        lambda w: price_ratio(w["price_cn:ox_Nd"], (2012, 3), (2010, 12)),
        "2012-03",
    ),
    HistoryCheck(
        "china_export_fill_2012",
        "China's recorded oxide exports in 2012 over the 2012 export quota",
        16265.0 / 30996.0,
        16265.0 / 30996.0,
        "share",
        "16,265 t (China customs via Global Times, episode_2010_12.csv) of the 30,996 t "
        "quota (china_quotas.csv)",
        lambda w: export_fill(w, 2012, "cn_quota_2012"),
        "2012-12",
    ),
]


def evaluate_history(
    results: Sequence[dict], checks: Sequence[HistoryCheck] = HISTORY
) -> pd.DataFrame:
    """The model against each check, over the ``embargo-2010`` replicates in ``results``.

    Args:
        results: :func:`~experiments.reproduce.runner.run_task` outputs (finished runs);
            runs of other variants are ignored.
        checks: the checks (default :data:`HISTORY`).

    Returns:
        One row per check: ``id, title, record_lo, record_hi, unit, median, p5, p95, n,
        ratio, source``; ``ratio`` is the median over the record's midpoint (NaN where no
        run reaches the check's date, ``n`` = 0).
    """
    runs = [_wide(r["series"]) for r in results if r["variant"] == "embargo-2010"]
    rows = []
    for c in checks:
        vals = np.array([c.compute(w) for w in runs], dtype=float)
        vals = vals[np.isfinite(vals)]
        med, p5, p95 = (
            (float(np.median(vals)), *np.percentile(vals, [5, 95]).tolist())
            if len(vals)
            else (float("nan"),) * 3
        )
        mid = 0.5 * (c.lo + c.hi)
        rows.append(
            {
                "id": c.id,
                "title": c.title,
                "record_lo": c.lo,
                "record_hi": c.hi,
                "unit": c.unit,
                "median": med,
                "p5": p5,
                "p95": p95,
                "n": len(vals),
                "ratio": med / mid if mid > 0 else float("nan"),
                "source": c.source,
            }
        )
    return pd.DataFrame(rows)


def history_markdown(table: pd.DataFrame) -> str:
    """:func:`evaluate_history`'s table as markdown; checks no run reached are left out and
    named below the table."""
    lines = [
        "| check | record | model median | 5-95% band | model / record | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    missed = [f"`{r.id}`" for r in table.itertuples() if not r.n]
    for r in table.itertuples():
        if not r.n:
            continue
        rec = (
            f"{r.record_lo:.2f}"
            if r.record_lo == r.record_hi
            else (f"{r.record_lo:.2f}-{r.record_hi:.2f}")
        )
        lines.append(
            f"| {r.title} (`{r.id}`) | {rec} {r.unit} | {r.median:.2f} | "
            f"{r.p5:.2f} - {r.p95:.2f} | {r.ratio:.2f} | {r.source} |"
        )
    if missed:
        lines += ["", "Beyond the runs' horizon, left out: " + ", ".join(missed) + "."]
    return "\n".join(lines)
