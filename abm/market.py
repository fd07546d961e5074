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
is found by fixed-point iteration from the previous month's price (re-solve while a taxed
origin price moves by more than 0.5%, at most four solves). Solved with
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
    region, use, qty t, price USD/kg)``.
    """

    n_goods: int
    n_regions: int
    offers: list[tuple] = field(default_factory=list)
    bids: list[tuple] = field(default_factory=list)

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
        bid_origin: per bid, (n_regions,) share of its delivery from each origin.
    """

    flows: np.ndarray
    origin_price: np.ndarray
    price: np.ndarray
    offer_fill: np.ndarray
    bid_fill: np.ndarray
    bid_attrs: np.ndarray
    bid_origin_share: np.ndarray
    node_origin_share: np.ndarray  # (n_goods, n_regions, 2, n_regions)
    solves: int = 1


def _steps(qty: np.ndarray, price: np.ndarray, max_steps: int, descending: bool):
    order = np.argsort(-price if descending else price, kind="stable")
    q, p = qty[order], price[order]
    if len(q) <= max_steps:
        return q, p
    cum = np.cumsum(q)
    edges = np.searchsorted(cum, np.linspace(0, cum[-1], max_steps + 1)[1:-1], side="right")
    bins = np.split(np.arange(len(q)), edges)
    qs = np.array([q[b].sum() for b in bins if len(b)])
    ps = np.array([(q[b] * p[b]).sum() / q[b].sum() for b in bins if len(b)])
    return qs, ps


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
    off_g = np.array([o[1] for o in offers], dtype=int)
    off_r = np.array([o[2] for o in offers], dtype=int)
    off_q = np.array([o[3] for o in offers])
    off_p = np.array([o[4] for o in offers])
    bid_g = np.array([b[1] for b in bids], dtype=int)
    bid_r = np.array([b[2] for b in bids], dtype=int)
    bid_u = np.array([b[3] for b in bids], dtype=int)
    bid_q = np.array([b[4] for b in bids])
    bid_p = np.array([b[5] for b in bids])

    cost: list[float] = []
    ub: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    n_eq = 0
    origin_row: dict[tuple[int, int], int] = {}
    node_row: dict[tuple[int, int, int], int] = {}
    arc_cols: list[tuple[int, int, int, int, int]] = []  # (col, g, o, d, u)

    def var(c: float, u: float) -> int:
        cost.append(c)
        ub.append(u)
        return len(cost) - 1

    key_off = off_g * R + off_r if len(offers) else np.array([], dtype=int)
    key_bid = (bid_g * R + bid_r) * 2 + bid_u if len(bids) else np.array([], dtype=int)
    for k in np.unique(key_off):
        g, o = divmod(int(k), R)
        m = key_off == k
        q, p = _steps(off_q[m], off_p[m], max_steps, descending=False)
        origin_row[(g, o)] = n_eq
        for qi, pi in zip(q, p):
            j = var(pi, qi)
            rows.append(n_eq), cols.append(j), vals.append(1.0)
        n_eq += 1
    for k in np.unique(key_bid):
        gr, u = divmod(int(k), 2)
        g, d = divmod(gr, R)
        m = key_bid == k
        q, p = _steps(bid_q[m], bid_p[m], max_steps, descending=True)
        node_row[(g, d, u)] = n_eq
        for qi, pi in zip(q, p):
            j = var(-pi, qi)
            rows.append(n_eq), cols.append(j), vals.append(-1.0)
        n_eq += 1
    for (g, d, u), nrow in node_row.items():
        for o in range(R):
            orow = origin_row.get((g, o))
            if orow is None:
                continue
            capv = terms.cap[g, o, d, u]
            if capv <= 1e-9:
                continue
            c = terms.transport[g, o, d] + terms.ad_valorem[g, o, d] * ref[g, o]
            j = var(c, capv)
            rows.extend((orow, nrow)), cols.extend((j, j)), vals.extend((-1.0, 1.0))
            arc_cols.append((j, g, o, d, u))
    n = len(cost)
    G_, R_ = G, R
    flows = np.zeros((G_, R_, R_, 2))
    origin_price = np.full((G_, R_), np.nan)
    price = np.full((G_, R_, 2), np.nan)
    offer_fill = np.zeros(len(offers))
    bid_fill = np.zeros(len(bids))
    bid_attrs = np.zeros((len(bids), 2))
    bid_origin = np.zeros((len(bids), R_))
    node_origin = np.zeros((G_, R_, 2, R_))
    if n == 0 or not arc_cols:
        return ClearingResult(flows, origin_price, price, offer_fill, bid_fill, bid_attrs,
                              bid_origin, node_origin)
    A_eq = sp.csr_matrix((vals, (rows, cols)), shape=(n_eq, n))
    b_eq = np.zeros(n_eq)
    A_ub = b_ub = None
    if terms.quotas:
        qr, qc, qv, qb = [], [], [], []
        for i, (goods, o, capq) in enumerate(terms.quotas):
            gs = set(goods)
            for (j, g, oo, d, _u) in arc_cols:
                if oo == o and d != o and g in gs:
                    qr.append(i), qc.append(j), qv.append(1.0)
            qb.append(capq)
        if qr:
            A_ub = sp.csr_matrix((qv, (qr, qc)), shape=(len(terms.quotas), n))
            b_ub = np.array(qb)
    bounds = np.column_stack([np.zeros(n), np.array(ub)])
    bounds[~np.isfinite(bounds[:, 1]), 1] = np.inf
    res = linprog(np.array(cost), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                  bounds=bounds, method="highs")
    if res.status != 0:
        raise ClearingError(f"market clearing failed: {res.message}")
    x = res.x
    duals = res.eqlin.marginals
    for (g, o), r in origin_row.items():
        origin_price[g, o] = duals[r]
    for (g, d, u), r in node_row.items():
        price[g, d, u] = duals[r]
    for (j, g, o, d, u) in arc_cols:
        flows[g, o, d, u] = x[j] if x[j] > 1e-9 else 0.0

    # ---- allocate back: sellers in merit order, buyers in bid order -------------------
    sold = flows.sum(axis=(2, 3))                                  # (G, R)
    attr_sum = np.zeros((G_, R_, 2))
    for k in np.unique(key_off):
        g, o = divmod(int(k), R_)
        idx = np.nonzero(key_off == k)[0]
        idx = idx[np.argsort(off_p[idx], kind="stable")]
        left = sold[g, o]
        for i in idx:
            take = min(off_q[i], left)
            if take <= 0:
                break
            offer_fill[i] = take
            left -= take
            attr_sum[g, o, 0] += take * offers[i][5]
            attr_sum[g, o, 1] += take * offers[i][6]
    with np.errstate(invalid="ignore", divide="ignore"):
        origin_attr = np.where(sold[..., None] > 0, attr_sum / sold[..., None], 0.0)
    received = flows.sum(axis=1)                                   # (G, R_dest, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        node_origin = np.where(received[:, None, :, :] > 0,
                               flows / received[:, None, :, :], 0.0)  # (G, O, D, U)
    node_origin = np.transpose(node_origin, (0, 2, 3, 1))           # (G, D, U, O)
    for k in np.unique(key_bid):
        gr, u = divmod(int(k), 2)
        g, d = divmod(gr, R_)
        idx = np.nonzero(key_bid == k)[0]
        idx = idx[np.argsort(-bid_p[idx], kind="stable")]
        left = received[g, d, u]
        share = node_origin[g, d, u]
        attrs = share @ origin_attr[g]
        for i in idx:
            take = min(bid_q[i], left)
            if take <= 0:
                break
            bid_fill[i] = take
            left -= take
            bid_attrs[i] = attrs
            bid_origin[i] = share
    return ClearingResult(flows, origin_price, price, offer_fill, bid_fill, bid_attrs,
                          bid_origin, node_origin)
