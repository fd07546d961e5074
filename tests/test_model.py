"""Model mechanisms, invariants and reproducibility (abm.model and agents)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.goods import catalog
from abm.model import RareEarthModel
from abm.scenario import shipped_scenarios
from agents import OEM, Refiner
from tests.conftest import make_scenario


def _flow(ts, good, o, d, since=None):
    f = ts[(ts.metric == "flow") & (ts.good == good) & (ts.region == o) & (ts.partner == d)]
    if since:
        f = f[f.date >= pd.Timestamp(since)]
    return f["value"].sum()


def test_default_run_has_at_least_100_firms_and_12_regions():
    m = RareEarthModel("controls-2025", seed=0)
    firms = [a for a in m.agents if type(a).__name__ != "Government"]
    assert len(firms) >= 100 and len(m.region_codes) >= 12
    names = {a.name for a in m.agents}
    for n in (
        "MP Materials",
        "Lynas Rare Earths (Kuantan)",
        "Neo Performance Materials (Silmet)",
        "China Northern Rare Earth Group",
        "Shin-Etsu Chemical",
    ):
        assert n in names


@pytest.mark.parametrize("name", shipped_scenarios())
def test_mass_balance_and_no_negative_stock_each_step(shipped_runs, name):
    # after each step of the shared 24-month run of every shipped scenario (conftest.py
    # shipped_runs records them; was its own 18-month run of controls-2025, seed 3)
    shipped_runs[name]
    steps = shipped_runs.each_step[name]
    assert len(steps) == 24
    for k, (resid, lowest_stock) in enumerate(steps):
        assert resid < 1e-6, (k, resid)
        assert lowest_stock >= 0, (k, lowest_stock)


def _random_scenario_mass_balance(rate, appr, month, quota, seed, months):
    d = f"2024-{month:02d}"
    sc = make_scenario(
        [
            {"kind": "tariff", "date": d, "actor": "US", "targets": ["CN"], "rate": rate},
            {
                "kind": "export_licence",
                "date": d,
                "actor": "CN",
                "elements": ["Dy", "Tb"],
                "approval": {"default": appr},
            },
            {"kind": "export_quota", "date": d, "actor": "CN", "tonnes_per_year": quota},
        ]
    )
    m = RareEarthModel(sc, seed=seed, months=months).run()
    assert np.abs(m.mass_balance()).max() < 1e-6 * max(1.0, m.produced.max())
    assert min(s.qty for a in m.agents for s in a.stocks.values()) >= 0


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.floats(0, 3),
    appr=st.floats(0, 1),
    month=st.integers(1, 6),
    quota=st.floats(0, 60000),
    seed=st.integers(0, 2**31),
)
def test_mass_balance_on_random_scenarios(rate, appr, month, quota, seed):
    # 4 examples of 8 months (was 6 of 12, measures from months 1-10): every measure is in
    # force for at least the last 2 months, past the licence review of the first
    # applications; the slow set draws 20 examples of 12 months (the test below)
    _random_scenario_mass_balance(rate, appr, month, quota, seed, months=8)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.floats(0, 3),
    appr=st.floats(0, 1),
    month=st.integers(1, 10),
    quota=st.floats(0, 60000),
    seed=st.integers(0, 2**31),
)
def test_mass_balance_on_random_scenarios_many(rate, appr, month, quota, seed):
    _random_scenario_mass_balance(rate, appr, month, quota, seed, months=12)


def test_zero_approval_stops_controlled_flows_but_not_uncontrolled():
    sc = make_scenario(
        [
            {
                "kind": "export_licence",
                "date": "2024-03",
                "actor": "CN",
                "elements": ["Dy", "Tb"],
                "approval": {"default": 1.0, "JP": 0.0},
            }
        ],
        months_end="2024-08",
    )
    ts = RareEarthModel(sc, seed=1).run().timeseries()
    assert _flow(ts, "ox_Dy", "CN", "JP", since="2024-01") > 0  # before the regime
    assert _flow(ts, "ox_Dy", "CN", "JP", since="2024-03") == 0
    assert _flow(ts, "ox_La", "CN", "JP", since="2024-03") > 100  # uncontrolled
    assert _flow(ts, "ox_Dy", "CN", "US", since="2024-04") > 0  # other destinations


def test_defense_buyer_denied_while_civilian_served():
    sc = make_scenario(
        [
            {
                "kind": "export_licence",
                "date": "2024-02",
                "actor": "CN",
                "elements": ["Dy", "Tb", "Sm"],
                "approval": {"default": 1.0},
                "defense_denial": True,
            }
        ],
        months_end="2024-06",
    )
    m = RareEarthModel(sc, seed=2)
    m.run(2)
    g = m.catalog.index["mag_ndfeb_ht"]
    cn, us = m.region_index["CN"], m.region_index["US"]
    for _ in range(3):
        m.step()
        assert m.last_flows[g, cn, us, 1] == 0  # defense node
    assert m.last_flows[g, cn, us, 0] > 0  # civil node


@pytest.mark.parametrize("circuit", ["all", "light"])
def test_coproduction_yields_deposit_ratios(circuit):
    """100 t of bastnaesite at Mountain Pass yields recovery x the deposit's composition of
    each oxide; with a light circuit only La, Ce, Pr and Nd stay at the plant and the rest
    waits as the mixed heavy compound (abm.goods.LIGHT_OXIDES)."""
    m = RareEarthModel("baseline", seed=0)
    ref = next(
        a for a in m.agents if isinstance(a, Refiner) and a.name == "MP Materials (Mountain Pass)"
    )
    ref._set_circuit(circuit == "all")
    for s in ref.stocks.values():
        s.qty = 0.0
    ref.mixed_heavy[:] = 0.0
    g = m.catalog.index["conc_bastnaesite"]
    ref.stock(g).add(100.0, 0.0, 0.0)
    ref.produce()
    comp = (
        m.catalog.content[g] * m.params.separation_recovery * min(100.0, ref.planned_throughput())
    )
    light = {m.catalog.index[f"ox_{e}"] for e in ("La", "Ce", "Pr", "Nd")}
    for i, og in enumerate(ref.oxide_goods):
        kept = comp[i] if circuit == "all" or og in light else 0.0
        assert ref.stock(og).qty == pytest.approx(kept, rel=1e-9, abs=1e-12)
        assert ref.mixed_heavy[i] == pytest.approx(comp[i] - kept, rel=1e-9, abs=1e-12)
    nd, la = m.catalog.index["ox_Nd"], m.catalog.index["ox_La"]
    assert ref.stock(nd).qty / ref.stock(la).qty == pytest.approx(12.0 / 33.2, rel=1e-6)
    assert (ref.mixed_heavy.sum() > 1.0) == (circuit == "light")


def test_line_without_magnets_stops_and_counts_lost_output():
    m = RareEarthModel("baseline", seed=0)
    oem = next(a for a in m.agents if isinstance(a, OEM) and a.sector == "ev" and a.region == "US")
    for s in oem.stocks.values():
        s.qty = 0.0
    oem.plan_units = 1000.0
    oem.produce()
    assert oem.output_units == 0
    assert oem.lost_units == pytest.approx(1000.0)
    assert oem.lost_value == pytest.approx(1000.0 * 40000)
    assert oem.stopped and any(e["kind"] == "line stops" for e in m.events)


def test_same_seed_identical_different_seed_differs(shipped_runs):
    # 20 months: into the April 2025 licences and their random approvals. The second run
    # with seed 0 is the shared 24-month run of conftest.py shipped_runs, stepped one month
    # at a time: its first 20 months equal a 20-month run (``months`` only stops the run)
    a = RareEarthModel("controls-2025", seed=0, months=20).run().timeseries()
    b = shipped_runs["controls-2025"][0].timeseries()
    assert b["step"].max() == 23
    b = b[b["step"] < 20].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # another seed differs from the first month on (about 7,400 of 12,760 values differ in
    # the first 6 months): compared on those 6 months
    c = RareEarthModel("controls-2025", seed=1, months=6).run().timeseries()
    a6 = a[a["step"] < 6].reset_index(drop=True)
    assert a6["step"].nunique() == c["step"].nunique() == 6
    assert not a6["value"].equals(c["value"]) or len(a6) != len(c)


def test_timeseries_has_required_metrics_and_columns(shipped_runs):
    # the shared 24-month run of controls-2025, seed 0 (conftest.py shipped_runs; was its
    # own 18-month run)
    ts = shipped_runs["controls-2025"][0].timeseries()
    assert list(ts.columns) == [
        "date",
        "step",
        "metric",
        "good",
        "region",
        "partner",
        "value",
        "unit",
    ]
    for metric in (
        "price",
        "flow",
        "production",
        "capacity",
        "inventory",
        "lost_output",
        "licence_applications",
        "licence_approvals",
        "china_share",
        "china_content",
        "hhi",
    ):
        assert (ts.metric == metric).any(), metric
    hhi = ts[(ts.metric == "hhi") & (ts.good == "magnets")]["value"]
    assert ((hhi > 5000) & (hhi <= 10000)).all()  # China ~90% -> HHI > 8,000


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_baseline_stable_for_24_months(seed, shipped_runs):
    # seed 0 is the shared 24-month run of the baseline (conftest.py shipped_runs); seed 1
    # (a run of its own) is in the slow set
    m = (
        shipped_runs["baseline"][0]
        if seed == 0
        else RareEarthModel("baseline", seed=seed, months=24).run()
    )
    assert m.steps == 24
    df = m.headline_frame()
    ref = catalog(2024)
    # drift from the first month (the market after the base-year warm-up), not from the
    # catalogue reference, which China's NdPr price starts 7% above (landed-cost warm-up)
    for col in (
        "NdPr price China (USD/kg)",
        "NdPr price outside China (USD/kg)",
        "Dy price China (USD/kg)",
        "Dy price outside China (USD/kg)",
        "Tb price outside China (USD/kg)",
    ):
        base = df[col].iloc[0]
        assert (
            abs(
                base
                / {
                    "NdPr": 0.75 * ref.price("ox_Nd") + 0.25 * ref.price("ox_Pr"),
                    "Dy p": ref.price("ox_Dy"),
                    "Tb p": ref.price("ox_Tb"),
                }[col[:4]]
                - 1
            )
            <= 0.1
        ), col
        dev = np.abs(df[col] / base - 1).max()
        assert dev <= 0.2, f"{col} drifts {dev:.0%} from its first month"
    mags = m.timeseries().query("metric == 'price' and good == 'mag_ndfeb_ht' and region == 'CN'")
    assert (np.abs(mags["value"] / ref.price("mag_ndfeb_ht") - 1) <= 0.2).all()
    assert df["OEM lost output (USD m/month)"].max() == 0
    assert df["Defense lost output (USD m/month)"].max() == 0


def test_scale_parameter_splits_capacity_over_more_firms():
    small = RareEarthModel("baseline", seed=0)
    big = RareEarthModel("baseline", seed=0, overrides={"firms": 400})
    firms = [a for a in big.agents if type(a).__name__ != "Government"]
    assert len(firms) == 400

    def cap(m):
        return sum(getattr(a, "capacity", 0.0) for a in m.agents)

    assert cap(big) == pytest.approx(cap(small), rel=1e-9)


def test_production_quota_by_deposit_caps_that_deposit_only():
    sc = make_scenario(
        [
            {
                "kind": "production_quota",
                "date": "2024-01",
                "actor": "CN",
                "tonnes_per_year": 12000,
                "deposits": ["ionic_clay"],
            }
        ],
        months_end="2024-04",
    )
    m = RareEarthModel(sc, seed=0).run()
    from agents import Miner

    ionic = sum(
        a.output_month[a.good]
        for a in m.agents_by_type[Miner]
        if a.region == "CN" and a.deposit == "ionic_clay"
    )
    light = sum(
        a.output_month[a.good]
        for a in m.agents_by_type[Miner]
        if a.region == "CN" and a.deposit == "bayan_obo"
    )
    assert ionic <= 12000 / 12 * 1.12  # quota over planned, with the price response
    assert ionic >= 12000 / 12 * 0.85
    assert light > 15000  # ~196,850 t/yr Bayan Obo untouched


def test_quota_leakage_lets_that_share_of_the_gap_through():
    # hand check: allowed = quota + leakage x (planned - quota), as a share of planned
    sc = make_scenario(
        [
            {
                "kind": "production_quota",
                "date": "2024-01",
                "actor": "CN",
                "tonnes_per_year": 12000,
                "deposits": ["ionic_clay"],
                "leakage": 0.25,
            }
        ],
        months_end="2024-02",
    )
    m = RareEarthModel(sc, seed=0)
    m.step()
    planned = m.policy.mine_plan[("CN", "ionic_clay")]
    q = 12000 / 12
    assert m.policy.quota_factor("CN", "ionic_clay") == pytest.approx(
        (q + 0.25 * (planned - q)) / planned
    )
    assert m.policy.quota_factor("CN", "bayan_obo") == 1.0
    with pytest.raises(Exception, match="leakage"):
        make_scenario(
            [
                {
                    "kind": "production_quota",
                    "date": "2024-01",
                    "actor": "CN",
                    "tonnes_per_year": 12000,
                    "leakage": 1.5,
                }
            ]
        )


def test_licence_applications_cover_end_use_not_inventory_building():
    # regression (2025 export fall): buyers applied for their risk-inflated inventory gap
    from abm.market import OrderBook

    m = RareEarthModel("baseline", seed=0)
    oem = next(a for a in m.agents if isinstance(a, OEM) and a.region == "JP")
    g = m.catalog.index["mag_ndfeb_ht"]
    oem.stock(g).qty = 0.0
    book = OrderBook(m.G, m.R)
    oem.bid_for(book, g, use_rate=10.0, target_cover_months=6.0, value=1e3)
    bid = sum(b[4] for b in book.bids)
    assert bid == pytest.approx(10.0 + 60.0 / m.params.inventory_adjust_months)
    assert book.end_use == {(g, oem.ridx, 0): 10.0}
    # the contract nomination is contract_cover of the documented end use
    assert book.nominations == [(g, oem.ridx, 0, pytest.approx(m.params.contract_cover * 10.0))]
    # a buyer above its cover target bids nothing and documents nothing
    oem.stock(g).qty = 1e6
    book = OrderBook(m.G, m.R)
    oem.bid_for(book, g, use_rate=10.0, target_cover_months=6.0, value=1e3)
    assert book.bids == [] and book.end_use == {} and book.nominations == []


def test_licensed_flows_start_only_after_the_review():
    sc = make_scenario(
        [
            {
                "kind": "export_licence",
                "date": "2024-03",
                "actor": "CN",
                "elements": ["Dy", "Tb", "Sm"],
                "approval": {"default": 1.0},
            }
        ],
        months_end="2024-06",
    )
    ts = RareEarthModel(sc, seed=1).run().timeseries()
    march = ts[
        (ts.metric == "flow")
        & (ts.good == "mag_ndfeb_ht")
        & (ts.region == "CN")
        & (ts.partner != "CN")
        & (ts.date == pd.Timestamp("2024-03-01"))
    ]
    april = ts[
        (ts.metric == "flow")
        & (ts.good == "mag_ndfeb_ht")
        & (ts.region == "CN")
        & (ts.partner != "CN")
        & (ts.date == pd.Timestamp("2024-04-01"))
    ]
    assert march["value"].sum() == 0 and april["value"].sum() > 0


def test_measures_in_force_at_the_start_are_logged_without_a_risk_shock():
    # regression: PolicyState's own step-0 refresh hid them from the event log
    m = RareEarthModel("embargo-2010", seed=0, months=2)
    ev = m.events_frame()
    assert (ev[ev.step == 0].kind == "policy").sum() == 3
    m.step()
    assert all(a.risk == 0.0 for a in m.agents)


def test_licence_denials_raise_perceived_risk_next_month():
    # regression: the denial shock was cleared by the policy refresh before firms saw it
    sc = make_scenario(
        [
            {
                "kind": "export_licence",
                "date": "2024-03",
                "actor": "CN",
                "elements": ["Dy", "Tb"],
                "approval": {"default": 0.0},
            }
        ],
        months_end="2024-06",
    )
    m = RareEarthModel(sc, seed=0)
    m.run(3)  # Jan, Feb, Mar (regime announced in March)
    jp = [a for a in m.agents if a.region == "JP" and not isinstance(a, OEM)]  # no shortage term
    before = [a.risk for a in jp]
    m.step()  # April: March's denials (all) are perceived
    decay = np.exp(-1.0 / m.params.risk_decay_months)
    assert [a.risk for a in jp] == pytest.approx([r * decay + 0.1 for r in before], rel=1e-9)


def test_supply_line_totals_and_same_step_commitments():
    from agents import MagnetMaker, Miner

    m = RareEarthModel("baseline", seed=0, months=2)
    m.step()
    mm = [a for a in m.agents_by_type[MagnetMaker] if a.product == "ndfeb"]
    out, cap, pipe = m.supply_line("magnets:ndfeb")
    assert cap == pytest.approx(sum(a.capacity for a in mm))
    assert out == pytest.approx(12 * sum(a.output_avg for a in mm))
    # committed entrants not yet started up count too (7.13)
    assert pipe == pytest.approx(
        sum(q for a in mm for _, q in a.projects) + m.pipeline.pending_capacity("magnets:ndfeb")
    )
    m.add_to_supply_line("magnets:ndfeb", 500.0)
    assert m.supply_line("magnets:ndfeb")[2] == pytest.approx(pipe + 500.0)
    ionic = [a for a in m.agents_by_type[Miner] if a.deposit == "ionic_clay"]
    assert m.supply_line("mining:ionic_clay")[1] == pytest.approx(sum(a.capacity for a in ionic))


def test_output_average_follows_output_over_the_review_period():
    # regression: the average was frozen at its first value (it averaged itself)
    from agents import Miner

    m = RareEarthModel("baseline", seed=0, months=4)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "CN")
    m.step()
    avg = a.output_avg
    assert avg == pytest.approx(a.recent_output())
    for _ in range(3):
        m.step()
        avg += (a.recent_output() - avg) / m.params.investment_review_months
        assert a.output_avg == pytest.approx(avg, rel=1e-12)
    a.output_month[a.good] = 0.0
    before = a.output_avg
    a.track_output()
    assert a.output_avg == pytest.approx(before * (1 - 1 / m.params.investment_review_months))


@pytest.mark.slow
def test_baseline_runs_to_2035_without_lost_output():
    # the whole 144-month baseline (the failures it guards against came after 2029; the
    # default run's counterpart is test_baseline_stable_for_24_months)
    # regression: every firm answered the same demand signal, capacity overshot in waves and
    # the baseline fell into gluts and shortages after 2029 (seed 0: USD 459 bn lost output);
    # and (session 6) sellers' expectations pinned their asks in a glut, the concentrate
    # price stayed up while oxide prices fell, mines cut to 56% and HT magnets ran short of
    # Tb in 2035 (seed 1: 25-34 bn USD lost output)
    m = RareEarthModel("baseline", seed=0).run()
    hf = m.headline_frame()
    assert hf["OEM lost output (USD m/month)"].sum() == 0.0
    assert (m.events_frame().kind == "line stops").sum() == 0
    nd = hf["NdPr price China (USD/kg)"]
    assert nd.min() > 0.5 * nd.iloc[0] and nd.max() < 2.5 * nd.iloc[0]


def test_historical_export_quota_splits_by_base_year_exports():
    q = 12000.0
    sc = make_scenario(
        [
            {
                "kind": "export_quota",
                "date": "2024-02",
                "actor": "CN",
                "tonnes_per_year": q,
                "goods": ["oxides"],
                "allocation": "historical",
            }
        ],
        months_end="2024-04",
    )
    m = RareEarthModel(sc, seed=0)
    cn, cat = m.region_index["CN"], m.catalog
    mix = m.policy.export_mix[:, cn]
    ox = [i for i, g in enumerate(cat.goods) if g.startswith("ox_")]
    m.run(2)
    caps = {gs[0]: c for gs, o, c in m.policy.quotas}
    dy = cat.index["ox_Dy"]
    assert caps[dy] == pytest.approx(q / 12 * mix[dy] / mix[ox].sum())
    assert sum(caps.values()) == pytest.approx(q / 12)
    # the quota caps recorded exports; the smuggled rest is at most its cover (docs/ODD.md 7.4)
    sm = m.last_clearing.smuggled
    sm = np.zeros_like(m.last_flows) if sm is None else sm
    rec = m.last_flows - sm
    exported = rec[dy, cn].sum() - rec[dy, cn, cn].sum()
    assert exported <= caps[dy] * (1 + 1e-6)
    cover = m.params.evasion_cover_ratio + m.params.evasion_cover_ratio_high
    assert sm[dy, cn].sum() <= cover * exported + 1e-6
    joint = make_scenario(
        [{"kind": "export_quota", "date": "2024-01", "actor": "CN", "tonnes_per_year": q}],
        months_end="2024-02",
    )
    mj = RareEarthModel(joint, seed=0)
    assert len(mj.policy.quotas) == 1 and mj.policy.quotas[0][2] == pytest.approx(q / 12)


def test_historical_import_quota_splits_by_base_year_imports():
    # JP's import quota of oxides and magnets, split over the goods by JP's base-year
    # imports (policy.import_mix, a quota-free clearing of the warm-up book): each good's
    # cap is q / 12 x its share, the caps add up to q / 12, and JP's imports of a good from
    # all other regions stay within its cap
    q = 6000.0
    sc = make_scenario(
        [
            {
                "kind": "import_quota",
                "date": "2024-02",
                "actor": "JP",
                "tonnes_per_year": q,
                "goods": ["oxides", "magnets"],
                "allocation": "historical",
            }
        ],
        months_end="2024-04",
    )
    m = RareEarthModel(sc, seed=0)
    jp, cat = m.region_index["JP"], m.catalog
    mix = m.policy.import_mix[:, jp]
    covered = [i for i, g in enumerate(cat.goods) if g.startswith(("ox_", "mag_"))]
    m.run(2)
    caps = {gs[0]: c for gs, d, c in m.policy.import_quotas}
    assert all(d == jp for _, d, _ in m.policy.import_quotas)
    std = cat.index["mag_ndfeb_std"]
    assert mix[std] > 0
    assert caps[std] == pytest.approx(q / 12 * mix[std] / mix[covered].sum())
    assert sum(caps.values()) == pytest.approx(q / 12)
    for g, cap in caps.items():
        imported = m.last_flows[g, :, jp].sum() - m.last_flows[g, jp, jp].sum()
        assert imported <= cap * (1 + 1e-6) + 1e-9


def _policy_with_no_flows(measure: dict):
    """A PolicyState of the 2024 world with one ``measure``, and zero flows ``(G, R, R, 2)``
    and unit origin prices ``(G, R)`` to fill and record with ``observe_supply``; returns
    ``(ps, scenario, catalog, region codes, flows, fob)``."""
    from abm.goods import catalog
    from abm.policy import PolicyState
    from abm.regions import regions

    sc = make_scenario([measure])
    tab, cat = regions(), catalog(2024)
    R = len(tab.codes)
    flows, fob = np.zeros((len(cat.goods), R, R, 2)), np.ones((len(cat.goods), R))
    return PolicyState(sc, cat, tab.codes, tab.allied), sc, cat, tab, flows, fob


def test_import_quota_raises_risk_in_the_importer_only():
    ps, _, cat, tab, flows, fob = _policy_with_no_flows(
        {"kind": "import_quota", "date": "2024-03", "actor": "JP", "tonnes_per_year": 100.0}
    )
    jp, cn, us = (tab.codes.index(c) for c in ("JP", "CN", "US"))
    # last month's supply into JP of the covered goods (oxides): 70 USD/month at home, 30
    # imported (20 from CN, 10 from US); exposure = imported share 0.3
    nd = cat.index["ox_Nd"]
    flows[nd, [jp, cn, us], jp, 0] = [70.0, 20.0, 10.0]
    flows[cat.index["mag_ndfeb_std"], cn, jp, 0] = 1000.0  # not covered
    ps.observe_supply(flows, fob)
    ps.refresh(1, log=lambda *a: None)
    assert ps.risk_shock == {} and ps.import_quotas == []
    ps.refresh(2, log=lambda *a: None)
    # the quota, 100/12 t a month, cuts the 30 t imported last month by 1 - 8.33/30
    assert ps.risk_shock == {"JP": pytest.approx(0.5 * 0.3 * (1 - 100.0 / 12 / 30.0))}
    assert len(ps.import_quotas) == 1 and ps.import_quotas[0][1:] == (jp, 100.0 / 12)


@pytest.mark.parametrize(
    "quota_t_per_yr,cut",
    [(1200.0, 0.0), (1800.0, 0.0), (720.0, 0.4), (0.0, 1.0)],
)
def test_a_quota_announces_only_the_cut_it_makes(quota_t_per_yr, cut):
    # China ships 100 t/month of oxides abroad (60 to JP, 40 to US) and 50 t at home; JP
    # buys 20 t at home, so CN's share of its oxide supply is 60/80 = 0.75 (prices 1 USD/kg).
    # An export quota renewed at that level (1,200 t/yr = 100 t/month) or above it is no
    # news; one of 720 t/yr cuts the flows by 40%: JP adds 0.5 x 0.75 x 0.4. Failing input
    # kept: every yearly quota of embargo-2010 (2009 at the start of the run, 2011-2014
    # renewals at or above the last flows) used to add the full 0.5 x exposure
    ps, sc, cat, tab, flows, fob = _policy_with_no_flows(
        {
            "kind": "export_quota",
            "date": "2024-03",
            "actor": "CN",
            "tonnes_per_year": quota_t_per_yr,
            "goods": ["oxides"],
        }
    )
    jp, cn, us = (tab.codes.index(c) for c in ("JP", "CN", "US"))
    nd = cat.index["ox_Nd"]
    flows[nd, cn, [jp, us, cn], 0] = [60.0, 40.0, 50.0]
    flows[nd, jp, jp, 0] = 20.0
    flows[cat.index["mag_ndfeb_std"], cn, jp, 0] = 1000.0  # not covered
    ps.observe_supply(flows, fob)
    m = sc.measures[0]
    assert ps.announced_cut(m, ps.covered_goods(m)) == pytest.approx(cut)
    ps.refresh(2, log=lambda *a: None)
    if cut == 0.0:
        assert ps.risk_shock == {}
    else:
        assert ps.risk_shock["JP"] == pytest.approx(0.5 * 0.75 * cut)
        assert ps.risk_shock["US"] == pytest.approx(0.5 * 1.0 * cut)


def test_announcement_risk_scales_with_the_targets_exposure():
    # an embargo by CN on "allied" oxides: each allied region adds announcement_risk x the
    # value share of CN in its oxide supply last month; a region that buys no oxides adds 0,
    # and "allied" is expanded (it used to raise no one's risk)
    ps, sc, cat, tab, flows, fob = _policy_with_no_flows(
        {
            "kind": "embargo",
            "date": "2024-03",
            "actor": "CN",
            "targets": ["allied"],
            "goods": ["oxides"],
        }
    )
    jp, cn, us, eu = (tab.codes.index(c) for c in ("JP", "CN", "US", "EU"))
    # value = tonnes x origin price: Dy 1 t at 90 USD/kg, Nd in tonnes at 1 USD/kg
    fob[cat.index["ox_Dy"], cn] = 90.0
    flows[cat.index["ox_Dy"], cn, jp, 1] = 1.0  # defense use counts too
    flows[cat.index["ox_Nd"], jp, jp, 0] = 10.0  # JP: CN share 0.9
    flows[cat.index["ox_Nd"], cn, us, 0] = 25.0
    flows[cat.index["ox_Nd"], us, us, 0] = 75.0  # US: CN share 0.25
    flows[cat.index["mag_ndfeb_ht"], cn, eu, 0] = 500.0  # EU: no oxides bought
    ps.observe_supply(flows, fob)
    ps.refresh(2, log=lambda *a: None)
    shock = sc.parameters.announcement_risk
    assert ps.risk_shock["JP"] == pytest.approx(shock * 0.9)
    assert ps.risk_shock["US"] == pytest.approx(shock * 0.25)
    assert ps.risk_shock["EU"] == 0.0
    assert "CN" not in ps.risk_shock and "allied" not in ps.risk_shock
    assert set(ps.risk_shock) == set(tab.allied) - {"CN"}


def test_exposure_needs_a_recorded_clearing():
    from abm.goods import catalog
    from abm.policy import PolicyState
    from abm.regions import regions

    sc = make_scenario(
        [
            {
                "kind": "embargo",
                "date": "2024-03",
                "actor": "CN",
                "targets": ["JP"],
                "goods": ["oxides"],
            }
        ]
    )
    tab = regions()
    ps = PolicyState(sc, catalog(2024), tab.codes, tab.allied)
    with pytest.raises(RuntimeError, match="observe_supply"):
        ps.refresh(2, log=lambda *a: None)


def _cn_oem_risk(m):
    from agents import OEM

    return max(a.risk for a in m.agents if type(a) is OEM and a.region == "CN")


SHIPPED_RUN_OBSERVERS = {"controls-2025": {"cn_oem_risk": _cn_oem_risk}}


def test_a_us_halt_of_concentrate_sales_does_not_make_chinas_oems_hoard_magnets(shipped_runs):
    # failing input kept: MP Materials' halt of concentrate shipments to China (an embargo
    # by US on CN, concentrates, April 2025) raised the perceived risk of every Chinese
    # firm by the full announcement_risk 0.5 (0.46 in May 2025): China's OEMs, who buy
    # magnets made at home, raised their inventory targets from 8 to 19 weeks and drove
    # China's NdPr price up 2.2x by early 2026. China's exposure to it is the US share of
    # China's concentrate supply in March 2025 (about 0.1 by value)
    shipped_runs["controls-2025"]
    risk = shipped_runs.observed["controls-2025"]["cn_oem_risk"]
    assert len(risk) == 24
    assert 0.0 < max(risk[15:]) < 0.1
    assert max(risk[:15]) == 0.0


@pytest.mark.slow
def test_floor_and_offtake_keep_the_us_magnet_plants_alive():
    # regression: floor and offtake payments never reached the firms' margins, so the 10X
    # plant and Independence exited in 2031 with the 10-year floor and 100% offtake in force
    # (the full 144-month run; the fast counterpart below checks the payments reach them)
    m = RareEarthModel("controls-2025", seed=0).run()
    ev = m.events_frame()
    # while the floor and offtake are in force (to 2035-07) MP Materials' plants, which
    # they are contracted with, stay; after they end, plants that are not viable at
    # long-run prices may exit on cash (7.13)
    exits = ev[
        (ev.kind == "firm exits")
        & ev.text.str.contains(r"\(US, magnets\)")
        & ev.text.str.startswith("MP Materials")
        & (ev.date < "2035-07")
    ]
    assert exits.empty, exits.text.tolist()
    from agents import MagnetMaker

    mp = [a for a in m.agents_by_type[MagnetMaker] if a.company == "MP Materials"]
    assert len(mp) >= 2 and not any(a.exited for a in mp)
    assert sum(a.nameplate for a in mp) >= 9000
    # the offtake guarantees the 10X plant its unit cost plus 140 M USD of EBITDA a year at
    # nameplate (+2% a year): it never mothballs while the offtake is in force (failing
    # input kept: with the offtake price alone, the reference magnet price plus the
    # floor's lift, it mothballed in 2030-07 at a long-run margin of -2.7 USD/kg and
    # restarted in 2034; docs/calibration.md 4.31-4.32)
    tenx = [
        e
        for e in ev.text[(ev.kind == "firm mothballs") & (ev.date < "2035-07")]
        if e.startswith("MP Materials (10X")
    ]
    assert tenx == []


def test_floor_and_offtake_prices_reach_the_us_firms(shipped_runs):
    # fast counterpart of the test above: with the floor in force, MP's NdPr sells at the
    # floor or above and the 10X entrant's magnets at the offtake price or above (seed 0 to
    # 2025-12, the shared run of conftest.py shipped_runs; the floor is in force from 2025-07
    # and binds: MP's expected NdPr price is about 58 USD/kg)
    from agents import MagnetMaker, Refiner

    m, _ = shipped_runs["controls-2025"]
    assert str(m.date) == "2026-01"  # one past 2025-12
    assert [a for a in m.agents_by_type[MagnetMaker] if a.region == "US"]
    mp = next(a for a in m.agents_by_type[Refiner] if a.name == "MP Materials (Mountain Pass)")
    nd = m.catalog.index["ox_Nd"]
    assert mp.sale_price(nd) == max(mp.expected(nd), 110.0) == 110.0
    tenx = next(p.agent for p in m.pipeline.projects if p.pid == "mp_10x")  # an entrant
    g = m.catalog.index["mag_ndfeb_std"]
    offtake = m.policy.offtake_price("US", g, "MP Materials", "mp_10x")
    cost_plus = tenx.cost_plus_price(g, tenx.expected)
    assert tenx.sale_price(g) == max(tenx.expected(g), offtake, cost_plus) > 0
    # the offtake covers the 10X plant alone: MP's Independence plant gets no offtake price
    assert m.policy.offtake_price("US", g, "MP Materials", "mp_independence") == 0.0
    # the floor and offtake are contracted with MP Materials alone (firms = ["MP
    # Materials"]): another US magnet maker and refiner sell at their expected prices
    noveon = next(a for a in m.agents_by_type[MagnetMaker] if a.company == "Noveon Magnetics")
    assert m.policy.guaranteed_price("US", g, True, "Noveon Magnetics") == 0.0
    assert noveon.sale_price(g) == noveon.expected(g)
    assert noveon.hurdle() == m.params.investment_hurdle and tenx.hurdle() == 0.0
    energy_fuels = next(a for a in m.agents_by_type[Refiner] if a.company == "Energy Fuels")
    assert energy_fuels.sale_price(nd) == energy_fuels.expected(nd) < 110.0


def test_a_firm_that_exits_abandons_its_projects_and_stays_out():
    # regression: projects under way came online after the exit and revived the firm
    from agents import Miner

    m = RareEarthModel("baseline", seed=0, months=6)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    a.projects = [(3, 5000.0)]
    a.nameplate, a.cash = a.capacity, -1e12  # cash and credit run out (7.13)
    a.review_status()
    assert not a.active and a.capacity == 0.0 and a.projects == []
    exits = [e["text"] for e in m.events if e["kind"] == "firm exits"]
    assert any(a.name in t and "abandoning 5,000 t/yr" in t for t in exits)
    m.run()
    assert not a.active and a.capacity == 0.0


def test_magnet_maker_makes_to_order():
    # hand check of MagnetMaker.planned_output: with a sales history, output is at most
    # expected sales plus the gap to one month of finished stock over inventory_adjust_months
    from agents import MagnetMaker

    m = RareEarthModel("baseline", seed=0, months=1)
    a = next(
        a
        for a in m.agents_by_type[MagnetMaker]
        if a.product == "ndfeb" and a.region == "JP" and a.capacity > 0
    )
    cat = m.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    # expected prices of the magnets and their inputs at the maker's base-year prices: no
    # cost cut
    for g in [std, ht] + [og for r in a.recipes().values() for og in r]:
        a.exp_price[g] = a.base_price(g)
    for r in a.recipes().values():  # inputs too (demand growth moves them)
        for og in r:
            a.exp_price[og] = a.base_price(og)
    price_led = {g: a.capacity / 12 * share * a.base_utilisation for g, share in a.mix.items()}
    adj = m.params.inventory_adjust_months
    # std: sales 100 t/month, stock 160 t -> 100 + (100 - 160) / adj, below the run rate
    a.sales_ema[std] = 100.0
    a.stock(std).qty = 160.0
    # ht: sales far above the run rate -> the run rate binds
    a.sales_ema[ht] = 10 * price_led[ht]
    a.stock(ht).qty = 0.0
    plan = a.planned_output()
    assert m.params.sell_cover_months == 1.0
    assert price_led[std] > 100.0
    assert plan[std] == pytest.approx(100.0 + (100.0 - 160.0) / adj, rel=1e-9)
    assert plan[ht] == pytest.approx(price_led[ht], rel=1e-9)
    # a glut: stock far above sales -> no output
    a.stock(std).qty = 100.0 + 3 * adj * 100.0
    assert a.planned_output()[std] == 0.0


def test_defense_buyers_observe_the_defense_node_price():
    # defense buyers price from their own node (sourcing rules and end-use denials segment it);
    # before, they read the civil price, so US defense bid ~850 USD/kg for SmCo while the
    # China-free SmCo they could buy traded at the 80x defense cap (escalation-2026)
    from agents import DefenseContractor

    m = RareEarthModel("controls-2025", seed=0, months=3)
    for _ in range(3):
        m.step()
    res = m.last_clearing
    got = res.flows[:, :, :, 1].sum(axis=1) > 1e-9
    assert got.any()
    # the price paid at the defense node (contract and spot, volume-weighted: abm.model
    # _observe); equal to the spot quote only while contract indices equal spot prices
    assert np.allclose(m.defense_price[got], res.paid_price[:, :, 1][got])
    d = next(a for a in m.agents_by_type[DefenseContractor] if a.region == "US")
    g = next(iter(d.recipe0))
    assert d.observed(g) == m.defense_price[g, d.ridx]


@pytest.mark.parametrize("name", shipped_scenarios())
def test_origin_shares_stay_within_0_and_1(shipped_runs, name):
    # fresh-user check, session 4: china_content reached 1.0000000000000975 in baseline (was
    # checked on a 36-month baseline run; now on the shared 24-month run of every shipped
    # scenario, conftest.py shipped_runs)
    m, _ = shipped_runs[name]
    f = m.recorder.frame(metrics=("china_content", "china_mined_content"))
    assert len(f) > 0 and set(f["metric"]) == {"china_content", "china_mined_content"}
    assert f["value"].between(0.0, 1.0).all(), f["value"].agg(["min", "max"]).to_dict()


BASELINE_SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def baseline_outcomes():
    """Issue-12 baseline figures for 5 seeds (about 2 minutes on 2 cores)."""
    from abm.outcomes import evaluate

    names = [
        "mine_utilisation_min_2029_2035",
        "ndpr_china_max_ratio_2029_2035",
        "ndpr_china_min_ratio_2029_2035",
        "oem_lost_output_usd",
    ]
    return [evaluate("baseline", seed=s, outcomes=names)[0] for s in BASELINE_SEEDS]


@pytest.mark.slow
def test_baseline_has_no_lost_output_every_seed(baseline_outcomes):
    for s, o in zip(BASELINE_SEEDS, baseline_outcomes, strict=True):
        assert o["oem_lost_output_usd"] == 0.0, (s, o)


@pytest.mark.slow
def test_baseline_mines_stay_busy_every_seed(baseline_outcomes):
    # issue 12: over 2029-35 world mine utilisation stays at or above 70% in each of 5 seeds
    # (session 28: 0.708-0.786; session 29: 0.693-0.751, missed on seeds 1 and 3; session
    # 30, with separators valuing unsold co-products at their storage value: 0.732-0.766)
    lows = [o["mine_utilisation_min_2029_2035"] for o in baseline_outcomes]
    assert min(lows) >= 0.7, lows


@pytest.mark.slow
def test_baseline_ndpr_stays_within_40_percent_every_seed(baseline_outcomes):
    # issue 12: NdPr in China within +-40% of 2024 over 2029-35 in each of 5 seeds (session
    # 8: 1.07-1.26x at the peak once decided projects start on time and committed entrants
    # learn prices; docs/calibration.md 4.12)
    for s, o in zip(BASELINE_SEEDS, baseline_outcomes, strict=True):
        assert 0.6 <= o["ndpr_china_min_ratio_2029_2035"], (s, o)
        assert o["ndpr_china_max_ratio_2029_2035"] <= 1.4, (s, o)


def test_magnet_makers_outside_china_price_at_full_cost():
    # controls-2025 at the start (2024): the normal unit cost of a region's high-temperature
    # magnets is the capacity-weighted conversion cost plus bill of materials of its
    # operating makers at their expected oxide prices; Japan's over China's is about 1.14
    # (conversion costs 24 and 18 USD/kg, firms.csv), oxides keep a ratio of 1, and Japan's
    # contract index starts at China's times that ratio (full-cost pricing)
    from agents import MagnetMaker

    m = RareEarthModel("controls-2025", seed=0, months=1)
    cat = m.catalog
    ht, dy = cat.index["mag_ndfeb_ht"], cat.index["ox_Dy"]
    jp, cn = m.region_index["JP"], m.region_index["CN"]

    def cost(region):
        makers = [
            a
            for a in m.agents_by_type[MagnetMaker]
            if a.region == region and a.active and a.capacity > 0 and ht in a.mix
        ]
        w = np.array([a.capacity * a.mix[ht] for a in makers])
        fob = m.origin_price[:, cn]
        c = np.array(
            [a.unit_cost + sum(q * fob[og] for og, q in a.recipe(ht).items()) for a in makers]
        )
        return float((w * c).sum() / w.sum())

    ratio = m._normal_cost_ratio()
    assert m.relations.reference[ht] == cn
    assert ratio[ht, jp] == pytest.approx(cost("JP") / cost("CN"))
    assert 1.10 < ratio[ht, jp] < 1.20
    assert ratio[ht, cn] == 1.0 and (ratio[dy] == 1.0).all()
    idx = m.relations.index[ht]
    assert idx[jp] / idx[cn] == pytest.approx(ratio[ht, jp], rel=0.02)


def test_an_origin_without_a_quote_reads_its_home_buyers_price():
    # a region that offered nothing of a good has no FOB quote; its sellers read the price
    # its own buyers paid for the good this month (the netback of a sale at home), not a
    # stale quote; with no buyers at home either, the last value stays
    m = RareEarthModel("controls-2025", seed=0, months=3)
    m.step()
    before = m.origin_price.copy()
    m.step()
    res = m.last_clearing
    recv = res.received_price if res.received_price is not None else res.origin_price
    paid = (res.paid_price if res.paid_price is not None else res.price)[:, :, 0]
    none = ~np.isfinite(recv) & ~np.isfinite(res.origin_price)
    home = none & np.isfinite(paid) & (paid > 0)
    assert home.any() and (none & ~home).any()
    assert np.array_equal(m.origin_price[home], paid[home])
    assert np.array_equal(m.origin_price[none & ~home], before[none & ~home])


def test_japans_makers_resume_high_temperature_magnets_after_the_2010_halt():
    # bug (session 26): a maker that sold no high-temperature magnets during China's halt of
    # shipments to Japan (Sep-Nov 2010) kept its pre-halt expected price for them while the
    # standard grade's rose, valued Dy at 0 and made none again through 2012
    from agents import MagnetMaker

    m = RareEarthModel("embargo-2010", seed=0, months=30)
    ht = m.catalog.index["mag_ndfeb_ht"]
    jp = [a for a in m.agents_by_type[MagnetMaker] if a.region == "JP" and ht in a.mix]
    made = 0.0
    for t in range(30):
        m.step()
        if t >= 24:  # January-June 2011
            made += sum(a.output_month.get(ht, 0.0) for a in jp)
    assert made > 200.0, made


def test_the_api_warns_when_the_levers_set_never_apply():
    # new-user review, session 26: `ree run` refuses a run that ends before levers.start
    # while levers are set; RareEarthModel ran it without a word
    with pytest.warns(UserWarning, match=r"levers\.start 2025-04 comes after this run's last"):
        RareEarthModel("controls-2025", months=10, overrides={"levers.us_tariff_on_china": 0.5})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RareEarthModel("controls-2025", months=16, overrides={"levers.us_tariff_on_china": 0.5})
        RareEarthModel("controls-2025", months=10)
