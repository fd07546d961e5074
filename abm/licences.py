"""Export-licence desk: one application per shipment of one buyer, decided once; approvals
usable by that buyer only.

Mechanism (MOFCOM/GAC Announcement 18/2025; Dual-Use Items Export Control Regulations of
the PRC 2024, art. 13-16 and 21): every export of a controlled item needs a licence per
contract, whose application names the end user and the end use; the authority decides it
within 45 working days (about 2.1 months), approving or refusing it. An approval is used for
the shipment to the end user it names; a refused application is not reconsidered, the buyer
may apply again for a later shipment.

In the model a *buyer* is a firm buying one good for one end use (``civil`` or
``defense``) at its region; an *account* is a buyer's licences on one licensed arc
``(good, exporter, destination, end use)``. For every licensed arc each buyer that documents
an end use (its planned use this month, t/month: :class:`Claims`, built from
:meth:`abm.market.OrderBook.demand`) keeps its next shipments covered by applications: each
month ``t`` it applies for the shipments of months ``t .. t + h`` that none of its earlier
applications covers, where a shipment is one month of its documented end use and
``h = max(round(1.5 review), 1)`` is the longest review delay (so an approval can arrive
before the shipment is due). In steady state that is one new shipment a month; when a regime
starts, the whole pipeline of ``h + 1`` shipments is filed at once. Inventory building
(precautionary hoarding, speculative or state stocks) is not an end use and is not licensed.

Each shipment is split into one application per bid tranche the buyer posts at the node (a
contract; a firm bids in four tranches); each application is decided once: approved with the
regime's probability for the arc (its good, destination and end use) after a review delay
drawn uniformly in ``[review/2, 3 review/2]`` months (``review`` the arc's mean review
delay), or denied. Applications are filed mid-month on average, so an approval is usable from
month ``t + round(delay)`` (at least ``t + 1``: an application filed this month never ships
this month; the first approvals under the April 2025 regime were reported in early June,
Reuters 2025-06-04). Approved volume is usable for ``licence_validity_months`` by the buyer
that applied and no one else (:meth:`LicenceDesk.holdings`; the market gives each buyer a
capacity of its own on the arc, :func:`abm.market.clear`); its shipments draw it down oldest
first (:meth:`LicenceDesk.ship`). With a constant end use ``N`` the licensed flow is ``p N``
in steady state and the desk counts ``N`` of applications a month, each once. The draws come
from the model's generator, shipment by shipment in filing order (arcs in C order, then
buyers by id, then the shipment's month).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pipeline_months(review: np.ndarray | float) -> np.ndarray:
    """Longest review delay for a mean review delay, whole months: ``max(round(1.5 r), 1)``.

    Args:
        review: mean review delay(s), months (> 0).

    Returns:
        int array of the same shape: the number of months ahead buyers apply for.
    """
    return np.maximum(np.floor(1.5 * np.asarray(review, dtype=float) + 0.5), 1).astype(int)


@dataclass
class Claims:
    """This month's documented end use per buyer (what licence applications may cover).

    Attributes (one entry per buyer and node; arrays of one length):
        buyer: int id of the buyer (the agent's ``unique_id``).
        good, region, use: the demand node (good index, the buyer's region, 0 civil /
            1 defense).
        qty: documented end use, t/month (one shipment).
        tranches: bid tranches the buyer posts at the node (applications per shipment; at
            least 1 is filed).
    """

    buyer: np.ndarray
    good: np.ndarray
    region: np.ndarray
    use: np.ndarray
    qty: np.ndarray
    tranches: np.ndarray

    @classmethod
    def of(cls, rows) -> Claims:
        """From rows ``(buyer, good, region, use, qty, tranches)``; a buyer's rows at the
        same node are summed."""
        a = np.array(list(rows), dtype=float).reshape(-1, 6)
        if not len(a):
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z, z, np.zeros(0), np.zeros(0))
        key, inv = np.unique(a[:, :4], axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        qty = np.bincount(inv, weights=a[:, 4], minlength=len(key))
        n = np.bincount(inv, weights=a[:, 5], minlength=len(key))
        k = key.astype(np.int64)
        return cls(k[:, 0], k[:, 1], k[:, 2], k[:, 3], qty, n)


class LicenceDesk:
    """Licence state of every buyer on every licensed arc.

    Args:
        shape: ``(n_goods, n_regions, n_regions, 2)``.
        review_months: default mean review delay, months (> 0), used where :meth:`apply`
            gets no per-arc delays; delays are uniform in ``[review/2, 3 review/2]``,
            whole months, at least 1.
        validity_months: months an approval stays usable (>= 1).

    Raises:
        ValueError: ``review_months`` not > 0 or ``validity_months`` < 1.

    Accounts (one per buyer and licensed arc, added on first application, in filing order):
        acct_buyer: (A,) buyer id; acct_arc: (A, 4) good, exporter, destination, use.
        pending[k, a]: approved t arriving at the start of month t + 1 + k.
        available[k, a]: usable approved t, oldest first (expire after ``validity_months``).
        covered[k, a]: t of the buyer's shipment of month t + k already applied for.

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
        self.validity = int(validity_months)
        self._index: dict[tuple[int, int, int, int, int], int] = {}
        self.acct_buyer = np.zeros(0, dtype=np.int64)
        self.acct_arc = np.zeros((0, 4), dtype=np.int64)
        self.pending = np.zeros((self.max_delay, 0))
        self.available = np.zeros((self.validity, 0))
        self.covered = np.zeros((self.max_delay, 0))
        self.applied = np.zeros(self.shape)
        self.approved = np.zeros(self.shape)
        self.denied = np.zeros(self.shape)
        self.filed = np.zeros(self.shape)
        self.delay_sum = np.zeros(self.shape)

    # ------------------------------------------------------------------ accounts
    def _grow(self, n: int) -> None:
        """Lengthen the pending and covered queues to ``n`` months."""
        if n <= self.pending.shape[0]:
            return
        extra = np.zeros((n - self.pending.shape[0], self.pending.shape[1]))
        self.pending = np.concatenate([self.pending, extra])
        self.covered = np.concatenate([self.covered, extra.copy()])
        self.max_delay = n

    def accounts(self, buyer: np.ndarray, arc: np.ndarray) -> np.ndarray:
        """Indices of the accounts of ``buyer`` (B,) on ``arc`` (B, 4), opened (empty) where
        there is none yet, in the given order."""
        keys = [(int(b), *map(int, a)) for b, a in zip(buyer, arc, strict=True)]
        new = [k for k in dict.fromkeys(keys) if k not in self._index]
        if new:
            n0 = len(self.acct_buyer)
            for i, k in enumerate(new):
                self._index[k] = n0 + i
            nk = np.array(new, dtype=np.int64).reshape(-1, 5)
            self.acct_buyer = np.concatenate([self.acct_buyer, nk[:, 0]])
            self.acct_arc = np.concatenate([self.acct_arc, nk[:, 1:]])
            pad = ((0, 0), (0, len(new)))
            self.pending = np.pad(self.pending, pad)
            self.available = np.pad(self.available, pad)
            self.covered = np.pad(self.covered, pad)
        return np.array([self._index[k] for k in keys], dtype=np.int64)

    def _on(self, licensed: np.ndarray) -> np.ndarray:
        """(A,) bool: the account's arc is licensed now."""
        g, o, d, u = self.acct_arc.T
        return licensed[g, o, d, u]

    # ------------------------------------------------------------------ the month
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
        claims: Claims,
        rng: np.random.Generator,
        review: np.ndarray | None = None,
    ) -> None:
        """File and decide this month's applications (one per shipment, buyer and tranche).

        Args:
            licensed: bool (G, R, R, 2), arcs that need a licence now.
            approval: (G, R, R, 2) approval probability per application, in [0, 1].
            claims: documented end use per buyer (one shipment each).
            rng: the model's generator.
            review: (G, R, R, 2) mean review delay per arc, months (> 0 on licensed arcs);
                None: the desk's ``review_months`` everywhere.
        """
        rev = np.full(self.shape, self.review) if review is None else np.asarray(review, float)
        # a lapsed regime leaves nothing ahead: a new one starts a new pipeline
        if len(self.acct_buyer):
            self.covered[:, ~self._on(licensed)] = 0.0
        if not licensed.any() or not len(claims.qty):
            return
        # the (buyer, licensed arc) pairs of this month's claims: arcs in C order, then
        # buyers by id
        c_idx, o_idx = np.nonzero(licensed[claims.good, :, claims.region, claims.use])
        if not len(c_idx):
            return
        cg, cd, cu = claims.good[c_idx], claims.region[c_idx], claims.use[c_idx]
        order = np.lexsort((claims.buyer[c_idx], cu, cd, o_idx, cg))
        c_idx, o_idx, cg, cd, cu = (x[order] for x in (c_idx, o_idx, cg, cd, cu))
        arc = np.column_stack([cg, o_idx, cd, cu])
        h = pipeline_months(rev[cg, o_idx, cd, cu])
        self._grow(int(h.max()) + 1)
        acct = self.accounts(claims.buyer[c_idx], arc)
        # want[p, k]: uncovered volume of pair p's shipment of month t + k, for k <= h
        ks = np.arange(int(h.max()) + 1)
        ship = claims.qty[c_idx]
        want = np.where(
            ks[None, :] <= h[:, None],
            np.maximum(ship[:, None] - self.covered[: len(ks), acct].T, 0.0),
            0.0,
        )
        want = np.where(want > 1e-9, want, 0.0)
        p_idx, k_ship = np.nonzero(want)  # shipments in filing order
        if not len(p_idx):
            return
        vol = want[p_idx, k_ship]
        a_ship = acct[p_idx]
        self.covered[k_ship, a_ship] += vol
        cell = tuple(arc[p_idx].T)
        n = np.maximum(claims.tranches[c_idx][p_idx].astype(int), 1)
        # the draws, shipment by shipment in filing order: n approval draws, then n review
        # delays (one stream of 2 x sum(n) doubles, split per shipment)
        end = np.cumsum(2 * n)
        draws = rng.random(int(end[-1]))
        first = end - 2 * n
        app = np.repeat(np.arange(len(n)), n)  # shipment of each application
        k = np.arange(len(app)) - np.repeat(np.cumsum(n) - n, n)  # its rank in the shipment
        u_ok = draws[first[app] + k]
        u_delay = draws[first[app] + n[app] + k]
        r = rev[cell][app]
        ok = u_ok < approval[cell][app]
        # filed mid-month on average: usable from the month the approval arrives in
        delays = np.maximum(np.floor(0.5 * r + r * u_delay + 0.5), 1).astype(int)
        self._grow(int(delays.max()))
        share = (vol / n)[app]
        np.add.at(self.applied, cell, vol)
        np.add.at(self.filed, cell, n.astype(float))
        acell = tuple(arc[p_idx][app[ok]].T)
        np.add.at(self.pending, (delays[ok] - 1, a_ship[app[ok]]), share[ok])
        np.add.at(self.approved, acell, share[ok])
        np.add.at(self.delay_sum, acell, share[ok] * delays[ok])
        dcell = tuple(arc[p_idx][app[~ok]].T)
        np.add.at(self.denied, dcell, share[~ok])

    def holdings(self, licensed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Usable approvals per account on the arcs licensed now.

        Returns:
            ``(account, buyer, arc)``: account indices (K,), their buyers (K,) and arcs
            (K, 4) with usable approved volume > 1e-9 t, in account order; the volume is
            ``available.sum(axis=0)[account]``.
        """
        if not len(self.acct_buyer):
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros((0, 4), dtype=np.int64)
        have = (self.available.sum(axis=0) > 1e-9) & self._on(licensed)
        idx = np.nonzero(have)[0]
        return idx, self.acct_buyer[idx], self.acct_arc[idx]

    def cap(self, licensed: np.ndarray) -> np.ndarray:
        """Usable approved volume summed over buyers per arc on licensed arcs, inf elsewhere
        (t); a diagnostic: in the market each buyer may use its own approvals only."""
        tot = np.zeros(self.shape)
        if len(self.acct_buyer):
            np.add.at(tot, tuple(self.acct_arc.T), self.available.sum(axis=0))
        return np.where(licensed, tot, np.inf)

    def ship(self, used: np.ndarray) -> None:
        """Draw each account's shipped volume ``used`` (A,) t from its oldest usable
        approvals first."""
        left = np.asarray(used, dtype=float).copy()
        for k in range(self.available.shape[0]):
            take = np.minimum(self.available[k], left)
            self.available[k] -= take
            left -= take
