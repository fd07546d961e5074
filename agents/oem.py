"""OEM: an end-use sector of one region that turns magnets (or oxides) into products.

Holds an output plan (units/month, growing with demand), a recipe (t of each input per
unit), an inventory target in weeks of cover that rises with perceived supply risk, and
stops lines when short: output is bounded by inputs on hand (Leontief) and the shortfall is
counted as lost output (units and USD). Adaptation: end-use demand responds to the price of
its inputs (``final_demand_elasticity``); when magnet prices stay above
``substitution_trigger`` x reference, a growing share of NdFeB demand moves to ferrite or Ce
magnets and of high-temperature grade to Dy-free designs (first-order lags).
"""

from __future__ import annotations

import math

from abm.goods import mag
from abm.timeline import WEEKS_PER_MONTH
from agents.base import Firm


class OEM(Firm):
    """End-use buyer.

    Args:
        sector: ``ev``, ``wind``, ``electronics``, ``industrial``, ``defense`` or
            ``non_magnet`` (catalysts, polishing, glass, alloys, phosphors: buys oxides).
        units_per_month: base-year output plan, units/month.
        recipe: good name -> t per unit.
        unit_value: USD per unit (for lost output in USD).
    """

    stage = "end_use"
    use = "civil"

    def __init__(self, model, name, region, sector: str, units_per_month: float,
                 recipe: dict[str, float], unit_value: float):
        super().__init__(model, name, region, 0.0, 0.0)
        if units_per_month < 0:
            raise ValueError(f"{name}: units_per_month must be >= 0, got {units_per_month}")
        cat = model.catalog
        self.sector = sector
        self.base_units = float(units_per_month)
        self.recipe0 = {cat.index[g]: float(v) for g, v in recipe.items() if v > 0}
        self.unit_value = float(unit_value)
        self.sub_share = 0.0        # NdFeB demand moved to ferrite / Ce magnets
        self.dy_free_share = 0.0    # high-temperature demand moved to Dy-free designs
        self.lost_units = 0.0
        self.lost_value = 0.0
        self.output_units = 0.0
        self.plan_units = 0.0
        self._plan: dict[int, float] = {}
        self.stopped = False
        self.magnet_goods = {cat.index[mag(g)] for g in ("ndfeb_std", "ndfeb_ht", "smco")}
        self._std = cat.index[mag("ndfeb_std")]
        self._ht = cat.index[mag("ndfeb_ht")]

    # ----------------------------------------------------------------- plan
    def recipe(self) -> dict[int, float]:
        """Current t per unit of each input after substitution."""
        r = dict(self.recipe0)
        if self._ht in r and self.dy_free_share > 0:
            moved = r[self._ht] * self.dy_free_share
            r[self._ht] -= moved
            r[self._std] = r.get(self._std, 0.0) + moved
        if self.sub_share > 0:
            for g in (self._std, self._ht):
                if g in r:
                    r[g] *= 1 - self.sub_share
        return r

    def price_index(self) -> float:
        """Expected cost of a unit's inputs relative to the reference cost (1 at base)."""
        ref = self.model.catalog.ref_price
        r = self.recipe0
        base = sum(v * ref[g] for g, v in r.items())
        now = sum(v * self.expected(g) for g, v in r.items())
        return now / base if base > 0 else 1.0

    def plan(self) -> float:
        """Output plan this month, units: base x growth x price response."""
        par = self.model.params
        growth = (1 + par.demand_growth_per_year) ** (self.model.steps_done / 12.0)
        return self.base_units * growth * self.price_index() ** par.final_demand_elasticity

    def target_weeks(self) -> float:
        """Inventory target, weeks of use (rises with perceived risk)."""
        par = self.model.params
        return par.inventory_target_weeks * (1 + par.risk_sensitivity * self.risk)

    def derived_value(self, g: int) -> float:
        """Derived-demand value of a kilogram of input ``g`` missing from this month's use,
        USD/kg: the contribution margin lost on the output it would have made, ``unit value
        x oem_contribution_margin / kg of (magnet) input per unit`` (Marshall's derived
        demand; the input's share of cost does not bound it). Same for every magnet grade
        of the unit, since a missing kilogram of any of them stops the same share of a
        unit."""
        r = self.recipe0
        mags = [a for h, a in r.items() if h in self.magnet_goods]
        kg = 1000.0 * (sum(mags) if g in self.magnet_goods else r.get(g, 0.0))
        if kg <= 0:
            return float(self.model.catalog.ref_price[g])
        return self.unit_value * self.model.params.oem_contribution_margin / kg

    # ----------------------------------------------------------------- step
    def post_orders(self, book) -> None:
        """Bid for this month's inputs plus the gap to the cover target."""
        self.plan_units = self.plan()
        months = self.target_weeks() / WEEKS_PER_MONTH
        for g, a in self.recipe().items():
            self.bid_for(book, g, self.plan_units * a, months, self.derived_value(g),
                         self.use)

    def produce(self) -> None:
        """Consume inputs for the plan; count lost output; adapt substitution.

        Two product lines share the plan in proportion to their magnet mass: the NdFeB line
        (high-temperature NdFeB can stand in for standard grade, not the reverse: a share f
        of its plan needs ``f * a_ht <= H`` and ``f * (a_ht + a_std) <= H + S``) and the SmCo
        line; any other input (oxides for non-magnet users) is Leontief. Lost output is the
        plan not made.
        """
        r = self.recipe()
        plan = self.plan_units
        ht, std = self._ht, self._std
        sm = self.model.catalog.index["mag_smco"]
        a_ht, a_std, a_sm = r.get(ht, 0.0), r.get(std, 0.0), r.get(sm, 0.0)
        other = {g: a for g, a in r.items() if g not in (ht, std, sm) and a > 0}
        f_other = 1.0
        for g, a in other.items():
            f_other = min(f_other, self.stock(g).qty / (a * plan)) if plan > 0 else 1.0
        f_nd = f_sm = f_other
        if plan > 0 and a_ht + a_std > 0:
            H, S = self.stock(ht).qty, self.stock(std).qty
            f_nd = min(f_nd, (H + S) / ((a_ht + a_std) * plan))
            if a_ht > 0:
                f_nd = min(f_nd, H / (a_ht * plan))
        if plan > 0 and a_sm > 0:
            f_sm = min(f_sm, self.stock(sm).qty / (a_sm * plan))
        f_nd, f_sm = max(f_nd, 0.0), max(f_sm, 0.0)
        mass = a_ht + a_std + a_sm
        w_sm = a_sm / mass if mass > 0 else 0.0
        for g, a in other.items():
            self.model.ledger_consume(g, self.stock(g).take(a * plan * f_other))
        if a_ht + a_std > 0:
            took_std = self.stock(std).take(f_nd * plan * a_std)
            took_ht = self.stock(ht).take(f_nd * plan * a_ht + (f_nd * plan * a_std - took_std))
            self.model.ledger_consume(std, took_std)
            self.model.ledger_consume(ht, took_ht)
        if a_sm > 0:
            self.model.ledger_consume(sm, self.stock(sm).take(f_sm * plan * a_sm))
        feasible = plan * ((1 - w_sm) * f_nd + w_sm * f_sm) if mass > 0 else plan * f_other
        self.output_units = feasible
        lost = max(plan - feasible, 0.0)
        self.lost_units = lost
        self.lost_value = lost * self.unit_value
        was = self.stopped
        self.stopped = plan > 0 and feasible < 0.5 * plan
        if self.stopped and not was:
            self.model.log_event("line stops", f"{self.name} ({self.region}) short of "
                                 f"inputs: output {feasible / plan:.0%} of plan")
        elif was and not self.stopped:
            self.model.log_event("line restarts", f"{self.name} ({self.region})")
        if lost > 1e-9 * max(plan, 1):
            self.risk += 0.5 * lost / plan
        self._substitute()

    def _substitute(self) -> None:
        par = self.model.params
        if not (self.magnet_goods & self.recipe0.keys()):
            return
        speed = self.model.levers.substitution_speed / par.substitution_lag_months
        k = 1 - math.exp(-speed)
        rel = max(self.expected(self._std) / self.model.catalog.ref_price[self._std],
                  self.expected(self._ht) / self.model.catalog.ref_price[self._ht])
        if rel > par.substitution_trigger:
            self.sub_share += (par.substitution_max_share - self.sub_share) * k
        dy = self.model.catalog.index["ox_Dy"]
        if self.expected(dy) / self.model.catalog.ref_price[dy] > par.substitution_trigger \
                or self.risk > 1.0:
            self.dy_free_share += (par.dy_free_max_share - self.dy_free_share) * k


class NonMagnetUser(OEM):
    """Non-magnet end uses of one region (catalysts, polishing, glass, alloys, phosphors).

    Unlike magnet OEMs, each oxide is a separate end use: demand for oxide ``g`` is
    ``base x growth x (expected price / reference) ** final_demand_elasticity`` and a
    shortage of one oxide does not stop the others. Lost output is valued at the reference
    price of the oxide not delivered (USD).
    """

    def derived_value(self, g: int) -> float:
        """Derived-demand value of a missing kilogram of oxide ``g``, USD/kg: the
        contribution margin on the product it goes into, ``reference price /
        non_magnet_ree_cost_share x oem_contribution_margin`` (the oxide is a share
        ``non_magnet_ree_cost_share`` of the product's cost)."""
        par = self.model.params
        return float(self.model.catalog.ref_price[g] / par.non_magnet_ree_cost_share
                     * par.oem_contribution_margin)

    def plan_by_good(self) -> dict[int, float]:
        """Planned use per oxide this month, t."""
        par = self.model.params
        ref = self.model.catalog.ref_price
        growth = (1 + par.demand_growth_per_year) ** (self.model.steps_done / 12.0)
        eps = par.final_demand_elasticity
        return {g: self.base_units * a * growth * (self.expected(g) / ref[g]) ** eps
                for g, a in self.recipe0.items()}

    def post_orders(self, book) -> None:
        """Bid for each oxide separately."""
        self._plan = self.plan_by_good()
        self.plan_units = sum(self._plan.values())
        months = self.target_weeks() / WEEKS_PER_MONTH
        for g, q in self._plan.items():
            self.bid_for(book, g, q, months, self.derived_value(g), self.use)

    def produce(self) -> None:
        """Use what is on hand of each oxide; count what is missing as lost output."""
        ref = self.model.catalog.ref_price
        lost_t = lost_v = used = 0.0
        for g, q in self._plan.items():
            took = self.stock(g).take(q)
            self.model.ledger_consume(g, took)
            used += took
            lost_t += q - took
            lost_v += (q - took) * ref[g] * 1000.0
        self.output_units = used
        self.lost_units = lost_t
        self.lost_value = lost_v
        self.stopped = False
