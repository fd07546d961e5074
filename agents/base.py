"""Shared firm machinery: inventories with origin, expectations, risk, orders, investment.

Every firm holds :class:`Stock` per good. A stock carries two mass-weighted origin shares
that travel with the material through every stage (docs/ODD.md section 2): ``cm``, the share
mined in China, and ``ca``, the share that passed through China at any stage (mined,
separated or made there). Mixing two lots averages both shares by mass.

Sellers' asks follow the inventory-coverage rule of commodity models (Sterman 2000, ch. 20;
the GCMat model, Riddle et al. 2015): the expected price scaled by ``(cover / target cover)
** -alpha``. Buyers' bids are their marginal value of stock (:func:`marginal_value`): the
derived-demand value of a kilogram missing from this month's use, falling with cover to the
expected price plus carrying cost at the target cover (the newsvendor rule). Expected prices
adapt to observed prices and revert to the long-run reference price (the cost anchor).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from abm.timeline import WEEKS_PER_MONTH
from abm.treasury import company_of, usd_text


class Stock:
    """Tonnes of one good with China-mined (``cm``) and China-any (``ca``) shares in [0, 1]."""

    __slots__ = ("ca", "cm", "qty")

    def __init__(self, qty: float = 0.0, cm: float = 0.0, ca: float = 0.0):
        if qty < 0:
            raise ValueError(f"negative stock {qty} t")
        self.qty, self.cm, self.ca = float(qty), float(cm), float(ca)

    def add(self, qty: float, cm: float, ca: float) -> None:
        """Add ``qty`` t with origin shares ``cm``, ``ca`` (mass-weighted mixing)."""
        if qty <= 0:
            return
        total = self.qty + qty
        self.cm = (self.qty * self.cm + qty * cm) / total
        self.ca = (self.qty * self.ca + qty * ca) / total
        self.qty = total

    def take(self, qty: float) -> float:
        """Remove up to ``qty`` t; returns the tonnes removed (never leaves a negative stock)."""
        q = min(max(qty, 0.0), self.qty)
        self.qty -= q
        if self.qty < 1e-12:
            self.qty = 0.0
        return q


#: Relative positions of the four offer tranches below the coverage price level, in units
#: of the parameter ``ask_spread`` (0.09: asks at 0.91, 0.94, 0.97, 0.99 x level).
ASK_LADDER = (1.0, 2.0 / 3.0, 1.0 / 3.0, 1.0 / 9.0)
#: Number of bid tranches a buyer posts (equal quantities along its marginal-value curve):
#: the resolution of the discretised demand schedule, not a behavioural constant.
BID_TRANCHES = 4
#: Tranche numbers 1, 2, ... of the offer ladder (months of sales before a tranche is sold).
_TRANCHE_NUMBERS = tuple(range(1, len(ASK_LADDER) + 1))
#: Midpoints 0.5, 1.5, ... of the bid tranches, in tranches.
_BID_MIDPOINTS = tuple(k + 0.5 for k in range(BID_TRANCHES))


def cover_price(base: float, cover: float, target: float, alpha: float) -> float:
    """Inventory-coverage price ``base * (cover / target) ** -alpha`` (Sterman 2000, ch. 20),
    USD/kg; ``cover`` and ``target`` in months (> 0)."""
    return float(base * (cover / target) ** (-alpha))


def marginal_value(cover, expected: float, value: float, target: float, carrying: float):
    """A buyer's marginal value of stock at ``cover`` months of use (newsvendor rule).

    ``expected + (value - expected) * P(cover)``, where ``P`` is the probability that stock
    runs out before it is replenished, taken to fall exponentially with cover and calibrated
    so that at the target cover the marginal value equals the expected price plus the
    carrying cost of holding the stock that long, ``expected * (1 + carrying * target)``
    (the critical fractile of the newsvendor problem: Arrow, Harris and Marschak 1951;
    Zipkin 2000, ch. 9). At zero cover (this month's use not on hand) it is ``value``, the
    derived-demand value of a missing kilogram. A buyer that values the input at no more
    than the expected price plus carrying cost bids ``value`` throughout. Never above
    ``value``.

    Args:
        cover: months of use on hand after this month's use (array or float; <= 0: short).
        expected: expected price, USD/kg (> 0).
        value: derived-demand value of a missing kilogram, USD/kg.
        target: target cover, months (> 0).
        carrying: carrying cost (interest, storage, insurance) per month, share of value.

    Returns:
        USD/kg, same shape as ``cover``.
    """
    if isinstance(cover, (float, int)) or np.ndim(cover) == 0:  # np.ndim is slow on floats
        return marginal_values((cover,), expected, value, target, carrying)[0]
    h = expected * carrying * target
    c = np.maximum(np.asarray(cover, dtype=float), 0.0)
    if value <= expected + h:
        return np.full_like(c, value)
    p_target = h / (value - expected)  # stock-out probability at the target
    return expected + (value - expected) * p_target ** (c / target)


def marginal_values(covers, expected: float, value: float, target: float, carrying: float) -> list:
    """:func:`marginal_value` at each cover of the sequence ``covers`` (months), computed
    one by one with scalar arithmetic (the scalar path of :func:`marginal_value`, which
    calls it), so a buyer's tranches are priced exactly as single calls would price them.

    Returns:
        list of USD/kg, one per cover.
    """
    h = expected * carrying * target
    if value <= expected + h:
        return [value] * len(covers)
    span = value - expected
    p_target = h / span  # stock-out probability at the target
    # (0.0 if c < 0.0 else c) is max(c, 0.0) without the call (NaN and -0.0 kept alike)
    return [
        expected + span * p_target ** ((0.0 if c < 0.0 else c) / target) for c in map(float, covers)
    ]


class Firm(mesa.Agent):
    """A firm: region, stocks, expected prices, perceived supply risk and capacity.

    Args:
        model: the Mesa model.
        name: display name (a named firm from the data, or a generic label).
        region: region code.
        capacity: capacity, t/yr of output (t REO/yr of feed for refiners).
        unit_cost: cash cost, USD/kg of output (processing cost for refiners and magnet
            makers, excluding inputs).

    Raises:
        ValueError: negative capacity or unit cost.
    """

    stage = "firm"
    #: the firm's long-run expectation of every concentrate and oxide it prices (its
    #: products and its feeds) is held at or below the level at which the marginal mine
    #: covers its full cost (:mod:`abm.longrun`; miners, separators and recyclers)
    cost_anchored = False

    def __init__(
        self, model, name: str, region: str, capacity: float = 0.0, unit_cost: float = 0.0
    ):
        super().__init__(model)
        if capacity < 0:
            raise ValueError(f"{name}: capacity must be >= 0 t/yr, got {capacity}")
        if unit_cost < 0:
            raise ValueError(f"{name}: unit_cost must be >= 0 USD/kg, got {unit_cost}")
        self.name = name
        #: the company the firm belongs to (:func:`abm.treasury.company_of`); its units
        #: share one solvency test (:class:`abm.treasury.GroupTreasury`)
        self.company = company_of(name)
        #: ``project_id`` of the pipeline row that built the plant (an entrant of
        #: ``project_pipeline.csv``), None for a base-year firm; offtakes may name it
        self.plant: str | None = None
        self.region = region
        self.ridx = model.region_index[region]
        self.capacity = float(capacity)
        self.unit_cost = float(unit_cost)
        self.stocks: dict[int, Stock] = {}
        self.exp_price: dict[int, float] = {}
        self.anchor_price: dict[int, float] = {}
        #: the firm's anchor prices in the month before the new trade instruments in force
        #: were adopted (None while none is in force; :meth:`policy_free_margin`)
        self.free_anchor: dict[int, float] | None = None
        #: base-year prices of the goods the firm trades in its own market (USD/kg): its
        #: expected prices at the end of the base-year warm-up (set by the model)
        self.base_exp: dict[int, float] = {}
        self.risk = 0.0
        self.output_avg: float | None = None  # t/month, see track_output
        self.active = True
        self.margin_ema = 0.0
        self.projects: list[tuple[int, float]] = []  # (online step, added capacity)
        self.project_debt: list[tuple[int, float, float]] = []  # (online step, USD, rate)
        # capital and cash (docs/ODD.md 7.13): nameplate (t/yr, set at the first review),
        # ramps [(start step, t/yr, tau years)], cash and debt (USD), debt service (USD/yr)
        self.nameplate: float | None = None
        self.ramps: list[tuple[int, float, float]] = []
        self.cash: float | None = None
        self.debt = 0.0
        self.debt_rate = 0.0
        self.debt_payment = 0.0
        self.month_cash = 0.0
        self.mothballed = False
        self.exited = False
        self.sales_ema: dict[int, float] = {}
        self.sells: set[int] = set()  # goods this firm produces and sells
        self.output_month: dict[int, float] = {}
        model.treasury.add(self)

    # ----------------------------------------------------------------- stocks
    def stock(self, g: int) -> Stock:
        """The firm's stock of good index ``g`` (created empty on first use)."""
        s = self.stocks.get(g)
        if s is None:
            s = self.stocks[g] = Stock()
        return s

    def expected(self, g: int) -> float:
        """Expected price of good ``g`` in the firm's region, USD/kg (a good the firm has not
        priced before starts at the catalogue reference price)."""
        p = self.exp_price.get(g)
        if p is None:
            p = self.exp_price[g] = float(self.model.catalog.ref_price[g])
        return p

    def observed(self, g: int) -> float:
        """Last observed price of ``g`` for this firm: the FOB origin price for goods it
        sells, the delivered price in its region for goods it buys (USD/kg)."""
        if g in self.sells:
            return self.model.origin_price[g, self.ridx]
        return self.model.observed_price[g, self.ridx]

    def set_base_prices(self, prices: dict[int, float]) -> None:
        """Record ``prices`` (good -> USD/kg) as the firm's base-year prices."""
        self.base_exp = dict(prices)

    def base_price(self, g: int) -> float:
        """Base-year price of good ``g`` in the firm's own market, USD/kg: its expected price
        at the end of the model's base-year warm-up (delivered for goods it buys, FOB for
        goods it sells; :meth:`abm.model.RareEarthModel._warm_up_prices`), else the
        catalogue reference price. Price responses calibrated to base-year behaviour
        (demand, adoption, utilisation) are measured against it, so every firm starts at
        its base-year behaviour whatever transport, duties and tariffs separate its market
        from the reference (origin) price."""
        p = self.base_exp.get(g)
        return float(self.model.catalog.ref_price[g]) if p is None else p

    def anchor(self, g: int) -> float:
        """Long-run anchor price of good ``g`` for this firm, USD/kg (see
        :meth:`update_expectations`)."""
        a = self.anchor_price.get(g)
        if a is None:
            a = self.anchor_price[g] = self.expected(g)
        return a

    def update_expectations(self) -> None:
        """Adaptive expectations around a moving long-run anchor (Sterman 2000, ch. 16 and
        20: the anchoring-and-adjustment of expected prices; the anchor is the long-run
        expected price, itself adapting slowly to observed prices)::

            p_hat  <- p_hat + (o - p_hat) / price_expectation_months
                            + (anchor - p_hat) / price_reversion_months
            anchor <- anchor + (o - anchor) / price_anchor_months

        with ``o`` the observed price (:meth:`observed`): the short-term deviation from the
        anchor reverts with time constant ``price_reversion_months`` and the anchor, the
        long-run level, is filtered from observed prices with time constant
        ``price_anchor_months`` (the short-term/long-term model of commodity prices,
        Schwartz and Smith 2000, with its long-run level learned from spot prices).
        Expectations start, and the anchor starts, at the base-year warm-up prices; nothing
        reverts to a fixed base-year price.

        An operating producer of concentrate or oxides (:attr:`cost_anchored`, not
        mothballed) filters its anchor for every concentrate and oxide it prices (its
        products and its feeds) from ``o x min(1, r_g)`` instead, with ``r_g`` (for an
        oxide) the largest, among the mines that yield ``g`` and produced last month
        outside a binding production quota, of the factor by which entry of the mine's
        kind would move ``g``'s price until the mine just covers its full cost
        (:func:`abm.longrun.entry_factors`), and (for a concentrate) its oxide content at
        the bounded prices over its value
        (``model.marginal_cost_ratios``, :func:`abm.longrun.marginal_cost_ratios`; NaN: no
        such mine, no bound): no producer expects in the long run a price above the level
        at which the marginal mine covers its full cost, because such a price draws entry (the
        margin of production, Marshall 1890; the incentive price, Tilton 2003; reversion to
        long-run marginal cost, Pindyck 1999).
        """
        par = self.model.params
        a = 1.0 / par.price_expectation_months
        b = 1.0 / par.price_reversion_months
        c = 1.0 / par.price_anchor_months
        exp, anchors, isfinite = self.exp_price, self.anchor_price, math.isfinite
        if type(self).observed is Firm.observed:  # the observed price inlined
            r, sells = self.ridx, self.sells
            origin, delivered = self.model.origin_price, self.model.observed_price
            observed = [origin[g, r] if g in sells else delivered[g, r] for g in exp]
        else:
            observed = [self.observed(g) for g in exp]
        # the entry bound (a NaN ratio: none); a mothballed plant judges its restart at
        # prices alone (its capital is sunk)
        bound = (
            self.model.marginal_cost_ratios.tolist() if self.cost_anchored and self.active else None
        )
        for (g, p), o in zip(exp.items(), observed, strict=True):
            if not isfinite(o) or o <= 0:
                o = p
            anc = anchors.get(g)
            if anc is None:
                anc = anchors[g] = p  # = self.anchor(g): p is expected(g)
            p_new = p + a * (o - p) + b * (anc - p)
            exp[g] = 1e-6 if 1e-6 > p_new else p_new  # = max(p_new, 1e-6)
            if bound is not None:
                r = bound[g]
                if r < 1.0:
                    o = o * r
            anchors[g] = anc + c * (o - anc)
        self.risk *= math.exp(-1.0 / par.risk_decay_months)
        self.risk += self.model.policy.risk_shock.get(self.region, 0.0)

    # ----------------------------------------------------------------- orders
    def offer_stock(self, book, g: int, target_cover_months: float) -> None:
        """Offer the whole stock of ``g`` in four equal tranches.

        Each tranche ``k`` is asked at the larger of

        * the coverage price: the expected price scaled by the coverage rule, with cover =
          stock over expected monthly sales against ``target_cover_months`` (sellers with
          excess stock ask less), and, for a seller whose trade indexes prices to a
          reference (:meth:`indexed_price`), by the effect of costs on price
          ``1 + price_indexation x (indexed / expected - 1)`` (Sterman 2000, ch. 20), times
          ``1 - ask_spread x`` :data:`ASK_LADDER` (0.91-0.99 at the default); and
        * its storage value: the price the seller expects once its stock is back at target
          (the expected price, with the effect of costs on price where it applies)
          discounted by the carrying cost over the months ``c_k`` until the tranche would be
          sold at the normal sales rate, ``p_norm x exp(-carrying_cost_per_month x c_k)``
          (competitive storage: stock is held while the expected price gain covers carrying
          cost and interest; Williams and Wright 1991; Deaton and Laroque 1992).
        """
        s = self.stocks.get(g)
        if s is None or s.qty <= 1e-9:
            return
        par = self.model.params
        rate = max(self.sales_rate(g), 1e-6)  # a seller that has neither sold nor made g
        p_hat = self.exp_price.get(g)
        p_hat = float(self.expected(g) if p_hat is None else p_hat)  # Python float arithmetic
        # the price the seller expects once its stock is back at target: its expected price
        # and, where its trade indexes prices to a reference, the effect of costs on price
        # (Sterman 2000, ch. 20)
        normal = p_hat
        indexed = self.indexed_price(g)
        if indexed is not None:
            normal = p_hat * (1.0 + par.price_indexation * (indexed / p_hat - 1.0))
        level = cover_price(normal, s.qty / rate, target_cover_months, par.ask_cover_elasticity)
        q = s.qty / len(ASK_LADDER)  # equal tranches
        k = par.carrying_cost_per_month * q / rate
        spread, exp = par.ask_spread, math.exp
        asks = [
            max(level * (1.0 - spread * x), normal * exp(-k * i))
            for i, x in zip(_TRANCHE_NUMBERS, ASK_LADDER, strict=True)
        ]
        book.offer_tranches(self, g, self.ridx, q, asks, s.cm, s.ca)

    def sales_rate(self, g: int) -> float:
        """Rate at which a stock of ``g`` is expected to be sold down, t/month (>= 0): the
        smoothed sales (``sales_ema``), or last month's output if larger (so a seller that
        has not sold yet, or whose sales lag its output, counts its stock in months of
        output); 0 for a good the firm has neither sold nor made. The rate of
        :meth:`offer_stock`'s tranches (there at least 1e-6) and of
        :meth:`agents.refiner.Refiner.output_values`."""
        return max(self.sales_ema.get(g, 0.0), self.output_month.get(g, 0.0))

    def indexed_price(self, g: int) -> float | None:
        """The reference price the trade indexes this firm's sales of ``g`` to, USD/kg
        (magnet makers: their input costs; miners: the netback of the concentrate's oxide
        content); ``None``: asks follow coverage alone."""
        return None

    def bid_for(
        self,
        book,
        g: int,
        use_rate: float,
        target_cover_months: float,
        value: float,
        use: str = "civil",
        elasticity: float | None = None,
    ) -> None:
        """Bid for ``g``: this month's use plus the gap to the cover target, in
        :data:`BID_TRANCHES` equal tranches, each at the buyer's :func:`marginal_value` at
        the cover it would leave after this month's use; a share ``contract_cover`` of the
        planned use is nominated on contract (:mod:`abm.sourcing`), the rest is bought spot.

        Args:
            use_rate: planned use, t/month.
            target_cover_months: inventory target in months of use.
            value: derived-demand value of a missing kilogram (what it would cost the
                buyer: the margin lost on its product), USD/kg; no bid exceeds it.
            elasticity: for a buyer whose use responds to price (each kilogram an end use of
                its own, :class:`~agents.oem.NonMagnetUser`), its price elasticity of
                demand: a tranche is also bid at most at the inverse demand curve through
                (planned use, expected price), ``p_hat x c ** (1 / elasticity)``, with ``c``
                the share of this month's planned use covered at the tranche's midpoint; a
                tranche of stock beyond this month's use keeps its :func:`marginal_value`.
                The marginal kilogram of planned use is worth the expected price (the plan is
                demand at that price); only the inframarginal kilograms are worth more
                (Marshall).
        """
        if use_rate <= 0:
            return
        book.note_value(g, value)
        par = self.model.params
        s = self.stocks.get(g)
        if s is None:
            s = self.stocks[g] = Stock()
        have = s.qty
        target = use_rate * target_cover_months
        need = max(use_rate + (target - have) / par.inventory_adjust_months, 0.0)
        if need <= 1e-9:
            return
        # the documented end use (what an export-licence application may cover): this
        # month's planned use, not the inventory gap
        planned = min(use_rate, need)
        q = need / BID_TRANCHES
        p_hat = self.exp_price.get(g)
        p_hat, carry = (
            float(self.expected(g) if p_hat is None else p_hat),
            par.carrying_cost_per_month,
        )
        covers = [(have + q * k - use_rate) / use_rate for k in _BID_MIDPOINTS]
        prices = marginal_values(covers, p_hat, value, target_cover_months, carry)
        if elasticity is not None:
            inv = 1.0 / elasticity
            prices = [
                min(p, p_hat * (c + 1.0) ** inv) if c < 0.0 else p  # c + 1 > 0: have >= 0
                for p, c in zip(prices, covers, strict=True)
            ]
        book.demand(self, g, self.ridx, planned, par.contract_cover * planned, q, prices, use)

    # ----------------------------------------------------------------- accounting
    def record_sale(self, g: int, qty: float) -> None:
        """Smooth the firm's monthly sales of ``g`` (t/month): exponential smoothing with
        weight ``sales_smoothing`` on this month."""
        prev = self.sales_ema.get(g, qty)
        w = self.model.params.sales_smoothing
        self.sales_ema[g] = (1.0 - w) * prev + w * qty

    def book_margin(self, margin: float, revenue: float | None = None) -> None:
        """Book this month's operating cash margin: ``margin`` (share of revenue) x
        ``revenue`` (t x USD/kg, so x 1000 gives USD/month) goes to the cash account at the
        firm's monthly review (:meth:`settle_cash`); ``margin_ema`` smooths the margin share
        (weight ``margin_smoothing`` on this month). Exit is decided on cash and credit
        (:meth:`review_status`), not on a count of loss months."""
        w = self.model.params.margin_smoothing
        self.margin_ema = (1.0 - w) * self.margin_ema + w * margin
        if revenue is not None:
            self.month_cash += margin * revenue * 1000.0

    @property
    def base_utilisation(self) -> float:
        """Share of capacity run at base-year prices (0..1):
        :meth:`abm.parameters.Parameters.utilisation_of` the firm's stage."""
        return self.model.params.utilisation_of(self.stage)

    # ----------------------------------------------------------------- investment
    def lead_time_months(self, past_feasibility: bool = False) -> int:
        """Draw a lead time for new capacity at this firm's stage (months): one
        ``rng.uniform`` over the stage's range, times the region's ``lead_time_factor``.

        Args:
            past_feasibility: a pipeline mine whose feasibility study is done (status
                feasibility, committed or construction) draws from
                ``lead_time_mine_after_feasibility_years`` (commitment to first production)
                instead of ``lead_time_mine_years`` (discovery to production).
        """
        par = self.model.params
        mine = (
            par.lead_time_mine_after_feasibility_years
            if past_feasibility
            else par.lead_time_mine_years
        )
        lo, hi = {
            "mining": mine,
            "separation": par.lead_time_separation_years,
            "magnets": par.lead_time_magnet_years,
        }.get(self.stage, (2.0, 3.0))
        factor = self.model.policy.lead_time_factor(self.region, self.stage, self.company)
        return max(1, round(12 * factor * self.model.rng.uniform(lo, hi)))

    def expansion_margin(self) -> float:
        """Expected unit margin, USD/kg of output (overridden per stage)."""
        return 0.0

    def longrun_margin(self) -> float:
        """Unit margin at the firm's long-run expected prices (:meth:`longrun_sale_price`
        for its products, :meth:`anchor` for its inputs), floors and offtakes included,
        USD/kg of output (feed for refiners); the margin of the NPV test and of the
        mothball rule (overridden per stage)."""
        return self.expansion_margin()

    @property
    def market(self) -> str:
        """The market whose supply line the firm reads before expanding (its stage)."""
        return self.stage

    def sale_price(self, g: int) -> float:
        """Price the firm expects for its sales of ``g``: the expected market price, or the
        price a floor or offtake guarantees if higher, a cost-plus offtake's at the firm's
        expected input prices included (the government pays the gap on every sale,
        :meth:`abm.model.RareEarthModel._settle`), USD/kg."""
        pol = self.model.policy
        p = self.exp_price.get(g)
        if p is None:
            p = self.expected(g)
        if not pol.floors:
            return p
        return max(p, self.guaranteed(g), self.cost_plus_price(g, self.expected))

    def guaranteed(self, g: int) -> float:
        """Price floors and offtakes guarantee the firm for its sales of ``g``, USD/kg (0 if
        none; :meth:`abm.policy.PolicyState.guaranteed_price`)."""
        pol = self.model.policy
        if not pol.floors:
            return 0.0
        return pol.guaranteed_price(
            self.region, g, self.stage == "magnets", self.company, self.plant
        )

    def cost_plus_price(self, g: int, input_price) -> float:
        """Price a cost-plus offtake guarantees the firm for ``g`` with its inputs valued
        by ``input_price(good) -> USD/kg``, USD/kg; 0 here (only magnet plants have one,
        :meth:`agents.magnet_maker.MagnetMaker.cost_plus_price`)."""
        return 0.0

    def settlement_price(self, g: int) -> float:
        """Price the government tops a sale of ``g`` up to this month, USD/kg: the floor or
        offtake price, or the cost-plus price at the firm's expected input prices."""
        if not self.model.policy.floors:
            return 0.0
        return max(self.guaranteed(g), self.cost_plus_price(g, self.expected))

    def forward_sale_price(self, g: int) -> float:
        """Price the firm expects for ``g`` when an input bought now leaves in its products,
        USD/kg: its expected price carried forward over the holding horizon ``h`` = input
        cover (``inventory_target_weeks``) + finished-goods cover (``sell_cover_months``)
        by the forecast of the short-term/long-term model its expectations follow (Schwartz
        and Smith 2000): the long-run level, a random walk, is expected to stay at the
        anchor ``a``, and the short-term deviation to decay with time constant
        ``price_reversion_months`` (not the firm's own monthly update iterated without
        news, in which the anchor would move too):

        ``a + (p_hat - a) x exp(-h / price_reversion_months)``,

        or the guaranteed price if higher. Derived-demand values of inputs use it (Marshall's
        derived demand: an input is worth the margin of the product it goes into, at the
        price that product is expected to fetch when it is sold, Hicks 1932, ch. 6); the
        long-run anchor alone would leave input values flat while product prices stay high
        for months (issue 12: magnets at 10-20x in 2010-11 while Dy stayed flat)."""
        par = self.model.params
        p = self.exp_price.get(g)
        if p is None:
            p = self.expected(g)
        a = self.anchor_price.get(g)
        if a is None:
            a = self.anchor(g)
        h = par.inventory_target_weeks / WEEKS_PER_MONTH + par.sell_cover_months
        v = a + (p - a) * math.exp(-h / par.price_reversion_months)
        if not self.model.policy.floors:
            return v
        # a cost-plus offtake is left out: input values derived from a price that rises
        # with the input's own price would have no bound (the plant's bids would ratchet
        # its costs up); inputs are valued at the market-based guarantee
        return max(v, self.guaranteed(g))

    def longrun_sale_price(self, g: int) -> float:
        """Long-run price the firm expects for its sales of ``g``: its anchor price
        (:meth:`anchor`), or the guaranteed price if higher (a cost-plus offtake's with its
        inputs at their anchor prices), USD/kg: the price of the NPV test and of the
        mothball rule."""
        a = self.anchor_price.get(g)
        if a is None:
            a = self.anchor(g)
        if not self.model.policy.floors:
            return a
        anc, anchor = self.anchor_price, self.anchor
        return max(
            a,
            self.guaranteed(g),
            self.cost_plus_price(g, lambda og: anc[og] if og in anc else anchor(og)),
        )

    def track_output(self) -> None:
        """Update ``output_avg``, the firm's output averaged over the capital-budgeting
        period (exponential average over ``investment_review_months``, t/month), which the
        investment signals read so that a one-month swing does not trigger an expansion."""
        out = self.recent_output()
        if self.output_avg is None:
            self.output_avg = out
        else:
            self.output_avg += (out - self.output_avg) / self.model.params.investment_review_months

    def average_output(self) -> float:
        """``output_avg`` (t/month), or last month's output (:meth:`recent_output`) for a
        firm that has not averaged its output yet (an entrant added this month)."""
        return self.output_avg if self.output_avg is not None else self.recent_output()

    def recent_output(self) -> float:
        """Last month's output of the firm's products, t/month (feed t for refiners)."""
        if self.stage == "separation":
            return float(getattr(self, "throughput", 0.0))
        return float(sum(self.output_month.values()))

    def cost_utilisation(self, price: float, cost: float, base_price: float) -> float:
        """Share of capacity the firm runs at ``price`` (USD/kg), from its cost curve (a firm
        runs an operation while the price covers its cash cost):

        ``u0 x Phi(ln(price / cost) / d) + (1 - u0) x Phi(ln(price / (m x base_price)) / d)``

        with ``u0`` = ``base_utilisation`` (the capacity run in the base year, cash costs
        lognormal around ``cost``), ``d`` = ``cost_dispersion``, and the capacity idle in the
        base year costing about ``m`` = ``idle_capacity_cost_multiple`` times the base-year
        price ``base_price`` (it was idle because that price did not cover it)."""
        par = self.model.params
        if price <= 0:
            return 0.0
        d, u0 = par.cost_dispersion, self.base_utilisation

        def phi(x):
            return 0.5 * (1.0 + math.erf(x / (d * math.sqrt(2.0))))

        run = phi(math.log(price / cost)) if cost > 0 else 1.0
        idle = phi(math.log(price / (par.idle_capacity_cost_multiple * base_price)))
        return u0 * run + (1.0 - u0) * idle

    def utilisation(self, price_ratio: float) -> float:
        """Share of capacity to run: base utilisation scaled by
        ``price_ratio ** supply_elasticity``, capped at 1."""
        par = self.model.params
        return min(1.0, self.base_utilisation * max(price_ratio, 0.0) ** par.supply_elasticity)

    # ----------------------------------------------------------------- capital and cash
    def capex_per_t(self) -> float:
        """Replacement capital cost of this firm's stage, USD per t/yr of capacity: the
        median of the project pipeline (:func:`abm.investment.capex_intensity`, ex-China
        projects), times ``china_capex_factor`` for mines and separation plants in China."""
        base = float(self.model.pipeline.intensity.get(self.stage, 0.0))
        if self.region == "CN" and self.stage in ("mining", "separation"):
            return base * self.model.params.china_capex_factor
        return base

    def longrun_cash_flow(self) -> float:
        """Operating cash flow at long-run prices, USD/yr: nameplate x base utilisation x
        1000 kg/t x :meth:`longrun_margin`, less debt service."""
        cap = self.nameplate if self.nameplate is not None else self.capacity
        return cap * self.base_utilisation * 1000.0 * self.longrun_margin() - self.debt_payment

    def credit_line(self) -> float:
        """Credit lenders extend, USD: ``credit_years`` x the operating cash flow at
        long-run prices before debt service (nameplate x base utilisation x 1000 x
        :meth:`longrun_margin`), none when that flow is negative (lenders lend against
        expected cash flow; the debt already taken is serviced from cash)."""
        return self.model.params.credit_years * max(
            self.longrun_cash_flow() + self.debt_payment, 0.0
        )

    def initial_cash(self) -> float:
        """Cash at the start of a run or at start-up, USD: ``cash_buffer_months`` of value
        added at nameplate, base utilisation and long-run prices (unit cost plus long-run
        margin, at least the unit cost, per kg of output)."""
        par = self.model.params
        cap = self.nameplate if self.nameplate is not None else self.capacity
        unit = max(self.unit_cost + self.longrun_margin(), self.unit_cost)
        return par.cash_buffer_months * cap * self.base_utilisation * 1000.0 * unit / 12.0

    def take_debt(self, debt: float, rate: float) -> None:
        """Add ``debt`` USD at ``rate``/yr; debt service becomes the level payment on the
        total over ``debt_years`` (:func:`abm.investment.debt_service`)."""
        from abm.investment import debt_service

        if debt <= 0:
            return
        total = self.debt + debt
        self.debt_rate = (self.debt * self.debt_rate + debt * rate) / total
        self.debt = total
        self.debt_payment = debt_service(self.debt, self.debt_rate, self.model.params.debt_years)

    def settle_cash(self) -> None:
        """Monthly cash account: ``cash += operating margin booked this month - debt service
        / 12 - care and maintenance`` (a mothballed plant: ``care_maintenance_share`` x cash
        cost of its base output per month); interest accrues on the debt, the rest of the
        payment repays it."""
        par = self.model.params
        if self.cash is None:
            self.cash = self.initial_cash()
        self.cash += self.month_cash
        self.month_cash = 0.0
        if self.debt > 0:
            pay = min(self.debt_payment / 12.0, self.debt * (1 + self.debt_rate / 12.0))
            self.cash -= pay
            self.debt = max(self.debt * (1 + self.debt_rate / 12.0) - pay, 0.0)
            if self.debt <= 1e-6:
                self.debt = self.debt_payment = 0.0
        if self.mothballed:
            self.cash -= (
                par.care_maintenance_share
                * self.unit_cost
                * 1000.0
                * self.nameplate
                * self.base_utilisation
                / 12.0
            )

    def ramp_capacity(self) -> None:
        """Operating capacity = nameplate less the part of each ramp not yet reached:
        ``K = nameplate - sum q x (1 - rampup_share((t - t0) / 12, tau))`` over the firm's
        ramps (start step ``t0``, t/yr ``q``, time constant ``tau`` years); ramps within
        0.1% of nameplate are closed."""
        from abm.investment import rampup_share

        if self.mothballed or self.exited:
            return
        t = self.model.month_index
        short, keep = 0.0, []
        for t0, q, tau in self.ramps:
            gap = q * (1.0 - rampup_share((t - t0) / 12.0, tau))
            if gap > 1e-3 * q:
                keep.append((t0, q, tau))
                short += gap
        self.ramps = keep
        self.capacity = max(self.nameplate - short, 0.0)

    @property
    def starting_up(self) -> bool:
        """Whether all of the firm's nameplate is still in its start-up ramp (an entrant, or
        a plant restarted after mothballing): it has no customer base yet, and the ramp-up
        curve it follows (:func:`abm.investment.rampup_share`) is fitted to the output of
        real start-ups (Mountain Pass, Lynas: rampup.csv), so it produces to its ramping
        capacity at the price-led rate rather than to its sales (made to order)."""
        return bool(self.ramps) and sum(q for _t, q, _tau in self.ramps) >= (
            self.nameplate or 0.0
        ) * (1.0 - 1e-9)

    def start_up(self, q: float, tau_years: float | None = None) -> None:
        """Add ``q`` t/yr of nameplate starting up this step; it ramps up with time
        constant ``tau_years`` (default ``rampup_tau_years``)."""
        tau = self.model.params.rampup_tau_years if tau_years is None else tau_years
        if self.nameplate is None:
            self.nameplate = self.capacity
        self.nameplate += q
        self.ramps.append((self.model.month_index, q, tau))
        self.active, self.mothballed, self.exited = True, False, False
        self.ramp_capacity()

    def review_status(self) -> None:
        """Mothball, restart or exit (real options of an operating plant: Dixit 1989;
        Dixit and Pindyck 1994, ch. 7), with ``c`` = cash cost and ``m`` =
        :meth:`longrun_margin` (at the long-run anchor prices, floors and offtakes):

        * an operating plant is mothballed when ``m < -mothball_band x c`` (capacity 0,
          nameplate kept; care and maintenance paid);
        * a mothballed plant restarts when ``m > mothball_band x c`` and cash plus credit
          cover the restart cost (``restart_cost_share`` x capital cost per t/yr x
          nameplate); its nameplate ramps up again with ``restart_tau_years``;
        * a company is bankrupt when its cash, pooled over its units, falls below minus
          the credit lines of its units (:meth:`credit_line`;
          :meth:`abm.treasury.GroupTreasury.position`: an internal capital market carries
          a unit through losses): every unit of the company exits for good (capacity and
          nameplate 0, projects abandoned), and its entrants of the project pipeline that
          have not started up are abandoned. A firm alone in its company is its own group.

        The restart cost is paid from the unit's cash, and it may restart when the
        company's cash plus credit cover it.
        """
        par = self.model.params
        if (
            self.exited
            or self.nameplate is None
            or self.nameplate <= 0
            or self.stage == "recycling"
        ):  # recyclers book no cash (7.10)
            return
        c = max(self.unit_cost, 1e-9)
        m = self.longrun_margin()
        treasury = self.model.treasury
        own = par.credit_years * max(
            self.nameplate * self.base_utilisation * 1000.0 * m, 0.0
        )  # = credit_line()
        # the company can only be insolvent if some unit is below its own credit line, and
        # that unit reviews this month: the pooled position is needed only then
        cash, credit = (
            treasury.position(self.company)
            if self.cash < -own or self.mothballed
            else (self.cash, own)
        )
        if cash < -credit:
            why = (
                f"cash of {self.company} {usd_text(cash)} below its credit line "
                f"({usd_text(-credit)})"
            )
            for unit in treasury.units(self.company):
                if unit.nameplate is not None and unit.nameplate > 0:
                    unit.exit_market(why)
            for unit in treasury.pending(self.company):
                # a committed entrant of the bankrupt company is abandoned before start-up
                unit.exited = True
                self.model.log_event(
                    "firm exits",
                    f"{unit.name} ({unit.region}, "
                    f"{unit.stage}) is abandoned before start-up: {why}",
                )
            return
        if not self.mothballed and self.active and m < -par.mothball_band * c:
            self.mothballed, self.active = True, False
            self.capacity = 0.0
            self.ramps = []
            self.model.log_event(
                "firm mothballs",
                f"{self.name} ({self.region}, {self.stage}) "
                f"mothballs {self.nameplate:,.0f} t/yr (long-run margin "
                f"{m:.2f} USD/kg)",
            )
        elif self.mothballed and m > par.mothball_band * c:
            cost = par.restart_cost_share * self.capex_per_t() * self.nameplate
            if cash + credit >= cost:
                self.cash -= cost
                self.mothballed, self.active = False, True
                self.ramps = [(self.model.month_index, self.nameplate, par.restart_tau_years)]
                self.ramp_capacity()
                self.model.log_event(
                    "firm restarts",
                    f"{self.name} ({self.region}, "
                    f"{self.stage}) restarts {self.nameplate:,.0f} t/yr "
                    f"(restart cost {usd_text(cost)})",
                )

    def exit_market(self, why: str) -> None:
        """Leave for good: capacity and nameplate 0, projects under way abandoned (event
        "firm exits")."""
        abandoned = sum(q for _, q in self.projects)
        self.active, self.mothballed, self.exited = False, False, True
        self.capacity = self.nameplate = 0.0
        self.ramps, self.projects, self.project_debt = [], [], []
        self.model.log_event(
            "firm exits",
            f"{self.name} ({self.region}, {self.stage}) exits: "
            f"{why}"
            + (f", abandoning {abandoned:,.0f} t/yr under construction" if abandoned else ""),
        )

    def current_margin(self) -> float:
        """Margin at the firm's current expected prices, in the terms of
        :meth:`longrun_margin` (USD/kg of output or feed): :meth:`expansion_margin`."""
        return self.expansion_margin()

    def record_free_anchor(self) -> None:
        """Record the firm's anchor prices of the goods it sells and of those it prices as
        its policy-free prices (:attr:`free_anchor`); a good it has not priced yet at the
        price it would start from (:meth:`anchor`, :meth:`expected`), without starting it."""
        anchors, exp, ref = self.anchor_price, self.exp_price, self.model.catalog.ref_price
        goods = self.sells | set(exp) | set(anchors)
        self.free_anchor = {
            g: anchors[g] if g in anchors else exp[g] if g in exp else float(ref[g])
            for g in sorted(goods)
        }

    def policy_free_margin(self) -> float | None:
        """Long-run margin at policy-free prices (:meth:`longrun_margin` at the firm's
        :attr:`free_anchor` prices, each moved since then in proportion to its world
        benchmark's long-run price, :meth:`abm.model.RareEarthModel.benchmark_growth`),
        USD/kg; None while no new trade instrument adopted during the run is in force
        (:meth:`abm.policy.PolicyState.trade_policy_changed`).

        The investor's view of the world without the measures (trade-policy uncertainty:
        Handley and Limao 2015, 2017): its own long-run prices before they were adopted,
        carried forward with the world market's, so that what moves world prices (demand,
        costs) is not taken for the measures' premium. Floors and offtakes, contracts that
        do not end with the trade measures, count as in :meth:`longrun_margin`."""
        free = self.free_anchor
        if free is None:
            return None
        growth = self.model.benchmark_growth()
        own = self.anchor_price
        self.anchor_price = {**own, **{g: p * growth[g] for g, p in free.items()}}
        try:
            return self.longrun_margin()
        finally:
            self.anchor_price = own

    def project_npv(
        self,
        size: float,
        capex: float,
        lead: int,
        margin: float | None = None,
        tau_years: float | None = None,
    ):
        """NPV of adding ``size`` t/yr at capital cost ``capex`` USD, starting up after
        ``lead`` months and ramping up with time constant ``tau_years`` (default
        ``rampup_tau_years``), with the public support in force for the firm's region and
        stage (:func:`abm.investment.support_terms`, :func:`abm.investment.financing`).

        The margin is the one the firm expects month by month (default): its
        :meth:`current_margin` today, returning to its :meth:`longrun_margin` with the
        time constant ``price_reversion_months`` of its own price expectations (7.2): the
        expected cash flows of the textbook NPV under the firm's expectations, so that a
        price boom the firm expects to last raises the value of capacity that starts up
        while it lasts (investment waves that follow current earnings: Greenwood and
        Hanson 2015, QJE 130(1)). With ``margin`` given, that margin flat.

        While a new trade instrument is in force (:meth:`policy_free_margin` not None,
        ``margin`` not given), the margin at policy-free prices is valued at the cost of
        capital and the premium above it, long-run and transient, at the cost of capital
        plus ``policy_reversal_hazard`` (:func:`abm.investment.hazard_rate`; trade-policy
        uncertainty, Handley and Limao 2015, 2017; docs/ODD.md 7.13).

        Returns:
            (NPV in USD, :class:`abm.investment.Financing`).
        """
        from abm.investment import financing, hazard_rate, npv, support_terms

        par = self.model.params
        sup = support_terms(self.model.policy, self.region, self.stage, self.company)
        fin = financing(
            capex,
            par.wacc,
            par.debt_share,
            par.debt_rate,
            par.project_life_years,
            sup["grant_share"],
            sup["loan_share"],
            par.public_discount_rate if sup["loan_rate"] is None else sup["loan_rate"],
            sup["equity_share"],
            par.public_discount_rate,
            par.debt_years,
        )
        transient = 0.0
        if margin is None:
            m = self.longrun_margin()
            transient = self.current_margin() - m
        else:
            m = margin
        # new capacity is planned at design utilisation (base_utilisation), whatever the
        # stage's average: a magnet industry's idle lines are mostly low-end (operating
        # rates of 70-75% at high-end makers vs 30-40% at low-end ones in H1 2012,
        # ResearchInChina via SBWIRE 2013)
        tau = par.rampup_tau_years if tau_years is None else tau_years
        common = (par.project_life_years, lead, par.base_utilisation, tau)
        moving = {"transient_usd_kg": transient, "transient_months": par.price_reversion_months}
        free = None if margin is not None else self.policy_free_margin()
        if free is None:
            return npv(size, m, fin.capex, fin.rate, *common, **moving), fin
        # trade-policy uncertainty (Handley and Limao 2015): the margin at policy-free
        # prices for the project's life, and the premium above it (long-run and transient)
        # only while the measures last, ending at the annual hazard policy_reversal_hazard
        rate_h = hazard_rate(fin.rate, par.policy_reversal_hazard)
        value = npv(size, free, fin.capex, fin.rate, *common)
        value += npv(size, m - free, 0.0, rate_h, *common, **moving)
        return value, fin

    def hurdle(self) -> float:
        """Profitability index - 1 a project must reach (share of capital cost):
        ``investment_hurdle``, or 0 when a floor or offtake guarantees the price of
        something the firm sells. The hurdle above NPV = 0 is the value of waiting under
        price uncertainty (Dixit and Pindyck 1994, ch. 5; McDonald and Siegel 1986); a
        guaranteed price removes the downside that makes waiting valuable."""
        if self.model.policy.floors and any(self.guaranteed(g) > 0 for g in self.sells):
            return 0.0
        return self.model.params.investment_hurdle

    def commit(self, size: float, online: int, fin, what: str = "expands by") -> None:
        """Commit to ``size`` t/yr starting up at step ``online``, financed by ``fin``:
        the sponsor's equity is raised from shareholders (its cost is in the discount rate
        of the NPV test), its debt is drawn at start-up and serviced from cash; the fiscal
        cost of public support is recorded (``model.fiscal_cost[(region, instrument)]``,
        USD)."""
        if self.cash is None:
            self.cash = self.initial_cash()
        self.projects.append((online, size))
        self.project_debt.append((online, fin.debt, fin.debt_rate))
        for inst, v in fin.fiscal.items():
            if v > 0:
                key = (self.region, inst)
                self.model.fiscal_cost[key] = self.model.fiscal_cost.get(key, 0.0) + v
        self.model.add_to_supply_line(self.market, size)
        self.model.log_event(
            "investment",
            f"{self.name} ({self.region}) {what} "
            f"{size:,.0f} t/yr, online {self.model.date_of(online)} "
            f"(capital {usd_text(fin.capex)} at "
            f"{100 * fin.rate:.1f}%/yr)",
        )

    def demand_growth(self, months: int) -> float:
        """Growth factor of end-use demand the firm expects over the next ``months``: that
        of magnet rare-earth demand in the published outlook the end-use plans follow
        (:meth:`abm.demand.DemandOutlook.factor` of ``"all"``: IEA GCMO 2024 APS, 5.02%/yr
        2023-30 and 1.63%/yr after; 9.05%/yr before 2023), from this month."""
        mdl, t = self.model, self.model.month_index
        outlook = mdl.demand_outlook
        return outlook.factor("all", mdl.start.year, mdl.start.month, t + months) / outlook.factor(
            "all", mdl.start.year, mdl.start.month, t
        )

    def review_investment(self) -> None:
        """Monthly capital review (docs/ODD.md 7.13), after production:

        1. projects whose start-up step has come start up and ramp up
           (:meth:`start_up`); their debt is drawn;
        2. operating capacity follows the ramps (:meth:`ramp_capacity`);
        3. the cash account is settled (:meth:`settle_cash`) and the firm mothballs,
           restarts or exits (:meth:`review_status`);
        4. on the firm's review month, a brownfield expansion of the size
           :func:`abm.investment.expansion_order` gives (the gap between desired capacity
           and nameplate plus the firm's own supply line, at most the largest real project
           of the stage times ``project_size_scale`` and the firm's nameplate) is committed
           when the NPV at long-run prices (:meth:`project_npv`) is at least
           :meth:`hurdle` x capital cost and either
           * price signal: the plant runs above ``expansion_utilisation_trigger`` (85%) of
             capacity and less than
             ``supply_line_share`` of the market's capacity is under construction; or
           * demand signal: output grown over the lead time at the growth of magnet
             rare-earth demand in the published outlook the end-use plans follow
             (:meth:`abm.demand.DemandOutlook.factor` of ``"all"``: IEA GCMO 2024 APS,
             5.0%/yr to 2030 and 1.6%/yr after; 9.05%/yr before 2023)
             would exceed ``expansion_demand_trigger`` (95%) of capacity, and the same holds
             for the market's output against its capacity plus capacity under construction
             (the supply line, :meth:`abm.model.RareEarthModel.supply_line`).
        """
        t = self.model.month_index
        par = self.model.params
        if self.nameplate is None:
            self.nameplate = self.capacity
        done = [p for p in self.projects if p[0] <= t]
        if done:
            added = sum(a for _, a in done)
            self.projects = [p for p in self.projects if p[0] > t]
            for _online, debt, rate in [d for d in self.project_debt if d[0] <= t]:
                self.take_debt(debt, rate)
            self.project_debt = [d for d in self.project_debt if d[0] > t]
            # capacity added at an operating plant ramps up like a restart (MP 2018: tau
            # 1.25 yr), not like a greenfield plant (Lynas LAMP: 2.9 yr)
            self.start_up(added, self.model.params.restart_tau_years)
            self.model.log_event(
                f"{self.stage} capacity online",
                f"{self.name} ({self.region}) +{added:,.0f} t/yr nameplate starts up",
            )
        self.ramp_capacity()
        self.settle_cash()
        self.review_status()
        if (t + self.unique_id) % par.investment_review_months:
            return
        if not self.active or self.capacity <= 0 or self.exited:
            return
        sizes = self.model.pipeline.sizes.get(self.stage)
        if sizes is None or not len(sizes):
            return
        lead = max(1, int(self.lead_time_months() * par.brownfield_lead_share))
        out = self.average_output()
        growth = self.demand_growth(lead)
        s_out, s_cap, s_pipe = self.model.supply_line(self.market)
        trig_u, trig_d = par.expansion_utilisation_trigger, par.expansion_demand_trigger
        price_signal = out * 12 >= trig_u * self.capacity and s_pipe < par.supply_line_share * s_cap
        demand_signal = out * 12 * growth >= trig_d * self.capacity and s_out * growth >= trig_d * (
            s_cap + s_pipe
        )
        if not (price_signal or demand_signal):
            return
        from abm.investment import expansion_order

        size = expansion_order(
            out * 12,
            growth,
            trig_u if price_signal else trig_d,
            self.nameplate,
            sum(q for _, q in self.projects),
            par.project_size_scale * float(sizes[-1]),
        )
        if size <= 0:
            return
        capex = self.capex_per_t() * size
        value, fin = self.project_npv(size, capex, lead, tau_years=par.restart_tau_years)
        if value >= self.hurdle() * fin.capex:
            self.commit(size, t + lead, fin)
