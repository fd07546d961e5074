"""Hand-checkable market clearing cases (abm.market)."""

import numpy as np

from abm.market import ArcTerms, OrderBook, clear


def _two_region(tariff=0.0):
    """Seller region 0 (linear supply 10..30 USD/kg), buyer region 1 (demand 40..20)."""
    book = OrderBook(1, 2)
    for k in range(200):
        book.offer("s", 0, 0, 1.0, 10 + 0.1 * k, 1.0, 1.0)
        book.bid("b", 0, 1, 1.0, 40 - 0.1 * k)
    terms = ArcTerms(np.array([[[0.0, 1.0], [1.0, 0.0]]]), np.zeros((1, 2, 2)),
                     np.full((1, 2, 2, 2), np.inf))
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
