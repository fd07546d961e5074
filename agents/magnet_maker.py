"""Magnet maker: buys separated oxides (metal and alloy steps folded in) and makes magnets.

Production is Leontief in the bill of materials (``abm/data/magnets.csv``, t oxide per t
magnet) and bounded by inputs on hand. Decisions: input purchases (bids capped by the value
of the input in the magnet), output by grade (made to order: expected sales plus a finished-
stock correction, at most the price-led run rate), the Dy/Tb mix of high-temperature grades
(a CES choice between the two coercivity sources, :mod:`abm.input_mix`), thrifting of Dy/Tb
in high-temperature grades (grain-boundary diffusion) towards a share that depends on the
price of the Dy/Tb bundle, unwinding slowly when it is cheap (:func:`abm.demand.adopt`),
expansion (2-3.5 years), exit.
"""

from __future__ import annotations

from abm import input_mix
from abm.demand import adopt, adoption_target
from abm.goods import mag, ox
from abm.timeline import WEEKS_PER_MONTH
from agents.base import Firm

HRE = ("Dy", "Tb")


class MagnetMaker(Firm):
    """A magnet plant: capacity t/yr of magnets, conversion cost USD/kg magnet.

    Args:
        product: ``"ndfeb"`` (standard and high-temperature grades, split by ``ht_share``)
            or ``"smco"``.
    """

    stage = "magnets"

    def __init__(
        self,
        model,
        name,
        region,
        product: str,
        capacity: float,
        unit_cost: float,
        ht_share: float = 0.5,
    ):
        super().__init__(model, name, region, capacity, unit_cost)
        if product not in ("ndfeb", "smco"):
            raise ValueError(f"{name}: product must be 'ndfeb' or 'smco', got '{product}'")
        cat = model.catalog
        self.product = product
        self.mix = (
            {cat.index[mag("ndfeb_std")]: 1 - ht_share, cat.index[mag("ndfeb_ht")]: ht_share}
            if product == "ndfeb"
            else {cat.index[mag("smco")]: 1.0}
        )
        self.bom = {
            g: {cat.index[og]: v for og, v in cat.bom(cat.goods[g][4:]).items()} for g in self.mix
        }
        self.hre_goods = {cat.index[ox(e)] for e in HRE}
        self.hre_factor = 1.0
        self._dy, self._tb = cat.index[ox("Dy")], cat.index[ox("Tb")]
        # grades whose recipe holds both Dy and Tb: their mix follows input_mix
        self._mixed = {g for g in self.mix if self._dy in self.bom[g] and self._tb in self.bom[g]}
        #: ln of (Tb / Dy) per tonne of a mixed grade relative to the bill of materials
        self.hre_log_ratio = 0.0
        #: (Dy, Tb) multipliers of the bill of materials on the unit coercivity isoquant
        self.hre_mult = (1.0, 1.0)
        self.china = region == "CN"
        self.sells = set(self.mix)
        self._markup: dict[int, float] = {}  # grade -> base-year price / cost
        self._std, self._ht = cat.index[mag("ndfeb_std")], cat.index[mag("ndfeb_ht")]
        self._recipes: dict[int, dict[int, float]] | None = None  # see recipes()
        self._recipes_of: tuple | None = None  # (hre_factor, hre_mult) _recipes were built at

    @property
    def market(self) -> str:
        """``magnets:ndfeb`` or ``magnets:smco``."""
        return f"magnets:{self.product}"

    def recipe(self, g: int) -> dict[int, float]:
        """Current bill of materials of magnet good ``g`` (t oxide per t), after thrifting
        and the Dy/Tb mix: the bill of materials with Dy and Tb scaled by ``hre_factor``,
        and in grades holding both, Dy and Tb scaled by ``hre_mult`` (read-only: shared
        with :meth:`recipes`)."""
        return self.recipes()[g]

    def recipes(self) -> dict[int, dict[int, float]]:
        """:meth:`recipe` of every grade this firm makes (built once per value of
        ``hre_factor`` and ``hre_mult``, which change once a month; read-only)."""
        key = (self.hre_factor, self.hre_mult)
        if self._recipes is None or self._recipes_of != key:
            h = self.hre_factor
            hre, dy, tb = self.hre_goods, self._dy, self._tb
            m = {dy: self.hre_mult[0], tb: self.hre_mult[1]}
            self._recipes = {
                g: {
                    i: (v * h * (m[i] if g in self._mixed else 1.0) if i in hre else v)
                    for i, v in self.bom[g].items()
                }
                for g in self.mix
            }
            self._recipes_of = key
        return self._recipes

    def input_costs(self, recipes: dict | None = None) -> dict[int, list[tuple[int, float]]]:
        """Expected cost of each input in a tonne of each grade: grade -> ``[(oxide,
        t oxide per t x expected price), ...]`` in bill-of-materials order (USD/kg magnet
        per input); ``recipes`` as in :meth:`planned_output`. Read once per decision and
        shared by :meth:`planned_output` and :meth:`input_value`."""
        if recipes is None:
            recipes = self.recipes()
        exp, expected = self.exp_price, self.expected
        return {
            g: [(og, a * (exp[og] if og in exp else expected(og))) for og, a in r.items()]
            for g, r in recipes.items()
        }

    def planned_output(
        self, recipes: dict | None = None, costs: dict | None = None
    ) -> dict[int, float]:
        """Planned output per grade this month, t magnet; ``recipes``: this month's
        :meth:`recipes` and ``costs`` its :meth:`input_costs`, if already built.

        The price-led run rate (capacity share x :meth:`utilisation` at the sale price) is
        an upper bound; a maker with a sales history, out of its start-up ramp
        (:attr:`~agents.base.Firm.starting_up`), makes to order: at most expected sales
        (``sales_ema``) plus the gap to ``sell_cover_months`` of finished stock,
        closed over ``inventory_adjust_months`` (Sterman 2000, ch. 17-18: production =
        expected orders + inventory correction). A maker that has not sold yet cuts the run
        rate once its stock exceeds ``unsold_stock_months`` of normal output (by at most
        80%). Output is then cut in
        proportion when the sale price is below variable cost.
        """
        if recipes is None:
            recipes = self.recipes()
        if not self.active:
            return {g: 0.0 for g in self.mix}
        if costs is None:
            costs = self.input_costs(recipes)
        plan = {}
        par = self.model.params
        monthly = self.capacity / 12.0
        for g, share in self.mix.items():
            price = self.sale_price(g)  # market price, or the offtake guarantee
            ratio = price / self.base_price(g)
            normal = monthly * share
            q = normal * self.utilisation(ratio)
            s = self.stocks.get(g)
            have = s.qty if s is not None else 0.0
            sold = self.sales_ema.get(g)
            if sold is not None and not self.starting_up:
                # make to order: expected sales plus the gap to the finished-stock target,
                # at most the price-led run rate
                want = sold + (par.sell_cover_months * sold - have) / par.inventory_adjust_months
                q = min(q, max(want, 0.0))
            elif normal > 0 and have > par.unsold_stock_months * normal:
                over = (have - par.unsold_stock_months * normal) / normal
                q *= max(0.2, 1 - over / (2 * par.unsold_stock_months))
            # variable cost (inputs at expected prices + conversion) above the sale price
            # cuts output in proportion
            var = self.unit_cost + sum([c for _, c in costs[g]])
            if price < var:
                q *= max(price / var, 0.0)
            plan[g] = q
        return plan

    def indexed_price(self, g: int) -> float:
        """Price of magnet grade ``g`` that the maker's costs indicate, USD/kg: conversion
        cost plus the current bill of materials at the oxide prices paid in the maker's
        region last month (``observed_price``), times the grade's base-year markup
        (reference price over the base-year cost at reference oxide prices: Lerner's
        price-cost margin held at its base-year level). Magnet supply contracts index
        prices to current raw-material prices in this way: Shin-Etsu revised its magnet
        prices monthly to current Nd and Dy prices from July 2011 (every 3-6 months
        before), Hitachi Metals moved to quarterly contracts, and motor makers added
        surcharges on Asian Metal's Nd and Dy prices (abm/data/SOURCES.md, session 26);
        the maker's own adaptive expectation lagged the 2011 boom by months."""
        cat = self.model.catalog
        mk = self._markup.get(g)
        if mk is None:
            base = self.unit_cost + sum(a * cat.ref_price[og] for og, a in self.bom[g].items())
            mk = self._markup[g] = float(cat.ref_price[g] / base) if base > 0 else 1.0
        obs = self.model.observed_price
        r = self.ridx
        return mk * (
            self.unit_cost + sum([a * float(obs[og, r]) for og, a in self.recipes()[g].items()])
        )

    def input_value(
        self,
        og: int,
        recipes: dict | None = None,
        costs: dict | None = None,
        sale: dict | None = None,
    ) -> float:
        """Most this maker would pay for oxide ``og``: its derived-demand value, USD/kg;
        ``recipes`` and ``costs`` as in :meth:`planned_output`.

        For a light rare earth (or Sm, Gd in SmCo) it is the magnet's margin (at the forward
        sale price, :meth:`~agents.base.Firm.forward_sale_price`) over the other inputs (at
        expected prices) and conversion, per kg of the oxide in it. For Dy and Tb in an NdFeB maker
        the substitute is the standard grade: without them the maker makes standard rather
        than high-temperature magnets, so their value is the high-temperature grade's margin
        premium over the standard grade per extra kg of the oxide (the cost of the
        substitute, Marshall's derived demand). ``sale``: grade -> its long-run sale price,
        if already read."""
        if recipes is None:
            recipes = self.recipes()
        if costs is None:
            costs = self.input_costs(recipes)
        if sale is None:
            sale = {g: self.forward_sale_price(g) for g in self.mix}

        def margin(g, skip):
            return sale[g] - self.unit_cost - sum([c for i, c in costs[g] if i != skip])

        std, ht = self._std, self._ht
        if og in self.hre_goods and std in self.mix and ht in self.mix:
            extra = recipes[ht].get(og, 0.0) - recipes[std].get(og, 0.0)
            if extra > 0:
                return max((margin(ht, og) - margin(std, og)) / extra, 0.0)
        best = 0.0
        for g in self.mix:
            a = recipes[g].get(og, 0.0)
            if a > 0:
                best = max(best, margin(g, og) / a)
        return best

    def post_orders(self, book) -> None:
        """Bid for oxides per the bill of materials and offer magnet stock."""
        par = self.model.params
        recipes = self.recipes()
        costs = self.input_costs(recipes)
        plan = self.planned_output(recipes, costs)
        use: dict[int, float] = {}
        for g, q in plan.items():
            for og, a in recipes[g].items():
                use[og] = use.get(og, 0.0) + q * a
        cover = par.inventory_target_weeks / WEEKS_PER_MONTH
        sale = {g: self.forward_sale_price(g) for g in self.mix}
        for og, rate in use.items():
            # derived demand: the oxide's value in the magnet; magnet prices pass input
            # costs through, so a maker values an input at least at its expected price
            value = max(self.input_value(og, recipes, costs, sale), self.expected(og))
            self.bid_for(book, og, rate, cover, value)
        for g in self.mix:
            self.offer_stock(book, g, target_cover_months=par.sell_cover_months)

    def produce(self) -> None:
        """Make magnets from inputs on hand; update thrifting.

        Output of each grade is bounded by its inputs on hand (Leontief), except that the
        standard NdFeB grade does not need Dy or Tb: standard N-grades are made without
        them, and the small addition in the bill of materials is used when on hand. Grades
        are made in order of unit margin at expected prices (sale price less conversion
        and inputs), so an input short for both goes to the more valuable grade first."""
        recipes = self.recipes()
        costs = self.input_costs(recipes)
        plan = self.planned_output(recipes, costs)
        revenue = cost = 0.0
        std = self._std
        # inputs shared by the grades go to the grade with the highest unit margin first
        # (a multi-product firm's allocation of a scarce common input by its marginal
        # revenue product: the Leontief plan solved greedily, ties in mix order)
        order = sorted(
            plan,
            key=lambda g: -(self.sale_price(g) - self.unit_cost - sum([c for _, c in costs[g]])),
        )
        for g in order:
            q = plan[g]
            r = recipes[g]
            if q <= 0:
                self.output_month[g] = 0.0
                continue
            needed = {
                og: a for og, a in r.items() if a > 0 and not (g == std and og in self.hre_goods)
            }
            feasible = min([q] + [self.stock(og).qty / a for og, a in needed.items()])
            feasible = max(feasible, 0.0)
            cm_mass = ca_mass = mass = 0.0
            for og, a in r.items():
                s = self.stock(og)
                cm, ca = s.cm, s.ca
                took = s.take(feasible * a)
                self.model.ledger_consume(og, took)
                cm_mass += took * cm
                ca_mass += took * ca
                mass += took
                cost += took * self.expected(og)
            cm = cm_mass / mass if mass > 0 else 0.0
            ca = 1.0 if self.china else (ca_mass / mass if mass > 0 else 0.0)
            if feasible > 0:
                self.stock(g).add(feasible, cm, ca)
                self.model.ledger_produce(g, feasible, element_mass=mass)
            self.output_month[g] = feasible
            revenue += feasible * self.sale_price(g)
            cost += feasible * self.unit_cost
        if revenue > 0:
            self.book_margin((revenue - cost) / revenue, revenue)
        rel = self._remix()
        self._thrift(rel)

    def _tb_share(self) -> float:
        """Tb's share of the base-year cost of Dy and Tb in the high-temperature grade
        (bill of materials at the firm's base-year prices), in [0, 1]."""
        g = next(iter(self._mixed))
        dy, tb = self.bom[g][self._dy], self.bom[g][self._tb]
        cost_dy, cost_tb = dy * self.base_price(self._dy), tb * self.base_price(self._tb)
        return cost_tb / (cost_dy + cost_tb)

    def _remix(self) -> float:
        """Move the Dy/Tb mix of high-temperature grades towards its cost-minimising target
        at expected prices (:func:`abm.input_mix.target_log_ratio`, elasticity
        ``hre_substitution_elasticity``) with time constant ``hre_mix_months``, staying on
        the isoquant of base-year coercivity (:func:`abm.input_mix.isoquant`). Returns the
        price of the Dy/Tb bundle over its base-year price at the cost-minimising mix
        (:func:`abm.input_mix.cost_index`); Dy's relative price for a maker without the
        mixed grade (SmCo)."""
        dy, tb = self._dy, self._tb
        rel_dy = self.expected(dy) / self.base_price(dy)
        if not self._mixed:
            return rel_dy
        par = self.model.params
        rel_tb = self.expected(tb) / self.base_price(tb)
        sigma, theta = par.hre_substitution_elasticity, self._tb_share()
        target = input_mix.target_log_ratio(rel_dy, rel_tb, sigma)
        tau = par.hre_mix_months
        self.hre_log_ratio = adopt(self.hre_log_ratio, target, tau, tau)
        self.hre_mult = input_mix.isoquant(theta, self.hre_log_ratio, sigma)
        return input_mix.cost_index(theta, rel_dy, rel_tb, sigma)

    def _thrift(self, rel: float) -> None:
        """Move the thrifted share of Dy and Tb, ``1 - hre_factor``, towards its target
        :func:`abm.demand.adoption_target` of ``thrifting_max`` at ``rel``, the price of the
        Dy/Tb bundle over its base-year price (:meth:`_remix`; prices over
        :meth:`~agents.base.Firm.base_price`): up with time constant
        ``substitution_lag_months / substitution_speed``, down (grades revised back towards
        more Dy and Tb when they are cheap) with ``design_life_months``
        (:func:`abm.demand.adopt`)."""
        par = self.model.params
        target = adoption_target(
            rel, par.thrifting_max, par.substitution_trigger, par.adoption_dispersion
        )
        up = par.substitution_lag_months / self.model.levers.substitution_speed
        self.hre_factor = 1.0 - adopt(1.0 - self.hre_factor, target, up, par.design_life_months)

    def cost_plus_price(self, g: int, input_price) -> float:
        """Price a cost-plus offtake guarantees the plant for magnet grade ``g``, USD/kg:
        the grade's bill of materials valued by ``input_price(good) -> USD/kg`` plus
        conversion cost plus the offtake's margin
        (:meth:`abm.policy.PolicyState.offtake_margin`: the minimum EBITDA over nameplate
        output); 0 when no offtake with a minimum EBITDA covers the plant."""
        pol = self.model.policy
        if not pol.floors:
            return 0.0
        fee = pol.offtake_margin(self.region, self.company, self.plant, self.nameplate or 0.0)
        if fee <= 0:
            return 0.0
        inputs = sum([a * input_price(og) for og, a in self.recipe(g).items()])
        return inputs + self.unit_cost + fee

    def expansion_margin(self) -> float:
        """Expected conversion margin, USD/kg magnet (offtake price guarantees count)."""
        best = -1e9
        for g in self.mix:
            price = self.sale_price(g)
            inputs = sum(a * self.expected(og) for og, a in self.recipe(g).items())
            best = max(best, price - inputs - self.unit_cost)
        return best

    def longrun_margin(self) -> float:
        """Conversion margin at long-run expected prices: the magnet's
        :meth:`~agents.base.Firm.longrun_sale_price` (offtake guarantee included) less the
        bill of materials at the oxides' anchor prices less conversion cost, best grade,
        USD/kg magnet."""
        best = -1e9
        anc, anchor, recipes = self.anchor_price, self.anchor, self.recipes()
        for g in self.mix:
            inputs = sum(
                [a * (anc[og] if og in anc else anchor(og)) for og, a in recipes[g].items()]
            )
            best = max(best, self.longrun_sale_price(g) - inputs - self.unit_cost)
        return best
