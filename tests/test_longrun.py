"""The long-run price that entry allows (abm.longrun) and the producers' anchor it bounds
(agents.base.Firm.update_expectations): hand-checked cases."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from abm.goods import stage_of
from abm.longrun import capital_charge, entry_factors, marginal_cost_ratios
from abm.model import RareEarthModel
from agents import MagnetMaker, Miner, Refiner


def test_capital_charge_annualises_capital_per_kg_produced():
    # 30,000 USD per t/yr over 10 years at rate 0, run at full capacity: 3 USD/kg
    assert capital_charge(30_000.0, 0.0, 10.0, 1.0) == pytest.approx(3.0)
    # at 10%/yr the annuity factor of 10 years is 6.1446: 30 / 6.1446 = 4.8824 USD/kg;
    # run at 80% of capacity: 6.1030 USD/kg
    assert capital_charge(30_000.0, 0.10, 10.0, 1.0) == pytest.approx(4.8824, abs=1e-4)
    assert capital_charge(30_000.0, 0.10, 10.0, 0.8) == pytest.approx(6.1030, abs=1e-4)


@pytest.mark.parametrize(
    ("args", "field"),
    [((-1.0, 0.1, 10.0, 1.0), "intensity"), ((1.0, 0.1, 0.0, 1.0), "life_years")],
)
def test_capital_charge_refuses_impossible_inputs(args, field):
    with pytest.raises(ValueError, match=field):
        capital_charge(*args)


def test_each_good_takes_the_costliest_producing_mine_that_yields_it():
    # mine A (concentrate good 2): full cost 6 USD/kg REO, half oxide 0 (10 USD/kg) and
    # half oxide 1 (30 USD/kg): 6 / (0.5 x 10 + 0.5 x 30) = 6 / 20 = 0.3; mine B
    # (concentrate good 3): full cost 8, all oxide 0: 8 / 10 = 0.8. Oxide 0 (both) 0.8;
    # oxide 1 (A only: B's cost says nothing of it) 0.3; concentrate 2 its basket at the
    # bounded prices, (5 x 0.8 + 15 x 0.3) / 20 = 0.425; concentrate 3 0.8; good 4, which
    # no mine yields, NaN
    mines = [(6.0, [(0, 0.5), (1, 0.5)], 2), (8.0, [(0, 1.0), (1, 0.0)], 3)]
    r = marginal_cost_ratios(mines, [10.0, 30.0, 1.0, 1.0, 1.0], 1.0, 5)
    assert r[:4] == pytest.approx([0.8, 0.3, 0.425, 0.8])
    assert np.isnan(r[4])
    # a recovery of 0.9 scales every basket value: oxide ratios / 0.9
    r = marginal_cost_ratios(mines, [10.0, 30.0, 1.0, 1.0, 1.0], 0.9, 5)
    assert r[:2] == pytest.approx([0.8 / 0.9, 0.3 / 0.9])
    # an oxide with no price counts 0: mine A's basket is 0.5 x 30 = 15, 6 / 15 = 0.4
    r = marginal_cost_ratios(mines[:1], [np.nan, 30.0, 1.0], 1.0, 3)
    assert np.isnan(r[0]) and r[1:] == pytest.approx([0.4, 0.4])
    # a basket above its cost leaves its concentrate unbound (factor 1)
    r = marginal_cost_ratios([(30.0, [(0, 1.0)], 1)], [10.0, 1.0], 1.0, 2)
    assert r == pytest.approx([3.0, 1.0])


def test_entry_moves_each_joint_product_by_the_entrants_addition_to_its_market():
    # values (10, 10), indexes (1, 0), target 15: 10 exp(-k) + 10 = 15, exp(-k) = 0.5
    assert entry_factors(np.array([10.0, 10.0]), np.array([1.0, 0.0]), 15.0) == pytest.approx(
        [0.5, 1.0]
    )
    # the market's mix (every index 1): one factor, target over value
    f = entry_factors(np.array([5.0, 15.0]), np.array([1.0, 1.0]), 6.0)
    assert f == pytest.approx([0.3, 0.3])
    # a basket worth less than its full cost: the prices at which it breaks even, above 1,
    # raised most where the mine adds most: 10 exp(-k x 2) + 10 exp(-k x 0.5) = 40 with
    # exp(-k/2) = u: 10 u^4 + 10 u = 40, u^4 + u = 4 at u = 1.28378 (1.28378^4 = 2.71622)
    f = entry_factors(np.array([10.0, 10.0]), np.array([2.0, 0.5]), 40.0)
    assert f == pytest.approx([2.71622, 1.28378], abs=1e-5)


@given(
    st.lists(
        st.tuples(st.floats(0.01, 1e3), st.one_of(st.just(0.0), st.floats(1e-3, 50.0))),
        min_size=1,
        max_size=16,
    ),
    st.floats(0.01, 100.0),
)
def test_entry_factors_balance_the_basket_and_move_most_where_the_mine_adds_most(xs, scale):
    value = np.array([v for v, _ in xs])
    index = np.array([i for _, i in xs])
    target = scale * value.sum() / 10
    idle = value[index == 0].sum()  # worth of the oxides the mine does not add to
    assume(index.max() > 0.01 and target > idle * 1.001)
    f = entry_factors(value, index, target)
    assert (value * f).sum() == pytest.approx(target, rel=1e-6)
    # an oxide the mine does not add to keeps its price; the others fall when the basket
    # is worth more than its cost (rise when less), and the more the larger the index
    assert np.all(f[index == 0] == 1.0)
    falls = target < value.sum()
    order = np.argsort(index, kind="stable")
    steps = np.diff(f[order])
    assert np.all(steps <= 1e-12) if falls else np.all(steps >= -1e-12)
    top = index == index.max()
    assert np.all(f[top] < 1.0) if falls else np.all(f[top] >= 1.0)


@pytest.mark.parametrize(
    ("value", "index", "target"),
    [([10.0], [1.0], 0.0), ([0.0, 10.0], [1.0, 1.0], 5.0), ([10.0], [0.0], 5.0)],
)
def test_entry_factors_refuse_inputs_that_move_no_price(value, index, target):
    with pytest.raises(ValueError, match="entry_factors: needs target > 0"):
        entry_factors(np.array(value), np.array(index), target)


def test_entry_factors_refuse_a_basket_that_no_price_can_balance():
    # an oxide the mine does not add to (index 0) keeps its price; if it alone is worth
    # the target, no fall of the others balances the basket
    with pytest.raises(ValueError, match="no price moves enough"):
        entry_factors(np.array([6.0, 10.0]), np.array([0.0, 1.0]), 5.0)
    assert entry_factors(np.array([4.0, 10.0]), np.array([0.0, 1.0]), 9.0) == pytest.approx(
        [1.0, 0.5]
    )


def test_a_mines_fall_is_shared_by_its_content_over_the_worlds():
    # mines A (full cost 4.375 USD/kg REO; half oxide 0 at 10, half oxide 1 at 30) and B
    # (full cost 8; all oxide 0), equal output: world 1.5 t of oxide 0 per 0.5 t of oxide 1,
    # mix 0.75 / 0.25. A's indexes 0.5 / 0.75 = 2/3 and 0.5 / 0.25 = 2: with u = exp(-2k/3),
    # 5 u + 15 u^3 = 4.375 at u = 0.5: A's factors 0.5 and 0.125. B: 8 / 10 = 0.8. Oxide 0
    # takes the larger (0.8), oxide 1 A's 0.125; concentrate A (5 x 0.8 + 15 x 0.125) / 20 =
    # 0.29375, concentrate B 0.8
    mines = [(4.375, [(0, 0.5), (1, 0.5)], 2), (8.0, [(0, 1.0)], 3)]
    r = marginal_cost_ratios(mines, [10.0, 30.0, 1.0, 1.0], 1.0, 4, {0: 1.5, 1: 0.5})
    assert r == pytest.approx([0.8, 0.125, 0.29375, 0.8])
    with pytest.raises(ValueError, match="oxide 1 of a producing mine is not in world"):
        marginal_cost_ratios(mines, [10.0, 30.0, 1.0, 1.0], 1.0, 4, {0: 1.5})
    # without a world basket, one factor per mine: 4.375 / 20 for both of A's oxides
    r = marginal_cost_ratios(mines, [10.0, 30.0, 1.0, 1.0], 1.0, 4)
    assert r[:2] == pytest.approx([0.8, 4.375 / 20])


def test_no_mine_with_a_valued_basket_gives_no_bound():
    assert np.isnan(marginal_cost_ratios([], [10.0], 1.0, 1)).all()
    assert np.isnan(marginal_cost_ratios([(6.0, [(0, 1.0)], 1)], [np.nan, 1.0], 1.0, 2)).all()


def test_a_producer_anchors_no_higher_than_the_marginal_mines_full_cost(monkeypatch):
    # a miner observes 200 USD/kg for its concentrate and for an oxide it prices (its
    # netback), with expectations and anchors at 100; price_anchor_months 11. At a ratio
    # of 0.5 the anchors aim at 200 x 0.5 = 100 and stay; at 0.25 they aim at 50:
    # 100 + (50 - 100) / 11; at 1.5 (prices below the marginal mine's full cost) and with
    # no ratio they follow the price: 100 + 100 / 11. One factor for the whole basket:
    # the oxide the miner prices but does not sell is bounded as its concentrate is.
    m = RareEarthModel("baseline", seed=0, months=2)
    assert m.params.price_anchor_months == 11.0
    a = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    g = a.good
    oxide = next(i for i, _ in a.oxide_content)
    monkeypatch.setattr(a, "observed", lambda good: 200.0)
    for rho, anchor in [(0.5, 100.0), (0.25, 100.0 - 50.0 / 11), (1.5, 100.0 + 100.0 / 11)]:
        a.exp_price = {g: 100.0, oxide: 100.0}
        a.anchor_price = {g: 100.0, oxide: 100.0}
        m.marginal_cost_ratios = np.full(m.G, rho)
        a.update_expectations()
        assert a.anchor_price[g] == pytest.approx(anchor)
        assert a.anchor_price[oxide] == pytest.approx(anchor)
        # the expected price itself moves as before: towards o and back to the old anchor
        assert a.exp_price[g] == pytest.approx(100.0 + 100.0 / m.params.price_expectation_months)
    m.marginal_cost_ratios = np.full(m.G, np.nan)  # no bound
    a.anchor_price = {g: 100.0}
    a.update_expectations()
    assert a.anchor_price[g] == pytest.approx(100.0 + 100.0 / 11)
    # a mothballed mine judges its restart at prices alone
    a.active, a.mothballed = False, True
    m.marginal_cost_ratios = np.full(m.G, 0.25)
    a.anchor_price = {g: 100.0}
    a.update_expectations()
    assert a.anchor_price[g] == pytest.approx(100.0 + 100.0 / 11)


def test_a_separator_bounds_its_feed_and_its_oxides_by_one_factor():
    # a separator's feed (concentrate) and products (oxides) are one joint-product basket:
    # at a ratio of 0.5 every anchor aims at half its observed price, so its long-run feed
    # margin scales by the same factor rather than collapsing (feed uncapped, oxides capped)
    m = RareEarthModel("baseline", seed=0, months=2)
    r = next(r for r in m.agents_by_type[Refiner] if r.region == "CN" and r.active)
    feed, ox = r.feed_goods[0], r.oxide_goods[0]
    r.expected(feed), r.expected(ox)
    obs = {feed: float(r.observed(feed)), ox: float(r.observed(ox))}
    r.anchor_price = {feed: obs[feed], ox: obs[ox]}
    m.marginal_cost_ratios = np.full(m.G, 0.5)
    r.update_expectations()
    for g in (feed, ox):
        assert r.anchor_price[g] == pytest.approx(obs[g] + (0.5 * obs[g] - obs[g]) / 11)


def test_a_magnet_maker_is_not_cost_anchored():
    # a magnet maker's oxide anchors (inputs it buys) follow their observed price
    m = RareEarthModel("baseline", seed=0, months=2)
    mk = m.agents_by_type[MagnetMaker][0]
    assert not mk.cost_anchored
    assert all(a.cost_anchored for a in m.agents_by_type[Miner])
    ox = next(g for g in mk.exp_price if stage_of(m.catalog.goods[g]) == "separation")
    o = float(mk.observed(ox))
    mk.anchor_price[ox] = 0.5 * o
    m.marginal_cost_ratios = np.full(m.G, 0.25)
    mk.update_expectations()
    assert mk.anchor_price[ox] == pytest.approx(0.5 * o + 0.5 * o / 11)


def test_no_bound_before_the_first_clearing():
    m = RareEarthModel("baseline", seed=0, months=2)
    assert np.isnan(m.marginal_cost_ratios).all()
    m.step()  # the first month's expectations see no benchmark yet
    assert np.isnan(m.marginal_cost_ratios).all()


def test_in_the_2024_base_year_prices_are_below_the_marginal_mines_full_cost():
    # baseline, second month: Nd's bound is set by MP Materials (cash cost 3.5 USD/kg REO,
    # + median separation cost + capital charge = 13.27 USD/kg against a basket of 10.70
    # USD/kg at 2024 prices): 1.22 for Nd oxide and above 1 for every oxide bastnaesite
    # yields, so the rule does not bind at the start of the baseline and the concentrates,
    # worth their oxide content, are not bound either (factor 1)
    m = RareEarthModel("baseline", seed=0, months=3)
    m.step()
    m.step()
    nd = m.catalog.index["ox_Nd"]
    mp = next(a for a in m.agents_by_type[Miner] if a.region == "US")
    assert m.marginal_cost_ratios[nd] == pytest.approx(1.221, abs=0.005)
    assert m.marginal_cost_ratios[mp.good] == 1.0
    # MP's trace of Dy and Tb: entry of bastnaesite would hardly move their prices, so
    # MP's cost leaves them (almost) where they are
    for ox in ("ox_Dy", "ox_Tb"):
        assert 1.0 < m.marginal_cost_ratios[m.catalog.index[ox]] < 1.03
    raw = [
        g
        for g, name in enumerate(m.catalog.goods)
        if stage_of(name) != "magnets" and np.isfinite(m.marginal_cost_ratios[g])
    ]
    assert min(m.marginal_cost_ratios[g] for g in raw) == 1.0
    assert np.isnan(m.marginal_cost_ratios[m.catalog.index["mag_ndfeb_std"]])


def test_a_mine_under_a_binding_production_quota_does_not_set_the_bound(monkeypatch):
    # baseline, second month: MP Materials is the costliest producing mine yielding Nd
    # (1.22). With a quota binding on US mines (quota factor below 1), the next costliest
    # sets Nd's ratio, which is lower; with one binding
    # everywhere no mine is left: no bound
    m = RareEarthModel("baseline", seed=0, months=3)
    m.step()
    m.step()
    nd = m.catalog.index["ox_Nd"]
    every = m._marginal_cost_ratios()  # at this month's benchmark prices
    assert every[nd] == pytest.approx(1.221, abs=0.005)
    monkeypatch.setattr(m.policy, "quota_factor", lambda r, d: 0.9 if r == "US" else 1.0)
    without_us = m._marginal_cost_ratios()
    assert without_us[nd] < every[nd] - 0.01
    monkeypatch.setattr(m.policy, "quota_factor", lambda r, d: 0.9)
    assert np.isnan(m._marginal_cost_ratios()).all()
