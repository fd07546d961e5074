"""Miner: extracts mixed concentrate (t REO) of one deposit type and sells it.

Decisions (docs/ODD.md): output (made to order, bounded by the share of the mine's
operations whose cash cost the price of the month covers, and by production quotas), price
asks (coverage rule), expansion on an NPV test, mothballing and exit on cash (7.13).
"""

from __future__ import annotations

import math

import numpy as np

from abm.goods import conc, ox
from agents.base import Firm


class Miner(Firm):
    """A mine of ``deposit`` (t REO/yr capacity, cash cost USD/kg REO)."""

    stage = "mining"
    cost_anchored = True

    def __init__(self, model, name, region, deposit: str, capacity: float, unit_cost: float):
        super().__init__(model, name, region, capacity, unit_cost)
        self.deposit = deposit
        self.good = model.catalog.index[conc(deposit)]
        self.china_origin = 1.0 if region == "CN" else 0.0
        self.sells = {self.good}
        self._payable: float | None = None  # base-year price / netback (indexed_price)
        self._output_price: float | None = None  # USD/kg REO (output_price)
        cat = model.catalog
        #: (oxide good index, t oxide per t REO of the concentrate) for its non-zero contents
        self.oxide_content = [
            (cat.index[ox(e)], c)
            for e, c in zip(model.elements, cat.content[self.good], strict=True)
            if c > 0
        ]

    @property
    def market(self) -> str:
        """Miners of one deposit type sell one concentrate: ``mining:<deposit>``."""
        return f"mining:{self.deposit}"

    def post_orders(self, book) -> None:
        """Offer concentrate stock."""
        self.offer_stock(book, self.good, target_cover_months=self.model.params.sell_cover_months)

    def produce(self) -> None:
        """Mine this month's output into stock (t REO).

        Output is made to order (Sterman 2000, ch. 17-18: production = expected sales +
        inventory correction), ``sales_ema + (T x sales_ema - stock) /
        inventory_adjust_months`` with ``T`` = ``sell_cover_months``, bounded by the
        run rate the price supports: capacity x :meth:`Firm.cost_utilisation` of the
        output price (:meth:`output_price`, the observed concentrate price smoothed over
        ``output_price_months``) over the cash cost (the share of the mine's operations
        whose cash cost the price covers). The margin is booked at the expected price. A
        mine with no sales yet, or in its start-up ramp
        (:attr:`~agents.base.Firm.starting_up`), runs at that rate.
        Production quotas cut the result (:meth:`abm.policy.PolicyState.quota_factor`).
        """
        if not self.active or self.capacity <= 0:
            self.output_month[self.good] = 0.0
            return
        par = self.model.params
        price = self.expected(self.good)
        q = (
            self.capacity
            / 12.0
            * self.cost_utilisation(self.output_price(), self.unit_cost, self.base_price(self.good))
        )
        s = self.stock(self.good)
        sold = self.sales_ema.get(self.good)
        if sold is not None and not self.starting_up:
            want = sold + (par.sell_cover_months * sold - s.qty) / par.inventory_adjust_months
            q = min(q, max(want, 0.0))
        q *= self.model.policy.quota_factor(self.region, self.deposit)
        s.add(q, self.china_origin, self.china_origin)
        self.output_month[self.good] = q
        self.model.ledger_produce(self.good, q)
        revenue = price * q
        self.book_margin((revenue - self.unit_cost * q) / revenue if revenue > 0 else 0.0, revenue)

    def update_expectations(self) -> None:
        """Expected prices and anchor (:meth:`Firm.update_expectations`), then the output
        price (:meth:`output_price`): the concentrate's observed price (:meth:`observed`)
        smoothed with time constant ``output_price_months``, ``p_out <- p_out + (o -
        p_out) / output_price_months`` (at 1 month, last month's price); a month with no
        observed price leaves it unchanged."""
        super().update_expectations()
        o = self.observed(self.good)
        p = self.output_price()
        if math.isfinite(o) and o > 0:
            self._output_price = p + (o - p) / self.model.params.output_price_months

    def output_price(self) -> float:
        """Price of its concentrate on which the mine decides this month's output, USD/kg
        REO (the short-run shut-down rule: an operation runs while the price covers its
        cash cost; Varian 1992, ch. 13). Starts at the expected price and follows the
        observed price with time constant ``output_price_months``
        (:meth:`update_expectations`)."""
        if self._output_price is None:
            self._output_price = self.expected(self.good)
        return self._output_price

    def expansion_margin(self) -> float:
        """Expected concentrate price less cash cost, USD/kg REO."""
        return self.expected(self.good) - self.unit_cost

    #: True for an entrant's greenfield mine valued at its netback (set by the pipeline)
    integrated = False

    def current_margin(self) -> float:
        """Margin at current expected prices in the terms of :meth:`longrun_margin`:
        the concentrate's sale price (:meth:`~agents.base.Firm.sale_price`, a guarantee
        included) less cash cost; for an entrant's greenfield mine (``integrated``), at
        least its netback margin at the expected oxide prices, USD/kg REO."""
        m = self.sale_price(self.good) - self.unit_cost
        return max(m, self.netback_margin(expected=True)) if self.integrated else m

    def longrun_margin(self) -> float:
        """Long-run expected concentrate price (the anchor, or a guaranteed price if higher,
        :meth:`~agents.base.Firm.longrun_sale_price`) less cash cost, USD/kg REO; for an
        entrant's greenfield mine (``integrated``), at least its :meth:`netback_margin`,
        the basis on which it was committed."""
        m = self.longrun_sale_price(self.good) - self.unit_cost
        return max(m, self.netback_margin()) if self.integrated else m

    def observed(self, g: int) -> float:
        """Last observed price of ``g``, USD/kg. For the mine's own concentrate while no
        buyer anywhere has qualified its origin (a new origin: :mod:`abm.sourcing`), there is
        no market price to observe, only the mine's own unsold asks; the mine then observes
        the concentrate's netback (:meth:`indexed_price`, its payable share of the value of
        its oxide content at expected oxide prices), as feasibility studies value a
        concentrate for which no market exists outside China (netback pricing; e.g. the
        Lynas and Arafura studies). Otherwise the FOB origin price (:meth:`Firm.observed`)."""
        if g == self.good and not self.model.relations.qualified[g, :, :, self.ridx].any():
            net = self.indexed_price(g)
            if net is not None:
                return net
        return super().observed(g)

    def indexed_price(self, g: int) -> float | None:
        """Netback price of the concentrate, USD/kg REO: its payable share (the base-year
        reference price over the base-year netback) of the netback of its oxide content,
        ``recovery x sum_e content_e x p_hat[ox_e] - toll``, at the mine's expected oxide
        prices, with ``toll`` the median processing cost of all separators. Concentrates
        are sold on their payable content (as base-metal concentrates are priced on payable
        metal less treatment charges), so their price follows the oxide basket. ``None``
        when the base-year netback is not positive."""
        if g != self.good:
            return None
        if self._payable is None:
            from agents.refiner import Refiner

            cat = self.model.catalog
            costs = [r.unit_cost for r in self.model.agents_by_type.get(Refiner, [])]
            self._toll = float(np.median(costs)) if costs else 0.0
            base = (
                self.model.params.separation_recovery
                * sum(c * cat.ref_price[i] for i, c in self.oxide_content)
                - self._toll
            )
            self._payable = float(cat.ref_price[self.good] / base) if base > 0 else 0.0
        if self._payable <= 0:
            return None
        net = (
            self.model.params.separation_recovery
            * sum(c * self.expected(i) for i, c in self.oxide_content)
            - self._toll
        )
        return self._payable * net if net > 0 else None

    def netback_margin(self, expected: bool = False) -> float:
        """Margin of the ore valued at the separated-oxide basket (netback): recovery x
        sum over oxides of content x long-run expected oxide price (:meth:`anchor` in the
        mine's region; the expected price when ``expected``), less the median processing
        cost of the separators outside China, less the mine's cash cost, USD/kg REO.
        Feasibility studies of greenfield projects outside China value their product so
        (basket price of the contained oxides; e.g. Lynas and Arafura studies), since no
        concentrate market exists outside China."""
        from agents.refiner import Refiner

        price = self.expected if expected else self.anchor
        basket = sum(c * price(i) for i, c in self.oxide_content)
        costs = [
            r.unit_cost for r in self.model.agents_by_type.get(Refiner, []) if r.region != "CN"
        ]
        sep = float(np.median(costs)) if costs else 0.0
        return basket * self.model.params.separation_recovery - sep - self.unit_cost
