"""Investment, entry and exit (docs/ODD.md 7.13): NPV, financing, ramp-up, the project
pipeline, entry of new firms, mothballing and exit on cash."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.goods import catalog, conc
from abm.investment import (
    annuity_factor,
    capex_intensity,
    debt_service,
    expansion_order,
    financing,
    npv,
    pipeline_table,
    project_sizes,
    rampup_share,
)
from abm.model import RareEarthModel
from agents import Miner


# ------------------------------------------------------------------ pure functions
def test_npv_hand_check_one_year_monthly_discounting():
    # 1,000 t/yr at 10 USD/kg: 10 M USD/yr, 833,333.33 USD a month; 10%/yr discounted
    # monthly: v = 1.1 ** (-1/12); sum_{m=1..12} v^m = v (1 - v^12) / (1 - v)
    v = 1.1 ** (-1 / 12)
    pv = 1e7 / 12 * v * (1 - 1 / 1.1) / (1 - v)
    # hand: monthly rate i = 1.1 ** (1/12) - 1 = 0.007974; (1 - 1/1.1) / i = 11.4005 months
    assert pv == pytest.approx(833_333.33 * 11.4005, rel=1e-4)  # ~9.50 M USD
    assert npv(1000, 10.0, 5e6, 0.10, 1.0) == pytest.approx(pv - 5e6, rel=1e-12)


def test_npv_zero_rate_lead_and_utilisation():
    # no discounting: 2 years x 1,000 t x 0.9 x 10 USD/kg = 18 M USD, less 5 M capex
    assert npv(1000, 10.0, 5e6, 0.0, 2.0, lead_months=24, utilisation=0.9) == pytest.approx(13e6)
    # a lead time of 12 months at 10% divides the value of the cash flows by 1.1
    base = npv(1000, 10.0, 0.0, 0.1, 5.0)
    assert npv(1000, 10.0, 0.0, 0.1, 5.0, lead_months=12) == pytest.approx(base / 1.1)


def test_npv_with_a_fading_transient_margin_hand_check():
    # 1,000 t/yr at full use, long-run margin 0, today 12 USD/kg above it, fading over 12
    # months: month m earns 1e6 x exp(-m / 12) USD (rate 0, no lead, one year)
    v = npv(1000.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, transient_usd_kg=12.0, transient_months=12.0)
    assert v == pytest.approx(sum(1e6 * math.exp(-m / 12) for m in range(1, 13)), rel=1e-12)
    # a lead of 12 months: the boom has faded by exp(-1) when the plant starts
    lead = npv(1000.0, 0.0, 0.0, 0.0, 1.0, 12.0, 1.0, transient_usd_kg=12.0, transient_months=12.0)
    assert lead == pytest.approx(v * math.exp(-1.0), rel=1e-12)
    # no transient: the flat-margin NPV
    assert npv(
        1000.0, 2.0, 1e6, 0.0, 1.0, 0.0, 1.0, transient_usd_kg=0.0, transient_months=12.0
    ) == pytest.approx(1e6)


def test_project_npv_values_the_expected_margin_path():
    # the firm's expected margin fades from today's to the long-run one with
    # price_reversion_months (7.2): a boom raises the NPV by the transient's present value
    from abm.investment import npv as npv_fn

    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.name == "China Northern Rare Earth Group")
    par = m.params
    a.exp_price[a.good] = a.anchor(a.good) + 3.0  # expected 3 USD/kg over anchor
    assert a.current_margin() - a.longrun_margin() == pytest.approx(3.0)
    v, fin = a.project_npv(10000.0, 1e8, 12)
    flat, _ = a.project_npv(10000.0, 1e8, 12, margin=a.longrun_margin())
    extra = npv_fn(
        10000.0,
        0.0,
        0.0,
        fin.rate,
        par.project_life_years,
        12,
        par.base_utilisation,
        par.rampup_tau_years,
        transient_usd_kg=3.0,
        transient_months=par.price_reversion_months,
    )
    assert extra > 0 and v - flat == pytest.approx(extra, rel=1e-9)


def test_rampup_share_after_one_and_three_years():
    # pooled fit tau = 2.8 yr: 1 - exp(-1/2.8) = 0.300, 1 - exp(-3/2.8) = 0.657
    assert rampup_share(1.0, 2.8) == pytest.approx(0.3003, abs=1e-4)
    assert rampup_share(3.0, 2.8) == pytest.approx(0.6575, abs=1e-4)
    # Lynas: t0 = 0.5 yr, tau 2.9 yr: nothing before t0
    assert rampup_share(0.4, 2.9, 0.5) == 0.0
    assert rampup_share(1.5, 2.9, 0.5) == pytest.approx(1 - math.exp(-1 / 2.9))
    with pytest.raises(ValueError, match="tau_years"):
        rampup_share(1.0, 0.0)


def test_financing_grant_loan_equity_hand_check():
    f = financing(100.0, 0.10, 0.5, 0.07, 20.0)
    assert (f.capex, f.rate, f.fiscal) == (100.0, 0.10, {"grant": 0, "loan": 0, "equity": 0})
    assert f.debt == 50.0
    f = financing(100.0, 0.10, 0.5, 0.07, 20.0, grant_share=0.3)
    assert f.capex == 70.0 and f.fiscal["grant"] == 30.0
    # half the capital cost lent at 2%: rate = (50 x 10% + 50 x 2%) / 100 = 6%
    f = financing(100.0, 0.10, 0.5, 0.07, 20.0, loan_share=0.5, loan_rate=0.02, loan_years=10.0)
    assert f.rate == pytest.approx(0.06)
    grant_equiv = 50.0 * (1 - annuity_factor(0.10, 10) / annuity_factor(0.02, 10))
    assert f.fiscal["loan"] == pytest.approx(grant_equiv)
    assert f.fiscal["loan"] == pytest.approx(50 * (1 - 6.1446 / 8.9826), rel=1e-4)
    assert f.debt == pytest.approx(25.0 + 50.0)
    with pytest.raises(ValueError, match="loan_share"):
        financing(100.0, 0.1, 0.5, 0.07, 20.0, loan_share=1.5)


def test_hazard_rate_hand_check():
    from abm.investment import hazard_rate

    assert hazard_rate(0.08, 0.0) == pytest.approx(0.08)
    assert hazard_rate(0.08, 0.2) == pytest.approx(0.319115, abs=1e-6)  # 1.08 e^0.2 - 1
    # one year's discount factor is the rate's times the survival exp(-0.2)
    assert 1 / (1 + hazard_rate(0.08, 0.2)) == pytest.approx(math.exp(-0.2) / 1.08)
    with pytest.raises(ValueError, match="hazard"):
        hazard_rate(0.08, -0.1)


@pytest.mark.parametrize(
    ("scenario", "before", "after"),
    [("controls-2025", 12, 13), ("embargo-2010", 19, 20)],
)
def test_trade_measures_adopted_during_the_run_switch_on_policy_free_prices(
    scenario, before, after
):
    # controls-2025 starts in 2024-01 and its first trade measure (the US fentanyl tariff
    # of 2025-02-04) takes force in step 13; embargo-2010 starts in 2009-01 with China's
    # export quota and duties in force (the status quo: their renewals and the July 2010 cut
    # do not count) and its first new instrument is the halt to Japan of 2010-09-21 (step
    # 20). Before: no firm has policy-free prices; from then on every firm and every
    # entrant not yet in the world has them, at its anchors of the month before
    m = RareEarthModel(scenario, seed=0, months=after + 1)
    for _ in range(before + 1):
        m.step()
    assert not m.policy.trade_policy_changed()
    firms = [a for a in m.agents if hasattr(a, "free_anchor")]
    assert firms and all(a.free_anchor is None for a in firms)
    anchors = {a.unique_id: dict(a.anchor_price) for a in firms}
    m.step()
    assert m.policy.trade_policy_changed()
    assert all(a.free_anchor is not None for a in firms)
    assert all(a.free_anchor is not None for a in m.pipeline.prospective())
    for a in firms:
        for g, p in anchors[a.unique_id].items():
            assert a.free_anchor[g] == p
    # the benchmarks' long-run values were recorded at the change; they have moved by one
    # month's smoothing since, 1/price_anchor_months of the gap to this month's benchmark,
    # for concentrates and oxides times the bound min(1, c_g) (ODD 7.1; Nd's c_g is below
    # 1 in September 2010 in embargo-2010, so the bound is exercised there)
    at = m._benchmark_at_change
    assert at is not None
    r = m.marginal_cost_ratios
    bound = r < 1.0  # NaN: no bound
    assert bound.any() or scenario != "embargo-2010"
    b = np.where(bound, m.relations.benchmark * r, m.relations.benchmark)
    ok = np.isfinite(b) & np.isfinite(at) & (at > 0)
    assert ok.sum() > 10 and (ok & ~bound).sum() > 0
    expect = 1.0 + (b[ok] / at[ok] - 1.0) / m.params.price_anchor_months
    assert m.benchmark_growth()[ok] == pytest.approx(expect, rel=1e-9)


def test_policy_free_prices_end_with_the_new_instrument():
    # embargo-2010: the halt to Japan runs from 2010-09-21 to its end month 2010-11
    # (exclusive: in force in steps 20-21); from step 22 no new instrument is in force, so firms drop their policy-free prices, and the
    # 2011 quota (step 24), a renewal of the quota in force at the start, does not bring
    # them back
    m = RareEarthModel("embargo-2010", seed=0, months=26)
    firms = [a for a in m.agents if hasattr(a, "free_anchor")]
    seen = []
    for _ in range(26):
        m.step()
        seen.append(m.policy.trade_policy_changed())
    assert [i for i, on in enumerate(seen) if on] == [20, 21]
    assert m._benchmark_at_change is None and all(a.free_anchor is None for a in firms)
    assert ("export_quota", "CN") in m.policy.trade_status_quo


def test_baseline_has_no_trade_policy_change():
    m = RareEarthModel("baseline", seed=0, months=3).run()
    assert not m.policy.trade_policy_changed() and m._benchmark_at_change is None


def test_npv_discounts_only_the_premium_over_policy_free_prices():
    # hand check of Firm.project_npv under trade-policy uncertainty (Handley and Limao
    # 2015): value = NPV(policy-free margin at the cost of capital) + NPV(premium and
    # transient at the rate with hazard)
    from abm.investment import hazard_rate, npv
    from agents import MagnetMaker

    m = RareEarthModel("controls-2025", seed=0, months=20)
    for _ in range(20):
        m.step()
    a = next(a for a in m.agents_by_type[MagnetMaker] if a.company == "Noveon Magnetics")
    par = m.params
    free, lr, cur = a.policy_free_margin(), a.longrun_margin(), a.current_margin()
    assert free is not None
    value, fin = a.project_npv(9000.0, 7e8, 30)
    common = (par.project_life_years, 30, par.base_utilisation, par.rampup_tau_years)
    expected = npv(9000.0, free, fin.capex, fin.rate, *common) + npv(
        9000.0,
        lr - free,
        0.0,
        hazard_rate(fin.rate, par.policy_reversal_hazard),
        *common,
        transient_usd_kg=cur - lr,
        transient_months=par.price_reversion_months,
    )
    assert value == pytest.approx(expected, rel=1e-12)
    # the premium is valued at the rate with hazard, so it counts for less than at the
    # cost of capital alone: without policy-free prices the NPV moves by the premium's
    # lost value, in the premium's direction (2025-08, seed 0: under customer markets
    # Noveon's magnets stay near contract prices while its inputs rose, lr < free; 0.50
    # USD/kg since magnet asks follow current oxide prices (session 26), 0.81 since magnets
    # are priced at full cost, 1.3 before): a premium large enough for the sign to mean
    # something
    assert abs(lr - free) > 0.2
    free_anchor, a.free_anchor = a.free_anchor, None
    without, _ = a.project_npv(9000.0, 7e8, 30)
    a.free_anchor = free_anchor
    assert np.sign(without - value) == np.sign(lr - free)


def test_support_goes_to_the_companies_a_measure_names():
    # controls-2025 from 2025-11-03: the OSC loan to Vulcan Elements (loan 0.51 and equity
    # 0.04 of the capital cost, rate public_discount_rate 3%) and the DoD support of MP
    # Materials (grant 0.3, separation and magnets); another US magnet maker gets neither
    from abm.investment import support_terms

    m = RareEarthModel("controls-2025", seed=0, months=23)
    for _ in range(23):  # to 2025-11
        m.step()
    pol, par = m.policy, m.params
    vulcan = support_terms(pol, "US", "magnets", "Vulcan Elements")
    assert vulcan == {
        "grant_share": 0.0,
        "loan_share": 0.51,
        "loan_rate": None,
        "equity_share": 0.04,
    }
    mp = support_terms(pol, "US", "magnets", "MP Materials")
    assert mp == {"grant_share": 0.3, "loan_share": 0.0, "loan_rate": None, "equity_share": 0.0}
    assert support_terms(pol, "US", "magnets", "Noveon Magnetics")["grant_share"] == 0.0
    assert support_terms(pol, "US", "mining", "Vulcan Elements")["loan_share"] == 0.0
    # Vulcan's cost of capital: 0.51 x 3% + 0.04 x 3% + 0.45 x wacc 8% = 5.25%/yr
    benson = next(p.agent for p in m.pipeline.projects if p.pid == "vulcan_benson")
    _, fin = benson.project_npv(10000.0, 1e9, 14)
    assert par.wacc == 0.08 and par.public_discount_rate == 0.03
    assert fin.rate == pytest.approx(0.51 * 0.03 + 0.04 * 0.03 + 0.45 * 0.08)
    assert fin.fiscal["loan"] > 0 and fin.fiscal["grant"] == 0


def test_debt_service_is_the_level_payment():
    # 100 over 10 years at 10%: 100 / 6.1446 = 16.27 a year
    assert debt_service(100.0, 0.10, 10.0) == pytest.approx(16.2745, rel=1e-4)
    assert debt_service(0.0, 0.10, 10.0) == 0.0


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 0.5), st.floats(0.0, 0.5), st.floats(0.0, 0.06))
def test_support_never_raises_the_cost_of_capital(grant, loan, loan_rate):
    f = financing(
        1e8, 0.08, 0.5, 0.07, 20.0, grant_share=grant, loan_share=loan, loan_rate=loan_rate
    )
    assert f.rate <= 0.08 + 1e-12 and f.capex <= 1e8
    assert all(v >= 0 for v in f.fiscal.values())


def test_expansion_order_closes_the_capacity_gap_net_of_the_supply_line():
    # desired = 190 x 1.1 / 0.95 = 220 t/yr; gap = 220 - 200 nameplate - 5 building = 15
    assert expansion_order(190.0, 1.1, 0.95, 200.0, 5.0, 40.0) == pytest.approx(15.0)
    # a big firm is held to the largest real project of its stage ...
    assert expansion_order(2000.0, 1.2, 0.85, 2000.0, 0.0, 40.0) == 40.0
    # ... a small one to its own nameplate
    assert expansion_order(100.0, 2.0, 0.5, 100.0, 0.0, 1e6) == 100.0
    # capacity already under construction covers the gap: no order
    assert expansion_order(190.0, 1.1, 0.95, 200.0, 25.0, 40.0) == 0.0
    with pytest.raises(ValueError, match="target_utilisation"):
        expansion_order(1.0, 1.0, 0.0, 1.0, 0.0, 1.0)


def test_pipeline_in_model_units_and_size_distribution():
    t = pipeline_table({"MY": "mt_weld"}).set_index("project_id")
    # Tanbreez (eudialyte) has no composition; Niron (FeN) is not a rare-earth magnet
    assert "tanbreez" not in t.index and "niron_sartell" not in t.index
    # Mt Weld expansion: 12,000 t NdPr-equivalent / ((Nd 18.5% + Pr 5.3%) of the deposit's
    # 100.4%) = 50,622 t REO (dividing by 23.8/100 gave 50,420 t, which the model's
    # normalised concentrate turned into 11,952 t NdPr)
    cap = t.loc["lynas_mt_weld_expansion", "capacity_t_per_yr"]
    assert cap == pytest.approx(12000 / (23.8 / 100.4), rel=1e-12)
    assert round(cap) == 50622
    # the concentrate the model mines carries exactly the stated NdPr, at mine and separator
    for project, deposit, ndpr in (
        ("lynas_mt_weld_expansion", "mt_weld", 12000.0),
        ("lynas_lamp_10500", "mt_weld", 10500.0),  # MY separates Mt Weld feed
        ("mp_stage2_separation", "bastnaesite", 6075.0),  # US: the default feed
    ):
        content = catalog().composition(conc(deposit))
        reo = t.loc[project, "capacity_t_per_yr"]
        assert reo * (content["Nd"] + content["Pr"]) == pytest.approx(ndpr, rel=1e-12)
    assert t.loc["arafura_nolans_mine", "product"] == "monazite"
    sizes = project_sizes(t.reset_index())
    # no brownfield step larger than the largest real project of its stage
    assert sizes["mining"].max() == 40000.0  # Mountain Pass restart (MP 10-K)
    assert 43744 > sizes["mining"].max()
    inten = capex_intensity(t.reset_index())
    assert inten["mining"] == pytest.approx(30000.0)  # median: Serra Verde 150 M / 5 kt


# ------------------------------------------------------------------ in the model
@pytest.fixture(scope="module")
def run14(shipped_runs):
    """baseline, seed 0: the shared 24-month run of conftest.py shipped_runs (was a 14-month
    run of its own), the ids and names of the agents of the built world (a fresh build with
    the same seed)."""
    m0 = RareEarthModel("baseline", seed=0)
    before = {a.unique_id for a in m0.agents}
    names0 = {a.name for a in m0.agents}
    return shipped_runs["baseline"][0], before, names0


def test_a_new_firm_enters_during_the_run(run14):
    m, _, names0 = run14
    ev = m.events_frame()
    entries = ev[ev.kind == "entry"]
    assert len(entries) >= 1
    for p in m.pipeline.projects:
        if p.startup is not None and p.new_firm:
            assert p.name not in names0  # not an agent at the start of the run
            assert p.agent in m.agents  # a Mesa agent now
            assert p.agent.capacity < p.capacity  # ramping up, not at nameplate
    sv = next(p for p in m.pipeline.projects if p.pid == "serra_verde_p1")
    assert isinstance(sv.agent, Miner) and sv.agent.deposit == "ionic_clay"


def test_no_project_starts_before_its_earliest_start(run14):
    m, _, _ = run14
    started = [p for p in m.pipeline.projects if p.startup is not None]
    assert started
    for p in m.pipeline.projects:
        if p.committed is not None:
            assert p.online >= p.earliest
        if p.startup is not None:
            assert p.startup >= p.earliest
    # a project committed but not yet started has no agent in the world and waits for its
    # start-up month (commitment + lead time, at or after its earliest start; a commitment
    # after the first review starts after the earliest start: neo_narva_p1 committed in
    # month 13, earliest 20, online 33)
    waiting = [
        p
        for p in m.pipeline.projects
        if p.committed is not None and p.startup is None and p.new_firm
    ]
    assert waiting
    for p in waiting:
        assert p.agent not in m.agents and m.steps <= p.online and p.online >= p.earliest


def test_mass_balance_holds_with_entrants(run14):
    m, _, _ = run14
    scale = np.maximum(m.initial_stock + m.produced, 1.0)
    assert np.max(np.abs(m.mass_balance()) / scale) < 1e-9


def test_capacity_ramps_up_after_start_up():
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    a.nameplate = a.capacity
    k0 = a.capacity
    a.start_up(12000.0, tau_years=2.8)
    assert a.capacity == pytest.approx(k0)  # nothing at start-up
    m.steps += 12
    a.ramp_capacity()
    assert a.capacity == pytest.approx(k0 + 12000 * (1 - math.exp(-1 / 2.8)))
    m.steps += 24
    a.ramp_capacity()
    assert a.capacity == pytest.approx(k0 + 12000 * (1 - math.exp(-3 / 2.8)))
    assert a.nameplate == pytest.approx(k0 + 12000)


def test_positive_longrun_margin_firm_survives_24_loss_months():
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.name == "China Northern Rare Earth Group")
    a.nameplate = a.capacity
    a.cash = a.initial_cash()
    assert a.longrun_margin() > 0
    revenue = a.capacity / 12 * 6.0  # t x USD/kg
    for _ in range(24):  # 24 months losing half of revenue (short run)
        a.book_margin(-0.5, revenue)
        a.settle_cash()
        a.review_status()
    assert a.active and not a.exited and not a.mothballed
    assert a.cash < 0  # it is living on credit
    assert a.cash > -a.credit_line()


def test_negative_longrun_margin_mothballs_then_exits_when_cash_runs_out():
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    others = [u for u in m.treasury.members[a.company] if u is not a]
    assert others  # MP Materials' separation and magnet plants
    for u in others:  # the rest of the company holds no cash or credit
        u.cash, u.nameplate = 0.0, 0.0
    a.nameplate = a.capacity
    a.cash = 1e6
    a.unit_cost = 2.0 * a.longrun_sale_price(a.good)  # long-run margin -50% of cost
    a.review_status()
    assert a.mothballed and a.capacity == 0.0 and not a.exited
    care = (
        m.params.care_maintenance_share
        * a.unit_cost
        * 1000
        * a.nameplate
        * m.params.base_utilisation
        / 12
    )
    months = math.ceil(1e6 / care)
    for _ in range(months):
        a.settle_cash()
        a.review_status()
    assert a.exited and a.nameplate == 0.0
    assert "exits: cash" in m.events[-1]["text"]


def test_a_unit_is_carried_by_its_company_until_the_company_is_insolvent():
    # Lynas Rare Earths: the Mt Weld mine and the Kuantan separation plant share one
    # solvency test (abm/treasury.py; Stein 1997)
    m = RareEarthModel("baseline", seed=0, months=2)
    tr = m.treasury
    mine = next(a for a in m.agents_by_type[Miner] if a.name == "Lynas Rare Earths (Mt Weld)")
    sep = next(
        a for a in tr.members["Lynas Rare Earths"] if a.stage == "separation" and a.capacity > 0
    )
    assert mine.company == sep.company == "Lynas Rare Earths"
    for a in (mine, sep):
        a.nameplate, a.cash = a.capacity, 0.0
    credit = mine.credit_line() + sep.credit_line()
    assert credit > 0 and sep.credit_line() > 0
    # hand check of the pooled position
    mine.cash, sep.cash = 50e6, -10e6
    assert tr.position("Lynas Rare Earths") == (pytest.approx(40e6), pytest.approx(credit))
    # the separator is below its own credit line, but the group has cash: it stays
    sep.cash = -sep.credit_line() - 1e6
    sep.review_status()
    assert not sep.exited and sep.active
    # the group is insolvent: both units exit, whichever reviews first
    mine.cash = -mine.credit_line()
    sep.review_status()
    assert mine.exited and sep.exited and mine.nameplate == sep.nameplate == 0.0
    texts = [e["text"] for e in m.events if e["kind"] == "firm exits"]
    assert len(texts) == 2 and all("cash of Lynas Rare Earths" in t for t in texts)


def test_a_committed_entrant_of_a_bankrupt_company_never_starts_up():
    # MP Materials' 10X magnet plant, committed to start in month 4; MP Materials goes
    # bankrupt in month 1: the entrant is abandoned before start-up and never enters
    m = RareEarthModel("baseline", seed=0, months=8)
    m.step()  # cash accounts open in the first month
    p = next(p for p in m.pipeline.projects if p.pid == "mp_10x")
    p.committed, p.online, p.visible = 0, 4, 0
    units = m.treasury.units("MP Materials")
    assert units and p.agent in m.treasury.pending("MP Materials")
    for u in units:
        u.cash = -1e12
    units[0].review_status()
    assert all(u.exited for u in units) and p.agent.exited
    assert not m.treasury.pending("MP Materials")
    m.run(5)
    assert p.startup is None and p.agent not in m.agents
    texts = [e["text"] for e in m.events if e["kind"] == "firm exits"]
    assert any("10X magnet plant" in t and "abandoned before start-up" in t for t in texts)


def test_company_of_takes_the_name_up_to_the_parenthesis():
    from abm.treasury import company_of

    assert company_of("MP Materials (Independence magnet plant (Fort Worth TX))") == "MP Materials"
    assert company_of("MP Materials") == "MP Materials"
    assert company_of("Sichuan bastnaesite miners #2") == "Sichuan bastnaesite miners #2"


def test_a_mothballed_plant_restarts_and_ramps_up_when_long_run_prices_recover():
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    a.nameplate, a.cash = a.capacity, 1e9
    cost0 = a.unit_cost
    a.unit_cost = 2.0 * a.longrun_sale_price(a.good)
    a.review_status()
    assert a.mothballed
    # inside the band (margin between -band and +band x cost): stays mothballed
    a.unit_cost = a.longrun_sale_price(a.good) / (1 + 0.5 * m.params.mothball_band)
    a.review_status()
    assert a.mothballed
    a.unit_cost = cost0 * 0.5
    a.review_status()
    assert not a.mothballed and a.active and a.capacity == pytest.approx(0.0)
    m.steps += 15  # 1.25 yr: restart tau
    a.ramp_capacity()
    assert a.capacity == pytest.approx(a.nameplate * (1 - math.exp(-1)), rel=1e-6)


def test_brownfield_expansions_are_no_larger_than_real_projects(run14):
    m, _, _ = run14
    import re

    ev = m.events_frame()
    big = m.pipeline.sizes
    for text in ev[ev.kind == "investment"].text:
        hit = re.search(r"\((\w+)\) expands by ([\d,]+) t/yr", text)
        if hit:
            assert float(hit.group(2).replace(",", "")) <= max(v.max() for v in big.values())


@pytest.fixture(scope="module")
def embargo_2010_full():
    """``embargo-2010``, seed 0, its whole horizon (2009-01 to 2016-12; about 25 s)."""
    return RareEarthModel("embargo-2010", seed=0).run()


@pytest.mark.slow
def test_mountain_pass_ramps_up_in_the_2010_episode(embargo_2010_full):
    # USGS: US mine output 3.0 kt in 2012, 5.5 kt in 2013 against ~19 kt nameplate
    # (rampup.csv). The model must ramp up (no start at nameplate) and the mine must
    # produce (failing input kept: until session 11 it produced 12-54 t a year in 2012-13,
    # made to the sales of a market that had not yet qualified it, at the expected price of
    # a concentrate nobody traded). Session 29 (seed 0): Molycorp commits in November 2013
    # and starts up in July 2015 (record: committed early 2011, started February 2012),
    # 451 t in 2015 and 4,779 t in 2016 against 19,050 t/yr: it ramps, but it commits late
    # and for a reason the record does not share, Nd abroad staying too high after 2012
    # (5.0x 2009 in July 2013 against 3.7x; docs/calibration.md 4.36). Sessions 26-28 it
    # did not commit by 2016 (this was a strict xfail), nor in session 31, when its anchor
    # price adapted over 30 months (the NPV peaked at 172 M USD at the end of 2014 against
    # a hurdle of 195 M). Session 32 (expectations with sourced time constants, 8 and 11
    # months): it commits in August 2011 and starts up in April 2013, 1.2 kt in 2013 and
    # 6.0 kt in 2014 (seed 0; seeds 1-2 the same within a month)
    m = embargo_2010_full
    ts = m.timeseries()
    mine = ts[(ts.metric == "production") & ts.good.str.startswith("conc_")]
    year = mine.groupby([mine.date.astype(str).str[:4], "region"]).value.sum()
    moly = next(p for p in m.pipeline.projects if p.pid == "molycorp_phoenix_p1")
    assert moly.startup is not None
    first = m.date_of(moly.startup)[:4]
    assert year.get((first, "US"), 0.0) < 0.5 * moly.capacity
    # it commits while prices are high (the record: early 2011), not years later
    assert m.date_of(moly.committed) < "2012-07"


@pytest.mark.slow
def test_mt_weld_ramps_up_lynas_survives_and_world_use_falls_in_the_2010_episode(
    embargo_2010_full,
):
    # Australia (Mt Weld, concentrator opened August 2011) 2-8 kt a year in 2012-14
    # (rampup.csv, Lynas LAMP 3,965 t REO in FY2014); Lynas must survive
    m = embargo_2010_full
    ts = m.timeseries()
    mine = ts[(ts.metric == "production") & ts.good.str.startswith("conc_")]
    year = mine.groupby([mine.date.astype(str).str[:4], "region"]).value.sum()
    assert 1000.0 < year[("2013", "AU")] < 15000.0
    ev = m.events_frame()
    assert not ev[(ev.kind == "firm exits") & ev.text.str.contains("Lynas")].any().any()
    # world use falls from its 2010 high to 2012 (Kingsnorth, IMCOA 2013: 133 kt to 110 kt,
    # -17%; demand_outlook.csv); the model's world separation output fell 12% (136.6 kt to
    # 120.6 kt) when this was written
    ox = ts[(ts.metric == "production") & ts.good.str.startswith("ox_")]
    made = ox.groupby(ox.date.dt.year).value.sum()
    assert 0.8 < made[2012] / made[2010] < 0.95


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Molycorp mines nothing in 2013 (record 5.5 kt): it committed to Project Phoenix "
    "in June 2013 with export evasion (session 17; November 2010 before, the record late "
    "2010), in February 2014 in session 25 and not at all since session 26: its La- and "
    "Ce-rich basket abroad stays near China's price in 2011, where the record had La and Ce "
    "about 100 USD/kg above it (docs/calibration.md 4.24, 4.33)",
)
def test_mountain_pass_mines_in_2013_as_recorded():
    # USGS: US mine output 3.0 kt in 2012 and 5.5 kt in 2013 (rampup.csv)
    m = RareEarthModel("embargo-2010", seed=0, months=60).run()
    ts = m.timeseries()
    mine = ts[(ts.metric == "production") & ts.good.str.startswith("conc_")]
    year = mine.groupby([mine.date.astype(str).str[:4], "region"]).value.sum()
    assert 2000.0 < year.get(("2013", "US"), 0.0) < 11000.0


def test_a_price_guarantee_removes_the_real_options_hurdle(shipped_runs):
    # controls-2025: the DoD floor ($110/kg NdPr) with 100% offtake of the 10X plant's magnets
    # from July 2025; before it every sponsor needs NPV >= investment_hurdle x capital, after
    # it the 10X plant (its magnets' price guaranteed) needs NPV >= 0, another US maker
    # (Noveon) and a Japanese one still the hurdle
    from agents import MagnetMaker

    def maker(m, company=None, region=None):
        return next(
            a
            for a in m.agents_by_type[MagnetMaker]
            if a.company == company or (company is None and a.region == region)
        )

    # before: MP's Independence plant is an entrant of 2025-01, not yet in the 2024 world
    m = RareEarthModel("controls-2025", seed=0)
    indep = next(p.agent for p in m.pipeline.projects if p.pid == "mp_independence")
    noveon, jp = maker(m, "Noveon Magnetics"), maker(m, region="JP")
    assert indep.hurdle() == noveon.hurdle() == m.params.investment_hurdle == 0.25
    assert jp.hurdle() == 0.25
    # after: seed 0 to 2025-12 (the shared run of conftest.py shipped_runs)
    m, _ = shipped_runs["controls-2025"]
    assert str(m.date) == "2026-01"  # one past the last month simulated
    noveon, jp = maker(m, "Noveon Magnetics"), maker(m, region="JP")
    tenx = next(p.agent for p in m.pipeline.projects if p.pid == "mp_10x")
    indep = next(p.agent for p in m.pipeline.projects if p.pid == "mp_independence")
    assert tenx.hurdle() == 0.0
    # the offtake covers the 10X plant alone (offtake_plants); Independence sells to its
    # commercial customers and needs the hurdle like Noveon and the Japanese maker
    assert indep.hurdle() == noveon.hurdle() == jp.hurdle() == 0.25


def test_a_project_decided_before_the_run_is_committed_at_once_and_starts_at_its_earliest():
    """Mt Weld's concentrator was decided before 2009 (mining from 2007): in embargo-2010 it is
    committed at the first review whatever its NPV at 2009 prices (sunk) and starts up at its
    earliest start, August 2011 (step 31); a project decided during the run is not sunk."""
    m = RareEarthModel("embargo-2010", seed=0, months=2)
    p = {x.pid: x for x in m.pipeline.projects}
    weld, phoenix = p["lynas_mt_weld"], p["molycorp_phoenix_p1"]
    assert weld.sunk and not phoenix.sunk
    a = weld.agent
    assert a.project_npv(weld.capacity, weld.capex, weld.earliest)[0] < 0  # not viable
    m.run()
    assert (weld.committed, weld.online) == (0, 31)
    assert phoenix.committed is None


def test_a_committed_entrant_goes_on_learning_prices_before_it_starts_up():
    """An entrant committed to a project updates its expectations every month until
    start-up (before session 8 it kept those of the month it committed: Mt Weld entered the
    2011 boom with 2009 prices and mothballed the next month)."""
    # embargo-2010, seed 0: Mt Weld is committed from the start and starts up in August
    # 2011; China's Nd price rises through the first half of 2011 (1.8x its 2009 level in
    # the first quarter, 3.1x in the second when this was written)
    m = RareEarthModel("embargo-2010", seed=0, months=29)
    nd = m.catalog.index["ox_Nd"]
    weld = next(x for x in m.pipeline.projects if x.pid == "lynas_mt_weld")
    at_commit = weld.agent.anchor(nd)
    seen = []
    while m.steps < 29:
        m.step()
        if m.steps >= 24:
            seen.append(weld.agent.anchor(nd))
    assert weld.committed == 0 and weld.startup is None  # committed, not yet started
    # January to June 2011: the entrant's anchor follows the rising price every month
    assert all(b > a for a, b in itertools.pairwise(seen))
    assert seen[-1] > 1.3 * at_commit


def test_a_mine_whose_concentrate_nobody_has_qualified_observes_its_netback():
    # a new origin has no market price, only its own unsold asks: the mine observes the
    # netback of its oxide content (Miner.indexed_price); once one buyer node anywhere has
    # qualified it, the FOB origin price
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    g = a.good
    m.origin_price[g, a.ridx] = 1.0
    m.relations.qualified[g, :, :, a.ridx] = False
    net = a.indexed_price(g)
    assert net is not None and net > 1.0
    assert a.observed(g) == pytest.approx(net)
    m.relations.qualified[g, 0, 0, a.ridx] = True
    assert a.observed(g) == 1.0


def test_a_firm_in_its_start_up_ramp_produces_at_the_price_led_rate():
    # an established mine makes to order (sales 10 t/month, no stock: 10 + (1 x 10 - 0)
    # / 3 = 13.3 t); the same mine with all of its nameplate in a start-up ramp produces its
    # price-led run rate, capacity / 12 x cost utilisation
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    g = a.good
    par = m.params
    a.sales_ema[g] = 10.0
    a.stock(g).qty = 0.0
    assert not a.starting_up
    a.produce()
    assert a.output_month[g] == pytest.approx(
        (10.0 + (par.sell_cover_months * 10.0 - 0.0) / par.inventory_adjust_months)
        * m.policy.quota_factor(a.region, a.deposit)
    )
    k = a.capacity
    a.nameplate, a.capacity = 0.0, 0.0
    a.start_up(k, tau_years=2.0)
    m.steps += 12
    a.ramp_capacity()
    assert a.starting_up and 0 < a.capacity < k
    a.stock(g).qty = 0.0
    a.produce()
    run = a.capacity / 12.0 * a.cost_utilisation(a.output_price(), a.unit_cost, a.base_price(g))
    assert run > 14.0
    assert a.output_month[g] == pytest.approx(run * m.policy.quota_factor(a.region, a.deposit))
    # an expansion of an established firm keeps making to order
    a.ramps = [(m.month_index, 0.1 * a.nameplate, 2.0)]
    assert not a.starting_up


def test_a_mine_runs_the_operations_the_price_of_the_month_covers(monkeypatch):
    # the short-run shut-down rule on the output price (Miner.output_price), not on the
    # expected price: at output_price_months 1 the output price is last month's observed
    # price; at 3 it closes a third of its gap (100 -> 100 + (40 - 100) / 3 = 80); a month
    # with no observed price leaves it; a mine in its start-up ramp (no making to order)
    # runs capacity / 12 x cost utilisation of the output price, whatever it expects
    m = RareEarthModel("baseline", seed=0, months=2)
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    g = a.good
    assert a.output_price() == pytest.approx(a.expected(g))  # starts at the expected price
    seen = {"p": 40.0}
    monkeypatch.setattr(a, "observed", lambda good: seen["p"])
    a._output_price = 100.0
    a.update_expectations()
    assert a.output_price() == pytest.approx(40.0)
    a._output_price = 100.0
    m.params = m.params.model_copy(update={"output_price_months": 3.0})
    a.update_expectations()
    assert a.output_price() == pytest.approx(80.0)
    seen["p"] = float("nan")
    a.update_expectations()
    assert a.output_price() == pytest.approx(80.0)
    # a price that covers none of its operations stops it, though it expects a high price
    k = a.capacity
    a.nameplate, a.capacity = 0.0, 0.0
    a.start_up(k, tau_years=2.0)
    m.steps += 12
    a.ramp_capacity()
    a.exp_price[g] = 10.0 * a.unit_cost
    a._output_price = 1e-3 * a.unit_cost
    a.produce()
    assert a.output_month[g] == pytest.approx(0.0, abs=1e-9)
    a._output_price = 10.0 * a.unit_cost
    a.exp_price[g] = 1e-3 * a.unit_cost
    a.produce()
    run = a.capacity / 12.0 * a.cost_utilisation(10.0 * a.unit_cost, a.unit_cost, a.base_price(g))
    assert run > 0.0
    assert a.output_month[g] == pytest.approx(run * m.policy.quota_factor(a.region, a.deposit))


def test_supply_line_counts_a_firm_that_has_not_averaged_its_output_yet():
    # failing input of the one-at-a-time sweep (baseline, investment_review_months = 36):
    # a firm added this month has no output_avg yet and the market's supply line raised
    # TypeError (float * None); it now counts its last month's output
    from abm.model import RareEarthModel

    m = RareEarthModel("baseline", seed=0, months=2)
    m.step()
    firm = next(
        a
        for a in m.agents
        if getattr(a, "market", None) and hasattr(a, "projects") and a.recent_output() > 0
    )
    before, avg = m.supply_line(firm.market)[0], firm.output_avg
    firm.output_avg = None
    m._supply_line.clear()
    out = m.supply_line(firm.market)[0]
    assert firm.average_output() == firm.recent_output()
    assert out == pytest.approx(before - 12.0 * avg + 12.0 * firm.recent_output())


@pytest.mark.parametrize(
    "usd, text",
    [
        (-12_345_678.0, "-12.3 M USD"),
        (245e6, "245 M USD"),
        (-49_000.0, "-49.0 k USD"),
        (-31_400.0, "-31.4 k USD"),
        (-12.0, "-12 USD"),
        (-0.0, "0 USD"),
        (-0.4, "0 USD"),
        (0.0, "0 USD"),
    ],
)
def test_event_amounts_are_meaningful_and_never_minus_zero(usd, text):
    from abm.treasury import usd_text

    assert usd_text(usd) == text


def test_a_small_shortfall_is_logged_in_k_usd():
    # a new user's events.csv: "cash ... -0.0 M USD below its credit line (-0.0 M USD)"
    m = RareEarthModel("baseline", seed=0, months=2)
    m.params = m.params.model_copy(update={"credit_years": 0.0})  # no credit line
    mine = next(a for a in m.agents_by_type[Miner] if a.name == "Lynas Rare Earths (Mt Weld)")
    for a in m.treasury.members["Lynas Rare Earths"]:
        a.nameplate, a.cash = a.capacity, 0.0
    mine.cash = -31_400.0
    mine.review_status()
    texts = [e["text"] for e in m.events if e["kind"] == "firm exits"]
    assert texts and all(
        t.endswith("cash of Lynas Rare Earths -31.4 k USD below its credit line (0 USD)")
        for t in texts
    ), texts


def test_pipeline_mine_past_feasibility_draws_the_construction_lead_time():
    """A mine project past its feasibility study (Pensana's Longonjo, Arafura's Nolans:
    status feasibility, no earliest start) starts up within
    ``lead_time_mine_after_feasibility_years`` of its commitment; an announced mine project
    (Serra Verde phase II) still draws ``lead_time_mine_years``. Before session 28 every
    mine project drew 8-15 years, so Pensana, committing in 2024-25, started up in 2039."""
    from abm.scenario import apply_overrides, load_scenario

    sc = apply_overrides(
        load_scenario("baseline"),
        {
            "parameters.lead_time_mine_after_feasibility_years": [3.0, 3.0],
            "parameters.lead_time_mine_years": [12.0, 12.0],
            "parameters.lead_time_separation_years": [4.0, 4.0],
        },
    )
    m = RareEarthModel(sc, seed=0, months=1)
    p = {x.pid: x for x in m.pipeline.projects}
    # announced before the run's start: visible 0, earliest = the drawn lead (months)
    assert p["pensana_longonjo"].earliest == 36 and p["arafura_nolans_mine"].earliest == 36
    assert p["serra_verde_p2"].earliest == 144
    # a separation project keeps its stage's range whatever its status
    assert p["arafura_nolans_sep"].earliest == 48
