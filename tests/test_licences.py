"""Licence desk and licence regimes: one application per shipment, approvals, delays,
per-element terms (abm.licences, abm.policy)."""

import numpy as np
import pytest

from abm.goods import catalog
from abm.licences import Claims, LicenceDesk, pipeline_months
from abm.policy import PolicyState
from abm.regions import regions
from abm.scenario import loads_scenario


def _claims(need, tranches):
    """One buyer per demand node (id = the node's flat index) with the node's end use
    ``need`` (G, R, 2) and ``tranches`` applications per shipment."""
    g, r, u = np.nonzero(need > 0)
    n = np.broadcast_to(tranches, need.shape)[g, r, u]
    return Claims((g * need.shape[1] + r) * 2 + u, g, r, u, need[g, r, u], n)


def _ship(desk, flows):
    """Per-account shipments of per-arc ``flows`` (one buyer per node)."""
    return flows[tuple(desk.acct_arc.T)] if len(desk.acct_arc) else np.zeros(0)


def _run(p, months=24, need=100.0, buyers=20, seed=0, review=2.1):
    shape = (1, 2, 2, 2)
    desk = LicenceDesk(shape, review_months=review, validity_months=6)
    licensed = np.zeros(shape, dtype=bool)
    licensed[0, 0, 1, 0] = True
    approval = np.full(shape, p)
    need_a = np.zeros((1, 2, 2))
    need_a[0, 1, 0] = need
    rng = np.random.default_rng(seed)
    shipped, applied, approved, denied, filed = [], 0.0, 0.0, 0.0, 0.0
    for _ in range(months):
        desk.start_month()
        desk.apply(licensed, approval, _claims(need_a, buyers), rng)
        applied += desk.applied.sum()
        approved += desk.approved.sum()
        denied += desk.denied.sum()
        filed += desk.filed.sum()
        cap = desk.cap(licensed)[0, 0, 1, 0]
        flow = min(cap, need)
        flows = np.zeros(shape)
        flows[0, 0, 1, 0] = flow
        desk.ship(_ship(desk, flows))
        shipped.append(flow)
    totals = {"applied": applied, "approved": approved, "denied": denied, "filed": filed}
    return np.array(shipped), desk, totals


def test_zero_approval_ships_nothing_and_full_approval_ships_need():
    none, desk, tot = _run(0.0)
    assert none.sum() == 0 and tot["applied"] > 0 and tot["denied"] == tot["applied"]
    full, _, _ = _run(1.0)
    assert full[6:].mean() == pytest.approx(100.0, rel=1e-9)


def test_nothing_ships_in_the_month_of_application_even_at_full_approval():
    # regression (2025 export fall): same-month approvals let flows back at once
    for seed in range(5):
        full, _, _ = _run(1.0, months=3, seed=seed)
        assert full[0] == 0.0
        assert full[1] < 100.0  # only the applications with a one-month review


def test_each_application_is_counted_once():
    # p = 0.1, constant end use N = 100 t/month for 12 months, 20 tranches per shipment,
    # review 2.1 months -> buyers apply h = round(1.5 x 2.1) = 3 months ahead: the first
    # month files the shipments of months 0..3 (4 N), each later month one more (N), so
    # applications = N (12 + 3) = 1,500 t in 15 x 20 = 300 applications; denied volume is
    # never filed again
    _, _, tot = _run(0.1, months=12)
    assert tot["applied"] == pytest.approx(1500.0, rel=1e-12)
    assert tot["filed"] == 300
    assert tot["approved"] + tot["denied"] == pytest.approx(tot["applied"], rel=1e-12)
    # each application is approved with p = 0.1: binomial(300, 0.1), sd 5.2 applications
    assert 0.05 < tot["approved"] / tot["applied"] < 0.15
    ratios = [(t["approved"] / t["applied"]) for t in (_run(0.1, 12, seed=s)[2] for s in range(40))]
    assert np.mean(ratios) == pytest.approx(0.1, abs=0.006)  # sd of the mean ~0.0027


def test_same_seed_same_decisions():
    a, da, _ = _run(0.3, months=18, seed=7)
    b, db, _ = _run(0.3, months=18, seed=7)
    assert np.array_equal(a, b) and np.array_equal(da.available, db.available)


def test_throughput_is_the_approval_probability_in_steady_state():
    # one decision per shipment: the licensed flow is p x end use (no re-filing)
    for p in (0.1, 0.25, 0.5):
        shipped = np.mean([_run(p, months=60, seed=s)[0][12:].mean() for s in range(8)])
        assert shipped == pytest.approx(100.0 * p, abs=4.0)


def test_review_delays_are_whole_months_around_the_mean():
    # review 2.1 months: delay ~ U[1.05, 3.15] + 0.5, rounded down -> 1, 2 or 3 months,
    # with probabilities 0.21, 0.48, 0.31 and mean ~2.1
    shape = (1, 2, 2, 2)
    desk = LicenceDesk(shape, review_months=2.1, validity_months=6)
    licensed = np.zeros(shape, dtype=bool)
    licensed[0, 0, 1, 0] = True
    need = np.zeros((1, 2, 2))
    need[0, 1, 0] = 1.0
    desk.start_month()
    desk.apply(licensed, np.ones(shape), _claims(need, 20000), np.random.default_rng(0))
    arrivals = desk.pending[:, 0]
    share = arrivals / arrivals.sum()
    assert share[:3] == pytest.approx([0.214, 0.476, 0.310], abs=0.02)
    assert share[3:].sum() == 0.0
    assert desk.delay_sum.sum() / desk.approved.sum() == pytest.approx(2.1, abs=0.03)
    # the first month covers this month's shipment and the next h = 3
    assert pipeline_months(2.1) == 3
    assert desk.applied.sum() == pytest.approx(4.0)


def test_per_arc_review_delays():
    # two destinations: review 1 month (delay always 1) and 4 months (delays 2..6)
    shape = (1, 3, 3, 2)
    desk = LicenceDesk(shape, review_months=2.1, validity_months=6)
    licensed = np.zeros(shape, dtype=bool)
    licensed[0, 0, 1, 0] = licensed[0, 0, 2, 0] = True
    review = np.full(shape, 2.1)
    review[0, 0, 1, 0], review[0, 0, 2, 0] = 1.0, 4.0
    need = np.zeros((1, 3, 2))
    need[0, 1, 0] = need[0, 2, 0] = 1.0
    desk.start_month()
    desk.apply(
        licensed,
        np.ones(shape),
        _claims(need, 5000),
        np.random.default_rng(1),
        review=review,
    )
    fast, slow = desk.pending[:, 0], desk.pending[:, 1]
    assert fast[0] == pytest.approx(fast.sum()) and fast.sum() == pytest.approx(3.0)  # h=2
    assert slow[0] == 0 and slow[1:6].sum() == pytest.approx(slow.sum())
    assert slow.sum() == pytest.approx(7.0)  # h=6
    assert desk.delay_sum[0, 0, 2, 0] / desk.approved[0, 0, 2, 0] == pytest.approx(4.0, abs=0.05)


def test_nonpositive_review_delay_is_refused():
    with pytest.raises(ValueError, match="review_months"):
        LicenceDesk((1, 2, 2, 2), review_months=0.0, validity_months=6)


# ---------------------------------------------------------------------- per-element regimes
OCT_2025 = """
name = "dy-tb"
[[measures]]
kind = "export_licence"
date = "2024-01"
actor = "CN"
elements = ["Dy", "Tb"]
approval = { default = 0.5 }
defense_denial = true

[[measures]]
kind = "licence_policy"
date = "2024-01"
actor = "CN"
elements = ["Dy"]
forms = ["oxides"]
approval = { default = 0.0 }
review_months = { default = 4.0, JP = 3.0 }

[[measures]]
kind = "licence_policy"
date = "2024-01"
actor = "CN"
elements = ["Tb"]
approval = { default = 1.0 }
review_months = 1.0
"""


def _policy(text):
    sc = loads_scenario(text)
    tab = regions()
    return PolicyState(sc, catalog(sc.base_year), tab.codes, tab.allied), sc


def test_terms_per_element_form_destination_and_end_use():
    pol, _ = _policy(OCT_2025)
    cat, ri = pol.catalog, pol.ri
    G, R = len(cat.goods), len(pol.codes)
    licensed, approval, review = pol.licence_terms(np.zeros((G, R)))
    cn, us, jp = ri["CN"], ri["US"], ri["JP"]
    dy, tb = cat.index["ox_Dy"], cat.index["ox_Tb"]
    ht, std = cat.index["mag_ndfeb_ht"], cat.index["mag_ndfeb_std"]
    assert licensed[[dy, tb, ht, std], cn, us].all() and not licensed[cat.index["ox_Nd"]].any()
    assert approval[dy, cn, us, 0] == 0.0 and approval[tb, cn, us, 0] == 1.0
    assert review[dy, cn, us, 0] == 4.0 and review[dy, cn, jp, 0] == 3.0
    assert review[tb, cn, us, 0] == 1.0
    # defense end use denied whatever the element's civil approval
    assert approval[tb, cn, us, 1] == 0.0
    # the Dy rule names oxides only: magnets keep the regime's 0.5 for Dy; the
    # high-temperature grade (Dy and Tb) takes the stricter of Dy 0.5 and Tb 1.0, and the
    # slower review (Dy 2.1 from the parameter, Tb 1.0)
    assert approval[ht, cn, us, 0] == 0.5 and review[ht, cn, us, 0] == 2.1
    assert approval[std, cn, us, 0] == 0.5


def test_approval_zero_stops_one_element_while_another_gets_its_full_end_use():
    # (c) of issue 11: Dy oxide at approval 0, Tb oxide at approval 1
    pol, sc = _policy(OCT_2025)
    cat, ri = pol.catalog, pol.ri
    G, R = len(cat.goods), len(pol.codes)
    licensed, approval, review = pol.licence_terms(np.zeros((G, R)))
    dy, tb, cn, us = cat.index["ox_Dy"], cat.index["ox_Tb"], ri["CN"], ri["US"]
    need = np.zeros((G, R, 2))
    need[dy, us, 0] = need[tb, us, 0] = 10.0
    desk = pol.desk
    rng = np.random.default_rng(0)
    usable = []
    for _ in range(8):
        desk.start_month()
        desk.apply(licensed, approval, _claims(need, 4), rng, review=review)
        cap = desk.cap(licensed)
        usable.append((cap[dy, cn, us, 0], cap[tb, cn, us, 0]))
        flows = np.zeros(pol.shape)
        flows[dy, cn, us, 0] = min(cap[dy, cn, us, 0], 10.0)
        flows[tb, cn, us, 0] = min(cap[tb, cn, us, 0], 10.0)
        desk.ship(_ship(desk, flows))
    usable = np.array(usable)
    assert usable[:, 0].max() == 0.0  # no Dy ever licensed
    assert usable[0, 1] == 0.0  # nothing in the filing month
    # Tb: review 1 month (h = 2), all approved: the first month's three shipments arrive in
    # month 1, then one a month while one ships: 30 t usable, the full 10 t/month ships
    assert usable[1:, 1] == pytest.approx(30.0)
    assert desk.denied[dy, cn, us, 0] > 0 and desk.denied[tb, cn, us, 0] == 0


def test_policy_for_civil_end_use_leaves_defense_alone():
    text = (
        OCT_2025.replace("defense_denial = true", "defense_denial = false")
        + """
[[measures]]
kind = "licence_policy"
date = "2024-01"
actor = "CN"
end_use = "civil"
approval = { US = 0.2 }
"""
    )
    pol, _ = _policy(text)
    G, R = len(pol.catalog.goods), len(pol.codes)
    _, approval, _ = pol.licence_terms(np.zeros((G, R)))
    tb, cn, us = pol.catalog.index["ox_Tb"], pol.ri["CN"], pol.ri["US"]
    assert approval[tb, cn, us, 0] == 0.2 and approval[tb, cn, us, 1] == 1.0


def test_levers_can_target_elements():
    text = (
        OCT_2025
        + """
[levers]
start = "2024-01"
approval_rate_us = 0.3
licence_review_months = 5.0
licence_elements = ["Tb"]
"""
    )
    pol, _ = _policy(text)
    G, R = len(pol.catalog.goods), len(pol.codes)
    _, approval, review = pol.licence_terms(np.zeros((G, R)))
    idx, cn, us, jp = pol.catalog.index, pol.ri["CN"], pol.ri["US"], pol.ri["JP"]
    assert approval[idx["ox_Tb"], cn, us, 0] == 0.3 and review[idx["ox_Tb"], cn, us, 0] == 5.0
    assert approval[idx["ox_Tb"], cn, jp, 0] == 1.0
    assert approval[idx["ox_Dy"], cn, us, 0] == 0.0 and review[idx["ox_Dy"], cn, us, 0] == 4.0


def test_shipped_regime_without_policies_is_unchanged_by_elements():
    # backward-compatible syntax: a destination-only regime gives every covered good the
    # same approval; the parameter's review delay everywhere
    pol, sc = _policy("""
name = "x"
[[measures]]
kind = "export_licence"
date = "2024-01"
actor = "CN"
elements = ["Sm", "Dy", "Tb"]
approval = { default = 0.25, US = 0.1 }
""")
    G, R = len(pol.catalog.goods), len(pol.codes)
    licensed, approval, review = pol.licence_terms(np.zeros((G, R)))
    cn, us, jp = pol.ri["CN"], pol.ri["US"], pol.ri["JP"]
    goods = np.nonzero(licensed[:, cn, us, 0])[0]
    assert set(approval[goods, cn, us, 0]) == {0.1}
    assert set(approval[goods, cn, jp, 0]) == {0.25}
    assert set(review[goods, cn, us, 0]) == {sc.parameters.licence_review_months}


def test_regime_forms_limit_the_covered_goods():
    pol, _ = _policy("""
name = "x"
[[measures]]
kind = "export_licence"
date = "2024-01"
actor = "CN"
elements = ["Dy"]
forms = ["oxides", "magnets"]
""")
    G, R = len(pol.catalog.goods), len(pol.codes)
    licensed, _, _ = pol.licence_terms(np.zeros((G, R)))
    arcs = licensed[:, pol.ri["CN"], pol.ri["US"], 0]
    covered = {pol.catalog.goods[g] for g in np.nonzero(arcs)[0]}
    assert covered == {"ox_Dy", "mag_ndfeb_std", "mag_ndfeb_ht"}


def test_a_regime_dated_inside_a_month_binds_only_from_its_date():
    # 4 April: 3 of April's 30 days are before it; a month-only date binds from the 1st
    from abm.policy import _days_before

    assert _days_before("2025-04-04") == pytest.approx(3 / 30)
    assert _days_before("2025-04") == 0.0
    assert _days_before("2024-02-15") == pytest.approx(14 / 29)


def _regime_start(m):
    """After the steps of April and May 2025 (steps 15 and 16 of controls-2025): the
    unlicensed share of Dy and Nd oxide from China to the US, China's Dy oxide exports, the
    largest unlicensed share and the month simulated; None in other months."""
    if m.steps not in (16, 17):
        return None
    share = m.policy.unlicensed_share
    cn, us = m.region_index["CN"], m.region_index["US"]
    dy, nd = m.catalog.index["ox_Dy"], m.catalog.index["ox_Nd"]
    flows = m.last_clearing.flows
    return (
        float(share[dy, cn, us, 0]),
        float(share[nd, cn, us, 0]),
        float(flows[dy, cn].sum() - flows[dy, cn, cn].sum()),
        float(share.max()),
        str(m.date_of(m.steps - 1))[:7],
    )


#: the first two months of the 2025 regime in the shared controls-2025 run (conftest.py)
SHIPPED_RUN_OBSERVERS = {"controls-2025": {"licences_regime_start": _regime_start}}


def test_first_month_of_the_2025_regime_lets_the_days_before_it_through(shipped_runs):
    # controls-2025, seed 0: the shared run of conftest.py shipped_runs, observed after the
    # steps of April 2025 (the regime's first month) and May (was a 17-month run of its own)
    shipped_runs["controls-2025"]
    obs = shipped_runs.observed["controls-2025"]["licences_regime_start"]
    dy_share, nd_share, exports, _, month = obs[15]
    assert month == "2025-04"
    assert dy_share == pytest.approx(3 / 30)
    assert nd_share == 0.0  # Nd is not licensed
    # no approval can be usable in the first month, yet some Dy leaves China
    assert exports > 0
    *_, largest, month = obs[16]
    assert month == "2025-05" and largest == 0.0  # May: full regime
