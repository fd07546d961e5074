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


#: Price multiples of the four offer tranches around the coverage price level.
ASK_STEPS = (0.91, 0.94, 0.97, 0.99)
#: Number of bid tranches a buyer posts (equal quantities along its marginal-value curve).
BID_TRANCHES = 4
#: Finished-goods cover sellers aim to hold, months of sales (miners, refiners, recyclers).
SELL_COVER_MONTHS = 1.0


def cover_price(base: float, cover: float, target: float, alpha: float) -> float:
    """Inventory-coverage price ``base * (cover / target) ** -alpha`` (Sterman 2000, ch. 20),
    USD/kg; ``cover`` and ``target`` in months (> 0)."""
    return float(base * (cover / target) ** (-alpha))


def marginal_value(cover, expected: float, value: float, target: float,
                   carrying: float):
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
    h = expected * carrying * target
    if np.ndim(cover) == 0:
        if value <= expected + h:
            return value
        c = max(float(cover), 0.0)
        return expected + (value - expected) * (h / (value - expected)) ** (c / target)
    c = np.maximum(np.asarray(cover, dtype=float), 0.0)
    if value <= expected + h:
        return np.full_like(c, value)
    p_target = h / (value - expected)           # stock-out probability at the target
    return expected + (value - expected) * p_target ** (c / target)


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

    def __init__(self, model, name: str, region: str, capacity: float = 0.0,
                 unit_cost: float = 0.0):
        super().__init__(model)
        if capacity < 0:
            raise ValueError(f"{name}: capacity must be >= 0 t/yr, got {capacity}")
        if unit_cost < 0:
            raise ValueError(f"{name}: unit_cost must be >= 0 USD/kg, got {unit_cost}")
        self.name = name
        self.region = region
        self.ridx = model.region_index[region]
        self.capacity = float(capacity)
        self.unit_cost = float(unit_cost)
        self.stocks: dict[int, Stock] = {}
        self.exp_price: dict[int, float] = {}
        self.anchor_price: dict[int, float] = {}
        self.risk = 0.0
        self.output_avg: float | None = None     # t/month, see track_output
        self.active = True
        self.loss_months = 0
        self.margin_ema = 0.0
        self.projects: list[tuple[int, float]] = []   # (online step, added capacity)
        self.pending_decision: dict | None = None     # a planned project awaiting commitment
        self.sales_ema: dict[int, float] = {}
        self.sells: set[int] = set()                  # goods this firm produces and sells
        self.output_month: dict[int, float] = {}

    # ----------------------------------------------------------------- stocks
    def stock(self, g: int) -> Stock:
        """The firm's stock of good index ``g`` (created empty on first use)."""
        s = self.stocks.get(g)
        if s is None:
            s = self.stocks[g] = Stock()
        return s

    def expected(self, g: int) -> float:
        """Expected price of good ``g`` in the firm's region, USD/kg."""
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
                            + (anchor - p_hat) / price_anchor_months
            anchor <- anchor + (o - anchor) / price_anchor_months

        with ``o`` the observed price (:meth:`observed`). Expectations start, and the anchor
        starts, at the base-year warm-up prices; nothing reverts to a fixed base-year price.
        """
        par = self.model.params
        a = 1.0 / par.price_expectation_months
        b = 1.0 / par.price_anchor_months
        for g, p in self.exp_price.items():
            o = self.observed(g)
            if not math.isfinite(o) or o <= 0:
                o = p
            anc = self.anchor(g)
            self.exp_price[g] = max(p + a * (o - p) + b * (anc - p), 1e-6)
            self.anchor_price[g] = anc + b * (o - anc)
        self.risk *= math.exp(-1.0 / par.risk_decay_months)
        self.risk += self.model.policy.risk_shock.get(self.region, 0.0)

    # ----------------------------------------------------------------- orders
    def offer_stock(self, book, g: int, target_cover_months: float) -> None:
        """Offer the whole stock of ``g`` in four equal tranches.

        Each tranche ``k`` is asked at the larger of

        * the coverage price: the expected price scaled by the coverage rule, with cover =
          stock over expected monthly sales against ``target_cover_months`` (sellers with
          excess stock ask less), times 0.91-0.99 (:data:`ASK_STEPS`); and
        * its storage value: the expected price discounted by the carrying cost over the
          months ``c_k`` until the tranche would be sold at the normal sales rate,
          ``p_hat x exp(-carrying_cost_per_month x c_k)`` (competitive storage: stock is held
          while the expected price gain covers carrying cost and interest; Williams and
          Wright 1991; Deaton and Laroque 1992).
        """
        s = self.stocks.get(g)
        if s is None or s.qty <= 1e-9:
            return
        par = self.model.params
        rate = max(self.sales_ema.get(g, 0.0), self.output_month.get(g, 0.0), 1e-6)
        level = cover_price(self.expected(g), s.qty / rate, target_cover_months,
                            par.ask_cover_elasticity)
        n = len(ASK_STEPS)
        q = s.qty / n                        # equal tranches
        p_hat, k = self.expected(g), par.carrying_cost_per_month * q / rate
        asks = [max(level * step, p_hat * math.exp(-k * (i + 1)))
                for i, step in enumerate(ASK_STEPS)]
        book.offer_tranches(self, g, self.ridx, q, asks, s.cm, s.ca)

    def bid_for(self, book, g: int, use_rate: float, target_cover_months: float,
                value: float, use: str = "civil") -> None:
        """Bid for ``g``: this month's use plus the gap to the cover target, in
        :data:`BID_TRANCHES` equal tranches, each at the buyer's :func:`marginal_value` at
        the cover it would leave after this month's use; a share ``contract_cover`` of the
        planned use is nominated on contract (:mod:`abm.sourcing`), the rest is bought spot.

        Args:
            use_rate: planned use, t/month.
            target_cover_months: inventory target in months of use.
            value: derived-demand value of a missing kilogram (what it would cost the
                buyer: the margin lost on its product), USD/kg; no bid exceeds it.
        """
        if use_rate <= 0:
            return
        par = self.model.params
        s = self.stock(g)
        target = use_rate * target_cover_months
        need = max(use_rate + (target - s.qty) / par.inventory_adjust_months, 0.0)
        if need <= 1e-9:
            return
        # the documented end use (what an export-licence application may cover): this
        # month's planned use, not the inventory gap
        planned = min(use_rate, need)
        book.declare_end_use(g, self.ridx, planned, use)
        nom = book.nominate(g, self.ridx, par.contract_cover * planned, use)
        q = need / BID_TRANCHES
        p_hat = self.expected(g)
        h = p_hat * par.carrying_cost_per_month * target_cover_months
        if value <= p_hat + h:
            prices = [value] * BID_TRANCHES
        else:
            # marginal_value at each tranche's cover, inlined (scalar) for speed
            p_t, span = h / (value - p_hat), value - p_hat
            c0 = (s.qty - use_rate) / use_rate
            dc = q / use_rate
            prices = [p_hat + span * p_t ** (max(c0 + dc * (k + 0.5), 0.0) / target_cover_months)
                      for k in range(BID_TRANCHES)]
        book.bid_tranches(self, g, self.ridx, q, prices, use, nom)

    # ----------------------------------------------------------------- accounting
    def record_sale(self, g: int, qty: float) -> None:
        """Smooth the firm's monthly sales of ``g`` (t/month)."""
        prev = self.sales_ema.get(g, qty)
        self.sales_ema[g] = 0.7 * prev + 0.3 * qty

    def book_margin(self, margin: float) -> None:
        """Track the cash margin (share of revenue) and months of losses; after
        ``exit_loss_months`` of losses the firm exits: capacity 0, and its projects under
        construction and any pending planned project are abandoned."""
        self.margin_ema = 0.8 * self.margin_ema + 0.2 * margin
        self.loss_months = self.loss_months + 1 if self.margin_ema < 0 else 0
        if self.loss_months >= self.model.params.exit_loss_months and self.active:
            self.active = False
            self.capacity = 0.0
            abandoned = sum(q for _, q in self.projects)
            self.projects = []
            self.pending_decision = None
            self.model.log_event("firm exits", f"{self.name} ({self.region}, {self.stage}) exits "
                                 f"after {self.loss_months} months of losses"
                                 + (f", abandoning {abandoned:,.0f} t/yr under construction"
                                    if abandoned else ""))

    # ----------------------------------------------------------------- investment
    def lead_time_months(self) -> int:
        """Draw a lead time for new capacity at this firm's stage (months)."""
        par = self.model.params
        lo, hi = {"mining": par.lead_time_mine_years, "separation": par.lead_time_separation_years,
                  "magnets": par.lead_time_magnet_years}.get(self.stage, (2.0, 3.0))
        factor = self.model.policy.lead_time_factor(self.region, self.stage)
        return max(1, round(12 * factor * self.model.rng.uniform(lo, hi)))

    def expansion_margin(self) -> float:
        """Expected unit margin, USD/kg of output (overridden per stage)."""
        return 0.0

    def longrun_margin(self) -> float:
        """Unit margin at long-run (reference) prices, with floors and offtakes, USD/kg;
        used to judge planned projects that need public support (overridden per stage)."""
        return self.expansion_margin()

    @property
    def market(self) -> str:
        """The market whose supply line the firm reads before expanding (its stage)."""
        return self.stage

    def sale_price(self, g: int) -> float:
        """Price the firm expects for its sales of ``g``: the expected market price, or the
        price a floor or offtake guarantees if higher (the government pays the gap on every
        sale, :meth:`abm.model.RareEarthModel._settle`), USD/kg."""
        pol = self.model.policy
        if not pol.floors:
            return self.expected(g)
        return max(self.expected(g), pol.guaranteed_price(self.region, g,
                                                          self.stage == "magnets"))

    def longrun_sale_price(self, g: int) -> float:
        """Long-run price the firm expects for its sales of ``g``: its anchor price
        (:meth:`anchor`), or the guaranteed price if higher, USD/kg. Derived-demand values
        of inputs use it: an input bought now is sold in products over the months ahead, so
        a spike in a thin market does not at once raise what every input is worth."""
        pol = self.model.policy
        if not pol.floors:
            return self.anchor(g)
        return max(self.anchor(g), pol.guaranteed_price(self.region, g,
                                                        self.stage == "magnets"))

    def track_output(self) -> None:
        """Update ``output_avg``, the firm's output averaged over the capital-budgeting
        period (exponential average over ``investment_review_months``, t/month), which the
        investment signals read so that a one-month swing does not trigger an expansion."""
        out = self.recent_output()
        if self.output_avg is None:
            self.output_avg = out
        else:
            self.output_avg += (out - self.output_avg) / self.model.params.investment_review_months

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
        d, u0 = par.cost_dispersion, par.base_utilisation

        def phi(x):
            return 0.5 * (1.0 + math.erf(x / (d * math.sqrt(2.0))))

        run = phi(math.log(price / cost)) if cost > 0 else 1.0
        idle = phi(math.log(price / (par.idle_capacity_cost_multiple * base_price)))
        return u0 * run + (1.0 - u0) * idle

    def utilisation(self, price_ratio: float) -> float:
        """Share of capacity to run: base utilisation scaled by
        ``price_ratio ** supply_elasticity``, capped at 1."""
        par = self.model.params
        return min(1.0, par.base_utilisation * max(price_ratio, 0.0) ** par.supply_elasticity)

    def review_investment(self) -> None:
        """Bring finished projects online; commit a pending planned project from its
        earliest month on (checked every month; projects that need support only when their
        margin at long-run reference prices, with any floor or offtake, clears the hurdle);
        otherwise, on the firm's review month, expand by ``expansion_share`` of capacity
        (brownfield, a quarter of a greenfield lead time) when

        * price signal: the unit margin exceeds its base-year level by
          ``investment_hurdle`` x max(base margin, unit cost) while running above 85% of
          capacity, and less than ``expansion_share`` of the world capacity of the firm's
          market (:attr:`market`) is under construction; or
        * demand signal: output grown at ``demand_growth_per_year`` over the lead time would
          exceed 95% of the firm's capacity at normal margins, and the same holds for the
          market's world output against its capacity plus capacity under construction
          (the supply line, :meth:`abm.model.RareEarthModel.supply_line`).

        Capital subsidies lower the hurdle; price floors and offtakes raise the expected
        margin."""
        t = self.model.steps_done
        done = [p for p in self.projects if p[0] <= t]
        if done:
            added = sum(a for _, a in done)
            self.capacity += added
            self.projects = [p for p in self.projects if p[0] > t]
            self.active = True
            self.loss_months = 0
            self.model.log_event(f"{self.stage} capacity online",
                                 f"{self.name} ({self.region}) +{added:,.0f} t/yr")
        par = self.model.params
        pend = self.pending_decision
        if pend is not None and t < pend["earliest"]:
            return
        if (t + self.unique_id) % par.investment_review_months and pend is None:
            return
        subsidy = self.model.policy.capex_share(self.region, self.stage)
        hurdle = par.investment_hurdle * (1 - subsidy)
        margin = self.expansion_margin()
        if pend is not None:
            cost = max(self.unit_cost, 1e-9)
            if not pend["needs_support"] or self.longrun_margin() / cost >= hurdle:
                delay = t - pend["earliest"]
                online = pend["online"] + delay
                self.projects.append((online, pend["capacity"]))
                self.pending_decision = None
                self.model.log_event("investment", f"{self.name} ({self.region}) commits to "
                                     f"{pend['capacity']:,.0f} t/yr, online "
                                     f"{self.model.date_of(online)}"
                                     + (f" (decision delayed {delay} months)" if delay else ""))
            return
        base = getattr(self, "base_margin", None)
        if base is None or not self.active or self.projects or self.capacity <= 0:
            return
        lead = max(1, self.lead_time_months() // 4)
        out = self.output_avg if self.output_avg is not None else self.recent_output()
        # price signal: margins well above normal while the plant runs near capacity
        price_signal = (margin - base >= hurdle * max(abs(base), self.unit_cost, 1e-9)
                        and out * 12 >= 0.85 * self.capacity)
        # demand signal: output expected when the expansion would come online, at the
        # trend demand growth, would exceed 95% of capacity (and margins are normal)
        growth = (1 + par.demand_growth_per_year) ** (lead / 12.0)
        demand_signal = (out * 12 * growth >= 0.95 * self.capacity
                         and margin >= base - 0.1 * abs(base))
        # supply line: the market's capacity under construction counts (demand signal: the
        # world market, pipeline included, must still fall short; price signal: at most one
        # round of expansions, expansion_share of the market, under way)
        s_out, s_cap, s_pipe = self.model.supply_line(self.market)
        demand_signal = demand_signal and s_out * growth >= 0.95 * (s_cap + s_pipe)
        price_signal = price_signal and s_pipe < par.expansion_share * s_cap
        if price_signal or demand_signal:
            add = par.expansion_share * self.capacity
            online = t + lead
            self.projects.append((online, add))
            self.model.add_to_supply_line(self.market, add)
            self.model.log_event("investment", f"{self.name} ({self.region}) expands by "
                                 f"{add:,.0f} t/yr, online {self.model.date_of(online)}")
