"""Export-licence desk: one application per shipment, decided once, and usable volumes.

Mechanism (MOFCOM/GAC Announcement 18/2025; Dual-Use Items Export Control Regulations of
the PRC 2024, art. 13-16 and 21): every export of a controlled item needs a licence per
contract, whose application states the end user and the end use; the authority decides it
within 45 working days (about 2.1 months), approving or refusing it. An approval is used for
the shipment it names; a refused application is not reconsidered, the buyer may apply again
for a later shipment.

In the model, for every licensed arc ``(good, exporter, destination, end use)`` buyers keep
their next shipments covered by applications: each month ``t`` they apply for the shipments
of months ``t .. t + h`` that no earlier application covers, where a shipment is one month of
the node's *documented end use* (the planned use its buyers declare with their bids, t/month;
:meth:`abm.market.OrderBook.declare_end_use`) and ``h = max(round(1.5 review), 1)`` is the
longest review delay (so an approval can arrive before the shipment is due). In steady state
that is one new shipment a month; when a regime starts, the whole pipeline of ``h + 1``
shipments is filed at once. Inventory building (precautionary hoarding) is not an end use and
is not licensed.

Each shipment's volume is split into one application per bid tranche of the node (a
contract; each firm bids in four tranches); each application is decided once: approved with
the regime's probability for the arc (its good, destination and end use) after a review
delay drawn uniformly in ``[review/2, 3 review/2]`` months (``review`` the arc's mean review
delay), or denied. Applications are filed mid-month on average, so an approval is usable from
month ``t + round(delay)`` (at least ``t + 1``: an application filed this month never ships
this month; the first approvals under the April 2025 regime were reported in early June,
Reuters 2025-06-04). Approved volume is usable for ``licence_validity_months`` and caps the
arc in the market; shipments draw it down oldest first. With a constant end use ``N`` the
licensed flow is ``p N`` in steady state and the desk counts ``N`` of applications a month,
each once. All draws use the model's generator.
"""

from __future__ import annotations

import numpy as np


def pipeline_months(review: np.ndarray | float) -> np.ndarray:
    """Longest review delay for a mean review delay, whole months: ``max(round(1.5 r), 1)``.

    Args:
        review: mean review delay(s), months (> 0).

    Returns:
        int array of the same shape: the number of months ahead buyers apply for.
    """
    return np.maximum(np.floor(1.5 * np.asarray(review, dtype=float) + 0.5), 1).astype(int)


class LicenceDesk:
    """Licence state for all arcs.

    Args:
        shape: ``(n_goods, n_regions, n_regions, 2)``.
        review_months: default mean review delay, months (> 0), used where :meth:`apply`
            gets no per-arc delays; delays are uniform in ``[review/2, 3 review/2]``,
            whole months, at least 1.
        validity_months: months an approval stays usable (>= 1).

    Raises:
        ValueError: ``review_months`` not > 0 or ``validity_months`` < 1.

    Attributes (this month's applications, by arc, shape ``shape``):
        applied: volume applied for, t (each application counted once, in its filing month).
        approved: volume of those applications that is approved, t.
        denied: volume of those applications that is denied, t (``applied - approved``).
        filed: number of applications.
        delay_sum: approved t x review delay in months (mean delay = delay_sum / approved).
    """

    def __init__(
        self, shape: tuple[int, int, int, int], review_months: float, validity_months: int
    ):
        if not review_months > 0:
            raise ValueError(f"review_months must be > 0, got {review_months}")
        if int(validity_months) < 1:
            raise ValueError(f"validity_months must be >= 1, got {validity_months}")
        self.shape = tuple(shape)
        self.review = float(review_months)
        self.max_delay = int(pipeline_months(review_months)) + 1
        self.pending = np.zeros((self.max_delay,) + self.shape)
        self.available = np.zeros((int(validity_months),) + self.shape)
        # covered[k]: volume of the shipment of month t + k already applied for (any outcome)
        self.covered = np.zeros((self.max_delay,) + self.shape)
        self.applied = np.zeros(self.shape)
        self.approved = np.zeros(self.shape)
        self.denied = np.zeros(self.shape)
        self.filed = np.zeros(self.shape)
        self.delay_sum = np.zeros(self.shape)

    def _grow(self, n: int) -> None:
        """Lengthen the pending and covered queues to ``n`` months."""
        if n <= self.pending.shape[0]:
            return
        extra = np.zeros((n - self.pending.shape[0],) + self.shape)
        self.pending = np.concatenate([self.pending, extra])
        self.covered = np.concatenate([self.covered, extra.copy()])
        self.max_delay = n

    def start_month(self) -> None:
        """Age the queues: arrivals become usable, old approvals expire, last month's
        shipment is no longer ahead."""
        arrived = self.pending[0].copy()
        self.pending[:-1] = self.pending[1:]
        self.pending[-1] = 0.0
        self.available[:-1] = self.available[1:]
        self.available[-1] = arrived
        self.covered[:-1] = self.covered[1:]
        self.covered[-1] = 0.0
        for a in (self.applied, self.approved, self.denied, self.filed, self.delay_sum):
            a[:] = 0.0

    def apply(
        self,
        licensed: np.ndarray,
        approval: np.ndarray,
        need: np.ndarray,
        buyers: np.ndarray,
        rng: np.random.Generator,
        review: np.ndarray | None = None,
    ) -> None:
        """File and decide this month's applications (one per shipment and tranche).

        Args:
            licensed: bool (G, R, R, 2), arcs that need a licence now.
            approval: (G, R, R, 2) approval probability per application, in [0, 1].
            need: (G, R, 2) documented end use per demand node, t/month (one shipment).
            buyers: (G, R, 2) number of bid tranches per node (applications per shipment).
            rng: the model's generator.
            review: (G, R, R, 2) mean review delay per arc, months (> 0 on licensed arcs);
                None: the desk's ``review_months`` everywhere.
        """
        rev = np.full(self.shape, self.review) if review is None else np.asarray(review, float)
        # a lapsed regime leaves nothing ahead: a new one starts a new pipeline
        self.covered[:, ~licensed] = 0.0
        h = np.where(licensed, pipeline_months(np.where(licensed, rev, 1.0)), -1)
        hmax = int(h.max()) if licensed.any() else -1
        if hmax < 0:
            return
        self._grow(hmax + 1)
        ship = need[:, None, :, :]
        # want[k]: uncovered volume of the shipment of month t + k, for k <= h
        ks = np.arange(hmax + 1).reshape((-1,) + (1,) * 4)
        want = np.where(ks <= h[None], np.maximum(ship[None] - self.covered[: hmax + 1], 0.0), 0.0)
        want = np.where(want > 1e-9, want, 0.0)
        # shipments in filing order: arcs in C order, then the month of the shipment
        idx = np.argwhere(np.moveaxis(want, 0, -1) > 0)  # (shipments, 5)
        if not len(idx):
            return
        arc = tuple(idx[:, :4].T)
        k_ship = idx[:, 4]
        vol = want[(k_ship,) + arc]
        self.covered[(k_ship,) + arc] += vol
        n = np.maximum(buyers[idx[:, 0], idx[:, 2], idx[:, 3]].astype(int), 1)
        # the draws, shipment by shipment in filing order: n approval draws, then n review
        # delays (one stream of 2 x sum(n) doubles, split per shipment)
        end = np.cumsum(2 * n)
        draws = rng.random(int(end[-1]))
        first = end - 2 * n
        app = np.repeat(np.arange(len(n)), n)  # shipment of each application
        k = np.arange(len(app)) - np.repeat(np.cumsum(n) - n, n)  # its rank in the shipment
        u_ok = draws[first[app] + k]
        u_delay = draws[first[app] + n[app] + k]
        r = rev[arc][app]
        ok = u_ok < approval[arc][app]
        # filed mid-month on average: usable from the month the approval arrives in
        delays = np.maximum(np.floor(0.5 * r + r * u_delay + 0.5), 1).astype(int)
        self._grow(int(delays.max()))
        share = (vol / n)[app]
        np.add.at(self.applied, arc, vol)
        np.add.at(self.filed, arc, n.astype(float))
        acell = tuple(idx[app[ok], :4].T)
        np.add.at(self.pending, (delays[ok] - 1,) + acell, share[ok])
        np.add.at(self.approved, acell, share[ok])
        np.add.at(self.delay_sum, acell, share[ok] * delays[ok])
        dcell = tuple(idx[app[~ok], :4].T)
        np.add.at(self.denied, dcell, share[~ok])

    def cap(self, licensed: np.ndarray) -> np.ndarray:
        """Arc capacities: usable approved volume on licensed arcs, inf elsewhere (t)."""
        return np.where(licensed, self.available.sum(axis=0), np.inf)

    def ship(self, flows: np.ndarray, licensed: np.ndarray) -> None:
        """Draw shipped volume on licensed arcs from the oldest approvals first."""
        left = np.where(licensed, flows, 0.0)
        for k in range(self.available.shape[0]):
            take = np.minimum(self.available[k], left)
            self.available[k] -= take
            left -= take
