"""Refiner (separation): buys concentrates it can crack and co-produces separated oxides.

A tonne of concentrate of deposit ``d`` yields ``recovery x composition(d)`` t of each oxide
(fixed ratios: the balance problem); the rest is a separation loss. Decisions: feed
purchases by deposit (bids capped by the feed's oxide-basket value less processing cost),
output, expansion (3-5 years), exit.
"""

from __future__ import annotations

import numpy as np

from abm.goods import FEED_CLASSES, conc, ox
from abm.timeline import WEEKS_PER_MONTH
from agents.base import Firm


class Refiner(Firm):
    """A separation plant: feed capacity t REO/yr, processing cost USD/kg REO feed.

    Args:
        feeds: feed classes it can crack (``"light"``, ``"heavy"``).
    """

    stage = "separation"

    def __init__(
        self,
        model,
        name,
        region,
        feeds: list[str],
        capacity: float,
        unit_cost: float,
        feed_weights: dict[str, float] | None = None,
    ):
        super().__init__(model, name, region, capacity, unit_cost)
        cat = model.catalog
        deposits = [d for f in feeds for d in FEED_CLASSES[f]]
        self.feed_goods = [cat.index[conc(d)] for d in deposits]
        w = np.array([(feed_weights or {}).get(d, 1.0) for d in deposits], dtype=float)
        self.feed_weights = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
        self.oxide_goods = [cat.index[ox(e)] for e in model.elements]
        self._feed_content = cat.content[self.feed_goods]  # (feeds, oxides)
        self.china = region == "CN"
        self.sells = set(self.oxide_goods)

    def feed_value(self, g: int) -> float:
        """Expected oxide-basket value of one kg of feed ``g`` less processing cost, USD/kg."""
        cat = self.model.catalog
        comp = cat.content[g]
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
        vals = np.cumsum(self._feed_content * oxide, axis=1)[:, -1]  # sequential sums
        value = vals * self.model.params.separation_recovery - self.unit_cost
        return value, np.maximum(value, 0.0) / np.maximum(feed, 1e-9)

    def planned_throughput(self, oxide: np.ndarray | None = None) -> float:
        """Planned feed for this month, t REO: capacity x utilisation, where utilisation
        responds to the oxide price index of the plant's feed basket (the output price
        signal) and is cut in proportion when the feed margin index falls below
        ``separation_margin_cutoff`` (0.8);
        ``oxide`` as in :meth:`basket_index`."""
        if not self.active:
            return 0.0
        if oxide is None:
            oxide = self.expected_oxides()
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
                w * cat.content[g] for w, g in zip(self.feed_weights, self.feed_goods, strict=False)
            )
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
            sum(w * r for w, r in zip(self.feed_weights, self.feed_values(oxide)[1], strict=False))
        )

    def calibrate(self, weights) -> None:
        """Set the base-year feed mix (weights in ``feed_goods`` order, summing to 1)."""
        self.feed_weights = np.asarray(weights, dtype=float)
        self.base_weights = self.feed_weights.copy()

    def post_orders(self, book) -> None:
        """Bid for feeds (split by feed weights; derived-demand value at the oxides'
        forward sale prices, :meth:`~agents.base.Firm.forward_sale_price`) and offer oxide
        stocks."""
        oxide = self.expected_oxides()
        plan = self.planned_throughput(oxide)
        values = self.feed_values(
            np.array([self.forward_sale_price(og) for og in self.oxide_goods])
        )[0]
        cover = self.model.params.inventory_target_weeks / WEEKS_PER_MONTH
        for w, g, value in zip(self.feed_weights, self.feed_goods, values, strict=False):
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
        for w, g, fv in zip(self.feed_weights, self.feed_goods, values, strict=False):
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
            out += y
            cm_mass += q * cm
            ca_mass += q * ca
            value += q * (values[pos[g]] + self.unit_cost)
            cost += q * (self.unit_cost + self.expected(g))
        cm = cm_mass / total_in if total_in > 0 else 0.0
        ca = 1.0 if self.china else (ca_mass / total_in if total_in > 0 else 0.0)
        for y, g in zip(out, self.oxide_goods, strict=False):
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
                float(np.dot(cat.content[g], oxide)) * rec - self.unit_cost - self.anchor(g)
                for g in self.feed_goods
            ),
            default=-1e9,
        )
