"""Hand checks of the session-8 derived-demand rules (docs/ODD.md 7.6, 7.7): input values at
the forward sale price, and scarce common inputs going to the grade with the higher margin."""

import math

import numpy as np
import pytest

from abm.market import OrderBook
from abm.model import RareEarthModel
from abm.timeline import WEEKS_PER_MONTH
from agents import MagnetMaker, Refiner


@pytest.fixture()
def model():
    return RareEarthModel("baseline", seed=0, months=1)


def _ndfeb_maker(model):
    return next(
        a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb" and a.region == "CN"
    )


def test_forward_price_carries_the_expected_price_towards_the_anchor_over_the_holding_horizon(
    model,
):
    a = _ndfeb_maker(model)
    par = model.params
    g = model.catalog.index["mag_ndfeb_ht"]
    a.exp_price[g], a.anchor_price[g] = 300.0, 30.0
    h = par.inventory_target_weeks / WEEKS_PER_MONTH + par.sell_cover_months
    want = 30.0 + 270.0 * math.exp(-h / par.price_reversion_months)
    assert a.forward_sale_price(g) == pytest.approx(want, rel=1e-12)
    # at the defaults (8 weeks, 1 month, 8 months) about 70% of the gap remains:
    # exp(-2.84 / 8) = 0.701
    assert want == pytest.approx(30.0 + 270.0 * 0.7011, rel=1e-3)
    # no gap, no change
    a.exp_price[g] = 30.0
    assert a.forward_sale_price(g) == 30.0


def test_input_value_follows_the_forward_magnet_price_not_the_anchor(model):
    a = _ndfeb_maker(model)
    cat = model.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    nd = cat.index["ox_Nd"]
    for g in (std, ht):
        a.anchor_price[g] = float(cat.ref_price[g])
        a.exp_price[g] = float(cat.ref_price[g])
    before = a.input_value(nd)
    # magnets expected at 5x reference now, anchor unchanged: Nd is worth more
    for g in (std, ht):
        a.exp_price[g] = 5.0 * float(cat.ref_price[g])
    after = a.input_value(nd)
    recipes = a.recipes()
    costs = a.input_costs(recipes)
    want = max(
        (a.forward_sale_price(g) - a.unit_cost - sum(c for i, c in costs[g] if i != nd))
        / recipes[g][nd]
        for g in (std, ht)
        if recipes[g].get(nd, 0) > 0
    )
    assert after == pytest.approx(want, rel=1e-12)
    assert after > before + 3.0 * float(cat.ref_price[std]) / recipes[std][nd]


def test_refiner_feed_bids_use_forward_oxide_prices(model):
    """A refiner bids for each feed at its basket value at the oxides' forward prices: with
    Nd and Pr expected at twice their anchor, every feed bid rises to that value."""
    r = next(a for a in model.agents_by_type[Refiner] if a.region == "CN")
    cat = model.catalog
    for e in ("Nd", "Pr"):
        og = cat.index[f"ox_{e}"]
        r.exp_price[og] = 2.0 * r.anchor(og)
    fw = np.array([r.forward_sale_price(og) for og in r.oxide_goods])
    assert (fw >= r.longrun_oxides()).all() and (fw > r.longrun_oxides()).any()
    want = dict(zip(r.feed_goods, r.feed_values(fw)[0], strict=True))
    longrun = dict(zip(r.feed_goods, r.feed_values(r.longrun_oxides())[0], strict=True))
    posted = {}
    r.bid_for = lambda book, g, rate, cover, value, use="civil": posted.__setitem__(g, value)
    r.post_orders(OrderBook(len(cat.goods), len(model.region_names)))
    assert posted, "no feed bid posted"
    for g, value in posted.items():
        assert value == pytest.approx(want[g], rel=1e-12)
        assert value > longrun[g]


def test_a_short_common_input_goes_to_the_grade_with_the_higher_unit_margin(model):
    """One maker, Nd/Pr on hand for only part of the plan: the HT grade, priced at 10x its
    reference, is made in full first; the standard grade gets what is left."""
    a = _ndfeb_maker(model)
    cat = model.catalog
    std, ht = cat.index["mag_ndfeb_std"], cat.index["mag_ndfeb_ht"]
    a.hre_factor = 1.0
    a.exp_price[ht] = 10.0 * float(cat.ref_price[ht])
    a.exp_price[std] = float(cat.ref_price[std])
    recipes = a.recipes()
    plan = a.planned_output(recipes)
    assert plan[ht] > 0 and plan[std] > 0
    # inputs: enough of every oxide for the HT plan only, plus 10% of the standard plan
    for og in set(recipes[ht]) | set(recipes[std]):
        s = a.stock(og)
        s.take(s.qty)
        need = plan[ht] * recipes[ht].get(og, 0.0) + 0.1 * plan[std] * recipes[std].get(og, 0.0)
        if need > 0:
            s.add(need, 0.0, 0.0)
    a.produce()
    assert a.output_month[ht] == pytest.approx(plan[ht], rel=1e-9)
    assert a.output_month[std] == pytest.approx(0.1 * plan[std], rel=1e-6)


def test_a_non_magnet_user_values_a_missing_kilogram_at_the_product_it_loses(model):
    # reference price / non_magnet_ree_cost_share x oem_contribution_margin: at 0.005 and
    # 0.2, 40x the reference price (docs/ODD.md 7.11); its bids stop there, and at base-year
    # prices they are far below it
    from agents import NonMagnetUser

    u = next(a for a in model.agents_by_type[NonMagnetUser] if a.region == "JP")
    la = model.catalog.index["ox_La"]
    ref = float(model.catalog.ref_price[la])
    assert model.params.non_magnet_ree_cost_share == 0.005
    assert u.derived_value(la) == pytest.approx(ref * 40.0)
    book = OrderBook(model.G, model.R)
    u.post_orders(book)
    bids = [b[5] for b in book.bids if b[1] == la]
    assert bids and max(bids) <= u.derived_value(la)
    assert max(bids) < 0.5 * u.derived_value(la)


def test_a_non_magnet_user_without_stock_bids_along_its_demand_curve(model):
    """A non-magnet user with no stock: the tranches of this month's planned use are bid at
    most at the inverse demand curve through (planned use, expected price), p_hat x c **
    (1 / elasticity) with c the share of the use covered at the tranche's midpoint, so the
    last of its planned use is not bid at the product-margin ceiling (it was: every tranche of
    an empty buyer's use bid 40x the reference price); stock beyond the month keeps its
    precautionary value. By hand for La in Japan."""
    from agents import NonMagnetUser
    from agents.base import BID_TRANCHES, marginal_values

    u = next(a for a in model.agents_by_type[NonMagnetUser] if a.region == "JP")
    la = model.catalog.index["ox_La"]
    par = model.params
    s = u.stock(la)
    keep = s.qty
    try:
        s.qty = 0.0
        use, months = 10.0, 2.0
        book = OrderBook(model.G, model.R)
        u.bid_for(book, la, use, months, u.derived_value(la), elasticity=-0.25)
        prices = [b[5] for b in book.bids if b[1] == la and b[0] is u]
        need = use + use * months / par.inventory_adjust_months
        q = need / BID_TRANCHES
        covers = [(q * (k + 0.5) - use) / use for k in range(BID_TRANCHES)]
        p_hat = u.exp_price.get(la, u.expected(la))
        mv = marginal_values(
            covers, p_hat, u.derived_value(la), months, par.carrying_cost_per_month
        )
        by_hand = [
            min(m, p_hat * (c + 1.0) ** -4.0) if c < 0 else m
            for m, c in zip(mv, covers, strict=True)
        ]
        assert sorted(prices, reverse=True) == pytest.approx(sorted(by_hand, reverse=True))
        assert min(c for c in covers) < 0 < max(c for c in covers)  # both kinds of tranche
        within = [p for p, c in zip(by_hand, covers, strict=True) if c < 0]
        assert max(within) <= u.derived_value(la)
        assert min(within) < 0.5 * u.derived_value(la)  # graded, not all at the ceiling
        assert all(
            m == pytest.approx(u.derived_value(la), rel=0.05)
            for m, c in zip(mv, covers, strict=True)
            if c < 0
        )
    finally:
        s.qty = keep
