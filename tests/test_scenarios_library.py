"""The scenario library (abm/scenarios/*.toml): contents, sources, round-trips, the
shared 2025 timeline, documentation, and a run of every shipped scenario to its horizon with
mass balance."""

from pathlib import Path

import pytest

from abm.scenario import load_scenario, loads_scenario, scenario_dir, shipped_scenarios
from abm.timeline import to_month
from experiments.reproduce import run_variants, scenario_events_markdown
from tests.conftest import SHORT_RUN_MONTHS

LIBRARY = {
    "baseline",
    "controls-2025",
    "embargo-2010",
    "escalation-2026",
    "allied-response",
    "substitution-recycling",
    "no-controls",
}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
# scenarios written as controls-2025 plus changes: measure ids they may change or drop
DERIVED = {
    "escalation-2026": {"changed": {"ann70_suspends_oct", "ann70_suspends_0p1"}, "dropped": set()},
    "allied-response": {"changed": set(), "dropped": set()},
    "substitution-recycling": {"changed": set(), "dropped": set()},
    "no-controls": {
        "changed": set(),
        "dropped": {
            "cn_licences_apr2025",
            "london_framework",
            "cn_controls_oct2025",
            "cn_extraterritorial_2025",
            "ann70_suspends_oct",
            "ann70_suspends_0p1",
            "cn_general_licences",
        },
    },
}


def test_library_holds_the_issue_scenarios():
    assert LIBRARY <= set(shipped_scenarios())


@pytest.mark.parametrize("name", shipped_scenarios())
def test_round_trip_load_dump_load(name):
    sc = load_scenario(name)
    text = sc.to_toml()
    again = loads_scenario(text)
    assert again == sc
    assert again.content_hash() == sc.content_hash()
    assert loads_scenario(again.to_toml()) == sc


@pytest.mark.parametrize("name", shipped_scenarios())
def test_every_measure_has_a_source_and_a_label(name):
    sc = load_scenario(name)
    for i, m in enumerate(sc.measures):
        assert m.source.strip(), f"{name} measures[{i}] ({m.kind} {m.date}) has no source"
        assert m.label.strip(), f"{name} measures[{i}] ({m.kind} {m.date}) has no label"
    ids = [m.id for m in sc.measures if m.id]
    assert len(ids) == len(set(ids)), f"{name}: duplicate measure ids"


def test_embargo_2010_export_duties_in_force():
    # the Nd duty rose from 15% to 25% with the 2011 customs tariff (GTA state act 2151);
    # the duties end in May 2015 after the WTO ruling
    from abm.goods import ELEMENTS
    from abm.model import RareEarthModel
    from abm.timeline import month_index

    m = RareEarthModel("embargo-2010", seed=0)
    cat, cn = m.catalog, m.region_index["CN"]
    rates = {}
    for month in ("2010-06", "2011-06", "2015-04", "2015-06"):
        m.policy.refresh(month_index(month, m.start), log=None)
        rates[month] = {
            e: round(float(m.policy.export_duty[cat.index[f"ox_{e}"], cn]), 2)
            for e in ("Nd", "Pr", "La", "Dy", "Sc")
        }
    assert rates["2010-06"] == {"Nd": 0.15, "Pr": 0.15, "La": 0.15, "Dy": 0.25, "Sc": 0.25}
    assert rates["2011-06"] == {"Nd": 0.25, "Pr": 0.15, "La": 0.15, "Dy": 0.25, "Sc": 0.25}
    assert rates["2015-04"] == rates["2011-06"]
    assert set(rates["2015-06"].values()) == {0.0}
    # every oxide carries a duty from 2009 to April 2015 (GTA 2151: 25% or 15%)
    assert (m.policy.export_duty[[cat.index[f"ox_{e}"] for e in ELEMENTS], cn] == 0).all()
    m.policy.refresh(month_index("2012-01", m.start), log=None)
    assert (m.policy.export_duty[[cat.index[f"ox_{e}"] for e in ELEMENTS], cn] > 0).all()


def test_embargo_2010_schedule():
    sc = load_scenario("embargo-2010")
    assert (sc.base_year, sc.start, sc.end) == (2009, "2009-01", "2016-12")
    by_id = {m.id: m for m in sc.measures if m.id}
    # the 2010 quota: two halves add up to the 30,258 t annual total, about 40% below 2009
    total_2010 = (
        by_id["cn_quota_2010_h1"].tonnes_per_year + by_id["cn_quota_2010"].tonnes_per_year
    ) / 2
    assert total_2010 == pytest.approx(30258, rel=0.01)
    cut = 1 - total_2010 / by_id["cn_quota_2009"].tonnes_per_year
    assert 0.35 <= cut <= 0.45
    # the halt to Japan: 21 Sep to about 20 Nov 2010, oxides and concentrates
    halt = by_id["cn_halt_japan_2010"]
    assert (halt.date, halt.end, halt.targets) == ("2010-09-21", "2010-11-20", ["JP"])
    # 2011 export and production quotas
    assert by_id["cn_quota_2011"].tonnes_per_year == 30184
    assert (
        by_id["cn_mining_quota_2011_light"].tonnes_per_year
        + by_id["cn_mining_quota_2011_heavy"].tonnes_per_year
    ) == 93800
    assert by_id["cn_mining_quota_2011_heavy"].deposits == ["ionic_clay"]
    # the WTO aftermath: quotas end in January 2015, duties in May 2015
    ends = {m.target_id: m.date for m in sc.measures if m.kind == "suspension"}
    assert ends["cn_quota_2014"].startswith("2015-01")
    assert ends["cn_duty_heavy"].startswith("2015-05")
    assert ends["cn_duty_light_2011"].startswith("2015-05")
    assert ends["cn_duty_nd_2011"].startswith("2015-05")
    assert "WT/DS431" in " ".join(m.source for m in sc.measures if m.kind == "suspension")
    # every quota measure ends or is suspended by the end of 2014
    for m in sc.measures:
        if m.kind == "export_quota":
            stop = m.end or ends.get(m.id)
            assert stop is not None and to_month(stop) <= to_month("2015-01"), m.id


def test_escalation_2026_lapse_and_tariffs():
    sc = load_scenario("escalation-2026")
    sus = {m.target_id: m for m in sc.measures if m.kind == "suspension"}
    for target in ("cn_controls_oct2025", "cn_extraterritorial_2025"):
        assert sus[target].end == "2026-11-10"
    ex = {m.id: m for m in sc.measures if m.id}["cn_extraterritorial_2025"]
    assert ex.extraterritorial
    assert set({m.id: m for m in sc.measures}["cn_controls_oct2025"].elements) == {
        "Ho",
        "Er",
        "Tm",
        "Eu",
        "Yb",
    }
    us = [
        m
        for m in sc.measures
        if m.kind == "tariff" and m.actor == "US" and to_month(m.date) >= to_month("2026-11")
    ]
    assert us and max(m.rate for m in us) >= 1.0


def test_allied_response_has_every_element():
    sc = load_scenario("allied-response")
    kinds = {}
    for m in sc.measures:
        if to_month(m.date) >= to_month("2026-01"):
            kinds.setdefault(m.kind, set()).add(m.actor)
    assert {"US", "JP", "EU"} <= kinds["stockpile"]
    assert len(kinds["price_floor"]) >= 2
    assert {"US", "JP", "EU", "KR", "AU"} <= kinds["tariff"]
    assert all(
        m.rate == 0 and m.targets == ["allied"]
        for m in sc.measures
        if m.kind == "tariff" and to_month(m.date) >= to_month("2026-01")
    )
    assert all(
        m.lead_time_factor < 1
        for m in sc.measures
        if m.kind == "subsidy" and to_month(m.date) >= to_month("2026-01")
    )


def test_substitution_recycling_moves_documented_parameters_within_range():
    from abm.parameters import Parameters

    sc = load_scenario("substitution-recycling")
    base = Parameters()
    assert sc.levers.substitution_speed > 1
    moved = {k for k in Parameters.model_fields if getattr(sc.parameters, k) != getattr(base, k)}
    assert {
        "recycling_share",
        "substitution_max_share",
        "dy_free_max_share",
        "substitution_lag_months",
    } <= moved
    for k in moved:
        extra = Parameters.model_fields[k].json_schema_extra
        assert extra["low"] <= getattr(sc.parameters, k) <= extra["high"], k


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_scenarios_share_the_2025_timeline(name):
    base = {m.id: m for m in load_scenario("controls-2025").measures}
    sc = {m.id: m for m in load_scenario(name).measures if m.id}
    allowed = DERIVED[name]
    for mid, m in base.items():
        if mid in allowed["dropped"]:
            assert mid not in sc, f"{name} should not contain {mid}"
        elif mid in allowed["changed"]:
            assert mid in sc and sc[mid] != m
        else:
            assert sc.get(mid) == m, f"{name}: measure {mid} differs from controls-2025"
    assert load_scenario(name).start == "2024-01" and load_scenario(name).end == "2035-12"


def test_no_controls_keeps_the_tariffs_and_drops_every_licence_measure():
    sc = load_scenario("no-controls")
    kinds = {m.kind for m in sc.measures}
    assert not kinds & {"export_licence", "licence_policy"}
    ctl = load_scenario("controls-2025")
    assert [m for m in ctl.measures if m.kind == "tariff"] == [
        m for m in sc.measures if m.kind == "tariff"
    ]


def test_scenario_files_are_the_shipped_names():
    for p in scenario_dir().glob("*.toml"):
        assert load_scenario(p).name == p.stem


#: event tables in docs/scenarios.md: scenario -> the scenario it is listed relative to
DOC_TABLES = {
    "embargo-2010": None,
    "controls-2025": None,
    "no-controls": None,
    "escalation-2026": "controls-2025",
    "allied-response": "controls-2025",
}


@pytest.mark.parametrize("name", shipped_scenarios())
def test_docs_explain_every_scenario(name):
    text = DOCS.read_text(encoding="utf-8")
    assert f"## `{name}`" in text, f"docs/scenarios.md has no section for {name}"


@pytest.mark.parametrize("name,rel", sorted(DOC_TABLES.items()))
def test_docs_event_tables_are_current(name, rel):
    table = scenario_events_markdown(name, rel)
    assert table.count("\n") > 2
    assert table in DOCS.read_text(encoding="utf-8"), (
        f"the event table of {name} in docs/scenarios.md is out of date; regenerate it with "
        "experiments.reproduce.scenario_events_markdown("
        f"{name!r}{', ' + repr(rel) if rel else ''})"
    )


@pytest.fixture(scope="module")
def horizon_runs():
    """Every shipped scenario to its horizon, one seed, in parallel on the local cores."""
    from experiments.reproduce import Variant

    tasks = [(Variant(n, n), None) for n in shipped_scenarios()]
    return {r["variant"]: r for r in run_variants(tasks, 1, progress=False)}


@pytest.mark.slow
@pytest.mark.parametrize("name", shipped_scenarios())
def test_every_scenario_runs_to_its_horizon_with_mass_balance(horizon_runs, name):
    r = horizon_runs[name]
    assert r["months"] == load_scenario(name).months
    assert r["mass_balance"] < 1e-6, f"{name}: mass-balance residual {r['mass_balance_abs']:.3g} t"
    s = r["series"]
    last = s[s["date"] == s["date"].max()]
    assert str(last["date"].iloc[0])[:7] == load_scenario(name).end
    assert last.loc[last["series"] == "mine:world", "value"].iloc[0] > 0


@pytest.mark.parametrize("name", shipped_scenarios())
def test_every_scenario_runs_its_first_months_with_mass_balance(shipped_runs, name):
    """Fast counterpart of the horizon check above (marked slow: about 1,000 model-months):
    the same mass-balance, date and mine-output checks on the shared 24-month run of every
    shipped scenario (conftest.py ``shipped_runs``), and the horizon a run without ``months``
    takes."""
    import numpy as np
    import pandas as pd

    from abm.model import check_months
    from experiments.reproduce import Variant, build_scenario

    m, _ = shipped_runs[name]
    sc = load_scenario(name)
    assert m.steps == SHORT_RUN_MONTHS < sc.months
    resid = float(np.abs(m.mass_balance()).max())
    assert resid / max(1.0, float(m.produced.max())) < 1e-6, (
        f"{name}: mass-balance residual {resid:.3g} t"
    )
    ts = m.timeseries()
    last = ts[ts["date"] == ts["date"].max()]
    assert last["date"].iloc[0] == pd.Timestamp(sc.start + "-01") + pd.DateOffset(
        months=SHORT_RUN_MONTHS - 1
    )
    mine = last[(last["metric"] == "production") & last["good"].str.startswith("conc_")]
    assert mine["value"].sum() > 0
    # without ``months`` a run takes the scenario horizon (start to end inclusive)
    assert (
        check_months(build_scenario(Variant(name, name)), None)
        == sc.months
        == ((int(sc.end[:4]) - int(sc.start[:4])) * 12 + int(sc.end[5:7]) - int(sc.start[5:7]) + 1)
    )
    assert m.horizon == sc.months
