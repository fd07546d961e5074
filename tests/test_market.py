"""Hand-checkable market clearing cases (abm.market)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.market import ArcTerms, OrderBook, clear
from tests.conftest import random_three_region_book


def _two_region(tariff=0.0):
    """Seller region 0 (linear supply 10..30 USD/kg), buyer region 1 (demand 40..20)."""
    book = OrderBook(1, 2)
    for k in range(200):
        book.offer("s", 0, 0, 1.0, 10 + 0.1 * k, 1.0, 1.0)
        book.bid("b", 0, 1, 1.0, 40 - 0.1 * k)
    terms = ArcTerms(
        np.array([[[0.0, 1.0], [1.0, 0.0]]]), np.zeros((1, 2, 2)), np.full((1, 2, 2, 2), np.inf)
    )
    terms.ad_valorem[0, 0, 1] = tariff
    return book, terms


def test_free_trade_equilibrium_by_hand():
    # supply p = 10 + 0.1 q, demand p + 1 = 40 - 0.1 q  ->  q = 145, p_origin = 24.5
    book, terms = _two_region()
    r = clear(book, terms, np.array([[20.0, 20.0]]), max_steps=400)
    assert abs(r.flows[0, 0, 1, 0] - 145) <= 1
    assert abs(r.origin_price[0, 0] - 24.5) <= 0.15
    assert abs(r.price[0, 1, 0] - (r.origin_price[0, 0] + 1.0)) <= 0.15


def test_tariff_raises_landed_price_by_its_rate_and_cuts_flow():
    # with a 25% ad valorem tariff: landed = 1.25 p + 1; 1.25(10+0.1q)+1 = 40-0.1q -> q=117.8
    book, terms = _two_region(0.25)
    r = clear(book, terms, np.array([[20.0, 20.0]]), max_steps=400)
    p0, p1 = r.origin_price[0, 0], r.price[0, 1, 0]
    assert abs(p1 - (1.25 * p0 + 1.0)) <= 0.3
    assert abs(r.flows[0, 0, 1, 0] - 117.8) <= 1.5
    free = clear(*_two_region(0.0), np.array([[20.0, 20.0]]), max_steps=400)
    assert r.flows[0, 0, 1, 0] < free.flows[0, 0, 1, 0] - 20


def test_zero_capacity_arc_blocks_flow_and_allocation_conserves_mass():
    book, terms = _two_region()
    terms.cap[0, 0, 1, 0] = 0.0
    r = clear(book, terms, np.array([[20.0, 20.0]]))
    assert r.flows.sum() == 0
    book, terms = _two_region()
    terms.cap[0, 0, 1, 0] = 30.0
    r = clear(book, terms, np.array([[20.0, 20.0]]))
    assert abs(r.flows[0, 0, 1, 0] - 30) < 1e-6
    assert abs(r.offer_fill.sum() - 30) < 1e-6 and abs(r.bid_fill.sum() - 30) < 1e-6


def test_export_quota_caps_total_exports():
    book, terms = _two_region()
    terms.quotas = [([0], 0, 50.0)]
    r = clear(book, terms, np.array([[20.0, 20.0]]))
    assert abs(r.flows[0, 0, 1, 0] - 50) < 1e-6


def test_export_quota_licence_price_is_the_gap_between_landed_value_and_origin_price():
    # 50 t may leave region 0: the 50th offer asks 10 + 0.1 x 49 = 14.9 USD/kg and the 50th
    # bid pays 40 - 0.1 x 49 = 35.1, so the licence for a tonne is worth 35 - 15 - 1 (transport)
    # = 19 USD/kg (the quota's shadow price, within a step of the book); the exporter holds
    # it, so the seller realises the origin price plus the licence price, while the price
    # received for the good (what sellers' expectations read) is the origin price
    book, terms = _two_region()
    terms.quotas = [([0], 0, 50.0)]
    r = clear(book, terms, np.array([[20.0, 20.0]]), max_steps=400)
    assert r.licence_price[0, 0] == pytest.approx(19.0, abs=0.25)
    assert r.licence_price[0, 1] == 0.0
    assert r.price[0, 1, 0] == pytest.approx(
        r.origin_price[0, 0] + 1.0 + r.licence_price[0, 0], abs=1e-6
    )
    assert r.received_price[0, 0] == pytest.approx(r.origin_price[0, 0], abs=1e-6)
    assert np.nanmax(r.offer_price) == pytest.approx(r.price[0, 1, 0] - 1.0, abs=1e-6)
    # a quota that does not bind has no licence price and changes nothing
    book, terms = _two_region()
    terms.quotas = [([0], 0, 500.0)]
    loose = clear(book, terms, np.array([[20.0, 20.0]]), max_steps=400)
    free = clear(*_two_region(), np.array([[20.0, 20.0]]), max_steps=400)
    assert loose.licence_price[0, 0] == 0.0
    assert loose.received_price[0, 0] == free.received_price[0, 0]


def test_import_quota_caps_imports_from_all_origins_not_domestic_supply():
    # sellers in regions 0 and 2 (asks 10..30 USD/kg), buyer region 1 (bids 40 - 0.1 k) and
    # a domestic seller in region 1 (20 t at 30 USD/kg). Region 1's import quota of 50 t
    # binds on the sum over both origins; the domestic seller fills the next 20 bids
    # (35.0..33.1 USD/kg > 30), untouched by the quota.
    book = OrderBook(1, 3)
    for k in range(200):
        book.offer("s0", 0, 0, 1.0, 10 + 0.1 * k, 1.0, 1.0)
        book.offer("s2", 0, 2, 1.0, 10 + 0.1 * k, 0.0, 0.0)
        book.bid("b", 0, 1, 1.0, 40 - 0.1 * k)
    book.offer("d1", 0, 1, 20.0, 30.0, 0.0, 0.0)
    transport = np.ones((1, 3, 3)) - np.eye(3)[None]
    terms = ArcTerms(
        transport,
        np.zeros((1, 3, 3)),
        np.full((1, 3, 3, 2), np.inf),
        import_quotas=[([0], 1, 50.0)],
    )
    r = clear(book, terms, np.zeros((1, 3)), max_steps=400)
    f = r.flows[0, :, 1, 0]
    assert f[0] + f[2] == pytest.approx(50.0, abs=1e-6)
    assert f[1] == pytest.approx(20.0, abs=1e-6)
    free = clear(
        book,
        ArcTerms(transport, np.zeros((1, 3, 3)), np.full((1, 3, 3, 2), np.inf)),
        np.zeros((1, 3)),
        max_steps=400,
    )
    assert free.flows[0, [0, 2], 1, 0].sum() > 100


@settings(max_examples=25, deadline=None)
@given(quota=st.floats(0.0, 300.0), seed=st.integers(0, 2**31))
def test_import_quota_invariants(quota, seed):
    # random asks and bids in three regions: region 1's imports of the good from both other
    # regions never exceed its import quota, and what is sold equals what is bought
    book = random_three_region_book(seed)
    transport = np.ones((1, 3, 3)) - np.eye(3)[None]
    terms = ArcTerms(
        transport,
        np.zeros((1, 3, 3)),
        np.full((1, 3, 3, 2), np.inf),
        import_quotas=[([0], 1, quota)],
    )
    r = clear(book, terms, np.zeros((1, 3)), max_steps=400)
    f = r.flows[0, :, :, :].sum(axis=2)
    assert f[0, 1] + f[2, 1] <= quota + 1e-6
    assert r.offer_fill.sum() == pytest.approx(f.sum(), abs=1e-6)
    assert r.bid_fill.sum() == pytest.approx(f.sum(), abs=1e-6)


# ------------------------------------------------------------------ order book bookkeeping
def test_demand_posts_what_end_use_nomination_and_tranches_post():
    """OrderBook.demand (one call per buyer and good) leaves the book exactly as
    declare_end_use + nominate + bid_tranches do: same end use, nomination, bid rows, owners
    and bid array; tranches at a price <= 0 are dropped, and a tranche size <= 1e-9 t posts
    the end use and the nomination but no bid."""
    one, three = OrderBook(2, 3), OrderBook(2, 3)
    prices = [40.0, 35.5, 0.0, 20.25]
    for book in (one, three):
        book.offer("s", 1, 0, 5.0, 10.0, 0.5, 1.0)
    one.demand("b", 1, 2, 3.0, 2.4, 1.5, prices, "defense")
    one.demand("c", 0, 1, 2.0, 1.6, 1e-10, [9.0] * 4)
    three.declare_end_use(1, 2, 3.0, "defense")
    nom = three.nominate(1, 2, 2.4, "defense")
    three.bid_tranches("b", 1, 2, 1.5, prices, "defense", nom)
    three.declare_end_use(0, 1, 2.0)
    three.nominate(0, 1, 1.6)
    assert one.end_use == three.end_use == {(1, 2, 1): 3.0, (0, 1, 0): 2.0}
    assert one.nominations == three.nominations == [(1, 2, 1, 2.4), (0, 1, 0, 1.6)]
    assert one.bids == three.bids == [("b", 1, 2, 1, 1.5, p, 0) for p in (40.0, 35.5, 20.25)]
    assert one.owners == three.owners and one.bid_owner == three.bid_owner == [1, 1, 1]
    assert np.array_equal(one.bid_array(), three.bid_array())
    assert one.bid_array()[:, 4].tolist() == [40.0, 35.5, 20.25]


def test_order_arrays_match_the_order_rows():
    """offer_array and bid_array (built from the flat float columns kept with each order)
    equal the rows' columns after the agent, for every way of posting an order, and are
    rebuilt from the rows if a row is appended directly."""
    book = OrderBook(3, 2)
    book.offer("s", 2, 1, 4.0, 11.0, np.float64(0.25), 1.0)
    book.offer_tranches("t", 0, 0, 2.0, [9.0, np.float64(9.5)], 0.0, 0.5)
    book.bid("b", 1, 0, 3.0, 30.0, "defense")
    book.bid_tranches("b", 2, 1, [1.0, 2.0], [25.0, 24.0])
    book.demand("c", 0, 1, 1.0, 0.8, 0.5, [12.0, 11.0])
    assert book.offer_array().tolist() == [list(map(float, o[1:])) for o in book.offers]
    assert book.bid_array().tolist() == [list(map(float, b[1:])) for b in book.bids]
    assert book.offer_array().shape == (3, 6) and book.bid_array().shape == (5, 6)
    book.bids.append(("d", 1, 1, 0, 7.0, 8.0, -1))
    assert book.bid_array()[-1].tolist() == [1.0, 1.0, 0.0, 7.0, 8.0, -1.0]
