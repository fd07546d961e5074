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
    (``"yes"``), is refused rather than converted.

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
                raise ValueError(f"{name}: got the string {v!r}; write true or false without "
                                 "quotes")
            numeric, container = _numeric(f.annotation)
            if not numeric:
                continue
            bad = ([x for x in v if isinstance(x, str | bool)]
                   if container and isinstance(v, list | tuple)
                   else [v] if isinstance(v, str | bool) else [])
            if bad and isinstance(bad[0], bool):
                raise ValueError(f"{name}: got {str(bad[0]).lower()}; write a number")
            if bad:
                raise ValueError(f"{name}: got the string {bad[0]!r}; write the number "
                                 "without quotes")
        return data


def P(default, unit: str, low, high, source: str, doc: str):
    """A parameter field with unit, range and source metadata."""
    return Field(default, ge=low, le=high, description=doc,
                 json_schema_extra={"unit": unit, "low": low, "high": high, "source": source})


class Parameters(NumbersModel):
    """Behavioural parameters (see ``docs/calibration.md`` for calibrated values)."""

    # --- demand -----------------------------------------------------------------------
    final_demand_elasticity: float = P(
        -0.25, "-", -1.0, -0.05,
        "short-run REE demand is very inelastic; 2010-11: ~10x price for ~40% export cut",
        "Price elasticity of end-use demand (OEM, defense and non-magnet buyers) around the "
        "base-year reference price.")
    demand_growth_per_year: float = P(
        0.05, "1/yr", 0.0, 0.15,
        "IEA GCMO 2024 APS: magnet REE demand 93 kt (2023) to 131 kt (2030), 5.0%/yr "
        "(abm/data/demand_outlook.csv)",
        "Trend growth of end-use demand that investors assume in the demand signal of "
        "investment reviews (agents/base.py). End-use output plans grow by sector along "
        "the outlook table instead (abm.demand.DemandOutlook).")
    demand_outlook_scale: float = P(
        1.0, "-", 0.0, 2.0,
        "1 = IEA GCMO 2024 APS by sector (demand_outlook.csv); about 1.7 reproduces the "
        "Adamas 2024 outlook (NdFeB demand 8.7%/yr 2024-40)",
        "Multiplier on the outlook's sectoral growth rates of magnet end use.")
    non_magnet_growth_per_year: float = P(
        0.015, "1/yr", 0.0, 0.05,
        "assumption: catalysts, glass, polishing and alloys grow with industrial output; the "
        "IEA gives magnet REE only (non-EV magnet uses 1.4%/yr 2023-50, demand_outlook.csv)",
        "Growth of non-magnet oxide end uses per year.")
    oem_contribution_margin: float = P(
        0.2, "-", 0.05, 0.5,
        "contribution margin (price less variable cost) of manufacturers: automotive gross "
        "margins about 10-20% (company reports); assumption for other sectors",
        "Share of a product's value lost per unit not made; sets the derived-demand value of "
        "a missing kilogram of input (unit value x margin / kg per unit).")
    non_magnet_ree_cost_share: float = P(
        0.1, "-", 0.02, 0.5, "assumption (catalysts, polishing, glass, alloys)",
        "Share of rare-earth oxide in the cost of non-magnet products; their derived-demand "
        "value is reference price / share x margin.")
    # --- trade: supplier relationships and contracts ------------------------------------
    armington_elasticity: float = P(
        5.0, "-", 2.0, 10.0,
        "Fontagne, Guimbard and Orefice (2022, JIE): product-level trade elasticities centred "
        "near 5 (HS 2846, 2805.30, 8505.11 values not retrieved here)",
        "Elasticity of substitution between origins in a buyer node's contract shares "
        "(Armington 1969 CES / logit, Anderson, de Palma and Thisse 1992).")
    border_cost: float = P(
        0.44, "-", 0.0, 1.0,
        "Anderson and van Wincoop (2004, JEL): border-related trade barriers about 44% "
        "tariff equivalent for industrial countries",
        "Tariff equivalent of buying from another region (home bias in contract shares).")
    contract_cover: float = P(
        0.8, "-", 0.5, 0.98,
        "most oxide and magnet trade moves on term contracts (Adamas Intelligence 2025: about "
        "96% of Dy oxide consumed priced near 224 USD/kg while spot asks exceeded 1,100)",
        "Share of documented end use bought on contract; the rest and all inventory top-ups "
        "are bought spot.")
    contract_adjust_months: float = P(
        6.0, "months", 1.0, 24.0,
        "assumption: term contracts of about a year, reviewed quarterly or half-yearly",
        "Time constant with which contract shares move towards their Armington targets.")
    contract_index_months: float = P(
        3.0, "months", 1.0, 12.0,
        "contracts priced off published assessments (Asian Metal, SMM) with a lag, e.g. the "
        "prior quarter's average (Lynas quarterly reports)",
        "Smoothing time of the contract price index towards the spot price.")
    qualification_months_magnets: float = P(
        6.0, "months", 4.0, 18.0,
        "automotive NdFeB supplier qualification 4-7 months (screening, samples and PPAP, "
        "audit; Mainrich International 2025); longer for defense",
        "Months before a buyer node can buy magnets from a new origin.")
    qualification_months_oxides: float = P(
        3.0, "months", 1.0, 12.0, "assumption: purity specifications tested on samples",
        "Months before a magnet maker node can buy oxides from a new origin.")
    qualification_months_concentrates: float = P(
        6.0, "months", 3.0, 18.0, "assumption: metallurgical testing of a new feed",
        "Months before a separation node can buy concentrate from a new origin.")
    supply_risk_premium: float = P(
        2.0, "-", 0.0, 10.0, "assumption (perceived-risk weight in supplier choice)",
        "Proportional landed-cost premium per unit of perceived non-delivery risk of an "
        "origin in contract-share decisions.")
    carrying_cost_per_month: float = P(
        0.01, "1/month", 0.003, 0.03,
        "interest 5-8%/yr plus storage and insurance 2-4%/yr (Williams and Wright 1991)",
        "Cost of holding stock a month, share of its value; sets buyers' marginal value of "
        "stock at their target cover.")
    # --- inventories and expectations -------------------------------------------------
    price_expectation_months: float = P(
        4.0, "months", 1.0, 12.0, "adaptive expectations (Sterman 2000, ch. 20)",
        "Time constant of adaptive price expectations.")
    price_anchor_months: float = P(
        30.0, "months", 6.0, 120.0,
        "2010-11 prices fell back within ~2 years (design brief); Sterman commodity model",
        "Time constant with which expected prices return to the long-run reference "
        "(production-cost anchor).")
    inventory_target_weeks: float = P(
        8.0, "weeks", 2.0, 26.0, "assumption: 1-3 months of cover held by magnet users",
        "Base inventory target of OEMs and processors, weeks of use.")
    defense_inventory_target_weeks: float = P(
        26.0, "weeks", 4.0, 104.0, "assumption: defense holds larger safety stocks",
        "Base inventory target of defense contractors, weeks of use.")
    risk_sensitivity: float = P(
        3.0, "-", 0.0, 5.0, "precautionary hoarding (design brief, step 3); calibrated to the "
        "2010-11 Nd peak (docs/calibration.md)",
        "Proportional rise of inventory targets per unit of perceived supply risk.")
    risk_decay_months: float = P(
        12.0, "months", 1.0, 60.0, "calibration choice", "Time constant of calm lowering risk.")
    inventory_adjust_months: float = P(
        3.0, "months", 1.0, 12.0, "stock adjustment time (Sterman 2000, ch. 17)",
        "Months over which firms close the gap to their inventory target.")
    ask_cover_elasticity: float = P(
        0.5, "-", 0.1, 3.0, "inventory-coverage price effect (Sterman 2000, ch. 20); GCMat",
        "How much sellers' asks rise as their cover falls below target.")
    # --- supply -----------------------------------------------------------------------
    base_utilisation: float = P(
        0.9, "-", 0.5, 1.0, "assumption", "Share of capacity used at base-year prices.")
    supply_elasticity: float = P(
        1.0, "-", 0.0, 2.0, "calibration choice: keeps the 24-month baseline within 20% of "
        "base prices (docs/calibration.md)",
        "Elasticity of capacity utilisation to the expected output price index.")
    cost_dispersion: float = P(
        0.3, "-", 0.1, 1.0,
        "assumption: spread of cash costs across a firm's pits and circuits (log units); "
        "industry cost curves span roughly 2-3x (Adamas, USGS cost studies)",
        "Dispersion of cash costs within a producer: the share of capacity run is the share "
        "of operations whose cash cost the expected price covers.")
    idle_capacity_cost_multiple: float = P(
        1.5, "x base-year price", 1.1, 3.0,
        "assumption: capacity idle in the base year was not worth running at base-year "
        "prices (surge operations: lower grades, overtime)",
        "Cash cost of the capacity idle in the base year, as a multiple of the base-year "
        "price; it runs when expected prices rise above it.")
    exit_loss_months: int = P(
        24, "months", 6, 60, "assumption", "Months of sustained losses after which a firm exits.")
    investment_hurdle: float = P(
        0.25, "-", 0.0, 1.0, "typical project hurdle over cost (assumption)",
        "Required margin over unit cost, as a share of cost, to commit to an expansion.")
    investment_review_months: int = P(
        12, "months", 1, 36, "annual capital budgeting", "Interval between investment reviews.")
    expansion_share: float = P(
        0.2, "-", 0.0, 1.0, "assumption", "Size of one expansion, share of current capacity.")
    lead_time_mine_years: tuple[float, float] = Field(
        (8.0, 15.0), description="Range of mine lead times, years (uniform draw).",
        json_schema_extra={"unit": "years", "low": 3.0, "high": 30.0,
                           "source": "design brief; S&P Global 2023: 15.7 yr average (6-32)"})
    lead_time_separation_years: tuple[float, float] = Field(
        (3.0, 5.0), description="Range of separation-plant lead times, years.",
        json_schema_extra={"unit": "years", "low": 1.0, "high": 10.0,
                           "source": "design brief; Lynas Kalgoorlie <2.5 yr after approvals"})
    lead_time_magnet_years: tuple[float, float] = Field(
        (2.0, 3.5), description="Range of magnet-plant lead times, years.",
        json_schema_extra={"unit": "years", "low": 1.0, "high": 6.0,
                           "source": "MP Independence ~2.75-3.5 yr; Neo Narva ~2-2.5 yr"})
    separation_recovery: float = P(
        0.95, "-", 0.8, 1.0, "assumption (solvent-extraction recoveries)",
        "Share of feed REO recovered as separated oxides; the rest is a loss.")
    # --- licences ---------------------------------------------------------------------
    licence_review_months: float = P(
        2.1, "months", 0.5, 6.0, "MOFCOM statutory limit 45 working days (Reuters 2025)",
        "Mean review delay of an export-licence application (delay ~ uniform 0.5-1.5 x mean, "
        "whole months, at least 1).")
    licence_validity_months: int = P(
        6, "months", 1, 12, "assumption", "Months an approved licence volume stays usable.")
    # --- adaptation -------------------------------------------------------------------
    substitution_max_share: float = P(
        0.25, "-", 0.0, 0.8, "USGS MCS2026: substitutes available but less effective",
        "Largest share of NdFeB demand that can move to ferrite or Ce-rich magnets.")
    ce_magnet_share: float = P(
        0.5, "-", 0.0, 1.0,
        "assumption: Ce-La-substituted NdFeB for motors that keep NdFeB geometry (Toyota "
        "2018, NEDO release 2018-02-20); the rest to ferrite (flux-concentrating ferrite "
        "motors, Widmer et al. 2015, Sustain. Mater. Technol. 3:7-13)",
        "Share of the NdFeB demand moved to substitutes that goes to Ce-rich magnets; the "
        "rest goes to ferrite.")
    ce_nd_replacement: float = P(
        0.5, "-", 0.1, 0.7,
        "Toyota 2018 (NEDO release 2018-02-20): up to 50% of Nd replaced by La and Ce in a "
        "heat-resistant magnet without Dy or Tb",
        "Share of the rare-earth content of a Ce-rich magnet that is La and Ce oxide rather "
        "than Nd and Pr (the rest is standard-grade NdFeB content).")
    ce_la_ratio: float = P(
        0.75, "-", 0.5, 1.0,
        "assumption: Ce-rich (mischmetal-like) La-Ce mix; Ce is about two thirds of "
        "bastnaesite La+Ce (deposits.csv)",
        "Ce share of the La and Ce oxide in a Ce-rich magnet (the rest is La).")
    ferrite_value_loss: float = P(
        0.03, "-", 0.0, 0.2,
        "assumption: ferrite motors reach comparable output with larger, heavier machines "
        "and a few points of efficiency (Widmer et al. 2015; Lee and Abbasian 2025, "
        "Energies 18:2274)",
        "Share of a unit's value lost (recorded as substitution cost) when its NdFeB is "
        "replaced by ferrite.")
    dy_free_max_share: float = P(
        0.5, "-", 0.0, 1.0, "Toyota 2018 Dy/Tb-free magnet (NEDO release)",
        "Largest share of high-temperature-grade demand that can move to Dy-free designs.")
    dy_free_extra_magnet: float = P(
        0.2, "-", 0.0, 1.0,
        "assumption: a Dy-free design makes up lost high-temperature coercivity with more "
        "magnet and cooling (Toyota 2018 needed new grain structures for equal heat "
        "resistance)",
        "Extra standard-grade magnet per kg of high-temperature grade replaced, kg/kg; the "
        "substitute that bounds the derived value of a missing kilogram of HT grade.")
    ht_standin_share: float = P(
        0.2, "-", 0.0, 0.5,
        "assumption: applications with thermal margin can take a derated standard grade at "
        "once (Dy content is chosen for the worst operating temperature; Heim and Vander Wal "
        "2023)",
        "Share of a user's remaining high-temperature-grade use that standard grade (with "
        "dy_free_extra_magnet) can replace within the month when HT grade is short.")
    thrifting_max: float = P(
        0.6, "-", 0.0, 0.9, "grain-boundary diffusion cuts HRE to <0.6% (Heim & Vander Wal 2023)",
        "Largest cut in Dy/Tb per tonne of high-temperature magnet.")
    substitution_lag_months: float = P(
        24.0, "months", 6.0, 120.0,
        "Sprecher et al. 2017 (ES&T 51:3860): substitution and thrifting took out about 10% of "
        "demand a year after 2011; Keilhacker and Minner 2017 (RCR 125:349)",
        "Time constant of adoption of thrifting and substitution towards a higher target "
        "share.")
    design_life_months: float = P(
        84.0, "months", 24.0, 180.0,
        "putty-clay: a design lasts a product generation (vehicle model cycles 5-7 years; "
        "motor platforms longer); assumption",
        "Time constant with which thrifting and substitution unwind towards a lower target "
        "share when prices fall (designs are revised only at a new product generation).")
    substitution_trigger: float = P(
        1.5, "x reference", 1.0, 5.0, "calibration choice",
        "Median price multiple (expected over reference price) at which users adopt "
        "thrifting and substitution (probit adoption, Davies 1979).")
    adoption_dispersion: float = P(
        0.2, "-", 0.05, 0.5,
        "assumption: spread of users' switching thresholds (log units); probit diffusion "
        "model (David 1969; Davies 1979)",
        "Dispersion of switching thresholds: the target share is the largest share times "
        "Phi(ln(price multiple / substitution_trigger) / adoption_dispersion).")
    recycling_share: float = P(
        0.01, "-", 0.0, 0.2, "UNEP IRP 2011: <1% end-of-life recycling rate",
        "Share of end-of-life magnets collected and recycled at the base-year Nd oxide price.")
    recycling_max_collection: float = P(
        0.5, "-", 0.1, 0.9,
        "Sprecher et al. 2014 (ES&T 48:3951): up to 57% of NdFeB in hard disk drives "
        "recoverable with dedicated collection",
        "Largest collection share of end-of-life magnets however high the price.")
    recycling_price_elasticity: float = P(
        0.8, "-", 0.0, 3.0, "assumption",
        "Elasticity of the collected share of end-of-life magnets to the Nd oxide price "
        "(logistic towards recycling_max_collection).")
    magnet_life_years: float = P(
        12.0, "years", 5.0, 25.0,
        "Rademaker, Kleijn and Yang 2013 (ES&T 47:10129): waste flows from lifetimes of hard "
        "disk drives (about 5 yr), vehicles (about 12-15 yr) and wind turbines (20-25 yr); "
        "mix-weighted assumption",
        "Mean life of magnets in products: end-of-life magnets today are the magnet use of "
        "this many years ago.")
    magnet_use_growth_history: float = P(
        0.09, "1/yr", 0.0, 0.2,
        "IEA GCMO 2024: magnet REE demand nearly doubled 2015-2023 (about 9%/yr, "
        "demand_outlook.csv)",
        "Past growth of magnet use, to date end-of-life magnets before the run's own "
        "history (end-of-life flow = use / (1 + g) ** magnet_life_years).")
    # --- governments ------------------------------------------------------------------
    retaliation_threshold: float = P(
        0.25, "-", 0.0, 2.0, "assumption",
        "Tariff gap (fraction) above which a government retaliates by matching the partner.")
    @field_validator("lead_time_mine_years", "lead_time_separation_years",
                     "lead_time_magnet_years")
    @classmethod
    def _range(cls, v, info):
        extra = cls.model_fields[info.field_name].json_schema_extra
        lo, hi = v
        if not extra["low"] <= lo <= hi <= extra["high"]:
            raise ValueError(f"must be [low, high] with {extra['low']} <= low <= high <= "
                             f"{extra['high']} years, got {list(v)}")
        return v

    stockpile_release_multiple: float = P(
        2.0, "x reference", 1.0, 10.0, "assumption",
        "Price multiple above which a stockpiling government releases stock.")


def markdown_table() -> str:
    """The parameter table of docs/ODD.md (name, default, unit, plausible range, source,
    meaning), generated from :class:`Parameters` so the document stays true to the code."""
    lines = ["| parameter | value | unit | range | source | meaning |",
             "| --- | --- | --- | --- | --- | --- |"]
    inst = Parameters()
    for name, f in Parameters.model_fields.items():
        extra = f.json_schema_extra or {}
        value = getattr(inst, name)
        rng = f"{extra.get('low')} to {extra.get('high')}"
        lines.append(f"| `{name}` | {value} | {extra.get('unit', '')} | {rng} | "
                     f"{extra.get('source', '')} | {f.description or ''} |")
    return "\n".join(lines)
