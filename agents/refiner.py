"""Refiner (separation): buys concentrates it can crack and co-produces separated oxides.

A tonne of concentrate of deposit ``d`` yields ``recovery x composition(d)`` t of each oxide
(fixed ratios: the balance problem); the rest is a separation loss. A plant with a light
circuit only (``separates="light"``) separates :data:`abm.goods.LIGHT_OXIDES` and sells the
rest of its feed's content as a mixed heavy compound to a separator in China
(:func:`hand_over_mixed_heavies`), valued at ``concentrate_payability`` of the oxides'
prices, until its heavy circuit starts (``heavy_from``). Decisions: feed purchases by
deposit (bids capped by the feed's oxide-basket value less processing cost), output,
expansion (3-5 years), exit.
"""

from __future__ import annotations

import math

import numpy as np

from abm.goods import FEED_CLASSES, LIGHT_OXIDES, conc, ox
from abm.timeline import WEEKS_PER_MONTH
from agents.base import Firm


class Refiner(Firm):
    """A separation plant: feed capacity t REO/yr, processing cost USD/kg REO feed.

    Args:
        feeds: feed classes it can crack (``"light"``, ``"heavy"``).
        separates: ``"all"`` (every element) or ``"light"`` (:data:`abm.goods.LIGHT_OXIDES`;
            the rest leaves as a mixed heavy compound, :func:`hand_over_mixed_heavies`).
        heavy_from: month (``pandas.Period``) from which a ``"light"`` plant separates every
            element (its heavy circuit starts), or None.

    Raises:
        ValueError: ``separates`` is neither ``"all"`` nor ``"light"``.
    """

    stage = "separation"
    cost_anchored = True

    def __init__(
        self,
        model,
        name,
        region,
        feeds: list[str],
        capacity: float,
        unit_cost: float,
        feed_weights: dict[str, float] | None = None,
        separates: str = "all",
        heavy_from=None,
    ):
        super().__init__(model, name, region, capacity, unit_cost)
        if separates not in ("all", "light"):
            raise ValueError(f"{name}: separates must be 'all' or 'light', got '{separates}'")
        cat = model.catalog
        self.feeds = tuple(feeds)
        deposits = [d for f in feeds for d in FEED_CLASSES[f]]
        self.feed_goods = [cat.index[conc(d)] for d in deposits]
        w = np.array([(feed_weights or {}).get(d, 1.0) for d in deposits], dtype=float)
        self.feed_weights = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
        self.oxide_goods = [cat.index[ox(e)] for e in model.elements]
        self._feed_content = cat.content[self.feed_goods]  # (feeds, oxides)
        self.china = region == "CN"
        self.sells = set(self.oxide_goods)
        self.heavy_from = heavy_from if separates == "light" else None
        #: mixed heavy content awaiting hand-over this month, t per oxide (oxide_goods order)
        self.mixed_heavy = np.zeros(len(self.oxide_goods))
        self.mixed_heavy_cm = 0.0  # China-mined mass in it, t
        self._set_circuit(separates == "all")

    def _set_circuit(self, all_elements: bool) -> None:
        """Separate every oxide, or the light ones only: ``separated`` (1 or 0 per oxide in
        ``oxide_goods`` order) and the value weight of each oxide's content (1 when
        separated, ``concentrate_payability`` when sold in the mixed heavy compound)."""
        light = {ox(e) for e in LIGHT_OXIDES}
        cat = self.model.catalog
        self.separates_all = all_elements
        self.separated = np.array(
            [1.0 if all_elements or cat.goods[og] in light else 0.0 for og in self.oxide_goods]
        )
        self._value_w = self.separated + (1.0 - self.separated) * cat.payability
        self._feed_value_content = self._feed_content * self._value_w
        self._basket_of = None

    def start_heavy_circuit(self) -> None:
        """Separate every element from the month ``heavy_from`` on (logged once)."""
        if self.heavy_from is not None and self.model.date >= self.heavy_from:
            self.heavy_from = None
            self._set_circuit(True)
            self.model.log_event(
                "heavy circuit starts",
                f"{self.name} ({self.region}): heavy separation circuit starts "
                "(separates every element from now on)",
            )

    def feed_value(self, g: int) -> float:
        """Expected oxide-basket value of one kg of feed ``g`` less processing cost, USD/kg."""
        cat = self.model.catalog
        comp = cat.content[g] * self._value_w
        vals = sum(comp[i] * self.sale_price(og) for i, og in enumerate(self.oxide_goods))
        return vals * self.model.params.separation_recovery - self.unit_cost

    def expected_oxides(self) -> np.ndarray:
        """Expected sale prices of the oxides in ``oxide_goods`` order (with any floor,
        :meth:`Firm.sale_price`), USD/kg."""
        if self.model.policy.floors:
            return np.array([self.sale_price(og) for og in self.oxide_goods])
        exp, expected = self.exp_price, self.expected  # = sale_price without floors
        return np.array([exp[og] if og in exp else expected(og) for og in self.oxide_goods])

    def longrun_oxides(self) -> np.ndarray:
        """Long-run sale prices of the oxides in ``oxide_goods`` order
        (:meth:`Firm.longrun_sale_price`, with any floor), USD/kg."""
        if self.model.policy.floors:
            return np.array([self.longrun_sale_price(og) for og in self.oxide_goods])
        anc, anchor = self.anchor_price, self.anchor  # = longrun_sale_price without floors
        return np.array([anc[og] if og in anc else anchor(og) for og in self.oxide_goods])

    def feed_values(self, oxide: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`feed_value` and :meth:`value_ratio` of every feed (arrays in
        ``feed_goods`` order), from one read of the expected oxide prices (``oxide``, as
        :meth:`expected_oxides`). Each basket value is summed over the oxides in order, as
        :meth:`feed_value` does, so the results are identical."""
        if oxide is None:
            oxide = self.expected_oxides()
        exp, expected = self.exp_price, self.expected
        feed = np.array([exp[g] if g in exp else expected(g) for g in self.feed_goods])
        vals = np.cumsum(self._feed_value_content * oxide, axis=1)[:, -1]  # sequential sums
        value = vals * self.model.params.separation_recovery - self.unit_cost
        return value, np.maximum(value, 0.0) / np.maximum(feed, 1e-9)

    def output_values(self, oxide: np.ndarray) -> np.ndarray:
        """Value of a kilogram of each oxide separated this month, USD/kg (``oxide_goods``
        order): its sale price ``oxide`` (as :meth:`expected_oxides`: the expected price,
        or a floor's if higher) discounted by the carrying cost over the wait before it is
        sold, the months the stock ahead of it takes to sell at the plant's
        :meth:`~agents.base.Firm.sales_rate`,
        ``oxide x exp(-carrying_cost_per_month x stock / sales_rate)``. A joint producer's
        marginal revenue from an oxide it cannot sell now is the storage value of that oxide
        (competitive storage: Williams and Wright 1991, ch. 2; the discount factor of the
        ask of the stock's last tranche, :meth:`~agents.base.Firm.offer_stock`), so a plant
        whose stock of one co-product piles up values the feed's basket lower and plans to
        separate less (the co-product output rule, docs/ODD.md 7.6; it enters
        :meth:`planned_throughput` only). Oxides with no stock keep their price, and so do
        remnants of an oxide the plant has neither sold nor made (an idle plant's: a sales
        rate of 0 leaves no wait to measure; no floor makes one up)."""
        k = -self.model.params.carrying_cost_per_month
        out = np.array(oxide, dtype=float)
        for j, g in enumerate(self.oxide_goods):
            s = self.stocks.get(g)
            if s is not None and s.qty > 0.0:
                rate = self.sales_rate(g)
                if rate > 0.0:
                    out[j] *= math.exp(k * s.qty / rate)
        return out

    def planned_throughput(self, oxide: np.ndarray | None = None) -> float:
        """Planned feed for this month, t REO: capacity x utilisation, where utilisation
        responds to the oxide price index of the plant's feed basket (the output price
        signal) and is cut in proportion when the feed margin index falls below
        ``separation_margin_cutoff`` (1: the shutdown rule, docs/ODD.md 7.6), both with
        each oxide valued at :meth:`output_values` (its sale price discounted over the
        wait before it is sold); ``oxide``: the sale prices of :meth:`expected_oxides`,
        USD/kg, if already read."""
        if not self.active:
            return 0.0
        if oxide is None:
            oxide = self.expected_oxides()
        oxide = self.output_values(oxide)
        u = self.utilisation(self.basket_index(oxide))
        ratio = self.value_ratio_mix(oxide)
        cut = self.model.params.separation_margin_cutoff
        if ratio < cut:
            u *= max(ratio, 0.0) / cut
        return self.capacity / 12.0 * u

    def _basket(self) -> tuple[np.ndarray, float]:
        """Oxide content of a tonne of the current feed mix and its value at the plant's
        base-year oxide prices (recomputed when ``feed_weights`` or the base prices are
        replaced)."""
        if getattr(self, "_basket_of", None) is not self.feed_weights:
            cat = self.model.catalog
            comp = sum(
                w * cat.content[g] for w, g in zip(self.feed_weights, self.feed_goods, strict=True)
            )
            comp = comp * self._value_w
            ref = sum(comp[i] * self.base_price(og) for i, og in enumerate(self.oxide_goods))
            self._basket_of, self._basket_comp, self._basket_ref = self.feed_weights, comp, ref
        return self._basket_comp, self._basket_ref

    def set_base_prices(self, prices: dict[int, float]) -> None:
        """Record the base-year prices; the feed basket's base value is recomputed."""
        super().set_base_prices(prices)
        self._basket_of = None

    def basket_index(self, oxide: np.ndarray | None = None) -> float:
        """Expected oxide prices relative to the plant's base-year prices
        (:meth:`~agents.base.Firm.base_price`), weighted by the base-year value of a tonne of
        its current feed mix (a price index, 1 at base); ``oxide``: the expected oxide prices
        if already read (:meth:`expected_oxides`)."""
        if oxide is None:
            oxide = self.expected_oxides()
        comp, ref = self._basket()
        now = np.cumsum(comp * oxide)[-1]  # summed over the oxides in order
        return now / ref if ref > 0 else 1.0

    def value_ratio(self, g: int) -> float:
        """Basket value (less processing) over the expected feed price, for feed ``g``."""
        return max(self.feed_value(g), 0.0) / max(self.expected(g), 1e-9)

    def value_ratio_mix(self, oxide: np.ndarray | None = None) -> float:
        """Feed-weighted :meth:`value_ratio` of the current feed mix (oxide basket at
        expected prices less processing, over the expected feed price; 1 = cash breakeven);
        ``oxide`` as in :meth:`basket_index`."""
        return float(
            sum(w * r for w, r in zip(self.feed_weights, self.feed_values(oxide)[1], strict=True))
        )

    def calibrate(self, weights) -> None:
        """Set the base-year feed mix (weights in ``feed_goods`` order, summing to 1)."""
        self.feed_weights = np.asarray(weights, dtype=float)
        self.base_weights = self.feed_weights.copy()

    def post_orders(self, book) -> None:
        """Bid for feeds (split by feed weights; derived-demand value at the oxides'
        forward sale prices, :meth:`~agents.base.Firm.forward_sale_price`) and offer oxide
        stocks."""
        self.start_heavy_circuit()
        oxide = self.expected_oxides()
        plan = self.planned_throughput(oxide)
        values = self.feed_values(
            np.array([self.forward_sale_price(og) for og in self.oxide_goods])
        )[0]
        cover = self.model.params.inventory_target_weeks / WEEKS_PER_MONTH
        for w, g, value in zip(self.feed_weights, self.feed_goods, values, strict=True):
            if w <= 1e-6 or value <= 0:
                continue
            # derived demand: the feed's oxide-basket value less processing cost
            self.bid_for(book, g, plan * w, cover, value)
        cover = self.model.params.sell_cover_months
        for g in self.oxide_goods:
            self.offer_stock(book, g, cover)

    def produce(self) -> None:
        """Crack feed on hand (up to planned throughput) into oxides and losses."""
        cat = self.model.catalog
        par = self.model.params
        oxide = self.expected_oxides()
        plan = self.planned_throughput(oxide)
        values, ratios = self.feed_values(oxide)
        pos = {g: i for i, g in enumerate(self.feed_goods)}
        cover = par.inventory_target_weeks / WEEKS_PER_MONTH
        total_in = 0.0
        out = np.zeros(len(self.oxide_goods))
        cm_mass = ca_mass = 0.0
        value = cost = 0.0
        # feed to crack: first each feed's share of the plan, then any shortfall from the
        # other feeds' stock above their own cover target (best value ratio first)
        take = {}
        for w, g, fv in zip(self.feed_weights, self.feed_goods, values, strict=True):
            s = self.stocks.get(g)
            if s is not None and s.qty > 0 and fv > 0:
                take[g] = min(s.qty, plan * w)
        short = plan - sum(take.values())
        for g in sorted(self.feed_goods, key=lambda g: -ratios[pos[g]]):
            if short <= 1e-9:
                break
            s = self.stocks.get(g)
            if s is None or values[pos[g]] <= 0:
                continue
            w = self.feed_weights[pos[g]]
            extra = min(s.qty - take.get(g, 0.0) - cover * plan * w, short)
            if extra > 0:
                take[g] = take.get(g, 0.0) + extra
                short -= extra
        for g, want in take.items():
            s = self.stocks[g]
            cm, ca = s.cm, s.ca
            q = s.take(want)
            self.model.ledger_consume(g, q)
            self.model.ledger_loss(g, q * (1 - par.separation_recovery))
            total_in += q
            y = q * cat.content[g] * par.separation_recovery
            if not self.separates_all:  # the mixed heavy compound leaves for China
                mixed = y * (1.0 - self.separated)
                self.mixed_heavy += mixed
                self.mixed_heavy_cm += float(mixed.sum()) * cm
                y = y * self.separated
            out += y
            cm_mass += q * cm
            ca_mass += q * ca
            value += q * (values[pos[g]] + self.unit_cost)
            cost += q * (self.unit_cost + self.expected(g))
        cm = cm_mass / total_in if total_in > 0 else 0.0
        ca = 1.0 if self.china else (ca_mass / total_in if total_in > 0 else 0.0)
        for y, g in zip(out, self.oxide_goods, strict=True):
            self.output_month[g] = y
            if y > 0:
                self.stock(g).add(y, cm, ca)
                self.model.ledger_produce(g, y)
        self.throughput = total_in
        if value > 0:
            self.book_margin((value - cost) / value, value)

    def expansion_margin(self) -> float:
        """Best feed margin (basket value at the oxides' sale prices, floors included,
        less processing cost less feed price), USD/kg of feed."""
        return max((self.feed_value(g) - self.expected(g) for g in self.feed_goods), default=-1)

    def longrun_margin(self) -> float:
        """Best feed margin at long-run expected prices: oxide-basket value at the oxides'
        :meth:`~agents.base.Firm.longrun_sale_price` (floors included) x recovery, less
        processing cost, less the feed's anchor price, USD/kg of feed."""
        cat = self.model.catalog
        oxide = self.longrun_oxides()
        rec = self.model.params.separation_recovery
        return max(
            (
                float(np.dot(cat.content[g] * self._value_w, oxide)) * rec
                - self.unit_cost
                - self.anchor(g)
                for g in self.feed_goods
            ),
            default=-1e9,
        )


def hand_over_mixed_heavies(refiners) -> None:
    """Move this month's mixed heavy compound of light-only plants
    (:attr:`Refiner.mixed_heavy`) to the largest active Chinese plant that cracks heavy
    feed (ties: lowest id), where it is separated: the oxides enter its stock and its
    output as China-separated oxide (``ca`` 1; ``cm`` as mined), and it pays from its cash
    what the sender booked for them (``concentrate_payability`` of the sender's expected
    oxide prices). Run after every refiner has produced. Without such a plant the content
    is a separation loss and the booked revenue is taken back.

    Lynas sold the Dy, Tb and other heavy oxides of Mt Weld as a mixed compound ("SEGH")
    to China until its heavy circuit started in May 2025 (SEAISI/Kallanish 2024-06-28;
    Lynas 2025-05-16); MP Materials stockpiles its SEG+ for its heavy circuit (mid-2026,
    Rare Earth Exchanges 2025-11-08). The compound moves outside the oxide markets (no
    tariff, licence or freight: China does not restrict these imports)."""
    senders = [r for r in refiners if not r.separates_all and r.mixed_heavy.sum() > 0]
    if not senders:
        return
    takers = [
        r for r in refiners if r.china and r.active and r.separates_all and "heavy" in r.feeds
    ]
    taker = max(takers, key=lambda r: (r.capacity, -r.unique_id)) if takers else None
    for s in senders:
        total = float(s.mixed_heavy.sum())
        cm = s.mixed_heavy_cm / total if total > 0 else 0.0
        # the sender booked the compound at concentrate_payability of its expected oxide
        # prices (feed_values); the taker pays that (USD: t x USD/kg x 1000)
        pairs = [(y, g) for y, g in zip(s.mixed_heavy, s.oxide_goods, strict=True) if y > 0]
        paid = 1000.0 * s.model.catalog.payability * sum(y * s.expected(g) for y, g in pairs)
        if taker is None:  # nobody separates it: lost, and the revenue booked not received
            s.month_cash -= paid
            for y, g in pairs:
                s.model.ledger_loss(g, y)
        else:
            taker.month_cash -= paid
            for y, g in pairs:
                taker.stock(g).add(y, cm, 1.0)
                taker.output_month[g] = taker.output_month.get(g, 0.0) + y
                s.model.ledger_produce(g, y)
        s.mixed_heavy[:] = 0.0
        s.mixed_heavy_cm = 0.0
