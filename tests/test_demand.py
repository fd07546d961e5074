"""Demand and substitution: sectoral outlook, sector mix by base year, substitution that moves
demand (Ce-rich magnets buy La and Ce oxide; ferrite costs unit value), thrifting that unwinds,
recycling bounded by end-of-life magnets, derived value with a substitute."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.data import DataError
from abm.demand import DemandOutlook, adopt, adoption_target
from abm.model import RareEarthModel
from abm.world import sector_shares
from agents import OEM, MagnetMaker, Recycler
from agents.recycler import RE_CONTENT, collection_share


@pytest.fixture(scope="module")
def model():
    return RareEarthModel("baseline", seed=0, months=1)


# ------------------------------------------------------------------ outlook and mix
def test_outlook_rates_by_sector_and_year():
    o = DemandOutlook()
    assert o.rate("ev", 2025) == pytest.approx(0.082)
    assert o.rate("industrial", 2025) == pytest.approx(0.0475)
    assert o.rate("wind", 2035) == pytest.approx(0.0028)
    assert o.rate("electronics", 2018) == pytest.approx(0.0905)  # history, before 2023
    # in the years end_use_activity.csv records: the driver's growth, not scaled
    assert o.rate("electronics", 2010) == pytest.approx(651.4 / 556.3 - 1)  # HDD units
    assert DemandOutlook(scale=2.0).rate("industrial", 2010) == pytest.approx(
        77_629_127 / 61_791_868 - 1  # OICA world vehicle production
    )
    # a year of 2024 compounds to the annual rate
    assert o.factor("industrial", 2024, 1, 12) == pytest.approx(1.0475)
    assert o.factor("ev", 2024, 7, 0) == 1.0
    # EV 7% and the rest 93% of 2023 demand add up to the IEA APS 131 kt in 2030 (93 kt 2023)
    total = 0.07 * o.factor("ev", 2023, 1, 84) + 0.93 * o.factor("wind", 2023, 1, 84)
    assert total == pytest.approx(131 / 93, rel=2e-3)
    assert DemandOutlook(scale=2.0).rate("ev", 2025) == pytest.approx(0.164)


def _activity(rows):
    return pd.DataFrame(
        [
            {"series": ser, "sector": sec, "year": y, "value": v, "driver": d}
            for ser, sec, y, v, d in rows
        ]
    )


def test_recorded_activity_by_month_by_hand():
    # wind recorded in 2009-2010 at 100 and 121, then the outlook's 9.05%/yr (history)
    act = _activity([("w", "wind", 2009, 100.0, "yes"), ("w", "wind", 2010, 121.0, "yes")])
    o = DemandOutlook(activity=act)
    months = [o.factor("wind", 2009, 1, k) for k in range(30)]
    # each year's months average its annual value over the start year's (Denton)
    assert sum(months[:12]) / 12 == pytest.approx(1.0)
    assert sum(months[12:24]) / 12 == pytest.approx(1.21)
    # no jumps: the largest monthly step is far below the 21% of a step function
    assert max(abs(b - a) for a, b in zip(months[:23], months[1:24], strict=True)) < 0.03
    assert months[0] < 1.0 < months[11] < months[12]  # rising through the years
    # after the table's last December: the outlook (9.05%/yr before 2023)
    assert months[24] == pytest.approx(months[23] * 1.0905 ** (1 / 12))
    assert o.rate("wind", 2010) == pytest.approx(0.21)
    assert o.rate("wind", 2009) == pytest.approx(0.0905)  # no 2008 row: no recorded growth
    # a start the table does not cover compounds from 1 (the 2024 scenarios are unchanged)
    assert not o.covers("wind", 2011)
    assert o.factor("wind", 2011, 1, 0) == 1.0
    assert o.factor("wind", 2011, 1, 12) == pytest.approx(1.0905)
    # a sector without a driver row uses the outlook from month 0
    assert o.factor("ev", 2009, 1, 12) == pytest.approx(1.0905)


def test_recorded_activity_refuses_two_drivers_or_a_missing_year():
    two = _activity([("a", "wind", 2009, 1.0, "yes"), ("b", "wind", 2010, 1.0, "yes")])
    with pytest.raises(ValueError, match="sector 'wind' has 2 driver series \\(a, b\\)"):
        DemandOutlook(activity=two)
    gap = _activity([("a", "wind", 2009, 1.0, "yes"), ("a", "wind", 2011, 1.0, "yes")])
    with pytest.raises(ValueError, match="has no 'yes' row for 2010; allowed: consecutive"):
        DemandOutlook(activity=gap)
    # reference rows (driver 'no') are not read
    ref = _activity([("a", "wind", 2009, 1.0, "yes"), ("b", "wind", 2011, 9.0, "no")])
    assert DemandOutlook(activity=ref).activity["wind"] == {2009: 1.0}


def test_shipped_activity_drives_the_2009_world():
    # end_use_activity.csv: a run from January 2009 follows vehicles, HDDs and wind from
    # 2009, and hybrid and plug-in cars from 2011 (no like-for-like 2009-10 series)
    o = DemandOutlook()
    assert [o.covers(s, 2009) for s in ("ev", "wind", "electronics", "industrial")] == [
        False,
        True,
        True,
        True,
    ]

    def year_mean(sec, i):
        return sum(o.factor(sec, 2009, 1, k) for k in range(12 * i, 12 * i + 12)) / 12

    # 2010 over 2009: OICA +25.6%, HDD +17.1%, GWEC +0.3%
    assert year_mean("industrial", 1) == pytest.approx(77_629_127 / 61_791_868)
    assert year_mean("electronics", 1) == pytest.approx(651.4 / 556.3)
    assert year_mean("wind", 1) == pytest.approx(38.7 / 38.6)
    # EV: the outlook's 9.05%/yr in 2009-10, then Toyota hybrids + world plug-ins
    assert o.rate("ev", 2011) == pytest.approx(673_989 / 690_000 - 1)


def test_sector_mix_by_base_year():
    s09, s24 = sector_shares(2009), sector_shares(2024)
    assert s24 == pytest.approx({"ev": 0.07, "wind": 0.11, "electronics": 0.30, "industrial": 0.52})
    assert s09["ev"] + s09["wind"] == pytest.approx(0.125)
    assert sum(s09.values()) == pytest.approx(1.0)


def test_oem_plan_grows_along_the_outlook(model):
    oem = next(a for a in model.agents_by_type[OEM] if a.sector == "ev")
    model.steps = 12
    try:
        assert oem.growth() == pytest.approx(1.082)  # 2024: EV 8.2%/yr
    finally:
        model.steps = 1


# ------------------------------------------------------------------ adoption rule
def test_adoption_target_and_speeds_by_hand():
    # trigger 1.5, spread 0.2: Phi(ln(1/1.5)/0.2) = Phi(-2.0273) = 0.021315 of users had
    # switched at the base-year price (in the base recipes already); the target counts the
    # others: at the median 0.4 x (0.5 - 0.021315) / (1 - 0.021315) = 0.195644
    assert adoption_target(1.5, 0.4, 1.5, 0.2) == pytest.approx(0.195644, abs=1e-6)
    assert adoption_target(1.5 * math.exp(0.2), 0.4, 1.5, 0.2) == pytest.approx(
        0.4 * (0.841345 - 0.021315) / (1 - 0.021315), abs=1e-6
    )
    # nothing moves at or below the base-year price (no drift at base)
    assert adoption_target(1.0, 0.4, 1.5, 0.2) == 0.0
    assert adoption_target(0.7, 0.4, 1.5, 0.2) == 0.0
    assert adopt(0.0, 0.2, 24, 84) == pytest.approx(0.2 * (1 - math.exp(-1 / 24)))
    assert adopt(0.2, 0.0, 24, 84) == pytest.approx(0.2 * math.exp(-1 / 84))  # slow unwind


@settings(max_examples=200, deadline=None)
@given(share=st.floats(0, 1), target=st.floats(0, 1), up=st.floats(1, 200), down=st.floats(1, 200))
def test_adopt_stays_between_share_and_target(share, target, up, down):
    s = adopt(share, target, up, down)
    assert min(share, target) - 1e-12 <= s <= max(share, target) + 1e-12
    assert 0.0 <= s <= 1.0


@settings(max_examples=200, deadline=None)
@given(rel=st.floats(0, 1e4), smax=st.floats(0, 1), trig=st.floats(1, 5), d=st.floats(0.05, 0.5))
def test_adoption_target_is_a_share_up_to_its_max(rel, smax, trig, d):
    assert 0.0 <= adoption_target(rel, smax, trig, d) <= smax


# ------------------------------------------------------------------ substitution moves demand
def test_ce_rich_magnets_buy_la_and_ce_oxide_by_hand(model):
    par = model.params
    oem = next(
        a for a in model.agents_by_type[OEM] if a.sector == "industrial" and a.region == "CN"
    )
    cat = model.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    ce, la = cat.index["ox_Ce"], cat.index["ox_La"]
    r0 = oem.recipe0
    oem.sub_share, oem.dy_free_share = 0.2, 0.0
    try:
        r = oem.recipe()
    finally:
        oem.sub_share = 0.0
    moved = 0.2 * (r0[std] + r0[ht])
    ce_mag = moved * par.ce_magnet_share
    assert r[ht] == pytest.approx(0.8 * r0[ht])
    assert r[std] == pytest.approx(0.8 * r0[std] + ce_mag * (1 - par.ce_nd_replacement))
    lace = ce_mag * par.ce_nd_replacement * 0.30  # RE content of standard NdFeB
    assert r[ce] == pytest.approx(lace * par.ce_la_ratio)
    assert r[la] == pytest.approx(lace * (1 - par.ce_la_ratio))
    # La and Ce are valued at the standard grade they replace
    assert oem.derived_value(ce) == pytest.approx(oem.expected(std) / 0.30)


def test_ferrite_share_costs_unit_value_and_ht_standin_by_hand(model):
    par = model.params
    oem = next(a for a in model.agents_by_type[OEM] if a.sector == "ev" and a.region == "US")
    cat = model.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    a_ht = oem.recipe0[ht]
    plan = 100.0
    # HT stock covers 90% of the HT need; standard stands in for the rest at 1 + e kg/kg
    oem.stock(ht).qty = 0.9 * plan * a_ht
    oem.stock(std).qty = 1.0
    oem.plan_units = plan
    oem.produce()
    assert oem.output_units == pytest.approx(plan)
    assert oem.lost_units == pytest.approx(0.0, abs=1e-9)
    assert oem.standin_t == pytest.approx(0.1 * plan * a_ht * (1 + par.dy_free_extra_magnet))
    # no HT at all: at most the stand-in share q of the HT use can be made
    assert OEM._nd_feasible(0.0, 10.0, 10.0, 0.0, 0.2, 0.2) == 0.0
    assert OEM._nd_feasible(8.0, 10.0, 10.0, 0.0, 0.2, 0.2) == pytest.approx(1.0)
    assert OEM._nd_feasible(8.0, 1.0, 10.0, 0.0, 0.2, 0.2) == pytest.approx((1 + 9.6) / 12)
    # ferrite: sub_share x (1 - ce_magnet_share) of the NdFeB line loses ferrite_value_loss
    oem.sub_share = 0.1
    try:
        for g in (ht, std):
            oem.stock(g).qty = 1e6
        oem.produce()
    finally:
        oem.sub_share = 0.0
    assert oem.substitution_cost == pytest.approx(
        oem.output_units * 40000 * par.ferrite_value_loss * 0.1 * (1 - par.ce_magnet_share)
    )


@settings(max_examples=200, deadline=None)
@given(
    H=st.floats(0, 100),
    S=st.floats(0, 100),
    nh=st.floats(0.01, 50),
    ns=st.floats(0, 50),
    q=st.floats(0, 0.5),
    e=st.floats(0, 1),
)
def test_nd_feasible_never_uses_more_than_on_hand(H, S, nh, ns, q, e):
    f = OEM._nd_feasible(H, S, nh, ns, q, e)
    ht_used = min(H, f * nh)
    standin = (f * nh - ht_used) * (1 + e)
    assert f * nh - ht_used <= q * f * nh + 1e-9
    assert standin + max(f * ns - (H - ht_used), 0.0) <= S + 1e-6 * (1 + S)


# ------------------------------------------------------------------ thrifting unwinds
def test_thrifting_unwinds_slowly_when_dy_is_cheap(model):
    par = model.params
    mk = next(a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb")
    mk.hre_factor = 0.5
    target = adoption_target(
        1.0, par.thrifting_max, par.substitution_trigger, par.adoption_dispersion
    )
    mk._thrift(1.0)  # the Dy/Tb bundle at its base-year price
    assert 1 - mk.hre_factor == pytest.approx(
        target + (0.5 - target) * math.exp(-1 / par.design_life_months)
    )
    assert mk.hre_factor > 0.5
    before = 1 - mk.hre_factor
    mk._thrift(10.0)  # dear Dy/Tb bundle: thrift up, fast
    assert 1 - mk.hre_factor == pytest.approx(
        before + (par.thrifting_max * 1.0 - before) * (1 - math.exp(-1 / 24)), rel=1e-6
    )
    mk.hre_factor = 1.0


# ------------------------------------------------------------------ recycling
def test_recycling_bounded_by_end_of_life_magnets(model):
    par = model.params
    rec = next(a for a in model.agents_by_type[Recycler] if a.region == "CN")
    eol = (
        rec.magnet_use0
        / 12
        * (1 + par.magnet_use_growth_history) ** (model.steps / 12 - par.magnet_life_years)
    )
    assert rec.end_of_life() == pytest.approx(eol)
    nd = model.catalog.index["ox_Nd"]
    rec.exp_price[nd] = 100 * rec.base_price(nd)  # price far up
    rec.capacity = 1e9  # capacity not binding
    before = sum(rec.output_month.values())
    rec.produce()
    q = sum(rec.output_month.values())
    assert q == pytest.approx(
        rec.eol_t
        * RE_CONTENT
        * collection_share(
            100, par.recycling_share, par.recycling_max_collection, par.recycling_price_elasticity
        )
    )
    assert q <= rec.eol_t * RE_CONTENT * par.recycling_max_collection
    assert q > before
    # at the reference price the collected share is the base share
    assert collection_share(1.0, 0.01, 0.5, 0.8) == pytest.approx(0.01)


@settings(max_examples=200, deadline=None)
@given(
    rel=st.floats(0, 1e6), base=st.floats(0.001, 0.2), top=st.floats(0.3, 0.9), e=st.floats(0, 3)
)
def test_collection_share_in_unit_interval(rel, base, top, e):
    assert 0.0 <= collection_share(rel, base, top, e) <= top


# ------------------------------------------------------------------ mass balance
def test_mass_balance_with_substitution_and_recycling():
    m = RareEarthModel(
        "baseline",
        seed=0,
        months=4,
        overrides={"parameters.substitution_trigger": 1.0, "parameters.adoption_dispersion": 0.5},
    )
    m.run()
    bal = m.mass_balance()
    assert abs(bal).max() < 1e-6 * max(m.produced.max(), 1.0)
    oems = [a for a in m.agents_by_type[OEM] if a.sector != "defense"]
    assert max(a.sub_share for a in oems) > 0
    ce = m.catalog.index["ox_Ce"]
    assert sum(a.stock(ce).qty for a in oems) >= 0
    assert all(0 <= a.sub_share <= 1 and 0 <= a.dy_free_share <= 1 for a in oems)


def test_adoption_target_of_a_subnormal_price_is_zero():
    # regression (Hypothesis): 5e-324 / 2 underflows to 0 and math.log raised
    from abm.demand import adoption_target

    assert adoption_target(5e-324, 0.5, 2.0, 0.5) == 0.0


def test_magnet_recipe_follows_the_thrifted_hre_factor(model):
    """A magnet maker's recipes (built once per value of hre_factor) scale Dy and Tb by the
    current hre_factor and keep every other oxide at its bill-of-materials content."""
    mk = next(a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb")
    keep = mk.hre_factor
    try:
        for h in (1.0, 0.5, 0.25):
            mk.hre_factor = h
            for g, bom in mk.bom.items():
                assert mk.recipe(g) == {
                    i: (v * h if i in mk.hre_goods else v) for i, v in bom.items()
                }
    finally:
        mk.hre_factor = keep


def test_investors_demand_signal_grows_at_the_outlook_total():
    # the demand signal of investment reviews (7.13) grows output at the IEA APS total for
    # magnet REE: 5.02%/yr in 2023-30, 1.63%/yr after, the historical 9.05%/yr before 2023
    # (a fixed 5%/yr for ever built a glut after 2030 in session 8)
    from abm.demand import DemandOutlook

    o = DemandOutlook()
    assert o.factor("all", 2024, 1, 12) == pytest.approx(1.0502, rel=1e-12)
    assert o.factor("all", 2031, 1, 12) == pytest.approx(1.0163, rel=1e-12)
    assert o.factor("all", 2009, 1, 12) == pytest.approx(1.0905, rel=1e-12)
    # July 2029 + 12 months: six months at each rate
    assert o.factor("all", 2029, 7, 12) == pytest.approx(1.0502**0.5 * 1.0163**0.5, rel=1e-12)
    assert DemandOutlook(scale=2.0).factor("all", 2031, 1, 12) == pytest.approx(1.0326)
    # the firms' demand signal reads it from the current month (baseline starts 2024-01):
    # 72 months ahead of January 2026: 2026-29 at 5.02%, 2030-31 at 1.63%
    m = RareEarthModel("baseline", seed=0, months=2)
    firm = next(iter(m.agents_by_type[MagnetMaker]))
    m.steps = 24  # January 2026
    assert firm.demand_growth(72) == pytest.approx(1.0502**4 * 1.0163**2, rel=1e-9)


def test_oem_buys_part_of_its_standard_grade_need_as_ht_grade_when_ht_is_cheaper(model):
    # the HT grade meets the standard specification: at expected prices HT 38 and standard
    # 42 USD/kg a share 1 - (38/42)^5 = 0.3937 of the standard-grade need is bid as HT grade
    # (armington_elasticity 5); at base-year prices (HT dearer) nothing switches
    oem = next(
        a
        for a in model.agents_by_type[OEM]
        if a.region == "CN" and {a._ht, a._std} <= a.recipe().keys()
    )
    ht, std = oem._ht, oem._std
    saved = dict(oem.exp_price)
    try:
        assert oem.grade_switch() == 0.0
        base = oem.recipe()
        assert oem.purchase_recipe() == base
        oem.exp_price[ht], oem.exp_price[std] = 38.0, 42.0
        s = 1 - (38 / 42) ** model.params.armington_elasticity
        assert oem.grade_switch() == pytest.approx(s) == pytest.approx(0.3937, abs=1e-4)
        oem.exp_price[ht] = 42.0
        assert oem.grade_switch() == 0.0
        oem.exp_price[ht] = 38.0
        got = oem.purchase_recipe()
        assert got[std] == pytest.approx(base[std] * (1 - s))
        assert got[ht] == pytest.approx(base[ht] + s * base[std])
    finally:
        oem.exp_price.clear()
        oem.exp_price.update(saved)


def test_importers_start_at_their_base_year_behaviour_in_the_2009_world():
    # the failing input of session 10: in the 2009 world delivered Dy in Japan was 1.26x the
    # reference (origin) price (25% export duty plus transport), and Japanese OEMs started
    # with a Dy-free target of about 10% at base prices. Price responses are now measured
    # against each firm's own base-year price (Firm.base_price): at base every OEM's input
    # price index is 1 and no Dy-free design, substitution or thrifting is adopted
    m = RareEarthModel("embargo-2010", seed=0, months=1)
    dy = m.catalog.index["ox_Dy"]
    jp = [
        a
        for a in m.agents_by_type[OEM]
        if a.region == "JP" and a.sector != "non_magnet" and a.magnet_goods & a.recipe0.keys()
    ]
    assert jp
    for a in jp:
        assert a.expected(dy) / m.catalog.ref_price[dy] > 1.2  # the duty-inflated price
        assert a.base_price(dy) == a.expected(dy)
        assert a.price_index() == pytest.approx(1.0)
        a._adapt()
        assert a.dy_free_share == 0.0 and a.sub_share == 0.0
        assert a.intensity == 1.0
    for mk in m.agents_by_type[MagnetMaker]:
        mk._thrift(mk._remix())
        assert mk.hre_factor == 1.0
        assert mk.hre_mult == (1.0, 1.0)


def test_world_use_in_2010_matches_the_record(shipped_runs):
    # history outside the issues' targets: world rare-earth demand peaked at 133 kt REO in
    # 2010 (Kingsnorth, IMCOA 2013; demand_outlook.csv); the model's world separation output
    # in 2010 (embargo-2010, seed 0, the shared 24-month run) was 136.6 kt when this was
    # written; the 2012 fall (110 kt, -17%) is checked on the full run in test_investment
    from abm.data import load_table

    m, _ = shipped_runs["embargo-2010"]
    ts = m.timeseries()
    ox = ts[(ts.metric == "production") & ts.good.str.startswith("ox_")]
    made = ox[ox.date.dt.year == 2010].value.sum()
    d = load_table("demand_outlook.csv")
    rec = d[(d.outlook == "imcoa_2013") & (d.year_from == 2010)].value.iloc[0]
    assert 0.9 < made / rec < 1.1


# ------------------------------------------------------------------ Marshall's rules
def _magnet_oem(model, region="CN"):
    return next(
        a
        for a in model.agents_by_type[OEM]
        if a.region == region and a.use == "civil" and a.magnet_goods & a.recipe0.keys()
    )


def test_oem_plan_moves_by_the_scale_effect_of_marshalls_rules(model):
    # Hicks 1932: the product's price rises by s (pi - 1), s the rare-earth cost share, and
    # its sales move by the product's own elasticity (-1). With the unit value set so that
    # s = 0.01 and every input at twice its base-year price (pi = 2): 1.01 ** -1 = 0.990099
    oem = _magnet_oem(model)
    saved, value = dict(oem.exp_price), oem.unit_value
    try:
        cost = sum(oem.base_price(g) * 1000.0 * v for g, v in oem.recipe0.items())
        oem.unit_value = cost / 0.01
        assert oem.ree_cost_share() == pytest.approx(0.01)
        base = oem.base_units * oem.growth()
        for g in oem.recipe0:
            oem.exp_price[g] = oem.base_price(g)
        assert oem.plan() == pytest.approx(base)
        for g in oem.recipe0:
            oem.exp_price[g] = 2.0 * oem.base_price(g)
        assert oem.price_index() == pytest.approx(2.0)
        assert oem.plan() == pytest.approx(base / 1.01) == pytest.approx(base * 0.990099)
    finally:
        oem.exp_price.clear()
        oem.exp_price.update(saved)
        oem.unit_value = value


def test_rare_earth_content_per_unit_falls_over_months_and_recovers_over_a_design_life(model):
    # partial adjustment (Nerlove 1958) towards pi ** final_demand_elasticity: at pi = 16
    # the long-run content is 16 ** -0.25 = 0.5 of the base design; one month at the
    # 6-month time constant moves 1 - exp(-1/6) = 0.15352 of the way: 1 - 0.5 x 0.15352 =
    # 0.92324. Back at base prices it rises over the 84-month design life (putty-clay):
    # from 0.5, 0.5 + 0.5 x (1 - exp(-1/84)) = 0.50592
    par = model.params
    assert (par.final_demand_elasticity, par.thrifting_adjustment_months) == (-0.25, 6.0)
    assert par.design_life_months == 84.0
    oem = _magnet_oem(model)
    saved = (dict(oem.exp_price), oem.intensity, oem.sub_share, oem.dy_free_share)
    try:
        r0 = oem.recipe()
        for g in oem.recipe0:
            oem.exp_price[g] = 16.0 * oem.base_price(g)
        oem._adapt()
        assert oem.intensity == pytest.approx(1 - 0.5 * (1 - math.exp(-1 / 6)))
        assert oem.intensity == pytest.approx(0.92324, abs=1e-5)
        oem.intensity, oem.sub_share, oem.dy_free_share = 0.5, 0.0, 0.0
        assert oem.recipe() == pytest.approx({g: 0.5 * v for g, v in r0.items()})
        for g in oem.recipe0:
            oem.exp_price[g] = oem.base_price(g)
        oem._adapt()
        assert oem.intensity == pytest.approx(0.50592, abs=1e-5)
    finally:
        oem.exp_price.clear()
        oem.exp_price.update(saved[0])
        oem.intensity, oem.sub_share, oem.dy_free_share = saved[1:]


def test_named_technologies_and_thrifting_compose_one_long_run_response(model):
    # Hicks-Allen: one elasticity for every route out of rare earths. With a fifth of the
    # NdFeB moved to substitutes (sub_share 0.2) the named technologies leave a share d of
    # the base-year input (a quantity index at base-year prices, by hand below); at pi = 16
    # the long-run use is 16 ** -0.25 = 0.5, so thrifting aims at 0.5 / d and one month at
    # the 6-month time constant moves 1 - exp(-1/6) of the way there
    par = model.params
    oem = _magnet_oem(model)
    cat = model.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    ce, la = cat.index["ox_Ce"], cat.index["ox_La"]
    p = oem.base_price
    r0 = oem.recipe0
    n_std, n_ht = r0.get(std, 0.0), r0.get(ht, 0.0)
    assert n_std + n_ht > 0
    saved = (dict(oem.exp_price), oem.intensity, oem.sub_share, oem.dy_free_share)
    try:
        oem.sub_share, oem.dy_free_share = 0.2, 0.0
        x, c = par.ce_nd_replacement, par.ce_la_ratio
        base = sum(v * p(g) for g, v in r0.items())
        ce_mag = 0.2 * (n_std + n_ht) * par.ce_magnet_share
        after = (
            base
            - 0.2 * (n_std * p(std) + n_ht * p(ht))
            + ce_mag * (1 - x) * p(std)
            + ce_mag * x * 0.30 * (c * p(ce) + (1 - c) * p(la))
        )
        d = after / base
        assert oem.design_share() == pytest.approx(d)
        assert 0.5 < d < 1.0
        for g in r0:
            oem.exp_price[g] = 16.0 * p(g)
        oem._adapt()
        k = 1 - math.exp(-1 / par.thrifting_adjustment_months)
        assert oem.intensity == pytest.approx(1 + (0.5 / d - 1) * k)
        # substitutes that already remove more than the long-run response (at the largest
        # validated share, 0.8, d is below L = 0.5): no thrifting on top, and no content
        # added to the other units either
        oem.intensity, oem.sub_share = 1.0, 0.8
        assert oem.design_share() < 0.5
        oem._adapt()
        assert oem.intensity == 1.0
        # a Dy-free design moves use between rare earths (1.2 kg of standard grade for a kg
        # of high-temperature grade costs a little more at base-year prices): it leaves the
        # whole input, d = 1, and the content aims at L itself
        oem.sub_share, oem.dy_free_share = 0.0, 1.0
        assert n_ht > 0 and 1.2 * p(std) > p(ht)
        assert oem.design_share() == 1.0
        for g in r0:
            oem.exp_price[g] = 16.0 * p(g)
        oem._adapt()
        assert oem.intensity == pytest.approx(1 + (0.5 - 1) * k)
        # below the base-year cost the named technologies unwind on their own and the
        # content follows pi ** elasticity, 0.5 ** -0.25 = 1.18921, over the design life
        # (L / d = 1.18921 / d would be higher)
        oem.intensity, oem.sub_share, oem.dy_free_share = 1.0, 0.2, 0.0
        for g in r0:
            oem.exp_price[g] = 0.5 * p(g)
        oem._adapt()
        k_up = 1 - math.exp(-1 / par.design_life_months)
        assert oem.intensity == pytest.approx(1 + (0.5**-0.25 - 1) * k_up)
    finally:
        oem.exp_price.clear()
        oem.exp_price.update(saved[0])
        oem.intensity, oem.sub_share, oem.dy_free_share = saved[1:]


def test_defense_platforms_keep_their_magnet_content(model):
    from agents.defense import DefenseContractor

    d = next(iter(model.agents_by_type[DefenseContractor]))
    saved = dict(d.exp_price)
    try:
        for g in d.recipe0:
            d.exp_price[g] = 16.0 * d.base_price(g)
        d._adapt()
        assert d.intensity == 1.0
        assert d.plan() == d.base_units
    finally:
        d.exp_price.clear()
        d.exp_price.update(saved)


def test_thrifted_content_counts_as_demand_removed(model):
    from agents import NonMagnetUser
    from experiments.reproduce.series import demand_removed_share

    oems = [
        a
        for cls, grp in model.agents_by_type.items()
        if issubclass(cls, OEM) and not issubclass(cls, NonMagnetUser)
        for a in grp
    ]
    saved = [(a.intensity, a.plan_units) for a in oems]
    try:
        for a in oems:
            a.plan_units = max(a.plan_units, 1.0)
        before = demand_removed_share(model)
        for a in oems:
            a.intensity *= 0.8
        assert demand_removed_share(model) == pytest.approx(1 - 0.8 * (1 - before))
    finally:
        for a, (x, u) in zip(oems, saved, strict=True):
            a.intensity, a.plan_units = x, u


def test_a_unit_value_below_its_rare_earth_cost_is_refused(model):
    oem = _magnet_oem(model)
    value = oem.unit_value
    try:
        cost = sum(oem.base_price(g) * 1000.0 * v for g, v in oem.recipe0.items())
        oem.unit_value = 0.5 * cost
        with pytest.raises(DataError) as err:
            oem.set_base_prices(dict(oem.base_exp))
        assert str(err.value) == (
            f"sectors.csv, sector {oem.sector!r} ({oem.region}), column unit_value_usd: "
            f"{0.5 * cost:g} USD is not above the base-year cost of the unit's rare-earth "
            f"inputs ({cost:,.0f} USD); allowed: more than that"
        )
    finally:
        oem.unit_value = value


def test_recorded_activity_paths_do_not_depend_on_the_blas_thread_count():
    """Regression (session 31): the Denton benchmarking of ``end_use_activity.csv`` is a
    LAPACK solve; on two BLAS threads it rounded some months one ulp away from the
    one-thread solve, so a seed run alone differed from the same seed in a Dask worker.
    Each path must be bit-identical whatever the thread count outside."""
    from threadpoolctl import threadpool_limits

    from abm.demand import DemandOutlook

    paths = {}
    for n in (1, 2, 4):
        with threadpool_limits(limits=n, user_api="blas"):
            o = DemandOutlook()
            paths[n] = {s: o.monthly(s).copy() for s in o.activity}
    assert paths[1].keys() == paths[2].keys() and len(paths[1]) >= 4
    for n in (2, 4):
        for s, p in paths[1].items():
            assert np.array_equal(p, paths[n][s]), (n, s)


def test_embargo_run_does_not_depend_on_the_blas_thread_count():
    """End to end: ``embargo-2010`` (seed 0, to December 2010) gives the same prices on one
    and on two BLAS threads; before session 31's fix the runs parted from July 2010."""
    from threadpoolctl import threadpool_limits

    from abm.model import RareEarthModel

    prices = []
    for n in (2, 1):
        with threadpool_limits(limits=n, user_api="blas"):
            m = RareEarthModel("embargo-2010", seed=0, months=24).run()
        ts = m.timeseries()
        prices.append(ts[ts.metric == "price"].value.to_numpy())
    assert len(prices[0]) > 0
    assert np.array_equal(prices[0], prices[1])
