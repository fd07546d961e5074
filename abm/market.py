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
         sum_(g in G) sum_(o outside d) f <= M    (import quotas of region d, t per month)

with arc cost = transport + (import tariff + export duty) x reference origin price, so the
landed cost is ``price x (1 + ad valorem tariff) + transport``. The reference origin price
is found by fixed-point iteration from a reference price (re-solve while a taxed origin
price moves by more than 0.5%, at most ``max_solves`` solves); the model passes the previous
month's origin prices and one solve (customs value with a one-month lag). Solved with
scipy's HiGHS (``scipy.optimize.linprog(method="highs")``). Cleared quantities are
allocated back to offers in ascending-ask (merit) order and to bids in descending-bid order;
each delivered tonne carries the mass-weighted origin attributes of what its node received.

Export licences (:mod:`abm.licences`) are usable only by the buyer that applied
(:class:`Holdings`). A licensed arc's ``cap`` is what needs no licence (0, or the days
before a regime's date in its first month), shared by all bidders of the node. On contract
a buyer's nomination to a licensed origin is delivered up to its own approvals. On spot
each buyer with usable approvals is a demand node of its own (a *sub-node*: its bids, the
node's arcs, plus one arc per holding from the licensed origin capped at its approvals);
a finite arc capacity shared by a node's sub-nodes gets one row ``sum f <= cap``. So a
licensed tonne reaches only its holder's bids, at most what the holder bids for at the
price, and rationing under licences falls on the buyers refused, not on the lowest bids;
unlicensed arcs clear as above. Without usable approvals the LP is exactly the one above.
The node's quote is the highest dual of its sub-nodes.

Cost is linear in the number of agents (sorting aside): the LP size depends on goods,
regions and ``max_steps``, and under licences on the number of licence holders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

USES = ("civil", "defense")
_USE_INDEX = {u: i for i, u in enumerate(USES)}


def _use_index(use: str) -> int:
    """Index of ``use`` in :data:`USES` (ValueError for any other name)."""
    u = _USE_INDEX.get(use)
    return USES.index(use) if u is None else u


class ClearingError(RuntimeError):
    """The clearing LP could not be solved (should not happen: zero trade is feasible)."""


@dataclass
class OrderBook:
    """Offers and bids of one month.

    Offers: ``(agent, good, origin, qty t, ask USD/kg, cm, ca)`` where ``cm`` and ``ca`` are
    the China-mined and China-any-stage shares of the offered stock. Bids: ``(agent, good,
    region, use, qty t, price USD/kg, nomination)``, ``nomination`` the index of the buyer's
    contract nomination the bid belongs to (-1: spot only). Nominations: ``(good, region,
    use, qty t)``, the tonnes a buyer asks its contracted suppliers for this month
    (:mod:`abm.sourcing`); ``nomination_agent`` the buyer of each (None: not known).
    Claims: ``(agent, good, region, use, t/month)``, the planned use each bidder documents
    (what its own licence applications may cover, :class:`abm.licences.Claims`; inventory
    building is not an end use; agent None: documented but claimed by no buyer);
    :attr:`end_use` sums them per node.
    """

    n_goods: int
    n_regions: int
    offers: list[tuple] = field(default_factory=list)
    bids: list[tuple] = field(default_factory=list)
    nominations: list[tuple[int, int, int, float]] = field(default_factory=list)
    nomination_agent: list = field(default_factory=list)
    claims: list[tuple] = field(default_factory=list)
    owners: list[tuple] = field(default_factory=list)
    offer_owner: list[int] = field(default_factory=list)
    bid_owner: list[int] = field(default_factory=list)
    _owner_index: dict = field(default_factory=dict, repr=False, compare=False)
    _offer_arr: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 6)), repr=False, compare=False
    )
    _bid_arr: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 6)), repr=False, compare=False
    )
    # the array columns of offers and bids as one flat list of floats, row after row,
    # appended with each order (a list of floats converts to an array several times
    # faster than the tuples)
    _offer_flat: list = field(default_factory=list, repr=False, compare=False)
    _bid_flat: list = field(default_factory=list, repr=False, compare=False)
    #: highest derived-demand value a buyer declared per good this month, USD/kg
    #: (good -> value; :meth:`note_value`)
    top_value: dict = field(default_factory=dict)

    def note_value(self, good: int, value: float) -> None:
        """Record a buyer's derived-demand value of ``good`` (USD/kg: what a kilogram
        missing from its use would cost it); :attr:`top_value` keeps the highest, the
        choke price of the month's demand schedule."""
        if value > self.top_value.get(good, 0.0):
            self.top_value[good] = float(value)

    def owner(self, agent, good: int) -> int:
        """Index of the pair ``(agent, good)`` in :attr:`owners` (added on first use); each
        offer and bid row records its owner, so settlement can add fills per pair."""
        key = (agent, good)
        i = self._owner_index.get(key)
        if i is None:
            i = self._owner_index[key] = len(self.owners)
            self.owners.append(key)
        return i

    def offer(
        self, agent, good: int, region: int, qty: float, ask: float, cm: float, ca: float
    ) -> None:
        """Post an offer (ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9:
            self.offers.append((agent, good, region, float(qty), float(ask), cm, ca))
            self._offer_flat.extend(
                (float(good), float(region), float(qty), float(ask), float(cm), float(ca))
            )
            self.offer_owner.append(self.owner(agent, good))

    def bid(
        self, agent, good: int, region: int, qty: float, price: float, use: str = "civil"
    ) -> None:
        """Post a bid (ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9 and price > 0:
            self.bids.append((agent, good, region, _use_index(use), float(qty), float(price), -1))
            self._bid_flat.extend(
                (float(good), float(region), float(_use_index(use)), float(qty), float(price), -1.0)
            )
            self.bid_owner.append(self.owner(agent, good))

    def offer_tranches(
        self, agent, good: int, region: int, qty: float, asks, cm: float, ca: float
    ) -> None:
        """Post one offer of ``qty`` t at each ask of ``asks`` (USD/kg), as :meth:`offer`
        does for each (all ignored when ``qty`` <= 1e-9 t)."""
        if qty > 1e-9:
            q = float(qty)
            asks = [float(ask) for ask in asks]
            self.offers.extend([(agent, good, region, q, ask, cm, ca) for ask in asks])
            fg, fr, fcm, fca = float(good), float(region), float(cm), float(ca)
            self._offer_flat.extend([x for ask in asks for x in (fg, fr, q, ask, fcm, fca)])
            self.offer_owner.extend([self.owner(agent, good)] * len(asks))

    def bid_tranches(
        self, agent, good: int, region: int, qty, prices, use: str = "civil", nomination: int = -1
    ) -> None:
        """Post one bid per price of ``prices`` (USD/kg) of ``qty`` t each (a number, or one
        per price), as :meth:`bid` does for each (tranches of <= 1e-9 t or at a price <= 0
        are ignored); ``nomination``: the buyer's contract nomination (:meth:`nominate`)."""
        u = _use_index(use)
        if isinstance(qty, (int, float)):
            if qty <= 1e-9:
                return
            q = float(qty)
            rows = [(agent, good, region, u, q, float(p), nomination) for p in prices if p > 0]
        else:
            rows = [
                (agent, good, region, u, float(q), float(p), nomination)
                for q, p in zip(qty, prices, strict=True)
                if q > 1e-9 and p > 0
            ]
        self.bids.extend(rows)
        self._bid_flat.extend([float(x) for r in rows for x in r[1:]])
        self.bid_owner.extend([self.owner(agent, good)] * len(rows))

    def demand(
        self,
        agent,
        good: int,
        region: int,
        planned: float,
        nominated: float,
        qty: float,
        prices,
        use: str = "civil",
    ) -> None:
        """One buyer's demand for ``good`` this month, as :meth:`declare_end_use` of
        ``planned`` t, :meth:`nominate` of ``nominated`` t and :meth:`bid_tranches` of
        ``qty`` t at each price of ``prices`` (USD/kg) under that nomination would post it
        (one call instead of three: the order methods run several hundred times a month)."""
        u = _use_index(use)
        if planned > 0:
            self.claims.append((agent, good, region, u, float(planned)))
        nom = len(self.nominations)
        self.nominations.append((good, region, u, max(float(nominated), 0.0)))
        self.nomination_agent.append(agent)
        if qty <= 1e-9:
            return
        q = float(qty)
        prices = [float(p) for p in prices if p > 0]
        self.bids.extend([(agent, good, region, u, q, p, nom) for p in prices])
        fg, fr, fu, fn = float(good), float(region), float(u), float(nom)
        self._bid_flat.extend([x for p in prices for x in (fg, fr, fu, q, p, fn)])
        self.bid_owner.extend([self.owner(agent, good)] * len(prices))

    def nominate(self, good: int, region: int, qty: float, use: str = "civil", agent=None) -> int:
        """Record a contract nomination of ``qty`` t (>= 0) at node ``(good, region, use)``
        by ``agent`` (None: a buyer not known); returns its index, to pass to
        :meth:`bid_tranches`."""
        self.nominations.append((good, region, _use_index(use), max(float(qty), 0.0)))
        self.nomination_agent.append(agent)
        return len(self.nominations) - 1

    def declare_end_use(
        self, good: int, region: int, qty: float, use: str = "civil", agent=None
    ) -> None:
        """Document ``qty`` t/month of planned use of ``good`` at node ``(region, use)``, by
        ``agent`` (None: not claimed by a buyer, so no licence application covers it)."""
        if qty > 0:
            self.claims.append((agent, good, region, _use_index(use), float(qty)))

    @property
    def end_use(self) -> dict[tuple[int, int, int], float]:
        """Documented end use per demand node, ``(good, region, use) -> t/month`` (the
        claims summed, in the order their nodes first appear)."""
        out: dict[tuple[int, int, int], float] = {}
        for _agent, g, r, u, q in self.claims:
            out[(g, r, u)] = out.get((g, r, u), 0.0) + q
        return out

    def owner_of(self, agent, good: int) -> int:
        """Index of ``(agent, good)`` in :attr:`owners`, -1 if it posted no order."""
        return self._owner_index.get((agent, good), -1)

    def offer_array(self) -> np.ndarray:
        """Offers as a float array (n_offers, 6): good, origin, qty, ask, cm, ca (book
        order; rebuilt only when offers were added since the last call)."""
        if len(self._offer_arr) != len(self.offers):
            flat = self._offer_flat
            self._offer_arr = (
                np.array(flat, dtype=float)
                if len(flat) == 6 * len(self.offers)
                else np.array([o[1:] for o in self.offers], dtype=float)
            ).reshape(-1, 6)
        return self._offer_arr

    def bid_array(self) -> np.ndarray:
        """Bids as a float array (n_bids, 6): good, region, use, qty, price, nomination
        (book order; rebuilt only when bids were added since the last call)."""
        if len(self._bid_arr) != len(self.bids):
            flat = self._bid_flat
            self._bid_arr = (
                np.array(flat, dtype=float)
                if len(flat) == 6 * len(self.bids)
                else np.array([b[1:] for b in self.bids], dtype=float)
            ).reshape(-1, 6)
        return self._bid_arr

    def nomination_array(self) -> np.ndarray:
        """Nominations as a float array (n, 4): good, region, use, qty."""
        return np.array(self.nominations, dtype=float).reshape(-1, 4)


@dataclass
class ArcTerms:
    """Trade terms of one month, built by :mod:`abm.policy`.

    Attributes:
        transport: (n_goods, n_regions, n_regions) USD/kg.
        ad_valorem: (n_goods, n_regions, n_regions) import tariff plus export duty on the
            arc origin -> destination, fraction.
        cap: (n_goods, n_regions, n_regions, 2) arc capacity per end use, t (inf = none).
        quotas: list of (good indices, origin, t per month) export quotas.
        import_quotas: list of (good indices, destination, t per month) import quotas (the
            destination's imports from all other regions).
        export_duty: (n_goods, n_regions) export duty of each origin, fraction (the part
            of ``ad_valorem`` that evasion avoids); None: no export duties.
        evadable: (n_goods, n_regions) bool, the (good, origin) cells whose exports are
            under an export quota or an export duty and can be smuggled; None: none.
        evasion: ``(cover ratio, cost share)`` steps of the evasion supply: at each step,
            up to ``cover ratio`` t smuggled per t of recorded exports of the cell, at a
            resource cost of ``cost share`` x the reference origin price (Pitt 1981: legal
            trade as cover; Bhagwati and Hansen 1973: smuggling at a real cost).
        covered: (n_goods, n_regions) recorded exports already delivered this month outside
            the spot LP (on contract), t: they give cover too; None: none.
    """

    transport: np.ndarray
    ad_valorem: np.ndarray
    cap: np.ndarray
    quotas: list[tuple[list[int], int, float]] = field(default_factory=list)
    import_quotas: list[tuple[list[int], int, float]] = field(default_factory=list)
    export_duty: np.ndarray | None = None
    evadable: np.ndarray | None = None
    evasion: tuple[tuple[float, float], ...] = ()
    covered: np.ndarray | None = None


@dataclass
class Holdings:
    """Usable export licences per buyer for one clearing (:class:`abm.licences.LicenceDesk`).

    Attributes:
        licensed: (n_goods, n_regions, n_regions, 2) bool, the arcs that need a licence.
        owner: (K,) the buyer of each holding: its index in :attr:`OrderBook.owners` (the
            pair (agent, good)); the buyer's bids and nominations at the node of ``arc``
            may use it.
        arc: (K, 4) good, exporter, destination, use (the destination is the buyer's
            region, the good its owner's good).
        qty: (K,) usable approved tonnes.
    """

    licensed: np.ndarray
    owner: np.ndarray
    arc: np.ndarray
    qty: np.ndarray


@dataclass
class ClearingResult:
    """Outcome of one clearing (contracts and spot together).

    Attributes:
        flows: (n_goods, n_regions, n_regions, 2) tonnes shipped origin -> destination per
            use (contract plus spot).
        origin_price: (n_goods, n_regions) spot origin price (FOB) of the residual spot
            market, USD/kg, NaN where nothing is offered on spot.
        price: (n_goods, n_regions, 2) marginal spot quote per demand node (delivered),
            USD/kg, NaN where undefined.
        offer_fill: tonnes sold per offer (same order as the book), contract plus spot.
        bid_fill: tonnes received per bid.
        bid_attrs: (n_bids, 2) China-mined and China-any shares of each bid's delivery.
        bid_origin_share: (n_bids, n_regions) share of each bid's delivery from each origin.
        node_origin_share: (n_goods, n_regions, 2, n_regions) share of each demand node's
            receipts from each origin.
        solves: LP solves used (tariff fixed point).
        contract: (n_goods, n_regions, n_regions, 2) tonnes delivered on contract (zeros
            without supplier relationships).
        contract_wanted: the same shape, tonnes nominated on contract per arc.
        paid_price: (n_goods, n_regions, 2) volume-weighted delivered price paid per node,
            contract and spot together, USD/kg (NaN where nothing was received).
        received_price: (n_goods, n_regions) volume-weighted FOB price received per origin
            for the goods (contract index and spot origin price; the export licence price,
            the licence's own value, is not in it), USD/kg (NaN where nothing was sold).
        offer_price: (n_offers,) FOB price realised per offer, the export licence price on
            the origin's cross-border spot share included, USD/kg (NaN if unfilled).
        spot_sold: (n_goods, n_regions) tonnes sold on spot per origin.
        licence_price: (n_goods, n_regions) price of the export licence that a tonne of
            a good shipped abroad from an origin under an export quota needs, USD/kg: minus
            the duals of the quota rows covering it in the spot LP (0 where no quota
            binds). Exporters hold the licences, so cross-border spot sales realise the
            origin price plus the licence price (``offer_price``).
        spot_value: (n_goods, n_regions, 2) spot tonnes x delivered price per node, summed
            over the node's buyer groups at each group's price, and over licensed tonnes
            at their landed cost from the origin price (the approval's rent is its
            holder's), USD/kg x t (None: the node price applies to all its spot receipts).
        licence_used: (K,) tonnes shipped under each holding of :class:`Holdings`,
            contract and spot (None without holdings).
        smuggled: (n_goods, n_regions, n_regions, 2) tonnes of ``flows`` shipped outside
            the customs record (export evasion, :class:`ArcTerms` ``evasion``; always
            spot), None where the spot LP had no evasion column (no evadable cell with an
            open arc of unlimited capacity, or no spot offers or bids). Recorded trade is
            ``flows - smuggled``.
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
    contract: np.ndarray | None = None
    contract_wanted: np.ndarray | None = None
    paid_price: np.ndarray | None = None
    received_price: np.ndarray | None = None
    offer_price: np.ndarray | None = None
    spot_sold: np.ndarray | None = None
    licence_price: np.ndarray | None = None
    spot_value: np.ndarray | None = None
    licence_used: np.ndarray | None = None
    smuggled: np.ndarray | None = None


#: Largest cost perturbation (USD/kg) used to break ties between LP columns in a fixed
#: order, so that the spot allocation is unique and does not depend on the solver path.
TIE_BREAK = 1e-6


def _group_steps(
    key: np.ndarray, qty: np.ndarray, price: np.ndarray, max_steps: int, descending: bool
):
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


def clear(
    book: OrderBook,
    terms: ArcTerms,
    ref_price: np.ndarray,
    *,
    relations=None,
    licences: Holdings | None = None,
    max_steps: int = 16,
    max_solves: int = 4,
    tolerance: float = 0.005,
) -> ClearingResult:
    """Clear all goods of one month: contracts first, then the spot market.

    With ``relations`` (:class:`abm.sourcing.SupplierRelations`), each node's contract
    nomination is delivered from its contracted origins at the origins' contract price
    index (:meth:`~abm.sourcing.SupplierRelations.allocate`, customer-market deliveries
    included: those on unlicensed arcs go to the node's nominations pro rata to what the
    first round left them short); offers are drawn pro rata within each origin, and each
    buyer's bids are reduced by its contract receipts from its highest-priced tranche
    down. The residual offers and bids clear on the spot market (the LP of the module
    docstring) over the remaining arc capacity and quota, on arcs from origins the node
    has qualified; there every origin but the reference market is priced at no more than
    its list price (:meth:`~abm.sourcing.SupplierRelations.list_price`: paid, received and
    realised prices; the quotes stay the duals). Without ``relations`` everything clears
    on spot.

    With ``licences``, a licensed arc carries for each buyer at most the buyer's own usable
    approvals (``terms.cap`` on licensed arcs is what needs no licence, shared by all: the
    days before a regime's date). On contract a buyer's nomination to a licensed origin is
    delivered up to its approvals there (``min(nominated x contract share, approved)``,
    then the arc's quota and supply bounds pro rata); nominations to unlicensed origins as
    without licences. On spot each buyer with usable approvals left is a demand node of its
    own (its bids, at the node's costs and arcs) with one more arc per licensed origin,
    capped at those approvals; the other bidders of the node keep the node (module
    docstring).

    Args:
        book: the month's offers, bids and nominations.
        terms: transport, ad valorem rates, arc capacities and quotas.
        ref_price: (n_goods, n_regions) reference origin prices for the ad valorem terms,
            USD/kg (the previous month's origin prices).
        relations: supplier relationships, or None.
        licences: usable export licences per buyer, or None (no buyer holds any).
        max_steps: most price steps per (good, origin) and per (good, node).
        max_solves: most LP solves of the fixed point between origin prices and the ad
            valorem terms (the first uses ``ref_price``).
        tolerance: relative change of a taxed origin price below which the fixed point stops.

    Returns:
        :class:`ClearingResult` (``licence_used`` set with ``licences``).

    Raises:
        ClearingError: HiGHS failed.
    """
    G, R = book.n_goods, book.n_regions
    off = book.offer_array().copy()
    bid = book.bid_array().copy()
    ref = np.array(ref_price, dtype=float)
    n_off, n_bid = len(off), len(bid)
    wanted = contract = np.zeros((G, R, R, 2))
    c_fill_off = np.zeros(n_off)
    c_fill_bid = np.zeros(n_bid)
    c_attr = np.zeros((G, R, 2, 2))
    c_share = np.zeros((G, R, 2, R))
    cap, quotas, imports = terms.cap, list(terms.quotas), list(terms.import_quotas)
    lic = licences if licences is not None and len(licences.qty) else None
    if lic is not None:
        # holders: one per (buyer, use); a_h the holder of each holding
        a_g, a_o, a_d, a_u = (lic.arc[:, i].astype(np.int64) for i in range(4))
        h_key, a_h = np.unique(np.asarray(lic.owner, dtype=np.int64) * 2 + a_u, return_inverse=True)
        a_h = a_h.reshape(-1)
        a_left = np.asarray(lic.qty, dtype=float).copy()
        used = np.zeros(len(a_left))
    supply = np.zeros((G, R))
    if n_off:
        og_, oo_ = off[:, 0].astype(np.int64), off[:, 1].astype(np.int64)
        supply = np.bincount(og_ * R + oo_, weights=off[:, 2], minlength=G * R).reshape(G, R)
    if relations is not None and n_off and n_bid and book.nominations:
        nom = book.nomination_array()
        # a nomination is delivered at most what its bids ask for: the contract round fills
        # bids, and tonnes delivered beyond them were counted in no bid fill (a 1e-9 t
        # nomination, too small to post a bid, broke the mass balance; kept as a test)
        b_nom = bid[:, 5].astype(np.int64)
        has = b_nom >= 0
        nom[:, 3] = np.minimum(
            nom[:, 3], np.bincount(b_nom[has], weights=bid[has, 3], minlength=len(nom))
        )
        ng_, nr_, nu_ = (nom[:, i].astype(np.int64) for i in range(3))
        node_nom = np.bincount(
            (ng_ * R + nr_) * 2 + nu_, weights=nom[:, 3], minlength=G * R * 2
        ).reshape(G, R, 2)
        if lic is None:
            wanted, contract = relations.allocate(node_nom, supply, cap, quotas, imports)
            extra = relations.customer_delivered
        else:
            # a buyer's nomination to a licensed origin is delivered up to its approvals
            shares = relations.origin_shares(supply)  # [g, d, u, o]
            n_h = _holder_index(_nomination_owner(book), nom[:, 2], h_key)  # -1: none
            hn = n_h >= 0
            h_nom = np.bincount(n_h[hn], weights=nom[hn, 3], minlength=len(h_key))
            allow = np.minimum(h_nom[a_h] * shares[a_g, a_d, a_u, a_o], a_left)
            c_lic = np.zeros((G, R, R, 2))
            np.add.at(c_lic, (a_g, a_o, a_d, a_u), allow)
            lic_cap = np.where(lic.licensed, c_lic, cap)
            wanted, contract = relations.allocate(node_nom, supply, lic_cap, quotas, imports)
            # customer-market deliveries on licensed arcs draw on approvals like the first
            # round's; those on the other arcs go to the nominations left short (below)
            extra = np.where(lic.licensed, 0.0, relations.customer_delivered)
            first = contract - extra
            with np.errstate(divide="ignore", invalid="ignore"):
                phi = np.where(c_lic > 0, contract / np.where(c_lic > 0, c_lic, 1.0), 0.0)
                ratio_u = np.where(
                    ~lic.licensed & (wanted > 0), first / np.where(wanted > 0, wanted, 1.0), 0.0
                )
            used = allow * phi[a_g, a_o, a_d, a_u]
            a_left = np.maximum(a_left - used, 0.0)
            # per nomination: its share of the node's unlicensed deliveries, and its
            # share of its holder's licensed deliveries
            r_node = np.einsum("gduo,godu->gdu", shares, ratio_u)
            h_got = np.bincount(a_h, weights=used, minlength=len(h_key))
            with np.errstate(divide="ignore", invalid="ignore"):
                per_t = np.where(h_nom > 0, h_got / np.where(h_nom > 0, h_nom, 1.0), 0.0)
            got_lic = np.where(hn, nom[:, 3] * per_t[np.maximum(n_h, 0)], 0.0)
        sold_c = contract.sum(axis=(2, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(supply > 0, sold_c / np.where(supply > 0, supply, 1.0), 0.0)
        c_fill_off = off[:, 2] * np.minimum(frac[og_, oo_], 1.0)
        # origin attributes of contract sales (pro rata: the offered stock's mean)
        w = np.bincount(og_ * R + oo_, weights=c_fill_off, minlength=G * R)
        attr_o = np.zeros((G * R, 2))
        for k in (0, 1):
            attr_o[:, k] = np.bincount(
                og_ * R + oo_, weights=c_fill_off * off[:, 4 + k], minlength=G * R
            )
        attr_o = np.where(w[:, None] > 0, attr_o / np.where(w > 0, w, 1.0)[:, None], 0.0)
        attr_o = attr_o.reshape(G, R, 2)
        recv = contract.sum(axis=1)  # [g, d, u]
        c_share = np.transpose(contract, (0, 2, 3, 1))  # [g, d, u, o]
        with np.errstate(divide="ignore", invalid="ignore"):
            c_attr = (
                np.einsum("gduo,gok->gduk", c_share, attr_o)
                / np.where(recv > 0, recv, 1.0)[..., None]
            )
            c_share = c_share / np.where(recv > 0, recv, 1.0)[..., None]
            recv1 = recv - extra.sum(axis=1)
            ratio = np.where(node_nom > 0, recv1 / np.where(node_nom > 0, node_nom, 1.0), 0.0)
        if lic is None:
            got = nom[:, 3] * ratio[ng_, nr_, nu_]  # per nomination
        else:
            got = nom[:, 3] * r_node[ng_, nr_, nu_] + got_lic
        # customer-market deliveries: to the node's nominations pro rata to what the first
        # round left them short (the requests were those shortfalls)
        node_key = (ng_ * R + nr_) * 2 + nu_
        short = np.maximum(nom[:, 3] - got, 0.0)
        n_short = np.bincount(node_key, weights=short, minlength=G * R * 2)
        n_extra = extra.sum(axis=1).reshape(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            f_short = np.where(
                n_short > 0, np.minimum(n_extra / np.where(n_short > 0, n_short, 1.0), 1.0), 0.0
            )
        got = got + short * f_short[node_key]
        # reduce each nomination's bids (b_nom, has: above) from the highest-priced tranche
        # down
        if has.any():
            idx = np.nonzero(has)[0]
            order = idx[np.lexsort((-bid[idx, 4], b_nom[idx]))]
            k = b_nom[order]
            q = bid[order, 3]
            cum = np.cumsum(q)
            _, start, counts = np.unique(k, return_index=True, return_counts=True)
            before = cum - q - np.repeat((cum - q)[start], counts)
            take = np.clip(got[k] - before, 0.0, q)
            c_fill_bid[order] = take
        off[:, 2] -= c_fill_off
        bid[:, 3] -= c_fill_bid
        if lic is None:
            cap = np.maximum(cap - contract, 0.0)
        else:
            # licensed arcs' contracts drew on the buyers' approvals, not on the shared cap
            cap = np.where(lic.licensed, cap, np.maximum(cap - contract, 0.0))
        # what contracts left of each import quota (cross-border deliveries only); export
        # quotas are left whole: exports under them are not delivered on contract
        # (SupplierRelations.allocate), they clear on spot through licences
        imports = [
            (goods, d, max(qq - (contract[goods, :, d].sum() - contract[goods, d, d].sum()), 0.0))
            for goods, d, qq in imports
        ]
    if relations is not None:
        # spot purchases only from origins the node has qualified
        cap = np.where(np.transpose(relations.qualified, (0, 3, 1, 2)), cap, 0.0)
        if lic is not None:
            a_left = np.where(relations.qualified[a_g, a_d, a_u, a_o], a_left, 0.0)
    covered = terms.covered
    if terms.evadable is not None and terms.evasion:
        # recorded exports delivered on contract give cover to smuggling on spot too
        on_contract = contract.sum(axis=(2, 3)) - np.einsum("good->go", contract)
        covered = on_contract if covered is None else covered + on_contract
    spot_terms = replace(terms, cap=cap, quotas=quotas, import_quotas=imports, covered=covered)
    keep_o = off[:, 2] > 1e-9
    keep_b = bid[:, 3] > 1e-9
    holders = None
    if lic is not None:
        b_h = _holder_index(np.asarray(book.bid_owner, dtype=np.int64), bid[:, 2], h_key)
        holders = (b_h[keep_b], a_h, a_o, a_left)
    # customer markets: every origin but the reference market sells on spot at no more
    # than its contract index (its list price), rationing by bid at that price
    lst = relations.list_price() if relations is not None else None
    res = _solve(off[keep_o], bid[keep_b], G, R, spot_terms, ref, max_steps, holders, lst)
    taxed = terms.ad_valorem > 0
    for attempt in range(2, max_solves + 1):
        active = (res.flows.sum(axis=3) > 1e-9) & taxed
        if not active.any():
            break
        new = np.where(np.isnan(res.origin_price), ref, res.origin_price)
        g, o, _ = np.nonzero(active)
        if not np.any(np.abs(new[g, o] - ref[g, o]) > tolerance * np.maximum(ref[g, o], 1e-9)):
            break
        ref = new
        res = _solve(off[keep_o], bid[keep_b], G, R, spot_terms, ref, max_steps, holders, lst)
        res.solves = attempt
    out = _combine(
        res,
        lst,
        keep_o,
        keep_b,
        off,
        bid,
        c_fill_off,
        c_fill_bid,
        contract,
        wanted,
        c_attr,
        c_share,
        relations,
        terms,
        G,
        R,
    )
    out.smuggled = res.smuggled
    if lic is not None:
        out.licence_used = used if res.licence_used is None else used + res.licence_used
    return out


def _nomination_owner(book: OrderBook) -> np.ndarray:
    """Index in ``book.owners`` of each nomination's buyer, -1 where not known or where the
    buyer posted no order for the good."""
    agents = book.nomination_agent
    if len(agents) != len(book.nominations):
        return np.full(len(book.nominations), -1, dtype=np.int64)
    return np.array(
        [
            -1 if a is None else book.owner_of(a, n[0])
            for a, n in zip(agents, book.nominations, strict=True)
        ],
        dtype=np.int64,
    )


def _holder_index(owner: np.ndarray, use: np.ndarray, h_key: np.ndarray) -> np.ndarray:
    """Holder of each row (bid or nomination) of buyer ``owner`` (index in ``book.owners``,
    -1: none) and end use ``use``: its index in the sorted keys ``h_key`` = owner x 2 +
    use, -1 where that buyer holds no licence for that use."""
    key = owner * 2 + np.asarray(use).astype(np.int64)
    pos = np.minimum(np.searchsorted(h_key, key), len(h_key) - 1)
    return np.where((owner >= 0) & (h_key[pos] == key), pos, -1)


def _combine(
    spot: ClearingResult,
    list_price,
    keep_o,
    keep_b,
    off,
    bid,
    c_fill_off,
    c_fill_bid,
    contract,
    wanted,
    c_attr,
    c_share,
    relations,
    terms,
    G,
    R,
) -> ClearingResult:
    """Merge the contract deliveries and the spot clearing into one result (prices paid and
    received are volume-weighted over both; ``list_price`` (G, R) or None: the FOB price
    at which each origin's spot sales are priced at most, customer markets)."""
    n_off, n_bid = len(off), len(bid)
    s_fill_off = np.zeros(n_off)
    s_fill_off[keep_o] = spot.offer_fill
    s_fill_bid = np.zeros(n_bid)
    s_fill_bid[keep_b] = spot.bid_fill
    s_attr = np.zeros((n_bid, 2))
    s_attr[keep_b] = spot.bid_attrs
    s_orig = np.zeros((n_bid, R))
    s_orig[keep_b] = spot.bid_origin_share
    flows = spot.flows + contract
    spot_sold = spot.flows.sum(axis=(2, 3))
    # spot FOB per origin: the origin price; what a seller realises adds the licence price
    # on the share of the origin's spot sales that crossed its border under an export quota
    spot_fob = realised = np.nan_to_num(spot.origin_price)
    if list_price is not None:  # customer markets: no more than the list price
        spot_fob = realised = np.minimum(spot_fob, list_price)
    lic = spot.licence_price
    if lic is not None and lic.any():
        sf = spot.flows.sum(axis=3)
        cross = spot_sold - np.einsum("goo->go", sf)
        if spot.smuggled is not None:
            cross = cross - spot.smuggled.sum(axis=(2, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = np.where(spot_sold > 0, cross / np.where(spot_sold > 0, spot_sold, 1.0), 0.0)
        realised = spot_fob + lic * xs
    # contract landed price per arc and FOB index per origin
    if relations is not None:
        index = np.where(np.isfinite(relations.index), relations.index, 0.0)
        landed = index[:, :, None] * (1.0 + terms.ad_valorem) + terms.transport
    else:
        index = np.zeros((G, R))
        landed = np.zeros((G, R, R))
    c_val = (contract * landed[..., None]).sum(axis=1)  # [g, d, u] USD/kg*t
    s_node = spot.flows.sum(axis=1)  # [g, d, u]
    if spot.spot_value is not None:  # nodes split into buyer groups: each at its price
        s_val = spot.spot_value
    else:
        s_val = np.where(s_node > 0, s_node * np.nan_to_num(spot.price), 0.0)
    got = contract.sum(axis=1) + s_node
    with np.errstate(divide="ignore", invalid="ignore"):
        paid = np.where(got > 1e-9, (c_val + s_val) / np.where(got > 1e-9, got, 1.0), np.nan)
        c_sold = contract.sum(axis=(2, 3))
        sold = c_sold + spot_sold
        rec = np.where(
            sold > 1e-9,
            (c_sold * index + spot_sold * spot_fob) / np.where(sold > 1e-9, sold, 1.0),
            np.nan,
        )
    og_, oo_ = off[:, 0].astype(np.int64), off[:, 1].astype(np.int64)
    fill = c_fill_off + s_fill_off
    with np.errstate(divide="ignore", invalid="ignore"):
        offer_price = np.where(
            fill > 0,
            (c_fill_off * index[og_, oo_] + s_fill_off * realised[og_, oo_])
            / np.where(fill > 0, fill, 1.0),
            np.nan,
        )
    bg_, br_, bu_ = (bid[:, i].astype(np.int64) for i in range(3))
    b_fill = c_fill_bid + s_fill_bid
    with np.errstate(divide="ignore", invalid="ignore"):
        wgt = np.where(b_fill > 0, 1.0 / np.where(b_fill > 0, b_fill, 1.0), 0.0)
    attrs = (c_fill_bid[:, None] * c_attr[bg_, br_, bu_] + s_fill_bid[:, None] * s_attr) * wgt[
        :, None
    ]
    b_orig = (c_fill_bid[:, None] * c_share[bg_, br_, bu_] + s_fill_bid[:, None] * s_orig) * wgt[
        :, None
    ]
    node = np.transpose(flows, (0, 2, 3, 1))  # [g, d, u, o]
    tot = node.sum(axis=3, keepdims=True)
    node_share = np.where(tot > 0, node / np.where(tot > 0, tot, 1.0), 0.0)
    return ClearingResult(
        flows,
        spot.origin_price,
        spot.price,
        fill,
        b_fill,
        attrs,
        b_orig,
        node_share,
        spot.solves,
        contract,
        wanted,
        paid,
        rec,
        offer_price,
        spot_sold,
        lic,
    )


def _solve(
    off: np.ndarray,
    bid: np.ndarray,
    G: int,
    R: int,
    terms: ArcTerms,
    ref: np.ndarray,
    max_steps: int,
    holders: tuple | None = None,
    list_price: np.ndarray | None = None,
) -> ClearingResult:
    """Spot LP over offers ``off`` (n, >= 6: good, origin, qty, ask, cm, ca) and bids ``bid``
    (n, >= 5: good, region, use, qty, price); ties are broken by a perturbation of at most
    :data:`TIE_BREAK` USD/kg in column order, so the optimum is unique.

    ``holders``: ``(bid_holder, acct_holder, acct_origin, acct_qty)``, the licence holder of
    each bid (-1: none) and, per holding, its holder, licensed origin and usable tonnes.
    A holder with usable tonnes and bids is a demand node of its own ("sub-node": its bids,
    the node's arcs) plus one arc per holding from its origin, capped at its tonnes; the
    node's other bids stay at the node. An arc of finite capacity into a node split so
    gets one row bounding its columns' sum by that capacity. The node's quote (``price``)
    is the highest dual of its sub-nodes; ``spot_value`` sums each sub-node's receipts at
    its own dual, except those on a holding's arc, at their landed cost from the origin
    price (the approval's rent is the holder's); ``licence_used`` is the flow per
    holding. ``list_price`` (G, R): the FOB price at which each origin sells on spot at
    most (customer markets; inf: none); with it ``spot_value`` values each arc's tonnes at
    no more than that price landed, split node or not."""
    n_off, n_bid = len(off), len(bid)
    flows = np.zeros((G, R, R, 2))
    origin_price = np.full((G, R), np.nan)
    price = np.full((G, R, 2), np.nan)
    offer_fill = np.zeros(n_off)
    bid_fill = np.zeros(n_bid)
    bid_attrs = np.zeros((n_bid, 2))
    bid_origin = np.zeros((n_bid, R))
    node_origin = np.zeros((G, R, 2, R))
    empty = ClearingResult(
        flows, origin_price, price, offer_fill, bid_fill, bid_attrs, bid_origin, node_origin
    )
    if not n_off or not n_bid:
        return empty
    off_g, off_r = off[:, 0].astype(np.int64), off[:, 1].astype(np.int64)
    bid_g, bid_r, bid_u = (
        bid[:, 0].astype(np.int64),
        bid[:, 1].astype(np.int64),
        bid[:, 2].astype(np.int64),
    )
    node = (bid_g * R + bid_r) * 2 + bid_u
    # sub-nodes: key = node x S + slot, slot 0 the node's bidders without usable licences,
    # slot h + 1 holder h (S = 1: no node is split, the keys are the nodes)
    S, used = 1, None
    if holders is not None:
        b_h, h_acct, o_acct, q_acct = holders
        n_h = int(h_acct.max()) + 1 if len(h_acct) else 0
        used = np.zeros(len(q_acct))
        live = q_acct > 1e-9
        split = np.zeros(n_h, dtype=bool)
        split[h_acct[live]] = True
        bids_h = np.bincount(b_h[b_h >= 0], minlength=n_h) > 0
        split &= bids_h[:n_h]
        if split.any():
            S = n_h + 1
            slot = np.where(b_h >= 0, b_h + 1, 0)
            slot = np.where(split[np.maximum(slot - 1, 0)] & (slot > 0), slot, 0)
            h_node = np.full(n_h, -1, dtype=np.int64)
            h_node[b_h[b_h >= 0]] = node[b_h >= 0]
    key = node if S == 1 else node * S + slot
    okeys, oorder, ogrp, owithin, s_grp, s_q, s_p = _group_steps(
        off_g * R + off_r, off[:, 2], off[:, 3], max_steps, descending=False
    )
    nkeys, border, bgrp, bwithin, d_grp, d_q, d_p = _group_steps(
        key, bid[:, 3], bid[:, 4], max_steps, descending=True
    )
    node_of = nkeys // S
    og, oo = np.divmod(okeys, R)
    ng, nr = np.divmod(node_of // 2, R)
    nu = node_of % 2
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
    a_acct = np.full(len(ai), -1, dtype=np.int64)
    if S > 1:
        # one arc per usable holding: its licensed origin into its holder's sub-node
        k = np.nonzero(live & split[h_acct])[0]
        h = h_acct[k]
        hn = h_node[h]
        okey = (hn // 2 // R) * R + o_acct[k]
        sub = hn * S + h + 1
        oi = np.minimum(np.searchsorted(okeys, okey), len(okeys) - 1)
        nj = np.minimum(np.searchsorted(nkeys, sub), len(nkeys) - 1)
        ok = (okeys[oi] == okey) & (nkeys[nj] == sub)
        k, oi, nj = k[ok], oi[ok], nj[ok]
        ai, aj = np.concatenate([ai, oi]), np.concatenate([aj, nj])
        a_g = np.concatenate([a_g, og[oi]])
        a_o = np.concatenate([a_o, oo[oi]])
        a_d = np.concatenate([a_d, nr[nj]])
        a_u = np.concatenate([a_u, nu[nj]])
        a_cap = np.concatenate([a_cap, q_acct[k]])
        a_acct = np.concatenate([a_acct, k])
    if not len(ai):
        return empty
    a_cost = terms.transport[a_g, a_o, a_d] + terms.ad_valorem[a_g, a_o, a_d] * ref[a_g, a_o]
    # export evasion: one column per evasion step beside each open cross-border arc of an
    # evadable (good, origin) cell, at transport, the destination's tariff and the
    # step's resource cost, outside the export quota rows (docs/ODD.md, export evasion)
    a_step = np.zeros(len(ai), dtype=np.int64)  # 0: recorded trade; s: evasion step s
    if terms.evasion and terms.evadable is not None:
        ev = np.nonzero((a_acct < 0) & (a_o != a_d) & np.isinf(a_cap) & terms.evadable[a_g, a_o])[0]
        if len(ev):
            duty = terms.export_duty if terms.export_duty is not None else np.zeros((G, R))
            base = a_cost[ev] - duty[a_g[ev], a_o[ev]] * ref[a_g[ev], a_o[ev]]
            n_st = len(terms.evasion)
            ai, aj, a_g, a_o, a_d, a_u = (
                np.concatenate([v] + [v[ev]] * n_st) for v in (ai, aj, a_g, a_o, a_d, a_u)
            )
            a_cap = np.concatenate([a_cap] + [a_cap[ev]] * n_st)
            a_acct = np.concatenate([a_acct] + [a_acct[ev]] * n_st)
            a_cost = np.concatenate(
                [a_cost] + [base + share * ref[a_g[ev], a_o[ev]] for _k, share in terms.evasion]
            )
            a_step = np.concatenate(
                [a_step] + [np.full(len(ev), s, dtype=np.int64) for s in range(1, n_st + 1)]
            )
    nO, nN, nS, nD, nA = len(okeys), len(nkeys), len(s_q), len(d_q), len(ai)
    cost = np.concatenate([s_p, -d_p, a_cost])
    # deterministic tie-breaking: a strictly increasing perturbation over the columns
    cost = cost + TIE_BREAK * np.arange(len(cost)) / max(len(cost), 1)
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
    qr, qc, qb, qv = [], [], [], []
    recorded = a_step == 0
    if terms.quotas or terms.import_quotas:
        # one row per quota over its cross-border arcs: exports of r (export quotas) or
        # imports into r (import quotas)
        # (smuggled tonnes evade the exporter's quota, not the importer's: its customs
        # record them)
        n_exp = len(terms.quotas)
        for i, (goods, r, capq, home, other) in enumerate(
            [(*q, a_o, a_d) for q in terms.quotas] + [(*q, a_d, a_o) for q in terms.import_quotas]
        ):
            m = (home == r) & (other != r) & np.isin(a_g, goods)
            if i < n_exp:
                m &= recorded
            qr.append(np.full(m.sum(), i))
            qc.append(col_a[m])
            qv.append(np.ones(m.sum()))
            qb.append(capq)
    if S > 1:
        # a finite arc capacity shared by the sub-nodes of a split node: one row each
        shared = (a_acct < 0) & np.isfinite(a_cap)
        arc_id = ((a_g * R + a_o) * R + a_d) * 2 + a_u
        ids, inv, cnt = np.unique(arc_id[shared], return_inverse=True, return_counts=True)
        cols = col_a[shared]
        caps = a_cap[shared]
        for i in np.nonzero(cnt > 1)[0]:
            m = inv.reshape(-1) == i
            qr.append(np.full(m.sum(), len(qb)))
            qc.append(cols[m])
            qv.append(np.ones(m.sum()))
            qb.append(float(caps[m][0]))
    if a_step.any():
        # cover: smuggled tonnes of a cell at step s at most k_s x its recorded exports
        # (on spot, plus the cell's recorded contract exports of the month, terms.covered)
        cell = a_g * R + a_o
        legal = recorded & (a_o != a_d)
        done = terms.covered
        for c in np.unique(cell[~recorded]).tolist():
            in_c = cell == c
            lc = col_a[in_c & legal]
            base = 0.0 if done is None else float(done[c // R, c % R])
            for s, (k_s, _share) in enumerate(terms.evasion, start=1):
                sc = col_a[in_c & (a_step == s)]
                qr.append(np.full(len(sc) + len(lc), len(qb)))
                qc.append(np.concatenate([sc, lc]))
                qv.append(np.concatenate([np.ones(len(sc)), np.full(len(lc), -k_s)]))
                qb.append(k_s * base)
    if qb:
        qr, qc, qv = np.concatenate(qr), np.concatenate(qc), np.concatenate(qv)
        A_ub = sp.csr_matrix((qv, (qr, qc)), shape=(len(qb), len(cost)))
        b_ub = np.array(qb)
    res = linprog(
        cost,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=np.zeros(nO + nN),
        bounds=np.column_stack([np.zeros(len(cost)), upper]),
        method="highs",
    )
    if res.status != 0:
        raise ClearingError(f"market clearing failed: {res.message}")
    duals = res.eqlin.marginals
    licence = np.zeros((G, R))
    if terms.quotas:
        # an export quota row's dual is minus the value of one more tonne of licence
        rent = -res.ineqlin.marginals[: len(terms.quotas)]
        for (goods, r, _q), lam in zip(terms.quotas, rent, strict=True):
            licence[goods, r] += max(float(lam), 0.0)
    x = np.where(res.x[col_a] > 1e-9, res.x[col_a], 0.0)
    origin_price[og, oo] = duals[:nO]
    smuggled = None
    if a_step.any():
        smuggled = np.zeros((G, R, R, 2))
        ev = ~recorded
        np.add.at(smuggled, (a_g[ev], a_o[ev], a_d[ev], a_u[ev]), x[ev])
    if S == 1:
        price[ng, nr, nu] = duals[nO:]
        flows[a_g[recorded], a_o[recorded], a_d[recorded], a_u[recorded]] = x[recorded]
        if smuggled is not None:
            flows += smuggled
    else:
        # the node's quote: the highest dual of its sub-nodes (the price at which a kg more
        # would clear at the node)
        np.fmax.at(price.reshape(-1), node_of, duals[nO:])
        np.add.at(flows, (a_g, a_o, a_d, a_u), x)
        held = a_acct >= 0
        np.add.at(used, a_acct[held], x[held])

    # ---- allocate back: sellers in merit order, buyers in bid order -------------------
    sold = np.bincount(ai, weights=x, minlength=nO)
    fill_sorted = np.clip(sold[ogrp] - (owithin - off[oorder, 2]), 0.0, off[oorder, 2])
    offer_fill[oorder] = fill_sorted
    with np.errstate(invalid="ignore", divide="ignore"):
        attr_o = np.column_stack(
            [
                np.bincount(ogrp, weights=fill_sorted * off[oorder, 4], minlength=nO),
                np.bincount(ogrp, weights=fill_sorted * off[oorder, 5], minlength=nO),
            ]
        )
        attr_o = np.where(sold[:, None] > 0, attr_o / sold[:, None], 0.0)
    received = np.bincount(aj, weights=x, minlength=nN)
    share = np.zeros((nN, R))
    np.add.at(share, (aj, a_o), x)
    node_attr = np.zeros((nN, 2))
    np.add.at(node_attr, aj, x[:, None] * attr_o[ai])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(received[:, None] > 0, share / received[:, None], 0.0)
        node_attr = np.where(received[:, None] > 0, node_attr / received[:, None], 0.0)
    spot_value = None
    if S == 1:
        node_origin[ng, nr, nu] = share
    else:
        by_node = np.zeros((G * R * 2, R))
        np.add.at(by_node, (node_of[aj], a_o), x)
        tot = by_node.sum(axis=1, keepdims=True)
        node_origin[:] = np.where(tot > 0, by_node / np.where(tot > 0, tot, 1.0), 0.0).reshape(
            G, R, 2, R
        )
    if S > 1 or list_price is not None:
        # each arc's tonnes at their (sub-)node's dual, except: a tonne on a holding's arc
        # costs its holder the landed cost from the origin price (the approval's scarcity
        # rent, the arc's capacity dual, is the holder's, as a quota rent is its licence
        # holder's); a customer-market seller's at no more than its list price landed
        value = np.where(a_acct >= 0, duals[ai] + a_cost, duals[nO + aj])
        if list_price is not None:
            value = np.minimum(value, list_price[a_g, a_o] + a_cost)
        spot_value = np.zeros(G * R * 2)
        np.add.at(spot_value, node_of[aj], x * value)
        spot_value = spot_value.reshape(G, R, 2)
    fill_b = np.clip(received[bgrp] - (bwithin - bid[border, 3]), 0.0, bid[border, 3])
    bid_fill[border] = fill_b
    bid_attrs[border] = node_attr[bgrp]
    bid_origin[border] = share[bgrp]
    return ClearingResult(
        flows,
        origin_price,
        price,
        offer_fill,
        bid_fill,
        bid_attrs,
        bid_origin,
        node_origin,
        licence_price=licence,
        spot_value=spot_value,
        licence_used=used,
        smuggled=smuggled,
    )
