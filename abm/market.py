"""Monthly market clearing: a spatial price equilibrium solved as one linear programme.

Every month firms post *offers* (tonnes at an ask, USD/kg, from the stock they hold) and
*bids* (tonnes at a reservation price, USD/kg) per good; a bid belongs to a demand node
``(region, end use)`` with end use ``civil`` or ``defense``. Offers are aggregated per
(good, origin region) and bids per (good, node) into at most ``max_steps`` price steps.
The clearing maximises total surplus (Samuelson 1952; Takayama and Judge 1971)::

    max  sum bid_k * d_k  -  sum ask_k * s_k  -  sum cost_(o,n) * f_(o,n)
    s.t. sum_k s_(g,o,k) = sum_n f_(g,o,n)        (origin balance; dual = origin price)
         sum_o f_(g,o,n) = sum_k d_(g,n,k)        (node balance;  dual = delivered price)
         0 <= f_(g,o,n) <= cap_(g,o,n)            (licences, embargoes, sourcing rules)
         sum_(g in G) sum_(n outside o) f <= Q    (export quotas, t REO per month)

with arc cost = transport + (import tariff + export duty) x reference origin price, so the
landed cost is ``price x (1 + ad valorem tariff) + transport``. The reference origin price
is found by fixed-point iteration from a reference price (re-solve while a taxed origin
price moves by more than 0.5%, at most ``max_solves`` solves); the model passes the previous
month's origin prices and one solve (customs value with a one-month lag). Solved with
scipy's HiGHS (``scipy.optimize.linprog(method="highs")``). Cleared quantities are
allocated back to offers in ascending-ask (merit) order and to bids in descending-bid order;
each delivered tonne carries the mass-weighted origin attributes of what its node received.
Cost is linear in the number of agents (sorting aside): the LP size depends only on goods,
regions and ``max_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

USES = ("civil", "defense")


class ClearingError(RuntimeError):
    """The clearing LP could not be solved (should not happen: zero trade is feasible)."""


@dataclass
class OrderBook:
    """Offers and bids of one month.

    Offers: ``(agent, good, origin, qty t, ask USD/kg, cm, ca)`` where ``cm`` and ``ca`` are
    the China-mined and China-any-stage shares of the offered stock. Bids: ``(agent, good,
    region, use, qty t, price USD/kg)``. End use: ``(good, region, use) -> t/month``, the
    planned use that bidders document (what a licence application may cover; inventory
    building is not an end use).
    """

    n_goods: int
    n_regions: int
    offers: list[tuple] = field(default_factory=list)
    bids: list[tuple] = field(default_factory=list)
    end_use: dict[tuple[int, int, int], float] = field(default_factory=dict)
    _offer_arr: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)), repr=False,
                                    compare=False)
    _bid_arr: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)), repr=False,
                                  compare=False)

    def offer(self, agent, good: int, region: int, qty: float, ask: float,
              cm: float, ca: float) -> None:
        """Post an offer (ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9:
            self.offers.append((agent, good, region, float(qty), float(ask), cm, ca))

    def bid(self, agent, good: int, region: int, qty: float, price: float,
            use: str = "civil") -> None:
        """Post a bid (ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9 and price > 0:
            self.bids.append((agent, good, region, USES.index(use), float(qty), float(price)))

    def offer_tranches(self, agent, good: int, region: int, qty: float, asks,
                       cm: float, ca: float) -> None:
        """Post one offer of ``qty`` t at each ask of ``asks`` (USD/kg), as :meth:`offer`
        does for each (all ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9:
            q = float(qty)
            self.offers.extend([(agent, good, region, q, float(ask), cm, ca) for ask in asks])

    def bid_tranches(self, agent, good: int, region: int, qty: float, prices,
                     use: str = "civil") -> None:
        """Post one bid of ``qty`` t at each price of ``prices`` (USD/kg), as :meth:`bid`
        does for each (all ignored when ``qty`` <= 1e-9 t; a price <= 0 is ignored)."""
        if qty > 1e-9:
            q, u = float(qty), USES.index(use)
            self.bids.extend([(agent, good, region, u, q, float(p)) for p in prices if p > 0])

    def declare_end_use(self, good: int, region: int, qty: float, use: str = "civil") -> None:
        """Document ``qty`` t/month of planned use of ``good`` at node ``(region, use)``."""
        if qty > 0:
            key = (good, region, USES.index(use))
            self.end_use[key] = self.end_use.get(key, 0.0) + float(qty)

    def offer_array(self) -> np.ndarray:
        """Offers as a float array (n_offers, 6): good, origin, qty, ask, cm, ca (book
        order; rebuilt only when offers were added since the last call)."""
        if len(self._offer_arr) != len(self.offers):
            self._offer_arr = np.array([o[1:] for o in self.offers], dtype=float).reshape(-1, 6)
        return self._offer_arr

    def bid_array(self) -> np.ndarray:
        """Bids as a float array (n_bids, 5): good, region, use, qty, price (book order;
        rebuilt only when bids were added since the last call)."""
        if len(self._bid_arr) != len(self.bids):
            self._bid_arr = np.array([b[1:] for b in self.bids], dtype=float).reshape(-1, 5)
        return self._bid_arr


@dataclass
class ArcTerms:
    """Trade terms of one month, built by :mod:`abm.policy`.

    Attributes:
        transport: (n_goods, n_regions, n_regions) USD/kg.
        ad_valorem: (n_goods, n_regions, n_regions) import tariff plus export duty on the
            arc origin -> destination, fraction.
        cap: (n_goods, n_regions, n_regions, 2) arc capacity per end use, t (inf = none).
        quotas: list of (good indices, origin, t per month) export quotas.
    """

    transport: np.ndarray
    ad_valorem: np.ndarray
    cap: np.ndarray
    quotas: list[tuple[list[int], int, float]] = field(default_factory=list)


@dataclass
class ClearingResult:
    """Outcome of one clearing.

    Attributes:
        flows: (n_goods, n_regions, n_regions, 2) tonnes shipped origin -> destination per use.
        origin_price: (n_goods, n_regions) USD/kg, NaN where nothing is offered.
        price: (n_goods, n_regions, 2) delivered price per node, USD/kg (NaN if undefined).
        offer_fill: tonnes sold per offer (same order as the book).
        bid_fill: tonnes received per bid.
        bid_attrs: (n_bids, 2) China-mined and China-any shares of each bid's delivery.
        bid_origin_share: (n_bids, n_regions) share of each bid's delivery from each origin.
        node_origin_share: (n_goods, n_regions, 2, n_regions) share of each demand node's
            receipts from each origin.
        solves: LP solves used (tariff fixed point).
    """

    flows: np.ndarray
    origin_price: np.ndarray
    price: np.ndarray
    offer_fill: np.ndarray
    bid_fill: np.ndarray
    bid_attrs: np.ndarray
    bid_origin_share: np.ndarray
    node_origin_share: np.ndarray
    solves: int = 1


def _group_steps(key: np.ndarray, qty: np.ndarray, price: np.ndarray, max_steps: int,
                 descending: bool):
    """Aggregate orders into at most ``max_steps`` price steps per key (vectorised).

    Returns ``(keys, order, grp, within_cum, step_grp, step_q, step_p)``: the unique keys,
    the sort order of the orders (by key, then price ascending or descending), each sorted
    order's group index and cumulative quantity within its group (inclusive), and per step
    its group index, tonnes and quantity-weighted price. Groups with more than ``max_steps``
    orders are binned into equal-quantity steps.
    """
    order = np.lexsort((-price if descending else price, key))
    k, q, p = key[order], qty[order], price[order]
    keys, start, counts = np.unique(k, return_index=True, return_counts=True)
    grp = np.repeat(np.arange(len(keys)), counts)
    cum = np.cumsum(q)
    base = np.repeat((cum - q)[start], counts)
    within = cum - base
    total = np.repeat(np.bincount(grp, weights=q), counts)
    rank = np.arange(len(k)) - np.repeat(start, counts)
    many = np.repeat(counts > max_steps, counts)
    mid = (within - 0.5 * q) / total
    bins = np.where(many, np.minimum((mid * max_steps).astype(np.int64), max_steps - 1), rank)
    width = int(max(max_steps, counts.max()))
    sid, inv = np.unique(grp.astype(np.int64) * width + bins, return_inverse=True)
    step_q = np.bincount(inv, weights=q)
    step_p = np.bincount(inv, weights=q * p) / step_q
    return keys, order, grp, within, sid // width, step_q, step_p


def clear(book: OrderBook, terms: ArcTerms, ref_price: np.ndarray, *,
          max_steps: int = 16, max_solves: int = 4,
          tolerance: float = 0.005) -> ClearingResult:
    """Clear all goods of one month at once.

    Args:
        book: the month's offers and bids.
        terms: transport, ad valorem rates, arc capacities and quotas.
        ref_price: (n_goods, n_regions) reference origin prices for the ad valorem terms,
            USD/kg (the previous month's origin prices).
        max_steps: most price steps per (good, origin) and per (good, node).
        max_solves: most LP solves of the fixed point between origin prices and the ad
            valorem terms (the first uses ``ref_price``).
        tolerance: relative change of a taxed origin price below which the fixed point stops.

    Returns:
        :class:`ClearingResult`.

    Raises:
        ClearingError: HiGHS failed.
    """
    ref = np.array(ref_price, dtype=float)
    result = _solve(book, terms, ref, max_steps)
    taxed = terms.ad_valorem > 0
    for attempt in range(2, max_solves + 1):
        active = (result.flows.sum(axis=3) > 1e-9) & taxed
        if not active.any():
            break
        new = np.where(np.isnan(result.origin_price), ref, result.origin_price)
        g, o, _ = np.nonzero(active)
        if not np.any(np.abs(new[g, o] - ref[g, o]) > tolerance * np.maximum(ref[g, o], 1e-9)):
            break
        ref = new
        result = _solve(book, terms, ref, max_steps)
        result.solves = attempt
    return result


def _solve(book: OrderBook, terms: ArcTerms, ref: np.ndarray, max_steps: int) -> ClearingResult:
    G, R = book.n_goods, book.n_regions
    offers, bids = book.offers, book.bids
    n_off, n_bid = len(offers), len(bids)
    flows = np.zeros((G, R, R, 2))
    origin_price = np.full((G, R), np.nan)
    price = np.full((G, R, 2), np.nan)
    offer_fill = np.zeros(n_off)
    bid_fill = np.zeros(n_bid)
    bid_attrs = np.zeros((n_bid, 2))
    bid_origin = np.zeros((n_bid, R))
    node_origin = np.zeros((G, R, 2, R))
    empty = ClearingResult(flows, origin_price, price, offer_fill, bid_fill, bid_attrs,
                           bid_origin, node_origin)
    if not n_off or not n_bid:
        return empty
    off = book.offer_array()      # g, r, q, ask, cm, ca
    bid = book.bid_array()        # g, r, u, q, price
    off_g, off_r = off[:, 0].astype(np.int64), off[:, 1].astype(np.int64)
    bid_g, bid_r, bid_u = (bid[:, 0].astype(np.int64), bid[:, 1].astype(np.int64),
                           bid[:, 2].astype(np.int64))
    okeys, oorder, ogrp, owithin, s_grp, s_q, s_p = _group_steps(
        off_g * R + off_r, off[:, 2], off[:, 3], max_steps, descending=False)
    nkeys, border, bgrp, bwithin, d_grp, d_q, d_p = _group_steps(
        (bid_g * R + bid_r) * 2 + bid_u, bid[:, 3], bid[:, 4], max_steps, descending=True)
    og, oo = np.divmod(okeys, R)
    ng, nr = np.divmod(nkeys // 2, R)
    nu = nkeys % 2
    # arcs: every (origin key, node key) pair of the same good with positive capacity
    ai, aj = [], []
    for g in np.intersect1d(og, ng):
        oi = np.nonzero(og == g)[0]
        nj = np.nonzero(ng == g)[0]
        ai.append(np.repeat(oi, len(nj)))
        aj.append(np.tile(nj, len(oi)))
    if not ai:
        return empty
    ai, aj = np.concatenate(ai), np.concatenate(aj)
    a_g, a_o, a_d, a_u = og[ai], oo[ai], nr[aj], nu[aj]
    a_cap = terms.cap[a_g, a_o, a_d, a_u]
    keep = a_cap > 1e-9
    ai, aj, a_g, a_o, a_d, a_u, a_cap = (x[keep] for x in (ai, aj, a_g, a_o, a_d, a_u, a_cap))
    if not len(ai):
        return empty
    a_cost = terms.transport[a_g, a_o, a_d] + terms.ad_valorem[a_g, a_o, a_d] * ref[a_g, a_o]
    nO, nN, nS, nD, nA = len(okeys), len(nkeys), len(s_q), len(d_q), len(ai)
    cost = np.concatenate([s_p, -d_p, a_cost])
    upper = np.concatenate([s_q, d_q, a_cap])
    upper[~np.isfinite(upper)] = np.inf
    col_s = np.arange(nS)
    col_d = nS + np.arange(nD)
    col_a = nS + nD + np.arange(nA)
    rows = np.concatenate([s_grp, nO + d_grp, ai, nO + aj])
    cols = np.concatenate([col_s, col_d, col_a, col_a])
    vals = np.concatenate([np.ones(nS), -np.ones(nD), -np.ones(nA), np.ones(nA)])
    A_eq = sp.csr_matrix((vals, (rows, cols)), shape=(nO + nN, nS + nD + nA))
    A_ub = b_ub = None
    if terms.quotas:
        qr, qc, qb = [], [], []
        for i, (goods, o, capq) in enumerate(terms.quotas):
            m = (a_o == o) & (a_d != o) & np.isin(a_g, goods)
            qr.append(np.full(m.sum(), i))
            qc.append(col_a[m])
            qb.append(capq)
        qr, qc = np.concatenate(qr), np.concatenate(qc)
        A_ub = sp.csr_matrix((np.ones(len(qr)), (qr, qc)), shape=(len(qb), len(cost)))
        b_ub = np.array(qb)
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.zeros(nO + nN),
                  bounds=np.column_stack([np.zeros(len(cost)), upper]), method="highs")
    if res.status != 0:
        raise ClearingError(f"market clearing failed: {res.message}")
    duals = res.eqlin.marginals
    x = np.where(res.x[col_a] > 1e-9, res.x[col_a], 0.0)
    origin_price[og, oo] = duals[:nO]
    price[ng, nr, nu] = duals[nO:]
    flows[a_g, a_o, a_d, a_u] = x

    # ---- allocate back: sellers in merit order, buyers in bid order -------------------
    sold = np.bincount(ai, weights=x, minlength=nO)
    fill_sorted = np.clip(sold[ogrp] - (owithin - off[oorder, 2]), 0.0, off[oorder, 2])
    offer_fill[oorder] = fill_sorted
    with np.errstate(invalid="ignore", divide="ignore"):
        attr_o = np.column_stack(
            [np.bincount(ogrp, weights=fill_sorted * off[oorder, 4], minlength=nO),
             np.bincount(ogrp, weights=fill_sorted * off[oorder, 5], minlength=nO)])
        attr_o = np.where(sold[:, None] > 0, attr_o / sold[:, None], 0.0)
    received = np.bincount(aj, weights=x, minlength=nN)
    share = np.zeros((nN, R))
    np.add.at(share, (aj, a_o), x)
    node_attr = np.zeros((nN, 2))
    np.add.at(node_attr, aj, x[:, None] * attr_o[ai])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(received[:, None] > 0, share / received[:, None], 0.0)
        node_attr = np.where(received[:, None] > 0, node_attr / received[:, None], 0.0)
    node_origin[ng, nr, nu] = share
    fill_b = np.clip(received[bgrp] - (bwithin - bid[border, 3]), 0.0, bid[border, 3])
    bid_fill[border] = fill_b
    bid_attrs[border] = node_attr[bgrp]
    bid_origin[border] = share[bgrp]
    return ClearingResult(flows, origin_price, price, offer_fill, bid_fill, bid_attrs,
                          bid_origin, node_origin)
