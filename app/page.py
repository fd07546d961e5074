"""The page: play controls (:func:`Transport`), the charts and the event log
(:func:`Dashboard`) and the settings sidebar, put together by :func:`Page`, one
:class:`app.session.Session` per browser session (created with ``solara.use_memo`` on the first
render and replaced by Reset)."""

from __future__ import annotations

import html
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

import solara

from abm.scenario import ScenarioError
from app.charts import (
    capacity_option,
    decoupling_option,
    events_html,
    flows_option,
    licences_option,
    lost_output_option,
    prices_option,
)
from app.session import Session
from app.settings import DEFAULT_SCENARIO, Settings, SettingsPanel
from app.widget import Chart, to_json

CSS = files("app").joinpath("style.css").read_text(encoding="utf-8")


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


@solara.component
def Transport(
    session: solara.Reactive[Session],
    version: solara.Reactive[int],
    playing: solara.Reactive[bool],
    speed: solara.Reactive[str],
    error: solara.Reactive[str | None],
    reset: Callable,
):
    """Play, pause, step, reset, speed; the current month and the frame timing."""
    _ = version.value  # read: re-render when a frame bumps it
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
        solara.Button(
            "Pause" if playing.value else "Play",
            icon_name="mdi-pause" if playing.value else "mdi-play",
            color="primary",
            disabled=sess.done,
            on_click=lambda: playing.set(not playing.value),
            classes=["ree-play"],
        )
        solara.Button(
            "Step",
            icon_name="mdi-step-forward",
            outlined=True,
            disabled=playing.value or sess.done,
            on_click=step_once,
            classes=["ree-step"],
        )
        solara.Button(
            "Reset", icon_name="mdi-restore", outlined=True, on_click=reset, classes=["ree-reset"]
        )
        with solara.Tooltip(SPEEDS[speed.value].help if speed.value in SPEEDS else ""):
            solara.ToggleButtonsSingle(
                value=speed, values=list(SPEEDS), dense=True, classes=["ree-speed"]
            )
        month = sess.last_month
        solara.HTML(
            tag="span",
            classes=["ree-date"],
            unsafe_innerHTML=html.escape(f"{month}" if month else f"{m.start} (not started)"),
        )
        solara.Text(
            f"month {m.steps} of {m.months} · {sess.settings.scenario}, seed {sess.settings.seed}",
            classes=["ree-muted", "ree-progress"],
        )
        if sess.frames:  # the frame before this render (this one is still being drawn)
            n, step_ms, redraw_ms = sess.frames[-1]
            timing = (
                f"last frame: {n} month{'s' if n != 1 else ''} stepped in {step_ms:.0f} ms"
                f" + redrawn in {redraw_ms:.0f} ms"
            )
        else:
            timing = "last frame: -"
        solara.Text(timing, classes=["ree-muted", "ree-timing"])
    if error.value:
        solara.Error(error.value, dense=True)


@solara.component
def Dashboard(session: solara.Reactive[Session], version: solara.Reactive[int]):
    _ = version.value  # read: re-render when a frame bumps it
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
            solara.ToggleButtonsSingle(
                value=group,
                values=["magnets", "oxides"],
                on_value=set_group,
                dense=True,
                classes=["ree-flow-group"],
                style="margin: 0 0 4px 8px",
            )
        with solara.Div(classes=["ree-card"]), solara.Div(classes=["ree-log"]):
            solara.HTML(
                tag="h4",
                unsafe_innerHTML=f"Event log ({n_events} events, newest "
                "first): policy measures and emergent events",
            )
            solara.Checkbox(
                label="policy measures only", value=policy_only, on_value=set_policy_only
            )
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
