"""Miner: extracts mixed concentrate (t REO) of one deposit type and sells it.

Decisions (docs/ODD.md): output (capacity x utilisation responding to the expected price,
cut when the price is below cash cost, by excess stock, and by production quotas), price
asks (coverage rule), expansion with an 8-15 year lead time, exit after sustained losses.
"""

from __future__ import annotations

from abm.goods import conc
from agents.base import Firm


class Miner(Firm):
    """A mine of ``deposit`` (t REO/yr capacity, cash cost USD/kg REO)."""

    stage = "mining"

    def __init__(self, model, name, region, deposit: str, capacity: float, unit_cost: float):
        super().__init__(model, name, region, capacity, unit_cost)
        self.deposit = deposit
        self.good = model.catalog.index[conc(deposit)]
        self.china_origin = 1.0 if region == "CN" else 0.0
        self.sells = {self.good}

    @property
    def market(self) -> str:
        """Miners of one deposit type sell one concentrate: ``mining:<deposit>``."""
        return f"mining:{self.deposit}"

    def post_orders(self, book) -> None:
        """Offer concentrate stock."""
        self.offer_stock(book, self.good, target_cover_months=1.0)

    def produce(self) -> None:
        """Mine this month's output into stock (t REO)."""
        if not self.active or self.capacity <= 0:
            self.output_month[self.good] = 0.0
            return
        monthly = self.capacity / 12.0
        price = self.expected(self.good)
        u = self.utilisation(price / self.model.catalog.ref_price[self.good])
        if price < self.unit_cost:
            u *= max(0.0, price / self.unit_cost)
        s = self.stock(self.good)
        target = 1.0 * monthly
        if s.qty > 2 * target:
            u *= max(0.2, 1 - (s.qty - 2 * target) / (4 * target))
        q = monthly * u
        q *= self.model.policy.quota_factor(self.region, self.deposit)
        s.add(q, self.china_origin, self.china_origin)
        self.output_month[self.good] = q
        self.model.ledger_produce(self.good, q)
        revenue = price * q
        self.book_margin((revenue - self.unit_cost * q) / revenue if revenue > 0 else 0.0)

    def expansion_margin(self) -> float:
        """Expected concentrate price less cash cost, USD/kg REO."""
        return self.expected(self.good) - self.unit_cost

    def longrun_margin(self) -> float:
        """Reference concentrate price less cash cost, USD/kg REO."""
        return float(self.model.catalog.ref_price[self.good]) - self.unit_cost
