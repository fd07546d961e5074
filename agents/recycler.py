"""Recycler: recovers Nd, Pr, Dy and Tb oxides from end-of-life magnets and swarf.

Supply responds to the NdPr price with ``recycling_price_elasticity`` from a base of
``recycling_share`` of the region's magnet use (UNEP IRP 2011: <1% end-of-life recycling);
capacity expands when prices stay high (investment as other firms). Recycled oxides carry
no China origin unless recycled in China.
"""

from __future__ import annotations

from agents.base import Firm


class Recycler(Firm):
    """Recycling capacity t/yr of oxide output with a fixed oxide mix.

    Args:
        mix: oxide good name -> share of output (sums to 1).
    """

    stage = "recycling"

    def __init__(self, model, name, region, capacity: float, unit_cost: float,
                 mix: dict[str, float]):
        super().__init__(model, name, region, capacity, unit_cost)
        cat = model.catalog
        self.mix = {cat.index[g]: v for g, v in mix.items()}
        self.china = 1.0 if region == "CN" else 0.0
        self._nd = cat.index["ox_Nd"]
        self.sells = set(self.mix)

    def post_orders(self, book) -> None:
        """Offer recycled oxide stocks."""
        for g in self.mix:
            self.offer_stock(book, g, target_cover_months=1.0)

    def produce(self) -> None:
        """Recover oxides: capacity x base utilisation x (expected Nd oxide price / reference)
        ** ``recycling_price_elasticity``, at most 2 x capacity/12 (t/month)."""
        par = self.model.params
        rel = self.expected(self._nd) / self.model.catalog.ref_price[self._nd]
        q = min(self.capacity / 12 * par.base_utilisation * rel ** par.recycling_price_elasticity,
                2 * self.capacity / 12) if self.active else 0.0
        for g, share in self.mix.items():
            self.stock(g).add(q * share, 0.0, self.china)
            self.output_month[g] = q * share
            self.model.ledger_produce(g, q * share, recycled=True)

    def expansion_margin(self) -> float:
        """Expected NdPr price less recycling cost, USD/kg."""
        return self.expected(self._nd) - self.unit_cost
