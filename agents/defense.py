"""Defense contractor: an OEM with defense end use and sourcing rules.

Buys magnets (high-temperature NdFeB and SmCo) for platforms. The unit is one
F-35-equivalent platform: CSIS (Apr 2025) puts over 900 lb (408 kg) of rare earths in an
F-35 (about 5,200 lb in a DDG-51 destroyer, 9,200 lb in a Virginia-class submarine:
``abm/data/defense_platforms.csv``); magnet mass per platform is that REE mass over the
magnets' REE mass share (0.30), ``sectors.csv`` row ``defense``. Lost defense output is
valued at the platform's unit cost (82.5 M USD, F-35A) and enters the accounts
(:mod:`abm.accounts`) as value added with the other-transport-equipment coefficients. Its
bids form a separate ``defense`` demand node, so licence regimes can deny
defense end use and sourcing rules (DFARS 225.7018) can bar Chinese origin. It holds larger
stocks, and its derived-demand value of a missing kilogram (platform value x margin
/ kg per platform) is far above civilian buyers'.
"""

from __future__ import annotations

from agents.oem import OEM


class DefenseContractor(OEM):
    """A region's defense platforms (units = F-35-equivalent platforms per month; magnet
    mass and unit value per platform from ``sectors.csv``, row ``defense``)."""

    use = "defense"
    #: qualified platform designs: magnet content per platform does not follow prices
    thrifts = False

    def target_weeks(self) -> float:
        """Defense inventory target, weeks of use (rises with perceived risk)."""
        par = self.model.params
        return par.defense_inventory_target_weeks * (1 + par.risk_sensitivity * self.risk)

    def observed(self, g: int) -> float:
        """Last delivered price of ``g`` at this region's defense node (USD/kg): where
        defense received ``g`` last month, the defense node price, else the civil price."""
        return self.model.defense_price[g, self.ridx]

    def plan(self) -> float:
        """Defense output is not price-elastic and does not grow with civil demand."""
        return self.base_units
