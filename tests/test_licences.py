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


def test_throughput_rises_with_approval_probability():
    # measured with a 2.1-month review: p = 0.25 -> ~45%, 0.5 -> ~83% of need
    means = [_run(p, months=60)[0][12:].mean() for p in (0.1, 0.25, 0.5)]
    assert means[0] < means[1] < means[2] < 95.0
    assert 10 < means[0] < 30 and 35 < means[1] < 55 and 70 < means[2] < 92
