"""The browser UI (app.py, the package app/) rendered headless with ``solara.render``: no
server, no browser.

What a user does is done through the widgets (find by the ``ree-*`` CSS classes, set
``v_model``, click): the page builds, Step advances the model, a lever change plus Reset
rebuilds the model with that value, Play/Pause, extreme lever values, independent sessions.
Numbers are not asserted (the calibration is still moving); structure, dates and settings are.
The real-browser versions are in tests/browser/test_app_browser.py (``pytest -m browser``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from pydantic import Field

solara = pytest.importorskip("solara", reason="the app needs the [app] extra (solara)")
v = pytest.importorskip("ipyvuetify")

from abm.model import RareEarthModel  # noqa: E402
from abm.scenario import Levers, apply_overrides, load_scenario, shipped_scenarios  # noqa: E402
from app import charts, page, session, settings, widget  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP_PATH = ROOT / "app.py"
APP_MODULES = (page, session, settings, charts, widget)
LEVERS_FROM = 15  # 2025-04 (the levers' default start) is step 15 of a 2024-01 scenario


@pytest.fixture(scope="module")
def app():
    """app.py loaded from its file, as `solara run app.py` does: the entry point."""
    spec = importlib.util.spec_from_file_location("ree_app_under_test", APP_PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    assert mod.Page is page.Page  # the thin entry point hands Solara the package's Page
    yield mod
    sys.modules.pop(spec.name, None)


class UI:
    """One rendered page (one browser session) and helpers to drive it."""

    def __init__(self, app):
        self.app = app
        self.sessions: list = []

        @solara.component
        def Wrapped():  # solara run wraps Page in AppLayout; without it no sidebar renders
            with solara.AppLayout():
                app.Page(probe=self.sessions.append)

        _, self.rc = solara.render(Wrapped(), handle_error=False)

    @property
    def session(self):
        return self.sessions[-1]

    @property
    def model(self):
        return self.session.model

    def one(self, cls=v.Btn, **kw):
        return self.rc.find(cls, **kw).widget

    def click(self, css: str) -> None:
        self.one(v.Btn, class_=css).click()

    def text(self, css: str) -> str:
        """Text of the element whose CSS classes are exactly ``css`` (Text or HTML)."""
        found = self.rc.find(v.Html, class_=css).widgets
        if found:
            return str(found[0].children[0])
        return self.rc.find(solara.widgets.HTML, attributes={"class": css}).widget.unsafe_innerHTML

    def date(self) -> str:
        return self.text("ree-date")

    def charts(self) -> list[dict]:
        return [json.loads(w.spec) for w in self.rc.find(widget.EChart).widgets]

    def errors(self) -> list[str]:
        return [str(w.children) for w in self.rc.find(v.Alert).widgets if w.type == "error"]

    def set_lever(self, name: str, ui_value: float) -> None:
        """Tick the lever's checkbox and move its slider to ``ui_value`` (UI units: %, ...)."""
        self.one(v.Checkbox, class_=f"ree-set-{name}").v_model = True
        self.one(v.Slider, class_=f"ree-lever-{name}").v_model = ui_value

    def toggle(self, css: str, label: str) -> None:
        box = self.one(v.BtnToggle, class_=css)
        box.v_model = [b.children[-1] for b in box.children].index(label)

    def close(self) -> None:
        self.rc.close()


@pytest.fixture
def ui(app):
    page = UI(app)
    yield page
    page.close()


def test_page_builds_with_every_view(ui, app):
    charts = ui.charts()
    titles = [c["title"]["text"] for c in charts]
    assert len(charts) == 6 and len(set(titles)) == 6
    units = ["(USD/kg)", "(%)", "(kt/yr)", "(t/month)", "(USD m/month)"]
    for unit in units:
        assert any(unit in t for t in titles), (unit, titles)
    assert "delay" in titles[-1]  # licences: approvals and delays
    for c in charts:
        if c.get("series") and c["series"][0].get("type") != "sankey":
            assert "legend" in c, c["title"]
    assert "(not started)" in ui.date()
    assert ui.model.steps == 0
    scen = ui.one(v.Select, class_="ree-scenario")
    assert scen.items == shipped_scenarios() and scen.v_model == settings.DEFAULT_SCENARIO
    for lever in (
        "us_tariff_on_china",
        "approval_rate_allies",
        "approval_rate_us",
        "ndpr_price_floor",
        "stockpile_target_months",
    ):
        assert ui.one(v.Slider, class_=f"ree-lever-{lever}").disabled  # "as scheduled"
    ui.one(v.BtnToggle, class_="ree-denial")
    ui.one(v.Select, class_="ree-truce-start")
    for css in ("ree-play", "ree-step", "ree-reset"):
        ui.one(v.Btn, class_=css)
    ui.one(v.BtnToggle, class_="ree-speed")
    assert not ui.errors()


def test_step_advances_the_model_and_the_charts(ui):
    for _ in range(3):
        ui.click("ree-step")
    assert ui.model.steps == 3
    assert ui.date() == "2024-03"
    prices, decoupling, capacity, flows, lost, licences = ui.charts()
    assert [len(s["data"]) for s in prices["series"]] == [3] * 6
    assert {s["name"] for s in decoupling["series"]} == {
        "USA",
        "European Union",
        "Japan",
        "South Korea",
    }
    assert "last 12 months" in decoupling["title"]["text"]
    assert capacity["series"] and all(len(s["data"]) == 3 for s in capacity["series"])
    assert flows["series"][0]["type"] == "sankey" and flows["series"][0]["links"]
    assert "2024-03" in flows["title"]["text"]
    assert len(lost["series"][0]["data"]) == 3 and len(licences["series"][0]["data"]) == 3
    assert "ms" in ui.text("ree-muted ree-timing")
    ui.toggle("ree-flow-group", "oxides")
    assert "oxides" in ui.charts()[3]["title"]["text"]


def test_lever_change_and_reset_rebuild_the_model(ui):
    first = ui.session
    ui.click("ree-step")
    ui.set_lever("us_tariff_on_china", 300)
    ui.set_lever("approval_rate_us", 20)
    seed = ui.one(v.TextField, class_="ree-seed")
    seed.v_model = "7"
    seed.fire_event("focusout", None)
    ui.toggle("ree-denial", "off")
    assert ui.session is first and ui.model.spec.levers.us_tariff_on_china is None
    assert any("press Reset" in str(w.children) for w in ui.rc.find(v.Alert).widgets)
    ui.click("ree-reset")
    m = ui.model
    assert ui.session is not first and m is not first.model
    assert m.steps == 0 and "(not started)" in ui.date()
    assert m.spec.levers.us_tariff_on_china == pytest.approx(3.0)
    assert m.spec.levers.approval_rate_us == pytest.approx(0.2)
    assert m.spec.levers.defense_end_use_denial is False
    assert m.seed == 7
    assert m.spec.levers.approval_rate_allies is None  # untouched: as scheduled
    ui.click("ree-step")
    assert ui.model.steps == 1 and not ui.errors()


def test_settings_controls_are_generated_from_levers(ui):
    """Every Levers field is a Settings field and either has a control or is listed as not
    shown; every numeric lever's slider spans its json_schema_extra low..high (in %, x100, for
    fractions and 0-1 probabilities); a lever the hand-written UI lacked
    (licence_review_months) reaches the model through its generated control."""
    fields = Levers.model_fields
    names = {f.name for f in dataclasses.fields(settings.Settings)}
    assert names == {"scenario", "seed", "lever_start"} | (fields.keys() - {"start"})
    by_field = {c.field: c for c in settings.CONTROLS}
    assert by_field.keys() | settings.NOT_SHOWN.keys() == fields.keys()
    assert not by_field.keys() & settings.NOT_SHOWN.keys()
    numeric = {
        k: f
        for k, f in fields.items()
        if isinstance(f.json_schema_extra, dict) and "low" in f.json_schema_extra
    }
    assert len(numeric) == 8
    sliders = {str(w.label).split(":")[0]: w for w in ui.rc.find(v.Slider).widgets if w.label}
    for k, f in numeric.items():
        c, extra = by_field[k], f.json_schema_extra
        scale = 100 if extra["unit"] in ("fraction", "-") else 1
        assert (c.lo, c.hi, c.scale) == (extra["low"] * scale, extra["high"] * scale, scale), k
        w = ui.one(v.Slider, class_=f"ree-lever-{k}") if c.kind == "optional" else sliders[c.label]
        assert (w.min, w.max) == (c.lo, c.hi), k
    assert by_field["us_tariff_on_china"].hi == 500 and by_field["approval_rate_us"].hi == 100
    ui.set_lever("licence_review_months", 4.5)
    assert (
        "Licence review delay: 4.50 months"
        in ui.one(v.Checkbox, class_="ree-set-licence_review_months").label
    )
    ui.click("ree-reset")
    assert ui.model.spec.levers.licence_review_months == pytest.approx(4.5)
    assert ui.model.spec.levers.approval_rate_us is None


def test_a_new_lever_gets_a_control_without_editing_the_ui():
    class MoreLevers(Levers):
        export_quota: float | None = Field(
            None,
            ge=0,
            description="China's export quota for NdPr oxide, t/month",
            json_schema_extra={"unit": "t/month", "low": 0.0, "high": 2000.0},
        )
        quota_years: int = Field(
            2,
            description="years the quota lasts",
            json_schema_extra={"unit": "years", "low": 1, "high": 10},
        )
        quota_share: float = Field(
            0.5,
            description="share, fraction",
            json_schema_extra={"unit": "fraction", "low": 0, "high": 1},
        )

    new = {c.field: c for c in settings.lever_controls(MoreLevers)}
    q = new["export_quota"]
    assert (q.kind, q.label, q.unit, q.lo, q.hi, q.step, q.default) == (
        "optional",
        "China's export quota for NdPr oxide",
        "t/month",
        0,
        2000,
        20,
        1000,
    )
    y = new["quota_years"]
    assert (y.kind, y.label, y.lo, y.hi, y.step) == ("int", "Years the quota lasts", 1, 10, 1)
    sh = new["quota_share"]
    assert (sh.kind, sh.unit, sh.lo, sh.hi, sh.step) == ("float", "%", 0, 100, 1)

    class NoBounds(Levers):
        quota: float | None = Field(None, description="a quota")

    with pytest.raises(ValueError, match="Levers.quota has no json_schema_extra low/high"):
        settings.lever_controls(NoBounds)

    class EmptyRange(Levers):
        quota: float = Field(
            1.0, description="a quota", json_schema_extra={"unit": "t", "low": 2, "high": 2}
        )

    with pytest.raises(ValueError, match="Levers.quota json_schema_extra low 2 is not below"):
        settings.lever_controls(EmptyRange)


def test_invalid_setting_shows_an_error_and_keeps_the_model(ui):
    before = ui.session
    seed = ui.one(v.TextField, class_="ree-seed")
    seed.v_model = "-1"
    seed.fire_event("focusout", None)
    ui.click("ree-reset")
    assert ui.session is before
    assert any("cannot build the model" in e for e in ui.errors())
    ui.click("ree-step")
    assert ui.model.steps == 1


def test_scenario_picker_and_reset(ui):
    ui.one(v.Select, class_="ree-scenario").v_model = "baseline"
    ui.click("ree-reset-side")
    assert ui.model.spec.name == "baseline"
    assert ui.session.settings == type(ui.session.settings).for_scenario("baseline")


@pytest.mark.parametrize(
    ("extreme", "start", "steps_to_start"),
    [
        (
            {
                "us_tariff_on_china": 500,
                "approval_rate_allies": 0,
                "approval_rate_us": 0,
                "ndpr_price_floor": 0,
                "stockpile_target_months": 0,
                "denial": "on",
            },
            None,
            LEVERS_FROM,
        ),  # the levers' default start, 2025-04
        # the open extremes from 2024-02 (step 1): 3 months under the levers as above, without
        # the 14 UI steps before 2025-04 (the default start is the closed case's)
        (
            {
                "us_tariff_on_china": 0,
                "approval_rate_allies": 100,
                "approval_rate_us": 100,
                "ndpr_price_floor": 300,
                "stockpile_target_months": 24,
                "denial": "off",
            },
            "2024-02",
            1,
        ),
    ],
    ids=["closed", "open"],
)
def test_extreme_levers_run_without_errors(ui, extreme, start, steps_to_start):
    extreme = dict(extreme)
    ui.toggle("ree-denial", extreme.pop("denial"))
    for name, value in extreme.items():
        ui.set_lever(name, value)
    if start:
        ui.one(v.Select, class_="ree-lever-start").v_model = start
    ui.click("ree-reset")
    lv = ui.model.spec.levers
    assert lv.us_tariff_on_china == pytest.approx(extreme["us_tariff_on_china"] / 100)
    assert lv.approval_rate_allies == pytest.approx(extreme["approval_rate_allies"] / 100)
    assert lv.start == (start or "2025-04")
    for _ in range(steps_to_start + 3):  # past the month the levers take effect
        ui.click("ree-step")
    assert ui.model.steps == steps_to_start + 3
    assert not ui.errors()
    ui.one(v.Checkbox, label="policy measures only").v_model = True
    log = ui.text("ree-events-box")
    want = f"US tariff on China set to {extreme['us_tariff_on_china']}% (lever)"
    assert want in log and (start or "2025-04") in log and "ree-emergent" not in log
    assert all(len(s["data"]) == steps_to_start + 3 for s in ui.charts()[0]["series"])


def test_truce_substitution_and_lever_start(ui):
    ui.one(v.Select, class_="ree-truce-start").v_model = "2025-05"
    ui.one(v.Select, class_="ree-lever-start").v_model = "2026-01"
    sliders = {str(w.label).split(":")[0]: w for w in ui.rc.find(v.Slider).widgets if w.label}
    sliders["Truce length"].v_model = 36
    sliders["Substitution speed"].v_model = 4.0
    ui.click("ree-reset")
    lv = ui.model.spec.levers
    assert (lv.truce_start, lv.truce_months, lv.substitution_speed) == ("2025-05", 36, 4.0)
    assert lv.start == "2026-01"


def test_play_and_pause(ui):
    ui.click("ree-play")
    deadline = time.monotonic() + 30
    while ui.model.steps < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    ui.click("ree-play")  # now "Pause"
    assert ui.model.steps >= 3
    time.sleep(0.4)  # a frame in flight may finish
    stopped = ui.model.steps
    time.sleep(0.6)
    assert ui.model.steps == stopped
    assert ui.date() == str(ui.model.date - 1)
    assert not ui.errors()


def test_sessions_are_independent(app):
    a, b = UI(app), UI(app)
    try:
        assert a.model is not b.model
        a.click("ree-step")
        a.click("ree-step")
        assert (a.model.steps, b.model.steps) == (2, 0)
        b.click("ree-step")
        a.click("ree-reset")
        assert (a.model.steps, b.model.steps) == (0, 1)
        assert b.date() == "2024-01"
    finally:
        a.close()
        b.close()


def test_no_model_at_module_level_and_telemetry_off(app):
    import os

    shared = [
        (mod.__name__, k)
        for mod in (app, *APP_MODULES)
        for k, val in vars(mod).items()
        if isinstance(val, (session.Session, RareEarthModel))
    ]
    assert not shared
    assert os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    settings = pytest.importorskip("solara.server.settings")
    assert settings.telemetry.mixpanel_enable is False
    sources = [APP_PATH, *(ROOT / "app").glob("*.py"), *(ROOT / "app").glob("*.vue")]
    assert len(sources) >= 7
    assert not [p for p in sources if "CommandConsole" in p.read_text()]  # no Python console


def test_settings_overrides(app):
    s = settings.Settings.for_scenario("controls-2025")
    assert s.overrides() == {}
    s2 = type(s)(
        **{
            **s.__dict__,
            "us_tariff_on_china": 5.0,
            "approval_rate_us": 0.0,
            "truce_start": "2026-01",
            "truce_months": 12,
        }
    )
    ov = s2.overrides()
    assert ov == {
        "levers.us_tariff_on_china": 5.0,
        "levers.approval_rate_us": 0.0,
        "levers.truce_start": "2026-01",
        "levers.truce_months": 12,
    }
    apply_overrides(load_scenario("controls-2025"), ov)  # valid paths and values


def test_incremental_series_match_the_full_table(app):
    s = session.Session(settings.Settings.for_scenario("controls-2025", seed=3))
    s.step(2)
    s.step(3)
    m = s.model
    assert s.read == m.steps == 5
    full = m.recorder.frame(metrics=("china_content_12m", "capacity"))
    # the decoupling chart draws the recorded 12-month (mass-weighted) share
    us = full[(full.metric == "china_content_12m") & (full.region == "US")]
    assert len(us) == 5
    assert s.content["US"] == list(us.sort_values("step")["value"])
    cap = full[(full.metric == "capacity") & (full.good == "magnets")]
    for region, vals in s.capacity["magnets"].items():
        got = cap[cap.region == region].set_index("step")["value"]
        assert vals == pytest.approx([got.get(k, 0.0) for k in range(5)])
    assert len(s.events) == len(m.events)
    h = s.headline()
    assert h["Tb price China (USD/kg)"] == list(m.headline_frame()["Tb price China (USD/kg)"])
    assert s.flows["magnets"].shape == (len(m.region_codes),) * 2
    for opt in (
        charts.prices_option(s),
        charts.capacity_option(s),
        charts.flows_option(s, "oxides"),
    ):
        widget.to_json(opt)  # JSON-safe (no NaN)


def test_step_and_redraw_record_a_frame_each(ui):
    """Each Step records one frame (step and redraw milliseconds); their speed is measured
    in bench/, not asserted here (a timed test fails on a busy machine)."""
    before = len(ui.session.frames)
    for _ in range(3):
        ui.click("ree-step")
    frames = ui.session.frames[before:]
    assert len(frames) == 3
    assert all(f[1] > 0 and f[2] >= 0 for f in frames)


def test_lever_events_are_logged_when_they_take_effect(app):
    import dataclasses

    s = dataclasses.replace(
        settings.Settings.for_scenario("controls-2025"),
        truce_start="2026-01",
        truce_months=6,
        substitution_speed=2.0,
        ndpr_price_floor=150.0,
    )
    sess = session.Session(s)
    ev = session.lever_events(s, sess.model)
    assert [e["date"] for e in ev] == ["2024-01", "2025-04", "2026-01", "2026-07"]
    assert all(e["kind"] == "lever" and e["text"].endswith("(lever)") for e in ev)
    sess.step(16)  # through 2025-04
    logged = [e for e in sess.events if e["kind"] == "lever"]
    assert [e["date"] for e in logged] == ["2024-01", "2025-04"]
    assert "150 USD/kg" in logged[1]["text"]


@pytest.mark.parametrize("name", shipped_scenarios())
def test_every_shipped_scenario_runs_in_the_ui_model(app, name):
    s = settings.Settings.for_scenario(name)
    sess = session.Session(s)
    assert sess.model.spec.name == name and s.lever_start in sess.months
    sess.step(2)
    for opt in (
        charts.prices_option(sess),
        charts.decoupling_option(sess),
        charts.capacity_option(sess),
        charts.flows_option(sess, "magnets"),
        charts.lost_output_option(sess),
        charts.licences_option(sess),
    ):
        widget.to_json(opt)
    assert charts.events_html(sess, policy_only=False)
