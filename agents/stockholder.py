"""Stockholders: speculative traders (competitive storage with Brock-Hommes expectations) and
state reserves and stockpile agencies (mandate rules).

Two agent classes (docs/ODD.md, submodel "Storage"):

* :class:`Stockholder` -- a speculative trader or fund holding oxides of one good in one
  region (China's funds and traders; trading houses outside China). It holds stock when the
  expected price over its holding horizon ``h``, discounted by the carrying cost (interest,
  storage, insurance), exceeds the price now (competitive storage: Williams and Wright 1991,
  ch. 2-3; Deaton and Laroque 1992). Its expected price mixes a fundamentalist rule (the
  price closes its gap to the fundamental, the long-run anchor revised by supply news, over
  the holding horizon) and a trend-following rule (the recent trend continues), with
  weights that switch by each rule's recent forecast accuracy (Brock and Hommes 1998;
  Hommes 2006; the heuristic-switching model of Anufriev and Hommes 2012). Its
  position is the mean-variance demand of Brock and Hommes (1998) limited by a capital
  budget in USD: it can never hold more than the budget buys at today's price. No entry or
  exit date: it buys and sells only by this rule.
* :class:`StateReserve` -- a government's reserve agency (China's state reserve; the US
  Defense Logistics Agency's National Defense Stockpile, Japan's JOGMEC, Korea's KOMIR/PPS)
  following its mandates from the scenario: a ``stockpile`` measure (target in months of
  the region's use: buy below ``stockpile_buy_multiple`` x reference towards the target,
  release when the price exceeds ``stockpile_release_multiple`` x reference or the region's
  lines are short -- the buffer-stock rule of Newbery and Stiglitz 1981) and
  ``state_purchase`` programmes (a budget or tonnage spread over the programme's months,
  bid at ``reserve_trigger_multiple`` x the expected price; held as a strategic reserve).
  It is a :class:`~agents.government.Government` body, so its stock is recorded as
  ``stockpile``.
"""

from __future__ import annotations

import math

import numpy as np

from agents.base import Firm
from agents.government import Government

#: Rule names of the Brock-Hommes switching, in order.
RULES = ("fundamentalist", "trend")


def storage_reservation_price(
    expected: float, carrying_per_month: float, horizon_months: float
) -> float:
    """Highest price at which holding a kilogram for ``horizon_months`` still pays:
    ``expected x exp(-carrying_per_month x horizon_months)`` (competitive storage, Williams
    and Wright 1991: stock is held while the discounted expected price exceeds the price
    now plus the carrying cost), USD/kg."""
    return float(expected * math.exp(-carrying_per_month * horizon_months))


def mean_variance_share(
    expected: float,
    price: float,
    carrying_per_month: float,
    horizon_months: float,
    risk_aversion: float,
    variance_per_month: float,
) -> float:
    """Share of the capital budget held in stock (0-1): the Brock and Hommes (1998)
    mean-variance demand ``x / (a x sigma^2)`` for the expected log return over the horizon
    net of carrying cost, ``x = ln(expected / price) - carrying x h``, with ``sigma^2 =
    variance_per_month x h``; no short sales of physical stock (0 below) and the capital
    budget binds at 1.

    Args:
        expected, price: USD/kg (> 0).
        carrying_per_month: share of value per month.
        horizon_months: holding horizon h, months (> 0).
        risk_aversion: a (> 0).
        variance_per_month: variance of monthly log price changes (> 0).
    """
    x = math.log(expected / price) - carrying_per_month * horizon_months
    var = max(variance_per_month, 1e-6) * horizon_months
    return float(min(max(x / (risk_aversion * var), 0.0), 1.0))


def switching_weights(fitness: np.ndarray, beta: float) -> np.ndarray:
    """Discrete-choice (logit) shares of the rules, ``exp(beta U_k) / sum exp(beta U_j)``
    (Brock and Hommes 1998), computed stably."""
    z = beta * np.asarray(fitness, dtype=float)
    z = np.exp(z - z.max())
    return z / z.sum()


class Stockholder(Firm):
    """A speculative stockholder of good ``g`` in ``region`` with a capital budget.

    Args:
        model: the Mesa model.
        name: display name.
        region: region code (where it buys and sells; delivered prices there).
        good: good index held (an oxide).
        capital_usd: capital budget, USD (>= 0): the largest value of stock held.

    Attributes:
        weights: (2,) shares of the fundamentalist and the trend-following rule.
        fitness: (2,) their performance (minus smoothed squared one-month forecast errors,
            in percentage points squared).
        history: observed prices, USD/kg, oldest first (the last ``trend_window_months`` + 1).
        variance: smoothed variance of monthly log price changes.

    Raises:
        ValueError: negative capital.
    """

    stage = "storage"

    def __init__(self, model, name: str, region: str, good: int, capital_usd: float):
        super().__init__(model, name, region)
        if capital_usd < 0:
            raise ValueError(f"{name}: capital_usd must be >= 0 USD, got {capital_usd}")
        self.good = int(good)
        self.capital_usd = float(capital_usd)
        self.weights = np.full(len(RULES), 1.0 / len(RULES))
        self.fitness = np.zeros(len(RULES))
        self.history: list[float] = []
        self.variance = 0.0
        self._last_forecasts: np.ndarray | None = None
        self.expected(self.good)  # registers the good for expectations
        # the element whose mine supply the good's price follows (an oxide: its one element)
        self._element = int(np.argmax(model.catalog.content[self.good]))

    # ----------------------------------------------------------------- expectations
    def rule_forecasts(self, months: float) -> np.ndarray:
        """Forecasts of the price ``months`` ahead by each rule (USD/kg, in :data:`RULES`
        order).

        * Fundamentalist: the price closes its log gap to the fundamental ``F`` (the
          long-run anchor, :meth:`Firm.anchor`, revised by supply news,
          :meth:`_priced_news`) evenly over the holding horizon ``h`` =
          ``speculator_horizon_months``: ``p x (F / p) ** min(months / h, 1)``, so ``F``
          itself at the horizon and a ``1 / h`` share of the gap a month ahead (mean-
          reverting fundamentalists, Boswijk, Hommes and Manzan 2007).
        * Trend follower: ``p x exp(g x trend x months)`` with ``trend`` the mean monthly
          log change over the last ``trend_window_months`` (``g`` = ``trend_extrapolation``).
        """
        par = self.model.params
        p = self.history[-1]
        k = min(int(round(par.trend_window_months)), len(self.history) - 1)
        trend = math.log(p / self.history[-1 - k]) / k if k > 0 else 0.0
        fundamental = self.anchor(self.good)
        news = float(self.model.policy.supply_news[self._element])
        if news != 1.0:
            fundamental = self._priced_news(fundamental, news, par.final_demand_elasticity)
        reach = months / par.speculator_horizon_months
        if reach < 1.0:
            fundamental = p * (fundamental / p) ** reach
        return np.array([fundamental, p * math.exp(par.trend_extrapolation * trend * months)])

    def _priced_news(self, anchor: float, news: float, elasticity: float) -> float:
        """The anchor revised by supply news, ``anchor x news ** (1 / elasticity)`` USD/kg,
        no higher than the choke price of the market's demand (last month's highest
        derived-demand value a buyer declared, ``model.choke_price``, or the anchor if that
        is lower); computed in logarithms, so news of no supply left (0) gives the choke
        price."""
        m = self.model
        log_top = math.log(max(float(m.choke_price[self.good]), anchor))
        log_f = math.log(anchor) + math.log(news) / elasticity if news > 0.0 else math.inf
        return math.exp(min(log_f, log_top))

    def update_expectations(self) -> None:
        """Adaptive expectations and anchor (:meth:`Firm.update_expectations`), then the
        Brock-Hommes update: score last month's one-month forecasts of each rule against
        the observed price, ``U_k <- eta U_k - (1 - eta) (100 (ln p - ln f_k))^2``, and set
        the rule shares by :func:`switching_weights`; update the variance of monthly log
        changes (exponential smoothing with weight 1 - eta)."""
        super().update_expectations()
        par = self.model.params
        p = float(self.model.observed_price[self.good, self.ridx])
        if not math.isfinite(p) or p <= 0:
            return
        eta = par.switching_memory
        if self.history:
            r = math.log(p / self.history[-1])
            self.variance = eta * self.variance + (1 - eta) * r * r if self.variance else r * r
        if self._last_forecasts is not None:
            err = 100.0 * (math.log(p) - np.log(self._last_forecasts))
            self.fitness = eta * self.fitness - (1 - eta) * err**2
            self.weights = switching_weights(self.fitness, par.switching_intensity)
        self.history.append(p)
        keep = int(round(par.trend_window_months)) + 1
        self.history = self.history[-keep:]
        self._last_forecasts = self.rule_forecasts(1.0)

    def expected_price(self) -> float:
        """Expected price over the holding horizon: the rule forecasts weighted by the
        rule shares, USD/kg."""
        return float(
            self.weights @ self.rule_forecasts(self.model.params.speculator_horizon_months)
        )

    # ----------------------------------------------------------------- decisions
    def target_stock(self) -> float:
        """Target stock, t: :func:`mean_variance_share` of the capital budget at today's
        price (the capital limit binds at share 1)."""
        if not self.history or self.capital_usd <= 0:
            return 0.0
        par = self.model.params
        p = self.history[-1]
        share = mean_variance_share(
            self.expected_price(),
            p,
            par.carrying_cost_per_month,
            par.speculator_horizon_months,
            par.speculator_risk_aversion,
            self.variance,
        )
        return share * self.capital_usd / (p * 1000.0)

    def post_orders(self, book) -> None:
        """Bid for the gap to the target stock, or offer the excess, over
        ``inventory_adjust_months``, at the storage reservation price
        (:func:`storage_reservation_price` of the expected price): it buys only where the
        discounted expected price exceeds the price paid, and sells its excess wherever the
        market pays at least what holding is worth."""
        if not self.history:
            return
        par = self.model.params
        s = self.stock(self.good)
        gap = self.target_stock() - s.qty
        price = storage_reservation_price(
            self.expected_price(), par.carrying_cost_per_month, par.speculator_horizon_months
        )
        q = abs(gap) / par.inventory_adjust_months
        if gap > 1e-9:
            book.bid(self, self.good, self.ridx, q, price)
        elif gap < -1e-9 and s.qty > 0:
            book.offer(self, self.good, self.ridx, min(q, s.qty), price, s.cm, s.ca)

    # the stockholder produces nothing and does not invest
    def produce(self) -> None:
        """Nothing to produce."""

    def track_output(self) -> None:
        """No output to track."""

    def review_investment(self) -> None:
        """No investment."""


class StateReserve(Government):
    """The reserve agency of ``region``'s government (China's state reserve, the US DLA
    National Defense Stockpile, JOGMEC, KOMIR/PPS), running the region's ``stockpile`` and
    ``state_purchase`` mandates (see the module docstring).

    Args:
        model: the Mesa model.
        region: region code.
        name: display name of the agency.

    Attributes:
        bought_usd: USD spent per state-purchase programme (keyed by the measure's index in
            the scenario's measure list), t bought in ``bought_t``.
        spent_usd: total USD spent on purchases.
    """

    stage = "reserve"

    def __init__(self, model, region: str, name: str):
        super().__init__(model, region)
        self.name = name
        self.bought_usd: dict[int, float] = {}
        self.bought_t: dict[int, float] = {}
        self.spent_usd = 0.0
        self._pending: list[tuple[int, int, float]] = []
        self._support: dict[tuple[int, int], float] = {}  # (programme, good) -> USD/kg
        # the goods of the region's mandates are priced from the start (the base-year
        # warm-up sets their expectations to the region's market), so a programme's
        # support price is a market price, not the catalogue reference
        for m in model.spec.measures:
            if m.kind in ("stockpile", "state_purchase") and m.actor == region:
                for g in model.policy.goods_of(m):
                    self.expected(g)

    def apply_rules(self) -> None:
        """A reserve agency sets no tariffs."""

    def post_orders(self, book) -> None:
        """Orders of the ``stockpile`` mandate (buy towards the target below
        ``stockpile_buy_multiple`` x reference over ``stockpile_fill_months``; release a
        share 1 / ``stockpile_release_months`` of the stock, asked at the expected price,
        when the region's marginal price -- the higher of the expected price and last
        month's quote of the region's civil buyers, the value of a missing kilogram under
        rationing -- exceeds ``stockpile_release_multiple`` x reference (the ceiling of a
        buffer stock read at the margin, Newbery and Stiglitz 1981, ch. 30), or when the
        region's lines are short; nothing is bought of a good in a month it is released),
        then of each ``state_purchase`` programme in force: this
        month's share of the programme's monthly pace (budget or tonnes / its months; what
        is not bought lapses), split over the goods by the region's base-year use, bid at
        ``reserve_trigger_multiple`` x the support price (the expected price when the
        programme started). Stock of a good no mandate holds any more (a ``stockpile``
        measure that ended) is released at the expected price, a share 1 /
        ``stockpile_release_months`` a month."""
        model = self.model
        pol = model.policy
        cat = model.catalog
        par = model.params
        targets = pol.stockpile_target(self.region)
        short = model.region_short.get(self.region, False)
        last = model.last_clearing
        held = set()
        for g, months in targets.items():
            use = model.base_use[g, self.ridx]
            s = self.stock(g)
            price = self.expected(g)
            ref = cat.ref_price[g]
            marginal = price
            if last is not None and np.isfinite(last.price[g, self.ridx, 0]):
                marginal = max(price, float(last.price[g, self.ridx, 0]))
            releasing = s.qty > 0 and (marginal > par.stockpile_release_multiple * ref or short)
            if releasing:
                book.offer(
                    self, g, self.ridx, s.qty / par.stockpile_release_months, price, s.cm, s.ca
                )
            target = months * use
            # a buffer stock buys below its floor and sells above its ceiling, never both
            # in one month (Newbery and Stiglitz 1981, ch. 30): no purchase while releasing
            if not releasing and target > s.qty and price < par.stockpile_buy_multiple * ref:
                book.bid(
                    self,
                    g,
                    self.ridx,
                    (target - s.qty) / par.stockpile_fill_months,
                    par.stockpile_buy_multiple * ref,
                )
            held.add(g)
        self._pending = []
        for i, m in pol.state_purchase_programmes(self.region):
            gs = pol.goods_of(m)
            start, end = pol.measure_steps(i)
            span = max(end - start, 1)
            w = np.array(
                [
                    model.base_use[g, self.ridx] * (cat.ref_price[g] if m.budget_usd else 1.0)
                    for g in gs
                ]
            )
            w = w / w.sum() if w.sum() > 0 else np.full(len(gs), 1.0 / len(gs))
            for g, share in zip(gs, w, strict=True):
                held.add(g)
                # support price: fixed when the programme starts (a buffer stock buys at
                # or below its support price, Newbery and Stiglitz 1981), so the reserve's
                # own purchases cannot ratchet its bid up through its expectations
                p = self._support.setdefault((i, g), self.expected(g))
                bid = par.reserve_trigger_multiple * p
                if m.budget_usd is not None:
                    remaining = m.budget_usd - self.bought_usd.get(i, 0.0)
                    q = min(m.budget_usd / span, max(remaining, 0.0)) * share / (bid * 1000.0)
                else:
                    q = min(m.tonnes / span, max(m.tonnes - self.bought_t.get(i, 0.0), 0.0)) * share
                if q > 1e-9:
                    book.bid(self, g, self.ridx, q, bid)
                    self._pending.append((i, g, bid))
        for g, s in self.stocks.items():
            if g not in held and s.qty > 0 and not pol.state_purchase_held(self.region, g):
                book.offer(
                    self,
                    g,
                    self.ridx,
                    s.qty / par.stockpile_release_months,
                    self.expected(g),
                    s.cm,
                    s.ca,
                )

    def record_purchase(self, g: int, qty: float, price: float) -> None:
        """Book ``qty`` t of ``g`` bought at ``price`` USD/kg against the programmes that
        bid for ``g`` this month (in bid order; called by the model after clearing)."""
        for i, pg, _bid in self._pending:
            if pg == g and qty > 0:
                self.bought_t[i] = self.bought_t.get(i, 0.0) + qty
                self.bought_usd[i] = self.bought_usd.get(i, 0.0) + qty * price * 1000.0
                qty = 0.0
