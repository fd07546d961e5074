"""The six charts and the event log, as ECharts options (dicts) built from a
:class:`app.session.Session`'s series, which are the series the model recorded
(:mod:`abm.metrics`): prices in China and outside it (``price_outside_china_weighted``, via the
DataCollector headline columns), decoupling (``china_content_12m``), capacity by country and
stage (``capacity``), last month's flows (``model.last_flows``), lost output in value added
(the ``World`` rows of ``value_added_lost``, :mod:`abm.accounts`; civil magnet users and
defense) and export licences (``licence_applications``, ``licence_approvals``,
``licence_delay``). Nothing is recomputed here but unit scaling (t -> kt, USD -> USD m,
fraction -> %).
"""

from __future__ import annotations

import html
import math

import numpy as np

from app.session import DECOUPLING_REGIONS, STAGES, Session
from experiments.labels import REGION_COLOURS

REGION_COLORS = REGION_COLOURS  # one colour per region in every chart (experiments.labels)
ELEMENT_COLORS = {"NdPr": "#1f77b4", "Dy": "#d62728", "Tb": "#2ca02c"}
POLICY_KINDS = ("policy", "policy ends", "lever")
EVENT_ROWS = 150  # newest events shown in the log


def _clean(x: float, digits: int = 4) -> float | None:
    """JSON-safe number: NaN/inf -> None, rounded to ``digits`` significant digits."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return round(x, max(0, digits - 1 - math.floor(math.log10(abs(x)))))


def _clean_list(xs) -> list[float | None]:
    return [_clean(x) for x in xs]


def _frame(title: str, subtitle: str = "") -> dict:
    return {
        "animation": False,
        "title": {
            "text": title,
            "subtext": subtitle,
            "left": 8,
            "top": 4,
            "itemGap": 6,
            "textStyle": {"fontSize": 14, "lineHeight": 18},
            "subtextStyle": {"fontSize": 11, "lineHeight": 14},
        },
    }


def _empty_note(opt: dict, text: str) -> dict:
    opt["graphic"] = [
        {
            "type": "text",
            "left": "center",
            "top": "middle",
            "style": {"text": text, "fill": "#888", "fontSize": 13},
        }
    ]
    return opt


def _month_axis(months: list[str], grid: int = 0, every: int = 12) -> dict:
    """Month category axis over the whole horizon (the run fills it from the left); labels
    show the year (``formatter: "year"`` is applied by the chart widget)."""
    return {
        "type": "category",
        "data": months,
        "boundaryGap": False,
        "gridIndex": grid,
        "axisLabel": {"interval": every - 1, "fontSize": 10, "formatter": "year"},
        "axisTick": {"interval": every - 1},
    }


def prices_option(s: Session) -> dict:
    h = s.headline()
    series = []
    for el, cn_key, row_key in (
        ("NdPr", "NdPr price China (USD/kg)", "NdPr price outside China (USD/kg)"),
        ("Dy", "Dy price China (USD/kg)", "Dy price outside China (USD/kg)"),
        ("Tb", "Tb price China (USD/kg)", "Tb price outside China (USD/kg)"),
    ):
        for where, key, dash in (("China", cn_key, "solid"), ("outside China", row_key, "dashed")):
            series.append(
                {
                    "name": f"{el} {where}",
                    "type": "line",
                    "showSymbol": False,
                    "data": _clean_list(h.get(key, [])),
                    "connectNulls": True,
                    "lineStyle": {"type": dash, "width": 2},
                    "itemStyle": {"color": ELEMENT_COLORS[el]},
                }
            )
    start = s.model.spec.levers.start
    if s.settings.levers_moved() and start in s.months and series:
        series[0]["markLine"] = {
            "symbol": "none",
            "silent": True,
            "lineStyle": {"color": "#555", "type": "dotted"},
            "label": {"formatter": "levers", "fontSize": 10},
            "data": [{"xAxis": start}],
        }
    opt = _frame(
        "Oxide prices in China and outside it (USD/kg)",
        "solid: China, dashed: outside China (mean weighted by NdPr use; the wedge); log scale",
    )
    opt.update(
        {
            "tooltip": {"trigger": "axis", "unit": "USD/kg"},
            "legend": {"top": 44, "itemWidth": 18, "itemGap": 8, "textStyle": {"fontSize": 11}},
            "grid": {"left": 56, "right": 16, "top": 104, "bottom": 28},
            "xAxis": _month_axis(s.months),
            "yAxis": {
                "type": "log",
                "name": "USD/kg",
                "nameGap": 8,
                "logBase": 10,
                "axisLabel": {"fontSize": 10},
            },
            "series": series,
        }
    )
    return opt if s.read else _empty_note(opt, "no months simulated yet: press Play or Step")


def decoupling_option(s: Session) -> dict:
    series = [
        {
            "name": s.names.get(r, r),
            "type": "line",
            "showSymbol": False,
            "connectNulls": True,
            "itemStyle": {"color": REGION_COLORS.get(r)},
            "data": _clean_list(100 * x for x in s.content[r]),
        }
        for r in DECOUPLING_REGIONS
    ]
    opt = _frame(
        "Decoupling: China-origin share of magnet supply, last 12 months (%)",
        "magnets received by OEMs and defense contractors over the last 12 months, mass-weighted",
    )
    opt.update(
        {
            "tooltip": {"trigger": "axis", "unit": "%"},
            "legend": {"top": 44, "textStyle": {"fontSize": 11}},
            "grid": {"left": 48, "right": 16, "top": 80, "bottom": 28},
            "xAxis": _month_axis(s.months),
            "yAxis": {
                "type": "value",
                "name": "%",
                "min": 0,
                "max": 100,
                "nameGap": 8,
                "axisLabel": {"fontSize": 10},
            },
            "series": series,
        }
    )
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def capacity_option(s: Session) -> dict:
    grids, xs, ys, series = [], [], [], []
    order = [r for r in s.codes if any(r in s.capacity[st] for st in STAGES)]
    for i, stage in enumerate(STAGES):
        left = 4 + i * 32.5
        grids.append({"left": f"{left + 3}%", "width": "26%", "top": 96, "bottom": 28})
        xs.append(_month_axis(s.months, i, every=36))
        ys.append(
            {
                "type": "value",
                "gridIndex": i,
                "name": f"{stage} (kt/yr)",
                "nameGap": 8,
                "nameTextStyle": {"fontSize": 11, "align": "left"},
                "axisLabel": {"fontSize": 10},
            }
        )
        for r in order:
            vals = s.capacity[stage].get(r)
            if vals is None:
                continue
            series.append(
                {
                    "name": s.names.get(r, r),
                    "type": "line",
                    "stack": stage,
                    "xAxisIndex": i,
                    "yAxisIndex": i,
                    "showSymbol": False,
                    "areaStyle": {"opacity": 0.85},
                    "lineStyle": {"width": 0.5},
                    "itemStyle": {"color": REGION_COLORS.get(r)},
                    "data": _clean_list(x / 1000 for x in vals),
                }
            )
    opt = _frame(
        "Capacity by country and stage (kt/yr)",
        "stacked by country; China is hidden at first: click 'China' in the legend to show it",
    )
    opt.update(
        {
            "tooltip": {"trigger": "axis", "unit": "kt/yr"},
            "legend": {
                "top": 44,
                "type": "scroll",
                "textStyle": {"fontSize": 11},
                "data": [s.names.get(r, r) for r in order],
                "selected": {s.names.get("CN", "CN"): False},
            },
            "grid": grids,
            "xAxis": xs,
            "yAxis": ys,
            "series": series,
        }
    )
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def flows_option(s: Session, group: str) -> dict:
    fl = s.flows.get(group)
    month = s.last_month or "-"
    opt = _frame(
        f"Trade flows of {group} between regions, {month} (t/month)",
        "exporters left, importers right; flows within a region not shown",
    )
    if fl is None or not s.read:
        return _empty_note(opt, "no months simulated yet")
    links = []
    total = float(fl.sum() - np.trace(fl))
    for o, ro in enumerate(s.codes):
        for d, rd in enumerate(s.codes):
            q = float(fl[o, d])
            if o != d and q > max(0.005 * total, 1e-3):
                links.append((ro, rd, q))
    if not links:
        return _empty_note(opt, f"no cross-border {group} flows this month")
    exporters = sorted({lk[0] for lk in links}, key=s.codes.index)
    importers = sorted({lk[1] for lk in links}, key=s.codes.index)
    # the importer nodes carry an invisible suffix: same label, distinct node
    nodes = [
        {"name": s.names[r], "itemStyle": {"color": REGION_COLORS.get(r)}} for r in exporters
    ] + [
        {"name": s.names[r] + "\u200b", "itemStyle": {"color": REGION_COLORS.get(r)}}
        for r in importers
    ]
    opt.update(
        {
            "tooltip": {"trigger": "item", "unit": "t/month"},
            "series": [
                {
                    "type": "sankey",
                    "top": 56,
                    "bottom": 10,
                    "left": 8,
                    "right": 110,
                    "nodeWidth": 12,
                    "nodeGap": 6,
                    "layoutIterations": 0,
                    "draggable": False,
                    "emphasis": {"focus": "adjacency"},
                    "label": {"fontSize": 11},
                    "lineStyle": {"color": "gradient", "opacity": 0.45},
                    "data": nodes,
                    "links": [
                        {"source": s.names[o], "target": s.names[d] + "\u200b", "value": _clean(q)}
                        for o, d, q in links
                    ],
                }
            ],
        }
    )
    return opt


def lost_output_option(s: Session) -> dict:
    series = [
        {
            "name": name,
            "type": "line",
            "showSymbol": False,
            "areaStyle": {"opacity": 0.3},
            "itemStyle": {"color": color},
            "data": _clean_list(x / 1e6 for x in s.va_lost[key]),
        }
        for name, key, color in (
            ("OEMs (civil)", "civil", "#ff7f0e"),
            ("Defense", "defense", "#3b3b98"),
        )
    ]
    opt = _frame(
        "Value added lost from magnet shortages (USD m/month)",
        "lost output x value-added share x input-output multiplier "
        "(value_added_lost: direct and supply-chain losses)",
    )
    opt.update(
        {
            "tooltip": {"trigger": "axis", "unit": "USD m/month"},
            "legend": {"top": 44, "textStyle": {"fontSize": 11}},
            "grid": {"left": 56, "right": 16, "top": 80, "bottom": 28},
            "xAxis": _month_axis(s.months),
            "yAxis": {
                "type": "value",
                "name": "USD m/month",
                "nameGap": 8,
                "min": 0,
                "axisLabel": {"fontSize": 10},
            },
            "series": series,
        }
    )
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def licences_option(s: Session) -> dict:
    opt = _frame(
        "Export licences: applications, approvals and delay",
        "t/month on licensed routes (left); mean review delay, months (right)",
    )
    opt.update(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 44, "textStyle": {"fontSize": 11}},
            "grid": {"left": 56, "right": 48, "top": 80, "bottom": 28},
            "xAxis": _month_axis(s.months),
            "yAxis": [
                {
                    "type": "value",
                    "name": "t/month",
                    "nameGap": 8,
                    "min": 0,
                    "axisLabel": {"fontSize": 10},
                },
                {
                    "type": "value",
                    "name": "months",
                    "nameGap": 8,
                    "min": 0,
                    "splitLine": {"show": False},
                    "axisLabel": {"fontSize": 10},
                },
            ],
            "series": [
                {
                    "name": "applied",
                    "type": "bar",
                    "barGap": "-100%",
                    "itemStyle": {"color": "#c7c7c7"},
                    "tooltip": {"unit": "t/month"},
                    "data": _clean_list(s.applied),
                },
                {
                    "name": "approved",
                    "type": "bar",
                    "itemStyle": {"color": "#2ca02c"},
                    "tooltip": {"unit": "t/month"},
                    "data": _clean_list(s.approved),
                },
                {
                    "name": "delay",
                    "type": "line",
                    "yAxisIndex": 1,
                    "showSymbol": False,
                    "connectNulls": False,
                    "itemStyle": {"color": "#d62728"},
                    "tooltip": {"unit": "months"},
                    "data": _clean_list(s.delay),
                },
            ],
        }
    )
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def events_html(s: Session, policy_only: bool) -> str:
    rows = [e for e in s.events if not policy_only or e["kind"] in POLICY_KINDS]
    shown = rows[-EVENT_ROWS:][::-1]
    if not shown:
        return "<p class='ree-muted'>No events yet.</p>"
    out = [
        (
            "<table class='ree-events'><thead><tr><th>date</th><th>kind</th><th>event</th>"
            "</tr></thead><tbody>"
        )
    ]
    for e in shown:
        cls = "ree-policy" if e["kind"] in POLICY_KINDS else "ree-emergent"
        out.append(
            f"<tr class='{cls}'><td>{html.escape(e['date'])}</td>"
            f"<td>{html.escape(e['kind'])}</td><td>{html.escape(e['text'])}</td></tr>"
        )
    out.append("</tbody></table>")
    if len(rows) > len(shown):
        out.append(f"<p class='ree-muted'>{len(rows) - len(shown)} older events not shown.</p>")
    return "".join(out)
