"""OEM: an end-use sector of one region that turns magnets (or oxides) into products.

Holds an output plan (units/month, growing with demand), a recipe (t of each input per
unit), an inventory target in weeks of cover that rises with perceived supply risk, and
stops lines when short: output is bounded by inputs on hand (Leontief) and the shortfall is
counted as lost output (units and USD). Output plans grow along the sectoral demand outlook
(:class:`abm.demand.DemandOutlook`, IEA GCMO 2024 APS) and respond to the price of inputs
by Marshall's rules of derived demand (Hicks 1932; Allen 1938): the scale effect moves units
by the product's own elasticity times the rare-earth cost share (``product_demand_elasticity``,
:meth:`OEM.plan`), the substitution effect moves the rare-earth content per unit towards its
long-run level (``final_demand_elasticity``) over months (:attr:`OEM.intensity`, partial
adjustment, Nerlove 1958). Adaptation (:func:`abm.demand.adopt`, probit adoption with
slow unwinding): a share of NdFeB demand moves to Ce-rich magnets (bought as standard grade
plus La and Ce oxide) or to ferrite (a recorded loss of unit value), and of high-temperature
grade to Dy-free designs (more standard grade).
"""

from __future__ import annotations

from abm.data import DataError
from abm.demand import adopt, adoption_target
from abm.goods import mag, ox
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
    #: whether the rare-earth content per unit responds to price (:meth:`_adapt`)
    thrifts = True

    def __init__(
        self,
        model,
        name,
        region,
        sector: str,
        units_per_month: float,
        recipe: dict[str, float],
        unit_value: float,
    ):
        super().__init__(model, name, region, 0.0, 0.0)
        if units_per_month < 0:
            raise ValueError(f"{name}: units_per_month must be >= 0, got {units_per_month}")
        cat = model.catalog
        self.sector = sector
        self.base_units = float(units_per_month)
        self.recipe0 = {cat.index[g]: float(v) for g, v in recipe.items() if v > 0}
        self.unit_value = float(unit_value)
        #: rare-earth input per unit relative to the base design (thrifting and derating)
        self.intensity = 1.0
        self.sub_share = 0.0  # NdFeB demand moved to ferrite / Ce-rich magnets
        self.dy_free_share = 0.0  # high-temperature demand moved to Dy-free designs
        self.substitution_cost = 0.0  # USD/month of unit value lost to ferrite designs
        self.standin_t = 0.0  # t/month of standard grade standing in for HT grade
        self.lost_units = 0.0
        self.lost_value = 0.0
        self.output_units = 0.0
        self.plan_units = 0.0
        self._plan: dict[int, float] = {}
        self.stopped = False
        self.magnet_goods = {cat.index[mag(g)] for g in ("ndfeb_std", "ndfeb_ht", "smco")}
        self._std = cat.index[mag("ndfeb_std")]
        self._ht = cat.index[mag("ndfeb_ht")]
        self._ce, self._la = cat.index[ox("Ce")], cat.index[ox("La")]
        if self.magnet_goods & self.recipe0.keys():
            self.expected(cat.index[ox("Dy")])  # Dy-free designs read its price from the start
        #: t rare-earth oxide per t of standard NdFeB (bill of materials)
        self.re_content = float(sum(cat.bom("ndfeb_std").values()))

    def set_base_prices(self, prices: dict[int, float]) -> None:
        """Record the base-year prices; raises :class:`abm.data.DataError` (a ``ValueError``)
        when a magnet user's rare-earth inputs cost at least its unit value at them
        (:meth:`ree_cost_share` >= 1: the unit value in ``sectors.csv`` is too small for its
        recipe)."""
        super().set_base_prices(prices)
        s = self.ree_cost_share()
        if s >= 1.0 and self.magnet_goods & self.recipe0.keys():
            raise DataError(
                f"sectors.csv, sector {self.sector!r} ({self.region}), column unit_value_usd: "
                f"{self.unit_value:g} USD is not above the base-year cost of the unit's "
                f"rare-earth inputs ({s * self.unit_value:,.0f} USD); allowed: more than that"
            )

    # ----------------------------------------------------------------- plan
    def recipe(self) -> dict[int, float]:
        """Current t per unit of each input: :meth:`designed_recipe` scaled by
        :attr:`intensity` (thrifting and derating, :meth:`_adapt`)."""
        r = self.designed_recipe()
        if self.intensity != 1.0:
            r = {g: v * self.intensity for g, v in r.items()}
        return r

    def designed_recipe(self) -> dict[int, float]:
        """t per unit of each input after the named technologies, before thrifting.

        A share ``dy_free_share`` of the HT-grade requirement moves to the standard grade,
        ``1 + dy_free_extra_magnet`` kg per kg; then a share ``sub_share`` of both NdFeB
        grades moves to substitutes: ``ce_magnet_share`` of it to Ce-rich magnets, bought
        as ``1 - ce_nd_replacement`` t of standard grade plus ``ce_nd_replacement x
        re_content`` t of La and Ce oxide per t (Ce share ``ce_la_ratio``; Toyota 2018), the
        rest to ferrite (no rare earths; its cost is :attr:`substitution_cost`)."""
        par = self.model.params
        r = dict(self.recipe0)
        if self._ht in r and self.dy_free_share > 0:
            moved = r[self._ht] * self.dy_free_share
            r[self._ht] -= moved
            r[self._std] = r.get(self._std, 0.0) + moved * (1 + par.dy_free_extra_magnet)
        if self.sub_share > 0:
            moved = 0.0
            for g in (self._std, self._ht):
                if g in r:
                    moved += r[g] * self.sub_share
                    r[g] *= 1 - self.sub_share
            ce_mag = moved * par.ce_magnet_share
            x = par.ce_nd_replacement
            if ce_mag > 0:
                r[self._std] = r.get(self._std, 0.0) + ce_mag * (1 - x)
                lace = ce_mag * x * self.re_content
                r[self._ce] = r.get(self._ce, 0.0) + lace * par.ce_la_ratio
                r[self._la] = r.get(self._la, 0.0) + lace * (1 - par.ce_la_ratio)
        return r

    def design_share(self) -> float:
        """Share of the base-year rare-earth input per unit that the named technologies
        leave (0..1; 1 without them): ``min(1, sum(designed x base price) / sum(base-year
        recipe x base price))`` over :meth:`designed_recipe`, a quantity index of the
        rare-earth inputs at base-year prices (:meth:`~agents.base.Firm.base_price`;
        Laspeyres). At most 1: a Dy-free design swaps high-temperature grade for
        ``1 + dy_free_extra_magnet`` kg of standard grade, which can cost slightly more at
        base-year prices; it moves use between rare earths and leaves none, so it asks for
        no extra thrifting."""
        if self.sub_share == 0.0 and self.dy_free_share == 0.0:
            return 1.0
        base = self.base_price
        before = sum(v * base(g) for g, v in self.recipe0.items())
        after = sum(v * base(g) for g, v in self.designed_recipe().items())
        return min(1.0, after / before) if before > 0 else 1.0

    def price_index(self) -> float:
        """Expected cost of a unit's inputs relative to their base-year cost in the OEM's
        market (:meth:`~agents.base.Firm.base_price`; 1 at base)."""
        r = self.recipe0
        base = sum(v * self.base_price(g) for g, v in r.items())
        now = sum(v * self.expected(g) for g, v in r.items())
        return now / base if base > 0 else 1.0

    def growth(self) -> float:
        """Growth factor of the output plan since the start of the run: the sector's path
        (:meth:`abm.demand.DemandOutlook.factor`): recorded world activity of its driver
        where ``end_use_activity.csv`` covers the run, then the IEA GCMO 2024 APS (the
        historical 9%/yr before 2023), compounded monthly."""
        m = self.model
        return m.demand_outlook.factor(self.sector, m.start.year, m.start.month, m.month_index)

    def ree_cost_share(self) -> float:
        """Share of a unit's value spent on its rare-earth inputs at base-year prices (0..1):
        ``sum(base price x t per unit x 1000) / unit_value`` over the base-year recipe
        (:meth:`~agents.base.Firm.base_price`, USD/kg). 2024: EVs about 0.3%, wind turbines
        2.8%, electronics 0.2%, industrial motors 2.4-2.5% (``sectors.csv``, by region)."""
        cost = sum(self.base_price(g) * 1000.0 * v for g, v in self.recipe0.items())
        return cost / self.unit_value if self.unit_value > 0 else 0.0

    def plan(self) -> float:
        """Output plan this month, units: ``base x growth x (1 + s (pi - 1)) **
        product_demand_elasticity``, with ``pi`` the expected input cost index
        (:meth:`price_index`) and ``s`` the rare-earth cost share (:meth:`ree_cost_share`).

        The scale effect of Marshall's rules of derived demand (Hicks 1932, the importance
        of being unimportant): with input costs passed through, the product's price rises
        by ``s (pi - 1)`` and its sales move by the product's own elasticity. The substitution
        effect (less rare earth per unit) is :attr:`intensity`, which adjusts over months
        (:meth:`_adapt`)."""
        par = self.model.params
        s, pi = self.ree_cost_share(), self.price_index()
        return self.base_units * self.growth() * (1 + s * (pi - 1)) ** par.product_demand_elasticity

    def target_weeks(self) -> float:
        """Inventory target, weeks of use (rises with perceived risk)."""
        par = self.model.params
        return par.inventory_target_weeks * (1 + par.risk_sensitivity * self.risk)

    def margin_value(self) -> float:
        """Contribution margin lost per kg of magnet missing, USD/kg: ``unit value x
        oem_contribution_margin / kg of magnet per unit`` (base recipe)."""
        kg = 1000.0 * sum(a for h, a in self.recipe0.items() if h in self.magnet_goods)
        return self.unit_value * self.model.params.oem_contribution_margin / kg if kg > 0 else 0.0

    def derived_value(self, g: int) -> float:
        """Derived-demand value of a kilogram of input ``g`` missing from this month's use,
        USD/kg: what the missing kilogram costs the OEM, the margin lost on its product or
        the cost of the substitute (Marshall's derived demand).

        * standard NdFeB and SmCo: the contribution margin lost, :meth:`margin_value` (a
          missing kilogram of any grade stops the same share of a unit);
        * high-temperature NdFeB: the missing kilogram is spread over the OEM's
          applications; in a share ``ht_standin_share`` standard grade stands in (``1 +
          dy_free_extra_magnet`` kg at its expected price), in the rest the margin is lost:
          ``q (1 + e) p_hat[std] + (1 - q) margin_value``, and never above the margin;
        * La and Ce oxide (Ce-rich magnets): the standard grade they replace, ``p_hat[std] /
          re_content`` per kg of oxide;
        * any other input: its reference price.
        """
        par = self.model.params
        if g in self.magnet_goods:
            m = self.margin_value()
            if g == self._ht:
                q = par.ht_standin_share
                sub = (1 + par.dy_free_extra_magnet) * self.expected(self._std)
                return min(m, q * sub + (1 - q) * m)
            return m
        if g in (self._ce, self._la) and g not in self.recipe0:
            return self.expected(self._std) / self.re_content
        return float(self.model.catalog.ref_price[g])

    # ----------------------------------------------------------------- step
    def grade_switch(self) -> float:
        """Share of the standard-grade NdFeB requirement bought as high-temperature grade,
        which meets the standard specification (it replaces standard kilogram for
        kilogram in production, :meth:`produce`): ``1 - (p_hat[HT] / p_hat[std]) **
        sigma`` when the HT grade is expected to be the cheaper of the two, else 0, with
        ``sigma`` = ``armington_elasticity`` (buyers switch as the saving exceeds their
        qualification cost, spread like the origin choice of :mod:`abm.sourcing`). At
        base-year prices HT costs more than standard and nothing switches."""
        ratio = self.expected(self._ht) / self.expected(self._std)
        if ratio >= 1.0:
            return 0.0
        return 1.0 - ratio**self.model.params.armington_elasticity

    def purchase_recipe(self) -> dict[int, float]:
        """t bought per unit of each input: :meth:`recipe`, with the share
        :meth:`grade_switch` of the standard-grade requirement bought as HT grade."""
        r = self.recipe()
        std, ht = self._std, self._ht
        if std in r and ht in r:
            s = self.grade_switch()
            if s > 0:
                r[ht] += s * r[std]
                r[std] *= 1.0 - s
        return r

    def post_orders(self, book) -> None:
        """Bid for this month's inputs (:meth:`purchase_recipe`) plus the gap to the cover
        target."""
        self.plan_units = self.plan()
        months = self.target_weeks() / WEEKS_PER_MONTH
        for g, a in self.purchase_recipe().items():
            self.bid_for(book, g, self.plan_units * a, months, self.derived_value(g), self.use)

    def produce(self) -> None:
        """Consume inputs for the plan; count lost output; adapt substitution.

        Two product lines share the plan in proportion to their magnet mass: the NdFeB line
        and the SmCo line; any other input is Leontief, except the La and Ce oxide of
        Ce-rich magnets, used as far as on hand. In the NdFeB line high-temperature (HT)
        grade can replace standard grade kilogram for kilogram, and standard grade can
        replace a share ``q = ht_standin_share`` of the HT requirement at ``1 + e`` kg per
        kg (``e = dy_free_extra_magnet``): with stocks H (HT) and S (standard), a share f of
        the plan is feasible when ``f (a_std + a_ht) <= H + S`` and ``f a_ht (1 - q) <= H``
        and, where HT is short (``f a_ht > H``), ``f (a_std + a_ht (1 + e)) <= S + H (1 +
        e)`` (:meth:`_nd_feasible`). Lost output is the plan not made; the ferrite share
        of the NdFeB line costs ``ferrite_value_loss`` of the value of each unit made
        (:attr:`substitution_cost`, USD/month).
        """
        par = self.model.params
        r = self.recipe()
        plan = self.plan_units
        ht, std = self._ht, self._std
        sm = self.model.catalog.index["mag_smco"]
        a_ht, a_std, a_sm = r.get(ht, 0.0), r.get(std, 0.0), r.get(sm, 0.0)
        lace = {
            g: a
            for g, a in r.items()
            if g in (self._ce, self._la) and a > 0 and g not in self.recipe0
        }
        other = {g: a for g, a in r.items() if g not in (ht, std, sm) and g not in lace and a > 0}
        f_other = 1.0
        for g, a in other.items():
            f_other = min(f_other, self.stock(g).qty / (a * plan)) if plan > 0 else 1.0
        f_nd = f_sm = f_other
        q, e = par.ht_standin_share, par.dy_free_extra_magnet
        H, S = self.stock(ht).qty, self.stock(std).qty
        if plan > 0 and a_ht + a_std > 0:
            f_nd = min(f_nd, self._nd_feasible(H, S, a_ht * plan, a_std * plan, q, e))
        if plan > 0 and a_sm > 0:
            f_sm = min(f_sm, self.stock(sm).qty / (a_sm * plan))
        f_nd, f_sm = max(f_nd, 0.0), max(f_sm, 0.0)
        mass = a_ht + a_std + a_sm
        w_sm = a_sm / mass if mass > 0 else 0.0
        for g, a in other.items():
            self.model.ledger_consume(g, self.stock(g).take(a * plan * f_other))
        for g, a in lace.items():
            # La and Ce oxide of Ce-rich magnets: used as far as on hand (abundant; a
            # shortfall is not counted as lost output)
            self.model.ledger_consume(g, self.stock(g).take(a * plan * f_nd))
        self.standin_t = 0.0
        if a_ht + a_std > 0:
            need_ht, need_std = f_nd * plan * a_ht, f_nd * plan * a_std
            took_ht = self.stock(ht).take(need_ht)
            took_std = self.stock(std).take(need_std)
            # standard grade short: HT stands in kg for kg
            extra_ht = self.stock(ht).take(need_std - took_std)
            # HT grade short: standard stands in at 1 + e kg per kg
            self.standin_t = self.stock(std).take((need_ht - took_ht) * (1 + e))
            self.model.ledger_consume(std, took_std + self.standin_t)
            self.model.ledger_consume(ht, took_ht + extra_ht)
        if a_sm > 0:
            self.model.ledger_consume(sm, self.stock(sm).take(f_sm * plan * a_sm))
        feasible = plan * ((1 - w_sm) * f_nd + w_sm * f_sm) if mass > 0 else plan * f_other
        self.output_units = feasible
        nd0 = sum(v for g, v in self.recipe0.items() if g in (ht, std))
        mass0 = sum(v for g, v in self.recipe0.items() if g in self.magnet_goods)
        ferrite = self.sub_share * (1 - par.ce_magnet_share) * (nd0 / mass0 if mass0 else 0.0)
        self.substitution_cost = feasible * self.unit_value * par.ferrite_value_loss * ferrite
        lost = max(plan - feasible, 0.0)
        self.lost_units = lost
        self.lost_value = lost * self.unit_value
        was = self.stopped
        self.stopped = plan > 0 and feasible < 0.5 * plan
        if self.stopped and not was:
            self.model.log_event(
                "line stops",
                f"{self.name} ({self.region}) short of "
                f"inputs: output {feasible / plan:.0%} of plan",
            )
        elif was and not self.stopped:
            self.model.log_event("line restarts", f"{self.name} ({self.region})")
        if lost > 1e-9 * max(plan, 1):
            self.risk += par.shortfall_risk * lost / plan
        self._adapt()

    @staticmethod
    def _nd_feasible(H: float, S: float, n_ht: float, n_std: float, q: float, e: float) -> float:
        """Largest share f (may exceed 1) of the NdFeB requirement (``n_ht``, ``n_std`` t)
        that stocks ``H`` (HT) and ``S`` (standard) cover: HT replaces standard kg for kg;
        standard replaces up to a share ``q`` of the HT requirement at ``1 + e`` kg/kg."""
        need = n_ht + n_std
        f = (H + S) / need
        if n_ht > 0:
            if q < 1:
                f = min(f, H / (n_ht * (1 - q)))
            # HT short at f: stand-in needs (f n_ht - H)(1 + e) of the standard left over
            if f * n_ht > H:
                f = min(f, (S + H * (1 + e)) / (n_std + n_ht * (1 + e)))
        return f

    def _adapt(self) -> None:
        """Move :attr:`intensity` towards its long-run level (:func:`abm.demand.adopt`;
        partial adjustment, Nerlove 1958): down with time constant
        ``thrifting_adjustment_months / substitution_speed``, back up with
        ``design_life_months`` (putty-clay: a thrifted design stays until the next product
        generation, as the named technologies do; issue 12: thrifting unwinds slowly when
        prices fall). The long-run rare-earth use per unit is ``L = pi **
        final_demand_elasticity`` (``pi`` = :meth:`price_index`; the substitution effect of
        Hicks 1932 and Allen 1938, one elasticity for every route out of rare earths). Above
        the base-year cost (``L < 1``) the named technologies already remove ``1 - d`` of
        it (``d`` = :meth:`design_share`), so thrifting takes the content to ``L / d``, or
        to 1 if ``d <= L``: the two compose the one response instead of adding to it, and
        thrifting never adds content to units because others moved to substitutes. At or
        below the base-year cost the level is ``L``. The Dy/Tb thrifting of magnet makers
        (:attr:`agents.magnet_maker.MagnetMaker.hre_factor`) is their own choice of heavy
        rare earths within a magnet grade and is not netted here. Then move
        ``sub_share`` and ``dy_free_share`` towards their price-dependent targets
        (:func:`abm.demand.adoption_target`, :func:`abm.demand.adopt`): substitution on the
        larger expected NdFeB price multiple, Dy-free designs on the expected Dy oxide price
        multiple raised by perceived supply risk (``x (1 + risk)``); up with time constant
        ``substitution_lag_months / substitution_speed``, down with ``design_life_months``."""
        par = self.model.params
        speed = self.model.levers.substitution_speed
        if self.thrifts:
            target = self.price_index() ** par.final_demand_elasticity
            if target < 1.0:
                d = self.design_share()
                target = 1.0 if d <= target else target / d
            tau = par.thrifting_adjustment_months / speed
            self.intensity = adopt(self.intensity, target, par.design_life_months, tau)
        if not (self.magnet_goods & self.recipe0.keys()):
            return
        base = self.base_price
        up = par.substitution_lag_months / speed
        rel = max(
            self.expected(self._std) / base(self._std), self.expected(self._ht) / base(self._ht)
        )
        target = adoption_target(
            rel, par.substitution_max_share, par.substitution_trigger, par.adoption_dispersion
        )
        self.sub_share = adopt(self.sub_share, target, up, par.design_life_months)
        dy = self.model.catalog.index["ox_Dy"]
        rel_dy = self.expected(dy) / base(dy) * (1 + self.risk)
        target = adoption_target(
            rel_dy, par.dy_free_max_share, par.substitution_trigger, par.adoption_dispersion
        )
        self.dy_free_share = adopt(self.dy_free_share, target, up, par.design_life_months)


class NonMagnetUser(OEM):
    """Non-magnet end uses of one region (catalysts, polishing, glass, alloys, phosphors).

    Unlike magnet OEMs, each oxide is a separate end use: demand for oxide ``g`` is
    ``base x growth x (expected price / base-year price) ** final_demand_elasticity``
    (:meth:`~agents.base.Firm.base_price`), at once rather than over months as magnet
    users' content per unit (their cuts of 2011 came within the year: polishing powder and
    NiMH demand was 'falling sharply' by July 2011, Reuters 2011-07-14; refiners cut rare
    earths in FCC catalysts), and a shortage of one oxide does not stop the others. Lost
    output is valued at the reference price of the oxide not delivered (USD).
    """

    def derived_value(self, g: int) -> float:
        """Derived-demand value of a missing kilogram of oxide ``g``, USD/kg: the
        contribution margin on the product a missing kilogram stops, ``reference price /
        non_magnet_ree_cost_share x oem_contribution_margin``. The product is the user's own
        (gasoline cracked with the catalyst, the car with the NiMH battery, the lamp with
        the phosphor), of which the oxide is a share ``non_magnet_ree_cost_share`` of the
        value (Marshall; Hicks 1932: the importance of being unimportant; docs/ODD.md
        7.11). At the default 0.005 and margin 0.2: 40 x the reference price."""
        par = self.model.params
        return float(
            self.model.catalog.ref_price[g]
            / par.non_magnet_ree_cost_share
            * par.oem_contribution_margin
        )

    def plan_by_good(self) -> dict[int, float]:
        """Planned use per oxide this month, t."""
        par = self.model.params
        growth = (1 + par.non_magnet_growth_per_year) ** (self.model.month_index / 12.0)
        eps = par.final_demand_elasticity
        return {
            g: self.base_units * a * growth * (self.expected(g) / self.base_price(g)) ** eps
            for g, a in self.recipe0.items()
        }

    def post_orders(self, book) -> None:
        """Bid for each oxide separately."""
        self._plan = self.plan_by_good()
        self.plan_units = sum(self._plan.values())
        months = self.target_weeks() / WEEKS_PER_MONTH
        eps = self.model.params.final_demand_elasticity
        for g, q in self._plan.items():
            self.bid_for(book, g, q, months, self.derived_value(g), self.use, elasticity=eps)

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
