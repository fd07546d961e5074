"""Government: applies its region's policy and retaliates.

Scheduled measures come from the scenario (:mod:`abm.policy` holds them); this agent adds
the endogenous rules (docs/ODD.md, submodels):

* retaliation -- when a partner's tariff on this region exceeds this region's tariff on the
  partner by more than ``retaliation_threshold``, match it (logged as an event);
* truce expiry -- handled by measure end dates in :mod:`abm.policy` (logged by the
  model as "policy ends");
* stockpiles and state purchase programmes -- run by the region's reserve agency,
  :class:`agents.stockholder.StateReserve` (a Government body).

It also accumulates the cost of price-floor payments and offtakes (USD).
"""

from __future__ import annotations

from agents.base import Firm


class Government(Firm):
    """The government of one region (no production; its reserve agency holds stock)."""

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
                self.model.log_event(
                    "retaliation",
                    f"{self.region} raises its tariff on {partner} to {theirs:.0%} (matching)",
                )

    def post_orders(self, book) -> None:
        """A government trades nothing itself: its stockpile and state-purchase mandates
        are run by its reserve agency (:class:`agents.stockholder.StateReserve`)."""
