"""Browser UI: watch decoupling emerge month by month (Solara).

Start it with ``ree app`` or ``solara run app.py --host 127.0.0.1`` and open
http://127.0.0.1:8765. Pick a scenario and a seed, move the policy levers, press Reset to
build a model with them, then Play or Step. Charts: oxide prices in China and outside it,
China-origin share of magnet supply over the last 12 months, trade flows (Sankey), capacity by
country and stage, lost output, export licences, and the event log. The price, decoupling,
capacity, lost-output and licence charts draw series the model recorded (:mod:`abm.metrics`;
prices outside China = ``price_outside_china_weighted``, decoupling = ``china_content_12m``,
lost output in value added = the ``World`` rows of ``value_added_lost`` (:mod:`abm.accounts`),
civil magnet users and defense); the Sankey draws
last month's flow matrix (``model.last_flows``).

Design notes:

* One model per browser session: :class:`Session` is created inside :func:`Page` with
  ``solara.use_memo`` (first render) and replaced by Reset; nothing model-related lives at
  module level, so sessions never share a model.
* A :class:`Session` steps the model under a lock and reads the model's outputs
  incrementally (``recorder.frame(since_step=...)``, the DataCollector's lists, the new
  events), keeping small per-month series; chart options are built from those series only.
* Charts are ECharts (the ``echarts`` bundle Solara serves from its CDN cache, which
  ``scripts/fetch_solara_assets.py`` fills offline) drawn by :class:`EChart`, a small widget
  like ``solara.FigureEcharts`` that also keeps the user's legend selection across updates,
  formats tooltip values with their unit and resizes with its container.
* Telemetry is off; there is no Python console; the server binds where ``solara run`` is told
  (``ree app`` and the README use 127.0.0.1).
"""

from __future__ import annotations

import os

os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"  # before solara is imported

import dataclasses
import html
import json
import logging
import math
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import ipyvuetify as v
import numpy as np
import pandas as pd
import reacton.ipyvuetify as rv
import solara
import traitlets

from abm.metrics import is_civil_magnet
from abm.model import RareEarthModel
from abm.scenario import ScenarioError, load_scenario, shipped_scenarios

try:  # `solara run` imported solara before this file: switch its telemetry off too
    import solara.server.settings as _solara_settings

    _solara_settings.telemetry.mixpanel_enable = False
except ImportError:  # pragma: no cover - solara-server not installed (headless use)
    pass

log = logging.getLogger("ree.app")
if os.environ.get("SERVER_NAME", "localhost") not in ("localhost", "127.0.0.1", "::1"):
    # `solara run --host X` sets SERVER_NAME; the app has no authentication
    log.warning("serving on %s: anyone who can reach it can run models; use --host 127.0.0.1",
                os.environ["SERVER_NAME"])

DEFAULT_SCENARIO = "controls-2025"
DECOUPLING_REGIONS = ("US", "EU", "JP", "KR")
STAGES = ("mining", "separation", "magnets")
REGION_COLORS = {  # one colour per region in every chart
    "CN": "#d62728", "US": "#1f77b4", "JP": "#9467bd", "EU": "#2ca02c", "KR": "#ff7f0e",
    "AU": "#8c564b", "MY": "#e377c2", "MM": "#393b79", "VN": "#bcbd22", "BR": "#17becf",
    "IN": "#aec7e8", "ROW": "#c7c7c7",
}
ELEMENT_COLORS = {"NdPr": "#1f77b4", "Dy": "#d62728", "Tb": "#2ca02c"}
POLICY_KINDS = ("policy", "policy ends", "lever")
EVENT_ROWS = 150  # newest events shown in the log


@dataclass(frozen=True)
class Speed:
    label: str
    months_per_frame: int
    seconds_per_frame: float  # minimum wall time per frame (0: as fast as possible)
    help: str


SPEEDS = {
    "slow": Speed("slow", 1, 1.0, "1 month per second"),
    "medium": Speed("medium", 1, 0.33, "about 3 months per second"),
    "fast": Speed("fast", 1, 0.0, "every month drawn, as fast as the model runs"),
    "max": Speed("max", 6, 0.0, "charts redrawn every 6 months"),
}
DEFAULT_SPEED = "fast"


# ------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """What Reset builds a model from: scenario, seed and the levers (``None``: as scheduled).

    Units as in :class:`abm.scenario.Levers`: tariff and approval rates are fractions
    (1.45 = 145%), the price floor USD/kg, the stockpile target months of use.
    """

    scenario: str = DEFAULT_SCENARIO
    seed: int = 0
    us_tariff_on_china: float | None = None
    approval_rate_allies: float | None = None
    approval_rate_us: float | None = None
    defense_end_use_denial: bool | None = None
    truce_start: str | None = None
    truce_months: int = 3
    ndpr_price_floor: float | None = None
    stockpile_target_months: float | None = None
    substitution_speed: float = 1.0
    lever_start: str = "2025-04"  # levers.start: the month the levers take effect

    LEVERS = ("us_tariff_on_china", "approval_rate_allies", "approval_rate_us",
              "defense_end_use_denial", "truce_start", "truce_months", "ndpr_price_floor",
              "stockpile_target_months", "substitution_speed")

    @classmethod
    def for_scenario(cls, name: str, seed: int = 0) -> Settings:
        """The scenario's own lever values (so an untouched UI changes nothing); the levers'
        start month is moved to the scenario's first month if it lies outside the horizon
        (e.g. 2025-04 for a 2009-2016 scenario), so that moving a lever does something."""
        sc = load_scenario(name)
        lv = sc.levers
        first, last, start = (pd.Period(x, freq="M") for x in (sc.start, sc.end, lv.start))
        start = lv.start if first <= start <= last else str(first)
        return cls(scenario=name, seed=seed, lever_start=start,
                   **{k: getattr(lv, k) for k in cls.LEVERS})

    def overrides(self) -> dict:
        """Dotted-path overrides for the levers that differ from the scenario's own."""
        lv = load_scenario(self.scenario).levers
        out = {f"levers.{k}": getattr(self, k) for k in self.LEVERS
               if getattr(self, k) != getattr(lv, k)}
        if self.lever_start != lv.start:
            out["levers.start"] = self.lever_start
        return out

    def levers_moved(self) -> bool:
        """Whether any lever differs from the scenario (its start month alone does not count)."""
        return any(k != "levers.start" for k in self.overrides())


# ------------------------------------------------------------------------------- session
def lever_events(settings: Settings, model: RareEarthModel) -> list[dict]:
    """Event-log entries for the levers the user moved (the model logs scheduled measures
    only): ``[{"date", "step", "kind": "lever", "text"}]`` at the month each takes effect."""
    lv = model.spec.levers
    changed = {k.split(".", 1)[1]: val for k, val in settings.overrides().items()}
    if not changed:
        return []

    def at(month: str) -> int:
        return (pd.Period(month, freq="M") - model.start).n

    def pct(x: float) -> str:
        return f"{100 * x:.0f}%"

    texts = {
        "us_tariff_on_china": lambda x: f"US tariff on China set to {pct(x)}",
        "approval_rate_allies": lambda x: f"China's licence approval for allies set to {pct(x)}",
        "approval_rate_us": lambda x: f"China's licence approval for the US set to {pct(x)}",
        "defense_end_use_denial": lambda x: f"defense end-use denial {'on' if x else 'off'}",
        "ndpr_price_floor": lambda x: f"US price floor for NdPr oxide set to {x:.0f} USD/kg",
        "stockpile_target_months": lambda x: f"allied stockpile target {x:.0f} months of use",
    }
    out = []
    for key, text in texts.items():
        if key in changed:
            val = changed[key]
            out.append((at(lv.start), text(val) if val is not None else
                        f"{key.replace('_', ' ')}: back to the scenario's schedule"))
    if "substitution_speed" in changed:
        out.append((0, f"substitution speed x{lv.substitution_speed:g} for the whole run"))
    if lv.truce_start is not None and ("truce_start" in changed or "truce_months" in changed):
        t0 = at(lv.truce_start)
        out.append((t0, f"US-China tariff truce begins ({lv.truce_months} months)"))
        out.append((t0 + lv.truce_months, "US-China tariff truce ends"))
    return [{"date": str(model.start + k), "step": k, "kind": "lever", "text": f"{t} (lever)"}
            for k, t in sorted(out, key=lambda e: e[0]) if 0 <= k < model.months]


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


class Session:
    """One browser session's model plus the per-month series the charts draw.

    Thread-safe: :meth:`step` and the chart builders (in :func:`Dashboard`) hold
    :attr:`lock` (the play loop runs in a worker thread, button handlers in the server's).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model = RareEarthModel(settings.scenario, seed=settings.seed,
                                    overrides=settings.overrides() or None)
        m = self.model
        self.lock = threading.RLock()
        self.months = [str(m.start + i) for i in range(m.months)]
        self.names = dict(m.region_names)
        self.codes = list(m.region_codes)
        self.goods = list(m.catalog.goods)
        self._mag = np.array([g.startswith("mag_") for g in self.goods])
        self._ox = np.array([g.startswith("ox_") for g in self.goods])
        self.read = 0  # steps ingested
        self.content: dict[str, list[float]] = {r: [] for r in DECOUPLING_REGIONS}
        self.capacity: dict[str, dict[str, list[float]]] = {s: {} for s in STAGES}
        self.applied: list[float] = []
        self.approved: list[float] = []
        self.delay: list[float] = []
        # value added lost (abm.accounts), World, USD/month: civil magnet users, defense
        self.va_lost: dict[str, list[float]] = {"civil": [], "defense": []}
        self.flows: dict[str, np.ndarray] = {}  # "magnets"/"oxides" -> (R, R) t/month
        self.events: list[dict] = []
        self.step_ms: float | None = None
        self.redraw_ms: float | None = None
        self.frames: list[tuple[int, float, float]] = []  # (months, step ms, redraw ms)
        self._levers_pending = lever_events(settings, m)
        self.events.extend(m.events)
        self._n_events = len(m.events)

    # ---------------------------------------------------------------- state
    @property
    def done(self) -> bool:
        return self.model.steps >= self.model.months

    @property
    def last_month(self) -> str | None:
        """The last simulated month (None before the first step)."""
        return str(self.model.date - 1) if self.model.steps else None

    # ---------------------------------------------------------------- stepping
    def step(self, n: int = 1) -> int:
        """Simulate up to ``n`` months (not past the horizon); returns months simulated."""
        with self.lock:
            k = 0
            t0 = time.perf_counter()
            while k < n and not self.done:
                self.model.step()
                k += 1
            if k:
                self._ingest()
            self.step_ms = (time.perf_counter() - t0) * 1000
            return k

    def _ingest(self) -> None:
        """Read what the steps since the last call added (incremental reads only)."""
        m = self.model
        first, last = self.read, m.steps  # steps first..last-1 are new
        df = m.recorder.frame(since_step=first, metrics=(
            "capacity", "china_content_12m", "licence_applications", "licence_approvals",
            "licence_delay", "value_added_lost"))
        steps = df["step"].to_numpy()
        metric = df["metric"].to_numpy(dtype=object)
        good = df["good"].to_numpy(dtype=object)
        region = df["region"].to_numpy(dtype=object)
        value = df["value"].to_numpy(dtype=float)
        for s in range(first, last):
            at = steps == s
            # decoupling: China-origin share of the magnets received over the last 12
            # months (mass-weighted), per consuming region
            sel = at & (metric == "china_content_12m")
            got = dict(zip(region[sel], value[sel]))
            for r in DECOUPLING_REGIONS:
                self.content[r].append(got.get(r, float("nan")))
            # capacity by stage and region, t/yr
            sel = at & (metric == "capacity")
            for stage in STAGES:
                row = self.capacity[stage]
                ss = sel & (good == stage)
                got = dict(zip(region[ss], value[ss]))
                for r in got.keys() - row.keys():
                    row[r] = [0.0] * s  # absent before: zero
                for r in row:
                    row[r].append(got.get(r, 0.0))
            self.applied.append(float(value[at & (metric == "licence_applications")].sum()))
            self.approved.append(float(value[at & (metric == "licence_approvals")].sum()))
            d = value[at & (metric == "licence_delay")]
            self.delay.append(float(d[0]) if len(d) else float("nan"))
            # value added lost, World rows per sector
            sel = at & (metric == "value_added_lost") & (region == "World") & (good != "all")
            civil = sel & is_civil_magnet(good.astype(str))
            self.va_lost["civil"].append(float(value[civil].sum()))
            self.va_lost["defense"].append(float(value[sel & (good == "defense")].sum()))
        # last month's cross-border flows of magnets and oxides, t/month
        fl = m.last_flows.sum(axis=3)
        self.flows = {"magnets": fl[self._mag].sum(axis=0), "oxides": fl[self._ox].sum(axis=0)}
        new = list(m.events[self._n_events:])
        self._n_events = len(m.events)
        due = [e for e in self._levers_pending if e["step"] < last]
        self._levers_pending = self._levers_pending[len(due):]
        self.events.extend(sorted(due + new, key=lambda e: e["step"]))  # stable
        self.read = last

    def record_frame(self, months: int, redraw_ms: float) -> None:
        self.redraw_ms = redraw_ms
        self.frames.append((months, self.step_ms or 0.0, redraw_ms))

    # ---------------------------------------------------------------- views
    def headline(self) -> dict[str, list]:
        """DataCollector headline series so far (lists, one value per month; the columns of
        :data:`abm.metrics.HEADLINE`, read from the recorded series)."""
        mv = self.model.datacollector.model_vars
        return {k: list(vals[: self.read]) for k, vals in mv.items()}


# ------------------------------------------------------------------------------- charts
_ECHART_VUE = r"""
<template>
  <div class="ree-chart" :style="'width: 100%; height: ' + height"></div>
</template>
<script>
module.exports = {
  data() {
    return { legendSel: null };
  },
  mounted() {
    this.loadEcharts().then((echarts) => {
      if (this._isDestroyed) return;
      this.chart = echarts.init(this.$el, null, { renderer: "canvas" });
      this.chart.on("legendselectchanged", (e) => {
        this.legendSel = Object.assign({}, e.selected);
      });
      this.draw();
      this.observer = new ResizeObserver(() => this.chart && this.chart.resize());
      this.observer.observe(this.$el);
    });
  },
  beforeDestroy() {
    if (this.observer) this.observer.disconnect();
    if (this.chart) this.chart.dispose();
  },
  watch: {
    spec() {
      this.draw();
    },
  },
  methods: {
    fmt(x, unit) {
      if (x === null || x === undefined || Number.isNaN(x) || x === "-") return "n/a";
      const a = Math.abs(x);
      const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
      return x.toLocaleString("en-US", { maximumFractionDigits: d }) + (unit ? " " + unit : "");
    },
    withUnits(obj) {
      if (obj && typeof obj === "object" && obj.unit !== undefined) {
        const unit = obj.unit;
        delete obj.unit;
        obj.valueFormatter = (x) => this.fmt(x, unit);
      }
    },
    draw() {
      if (!this.chart) return;
      const t0 = performance.now();
      const opt = JSON.parse(this.spec || "{}");
      this.withUnits(opt.tooltip);
      [].concat(opt.xAxis || []).forEach((ax) => {
        if (ax.axisLabel && ax.axisLabel.formatter === "year") {
          ax.axisLabel.formatter = (val) => String(val).slice(0, 4);
        }
      });
      (opt.series || []).forEach((s) => this.withUnits(s.tooltip));
      if (this.legendSel && opt.legend && !Array.isArray(opt.legend)) {
        opt.legend.selected = Object.assign({}, opt.legend.selected || {}, this.legendSel);
      }
      this.chart.setOption(opt, true);
      this.$el.dataset.drawMs = (performance.now() - t0).toFixed(1);
      this.$el.dataset.draws = String(Number(this.$el.dataset.draws || 0) + 1);
      this.$el.dataset.series = String((opt.series || []).length);
    },
    loadEcharts() {
      const base = this.cdn || (window.solara && window.solara.cdn) || "./_solara/cdn";
      const url = `${base}/echarts@5.4.0/dist/echarts.js`;
      const need = window.requirejs ? Promise.resolve() : new Promise((ok, fail) => {
        const s = document.createElement("script");
        s.src = `${base}/requirejs@2.3.6/require.js`;
        s.onload = ok;
        s.onerror = fail;
        document.head.appendChild(s);
      });
      return need.then(() => new Promise((ok, fail) => window.requirejs([url], ok, fail)));
    },
  },
};
</script>
"""


class EChart(v.VuetifyTemplate):
    """An ECharts chart; ``spec`` is the ECharts option (as in the ECharts docs) as JSON.

    Extras over ``solara.FigureEcharts``: a ``unit`` key in ``tooltip`` or a series'
    ``tooltip`` formats values with that unit; legend clicks survive option updates; the
    chart follows its container's size. The option travels as one JSON string because
    reacton walks nested props looking for elements, which costs more than the model step
    for a long run's series (~40 ms per redraw at 100 months).
    """

    template = traitlets.Unicode(_ECHART_VUE).tag(sync=True)
    spec = traitlets.Unicode("{}").tag(sync=True)
    height = traitlets.Unicode("300px").tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self):
        import solara.settings

        return None if solara.settings.assets.proxy else solara.settings.assets.cdn


def _frame(title: str, subtitle: str = "") -> dict:
    return {
        "animation": False,
        "title": {"text": title, "subtext": subtitle, "left": 8, "top": 4, "itemGap": 6,
                  "textStyle": {"fontSize": 14, "lineHeight": 18},
                  "subtextStyle": {"fontSize": 11, "lineHeight": 14}},
    }


def _empty_note(opt: dict, text: str) -> dict:
    opt["graphic"] = [{"type": "text", "left": "center", "top": "middle",
                       "style": {"text": text, "fill": "#888", "fontSize": 13}}]
    return opt


def _month_axis(months: list[str], grid: int = 0, every: int = 12) -> dict:
    """Month category axis over the whole horizon (the run fills it from the left); labels
    show the year (``formatter: "year"`` is applied by the chart widget)."""
    return {"type": "category", "data": months, "boundaryGap": False, "gridIndex": grid,
            "axisLabel": {"interval": every - 1, "fontSize": 10, "formatter": "year"},
            "axisTick": {"interval": every - 1}}


def prices_option(s: Session) -> dict:
    h = s.headline()
    series = []
    for el, cn_key, row_key in (
        ("NdPr", "NdPr price China (USD/kg)", "NdPr price outside China (USD/kg)"),
        ("Dy", "Dy price China (USD/kg)", "Dy price outside China (USD/kg)"),
        ("Tb", "Tb price China (USD/kg)", "Tb price outside China (USD/kg)"),
    ):
        for where, key, dash in (("China", cn_key, "solid"), ("outside China", row_key, "dashed")):
            series.append({
                "name": f"{el} {where}", "type": "line", "showSymbol": False,
                "data": _clean_list(h.get(key, [])), "connectNulls": True,
                "lineStyle": {"type": dash, "width": 2}, "itemStyle": {"color": ELEMENT_COLORS[el]},
            })
    start = s.model.spec.levers.start
    if s.settings.levers_moved() and start in s.months and series:
        series[0]["markLine"] = {
            "symbol": "none", "silent": True, "lineStyle": {"color": "#555", "type": "dotted"},
            "label": {"formatter": "levers", "fontSize": 10}, "data": [{"xAxis": start}]}
    opt = _frame("Oxide prices in China and outside it (USD/kg)",
                 "solid: China, dashed: outside China (mean weighted by NdPr use; the wedge); "
                 "log scale")
    opt.update({
        "tooltip": {"trigger": "axis", "unit": "USD/kg"},
        "legend": {"top": 44, "itemWidth": 18, "itemGap": 8, "textStyle": {"fontSize": 11}},
        "grid": {"left": 56, "right": 16, "top": 104, "bottom": 28},
        "xAxis": _month_axis(s.months),
        "yAxis": {"type": "log", "name": "USD/kg", "nameGap": 8, "logBase": 10,
                  "axisLabel": {"fontSize": 10}},
        "series": series,
    })
    return opt if s.read else _empty_note(opt, "no months simulated yet: press Play or Step")


def decoupling_option(s: Session) -> dict:
    series = [{"name": s.names.get(r, r), "type": "line", "showSymbol": False,
               "connectNulls": True, "itemStyle": {"color": REGION_COLORS.get(r)},
               "data": _clean_list(100 * x for x in s.content[r])} for r in DECOUPLING_REGIONS]
    opt = _frame("Decoupling: China-origin share of magnet supply, last 12 months (%)",
                 "magnets received by OEMs and defense contractors over the last 12 months, "
                 "mass-weighted")
    opt.update({
        "tooltip": {"trigger": "axis", "unit": "%"},
        "legend": {"top": 44, "textStyle": {"fontSize": 11}},
        "grid": {"left": 48, "right": 16, "top": 80, "bottom": 28},
        "xAxis": _month_axis(s.months),
        "yAxis": {"type": "value", "name": "%", "min": 0, "max": 100, "nameGap": 8,
                  "axisLabel": {"fontSize": 10}},
        "series": series,
    })
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def capacity_option(s: Session) -> dict:
    grids, xs, ys, series = [], [], [], []
    order = [r for r in s.codes if any(r in s.capacity[st] for st in STAGES)]
    for i, stage in enumerate(STAGES):
        left = 4 + i * 32.5
        grids.append({"left": f"{left + 3}%", "width": "26%", "top": 96, "bottom": 28})
        xs.append(_month_axis(s.months, i, every=36))
        ys.append({"type": "value", "gridIndex": i, "name": f"{stage} (kt/yr)", "nameGap": 8,
                   "nameTextStyle": {"fontSize": 11, "align": "left"},
                   "axisLabel": {"fontSize": 10}})
        for r in order:
            vals = s.capacity[stage].get(r)
            if vals is None:
                continue
            series.append({"name": s.names.get(r, r), "type": "line", "stack": stage,
                           "xAxisIndex": i, "yAxisIndex": i, "showSymbol": False,
                           "areaStyle": {"opacity": 0.85}, "lineStyle": {"width": 0.5},
                           "itemStyle": {"color": REGION_COLORS.get(r)},
                           "data": _clean_list(x / 1000 for x in vals)})
    opt = _frame("Capacity by country and stage (kt/yr)",
                 "stacked by country; China is hidden at first: click 'China' in the legend "
                 "to show it")
    opt.update({
        "tooltip": {"trigger": "axis", "unit": "kt/yr"},
        "legend": {"top": 44, "type": "scroll", "textStyle": {"fontSize": 11},
                   "data": [s.names.get(r, r) for r in order],
                   "selected": {s.names.get("CN", "CN"): False}},
        "grid": grids, "xAxis": xs, "yAxis": ys, "series": series,
    })
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def flows_option(s: Session, group: str) -> dict:
    fl = s.flows.get(group)
    month = s.last_month or "-"
    opt = _frame(f"Trade flows of {group} between regions, {month} (t/month)",
                 "exporters left, importers right; flows within a region not shown")
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
    nodes = ([{"name": s.names[r], "itemStyle": {"color": REGION_COLORS.get(r)}}
              for r in exporters]
             + [{"name": s.names[r] + "\u200b", "itemStyle": {"color": REGION_COLORS.get(r)}}
                for r in importers])
    opt.update({
        "tooltip": {"trigger": "item", "unit": "t/month"},
        "series": [{
            "type": "sankey", "top": 56, "bottom": 10, "left": 8, "right": 110,
            "nodeWidth": 12, "nodeGap": 6, "layoutIterations": 0, "draggable": False,
            "emphasis": {"focus": "adjacency"}, "label": {"fontSize": 11},
            "lineStyle": {"color": "gradient", "opacity": 0.45},
            "data": nodes,
            "links": [{"source": s.names[o], "target": s.names[d] + "\u200b", "value": _clean(q)}
                      for o, d, q in links],
        }],
    })
    return opt


def lost_output_option(s: Session) -> dict:
    series = [
        {"name": name, "type": "line", "showSymbol": False, "areaStyle": {"opacity": 0.3},
         "itemStyle": {"color": color}, "data": _clean_list(x / 1e6 for x in s.va_lost[key])}
        for name, key, color in (
            ("OEMs (civil)", "civil", "#ff7f0e"),
            ("Defense", "defense", "#3b3b98"))
    ]
    opt = _frame("Value added lost from magnet shortages (USD m/month)",
                 "lost output x value-added share x input-output multiplier "
                 "(value_added_lost: direct and supply-chain losses)")
    opt.update({
        "tooltip": {"trigger": "axis", "unit": "USD m/month"},
        "legend": {"top": 44, "textStyle": {"fontSize": 11}},
        "grid": {"left": 56, "right": 16, "top": 80, "bottom": 28},
        "xAxis": _month_axis(s.months),
        "yAxis": {"type": "value", "name": "USD m/month", "nameGap": 8, "min": 0,
                  "axisLabel": {"fontSize": 10}},
        "series": series,
    })
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def licences_option(s: Session) -> dict:
    opt = _frame("Export licences: applications, approvals and delay",
                 "t/month on licensed routes (left); mean review delay, months (right)")
    opt.update({
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 44, "textStyle": {"fontSize": 11}},
        "grid": {"left": 56, "right": 48, "top": 80, "bottom": 28},
        "xAxis": _month_axis(s.months),
        "yAxis": [{"type": "value", "name": "t/month", "nameGap": 8, "min": 0,
                   "axisLabel": {"fontSize": 10}},
                  {"type": "value", "name": "months", "nameGap": 8, "min": 0,
                   "splitLine": {"show": False}, "axisLabel": {"fontSize": 10}}],
        "series": [
            {"name": "applied", "type": "bar", "barGap": "-100%", "itemStyle": {"color": "#c7c7c7"},
             "tooltip": {"unit": "t/month"}, "data": _clean_list(s.applied)},
            {"name": "approved", "type": "bar", "itemStyle": {"color": "#2ca02c"},
             "tooltip": {"unit": "t/month"}, "data": _clean_list(s.approved)},
            {"name": "delay", "type": "line", "yAxisIndex": 1, "showSymbol": False,
             "connectNulls": False, "itemStyle": {"color": "#d62728"},
             "tooltip": {"unit": "months"}, "data": _clean_list(s.delay)},
        ],
    })
    return opt if s.read else _empty_note(opt, "no months simulated yet")


def events_html(s: Session, policy_only: bool) -> str:
    rows = [e for e in s.events if not policy_only or e["kind"] in POLICY_KINDS]
    shown = rows[-EVENT_ROWS:][::-1]
    if not shown:
        return "<p class='ree-muted'>No events yet.</p>"
    out = [("<table class='ree-events'><thead><tr><th>date</th><th>kind</th><th>event</th>"
            "</tr></thead><tbody>")]
    for e in shown:
        cls = "ree-policy" if e["kind"] in POLICY_KINDS else "ree-emergent"
        out.append(f"<tr class='{cls}'><td>{html.escape(e['date'])}</td>"
                   f"<td>{html.escape(e['kind'])}</td><td>{html.escape(e['text'])}</td></tr>")
    out.append("</tbody></table>")
    if len(rows) > len(shown):
        out.append(f"<p class='ree-muted'>{len(rows) - len(shown)} older events not shown.</p>")
    return "".join(out)


# ------------------------------------------------------------------------------- components
CSS = """
.v-navigation-drawer.solara-content-main { min-width: 330px !important;
                                           max-width: 330px !important; }
.ree-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.ree-wide { grid-column: 1 / -1; }
@media (max-width: 1000px) { .ree-grid { grid-template-columns: minmax(0, 1fr); } }
.ree-card { background: #fff; border: 1px solid #e0e0e0; border-radius: 4px; padding: 2px;
            min-width: 0; }
.ree-transport { position: sticky; top: 0; z-index: 3; background: #fafafa;
                 border-bottom: 1px solid #e0e0e0; padding: 4px 0; flex-wrap: wrap; }
.ree-date { font-size: 1.15rem; font-weight: 500; }
.ree-muted { color: #777; font-size: 12px; }
.ree-log { height: 372px; overflow-y: auto; padding: 0 6px; }
.ree-log h4 { font-size: 14px; margin: 4px 0; }
.ree-events { border-collapse: collapse; width: 100%; font-size: 12px; }
.ree-events th { text-align: left; position: sticky; top: 0; background: #fff; }
.ree-events td, .ree-events th { padding: 1px 6px 1px 0; vertical-align: top;
                                 border-bottom: 1px solid #f0f0f0; }
.ree-events td:first-child { white-space: nowrap; }
.ree-policy td:nth-child(2) { color: #1f5fa8; font-weight: 500; }
.ree-emergent td:nth-child(2) { color: #666; }
.ree-lever { margin-top: 6px; }
.ree-lever .v-input--checkbox { margin-top: 0; }
.ree-lever .v-input__slot { margin-bottom: 0; }
"""


def to_json(option: dict) -> str:
    """Compact JSON of a chart option (NaN is not JSON: use :func:`_clean` for values)."""
    return json.dumps(option, separators=(",", ":"), allow_nan=False)


@solara.component
def Chart(spec: str, height: str = "300px"):
    """An :class:`EChart` of ``spec`` (JSON text: pass strings, not dicts, as props)."""
    return EChart.element(spec=spec, height=height)


@solara.component
def OptionalLever(name: str, label: str, value: float | None, on_value: Callable,
                  lo: float, hi: float, step: float, unit: str, scale: float = 1.0,
                  default: float = 0.0, note: str = ""):
    """A lever that is either "as scheduled" (None) or set to a number (checkbox + slider)."""
    on = value is not None
    shown = (value if on else default) * scale
    text = f"{shown:,.{0 if step >= 1 else 2}f} {unit}" if on else "as scheduled"
    with solara.Column(gap="0px", classes=["ree-lever"]):
        rv.Checkbox(label=f"{label}: {text}", v_model=on, dense=True, hide_details=True,
                    class_=f"ree-set-{name}",
                    on_v_model=lambda flag: on_value(default if flag else None))
        rv.Slider(v_model=shown, min=lo, max=hi, step=step, dense=True, hide_details=True,
                  disabled=not on, thumb_label=True, class_=f"ree-lever-{name}",
                  on_v_model=lambda x: on_value(float(x) / scale))
        if note:
            solara.Text(note, classes=["ree-muted"])


@solara.component
def SettingsPanel(pending: solara.Reactive[Settings], active: Settings, reset: Callable,
                  build_error: str | None):
    """Scenario, seed and levers; applied by Reset."""
    st = pending.value

    def set_(**kw):
        pending.value = dataclasses.replace(pending.value, **kw)

    def pick_scenario(name):
        try:
            pending.value = Settings.for_scenario(name, seed=pending.value.seed)
        except ScenarioError as exc:  # pragma: no cover - shipped scenarios are valid
            log.warning("cannot load scenario %s: %s", name, exc)

    sc = load_scenario(st.scenario)
    months = [str(p) for p in pd.period_range(sc.start, sc.end, freq="M")]
    solara.Select("Scenario", values=shipped_scenarios(), value=st.scenario,
                  on_value=pick_scenario, dense=True, classes=["ree-scenario"])
    solara.Text(sc.description.split(". ")[0].strip() + ".", classes=["ree-muted"])
    solara.InputInt("Seed", value=st.seed, on_value=lambda x: set_(seed=int(x or 0)),
                    dense=True, classes=["ree-seed"])
    solara.Markdown("**Levers**: on top of the scenario's measures; *as scheduled* leaves "
                    "the scenario's timeline alone", style="font-size: 13px; margin-top: 8px")
    solara.Select("Levers take effect from", values=months, value=st.lever_start, dense=True,
                  on_value=lambda x: set_(lever_start=x), classes=["ree-lever-start"])
    OptionalLever("us_tariff_on_china", "US tariff on China", st.us_tariff_on_china,
                  lambda x: set_(us_tariff_on_china=x), 0, 500, 5, "%", scale=100,
                  default=1.45)
    OptionalLever("approval_rate_allies", "Licence approval, allies", st.approval_rate_allies,
                  lambda x: set_(approval_rate_allies=x), 0, 100, 5, "%", scale=100,
                  default=0.6, note="China's approval rate for JP, EU, KR, AU")
    OptionalLever("approval_rate_us", "Licence approval, US", st.approval_rate_us,
                  lambda x: set_(approval_rate_us=x), 0, 100, 5, "%", scale=100, default=0.45)
    denial = {None: "as scheduled", True: "on", False: "off"}
    solara.Text("Defense end-use denial", classes=["ree-muted"], style="margin-top: 8px")
    solara.ToggleButtonsSingle(
        value=denial[st.defense_end_use_denial], values=list(denial.values()),
        on_value=lambda x: set_(defense_end_use_denial={"on": True, "off": False}.get(x)),
        dense=True, classes=["ree-denial"])
    solara.Select("Truce start (US-China tariffs)", values=["none"] + months,
                  value=st.truce_start or "none", dense=True, classes=["ree-truce-start"],
                  on_value=lambda x: set_(truce_start=None if x == "none" else x))
    solara.SliderInt(f"Truce length: {st.truce_months} months", value=st.truce_months,
                     min=0, max=36, on_value=lambda x: set_(truce_months=int(x)),
                     disabled=st.truce_start is None)
    OptionalLever("ndpr_price_floor", "NdPr price floor", st.ndpr_price_floor,
                  lambda x: set_(ndpr_price_floor=x), 0, 300, 5, "USD/kg", default=110.0,
                  note="US floor for NdPr oxide")
    OptionalLever("stockpile_target_months", "Stockpile target", st.stockpile_target_months,
                  lambda x: set_(stockpile_target_months=x), 0, 24, 1, "months",
                  default=6.0, note="allied strategic stockpile, months of use")
    solara.SliderFloat(f"Substitution speed: {st.substitution_speed:.2f}x",
                       value=st.substitution_speed, min=0.25, max=4.0, step=0.25,
                       on_value=lambda x: set_(substitution_speed=float(x)))
    with solara.Row(style="margin-top: 8px; align-items: center"):
        solara.Button("Reset", icon_name="mdi-restore", color="primary", on_click=reset,
                      classes=["ree-reset-side"])
        solara.Button("Scenario defaults", text=True, small=True,
                      on_click=lambda: pick_scenario(st.scenario))
    if st != active:
        solara.Info("Changed: press Reset to rebuild the model with these settings.", dense=True)
    if build_error:
        solara.Error(build_error, dense=True)


@solara.component
def Transport(session: solara.Reactive[Session], version: solara.Reactive[int],
              playing: solara.Reactive[bool], speed: solara.Reactive[str],
              error: solara.Reactive[str | None], reset: Callable):
    """Play, pause, step, reset, speed; the current month and the frame timing."""
    version.value
    sess = session.value

    def frame(n: int) -> bool:
        """Step n months and redraw; returns False when nothing was simulated."""
        k = sess.step(n)
        t0 = time.perf_counter()
        version.value += 1  # renders the dashboard (synchronously in this thread)
        sess.record_frame(k, (time.perf_counter() - t0) * 1000)
        return k > 0

    def play_loop(cancel: threading.Event):
        while playing.value and not cancel.is_set():
            if sess.done:
                playing.value = False
                break
            sp = SPEEDS.get(speed.value, SPEEDS[DEFAULT_SPEED])
            t0 = time.perf_counter()
            try:
                frame(sp.months_per_frame)
            except Exception as exc:
                traceback.print_exc()
                error.value = f"error while stepping: {exc!r}"
                playing.value = False
                break
            wait = sp.seconds_per_frame - (time.perf_counter() - t0)
            cancel.wait(max(wait, 0.001))

    solara.use_thread(play_loop, dependencies=[playing.value, sess], intrusive_cancel=False)

    def step_once():
        try:
            frame(1)
        except Exception as exc:
            traceback.print_exc()
            error.value = f"error while stepping: {exc!r}"

    m = sess.model
    with solara.Row(classes=["ree-transport"], style="align-items: center; gap: 8px"):
        solara.Button("Pause" if playing.value else "Play",
                      icon_name="mdi-pause" if playing.value else "mdi-play",
                      color="primary", disabled=sess.done,
                      on_click=lambda: playing.set(not playing.value), classes=["ree-play"])
        solara.Button("Step", icon_name="mdi-step-forward", outlined=True,
                      disabled=playing.value or sess.done, on_click=step_once,
                      classes=["ree-step"])
        solara.Button("Reset", icon_name="mdi-restore", outlined=True, on_click=reset,
                      classes=["ree-reset"])
        with solara.Tooltip(SPEEDS[speed.value].help if speed.value in SPEEDS else ""):
            solara.ToggleButtonsSingle(value=speed, values=list(SPEEDS), dense=True,
                                       classes=["ree-speed"])
        month = sess.last_month
        solara.HTML(tag="span", classes=["ree-date"], unsafe_innerHTML=html.escape(
            f"{month}" if month else f"{m.start} (not started)"))
        solara.Text(f"month {m.steps} of {m.months} · {sess.settings.scenario}, "
                    f"seed {sess.settings.seed}", classes=["ree-muted", "ree-progress"])
        if sess.frames:  # the frame before this render (this one is still being drawn)
            n, step_ms, redraw_ms = sess.frames[-1]
            timing = (f"last frame: {n} month{'s' if n != 1 else ''} stepped in {step_ms:.0f} ms"
                      f" + redrawn in {redraw_ms:.0f} ms")
        else:
            timing = "last frame: -"
        solara.Text(timing, classes=["ree-muted", "ree-timing"])
    if error.value:
        solara.Error(error.value, dense=True)


@solara.component
def Dashboard(session: solara.Reactive[Session], version: solara.Reactive[int]):
    version.value
    sess = session.value
    group, set_group = solara.use_state("magnets")
    policy_only, set_policy_only = solara.use_state(False)
    with sess.lock:
        opts = {
            "prices": to_json(prices_option(sess)),
            "decoupling": to_json(decoupling_option(sess)),
            "capacity": to_json(capacity_option(sess)),
            "flows": to_json(flows_option(sess, group)),
            "lost": to_json(lost_output_option(sess)),
            "licences": to_json(licences_option(sess)),
        }
        log_html = events_html(sess, policy_only)
        n_events = len(sess.events)
    with solara.Div(classes=["ree-grid"]):
        with solara.Div(classes=["ree-card"]):
            Chart(opts["prices"], height="310px")
        with solara.Div(classes=["ree-card"]):
            Chart(opts["decoupling"], height="310px")
        with solara.Div(classes=["ree-card", "ree-wide"]):
            Chart(opts["capacity"], height="300px")
        with solara.Div(classes=["ree-card"]):
            Chart(opts["flows"], height="330px")
            solara.ToggleButtonsSingle(value=group, values=["magnets", "oxides"],
                                       on_value=set_group, dense=True,
                                       classes=["ree-flow-group"], style="margin: 0 0 4px 8px")
        with solara.Div(classes=["ree-card"]), solara.Div(classes=["ree-log"]):
            solara.HTML(tag="h4", unsafe_innerHTML=f"Event log ({n_events} events, newest "
                        "first): policy measures and emergent events")
            solara.Checkbox(label="policy measures only", value=policy_only,
                            on_value=set_policy_only)
            solara.HTML(tag="div", unsafe_innerHTML=log_html, classes=["ree-events-box"])
        with solara.Div(classes=["ree-card"]):
            Chart(opts["lost"], height="280px")
        with solara.Div(classes=["ree-card"]):
            Chart(opts["licences"], height="280px")


@solara.component
def Page(probe: Callable[[Session], None] | None = None):
    """The app. ``probe`` (tests only) is called with the session at every render."""
    first = solara.use_memo(lambda: Session(Settings.for_scenario(DEFAULT_SCENARIO)), [])
    session = solara.use_reactive(first)
    pending = solara.use_reactive(first.settings)
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(DEFAULT_SPEED)
    error = solara.use_reactive(None)
    build_error = solara.use_reactive(None)

    def reset():
        playing.value = False
        try:
            new = Session(pending.value)
        except (ScenarioError, ValueError) as exc:
            build_error.value = f"cannot build the model: {exc}"
            return
        build_error.value = None
        error.value = None
        session.value = new

    if probe is not None:
        probe(session.value)

    solara.Title("Rare earths: watch decoupling emerge")
    solara.Style(CSS)
    with solara.Sidebar():
        SettingsPanel(pending, session.value.settings, reset, build_error.value)
    with solara.Column(style="padding: 0 8px 8px 8px; min-width: 0", gap="6px"):
        Transport(session, version, playing, speed, error, reset)
        Dashboard(session, version)


__all__ = ["SPEEDS", "EChart", "Page", "Session", "Settings"]
