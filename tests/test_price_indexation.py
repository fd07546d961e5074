"""Hand checks of the session-6 price rules (docs/ODD.md 7.2, 7.6): the indexed reference of
magnet makers and miners, the normal price that asks and storage values use, and the
separators' cash-breakeven cut."""

import math

import numpy as np
import pytest

from abm.goods import ox
from abm.market import OrderBook
from abm.model import RareEarthModel
from agents import MagnetMaker, Miner, Refiner


@pytest.fixture(scope="module")
def model():
    return RareEarthModel("baseline", seed=0, months=1)


def _at_reference(firm, goods):
    cat = firm.model.catalog
    for g in goods:
        firm.exp_price[g] = float(cat.ref_price[g])


def test_magnet_indexed_price_is_the_reference_at_reference_inputs_and_passes_costs_through(model):
    a = next(a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb")
    cat = model.catalog
    g = cat.index["mag_ndfeb_std"]
    recipe = a.bom[g]
    a.hre_factor = 1.0
    _at_reference(a, recipe)
    # the base-year markup makes the indexed price the grade's reference price
    assert a.indexed_price(g) == pytest.approx(float(cat.ref_price[g]), rel=1e-12)
    # +10 USD/kg on Nd oxide passes through at markup x kg of Nd oxide per kg of magnet
    nd = cat.index["ox_Nd"]
    base = sum(v * cat.ref_price[i] for i, v in recipe.items()) + a.unit_cost
    markup = cat.ref_price[g] / base
    a.exp_price[nd] += 10.0
    assert a.indexed_price(g) == pytest.approx(
        float(cat.ref_price[g] + markup * recipe[nd] * 10), rel=1e-12
    )


def test_miner_netback_is_the_reference_at_reference_oxides_and_follows_the_basket(model):
    a = next(a for a in model.agents_by_type[Miner] if a.region == "CN")
    cat, par = model.catalog, model.params
    oxides = [cat.index[ox(e)] for e in model.elements]
    _at_reference(a, oxides)
    ref = float(cat.ref_price[a.good])
    assert a.indexed_price(a.good) == pytest.approx(ref, rel=1e-12)
    # doubling every oxide price: payable x (2 x basket x recovery - toll)
    basket = sum(c * cat.ref_price[i] for i, c in a.oxide_content) * par.separation_recovery
    for i in oxides:
        a.exp_price[i] *= 2.0
    want = ref / (basket - a._toll) * (2 * basket - a._toll)
    assert a.indexed_price(a.good) == pytest.approx(want, rel=1e-12)
    assert a.indexed_price(a.good + 1) is None  # only its own concentrate


def test_asks_and_storage_value_use_the_normal_price(model):
    # stock at target cover (coverage effect 1) and an indexed reference at half the expected
    # price: with price_indexation 0.5 the normal price is 0.75 p_hat; tranche k is asked at
    # max(0.75 p_hat x (1 - spread x ladder_k), 0.75 p_hat x exp(-carry x k x (S/4) / rate))
    a = next(a for a in model.agents_by_type[Miner] if a.region == "CN")
    par = model.params
    g = a.good
    p_hat = 10.0
    a.exp_price[g] = p_hat
    a.sales_ema[g] = 100.0
    a.output_month[g] = 100.0
    a.stock(g).qty = 100.0 * par.sell_cover_months
    a.indexed_price = lambda good: 0.5 * p_hat  # instance override for the check
    try:
        book = OrderBook(model.G, model.R)
        a.offer_stock(book, g, par.sell_cover_months)
    finally:
        del a.indexed_price
    asks = [o[4] for o in book.offers]
    normal = p_hat * (1 + par.price_indexation * (0.5 - 1))
    assert normal == pytest.approx(7.5)
    k = par.carrying_cost_per_month * 25.0 / 100.0
    ladder = (1.0, 2 / 3, 1 / 3, 1 / 9)
    want = [
        max(normal * (1 - par.ask_spread * x), normal * math.exp(-k * (i + 1)))
        for i, x in enumerate(ladder)
    ]
    assert asks == pytest.approx(want, rel=1e-12)
    assert max(asks) < p_hat  # the expectation no longer pins asks


def test_separators_cut_runs_only_below_cash_breakeven(model):
    r = next(r for r in model.agents_by_type[Refiner] if r.region == "CN")
    oxide = r.expected_oxides()
    ratio = r.value_ratio_mix(oxide)
    assert ratio > 1.0  # earns a margin at base-year prices
    full = r.planned_throughput(oxide)
    # make the feed dearer until the feed-weighted value ratio is 0.5: runs halve
    for g in r.feed_goods:
        r.exp_price[g] = r.expected(g) * ratio / 0.5
    assert r.value_ratio_mix(oxide) == pytest.approx(0.5, rel=1e-9)
    cut = model.params.separation_margin_cutoff
    assert r.planned_throughput(oxide) == pytest.approx(full * 0.5 / cut, rel=1e-9)
    assert np.isfinite(full) and full > 0


def _balance(model, g, output, use, stock, top=1000.0):
    """Set the world balance of good ``g`` (t/month, t/month, t) and its choke price (USD/kg) on
    copies of the arrays."""
    for name, v in (
        ("world_output", output),
        ("world_use", use),
        ("world_stock", stock),
        ("choke_price", top),
    ):
        arr = np.zeros(model.G) if getattr(model, name) is None else getattr(model, name).copy()
        arr[g] = v
        setattr(model, name, arr)


def test_shortage_value_by_hand(model):
    a = next(a for a in model.agents_by_type[Miner] if a.region == "CN")
    g, par = a.good, model.params
    saved = (model.world_output, model.world_use, model.world_stock, model.choke_price)
    try:
        # use 10% above output, 1,000 t in stock: it lasts 1,000 / 10 = 100 months, then the
        # price must cut use by a tenth: 1.1 ** (1 / 0.25) = 1.4641 at elasticity -0.25,
        # discounted by exp(-0.01 x 100) = 0.3679 at 1%/month
        _balance(model, g, 100.0, 110.0, 1000.0)
        want = 20.0 * 1.1 ** (-1.0 / par.final_demand_elasticity)
        want *= math.exp(-par.carrying_cost_per_month * 100.0)
        assert a.shortage_value(g, 20.0) == pytest.approx(want, rel=1e-12)
        if par.final_demand_elasticity == -0.25 and par.carrying_cost_per_month == 0.01:
            assert a.shortage_value(g, 20.0) == pytest.approx(20.0 * 1.4641 * 0.36788, rel=1e-4)
        # a deficit that is near: 100 t in stock lasts 10 months, discounted 90 months less
        _balance(model, g, 100.0, 110.0, 100.0)
        assert a.shortage_value(g, 20.0) == pytest.approx(
            want * math.exp(par.carrying_cost_per_month * 90.0), rel=1e-12
        )
        # no deficit: no shortage value
        _balance(model, g, 110.0, 110.0, 100.0)
        assert a.shortage_value(g, 20.0) == 0.0
        # no one values it above 25 USD/kg: the rationing price (29.3) stops there
        _balance(model, g, 100.0, 110.0, 1000.0, top=25.0)
        assert a.shortage_value(g, 20.0) == pytest.approx(
            25.0 * math.exp(-par.carrying_cost_per_month * 100.0), rel=1e-12
        )
        # nothing produced: the stock is all there is, held for the choke price (no overflow)
        _balance(model, g, 0.0, 110.0, 110.0, top=300.0)
        assert a.shortage_value(g, 20.0) == pytest.approx(
            300.0 * math.exp(-par.carrying_cost_per_month), rel=1e-12
        )
        # a choke price below the normal price does not pull the value under it
        _balance(model, g, 1e-300, 110.0, 110.0, top=5.0)
        assert a.shortage_value(g, 20.0) == pytest.approx(
            20.0 * math.exp(-par.carrying_cost_per_month), rel=1e-12
        )
    finally:
        model.world_output, model.world_use, model.world_stock, model.choke_price = saved


def test_asks_hold_stock_for_a_foreseen_shortage(model):
    # the same seller as test_asks_and_storage_value_use_the_normal_price, no indexation:
    # a deficit of a fifth with a month of world stock makes every tranche's ask the
    # shortage value, far above its coverage ask
    a = next(a for a in model.agents_by_type[Miner] if a.region == "CN")
    par = model.params
    g = a.good
    a.exp_price[g] = 10.0
    a.sales_ema[g] = 100.0
    a.output_month[g] = 100.0
    a.stock(g).qty = 100.0 * par.sell_cover_months
    saved = (model.world_output, model.world_use, model.world_stock, model.choke_price)
    a.indexed_price = lambda good: None
    try:
        _balance(model, g, 100.0, 120.0, 20.0)
        hold = a.shortage_value(g, 10.0)
        assert hold == pytest.approx(
            10.0
            * 1.2 ** (-1.0 / par.final_demand_elasticity)
            * math.exp(-par.carrying_cost_per_month)
        )
        book = OrderBook(model.G, model.R)
        a.offer_stock(book, g, par.sell_cover_months)
        assert [o[4] for o in book.offers] == pytest.approx([hold] * 4, rel=1e-12)
        assert hold > 10.0
    finally:
        del a.indexed_price
        model.world_output, model.world_use, model.world_stock, model.choke_price = saved


def test_world_balance_follows_the_mass_ledger():
    m = RareEarthModel("baseline", seed=0, months=2)
    m.step()
    produced, consumed = m.produced.copy(), m.consumed.copy()
    assert (m.world_output == produced).all() and (m.world_use == consumed).all()
    m.step()
    w = m.params.sales_smoothing
    assert m.world_output == pytest.approx(w * (m.produced - produced) + (1 - w) * produced)
    assert m.world_use == pytest.approx(w * (m.consumed - consumed) + (1 - w) * consumed)
    assert m.world_stock == pytest.approx(m.total_stock())


def test_a_world_wide_mine_halt_runs_with_finite_prices():
    """A user's scenario that halts every mine in the world for six months (session 18's
    new-user run: the supply news and shortage value then met no supply at all and sent
    forecasts to 1e64 and the solver to an error). Both rules stop at the choke price of the
    demand."""
    from abm.scenario import load_scenario

    sc = load_scenario("baseline")
    data = sc.model_dump()
    m0 = RareEarthModel(sc, seed=0, months=1)
    regions = sorted({a.region for a in m0.agents_by_type[Miner]})
    halts = [
        {
            "kind": "production_halt",
            "date": "2024-03",
            "end": "2024-09",
            "actor": r,
            "share": 1.0,
            "source": "test",
        }
        for r in regions
    ]
    data.update(end="2025-06", measures=list(data["measures"]) + halts)
    m = RareEarthModel(type(sc).model_validate(data), seed=0, months=10)
    for _ in range(10):
        m.step()
        assert np.isfinite(m.observed_price).all() and np.isfinite(m.origin_price).all()
    dy = m.catalog.index["ox_Dy"]
    assert (m.policy.supply_news[:] >= 0).all() and m.choke_price[dy] > 0
    assert m.origin_price[dy, m.region_index["CN"]] < 1e6


def test_bids_note_the_choke_price_of_demand(model):
    # each buyer's derived-demand value is noted; the book keeps the highest per good
    book = OrderBook(model.G, model.R)
    for v in (10.0, 12.0, 5.0):
        book.note_value(3, v)
    assert book.top_value == {3: 12.0}
    a = next(a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb")
    g = model.catalog.index["ox_Dy"]
    book = OrderBook(model.G, model.R)
    a.bid_for(book, g, 1.0, 1.0, 777.0)
    assert book.top_value[g] == 777.0
    a.bid_for(book, g, 0.0, 1.0, 999.0)  # no use planned: no bid, no value
    assert book.top_value[g] == 777.0
