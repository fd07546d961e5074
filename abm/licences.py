"""Export-licence desk: applications, approvals after a review delay, and usable volumes.

For every licensed arc ``(good, exporter, destination, end use)`` buyers apply each month
for their *documented end use*: the planned use the buyers of the node declare with their
bids (t/month; :meth:`abm.market.OrderBook.declare_end_use`), times ``1 + 1.5 review``
(a pipeline covering this month and the longest review delay), less approved-unused and
pending volume. Inventory building (precautionary hoarding) is not an end use and is not
licensed: MOFCOM reviews each contract's end-user and end-use statement (MOFCOM/GAC
Announcement 18/2025; Dual-Use Items Export Control Regulations 2024, art. 13-16). The
licensed flow rises with the approval probability p, from nothing at p = 0 to the whole
end use at p = 1; denied volume is filed again the next month (measured with a 2.1-month
review: p = 0.1 lets about 37% of it through, p = 0.25 about 69%, p = 0.5 about 98%;
tests/test_licences.py).

The volume is split into one application per bid tranche of the node (a contract; each
firm bids in four tranches); each is approved
with the regime's probability for that destination (0 for defense end use under end-use
denial) after a review delay drawn uniformly in ``[review/2, 3 review/2]`` months, with
``review = licence_review_months`` (45 working days ~ 2.1 months: MOFCOM, 2025). Applications
are filed mid-month on average, so an approval is usable from month ``t + round(delay)``
(at least ``t + 1``: an application filed this month never ships this month; the first
approvals under the April 2025 regime were reported in early June, Reuters 2025-06-04).
Approved volume is usable for ``licence_validity_months`` and caps the arc in the market;
shipments draw it down oldest first. All draws use the model's generator.
"""

from __future__ import annotations

import numpy as np


class LicenceDesk:
    """Licence state for all arcs.

    Args:
        shape: ``(n_goods, n_regions, n_regions, 2)``.
        review_months: mean review delay, months (> 0); delays are uniform in
            ``[review/2, 3 review/2]``, whole months, at least 1.
        validity_months: months an approval stays usable.
    """

    def __init__(self, shape: tuple[int, int, int, int], review_months: float,
                 validity_months: int):
        if not review_months > 0:
            raise ValueError(f"review_months must be > 0, got {review_months}")
        self.review = float(review_months)
        self.max_delay = max(int(np.floor(1.5 * review_months + 0.5)), 1) + 1
        self.pending = np.zeros((self.max_delay,) + shape)
        self.available = np.zeros((validity_months,) + shape)
        self.applied = np.zeros(shape)       # this month's applications, t
        self.approved = np.zeros(shape)      # this month's approvals (decided), t
        self.delay_sum = np.zeros(shape)     # approved t x delay months, this month

    def start_month(self) -> None:
        """Age the queues: arrivals become usable, old approvals expire."""
        arrived = self.pending[0].copy()
        self.pending[:-1] = self.pending[1:]
        self.pending[-1] = 0.0
        self.available[:-1] = self.available[1:]
        self.available[-1] = arrived
        self.applied[:] = 0.0
        self.approved[:] = 0.0
        self.delay_sum[:] = 0.0

    def apply(self, licensed: np.ndarray, approval: np.ndarray, need: np.ndarray,
              buyers: np.ndarray, rng: np.random.Generator) -> None:
        """File and decide this month's applications.

        Args:
            licensed: bool (G, R, R, 2), arcs that need a licence now.
            approval: (G, R, R, 2) approval probability per application.
            need: (G, R, 2) documented end use per demand node, t/month.
            buyers: (G, R, 2) number of bid tranches per node (applications per arc).
            rng: the model's generator.
        """
        have = self.available.sum(axis=0) + self.pending.sum(axis=0)
        # buyers keep a pipeline of licences covering their end use over this month and the
        # longest review delay, less what is approved or pending
        cover = 1.0 + 1.5 * self.review
        want = np.where(licensed, np.maximum(need[:, None, :, :] * cover - have, 0.0), 0.0)
        idx = np.argwhere(want > 1e-9)          # (arcs, 4) in C order: the filing order
        if not len(idx):
            return
        cell = tuple(idx.T)
        vol = want[cell]
        n = np.maximum(buyers[idx[:, 0], idx[:, 2], idx[:, 3]].astype(int), 1)
        # the draws, arc by arc in filing order: n approval draws, then n review delays
        # (Generator.random and .uniform each consume one double per value, so one
        # stream of 2 x sum(n) doubles, split per arc, is the same sequence)
        end = np.cumsum(2 * n)
        draws = rng.random(int(end[-1]))
        first = end - 2 * n                          # each arc's first draw
        app = np.repeat(np.arange(len(n)), n)        # arc of each application
        k = np.arange(len(app)) - np.repeat(np.cumsum(n) - n, n)   # its rank in the arc
        u_ok = draws[first[app] + k]
        u_delay = draws[first[app] + n[app] + k]
        lo, hi = 0.5 * self.review, 1.5 * self.review
        ok = u_ok < approval[cell][app]
        # filed mid-month on average: usable from the month the approval arrives in
        delays = np.maximum(np.floor(lo + (hi - lo) * u_delay + 0.5), 1).astype(int)
        np.add.at(self.applied, cell, vol)
        # each approved application, in draw order: pending[k] becomes usable at the
        # start of month t + k + 1
        share = (vol / n)[app[ok]]
        dl = delays[ok]
        acell = tuple(idx[app[ok]].T)
        np.add.at(self.pending, (np.minimum(dl, self.max_delay) - 1,) + acell, share)
        np.add.at(self.approved, acell, share)
        np.add.at(self.delay_sum, acell, share * dl)

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

