"""Checks against recorded history outside the reproduction targets.

The targets (:mod:`experiments.reproduce.targets`) are what the model is calibrated against.
The checks here are recorded prices and trade that no target names. Of the 2010-11 episode
(read from ``embargo-2010`` replicates): the fall of Nd and Dy oxide prices after the 2011
peak (2011-2015), La and Ce oxide prices abroad in 2011-12, China's Nd oxide in March 2012,
China's export quota fill in 2012, China's NdFeB magnet price in 2011, Japan's magnet output
in 2016 and China's magnet exports in 2013. Of the 2025 episode (read from ``controls-2025``
replicates): the premium of oxide prices in Europe over China's domestic prices after China's
export licences of 4 April 2025 (Dy, Tb and Y, under licence; NdPr, not under licence), and
China's Dy and Tb oxide exports in 2025 against June 2024. They
have no tolerance and no PASS/FAIL; ``ree reproduce`` reports the model's median over seeds
next to the record so that a reader sees how far the model is from history it was not tuned
to (:func:`evaluate_history`).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from experiments.reproduce.series import _wide
from experiments.reproduce.targets import (
    _pre_shock,
    export_fill,
    month_mean,
    price_ratio,
    year_sum,
)

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
        compute: ``f(wide series of one replicate of scenario) -> float``.
        last_month: the latest month the check reads, ``YYYY-MM`` (a run must reach it).
        scenario: the reproduction variant (and shipped scenario) whose replicates the check
            reads: ``embargo-2010`` or ``controls-2025``.
    """

    id: str
    title: str
    lo: float
    hi: float
    unit: str
    source: str
    compute: Callable[[pd.DataFrame], float] = field(repr=False)
    last_month: str
    scenario: str = "embargo-2010"


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


def _eu_over_cn(
    good: str, year: int, months: tuple[int, ...], column: str = "price_eu"
) -> Callable[[pd.DataFrame], float]:
    """Mean over ``months`` of ``year`` of the monthly ratio of ``good``'s price in the EU to
    its price in China (:func:`~experiments.reproduce.targets.month_mean` of
    ``<column>:<good>`` over that of ``price_cn:<good>``; ``column`` ``price_eu``: the price
    the EU's buyers paid, ``quote_eu``: their marginal spot quote); months where either is
    NaN (the good not traded, or not bought on spot, there that month) are skipped. NaN when
    no month of the window has both, or when the run does not reach the window's last
    month."""
    last = pd.Timestamp(year=year, month=months[-1], day=1)

    def f(w: pd.DataFrame) -> float:
        if not len(w) or w.index.max() < last:
            return float("nan")
        eu, cn = w[f"{column}:{good}"], w[f"price_cn:{good}"]
        ratios = [month_mean(eu, year, m) / month_mean(cn, year, m) for m in months]
        ratios = [r for r in ratios if np.isfinite(r)]
        return float(np.mean(ratios)) if ratios else float("nan")

    return f


def _exports_vs_june_2024(good: str, months: tuple[int, ...]) -> Callable[[pd.DataFrame], float]:
    """China's exports of ``good`` (``cn_exports:<good>``, t) over ``months`` of 2025 over
    ``len(months)`` times its exports in June 2024 (the record's base month); NaN unless the
    run covers June 2024 and the window's last month, or when June 2024 had no exports."""
    last = pd.Timestamp(year=2025, month=months[-1], day=1)

    def f(w: pd.DataFrame) -> float:
        s = w.get(f"cn_exports:{good}")
        if s is None or not len(w) or w.index.max() < last:
            return float("nan")
        base = month_mean(s, 2024, 6)
        if not np.isfinite(base) or base <= 0:
            return float("nan")
        got = [month_mean(s, 2025, m) for m in months]
        return float(np.sum(got)) / (len(months) * base)

    return f


#: China's recorded exports of Dy and Tb oxide, t: June 2024 (the sources' base month) and
#: each month of June-December 2025 (abm/data/trade_flows.csv: China customs via
#: rawmaterials.net, strategicmetalsinvest.com, rareearthexchanges.com, tradium.com)
EXPORTS_2025 = {
    "ox_Dy": (26.037, {6: 0.001, 7: 1.4, 8: 16.686, 9: 18.043, 10: 3.501, 11: 0.995, 12: 4.12}),
    "ox_Tb": (8.59, {6: 1.2, 7: 7.0, 8: 5.5, 9: 4.45, 10: 12.2, 11: 4.045, 12: 2.123}),
}


def _exports_2025(good: str, months: tuple[int, ...]) -> HistoryCheck:
    """The check of China's exports of ``good`` over ``months`` (several) of 2025 against
    its June 2024 exports (:func:`_exports_vs_june_2024`; the record from
    :data:`EXPORTS_2025`, x the June 2024 rate)."""
    base, by_month = EXPORTS_2025[good]
    got = [by_month[m] for m in months]
    rec = sum(got) / (len(months) * base)
    tag, span = _window(months)
    src = (
        f"{', '.join(f'{v:.3g}' for v in got[:-1])} and {got[-1]:.3g} t in {span} 2025 over "
        f"{len(months)} x {base:.3g} t (June 2024)"
    )
    return HistoryCheck(
        f"{good[3:].lower()}_cn_exports_2025_{tag}",
        f"China's {good[3:]} oxide exports, {span} 2025, over {len(months)} times its June "
        "2024 exports",
        rec,
        rec,
        "x",
        f"{src} (abm/data/trade_flows.csv: China customs via rawmaterials.net, "
        "strategicmetalsinvest.com, rareearthexchanges.com, tradium.com; secondary); June "
        "2024 taken as the base month, as the sources compare with it",
        _exports_vs_june_2024(good, months),
        f"2025-{months[-1]:02d}",
        scenario="controls-2025",
    )


def _window(months: tuple[int, ...]) -> tuple[str, str]:
    """``(id tag, label)`` of a window of ``months`` of one year: ``("11", "November")`` for
    one month, ``("may_sep", "May-September")`` for several."""
    first, last = calendar.month_name[months[0]], calendar.month_name[months[-1]]
    if len(months) == 1:
        return f"{months[0]:02d}", first
    return f"{first[:3].lower()}_{last[:3].lower()}", f"{first}-{last}"


#: the caveat the heavy oxides' 2025 records carry
_THIN = (
    "Europe's prices of the licensed oxides are a thin market of intermediaries (Adamas "
    "Intelligence, early 2026, for Dy: over 96% of 2025 Dy oxide traded at about 224 USD/kg)"
)


def _premium(
    good: str,
    label: str,
    months: tuple[int, ...],
    rec: tuple[float, float],
    src: tuple[str, str],
    caveat: str = _THIN,
    quote: bool = False,
    exchina: bool = False,
) -> HistoryCheck:
    """The check of ``good``'s price in Europe over China's domestic price in 2025: in one
    month, or the mean of the monthly ratios over ``months`` (the record: ``rec``, x;
    ``src``: what the record compares, for the title, and its sources). The model's price is
    the price the EU's buyers paid (volume-weighted, licensed deliveries included), or with
    ``quote`` their marginal spot quote (id suffix ``_quote``), or with ``exchina`` the
    contract price of their supply from origins other than China (``exchina_eu``, for
    magnets: the record is the premium of ex-China supply): under licences usable only by
    the applying buyer, the first is what most tonnes traded at and the second the value of
    one more kilogram to the most-rationed buyer, so a thin market of intermediaries should
    price between them."""
    tag, span = _window(months)
    when = f"{span} 2025" + (" mean" if len(months) > 1 else "")
    name = good[3:].lower() if good.startswith("ox_") else good.lower()
    what = "marginal spot quote (most-rationed buyer)" if quote else "price paid"
    column = "quote_eu" if quote else "price_eu"
    if exchina:
        what, column = "contract price of supply from outside China", "exchina_eu"
    return HistoryCheck(
        f"{name}_eu_2025_{tag}{'_quote' if quote else ''}",
        f"{label} {what} in Europe over China's domestic price, {when} ({src[0]})",
        rec[0],
        rec[1],
        "x",
        f"{src[1]} (abm/data/prices_2025.csv; secondary); {caveat}",
        _eu_over_cn(good, 2025, months, column),
        f"2025-{months[-1]:02d}",
        scenario="controls-2025",
    )


_DY_TB_MAY_SEP = (
    "record: Argus/Benchmark Europe over SMM China",
    "monthly Europe assessments (Argus 6 May, 5 June, 18 Sep via Nikkei and broker copies; "
    "Benchmark CIF Europe, July) over SMM's domestic price of the same weeks (CNY incl. VAT "
    "at about 7.1-7.2 CNY/USD)",
)
_DY_NOV = (
    "record: Argus Europe over SMM-bracketed China",
    "Argus Europe 910 USD/kg in late November 2025 (via Nikkei) over China's domestic price, "
    "1.40-1.60 million CNY/t, bracketed by SMM's 23 October and 18 December prints (no "
    "November print found)",
)
_TB_NOV = (
    "record: Argus Europe over estimated China",
    "Argus Europe 3,700 USD/kg in late November 2025 (via Nikkei) over China's domestic price "
    "estimated at 6.4-6.8 million CNY/t (SMM's 23 October offers 6.80-6.85, falling into "
    "December; no November print found)",
)

_Y_SEP_NOV = (
    "record: Argus Europe over Argus China",
    "Argus's landed price in Europe, 150-200 USD/kg on 25 September and 270 USD/kg in "
    "mid-November (via Reuters), over about 7 USD/kg in China (Reuters citing Argus)",
)

_MAGNETS_MAY_SEP = (
    "record: premium of ex-China magnets over Chinese ones",
    "Neo Performance Materials' customers pay 10-30 USD/kg over the price they usually pay "
    "for Chinese magnets (Reuters 2025-07-01), over China's average magnet export price of "
    "46.985 USD/kg in August 2024 (Metalnomist): 1.21-1.64x; NovaTech's (Korea) customers "
    "15-20% more (ckhq.net summary of the same Reuters report)",
)

_MAGNETS_2011 = (
    "ResearchInChina's average NdFeB price in China (summary via SBWire 2013-03-05; "
    "abm/data/prices_2010_2012.csv), grade mix not stated: "
)


def _year_ratio(s: pd.Series, year: int, base: int) -> float:
    """:func:`~experiments.reproduce.targets.year_sum` of ``s`` in ``year`` over that in
    ``base``; NaN unless both years ran in full and the base is positive."""
    now, then = year_sum(s, year), year_sum(s, base)
    return now / then if then > 0 else float("nan")


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
    HistoryCheck(
        "ndfeb_cn_2011_07",
        "China's NdFeB magnet price, July 2011, over January 2011",
        615.0 / 106.0,
        615.0 / 106.0,
        "x",
        _MAGNETS_2011 + "615 over 106 CNY/kg; the model: China's standard grade",
        lambda w: price_ratio(w["price_cn:mag_ndfeb_std"], (2011, 7), (2011, 1)),
        "2011-07",
    ),
    HistoryCheck(
        "ndfeb_cn_2011_12",
        "China's NdFeB magnet price, December 2011, over July 2011",
        215.0 / 615.0,
        215.0 / 615.0,
        "x",
        _MAGNETS_2011 + "215 over 615 CNY/kg; the model: China's standard grade",
        lambda w: price_ratio(w["price_cn:mag_ndfeb_std"], (2011, 12), (2011, 7)),
        "2011-12",
    ),
    HistoryCheck(
        "jp_magnets_2016",
        "Japan's sintered NdFeB output, 2016 over 2010",
        11800.0 / 18950.0,
        12000.0 / 18950.0,
        "x",
        "11,800-12,000 t in 2016 (derived: 'just over 13,000 t' in 2017, up just under 10%, "
        "Japan Society of Newer Metals) over 18,950 t in 2010 (19.3% of 98,200 t, china.org.cn "
        "2013-08-12); abm/data/processing_magnets.csv. Part of the fall is the makers' new "
        "plants in Vietnam and China, which the 2009 world does not have",
        lambda w: _year_ratio(w["ndfeb:JP"], 2016, 2010),
        "2016-12",
    ),
    HistoryCheck(
        "cn_magnet_exports_2013",
        "China's rare-earth permanent magnet exports in 2013",
        18825.0,
        18825.0,
        "t",
        "18,825 t, +15.2% on 2012 (JOGMEC News Flash 2014-02-13; abm/data/trade_flows.csv)",
        lambda w: year_sum(w["cn_magnet_exports"], 2013),
        "2013-12",
    ),
    _premium("ox_Dy", "Dy oxide", (5, 6, 7, 8, 9), (3.3, 3.8), _DY_TB_MAY_SEP),
    _premium("ox_Tb", "Tb oxide", (5, 6, 7, 8, 9), (2.9, 3.6), _DY_TB_MAY_SEP),
    _premium("ox_Dy", "Dy oxide", (5, 6, 7, 8, 9), (3.3, 3.8), _DY_TB_MAY_SEP, quote=True),
    _premium("ox_Tb", "Tb oxide", (5, 6, 7, 8, 9), (2.9, 3.6), _DY_TB_MAY_SEP, quote=True),
    _premium("ox_Dy", "Dy oxide", (11,), (4.0, 4.7), _DY_NOV),
    _premium("ox_Tb", "Tb oxide", (11,), (3.9, 4.1), _TB_NOV),
    _premium("ox_Y", "Y oxide", (9, 10, 11), (25.0, 39.0), _Y_SEP_NOV),
    _premium("ox_Y", "Y oxide", (9, 10, 11), (25.0, 39.0), _Y_SEP_NOV, quote=True),
    *[_exports_2025(g, months) for g in EXPORTS_2025 for months in ((6, 7, 8, 9), (10, 11, 12))],
    _premium(
        "mag_ndfeb_ht",
        "High-temperature NdFeB magnets",
        (5, 6, 7, 8, 9),
        (1.15, 1.65),
        _MAGNETS_MAY_SEP,
        "the record is the premium of contracted supply from plants outside China over "
        "Chinese magnets, the model the contract price of the EU's supply from origins "
        "other than China (weighted by tonnes) over China's domestic price (until session "
        "24 the EU's price paid for all origins, mostly Chinese); customers 'willing to pay "
        "any price' got none (Reuters 2025-06-09) and no magnet price index outside China "
        "was found",
        exchina=True,
    ),
    _premium(
        "NdPr",
        "NdPr oxide",
        (7, 8, 9),
        (0.95, 1.0),
        (
            "not under licence; record: Benchmark/Argus Europe over SMM China",
            "Benchmark, July 2025: Europe's PrNd 5% below China; Argus Europe 82.5-85 USD/kg "
            "on 25 September over SMM's 580-598 CNY/kg",
        ),
        "unlike the heavy oxides' thin market of intermediaries in Europe, PrNd there tracks "
        "China's price (Benchmark)",
    ),
]


def evaluate_history(
    results: Sequence[dict], checks: Sequence[HistoryCheck] = HISTORY
) -> pd.DataFrame:
    """The model against each check, over the replicates in ``results`` of the check's own
    variant (:attr:`HistoryCheck.scenario`: ``embargo-2010`` or ``controls-2025``).

    Args:
        results: :func:`~experiments.reproduce.runner.run_task` outputs (finished runs);
            runs of variants no check reads are ignored.
        checks: the checks (default :data:`HISTORY`).

    Returns:
        One row per check: ``id, title, record_lo, record_hi, unit, median, p5, p95, n,
        ratio, source``; ``ratio`` is the median over the record's midpoint (NaN where no
        run reaches the check's date, ``n`` = 0).
    """
    runs = {
        v: [_wide(r["series"]) for r in results if r["variant"] == v]
        for v in {c.scenario for c in checks}
    }
    rows = []
    for c in checks:
        vals = np.array([c.compute(w) for w in runs[c.scenario]], dtype=float)
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
