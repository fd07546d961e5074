"""One browser session's model run: :class:`Session` builds the model from
:class:`app.settings.Settings`, steps it under a lock (the play loop runs in a worker thread,
button handlers in the server's) and reads what the model recorded incrementally
(``recorder.frame(since_step=...)``, the DataCollector's lists, the new events) into small
per-month series the charts draw. Nothing here lives at module level: one model per session.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from abm.goods import STAGES
from abm.metrics import is_civil_magnet
from abm.model import RareEarthModel
from app.settings import CONTROLS, Settings

DECOUPLING_REGIONS = ("US", "EU", "JP", "KR")


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
            out.append(
                (
                    at(lv.start),
                    text(val)
                    if val is not None
                    else f"{key.replace('_', ' ')}: back to the scenario's schedule",
                )
            )
    special = {*texts, "substitution_speed", "truce_start", "truce_months", "start"}
    for c in CONTROLS:  # levers without a text of their own: "<label> set to <value>"
        if c.field in changed and c.field not in special:
            val = changed[c.field]
            shown = "as scheduled" if val is None else f"{val * c.scale:g} {c.unit}".strip()
            out.append((at(lv.start), f"{c.label} set to {shown}"))
    if "substitution_speed" in changed:
        out.append((0, f"substitution speed x{lv.substitution_speed:g} for the whole run"))
    if lv.truce_start is not None and ("truce_start" in changed or "truce_months" in changed):
        t0 = at(lv.truce_start)
        out.append((t0, f"US-China tariff truce begins ({lv.truce_months} months)"))
        out.append((t0 + lv.truce_months, "US-China tariff truce ends"))
    return [
        {"date": str(model.start + k), "step": k, "kind": "lever", "text": f"{t} (lever)"}
        for k, t in sorted(out, key=lambda e: e[0])
        if 0 <= k < model.months
    ]


class Session:
    """One browser session's model plus the per-month series the charts draw.

    Thread-safe: :meth:`step` and the chart builders (in :func:`app.page.Dashboard`) hold
    :attr:`lock` (the play loop runs in a worker thread, button handlers in the server's).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model = RareEarthModel(
            settings.scenario, seed=settings.seed, overrides=settings.overrides() or None
        )
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
        df = m.recorder.frame(
            since_step=first,
            metrics=(
                "capacity",
                "china_content_12m",
                "licence_applications",
                "licence_approvals",
                "licence_delay",
                "value_added_lost",
            ),
        )
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
            got = dict(zip(region[sel], value[sel], strict=True))
            for r in DECOUPLING_REGIONS:
                self.content[r].append(got.get(r, float("nan")))
            # capacity by stage and region, t/yr
            sel = at & (metric == "capacity")
            for stage in STAGES:
                row = self.capacity[stage]
                ss = sel & (good == stage)
                got = dict(zip(region[ss], value[ss], strict=True))
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
        new = list(m.events[self._n_events :])
        self._n_events = len(m.events)
        due = [e for e in self._levers_pending if e["step"] < last]
        self._levers_pending = self._levers_pending[len(due) :]
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
