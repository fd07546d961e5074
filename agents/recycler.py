"""Recycler: recovers Nd, Pr, Dy and Tb oxides from end-of-life magnets.

Feedstock is bounded by the magnets reaching end of life in the recycler's region: the
region's magnet use ``magnet_life_years`` earlier (before the run's own history: the base-year
use discounted at the historical growth ``magnet_use_growth_history``; Rademaker, Kleijn and
Yang 2013 estimate waste flows the same way). The collected share rises with the Nd oxide
price along a logistic from ``recycling_share`` at the reference price towards
``recycling_max_collection``; output is the collected rare-earth content, at most the
capacity (which expands when margins stay high, as other firms). Recycled oxides carry no
China origin unless recycled in China.
"""

from __future__ import annotations

import math

from agents.base import Firm

#: t rare-earth oxide per t of end-of-life NdFeB magnet (about 30% RE by mass: Toyota 2018;
#: Heim & Vander Wal 2023; the bill of materials in abm/data/magnets.csv)
RE_CONTENT = 0.3


def collection_share(rel_price: float, base: float, top: float, elasticity: float) -> float:
    """Share of end-of-life magnets collected at an Nd oxide price multiple ``rel_price``:
    ``top / (1 + (top / base - 1) x rel_price ** -elasticity)``, a logistic in the log price
    equal to ``base`` at the reference price (``rel_price`` = 1), rising towards ``top``
    (0 < base < top < 1; ``top`` when ``base >= top``). 0 when ``base`` is 0 or
    ``rel_price`` <= 0."""
    if base <= 0 or rel_price <= 0:
        return 0.0
    if base >= top:
        return top
    # top x sigmoid(elasticity x ln(rel_price) - ln(top / base - 1)), overflow-free
    z = elasticity * math.log(rel_price) - math.log(top / base - 1.0)
    return top / (1.0 + math.exp(-z)) if z >= 0 else top * math.exp(z) / (1.0 + math.exp(z))


class Recycler(Firm):
    """Recycling capacity t/yr of oxide output with a fixed oxide mix.

    Args:
        mix: oxide good name -> share of output (sums to 1).
        magnet_use: the region's base-year magnet use, t/yr (end-of-life feedstock before
            the run's own history).
    """

    stage = "recycling"
    cost_anchored = True

    def __init__(
        self,
        model,
        name,
        region,
        capacity: float,
        unit_cost: float,
        mix: dict[str, float],
        magnet_use: float = 0.0,
    ):
        super().__init__(model, name, region, capacity, unit_cost)
        if magnet_use < 0:
            raise ValueError(f"{name}: magnet_use must be >= 0 t/yr, got {magnet_use}")
        cat = model.catalog
        self.mix = {cat.index[g]: v for g, v in mix.items()}
        self.china = 1.0 if region == "CN" else 0.0
        self._nd = cat.index["ox_Nd"]
        self.sells = set(self.mix)
        self.magnet_use0 = float(magnet_use)
        self.use_history: list[float] = []  # region's magnet use, t/month, by step
        self.eol_t = 0.0  # end-of-life magnets this month, t

    def post_orders(self, book) -> None:
        """Offer recycled oxide stocks."""
        for g in self.mix:
            self.offer_stock(book, g, target_cover_months=self.model.params.sell_cover_months)

    def end_of_life(self) -> float:
        """End-of-life magnets reaching the region this month, t: the region's magnet use
        ``L = magnet_life_years`` ago; before the run's history ``magnet_use / 12 x (1 +
        g) ** (t / 12 - L)`` with ``g = magnet_use_growth_history``."""
        par = self.model.params
        t = self.model.month_index
        lag = round(12 * par.magnet_life_years)
        if t >= lag and len(self.use_history) > t - lag:
            return self.use_history[t - lag]
        return (
            self.magnet_use0
            / 12.0
            * (1 + par.magnet_use_growth_history) ** (t / 12.0 - par.magnet_life_years)
        )

    def _record_use(self) -> None:
        """Append last month's magnet use of the region's magnet users (t/month)."""
        from agents.oem import OEM, NonMagnetUser

        use = 0.0
        for a in self.model.agents_by_type.get(OEM, []):
            if a.region == self.region and not isinstance(a, NonMagnetUser):
                use += a.output_units * sum(v for g, v in a.recipe().items() if g in a.magnet_goods)
        self.use_history.append(use)

    def produce(self) -> None:
        """Recover oxides: ``min(capacity / 12, end_of_life x collection_share(p_hat[ox_Nd] /
        p_ref) x RE_CONTENT)`` t/month, split by the oxide mix."""
        par = self.model.params
        if self.model.month_index > 0:
            self._record_use()
        rel = self.expected(self._nd) / self.base_price(self._nd)
        self.eol_t = self.end_of_life()
        feed = (
            self.eol_t
            * RE_CONTENT
            * collection_share(
                rel,
                par.recycling_share,
                par.recycling_max_collection,
                par.recycling_price_elasticity,
            )
        )
        q = min(self.capacity / 12, feed) if self.active else 0.0
        for g, share in self.mix.items():
            self.stock(g).add(q * share, 0.0, self.china)
            self.output_month[g] = q * share
            self.model.ledger_produce(g, q * share, recycled=True)

    def expansion_margin(self) -> float:
        """Expected NdPr price less recycling cost, USD/kg."""
        return self.expected(self._nd) - self.unit_cost
