"""Export evasion (smuggling with legal trade as cover) in the spot market (abm.market).

Hand-checkable cases on one good, a seller region 0 (linear supply 10..30 USD/kg in 1 t
offers) and a buyer region 1 (demand 40..20 USD/kg), transport 1 USD/kg, reference origin
price 20 USD/kg.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.market import ArcTerms, OrderBook, clear
from abm.scenario import apply_overrides, load_scenario
from tests.conftest import random_three_region_book

REF = np.array([[20.0, 20.0]])


def _two_region(duty=0.0, quota=None, steps=((0.4, 0.05),), evadable=True):
    book = OrderBook(1, 2)
    for k in range(200):
        book.offer("s", 0, 0, 1.0, 10 + 0.1 * k, 1.0, 1.0)
        book.bid("b", 0, 1, 1.0, 40 - 0.1 * k)
    adv = np.zeros((1, 2, 2))
    adv[0, 0, 1] = duty
    terms = ArcTerms(
        np.array([[[0.0, 1.0], [1.0, 0.0]]]),
        adv,
        np.full((1, 2, 2, 2), np.inf),
        quotas=[] if quota is None else [([0], 0, float(quota))],
        export_duty=np.array([[duty, 0.0]]),
        evadable=np.array([[evadable, False]]),
        evasion=tuple(steps),
    )
    return book, terms


def _recorded(r):
    return float((r.flows - r.smuggled)[0, 0, 1].sum())


def test_binding_quota_is_evaded_up_to_the_cover_ratio():
    # quota 50 t; one evasion step, 0.4 t per recorded t at 5% of the reference price
    # (1 USD/kg): 20 t leave unrecorded, so 70 t cross: the 70th offer asks 16.9, the 70th
    # bid pays 33.1 USD/kg. A smuggled tonne earns 33.1 - 16.9 - 1 (transport) - 1 (evasion)
    # = 14.2 USD/kg of rent; a recorded tonne earns its gap (15.2) plus the cover it gives
    # (0.4 x 14.2): the licence is worth 20.9 USD/kg (Pitt 1981: legal trade as cover)
    r = clear(*_two_region(quota=50), REF, max_steps=400)
    assert _recorded(r) == pytest.approx(50.0, abs=1e-6)
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(20.0, abs=1e-6)
    assert r.flows[0, 0, 1].sum() == pytest.approx(70.0, abs=1e-6)
    assert r.origin_price[0, 0] == pytest.approx(16.9, abs=0.15)
    assert r.price[0, 1, 0] == pytest.approx(33.1, abs=0.15)
    assert r.licence_price[0, 0] == pytest.approx(15.2 + 0.4 * 14.2, abs=0.3)
    # everything sold is bought, smuggled tonnes included
    assert r.offer_fill.sum() == pytest.approx(70.0, abs=1e-6)
    assert r.bid_fill.sum() == pytest.approx(70.0, abs=1e-6)


def test_without_evasion_steps_the_quota_binds_as_before():
    with_ev = clear(*_two_region(quota=50, steps=()), REF, max_steps=400)
    assert with_ev.smuggled is None
    assert with_ev.flows[0, 0, 1].sum() == pytest.approx(50.0, abs=1e-6)


def test_recorded_exports_outside_the_spot_market_give_cover_too():
    # a 25% duty and a 5% evasion cost: smuggling is cheaper than recorded trade, so the
    # cover binds; 100 t of recorded exports delivered on contract this month (outside the
    # spot LP) add 40 t of cover to 0.4 x the recorded spot exports
    book, terms = _two_region(duty=0.25)
    terms.covered = np.array([[100.0, 0.0]])
    r = clear(book, terms, REF, max_steps=400)
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(0.4 * (_recorded(r) + 100.0), rel=1e-6)


def test_smuggled_tonnes_count_against_the_importers_quota():
    # the exporter's quota (50 t) and cover (0.4) would let 70 t cross; the importer's quota
    # of 60 t counts smuggled tonnes too (its customs record them): 60 t cross, of which the
    # recorded part is at most 50 and the smuggled at most 0.4 x the recorded
    book, terms = _two_region(quota=50)
    terms.import_quotas = [([0], 1, 60.0)]
    r = clear(book, terms, REF, max_steps=400)
    assert r.flows[0, 0, 1].sum() == pytest.approx(60.0, abs=1e-6)
    assert _recorded(r) <= 50.0 + 1e-6
    assert r.smuggled[0, 0, 1].sum() <= 0.4 * _recorded(r) + 1e-6


def test_a_duty_above_the_evasion_cost_is_evaded_and_one_below_it_is_not():
    # duty 25% (5 USD/kg on the 20 USD/kg reference) against an evasion cost of 5% (1):
    # smuggling saves 4 USD/kg, so 0.4 t leaves unrecorded per recorded t
    r = clear(*_two_region(duty=0.25), REF, max_steps=400)
    rec = _recorded(r)
    assert rec > 50
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(0.4 * rec, rel=1e-6)
    # export duty collected on recorded tonnes only: the seller's price is the same for
    # both, so more crosses than under the duty alone
    duty_only = clear(*_two_region(duty=0.25, steps=()), REF, max_steps=400)
    assert r.flows[0, 0, 1].sum() > duty_only.flows[0, 0, 1].sum() + 5
    # an evasion cost of 30% (6 USD/kg) exceeds the duty: nothing is smuggled
    r = clear(*_two_region(duty=0.25, steps=((0.4, 0.3),)), REF, max_steps=400)
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(0.0, abs=1e-9)
    assert r.flows[0, 0, 1].sum() == pytest.approx(duty_only.flows[0, 0, 1].sum(), abs=1e-6)


def test_the_dearer_step_opens_only_when_the_rent_covers_its_cost():
    # steps (0.36 at 5%, 0.84 at 30% = 6 USD/kg). A quota of 50 t: the rent on a smuggled
    # tonne (about 12 USD/kg) covers both steps, so 1.2 t leave per recorded t
    r = clear(*_two_region(quota=50, steps=((0.36, 0.05), (0.84, 0.3))), REF, max_steps=400)
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(1.2 * 50, abs=1e-6)
    # a 25% duty alone (5 USD/kg saved) pays for the first step only
    r = clear(*_two_region(duty=0.25, steps=((0.36, 0.05), (0.84, 0.3))), REF, max_steps=400)
    assert r.smuggled[0, 0, 1].sum() == pytest.approx(0.36 * _recorded(r), rel=1e-6)


def test_closed_arcs_and_cells_not_evadable_carry_no_smuggling():
    book, terms = _two_region(quota=50)
    terms.cap[0, 0, 1, :] = 0.0  # an embargo: no recorded trade to cover smuggling
    r = clear(book, terms, REF, max_steps=400)
    assert r.flows.sum() == 0.0
    r = clear(*_two_region(quota=50, evadable=False), REF, max_steps=400)
    assert r.smuggled is None
    assert r.flows[0, 0, 1].sum() == pytest.approx(50.0, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    quota=st.floats(0.0, 300.0),
    duty=st.floats(0.0, 0.5),
    k1=st.floats(0.0, 0.6),
    k2=st.floats(0.0, 1.8),
    seed=st.integers(0, 2**31),
)
def test_evasion_invariants(quota, duty, k1, k2, seed):
    # random asks and bids in three regions, region 0 under an export quota and duty: its
    # recorded exports stay within the quota, its smuggled exports within the cover of its
    # recorded ones, nothing negative, and what is sold equals what is bought
    book = random_three_region_book(seed)
    adv = np.zeros((1, 3, 3))
    adv[0, 0, 1:] = duty
    terms = ArcTerms(
        np.ones((1, 3, 3)) - np.eye(3)[None],
        adv,
        np.full((1, 3, 3, 2), np.inf),
        quotas=[([0], 0, quota)],
        export_duty=np.array([[duty, 0.0, 0.0]]),
        evadable=np.array([[True, False, False]]),
        evasion=((k1, 0.05), (k2, 0.3)),
    )
    r = clear(book, terms, np.full((1, 3), 15.0), max_steps=400)
    sm = r.smuggled if r.smuggled is not None else np.zeros_like(r.flows)
    recorded = (r.flows - sm)[0, 0, 1:].sum()
    assert (sm >= 0).all() and (r.flows - sm >= -1e-9).all()
    assert recorded <= quota + 1e-6
    assert sm[0, 0, 1:].sum() <= (k1 + k2) * recorded + 1e-6
    assert sm[0, 1:].sum() == 0.0  # only region 0's exports are evadable
    assert r.offer_fill.sum() == pytest.approx(r.bid_fill.sum(), abs=1e-6)
    assert r.flows.sum() == pytest.approx(r.bid_fill.sum(), abs=1e-6)


def test_policy_makes_quota_and_duty_cells_evadable_only_with_evasion_steps():
    from abm.model import RareEarthModel

    m = RareEarthModel("embargo-2010", seed=0, months=1)
    m.step()
    res = m.last_clearing
    cat = m.catalog
    cn = m.region_codes.index("CN")
    nd = cat.index["ox_Nd"]
    # the 2009 quota and duties: China's oxide exports are partly unrecorded
    assert res.smuggled is not None
    assert res.smuggled[nd, cn].sum() > 0
    assert res.smuggled[:, [r for r in range(m.R) if r != cn]].sum() == 0.0
    # the smuggled share of a cell is at most the two cover ratios
    rec = (res.flows - res.smuggled)[nd, cn].sum() - (res.flows - res.smuggled)[nd, cn, cn].sum()
    par = m.params
    assert (
        res.smuggled[nd, cn].sum()
        <= (par.evasion_cover_ratio + par.evasion_cover_ratio_high) * rec + 1e-6
    )
    # the metrics record China's exports without their smuggled part
    ts = m.timeseries()
    ox = ts[(ts.metric == "china_exports") & (ts.good == "oxides")]["value"].iloc[-1]
    un = ts[(ts.metric == "china_exports_unrecorded") & (ts.good == "oxides")]["value"].iloc[-1]
    oxides = [i for i, g in enumerate(cat.goods) if g.startswith("ox_")]
    f = res.flows[oxides, cn].sum() - res.flows[oxides, cn, cn].sum()
    assert ox + un == pytest.approx(f, rel=1e-9)
    assert un == pytest.approx(res.smuggled[oxides, cn].sum(), rel=1e-9)
    # evasion switched off: no evadable cell reaches the market
    off = apply_overrides(
        load_scenario("embargo-2010"),
        {"parameters.evasion_cover_ratio": 0.0, "parameters.evasion_cover_ratio_high": 0.0},
    )
    m = RareEarthModel(off, seed=0, months=1)
    m.step()
    assert m.last_clearing.smuggled is None
