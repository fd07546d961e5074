"""Behavioural parameters of the model, with units, plausible ranges and sources.

One :class:`Parameters` instance lives in every scenario (``[parameters]`` table of the
TOML); sweeps override fields by dotted path (``parameters.final_demand_elasticity``).
Each field's ``json_schema_extra`` carries ``unit``, ``low``/``high`` (the plausible range
used by sweeps and checked on input) and ``source``; ``docs/ODD.md`` lists them.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _numeric(annotation) -> tuple[bool, bool]:
    """(numeric, container): whether ``annotation`` is int/float (optionally ``| None``) or a
    list/tuple of them."""
    if annotation in (int, float):
        return True, False
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and args and all(a in (int, float, Ellipsis) for a in args):
        return True, True
    if args and all(a in (int, float) for a in args):
        return True, False
    return False, False


class NumbersModel(BaseModel):
    """Base of the scenario models (parameters, levers, measures, scenario): frozen, no
    unknown keys, no NaN or infinity, and a number written as a string (``"3"`` in TOML,
    JSON or an override) or as a boolean (``true``), or a boolean written as a string
    (``"yes"``) or a number (``0``), is refused rather than converted.

    Raises (on validation, as :class:`pydantic.ValidationError`):
        ValueError: naming the field and the value given, and what to write instead.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_numeric_strings(cls, data):
        if not isinstance(data, dict):
            return data
        for name, f in cls.model_fields.items():
            v = data.get(name)
            if f.annotation in (bool, bool | None) and isinstance(v, str):
                raise ValueError(
                    f"{name}: got the string {v!r}; write true or false without quotes"
                )
            if (
                f.annotation in (bool, bool | None)
                and isinstance(v, int | float)
                and not isinstance(v, bool)
            ):
                raise ValueError(f"{name}: got the number {v!r}; write true or false")
            numeric, container = _numeric(f.annotation)
            if not numeric:
                continue
            if not container and v is not None and not isinstance(v, int | float | str):
                # a list, a table or a date where one number belongs (pydantic's own message
                # would not say what to write)
                kind = (
                    "a list"
                    if isinstance(v, list | tuple)
                    else "a table"
                    if isinstance(v, dict)
                    else f"a {type(v).__name__}"
                )
                raise ValueError(f"{name}: got {kind} ({v!r}); write one number")
            bad = (
                [x for x in v if isinstance(x, str | bool)]
                if container and isinstance(v, list | tuple)
                else [v]
                if isinstance(v, str | bool)
                else []
            )
            if bad and isinstance(bad[0], bool):
                raise ValueError(f"{name}: got {str(bad[0]).lower()}; write a number")
            if bad:
                raise ValueError(
                    f"{name}: got the string {bad[0]!r}; write the number without quotes"
                )
        return data


def P(default, unit: str, low, high, source: str, doc: str):
    """A parameter field with unit, range and source metadata."""
    return Field(
        default,
        ge=low,
        le=high,
        description=doc,
        json_schema_extra={"unit": unit, "low": low, "high": high, "source": source},
    )


class Parameters(NumbersModel):
    """Behavioural parameters (see ``docs/calibration.md`` for calibrated values)."""

    # --- demand -----------------------------------------------------------------------
    final_demand_elasticity: float = P(
        -0.25,
        "-",
        -1.0,
        -0.05,
        "REE demand is inelastic; 2010-11: ~10x price for ~40% export cut; non-magnet users "
        "respond within the year (polishing powder and NiMH demand 'falling sharply', Reuters "
        "2011-07-14; refiners cut REO in FCC catalysts, AFPM Q&A 89; Grace Catalagram 2011-04)",
        "Long-run price elasticity of rare-earth use per unit of end product around the "
        "buyer's base-year price (Firm.base_price): the substitution effect of derived demand "
        "(Hicks 1932; Allen 1938), reached by magnet users through the named technologies and "
        "OEM.intensity together (the content makes up what the technologies leave, over "
        "thrifting_adjustment_months) and by non-magnet users at once; also the elasticity at "
        "which fundamentalist stockholders price supply news (Stockholder.rule_forecasts).",
    )
    product_demand_elasticity: float = P(
        -1.0,
        "-",
        -3.0,
        -0.5,
        "market demand for new cars about -1 (McCarthy 1996, REStat 78:543: -0.87); "
        "single models -3 to -6 (Berry, Levinsohn and Pakes 1995); the range spans products "
        "from motors to EVs",
        "Price elasticity of demand for a magnet user's own product (EVs, turbines, "
        "electronics, motors): the scale effect of Marshall's rules of derived demand, "
        "applied to the product price change s x (input cost index - 1), s = OEM.ree_cost_share "
        "(Hicks 1932: the importance of being unimportant).",
    )
    thrifting_adjustment_months: float = P(
        6.0,
        "months",
        3.0,
        24.0,
        "assumption within the record's span: derating and a change of grade take months; "
        "product revisions reached the market 12-24 months after the 2011 peak (Nissan cut the "
        "Leaf's Dy by 40% in 2012, Asahi Shimbun 2016-08-02; Honda's hybrid motors used about "
        "30% less from January 2013, Nikkei 2012); Sprecher et al. 2017 (ES&T 51:3860): "
        "substitution reached 10% of demand a year, recovery took two years",
        "Time constant with which a magnet user's rare-earth content per unit (OEM.intensity) "
        "falls towards its long-run level at the expected input price (partial adjustment, "
        "Nerlove 1958); it recovers over design_life_months.",
    )
    demand_outlook_scale: float = P(
        1.0,
        "-",
        0.0,
        2.0,
        "1 = IEA GCMO 2024 APS by sector (demand_outlook.csv); about 1.7 reproduces the "
        "Adamas 2024 outlook (NdFeB demand 8.7%/yr 2024-40)",
        "Multiplier on the outlook's sectoral growth rates of magnet end use.",
    )
    non_magnet_growth_per_year: float = P(
        0.015,
        "1/yr",
        0.0,
        0.05,
        "assumption: catalysts, glass, polishing and alloys grow with industrial output; the "
        "IEA gives magnet REE only (non-EV magnet uses 1.4%/yr 2023-50, demand_outlook.csv)",
        "Growth of non-magnet oxide end uses per year.",
    )
    oem_contribution_margin: float = P(
        0.2,
        "-",
        0.05,
        0.5,
        "contribution margin (price less variable cost) of manufacturers: automotive gross "
        "margins about 10-20% (company reports); assumption for other sectors",
        "Share of a product's value lost per unit not made; sets the derived-demand value of "
        "a missing kilogram of input (unit value x margin / kg per unit).",
    )
    non_magnet_ree_cost_share: float = P(
        0.005,
        "-",
        0.0004,
        0.05,
        "range: oxide cost over the value of the buyer's own product, FCC refining 0.0004 "
        "(up to 4% REO in catalyst, 7 t/day of catalyst per 50,000 bbl/day FCCU, Dow Jones "
        "2011-01-08) to lamp phosphors about 0.02; 0.005 calibrated to the 2011 La and Ce "
        "oxide peaks abroad (Lynas: La 135, Ce 138 USD/kg in Q2 2011; docs/calibration.md 4.16)",
        "Share of rare-earth oxide in the value of the product a non-magnet user loses when "
        "the oxide is missing (Marshall-Hicks derived demand: 'the importance of being "
        "unimportant'); their derived-demand value is reference price / share x margin.",
    )
    # --- trade: supplier relationships and contracts ------------------------------------
    armington_elasticity: float = P(
        5.0,
        "-",
        2.0,
        10.0,
        "Fontagne, Guimbard and Orefice (2022, JIE): product-level trade elasticities centred "
        "near 5 (HS 2846, 2805.30, 8505.11 values not retrieved here)",
        "Elasticity of substitution between origins in a buyer node's contract shares "
        "(Armington 1969 CES / logit, Anderson, de Palma and Thisse 1992).",
    )
    border_cost: float = P(
        0.44,
        "-",
        0.0,
        1.0,
        "Anderson and van Wincoop (2004, JEL): border-related trade barriers about 44% "
        "tariff equivalent for industrial countries",
        "Tariff equivalent of buying from another region (home bias in contract shares).",
    )
    contract_cover: float = P(
        0.8,
        "-",
        0.5,
        0.98,
        "most oxide and magnet trade moves on term contracts (Adamas Intelligence 2025: about "
        "96% of Dy oxide consumed priced near 224 USD/kg while spot asks exceeded 1,100)",
        "Share of documented end use bought on contract; the rest and all inventory top-ups "
        "are bought spot.",
    )
    contract_adjust_months: float = P(
        6.0,
        "months",
        1.0,
        24.0,
        "assumption: term contracts of about a year, reviewed quarterly or half-yearly",
        "Time constant with which contract shares move towards their Armington targets.",
    )
    contract_index_months: float = P(
        3.0,
        "months",
        1.0,
        12.0,
        "contracts priced off published assessments (Asian Metal, SMM) with a lag, e.g. the "
        "prior quarter's average (Lynas quarterly reports)",
        "Smoothing time of the contract price index towards the spot price.",
    )
    customer_market_share: float = P(
        1.0,
        "-",
        0.5,
        1.0,
        "customer markets: sellers with regular customers ration them at list or contract "
        "prices in a shortage rather than raise prices to clear (Okun 1981, ch. 4; Carlton "
        "1986; Blinder et al. 1998, implicit contracts); Adamas Intelligence 2025: about 96% "
        "of the Dy oxide consumed in 2025 priced near the benchmark while spot asks outside "
        "China were several times higher; Reuters 2025-07-01: Neo's ex-China magnets at a "
        "premium of 10-30 USD/kg to its customers. 1 is the pure customer market; the low end "
        "(half of it sold on spot to the highest bids, still at no more than the list price) "
        "is a bound, not an estimate",
        "Share of a seller's supply left after its contracts that it hands, at its contract "
        "price, to regular customers whose other contracted suppliers failed to deliver.",
    )
    qualification_months_magnets: float = P(
        6.0,
        "months",
        4.0,
        18.0,
        "automotive NdFeB supplier qualification 4-7 months (screening, samples and PPAP, "
        "audit; Mainrich International 2025); longer for defense",
        "Months before a buyer node can buy magnets from a new origin.",
    )
    qualification_months_oxides: float = P(
        3.0,
        "months",
        1.0,
        12.0,
        "assumption: purity specifications tested on samples",
        "Months before a magnet maker node can buy oxides from a new origin.",
    )
    qualification_months_concentrates: float = P(
        6.0,
        "months",
        3.0,
        18.0,
        "assumption: metallurgical testing of a new feed",
        "Months before a separation node can buy concentrate from a new origin.",
    )
    supply_risk_premium: float = P(
        2.0,
        "-",
        0.0,
        10.0,
        "assumption (perceived-risk weight in supplier choice)",
        "Proportional landed-cost premium per unit of perceived non-delivery risk of an "
        "origin in contract-share decisions.",
    )
    carrying_cost_per_month: float = P(
        0.01,
        "1/month",
        0.003,
        0.03,
        "interest 5-8%/yr plus storage and insurance 2-4%/yr (Williams and Wright 1991)",
        "Cost of holding stock a month, share of its value; sets buyers' marginal value of "
        "stock at their target cover.",
    )
    # --- inventories and expectations -------------------------------------------------
    price_expectation_months: float = P(
        4.0,
        "months",
        1.0,
        12.0,
        "adaptive expectations (Sterman 2000, ch. 20)",
        "Time constant of adaptive price expectations.",
    )
    output_price_months: float = P(
        1.0,
        "months",
        1.0,
        3.0,
        "the short-run shut-down rule: a firm runs an operation while the price covers its "
        "cash cost (Marshall 1890; Varian 1992, ch. 13), on the price of the month; "
        "rare-earth prices are reported weekly (Asian Metal, SMM) and concentrate offtakes "
        "are priced monthly to quarterly (3 months: the quarterly realised prices Lynas and "
        "MP Materials report); docs/calibration.md 4.28",
        "Time constant with which a mine's short-run output (the share of its operations "
        "whose cash cost the price covers, Firm.cost_utilisation) follows the observed "
        "price of its concentrate (Miner.output_price); its expected price "
        "(price_expectation_months) still prices its stock, books its margin and enters "
        "its investment decisions.",
    )
    price_reversion_months: float = P(
        8.0,
        "months",
        4.0,
        36.0,
        "the short-term/long-term model of commodity prices (Schwartz and Smith 2000, "
        "Management Science 46(7), oil futures 1990-95): short-term deviations revert at "
        "kappa = 1.49/yr, a time constant of 12/1.49 = 8.05 months (abm.expectations); "
        "range kappa 3/yr to 0.33/yr (assumption; the slower end near one-factor "
        "estimates, which have no moving anchor); "
        "docs/calibration.md 4.39",
        "Time constant with which the expected price returns to its long-run anchor "
        "(the mean reversion of the short-term deviation, 1/kappa): in the monthly "
        "expectation update (Firm.update_expectations), the price a firm expects for its "
        "products when an input bought now is sold (Firm.forward_sale_price) and the "
        "transient margin of the NPV test (Firm.project_npv).",
    )
    price_anchor_months: float = P(
        11.0,
        "months",
        6.0,
        120.0,
        "the long-run level of the short-term/long-term model of commodity prices, filtered "
        "from spot prices alone (no futures market for rare-earth oxides): with Schwartz and "
        "Smith's (2000) oil estimates (kappa 1.49/yr, "
        "sigma_chi 0.286, sigma_xi 0.145, rho 0.3) the steady-state Kalman filter moves its "
        "estimate 63% of the way to a lasting change in spot prices in 11 months "
        "(abm.expectations.anchor_months); "
        "docs/calibration.md 4.39",
        "Time constant with which the long-run anchor of expected prices follows observed "
        "prices (Firm.update_expectations; for producers of concentrates and oxides, "
        "observed prices no higher than the full cost of the marginal mine allows, "
        "abm.longrun), the long-run benchmark price follows the world "
        "benchmark (RareEarthModel.benchmark_anchor) and the supply outlook prices reflect "
        "follows the news (PolicyState.update_supply_news).",
    )
    inventory_target_weeks: float = P(
        8.0,
        "weeks",
        2.0,
        26.0,
        "assumption: 1-3 months of cover held by magnet users",
        "Base inventory target of OEMs and processors, weeks of use.",
    )
    defense_inventory_target_weeks: float = P(
        26.0,
        "weeks",
        4.0,
        104.0,
        "assumption: defense holds larger safety stocks",
        "Base inventory target of defense contractors, weeks of use.",
    )
    risk_sensitivity: float = P(
        3.0,
        "-",
        0.0,
        5.0,
        "precautionary hoarding (design brief, step 3); calibrated to the "
        "2010-11 Nd peak (docs/calibration.md)",
        "Proportional rise of inventory targets per unit of perceived supply risk.",
    )
    risk_decay_months: float = P(
        12.0, "months", 1.0, 60.0, "calibration choice", "Time constant of calm lowering risk."
    )
    announcement_risk: float = P(
        0.5,
        "-",
        0.0,
        1.0,
        "calibration choice (with risk_sensitivity 3, a new restriction "
        "raises inventory targets by about half)",
        "Perceived supply risk added in each region a new export licence, export quota, "
        "embargo or import quota targets, in the month it comes into force, times the "
        "region's exposure (PolicyState.exposure: the restricted share of its supply of the "
        "covered goods last month, by value) and the cut it announces "
        "(PolicyState.announced_cut: 1 for a licence regime or an embargo; for a quota, the "
        "share of last month's covered flows it removes, 0 for a renewal at their level).",
    )
    denial_risk: float = P(
        0.1,
        "-",
        0.0,
        1.0,
        "calibration choice (was a constant in RareEarthModel._settle): a region whose "
        "licence applications are all refused for a month perceives a fifth of the risk of "
        "a new restriction (announcement_risk)",
        "Perceived supply risk added in a destination region, the month after, per unit "
        "share of its licence applications refused that month.",
    )
    shortfall_risk: float = P(
        0.5,
        "-",
        0.0,
        2.0,
        "calibration choice (was a constant in OEM.produce): a month with all output lost "
        "adds as much perceived risk as a new restriction (announcement_risk)",
        "Perceived supply risk an OEM or defense contractor adds after a month with lost "
        "output, per unit share of its plan not made.",
    )
    shortage_release_share: float = P(
        0.05,
        "-",
        0.0,
        0.5,
        "assumption (was a constant in RareEarthModel._month): stockpile agencies release on "
        "a shortage determination (US DLA National Defense Stockpile; JOGMEC releases), "
        "taken here as lines losing more than 5% of planned output",
        "Share of its plan an OEM or defense contractor (magnet users) must lose in a month "
        "for its region to count as short, so the region's stockpile agency releases stock.",
    )
    inventory_adjust_months: float = P(
        3.0,
        "months",
        1.0,
        12.0,
        "stock adjustment time (Sterman 2000, ch. 17)",
        "Months over which firms close the gap to their inventory target.",
    )
    ask_cover_elasticity: float = P(
        0.5,
        "-",
        0.1,
        3.0,
        "inventory-coverage price effect (Sterman 2000, ch. 20); GCMat",
        "How much sellers' asks rise as their cover falls below target.",
    )
    sell_cover_months: float = P(
        1.0,
        "months",
        0.25,
        3.0,
        "finished-goods inventory of a made-to-order process of about a month of sales "
        "(Sterman 2000, ch. 17-18, desired inventory coverage); assumption within the range",
        "Finished-goods cover sellers aim to hold (miners, separators, recyclers, magnet "
        "makers), months of sales; sets their coverage price and their make-to-order output.",
    )
    ask_spread: float = P(
        0.09,
        "-",
        0.0,
        0.3,
        "assumption: a seller's offer ladder spans a few percent around its coverage price "
        "(the discretised supply schedule of a posted-offer market; Plott and Smith 1978)",
        "Discount of a seller's cheapest offer tranche below its coverage price; the four "
        "tranches are asked at 1 - spread x (1, 2/3, 1/3, 1/9).",
    )
    sales_smoothing: float = P(
        0.3,
        "-",
        0.05,
        1.0,
        "exponential smoothing of demand forecasts (Sterman 2000, ch. 16; weight 0.3 = a "
        "time constant of about 3 months)",
        "Weight of this month's sales in a firm's expected monthly sales.",
    )
    margin_smoothing: float = P(
        0.2,
        "-",
        0.05,
        1.0,
        "exponential smoothing (Sterman 2000, ch. 16; weight 0.2 = about 5 months)",
        "Weight of this month's operating margin in a firm's smoothed margin (reporting).",
    )
    separation_margin_cutoff: float = P(
        1.0,
        "-",
        0.8,
        1.5,
        "shutdown rule: a plant runs while revenue covers its cash cost (Varian 1992, ch. 13); "
        "the feed value ratio is the oxide basket less processing over the feed price, so 1 "
        "is cash breakeven; above 1 = runs are cut while still earning a margin",
        "Feed value ratio (feed-weighted, 1 = cash breakeven) below which a separator cuts "
        "throughput in proportion.",
    )
    unsold_stock_months: float = P(
        2.0,
        "months",
        1.0,
        6.0,
        "assumption: a magnet maker with no sales history cuts output once its stock exceeds "
        "this many months of normal output (Sterman 2000, ch. 17-18)",
        "Finished stock, in months of normal output, above which a maker that has not sold "
        "yet cuts its run rate; the cut reaches 80% when stock exceeds it by twice as much "
        "again.",
    )
    project_size_scale: float = P(
        1.0,
        "-",
        0.25,
        1.0,
        "1 = no brownfield expansion larger than the largest real project of its stage "
        "(abm/data/project_pipeline.csv; Mountain Pass 40 kt/yr for mining); smaller = "
        "debottlenecking steps only (issue 12)",
        "Largest brownfield expansion, share of the largest real project of the stage in "
        "the pipeline (abm.investment.expansion_order).",
    )
    expansion_utilisation_trigger: float = P(
        0.85,
        "-",
        0.6,
        1.0,
        "capacity utilisation above which firms plan brownfield expansions (capacity "
        "planning on utilisation, Sterman 2000, ch. 17; industry norm 80-90%)",
        "Utilisation at which the price signal for a brownfield expansion is on.",
    )
    expansion_demand_trigger: float = P(
        0.95,
        "-",
        0.7,
        1.0,
        "assumption: expand when output grown at the expected demand growth over the lead "
        "time would exceed this share of capacity (Sterman 2000, ch. 17 supply line)",
        "Share of capacity that output grown over the lead time must exceed for the demand "
        "signal of a brownfield expansion.",
    )
    brownfield_lead_share: float = P(
        0.25,
        "-",
        0.1,
        1.0,
        "assumption: a brownfield expansion at an operating plant (debottlenecking, an "
        "extra line) takes a fraction of a greenfield project's lead time",
        "Brownfield lead time as a share of the stage's greenfield lead time.",
    )
    price_indexation: float = P(
        0.5,
        "-",
        0.0,
        1.0,
        "effect of costs on price in the commodity price formulation of Sterman (2000, ch. "
        "20): indicated price = expected price x effect of coverage x (1 + sensitivity x "
        "(reference / expected - 1)); the references are those the trade indexes its prices "
        "to: magnet supply contracts carry raw-material price adjustment clauses (the bill of "
        "materials), concentrate is sold on its payable oxide content (netback pricing, as "
        "concentrates of base metals are priced on payable metal less treatment charges); "
        "0 = asks follow coverage alone, 1 = full indexation; calibration choice in the range",
        "Weight of a seller's indexed reference price in its asks (magnet makers: inputs at "
        "last month's prices in their region plus conversion at the base-year markup; "
        "miners: the netback of the concentrate's oxide content at the base-year "
        "payability).",
    )
    concentrate_payability: float = P(
        0.4,
        "-",
        0.35,
        0.6,
        "MP Materials' realised price per t REO in concentrate, 4,294 USD in Q2 2024 to "
        "4,717 USD in Q4 2024, is 0.41-0.45 of Mountain Pass's basket at the 2024 reference "
        "prices (10.40 USD/kg; MP results via reportify.ai and investing.com 2025-02-20). "
        "Range: below 0.35 the bastnaesite mines (MP 3.5, Sichuan 3.0 USD/kg, firms.csv) do "
        "not cover their unit costs at the reference prices; above 0.6 the bastnaesite "
        "separators (Shenghe 4.0 USD/kg at 95% recovery) do not. A cracked chemical "
        "concentrate (Ce carbonate, 45% REO) traded at 0.75 of the oxide (Rare Element "
        "Resources, Bear Lodge NI 43-101 pre-feasibility study 2014, section 19), a product "
        "closer to the oxide than a mineral concentrate",
        "Share of the value of a concentrate's oxide content, at the oxides' reference prices, "
        "that its reference price carries (netback pricing); also the value a light-only "
        "separation plant books for the heavy content it sells as a mixed compound.",
    )
    # --- supply -----------------------------------------------------------------------
    base_utilisation: float = P(
        0.9,
        "-",
        0.5,
        1.0,
        "assumption",
        "Share of capacity used at base-year prices (mines and separation plants; magnet "
        "plants: magnet_base_utilisation); the capital charge in the full cost of the "
        "marginal mine is per kg produced at it (abm.longrun).",
    )
    magnet_base_utilisation: float = P(
        0.65,
        "-",
        0.5,
        0.9,
        "China's sintered NdFeB output was 52 kt in 2009 and 78 kt in 2010 (+50%; China "
        "Chemical Reporter 2011-08-17), so 2009 capacity was at least 78 kt (utilisation at "
        "most 0.67); the industry's operating rate was below 50% in H1 2012 and 70-80% in "
        "Q2 2013 (ResearchInChina via SBWIRE 2013-08-02); SMM (2024-06-05) reports midstream "
        "overcapacity",
        "Share of magnet plants' capacity used at base-year prices (capacity = base-year "
        "output / this share).",
    )
    supply_elasticity: float = P(
        1.0,
        "-",
        0.0,
        2.0,
        "calibration choice: keeps the 24-month baseline within 20% of "
        "base prices (docs/calibration.md)",
        "Elasticity of capacity utilisation to the expected output price index.",
    )
    cost_dispersion: float = P(
        0.3,
        "-",
        0.1,
        1.0,
        "assumption: spread of cash costs across a firm's pits and circuits (log units); "
        "industry cost curves span roughly 2-3x (Adamas, USGS cost studies)",
        "Dispersion of cash costs within a producer: the share of capacity run is the share "
        "of operations whose cash cost the expected price covers.",
    )
    idle_capacity_cost_multiple: float = P(
        1.5,
        "x base-year price",
        1.1,
        3.0,
        "assumption: capacity idle in the base year was not worth running at base-year "
        "prices (surge operations: lower grades, overtime)",
        "Cash cost of the capacity idle in the base year, as a multiple of the base-year "
        "price; it runs when expected prices rise above it.",
    )
    investment_hurdle: float = P(
        0.25,
        "-",
        0.0,
        1.0,
        "real-options hurdle: irreversible investment under uncertainty needs value above "
        "cost (Dixit and Pindyck 1994, ch. 5; McDonald and Siegel 1986); surveys of hurdle "
        "rates above WACC (Jagannathan et al. 2016, JFE)",
        "Net present value a project must reach, as a share of its capital cost, to be "
        "committed (profitability index - 1); 0 for a sponsor whose price a floor or "
        "offtake guarantees (Firm.hurdle).",
    )
    policy_reversal_hazard: float = P(
        0.2,
        "1/yr",
        0.03,
        0.5,
        "trade-policy uncertainty in investment (Handley and Limao 2015, AEJ: Economic "
        "Policy 7(4); Handley and Limao 2017, AER 107(9); Rodrik 1991, J. Dev. Econ. 36): "
        "profits that a policy creates are discounted by the probability the policy ends. "
        "Default: export taxes last 4.8 years on average (293 agricultural export "
        "restrictions, 2005-2015: 1/4.8 = 0.21/yr; export bans are shorter); range: the "
        "lowest annual probability of a trade-policy change estimated in that literature "
        "(US normal trade relations with China not renewed: 3.2-4.5%, Alessandria, Khan and "
        "Khederlarian 2024, JIE; World Bank PRWP 9551; a liberal regime in place for "
        "decades, so a floor for a new restriction), to "
        "measures expected to last two years (0.5/yr; China's halt to Japan in 2010 lasted "
        "about two months; antidumping duties: 45% revoked at the five-year review, Cadot, "
        "de Melo and Tumurchudur 2006)",
        "Annual hazard with which investors expect the new trade instruments adopted during "
        "the run (PolicyState.trade_policy_changed) to end: the part of a project's margin "
        "above the margin at policy-free prices (Firm.policy_free_margin) is discounted at "
        "the cost of capital plus this hazard (Firm.project_npv; docs/ODD.md 7.13).",
    )
    china_capex_factor: float = P(
        0.42,
        "-",
        0.3,
        1.0,
        "Chinese capital cost per t/yr against the ex-China pipeline medians (30,000 USD "
        "mining, 32,900 USD separation): Ganzhou ionic-clay mine 664.4 M CNY for 7,784 t/yr "
        "REO and Pingyuan 72.88 M CNY for 1,000 t/yr (investorintel.com 2013-02-04, at 6.31 "
        "CNY/USD: 13,500 and 11,600 USD per t/yr, 0.42 of 30,000); Northern Gold Dragon "
        "separation 65.9 M USD for 5,000 t/yr (rareearthexchanges 2025; 0.40)",
        "Capital cost per t/yr of new mining and separation capacity in China, share of the "
        "pipeline's median (Firm.capex_per_t).",
    )
    investment_review_months: int = P(
        12, "months", 1, 36, "annual capital budgeting", "Interval between investment reviews."
    )
    wacc: float = P(
        0.08,
        "1/yr",
        0.05,
        0.15,
        "discount rates of rare-earth feasibility studies: 8% real (Arafura Nolans DFS; "
        "Iluka Eneabba), 10% (Mkango Songwe DFS 2022) (recalled, not re-checked)",
        "Weighted average cost of capital of a project sponsor (discount rate of the NPV; "
        "also annualises the capital charge in the full cost of the marginal mine, "
        "abm.longrun).",
    )
    project_life_years: float = P(
        20.0,
        "years",
        10.0,
        30.0,
        "mine lives and depreciation periods in rare-earth feasibility studies (Songwe 18 "
        "yr, Nolans 38 yr; plants 20-25 yr) (recalled)",
        "Operating life over which a project's cash margins are discounted (and over which "
        "the capital charge in the full cost of the marginal mine is annualised, "
        "abm.longrun).",
    )
    debt_share: float = P(
        0.5,
        "-",
        0.0,
        0.8,
        "project-finance gearing of mining projects 40-70% (assumption)",
        "Share of a project's privately financed capital cost borrowed.",
    )
    debt_rate: float = P(
        0.07,
        "1/yr",
        0.03,
        0.15,
        "assumption: corporate borrowing rate of mid-tier miners",
        "Interest rate on private project debt.",
    )
    debt_years: float = P(
        10.0,
        "years",
        5.0,
        20.0,
        "assumption: tenor of project loans",
        "Years over which project debt (private and concessional) is repaid.",
    )
    public_discount_rate: float = P(
        0.03,
        "1/yr",
        0.0,
        0.07,
        "government borrowing cost / social discount rate (HM Treasury Green Book 3.5%; US "
        "OMB A-4 3%)",
        "Return a public equity stake requires; also the rate of public loans unless the "
        "measure gives one.",
    )
    rampup_tau_years: float = P(
        2.8,
        "years",
        1.25,
        2.9,
        "abm.data.fit_rampup on rampup.csv: pooled 2.8 yr; Lynas LAMP 2.9 yr; MP restart "
        "1.25 yr (USGS MCS, Lynas and MP reports)",
        "Time constant of a new plant's ramp-up: share of nameplate 1 - exp(-t / tau).",
    )
    restart_tau_years: float = P(
        1.25,
        "years",
        0.5,
        2.9,
        "abm.data.fit_rampup: Mountain Pass restart by MP Materials 2018-21, tau 1.25 yr",
        "Time constant of the ramp-up of a mothballed plant that restarts.",
    )
    mothball_band: float = P(
        0.1,
        "-",
        0.0,
        0.5,
        "hysteresis of entry and exit under uncertainty (Dixit 1989, JPE; Dixit and Pindyck "
        "1994, ch. 7): the band widens with volatility and sunk restart cost; assumption",
        "A plant is mothballed when its margin at long-run prices falls below -band x cash "
        "cost, and restarted when it rises above +band x cash cost.",
    )
    restart_cost_share: float = P(
        0.1,
        "-",
        0.0,
        0.5,
        "assumption: restart of idled plants (Mountain Pass 2017-18: care and maintenance, "
        "recommissioning) costs a fraction of new-build capital",
        "Cost of restarting a mothballed plant, share of its replacement capital cost.",
    )
    care_maintenance_share: float = P(
        0.05,
        "-",
        0.0,
        0.2,
        "assumption: care-and-maintenance cost of idle mines and plants",
        "Monthly cost of a mothballed plant, share of its cash cost at base output.",
    )
    cash_buffer_months: float = P(
        6.0,
        "months",
        1.0,
        24.0,
        "assumption: working capital and cash of producing firms, months of revenue",
        "Cash of a firm at the start of a run (or at start-up), months of revenue at "
        "nameplate and long-run prices.",
    )
    credit_years: float = P(
        2.0,
        "years",
        0.0,
        5.0,
        "assumption: lenders extend credit against expected cash flow (leverage limits of "
        "a few times operating cash flow)",
        "Credit line of a firm, years of its operating cash flow at long-run prices before "
        "debt service (none when that flow is negative); a firm exits when cash plus credit "
        "run out.",
    )
    supply_line_share: float = P(
        0.2,
        "-",
        0.05,
        0.5,
        "assumption: at most one round of expansions under way per market (Sterman 2000, "
        "ch. 17-20 supply line)",
        "Largest capacity under construction, share of the market's capacity, at which a "
        "firm still expands on the price signal.",
    )
    lead_time_mine_years: tuple[float, float] = Field(
        (8.0, 15.0),
        description="Range of mine lead times, years (uniform draw).",
        json_schema_extra={
            "unit": "years",
            "low": 3.0,
            "high": 30.0,
            "source": "design brief; S&P Global 2023: 15.7 yr average (6-32)",
        },
    )
    lead_time_mine_after_feasibility_years: tuple[float, float] = Field(
        (2.0, 5.0),
        description="Range of lead times from commitment to first production of a pipeline "
        "mine whose feasibility study is done (project_status feasibility, committed or "
        "construction), years (uniform draw); other mine projects draw lead_time_mine_years.",
        json_schema_extra={
            "unit": "years",
            "low": 1.0,
            "high": 10.0,
            "source": "decision or construction start to first production of rare-earth mines: "
            "Molycorp Phoenix 1.1 yr (ground broken Jan 2011, start-up Feb 2012), Mt Weld "
            "concentrator about 3 yr (2008-May 2011, with a pause), Serra Verde phase I about "
            "3.4 yr (works from H2 2020, commercial Jan 2024), Pensana Longonjo about 1.7 yr "
            "target (construction May 2025, production early 2027, company Aug 2025); Arafura "
            "Nolans about 30 months of construction planned (NT government); S&P Global 2020: "
            "construction starts 1.8 yr after the feasibility study and takes about 2.6 yr; "
            "lead_time_mine_years' 8-15 yr is discovery to production (S&P Global 2023)",
        },
    )
    lead_time_separation_years: tuple[float, float] = Field(
        (3.0, 5.0),
        description="Range of separation-plant lead times, years.",
        json_schema_extra={
            "unit": "years",
            "low": 1.0,
            "high": 10.0,
            "source": "design brief; Lynas Kalgoorlie <2.5 yr after approvals",
        },
    )
    lead_time_magnet_years: tuple[float, float] = Field(
        (2.0, 3.5),
        description="Range of magnet-plant lead times, years.",
        json_schema_extra={
            "unit": "years",
            "low": 1.0,
            "high": 6.0,
            "source": "MP Independence ~2.75-3.5 yr; Neo Narva ~2-2.5 yr",
        },
    )
    separation_recovery: float = P(
        0.95,
        "-",
        0.8,
        1.0,
        "assumption (solvent-extraction recoveries)",
        "Share of feed REO recovered as separated oxides; the rest is a loss.",
    )
    # --- licences ---------------------------------------------------------------------
    licence_review_months: float = P(
        2.1,
        "months",
        0.5,
        6.0,
        "MOFCOM statutory limit 45 working days (Reuters 2025)",
        "Mean review delay of an export-licence application (delay ~ uniform 0.5-1.5 x mean, "
        "whole months, at least 1).",
    )
    licence_validity_months: int = P(
        6, "months", 1, 12, "assumption", "Months an approved licence volume stays usable."
    )
    # --- export evasion (smuggling under export quotas and duties) ----------------------
    evasion_cover_ratio: float = P(
        0.36,
        "t/t",
        0.0,
        0.59,
        "State Council white paper 'Situation and Policies of China's Rare Earth Industry' "
        "(2012-06-20): foreign customs recorded 1.35, 1.59 and 1.36 times China's recorded "
        "rare-earth exports in 2006, 2007 and 2008 (episode_2010_12.csv); 0.36 is 2008, "
        "the range top 2007; 0 switches evasion off",
        "Unrecorded tonnes a tonne of recorded exports covers at the low evasion cost "
        "(first step of the evasion supply; Pitt 1981: legal trade as cover).",
    )
    evasion_cost_share: float = P(
        0.05,
        "-",
        0.0,
        0.1,
        "assumption: below the 10% export duty of 2007, under which unrecorded exports "
        "were 0.59 of recorded ones (white paper 2012); Bhagwati and Hansen (1973): "
        "smuggling at a real resource cost",
        "Resource cost of smuggling at the first step, share of the origin price.",
    )
    evasion_cover_ratio_high: float = P(
        0.84,
        "t/t",
        0.0,
        1.84,
        "CREIA secretary-general Ma Rongzhang (Xinhua 2012-08): smuggling 1.2 times legal "
        "exports in 2011 (the white paper's '1.2-fold' also read as 2.2 times); less the "
        "first step's 0.36",
        "Further unrecorded tonnes per recorded tonne at the high evasion cost (second "
        "step: evasion costs rise with the smuggled share, Pitt 1981).",
    )
    evasion_cost_share_high: float = P(
        0.3,
        "-",
        0.25,
        0.5,
        "CREIA (Ma Rongzhang, China Daily 2012-08): smugglers sold about 30% below the "
        "market price in 2011; above the 2008 duties of up to 25%, under which the "
        "unrecorded share stayed at 0.36",
        "Resource cost of smuggling at the second step, share of the origin price.",
    )
    # --- adaptation -------------------------------------------------------------------
    substitution_max_share: float = P(
        0.25,
        "-",
        0.0,
        0.8,
        "USGS MCS2026: substitutes available but less effective",
        "Largest share of NdFeB demand that can move to ferrite or Ce-rich magnets.",
    )
    ce_magnet_share: float = P(
        0.5,
        "-",
        0.0,
        1.0,
        "assumption: Ce-La-substituted NdFeB for motors that keep NdFeB geometry (Toyota "
        "2018, NEDO release 2018-02-20); the rest to ferrite (flux-concentrating ferrite "
        "motors, Widmer et al. 2015, Sustain. Mater. Technol. 3:7-13)",
        "Share of the NdFeB demand moved to substitutes that goes to Ce-rich magnets; the "
        "rest goes to ferrite.",
    )
    ce_nd_replacement: float = P(
        0.5,
        "-",
        0.1,
        0.7,
        "Toyota 2018 (NEDO release 2018-02-20): up to 50% of Nd replaced by La and Ce in a "
        "heat-resistant magnet without Dy or Tb",
        "Share of the rare-earth content of a Ce-rich magnet that is La and Ce oxide rather "
        "than Nd and Pr (the rest is standard-grade NdFeB content).",
    )
    ce_la_ratio: float = P(
        0.75,
        "-",
        0.5,
        1.0,
        "assumption: Ce-rich (mischmetal-like) La-Ce mix; Ce is about two thirds of "
        "bastnaesite La+Ce (deposits.csv)",
        "Ce share of the La and Ce oxide in a Ce-rich magnet (the rest is La).",
    )
    ferrite_value_loss: float = P(
        0.03,
        "-",
        0.0,
        0.2,
        "assumption: ferrite motors reach comparable output with larger, heavier machines "
        "and a few points of efficiency (Widmer et al. 2015; Lee and Abbasian 2025, "
        "Energies 18:2274)",
        "Share of a unit's value lost (recorded as substitution cost) when its NdFeB is "
        "replaced by ferrite.",
    )
    dy_free_max_share: float = P(
        0.5,
        "-",
        0.0,
        1.0,
        "Toyota 2018 Dy/Tb-free magnet (NEDO release)",
        "Largest share of high-temperature-grade demand that can move to Dy-free designs.",
    )
    dy_free_extra_magnet: float = P(
        0.2,
        "-",
        0.0,
        1.0,
        "assumption: a Dy-free design makes up lost high-temperature coercivity with more "
        "magnet and cooling (Toyota 2018 needed new grain structures for equal heat "
        "resistance)",
        "Extra standard-grade magnet per kg of high-temperature grade replaced, kg/kg; the "
        "substitute that bounds the derived value of a missing kilogram of HT grade.",
    )
    ht_standin_share: float = P(
        0.2,
        "-",
        0.0,
        0.5,
        "assumption: applications with thermal margin can take a derated standard grade at "
        "once (Dy content is chosen for the worst operating temperature; Heim and Vander Wal "
        "2023)",
        "Share of a user's remaining high-temperature-grade use that standard grade (with "
        "dy_free_extra_magnet) can replace within the month when HT grade is short.",
    )
    thrifting_max: float = P(
        0.6,
        "-",
        0.0,
        0.9,
        "grain-boundary diffusion cuts HRE to <0.6% (Heim & Vander Wal 2023)",
        "Largest cut in Dy/Tb per tonne of high-temperature magnet.",
    )
    hre_substitution_elasticity: float = P(
        1.5,
        "-",
        0.5,
        4.0,
        "Dy and Tb are alternative sources of the same coercivity gain, in bulk alloys and as "
        "grain-boundary diffusion sources (Tb raises the anisotropy field more per atom: "
        "Herbst 1991, Rev. Mod. Phys. 63:819; 'terbium works a bit better than Dy ... but "
        "is usually not as cost effective', Trout, Magnetics Business & Technology, Summer "
        "2018; Mainrich International 2025: GBD with Dy or Tb); no econometric estimate "
        "found, the range is an assumption",
        "Elasticity of substitution between Dy and Tb oxide in a high-temperature NdFeB "
        "grade (CES in calibrated share form, Rutherford 2002): the Tb/Dy ratio of the "
        "target recipe moves by this elasticity times the change in their relative price.",
    )
    hre_mix_months: float = P(
        6.0,
        "months",
        3.0,
        18.0,
        "a change of diffusion source is a material change of a qualified part: the buyer "
        "re-approves it (PPAP), as for a new supplier (qualification 4-7 months, Mainrich "
        "International 2025)",
        "Time constant with which a magnet maker's Dy/Tb mix in high-temperature grades "
        "moves towards its cost-minimising target.",
    )
    substitution_lag_months: float = P(
        24.0,
        "months",
        6.0,
        120.0,
        "Sprecher et al. 2017 (ES&T 51:3860): substitution and thrifting took out about 10% of "
        "demand a year after 2011; Keilhacker and Minner 2017 (RCR 125:349)",
        "Time constant of adoption of thrifting and substitution towards a higher target share.",
    )
    design_life_months: float = P(
        84.0,
        "months",
        24.0,
        180.0,
        "putty-clay: a design lasts a product generation (vehicle model cycles 5-7 years; "
        "motor platforms longer); assumption",
        "Time constant with which thrifting (OEM.intensity back up) and substitution unwind "
        "towards a lower target share when prices fall (designs are revised only at a new "
        "product generation).",
    )
    substitution_trigger: float = P(
        1.5,
        "x reference",
        1.0,
        5.0,
        "calibration choice",
        "Median price multiple (expected over reference price) at which users adopt "
        "thrifting and substitution (probit adoption, Davies 1979).",
    )
    adoption_dispersion: float = P(
        0.2,
        "-",
        0.05,
        0.5,
        "assumption: spread of users' switching thresholds (log units); probit diffusion "
        "model (David 1969; Davies 1979)",
        "Dispersion of switching thresholds: the target share is the largest share times "
        "Phi(ln(price multiple / substitution_trigger) / adoption_dispersion).",
    )
    recycling_share: float = P(
        0.01,
        "-",
        0.0,
        0.2,
        "UNEP IRP 2011: <1% end-of-life recycling rate",
        "Share of end-of-life magnets collected and recycled at the base-year Nd oxide price.",
    )
    recycling_max_collection: float = P(
        0.5,
        "-",
        0.1,
        0.9,
        "Sprecher et al. 2014 (ES&T 48:3951): up to 57% of NdFeB in hard disk drives "
        "recoverable with dedicated collection",
        "Largest collection share of end-of-life magnets however high the price.",
    )
    recycling_price_elasticity: float = P(
        0.8,
        "-",
        0.0,
        3.0,
        "assumption",
        "Elasticity of the collected share of end-of-life magnets to the Nd oxide price "
        "(logistic towards recycling_max_collection).",
    )
    magnet_life_years: float = P(
        12.0,
        "years",
        5.0,
        25.0,
        "Rademaker, Kleijn and Yang 2013 (ES&T 47:10129): waste flows from lifetimes of hard "
        "disk drives (about 5 yr), vehicles (about 12-15 yr) and wind turbines (20-25 yr); "
        "mix-weighted assumption",
        "Mean life of magnets in products: end-of-life magnets today are the magnet use of "
        "this many years ago.",
    )
    magnet_use_growth_history: float = P(
        0.09,
        "1/yr",
        0.0,
        0.2,
        "IEA GCMO 2024: magnet REE demand nearly doubled 2015-2023 (about 9%/yr, "
        "demand_outlook.csv)",
        "Past growth of magnet use, to date end-of-life magnets before the run's own "
        "history (end-of-life flow = use / (1 + g) ** magnet_life_years).",
    )
    # --- governments ------------------------------------------------------------------
    retaliation_threshold: float = P(
        0.25,
        "-",
        0.0,
        2.0,
        "assumption",
        "Tariff gap (fraction) above which a government retaliates by matching the partner.",
    )

    @field_validator(
        "lead_time_mine_years",
        "lead_time_mine_after_feasibility_years",
        "lead_time_separation_years",
        "lead_time_magnet_years",
    )
    @classmethod
    def _range(cls, v, info):
        extra = cls.model_fields[info.field_name].json_schema_extra
        lo, hi = v
        if not extra["low"] <= lo <= hi <= extra["high"]:
            raise ValueError(
                f"must be [low, high] with {extra['low']} <= low <= high <= "
                f"{extra['high']} years, got {list(v)}"
            )
        return v

    stockpile_release_multiple: float = P(
        2.0,
        "x reference",
        1.0,
        10.0,
        "assumption",
        "Price multiple above which a stockpiling government releases stock.",
    )
    stockpile_buy_multiple: float = P(
        1.3,
        "x reference",
        1.0,
        3.0,
        "assumption (buffer-stock purchase trigger, Newbery and Stiglitz 1981, ch. 30; the "
        "value the stockpile rule used before it moved to agents/stockholder.py)",
        "Price multiple of the reference price below which a stockpile agency (DLA, "
        "JOGMEC, KOMIR) buys towards its target.",
    )
    stockpile_fill_months: float = P(
        12.0,
        "months",
        3.0,
        60.0,
        "assumption: agencies buy under annual budgets (DLA Annual Materials Plan; JOGMEC)",
        "Months over which a stockpile agency closes the gap to its target.",
    )
    stockpile_release_months: float = P(
        3.0,
        "months",
        1.0,
        24.0,
        "assumption: releases spread over a quarter",
        "Months over which a stockpile agency releases its stock when it releases.",
    )
    # --- storage: speculative stockholders and state reserves (agents/stockholder.py) ----
    speculator_capital_china_usd: float = P(
        5.0e8,
        "USD",
        0.0,
        5.0e9,
        "range: Chinese speculative funds entered Ganzhou and Baotou after the 2011 Lunar "
        "New Year (Xinhua 2011-03-30; no amount given); bounded by the state's own purchase "
        "programme of about 6 bn CNY, 0.95 bn USD (China Daily 2012-07-14) and the storage "
        "built in Inner Mongolia for more than China's 2010 exports of 39,813 t (WSJ 2011)",
        "Capital budget of the speculative stockholders (traders, funds) in China: the "
        "largest value of stock they can hold, USD.",
    )
    speculator_capital_outside_usd: float = P(
        1.0e8,
        "USD",
        0.0,
        2.0e9,
        "assumption: trading houses outside China (Japan's trading companies held stocks "
        "through 2010-11; JOGMEC 2011 annual report mentions private stocks) hold less than "
        "China's funds",
        "Capital budget of the speculative stockholders outside China (in Japan), USD.",
    )
    speculator_risk_aversion: float = P(
        2.0,
        "-",
        0.5,
        10.0,
        "relative risk aversion 1-10 (Mehra and Prescott 1985); Brock and Hommes 1998 mean-"
        "variance demand",
        "Risk aversion a of the mean-variance storage demand: the share of the capital "
        "budget held is (expected log return net of carrying cost) / (a x variance).",
    )
    speculator_horizon_months: float = P(
        6.0,
        "months",
        1.0,
        24.0,
        "assumption: speculative positions in 2011 were held for months (Xinhua 2011-03-30: "
        "entry after Lunar New Year; prices turned in July, researchinchina 2011-11-03). At "
        "24 Japan's trend followers extrapolate the autumn 2010 trend over two years and "
        "embargo-2010's Nd peak abroad runs to 73x in October 2010 (6.9x without trend "
        "following, 7.8x without stockholders outside China; docs/calibration.md 4.26)",
        "Holding horizon h over which a stockholder compares the expected price with the "
        "price now plus carrying cost; also the horizon of the mine-supply outlook behind "
        "supply news (PolicyState.supply_outlook) and the time over which fundamentalists "
        "expect the price to close its gap to the fundamental (Stockholder.rule_forecasts).",
    )
    trend_window_months: float = P(
        3.0,
        "months",
        1.0,
        12.0,
        "chartist rules extrapolate recent trends (Hommes 2006)",
        "Window over which trend followers measure the price trend.",
    )
    trend_extrapolation: float = P(
        0.4,
        "-",
        0.0,
        1.3,
        "Anufriev and Hommes 2012: the weak trend-following rule, g = 0.4, and the strong "
        "one, 1.3, the range of the rules they estimate (the range ended at 2.0 until "
        "session 13, where embargo-2010's Nd peak ran away to 2,600x, docs/calibration.md "
        "4.17); Brock and Hommes 1998 (g > 0). At 1.0 Japan's Nd stockholders amplify a "
        "one-month spike in embargo-2010 and the baseline collapses in 2033 (seed 0, "
        "docs/calibration.md 4.7)",
        "How far trend followers extrapolate the trend over the holding horizon.",
    )
    switching_intensity: float = P(
        0.4,
        "1/pp^2",
        0.0,
        5.0,
        "Anufriev and Hommes 2012 (heuristic switching model fitted to learning-to-forecast "
        "experiments): intensity of choice beta = 0.4 on squared errors of prices near 50, "
        "i.e. about percentage points",
        "Intensity of choice beta of the Brock-Hommes switching between the fundamentalist "
        "and the trend-following rule (performance: squared one-month forecast errors in "
        "percentage points).",
    )
    switching_memory: float = P(
        0.7,
        "-",
        0.0,
        0.99,
        "Anufriev and Hommes 2012: memory eta = 0.7",
        "Weight of past performance in each rule's fitness (eta).",
    )
    reserve_trigger_multiple: float = P(
        1.0,
        "x support price",
        0.5,
        1.5,
        "leaning-against-the-wind purchases of a price-support buffer stock (Newbery and "
        "Stiglitz 1981): Baotou bought PrNd in September 2011 at up to 900,000 CNY/t as "
        "prices fell from the July peak (Reuters 2011-09-23)",
        "A state reserve with a purchase mandate bids this multiple of its support price "
        "(its expected price when the programme starts), so it buys when the market is at "
        "or below it.",
    )

    def utilisation_of(self, stage: str) -> float:
        """Share of capacity a plant of ``stage`` runs at base-year prices (0..1):
        ``magnet_base_utilisation`` for magnet plants, ``base_utilisation`` for mines,
        separation plants and recyclers; base-year capacity = base-year output / it."""
        return self.magnet_base_utilisation if stage == "magnets" else self.base_utilisation


def markdown_table() -> str:
    """The parameter table of docs/ODD.md (name, default, unit, plausible range, source,
    meaning), generated from :class:`Parameters` so the document stays true to the code."""
    lines = [
        "| parameter | value | unit | range | source | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    inst = Parameters()
    for name, f in Parameters.model_fields.items():
        extra = f.json_schema_extra or {}
        value = getattr(inst, name)
        rng = f"{extra.get('low')} to {extra.get('high')}"
        lines.append(
            f"| `{name}` | {value} | {extra.get('unit', '')} | {rng} | "
            f"{extra.get('source', '')} | {f.description or ''} |"
        )
    return "\n".join(lines)
