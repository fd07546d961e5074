"""Supplier relationships: term contracts whose origin shares follow an Armington (CES) rule.

Buyers of each demand node ``(good g, destination region d, end use u)`` hold term contracts
with the origins (regions) they have *qualified*. Each month a node nominates a share
``contract_cover`` of its documented end use (its planned use this month,
:meth:`abm.market.OrderBook.nominate`) on contract, split over origins by its current
contract shares ``share[g, d, u, o]``; what contracts leave open, and every inventory top-up,
goes to the spot market (:func:`abm.market.clear`).

Mechanisms (docs/ODD.md, submodel "Supplier relationships"):

* **Target shares (Armington 1969; CES aggregate of origin varieties, equivalently the logit
  over suppliers of heterogeneous buyers, Anderson, de Palma and Thisse 1992)**::

      s*_o  =  w_o (L_o (1 + b [o != d]) (1 + rho r_o)) ** -sigma  /  sum over qualified o'

  with ``L_o`` the landed contract cost (origin contract price index x (1 + ad valorem
  tariff and export duty) + transport, USD/kg), ``b`` the border cost (a tariff equivalent
  of the home bias of trade; Anderson and van Wincoop 2004), ``r_o`` the node's perceived
  risk that origin ``o`` fails to deliver and ``rho`` the premium buyers put on it, ``w_o``
  the origin's supply on offer (the "mass" of structural gravity), and ``sigma`` the
  elasticity of substitution between origins (Fontagne, Guimbard and Orefice 2022:
  product-level elasticities centred near 5). A 25% tariff on one origin multiplies its
  weight by ``1.25 ** -sigma``: the share moves, never to zero at once.
* **Gradual switching**: qualified shares follow the target by partial adjustment with time
  constant ``contract_adjust_months`` (term contracts reviewed a few times a year).
* **Qualification**: an origin that offered nothing at the start is not qualified; a node
  qualifies it after ``qualification_months`` of the good's stage (whole months in which the
  origin offers supply), and until then buys nothing from it, on contract or spot.
* **Risk**: the perceived risk of an origin is an exponential average (``risk_months``) of the
  share of the node's contract nomination to it that was not delivered (licence denials,
  quotas, rationing).
* **Contract prices**: contracts are priced off a published benchmark assessment with a lag
  (Asian Metal, SMM; Lynas prices off China's domestic assessment; Adamas Intelligence 2025:
  most Dy oxide consumed in 2025 was priced near the benchmark while thin spot markets
  outside China traded several times higher): the reference market's contract index follows
  the good's benchmark, the spot FOB price of the deepest market (the origin with the
  largest total sales that sold on spot), and every other origin's follows its export
  parity (the benchmark plus the price of the export licence a tonne of it needs to leave:
  under China's 2010-14 quotas, the FOB China export price), by exponential smoothing over
  ``index_months``. Magnets are priced at full cost (Hall and Hitch 1939): an origin whose
  makers' normal unit cost is above the reference market's prices at its export parity
  times the cost ratio (:attr:`cost_ratio`, :meth:`full_cost`), its own cost with the
  reference market's markup; the Armington share parameters (:attr:`taste`) are calibrated
  so that the base year's cost differences do not move its shares (:meth:`calibrate_costs`).
* **Customer markets** (Okun 1981; :meth:`SupplierRelations.allocate`): every origin but the
  reference market rations its regular customers at its contract price when their other
  suppliers fail, and sells on spot at no more than that price (:meth:`list_price`).

All state is held in numpy arrays indexed ``[g, d, u, o]`` (shares, risk, qualification) and
``[g, o]`` (index); every step is vectorised, so the cost grows with goods x regions^2, not
with the number of firms.
"""

from __future__ import annotations

import numpy as np


class SupplierRelations:
    """Contract shares, qualification, perceived risk and contract price indices.

    Args:
        n_goods, n_regions: array sizes (G, R).
        sigma: Armington elasticity of substitution between origins (> 0).
        border_cost: tariff equivalent of buying across a border (>= 0).
        qualification_months: (G,) months to qualify a new origin, per good.
        adjust_months: time constant of contract-share adjustment, months (>= 1).
        cover: share of documented end use bought on contract (0-1).
        index_months: smoothing time of the contract price index, months (>= 1).
        risk_premium: proportional cost premium per unit of perceived non-delivery risk.
        risk_months: averaging time of perceived non-delivery risk, months (>= 1).
        customer_share: share (0-1) of a seller's supply left after its contracts that it
            hands to its regular customers whose other contracted suppliers failed to
            deliver, at its contract price (customer markets, :meth:`allocate`); 0: none.

    Raises:
        ValueError: a parameter out of its domain.
    """

    def __init__(
        self,
        n_goods: int,
        n_regions: int,
        *,
        sigma: float,
        border_cost: float,
        qualification_months,
        adjust_months: float,
        cover: float,
        index_months: float,
        risk_premium: float,
        risk_months: float,
        customer_share: float = 0.0,
    ):
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if not 0 <= cover <= 1:
            raise ValueError(f"cover must be in [0, 1], got {cover}")
        if not 0 <= customer_share <= 1:
            raise ValueError(f"customer_share must be in [0, 1], got {customer_share}")
        for name, v in (
            ("adjust_months", adjust_months),
            ("index_months", index_months),
            ("risk_months", risk_months),
        ):
            if not v >= 1:
                raise ValueError(f"{name} must be >= 1 month, got {v}")
        G, R = n_goods, n_regions
        self.G, self.R = G, R
        self.sigma = float(sigma)
        self.border = float(border_cost)
        self.qual_months = np.broadcast_to(
            np.asarray(qualification_months, dtype=float), (G,)
        ).copy()
        self.adjust = float(adjust_months)
        self.cover = float(cover)
        self.index_months = float(index_months)
        self.risk_premium = float(risk_premium)
        self.risk_months = float(risk_months)
        self.customer_share = float(customer_share)
        shape = (G, R, 2, R)
        self.share = np.zeros(shape)  # [g, d, u, o] contract share of node's nomination
        self.qualified = np.zeros(shape, dtype=bool)
        self.trial = np.zeros(shape)  # months an unqualified origin has been tested
        self.risk = np.zeros(shape)  # perceived non-delivery risk, 0-1
        #: [g, d, u, o] Armington share parameters, calibrated in :meth:`calibrate_costs` so
        #: that origins' base-year cost differences do not move the base-year shares (1:
        #: shares follow supply and landed cost alone)
        self.taste = np.ones(shape)
        #: (G, R) each origin's normal unit cost over its good's reference market's, for
        #: goods sold at full cost (:meth:`observe`); 1 where not set
        self.cost_ratio = np.ones((G, R))
        self.index = np.full((G, R), np.nan)  # contract price index per origin, USD/kg FOB
        #: (G,) this month's benchmark of each good (spot FOB of its reference market,
        #: :meth:`observe`), USD/kg; NaN where the reference market sold nothing on spot
        self.benchmark = np.full(G, np.nan)
        #: (G, R, R, 2) the customer-market deliveries of the last :meth:`allocate`, t
        self.customer_delivered = np.zeros((G, R, R, 2))
        #: (G,) origin index of each good's reference market, the deepest (largest total
        #: sales, :meth:`observe`; the largest supplier until the first clearing), whose
        #: spot price is the benchmark when it trades on spot; -1 where none
        self.reference = np.full(G, -1, dtype=np.int64)
        self.home = np.eye(R, dtype=bool)  # [d, o] domestic pairs

    # ------------------------------------------------------------------ shares
    def _is_reference(self) -> np.ndarray:
        """(G, R) bool: the origin is its good's reference market (:attr:`reference`)."""
        return np.arange(self.R)[None, :] == self.reference[:, None]

    def list_price(self) -> np.ndarray:
        """(G, R) FOB price at which each origin's sellers sell on spot at most, USD/kg:
        its contract index for the customer markets, inf for the reference market (an
        auction market) and where an origin has no index (:meth:`allocate`)."""
        return np.where(self._is_reference() | ~np.isfinite(self.index), np.inf, self.index)

    def landed(self, ad_valorem: np.ndarray, transport: np.ndarray) -> np.ndarray:
        """Landed contract cost per arc ``index x (1 + ad valorem) + transport``, USD/kg,
        shape (G, R origin, R destination); NaN where an origin has no index."""
        return self.index[:, :, None] * (1.0 + ad_valorem) + transport

    def target(
        self, supply: np.ndarray, landed: np.ndarray, qualified: np.ndarray | None = None
    ) -> np.ndarray:
        """Armington target shares ``s*[g, d, u, o]`` (sum 1 over ``o`` where any qualified
        origin offers supply, else 0).

        Args:
            supply: (G, R) tonnes on offer per good and origin this month.
            landed: (G, R, R) landed contract cost origin -> destination, USD/kg.
            qualified: (G, R, 2, R) bool; default the current qualification.
        """
        q = self.qualified if qualified is None else qualified
        L = np.transpose(landed, (0, 2, 1))[:, :, None, :]  # [g, d, 1, o]
        border = np.where(self.home, 1.0, 1.0 + self.border)[None, :, None, :]
        eff = L * border * (1.0 + self.risk_premium * self.risk)
        w = supply[:, None, None, :] * q * self.taste
        ok = (w > 0) & np.isfinite(eff) & (eff > 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # scale by the cheapest qualified cost per node so powers stay in range
            base = np.min(np.where(ok, eff, np.inf), axis=3, keepdims=True)
            num = np.where(
                ok, w * (eff / np.where(np.isfinite(base), base, 1.0)) ** -self.sigma, 0.0
            )
        tot = num.sum(axis=3, keepdims=True)
        return np.where(tot > 0, num / np.where(tot > 0, tot, 1.0), 0.0)

    def calibrate(self, supply: np.ndarray, landed: np.ndarray) -> None:
        """Base year: every origin offering supply is qualified for every node, and contract
        shares start at their Armington targets.

        Args:
            supply: (G, R) tonnes on offer per good and origin (base-year book).
            landed: (G, R, R) landed contract cost, USD/kg.
        """
        self.qualified[:] = (supply > 0)[:, None, None, :]
        self.share = self.target(supply, landed)
        self.reference = np.where(supply.max(axis=1) > 0, np.argmax(supply, axis=1), -1)

    def full_cost(self) -> np.ndarray:
        """(G, R) full-cost factor of each origin's contract price over its export parity:
        ``max(cost_ratio, 1)`` for every origin but its good's reference market, 1 there
        (:meth:`observe`)."""
        return np.where(self._is_reference(), 1.0, np.maximum(self.cost_ratio, 1.0))

    def calibrate_costs(
        self, supply: np.ndarray, ad_valorem: np.ndarray, transport: np.ndarray
    ) -> None:
        """Base year, after :meth:`calibrate`: raise the contract indices to full cost
        (:meth:`full_cost`) and calibrate the Armington share parameters :attr:`taste` so
        that the base-year shares stay what they were (the calibration of CES share
        parameters to base-year flows, Armington 1969; as in CGE models, a base-year price
        difference between origins is a difference of quality or security the buyers
        accepted, and only later changes of it move their shares).

        Args:
            supply: (G, R) tonnes on offer per good and origin (base-year book).
            ad_valorem, transport: (G, R, R) arc terms of the base year.
        """
        base = self.share.copy()
        self.index = self.index * self.full_cost()
        landed = self.landed(ad_valorem, transport)
        self.taste = np.ones_like(self.taste)
        with_cost = self.target(supply, landed)
        ok = (with_cost > 0) & (base > 0)
        self.taste = np.where(ok, base / np.where(ok, with_cost, 1.0), 1.0)
        self.share = self.target(supply, landed)

    def update(self, supply: np.ndarray, landed: np.ndarray, demand: np.ndarray) -> None:
        """Monthly adaptation: qualification of new origins, then partial adjustment of the
        contract shares towards their targets.

        Args:
            supply: (G, R) tonnes on offer per good and origin this month.
            landed: (G, R, R) landed contract cost, USD/kg.
            demand: (G, R, 2) tonnes bid per node this month (nodes with demand test
                unqualified origins that offer supply).
        """
        testing = (~self.qualified) & (supply > 0)[:, None, None, :] & (demand > 0)[:, :, :, None]
        self.trial += testing
        self.qualified |= self.trial >= self.qual_months[:, None, None, None]
        tgt = self.target(supply, landed)
        live = tgt.sum(axis=3, keepdims=True) > 0
        new = self.share + (tgt - self.share) / self.adjust
        self.share = np.where(live, new, self.share) * self.qualified

    # ------------------------------------------------------------------ contracts
    def origin_shares(self, supply: np.ndarray) -> np.ndarray:
        """Contract shares renormalised over the origins with supply this month,
        ``[g, d, u, o]`` (how a node's nomination splits over origins in :meth:`allocate`).

        Args:
            supply: (G, R) tonnes on offer per good and origin.
        """
        share = np.where((supply > 0)[:, None, None, :], self.share, 0.0)
        tot = share.sum(axis=3, keepdims=True)
        return np.where(tot > 0, share / np.where(tot > 0, tot, 1.0), 0.0)

    def allocate(
        self, nomination: np.ndarray, supply: np.ndarray, cap: np.ndarray, quotas, import_quotas=()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Contract deliveries of one month.

        Each node's nomination is split over origins by its contract shares (renormalised
        over origins with supply), then bounded by the arc capacity (licences, embargoes,
        sourcing rules), the import quotas (pro rata over the quota's imports) and a share
        ``cover`` of each origin's supply (pro rata over the origin's contracts): sellers,
        like buyers, commit only that share to contracts and keep the rest for the spot
        market. Exports under an export quota are not nominated at all: each tonne needs a
        tradable licence, so they clear on the spot market, where the quota's shadow price
        is the licence price (:attr:`abm.market.ClearingResult.licence_price`); the node's
        share of that origin is left to its spot bids.

        **Customer markets** (Okun 1981, ch. 4; Carlton 1986): what a node's contracts did
        not deliver (licence denials, embargoes, an oversubscribed supplier) it asks of its
        contracted origins, split by its contract shares over the arcs still open;
        each origin serves these requests from ``customer_share`` of the supply its
        contracts left, pro rata, at its contract price, so a supplier rations its regular
        customers rather than auctioning its output to whoever bids most. The rest of its
        supply clears on spot, at no more than its contract index (its list price:
        :meth:`list_price`, :func:`abm.market.clear`). The reference market
        (:attr:`reference`, the deepest, whose spot price is the benchmark that contract
        prices follow) is an auction market, not a customer market (Okun's distinction):
        its supply left after contracts clears on spot at the market price, where the
        benchmark forms. The requests obey the same arc capacities, export quotas and
        import quotas as the first round.

        Args:
            nomination: (G, R, 2) tonnes nominated on contract per node.
            supply: (G, R) tonnes on offer per good and origin.
            cap: (G, R, R, 2) arc capacity origin -> destination per use, t (inf = none).
            quotas: list of (good indices, origin, t per month).
            import_quotas: list of (good indices, destination, t per month).

        Returns:
            ``(wanted, delivered)``: (G, R origin, R destination, 2) tonnes; ``wanted`` is
            the first round's nomination per arc (the customer-market requests are not in
            it), ``delivered`` both rounds; the second round's share of ``delivered`` is
            kept in :attr:`customer_delivered`.
        """
        share = self.origin_shares(supply)
        wanted = np.transpose(nomination[:, :, :, None] * share, (0, 3, 1, 2))  # [g,o,d,u]
        # exports under an export quota need a tradable licence per tonne: they are not
        # nominated on contract but bought on the spot market, where the quota's shadow
        # price (the licence price) rations them (the node's share of that origin is left
        # to its spot bids)
        open_arc = np.ones(wanted.shape, dtype=bool)
        for goods, r, _q in quotas:
            keep = wanted[goods, r, r].copy()
            wanted[goods, r] = 0.0
            wanted[goods, r, r] = keep
            keep_open = open_arc[goods, r, r].copy()
            open_arc[goods, r] = False
            open_arc[goods, r, r] = keep_open
        c = self._bounded(np.minimum(wanted, cap), import_quotas, self.cover * supply)
        self.customer_delivered = np.zeros_like(c)
        if self.customer_share > 0:
            self.customer_delivered = self._customer_round(
                wanted, c, supply, cap, open_arc, import_quotas
            )
            c = c + self.customer_delivered
        return wanted, c

    @staticmethod
    def _bounded(c: np.ndarray, import_quotas, avail: np.ndarray, used=None) -> np.ndarray:
        """``c`` (G, R, R, 2) scaled pro rata to each import quota (cross-border arcs into
        the quota's region; ``used``: deliveries already counted against it) and to
        ``avail`` (G, R) tonnes per origin."""
        for goods, r, q in import_quotas:
            idx = (goods, slice(None), r)
            cross = c[idx].copy()
            cross[:, r, :] = 0.0
            e = cross.sum()
            room = max(q, 0.0)
            if used is not None:
                prior = used[idx].copy()
                prior[:, r, :] = 0.0
                room = max(room - prior.sum(), 0.0)
            if e > room:
                c[idx] -= cross * (1.0 - room / e)
        sold = c.sum(axis=(2, 3))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = np.where(sold > avail, avail / np.where(sold > 0, sold, 1.0), 1.0)
        return c * f[:, :, None, None]

    def _customer_round(self, wanted, first, supply, cap, open_arc, import_quotas):
        """Second-round deliveries (G, R, R, 2) of :meth:`allocate`'s customer markets."""
        short = np.maximum(wanted - first, 0.0).sum(axis=1)  # [g, d, u]
        room = np.where(open_arc, np.maximum(cap - first, 0.0), 0.0)
        left = np.maximum(supply - first.sum(axis=(2, 3)), 0.0)  # [g, o]
        # the reference market is an auction market: what its contracts left clears on
        # spot, where the benchmark forms
        g_ref = np.nonzero(self.reference >= 0)[0]
        left[g_ref, self.reference[g_ref]] = 0.0
        # the node's contract shares over origins with supply left and an open arc
        w = np.transpose(self.share, (0, 3, 1, 2)) * (room > 1e-9) * (left > 1e-9)[:, :, None, None]
        tot = w.sum(axis=1, keepdims=True)
        w = np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.0)
        ask = np.minimum(short[:, None, :, :] * w, room)
        return self._bounded(ask, import_quotas, self.customer_share * left, used=first)

    def observe(
        self,
        wanted: np.ndarray,
        delivered: np.ndarray,
        spot_fob: np.ndarray,
        spot_sold: np.ndarray,
        licence_price: np.ndarray | None = None,
    ) -> None:
        """After clearing: update perceived risk and the contract price indices.

        The benchmark of a good is the spot FOB price of its reference market
        (:attr:`reference`), the origin with the largest total sales (contract and spot):
        the assessment of the deepest market (for rare earths, China's domestic price
        assessed by Asian Metal or SMM), not of a thin one. In a month the reference market
        sells nothing on spot there is no benchmark (NaN) and the indices keep their
        values.

        Args:
            wanted, delivered: as returned by :meth:`allocate`.
            spot_fob: (G, R) spot origin price (FOB), USD/kg, NaN where nothing was offered.
            spot_sold: (G, R) tonnes sold on spot per good and origin.
            licence_price: (G, R) export licence price per origin under an export quota,
                USD/kg (:attr:`abm.market.ClearingResult.licence_price`), or None (0).
        """
        w = np.transpose(wanted, (0, 2, 3, 1))  # [g, d, u, o]
        d = np.transpose(delivered, (0, 2, 3, 1))
        asked = w > 1e-9
        # customer-market deliveries may exceed an arc's first-round nomination
        miss = np.where(asked, np.maximum(1.0 - d / np.where(asked, w, 1.0), 0.0), 0.0)
        self.risk = np.where(asked, self.risk + (miss - self.risk) / self.risk_months, self.risk)
        sales = delivered.sum(axis=(2, 3)) + spot_sold
        quoted = (spot_sold > 1e-9) & np.isfinite(spot_fob)
        # the reference market: the deepest (largest total sales); its spot FOB, where it
        # sold on spot, is the benchmark
        rows = np.arange(self.G)
        big = np.argmax(sales, axis=1)
        self.reference = np.where(sales[rows, big] > 0, big, self.reference)
        ref = np.maximum(self.reference, 0)
        bench = np.where((self.reference >= 0) & quoted[rows, ref], spot_fob[rows, ref], np.nan)
        self.benchmark = bench
        # the other origins' contracts follow the reference market's export parity: its
        # spot FOB plus the price of the export licence a tonne of it needs to leave
        # (under China's 2010-14 quotas, the FOB China export price that Lynas' and
        # Molycorp's sales tracked; 0 without a binding export quota)
        parity = bench + (0.0 if licence_price is None else licence_price[rows, ref])
        own = np.arange(self.R)[None, :] == ref[:, None]
        # an origin whose normal unit cost is above the reference market's prices at full
        # cost: its cost times the reference market's markup (:meth:`full_cost`)
        p = np.where(own, bench[:, None], parity[:, None] * self.full_cost())
        upd = np.isfinite(p) & np.isfinite(self.index)
        self.index = np.where(
            upd,
            self.index + (p - self.index) / self.index_months,
            np.where(np.isfinite(self.index), self.index, p),
        )
