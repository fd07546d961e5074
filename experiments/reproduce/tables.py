"""Reproduction tables: the decoupling table, the per-variant summary, episodes against
their counterfactuals, and their Markdown forms (``tables/*.md`` and REPORT.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from experiments.reproduce.series import _wide
from experiments.reproduce.targets import (
    TARGETS,
    _export_fall,
    _mp_nameplate_2029,
    _non_china_ramp,
    _price_peak_multiple,
    _removal_rate_at_peak,
    _us_capacity_2029,
)
from experiments.reproduce.variants import DECOUPLING_SCENARIOS, VARIANTS


def _band(values: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    g = values.groupby(by)["value"]
    return pd.DataFrame(
        {"median": g.median(), "p5": g.quantile(0.05), "p95": g.quantile(0.95), "n": g.count()}
    ).reset_index()


def decoupling_table(series: pd.DataFrame) -> pd.DataFrame:
    """China-origin share of US, EU, Japanese and Korean magnet supply, 2024-2035.

    Annual mean per replicate, then median and 5-95% band over replicates, for every
    decoupling scenario that ran. Columns: ``scenario, region, year, median, p5, p95, n``.
    """
    s = series[
        series["variant"].isin(DECOUPLING_SCENARIOS)
        & series["series"].str.startswith("china_content:")
    ].copy()
    if s.empty:
        return pd.DataFrame(columns=["scenario", "region", "year", "median", "p5", "p95", "n"])
    s["region"] = s["series"].str.split(":").str[1]
    s["year"] = pd.to_datetime(s["date"]).dt.year
    annual = s.groupby(["variant", "region", "year", "rep"])["value"].mean().reset_index()
    out = _band(annual, ["variant", "region", "year"]).rename(columns={"variant": "scenario"})
    order = {n: i for i, n in enumerate(DECOUPLING_SCENARIOS)}
    out["_o"] = out["scenario"].map(order)
    return out.sort_values(["_o", "region", "year"]).drop(columns="_o").reset_index(drop=True)


def scenario_summary(series: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers per variant (median over replicates, 5-95% band in brackets)."""
    rows = []
    defs = [
        ("peak NdPr price outside China (USD/kg)", "price_row:NdPr", "max"),
        ("peak Dy oxide price outside China (USD/kg)", "price_row:ox_Dy", "max"),
        ("lowest China magnet exports (t/month)", "cn_magnet_exports", "min"),
        ("cumulative OEM lost output (USD bn)", "lost_output:oem", "sum_bn"),
        ("magnet capacity outside China, last month (t/yr)", "capacity:magnets:nonCN", "last"),
        ("US magnet capacity, last month (t/yr)", "capacity:magnets:US", "last"),
    ]
    for variant, g in series.groupby("variant", sort=False):
        row = {"variant": variant}
        for label, key, how in defs:
            s = g[g["series"] == key]
            if s.empty:
                continue
            per = s.groupby("rep")["value"]
            v = {
                "max": per.max(),
                "min": per.min(),
                "sum_bn": per.sum() / 1e9,
                "last": s.sort_values("date").groupby("rep")["value"].last(),
            }[how]
            row[label] = f"{v.median():,.1f} [{v.quantile(0.05):,.1f}-{v.quantile(0.95):,.1f}]"
        row["months"] = int(g["date"].nunique())
        row["seeds"] = int(g["rep"].nunique())
        rows.append(row)
    order = {n: i for i, n in enumerate(VARIANTS)}
    out = pd.DataFrame(rows).sort_values("variant", key=lambda c: c.map(order))
    return out.reset_index(drop=True)


def mechanism_table(results: Sequence[dict]) -> pd.DataFrame:
    """Episode vs counterfactual on the scalar behind each target (median over replicates).

    Rows: the 2010 price peak multiples, the demand-removal rate and the non-China ramp with
    and without quotas (and without the halt to Japan); the 2025 export fall with and without
    licences; MP Materials' magnet nameplate and all US operating magnet capacity in 2029
    with and without the floor.
    """
    by_rep: dict[int, dict] = {}
    for r in results:
        by_rep.setdefault(r["rep"], {})[r["variant"]] = _wide(r["series"])

    def med(fn, variant_map):
        vals = []
        for runs in by_rep.values():
            if not all(v in runs for v in variant_map.values()):
                continue
            try:
                vals.append(fn({k: runs[v] for k, v in variant_map.items()}))
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                pass
        vals = [v for v in vals if np.isfinite(v)]
        return (float(np.median(vals)), len(vals)) if vals else (float("nan"), 0)

    rows = []
    specs = [
        (
            "Nd oxide peak / 2009 (x)",
            _price_peak_multiple("ox_Nd"),
            "embargo-2010",
            ["embargo-2010/no-quotas", "embargo-2010/no-halt"],
        ),
        (
            "Dy oxide peak / 2009 (x)",
            _price_peak_multiple("ox_Dy"),
            "embargo-2010",
            ["embargo-2010/no-quotas", "embargo-2010/no-halt"],
        ),
        (
            "demand removed per year at the peak (share)",
            _removal_rate_at_peak,
            "embargo-2010",
            ["embargo-2010/no-quotas"],
        ),
        (
            "non-China mine ramp 2011-13 (pp/yr)",
            _non_china_ramp,
            "embargo-2010",
            ["embargo-2010/no-quotas"],
        ),
        (
            "China magnet export fall 1-2 months after the licences (share)",
            _export_fall,
            "controls-2025",
            ["no-controls"],
        ),
        (
            "MP Materials' magnet nameplate 2029 (t/yr; target mp_magnet_capacity_2029)",
            _mp_nameplate_2029("controls-2025"),
            "controls-2025",
            ["controls-2025/no-floor"],
        ),
        (
            "US magnet operating capacity 2029, all firms (t/yr; the no-floor shortfall)",
            _us_capacity_2029("controls-2025"),
            "controls-2025",
            ["controls-2025/no-floor"],
        ),
    ]
    for label, fn, base, cfs in specs:
        v0, n0 = med(fn, {base: base})
        for cf in cfs:
            v1, n1 = med(fn, {base: cf})
            if n0 == 0 or n1 == 0:
                continue
            rows.append(
                {
                    "quantity": label,
                    "episode": base,
                    "episode_median": v0,
                    "counterfactual": cf,
                    "counterfactual_median": v1,
                    "seeds": min(n0, n1),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "quantity",
            "episode",
            "episode_median",
            "counterfactual",
            "counterfactual_median",
            "seeds",
        ],
    )


def _fmt(v, fmt="{:.2f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    try:
        return fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def median_text(median, lo, hi, fmt="{:.2f}") -> str:
    """A target's median in its format (:func:`_fmt`), with more digits (``{:.4g}``) when
    that format would print it as a tolerance edge it does not reach or exceeds: 7.98
    against a band of 8.0-30.0 reads ``7.98``, not ``8.0``."""
    text = _fmt(median, fmt)
    if text == "n/a":
        return text
    for edge in (lo, hi):
        if text == _fmt(edge, fmt) and float(median) != float(edge):
            return f"{float(median):.4g}"
    return text


def _float_cell(v: float) -> str:
    """A number of a Markdown table: thousands separators from 1,000 (``13,600``, not
    ``1.36e+04``), else 3 significant digits (``0.0232``); ``n/a`` when not finite."""
    if not math.isfinite(v):
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 999.5 else f"{v:.3g}"


def _markdown(df: pd.DataFrame, floatfmt: str | None = None) -> str:
    """A GitHub Markdown table of ``df`` (no tabulate dependency); floats as
    :func:`_float_cell`, or with ``floatfmt`` when given."""
    cols = list(df.columns)
    lines = [
        "| " + " | ".join(str(c) for c in cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append(_fmt(v, floatfmt) if floatfmt else _float_cell(v))
            else:
                cells.append(str(v).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _targets_markdown(targets: pd.DataFrame) -> str:
    fmts = {t.id: t.fmt for t in TARGETS}
    lines = [
        "| episode | target | observed median | 5-95% band | tolerance | result | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in targets.iterrows():
        f = fmts.get(r["id"], "{:.2f}")
        band = f"{_fmt(r['p5'], f)} - {_fmt(r['p95'], f)}" if r["n"] else "n/a"
        tol = f"{_fmt(r['lo'], f)} - {_fmt(r['hi'], f)} {r['unit']}"
        res = {"PASS": "**PASS**", "FAIL": "**FAIL**"}.get(r["status"], r["status"])
        if r.get("note"):
            res += f" ({r['note']})"
        if r.get("censored"):
            res += (
                f" (peak censored in {int(r['censored'])} of {r['n']}: the price is higher "
                "within 12 months after the window)"
            )
        lines.append(
            f"| {r['episode']} | {r['title']} (`{r['id']}`) | "
            f"{median_text(r['median'], r['lo'], r['hi'], f)} | "
            f"{band} | {tol} | {res} (n={r['n']}) | {r['source']} |"
        )
    return "\n".join(lines) + "\n"


def _decoupling_markdown(dec: pd.DataFrame, years=(2024, 2026, 2028, 2030, 2035)) -> str:
    if dec.empty:
        return "No decoupling runs.\n"
    d = dec[dec["year"].isin(years)].copy()
    d["cell"] = [
        f"{m:.0%} [{a:.0%}-{b:.0%}]" if np.isfinite(m) else "n/a"
        for m, a, b in zip(d["median"], d["p5"], d["p95"], strict=True)
    ]
    wide = d.pivot_table(
        index=["scenario", "region"], columns="year", values="cell", aggfunc="first"
    ).reset_index()
    order = {n: i for i, n in enumerate(DECOUPLING_SCENARIOS)}
    wide = wide.sort_values(
        ["scenario", "region"], key=lambda c: c.map(order) if c.name == "scenario" else c
    )
    wide.columns = [str(c) for c in wide.columns]
    return _markdown(wide.fillna("n/a"))
