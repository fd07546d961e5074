"""Licence desk: approvals, delays and throughput (abm.licences)."""

import numpy as np
import pytest

from abm.licences import LicenceDesk


def _run(p, months=24, need=100.0, buyers=20, seed=0):
    shape = (1, 2, 2, 2)
    desk = LicenceDesk(shape, review_months=2.1, validity_months=6)
    licensed = np.zeros(shape, dtype=bool)
    licensed[0, 0, 1, 0] = True
    approval = np.full(shape, p)
    need_a = np.zeros((1, 2, 2))
    need_a[0, 1, 0] = need
    rng = np.random.default_rng(seed)
    shipped = []
    for _ in range(months):
        desk.start_month()
        desk.apply(licensed, approval, need_a, np.full((1, 2, 2), buyers), rng)
        cap = desk.cap(licensed)[0, 0, 1, 0]
        flow = min(cap, need)
        flows = np.zeros(shape)
        flows[0, 0, 1, 0] = flow
        desk.ship(flows, licensed)
        shipped.append(flow)
    return np.array(shipped), desk


def test_zero_approval_ships_nothing_and_full_approval_ships_need():
    none, desk = _run(0.0)
    assert none.sum() == 0 and desk.applied.sum() > 0
    full, _ = _run(1.0)
    assert full[6:].mean() == pytest.approx(100.0, rel=0.02)


def test_nothing_ships_in_the_month_of_application_even_at_full_approval():
    # regression (2025 export fall): same-month approvals let flows back at once
    for seed in range(5):
        full, _ = _run(1.0, months=3, seed=seed)
        assert full[0] == 0.0
        assert full[1] < 100.0      # only the applications with a one-month review


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
    desk.apply(licensed, np.ones(shape), need, np.full((1, 2, 2), 20000), np.random.default_rng(0))
    arrivals = desk.pending[:, 0, 0, 1, 0]
    share = arrivals / arrivals.sum()
    assert share[:3] == pytest.approx([0.214, 0.476, 0.310], abs=0.02)
    assert share[3:].sum() == 0.0
    assert desk.delay_sum.sum() / desk.approved.sum() == pytest.approx(2.1, abs=0.03)
    # the pipeline covers this month's end use plus the longest review (1 + 1.5 x 2.1)
    assert desk.applied.sum() == pytest.approx(1.0 + 1.5 * 2.1)


def test_nonpositive_review_delay_is_refused():
    with pytest.raises(ValueError, match="review_months"):
        LicenceDesk((1, 2, 2, 2), review_months=0.0, validity_months=6)


def test_throughput_rises_with_approval_probability():
    # denied volume is filed again the next month; measured with a 2.1-month review:
    # p = 0.1 -> ~37%, 0.25 -> ~69%, 0.5 -> ~98% of end use
    means = [_run(p, months=60)[0][12:].mean() for p in (0.1, 0.25, 0.5)]
    assert means[0] < means[1] < means[2] <= 100.0
    assert 25 < means[0] < 50 and 55 < means[1] < 82 and 88 < means[2]
