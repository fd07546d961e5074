"""Government: applies its region's policy, retaliates, and runs a strategic stockpile.

Scheduled measures come from the scenario (:mod:`abm.policy` holds them); this agent adds
the endogenous rules (docs/ODD.md, submodels):

* retaliation -- when a partner's tariff on this region exceeds this region's tariff on the
  partner by more than ``retaliation_threshold``, match it (logged as an event);
* truce expiry -- handled by measure end dates in :mod:`abm.policy` (logged by the
  model as "policy ends");
* stockpile purchase and release -- with a stockpile target (months of the region's base
  use), buy while the price is below 1.3 x reference, release when it exceeds
  ``stockpile_release_multiple`` x reference or the region's lines are short.

It also accumulates the cost of price-floor payments and offtakes (USD).
"""

from __future__ import annotations

from agents.base import Firm


class Government(Firm):
    """The government of one region (holds the stockpile; no production)."""

    stage = "government"

    def __init__(self, model, region: str):
        super().__init__(model, f"Government of {model.region_names[region]}", region)
        self.subsidy_cost = 0.0
        self.retaliations: dict[str, float] = {}

    def apply_rules(self) -> None:
        """Retaliation rule (tariff matching) against every partner."""
        pol = self.model.policy
        thr = self.model.params.retaliation_threshold
        for partner in self.model.region_codes:
            if partner == self.region:
                continue
            theirs = pol.bilateral_tariff(importer=partner, exporter=self.region)
            mine = pol.bilateral_tariff(importer=self.region, exporter=partner)
            if theirs - mine > thr:
                pol.set_endogenous_tariff(self.region, partner, theirs)
                self.retaliations[partner] = theirs
                self.model.log_event("retaliation", f"{self.region} raises its tariff on "
                                     f"{partner} to {theirs:.0%} (matching)")

    def post_orders(self, book) -> None:
        """Stockpile purchases and releases."""
        pol = self.model.policy
        goods, months = pol.stockpile_target(self.region)
        cat = self.model.catalog
        par = self.model.params
        short = self.model.region_short.get(self.region, False)
        for g in goods:
            use = self.model.base_use[g, self.ridx]
            s = self.stock(g)
            price = self.expected(g)
            ref = cat.ref_price[g]
            if s.qty > 0 and (price > par.stockpile_release_multiple * ref or short):
                book.offer(self, g, self.ridx, s.qty / 3, 0.9 * price, s.cm, s.ca)
            target = months * use
            if target > s.qty and price < 1.3 * ref:
                book.bid(self, g, self.ridx, (target - s.qty) / 12, 1.3 * ref)
        for g, s in self.stocks.items():
            if g not in goods and s.qty > 0:
                book.offer(self, g, self.ridx, s.qty / 6, self.expected(g), s.cm, s.ca)
