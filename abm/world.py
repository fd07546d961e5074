"""World builder: regions, governments and firms of a base year, from the shipped data.

``build_world(model, scenario)`` creates, for base year 2024 (or 2009/2010):

* one :class:`~agents.government.Government` per region (12 regions);
* miners, refiners and magnet makers from ``firms.csv`` (named firms where the data name
  them; generic rows split over ``n_firms`` firms), capacity = base-year output / base
  utilisation; the project pipeline from ``project_pipeline.csv`` (:func:`build_pipeline`:
  announced projects whose sponsors commit on an NPV test; entrants join at start-up);
* OEMs per region and sector (``demand.csv`` x the base year's sector shares from
  ``sector_mix.csv``, with grade mix, magnet per unit and unit value from ``sectors.csv``),
  defense contractors, non-magnet oxide users and recyclers (feedstock: end-of-life magnets,
  the region's magnet use ``magnet_life_years`` ago); the demand outlook
  (``model.demand_outlook``, :class:`abm.demand.DemandOutlook`);
* stockholders (:mod:`agents.stockholder`): a reserve agency per region in
  :data:`RESERVE_AGENCIES` (and per other region with a ``stockpile`` or ``state_purchase``
  measure), and a speculative stockholder per good of :data:`SPECULATED_GOODS` in each region
  of :data:`SPECULATOR_REGIONS`, whose capital budget
  (``speculator_capital_china_usd``, ``speculator_capital_outside_usd``) is split over the
  goods by the region's base-year use valued at reference prices
  (:func:`allocate_stockholder_capital`, after the base-year use is known).

Calibration (``docs/calibration.md``): base-year magnet demand per grade is scaled to equal
base-year magnet output per grade; non-magnet demand for each oxide is the base-year supply
of that oxide (mine output x composition x recovery, plus recycling) less its use in
magnets, split over regions by ``non_magnet_share``. So the base-year world clears at the
reference prices. The ``firms`` scale splits generic rows further (up to 10,000 firms).

For base year 2010 the 2009 rows are scaled by the USGS world mine output ratio 2010/2009
(mining and separation) and by the sintered-NdFeB world output 2010 (98,200 t,
china.org.cn 2013) over the 2009 magnet rows (magnets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.data import load_table
from abm.demand import DemandOutlook
from abm.goods import ELEMENTS, FEED_CLASSES, GRADES, mag, ox
from abm.investment import (
    TOTAL_CAPACITY_ROWS,
    Pipeline,
    Project,
    capex_intensity,
    pipeline_table,
    project_sizes,
)
from abm.policy import highest_targets
from abm.timeline import WEEKS_PER_MONTH, months_between, to_month
from agents import (
    OEM,
    DefenseContractor,
    Government,
    MagnetMaker,
    Miner,
    NonMagnetUser,
    Recycler,
    Refiner,
    StateReserve,
    Stockholder,
)
from agents.recycler import RE_CONTENT

#: Feed preferences of non-Chinese separators (weight multipliers on crackable feeds):
#: Lynas treats Mt Weld concentrate, MP its own bastnaesite, IREL Indian monazite.
FEED_AFFINITY = {
    ("MY", "mt_weld"): 20.0,
    ("US", "bastnaesite"): 20.0,
    ("IN", "monazite"): 20.0,
    ("EU", "monazite"): 3.0,
    ("VN", "monazite"): 5.0,
    ("ROW", "monazite"): 5.0,
    ("AU", "mt_weld"): 20.0,
    ("CN", "bayan_obo"): 3.0,
    ("CN", "ionic_clay"): 3.0,
}

#: Pipeline statuses of projects whose feasibility study is done: a mine project of these
#: draws its lead time from ``lead_time_mine_after_feasibility_years``.
PAST_FEASIBILITY = ("feasibility", "committed", "construction")
#: Reserve agencies created in every run (they act only under a mandate of the scenario).
RESERVE_AGENCIES = {
    "CN": "China state reserve (National Food and Strategic Reserves "
    "Administration; MIIT reserve purchases)",
    "US": "Defense Logistics Agency (National Defense Stockpile)",
    "JP": "JOGMEC (national stockpile of rare metals)",
    "KR": "KOMIR (Public Procurement Service stockpile)",
    "EU": "EU strategic stockpile (member states, RESourceEU)",
}
#: Goods held by speculative stockholders (the magnet oxides traded in 2010-11).
SPECULATED_GOODS = ("ox_Nd", "ox_Pr", "ox_Dy", "ox_Tb")
#: Regions with speculative stockholders: China's funds and traders (Xinhua 2011-03-30) and
#: the trading houses of Japan, the largest importer (AP 2010: half of China's shipments).
SPECULATOR_REGIONS = ("CN", "JP")

RECYCLED_MIX = {"ox_Nd": 0.7, "ox_Pr": 0.22, "ox_Dy": 0.07, "ox_Tb": 0.01}
SECTORS = ("ev", "wind", "electronics", "industrial")


def _data_year(base_year: int) -> int:
    return 2024 if base_year >= 2015 else 2009


def _year_factors(base_year: int) -> dict[str, float]:
    """Scale of the data rows to the base year, per stage."""
    if base_year != 2010:
        return {"mining": 1.0, "separation": 1.0, "magnets": 1.0}
    usgs = load_table("mine_production.csv")
    world = usgs[usgs["country"] == "World"].set_index("year")["tonnes_reo"]
    ratio = float(world.loc[2010]) / float(world.loc[2009])
    firms = load_table("firms.csv")
    mag_2009 = firms[(firms["base_year"] == 2009) & (firms["stage"] == "magnets")]
    return {
        "mining": ratio,
        "separation": ratio,
        "magnets": 98200.0 / float(mag_2009["base_output_t_per_yr"].sum()),
    }


#: sector_mix.csv sector of each model sector
MIX_SECTOR = {
    "ev": "ev",
    "wind": "wind",
    "electronics": "electronics",
    "industrial": "industrial_other",
}


def sector_shares(data_year: int) -> dict[str, float]:
    """Shares of civil magnet demand by model sector in a base year's data (2009 or 2024),
    from ``sector_mix.csv``: the 2009 rows for 2009 (DOE 2010: EV and wind 12.5% of Nd in
    magnets, split evenly; electronics and industrial in the 2023 ratio), the 2023 rows
    (IEA GCMO 2024: EV 7%, wind 11%; Heim & Vander Wal 2023: electronics 30%; industrial
    and other 52%) for 2024. Normalised to sum to 1.

    Raises:
        ValueError: a sector's row is missing for that year.
    """
    mix = load_table("sector_mix.csv")
    year = 2009 if data_year < 2015 else 2023
    rows = mix[(mix["year"] == year) & mix["sector"].isin(list(MIX_SECTOR.values()))]
    got = dict(zip(rows["sector"], rows["share"], strict=True))
    missing = [m for m in MIX_SECTOR.values() if m not in got]
    if missing:
        raise ValueError(
            f"sector_mix.csv: no share for year {year}, sector(s) {missing}; "
            f"need {sorted(MIX_SECTOR.values())}"
        )
    total = sum(got[m] for m in MIX_SECTOR.values())
    return {s: got[m] / total for s, m in MIX_SECTOR.items()}


def _split_counts(rows, target: int | None, fixed: int) -> list[int]:
    counts = [int(n) for n in rows["n_firms"]]
    generic = [i for i, name in enumerate(rows["firm"]) if not (isinstance(name, str) and name)]
    if target is None or not generic:
        return counts
    base_generic = sum(counts[i] for i in generic)
    want = max(target - fixed - (sum(counts) - base_generic), len(generic))
    k = want / base_generic
    out = list(counts)
    for i in generic:
        out[i] = max(1, round(counts[i] * k))
    # fix rounding so the total hits the target exactly where possible
    diff = want - sum(out[i] for i in generic)
    order = sorted(generic, key=lambda i: -counts[i])
    j = 0
    while diff != 0 and order:
        i = order[j % len(order)]
        step = 1 if diff > 0 else -1
        if out[i] + step >= 1:
            out[i] += step
            diff -= step
        j += 1
        if j > 100000:
            break
    return out


def build_world(model, scenario) -> None:
    """Create all agents of the base-year world on ``model``.

    Raises:
        DataError: a data file fails validation.
        ValueError: the requested firm count cannot be met (fewer than the named firms).
    """
    cat = model.catalog
    par = scenario.parameters
    year = _data_year(scenario.base_year)
    factors = _year_factors(scenario.base_year)
    start = to_month(scenario.start)
    firms = load_table("firms.csv")
    firms = firms[firms["base_year"] == year].reset_index(drop=True)
    demand = load_table("demand.csv")
    demand = demand[demand["base_year"] == year]
    sectors = load_table("sectors.csv").set_index("sector")

    model.demand_outlook = DemandOutlook(par.demand_outlook_scale)
    mix_shares = sector_shares(year)
    for code in model.region_codes:
        Government(model, code)
    mandated = {m.actor for m in scenario.measures if m.kind in ("stockpile", "state_purchase")}
    reserves = [c for c in model.region_codes if c in RESERVE_AGENCIES or c in mandated]
    n_stock = len(reserves) + len(SPECULATOR_REGIONS) * len(SPECULATED_GOODS)

    # ---------------------------------------------------------------- end-use counts
    mag_dem = demand[demand["sector"] == "magnets"]
    def_dem = demand[demand["sector"] == "defense"]
    nm_share = demand[demand["sector"] == "non_magnet_share"]
    n_end_use = (
        len(mag_dem) * len(SECTORS)
        + len(def_dem)
        + len(nm_share)
        + int((mag_dem["quantity"] >= 1000).sum())
    )
    fixed = n_end_use + n_stock
    counts = _split_counts(firms, scenario.firms, fixed)
    if scenario.firms is not None and scenario.firms < fixed + len(firms):
        raise ValueError(
            f"firms={scenario.firms} is below the minimum {fixed + len(firms)} for base year {year}"
        )

    # ---------------------------------------------------------------- producers
    mined = np.zeros(len(ELEMENTS))
    mag_out = {g: 0.0 for g in GRADES}
    u0 = par.base_utilisation
    for (_, r), n in zip(firms.iterrows(), counts, strict=True):
        total = r["base_output_t_per_yr"] * factors[r["stage"]]
        for k in range(n):
            name = (
                r["firm"]
                if isinstance(r["firm"], str) and r["firm"]
                else f"{model.region_names[r['region']]} {r['stage']} firm"
            )
            if n > 1:
                name = f"{name} #{k + 1}"
            out = total / n
            cap = out / par.utilisation_of(r["stage"])
            if r["stage"] == "mining":
                f = Miner(model, name, r["region"], r["product"], cap, r["unit_cost_usd_kg"])
                f.stock(f.good).add(out / 12, f.china_origin, f.china_origin)
                f.output_month[f.good] = out / 12
                mined += out * cat.content[f.good] * par.separation_recovery
            elif r["stage"] == "separation":
                feeds = r["product"].split(";")
                w = {}
                for fc in feeds:
                    for d in FEED_CLASSES[fc]:
                        w[d] = FEED_AFFINITY.get((r["region"], d), 1.0)
                separates, heavy_from = _row_circuit(r)
                f = Refiner(
                    model,
                    name,
                    r["region"],
                    feeds,
                    cap,
                    r["unit_cost_usd_kg"],
                    w,
                    separates=separates,
                    heavy_from=heavy_from,
                )
            else:
                ht = r["ht_share"] if r["ht_share"] is not None else 0.5
                f = MagnetMaker(
                    model, name, r["region"], r["product"], cap, r["unit_cost_usd_kg"], ht
                )
                for g, share in f.mix.items():
                    mag_out[cat.goods[g][4:]] += out * share
            model.initial_firms.append(f)

    # ---------------------------------------------------------------- magnet demand
    dem_grade = {g: 0.0 for g in GRADES}
    plans = []
    for _, r in mag_dem.iterrows():
        for s in SECTORS:
            row = sectors.loc[s]
            t_yr = r["quantity"] * mix_shares[s] * factors["magnets"]
            mix = {"ndfeb_ht": row["ht_fraction"], "smco": row["smco_fraction"]}
            mix["ndfeb_std"] = 1 - mix["ndfeb_ht"] - mix["smco"]
            plans.append((OEM, r["region"], s, t_yr, mix, row))
    for _, r in def_dem.iterrows():
        row = sectors.loc["defense"]
        mix = {"ndfeb_ht": row["ht_fraction"], "smco": row["smco_fraction"]}
        mix["ndfeb_std"] = 1 - mix["ndfeb_ht"] - mix["smco"]
        plans.append(
            (
                DefenseContractor,
                r["region"],
                "defense",
                r["quantity"] * factors["magnets"],
                mix,
                row,
            )
        )
    for _, _, _, t_yr, mix, _ in plans:
        for g, v in mix.items():
            dem_grade[g] += t_yr * v
    scale = {g: (mag_out[g] / dem_grade[g] if dem_grade[g] > 0 else 0.0) for g in GRADES}
    magnet_use = np.zeros(len(ELEMENTS))
    for g in GRADES:
        magnet_use += mag_out[g] * cat.content[cat.index[mag(g)]]
    for cls, region, sector, t_yr, mix, row in plans:
        kg = row["kg_magnet_per_unit"]
        recipe = {mag(g): kg / 1000.0 * v * scale[g] for g, v in mix.items() if v > 0}
        units = t_yr * 1000.0 / kg / 12.0
        name = f"{model.region_names[region]} {sector} {'makers' if cls is OEM else 'contractors'}"
        f = cls(model, name, region, sector, units, recipe, row["unit_value_usd"])
        for g, a in f.recipe0.items():
            f.stock(g).add(units * a * f.target_weeks() / WEEKS_PER_MONTH, 0.0, 0.0)
        model.initial_firms.append(f)

    # ---------------------------------------------------------------- recyclers
    recycled = np.zeros(len(ELEMENTS))
    for _, r in mag_dem.iterrows():
        if r["quantity"] < 1000:
            continue
        use = r["quantity"] * factors["magnets"]
        eol = use * (1 + par.magnet_use_growth_history) ** -par.magnet_life_years
        out = par.recycling_share * eol * RE_CONTENT
        f = Recycler(
            model,
            f"{model.region_names[r['region']]} magnet recyclers",
            r["region"],
            out / u0,
            15.0,
            RECYCLED_MIX,
            magnet_use=use,
        )
        for g, share in RECYCLED_MIX.items():
            recycled[ELEMENTS.index(g[3:])] += out * share
        model.initial_firms.append(f)

    # ---------------------------------------------------------------- non-magnet demand
    supply = mined + recycled
    residual = np.maximum(supply - magnet_use, 0.02 * supply)
    total_share = nm_share["quantity"].sum()
    basket = residual / residual.sum()
    basket_value = (
        float(sum(basket[i] * cat.ref_price[cat.index[ox(e)]] for i, e in enumerate(ELEMENTS)))
        * 1000
    )
    for _, r in nm_share.iterrows():
        share = r["quantity"] / total_share
        units = residual.sum() * share / 12.0  # t REO per month
        recipe = {ox(e): basket[i] for i, e in enumerate(ELEMENTS) if basket[i] > 0}
        f = NonMagnetUser(
            model,
            f"{model.region_names[r['region']]} non-magnet users",
            r["region"],
            "non_magnet",
            units,
            recipe,
            basket_value,
        )
        for g, a in f.recipe0.items():
            f.stock(g).add(units * a * par.inventory_target_weeks / WEEKS_PER_MONTH, 0.0, 0.0)
        model.initial_firms.append(f)
    _calibrate_feed_weights(model)

    # ---------------------------------------------------------------- stockholders
    # created last, so the firms keep the ids (and review months) they had without them
    for code in reserves:
        StateReserve(
            model, code, RESERVE_AGENCIES.get(code, f"{model.region_names[code]} state reserve")
        )
    for code in SPECULATOR_REGIONS:
        for g in SPECULATED_GOODS:
            Stockholder(
                model,
                f"{model.region_names[code]} speculative stockholders ({g[3:]} oxide)",
                code,
                cat.index[g],
                0.0,
            )
    model.pipeline = build_pipeline(model, scenario, start)
    model.base_balance = {
        "mined_oxide_t_yr": mined,
        "magnet_use_t_yr": magnet_use,
        "recycled_t_yr": recycled,
        "non_magnet_t_yr": residual,
    }


def allocate_stockholder_capital(model) -> None:
    """Set each speculative stockholder's capital budget, USD: its region's budget
    (``speculator_capital_china_usd`` for China, ``speculator_capital_outside_usd`` for each
    other region) times the good's share of the region's base-year use of
    :data:`SPECULATED_GOODS` valued at reference prices (``model.base_use``)."""
    cat, par = model.catalog, model.params
    for code in SPECULATOR_REGIONS:
        r = model.region_index[code]
        idx = [cat.index[g] for g in SPECULATED_GOODS]
        value = {g: model.base_use[g, r] * cat.ref_price[g] for g in idx}
        total = sum(value.values())
        budget = (
            par.speculator_capital_china_usd if code == "CN" else par.speculator_capital_outside_usd
        )
        for a in model.agents_by_type.get(Stockholder, []):
            if a.region == code:
                a.capital_usd = budget * (value[a.good] / total if total > 0 else 1.0 / len(idx))


def _unit_cost(firms_all, year: int, sponsor: str, stage: str, region: str, product: str) -> float:
    """Cash cost of an entrant, USD/kg: the sponsor's own row in ``firms.csv`` (any base
    year; same stage and region), else the median of the data year's rows of the same
    stage and region, else of the same stage outside China (magnets: same product).

    ``firms_all``: the ``firms.csv`` table (a DataFrame, or its rows as dicts in file order,
    :func:`_firm_rows`, which callers pricing many entrants build once)."""
    rows = _firm_rows(firms_all) if isinstance(firms_all, pd.DataFrame) else firms_all
    f = [r for r in rows if r["stage"] == stage and (stage != "magnets" or r["product"] == product)]
    own = [r for r in f if r["region"] == region and r["firm"].startswith(sponsor)]
    if own:
        return float(own[-1]["unit_cost_usd_kg"])
    fy = [r for r in f if r["base_year"] == year]
    same = [r for r in fy if r["region"] == region]
    return _median_cost(same if same else [r for r in fy if r["region"] != "CN"])


def _row_circuit(row) -> tuple:
    """``(separates, heavy_from)`` of a ``firms.csv`` separation row: ``"all"`` or
    ``"light"``, and the month its heavy circuit starts (``pandas.Period``) or None."""
    heavy = row["heavy_circuit_from"]
    return row["separates"], None if pd.isna(heavy) else heavy


def _circuit(firms_all: list[dict], firm: str, region: str, feeds: list[str]) -> tuple:
    """Separation circuit of a pipeline entrant, ``(separates, heavy_from)``: the firm's own
    separation row in ``firms.csv`` (any base year, the last in file order; Lynas' plant
    enters the 2009 world from the pipeline but had no heavy circuit until May 2025), else
    every element in China or when the pipeline row names a heavy circuit (``light;heavy``),
    else the light elements only (Energy Fuels' White Mesa phase 1: NdPr)."""
    own = [
        f
        for f in firms_all
        if f["stage"] == "separation" and f["region"] == region and f["firm"].startswith(firm)
    ]
    if own:
        return _row_circuit(own[-1])
    return ("all" if region == "CN" or "heavy" in feeds else "light"), None


def _firm_rows(firms_all: pd.DataFrame) -> list[dict]:
    """The columns of ``firms.csv`` that :func:`_unit_cost` reads, as dicts in file order;
    a missing firm name or product reads as ``""``."""
    cols = [
        "stage",
        "product",
        "region",
        "firm",
        "base_year",
        "unit_cost_usd_kg",
        "separates",
        "heavy_circuit_from",
    ]
    rows = firms_all[cols].to_dict("records")
    for r in rows:
        for k in ("stage", "product", "region", "firm"):
            if not isinstance(r[k], str):
                r[k] = ""
    return rows


def _median_cost(rows: list[dict]) -> float:
    """Median ``unit_cost_usd_kg`` of ``rows``, missing values skipped (as pandas'
    ``Series.median``), NaN when none."""
    v = np.array([r["unit_cost_usd_kg"] for r in rows], dtype=float)
    v = v[~np.isnan(v)]
    return float(np.median(v)) if len(v) else float("nan")


def build_pipeline(model, scenario, start) -> Pipeline:
    """The run's project pipeline from ``project_pipeline.csv``
    (:func:`abm.investment.pipeline_table`; docs/ODD.md 7.13).

    A row enters the run when its earliest start is at or after the run's start (earlier
    ones are the base-year firms of ``firms.csv``), or, without an earliest start, when it
    is not an operating plant; its earliest start is then its announcement (or the run's
    start) plus a lead time drawn for its stage (:meth:`agents.base.Firm.lead_time_months`;
    a mine project past its feasibility study, :data:`PAST_FEASIBILITY`, draws the shorter
    commitment-to-production range).
    Its sponsor is the base-year firm of the same stage and region whose name starts with
    the row's firm (brownfield), else a new agent of the stage's class built now and
    removed from the model until start-up (entry). Capital cost: the row's, else the
    stage's median intensity x capacity.
    """
    feed_of = {}
    for (region, dep), w in FEED_AFFINITY.items():
        if w > FEED_AFFINITY.get((region, feed_of.get(region, "")), 0.0):
            feed_of[region] = dep
    table = pipeline_table(feed_of)
    intensity = capex_intensity(table)
    sizes = project_sizes(table)
    firms_all = _firm_rows(load_table("firms.csv"))
    year = _data_year(scenario.base_year)
    cls = {"mining": Miner, "separation": Refiner, "magnets": MagnetMaker}
    projects = []
    for r in table.sort_values("project_id", kind="stable").to_dict("records"):
        for k in ("earliest_start", "announced", "decided"):
            if r[k] is not None and pd.isna(r[k]):
                r[k] = None
        if r["earliest_start"] is None and r["project_status"] == "operating":
            continue
        if r["earliest_start"] is not None and r["earliest_start"] < start:
            continue
        visible = max(months_between(start, r["announced"]), 0) if r["announced"] else 0
        sponsor = next(
            (
                a
                for a in model.agents_by_type.get(cls[r["stage"]], [])
                if a.region == r["region"] and a.name.startswith(r["firm"])
            ),
            None,
        )
        if r["earliest_start"] is not None:
            earliest = months_between(start, r["earliest_start"])
        else:
            probe = sponsor or next(iter(model.agents_by_type[cls[r["stage"]]]))
            earliest = visible + probe.lead_time_months(
                past_feasibility=r["project_status"] in PAST_FEASIBILITY
            )
        name = f"{r['firm']} ({r['project']})"
        if sponsor is None:
            cost = _unit_cost(firms_all, year, r["firm"], r["stage"], r["region"], r["product"])
            if r["stage"] == "mining":
                agent = Miner(model, name, r["region"], r["product"], 0.0, cost)
                agent.integrated = True  # valued at its netback (Miner.netback_margin)
            elif r["stage"] == "separation":
                feeds = r["product"].split(";")
                w = {
                    d: FEED_AFFINITY.get((r["region"], d), 1.0)
                    for fc in feeds
                    for d in FEED_CLASSES[fc]
                }
                separates, heavy_from = _circuit(firms_all, r["firm"], r["region"], feeds)
                agent = Refiner(
                    model,
                    name,
                    r["region"],
                    feeds,
                    0.0,
                    cost,
                    w,
                    separates=separates,
                    heavy_from=heavy_from,
                )
            else:
                agent = MagnetMaker(model, name, r["region"], "ndfeb", 0.0, cost, 0.5)
            agent.plant = r["project_id"]
            agent.active = False
            model.deregister_agent(agent)
        else:
            agent = sponsor
        capex = (
            r["capex_usd"]
            if np.isfinite(r["capex_usd"])
            else (intensity[r["stage"]] * r["capacity_t_per_yr"])
        )
        projects.append(
            Project(
                pid=r["project_id"],
                sponsor=r["firm"],
                name=name,
                stage=r["stage"],
                region=r["region"],
                product=r["product"],
                capacity=r["capacity_t_per_yr"],
                capex=float(capex),
                visible=visible,
                earliest=max(earliest, visible),
                total=r["project_id"] in TOTAL_CAPACITY_ROWS,
                sunk=r["decided"] is not None and r["decided"] < start,
                source=r["source"],
                new_firm=sponsor is None,
                agent=agent,
            )
        )
    return Pipeline(projects, intensity, sizes)


def initial_stocks(model) -> None:
    """Fill intermediate input and output stocks to their base-year targets.

    Initial origin shares, since the base-year world has no history (China's own firms: 1):
    China-mined ``cm`` = the base-year China share of mining; China-any-stage ``ca`` = the
    China share of mining for concentrates and refiners' oxides, of separation for magnet
    makers' finished magnets and OEMs' oxides, of magnets for OEMs' magnets.
    """
    cat = model.catalog
    sh = model.base_china_share
    # processors' input stocks at their target cover (the cover they bid for)
    cover = model.params.inventory_target_weeks / WEEKS_PER_MONTH
    for f in model.initial_firms:
        cn = f.region == "CN"
        if isinstance(f, OEM):
            for g, s in f.stocks.items():
                stage = "magnets" if cat.goods[g].startswith("mag_") else "separation"
                s.cm = 1.0 if cn else sh["mining"]
                s.ca = 1.0 if cn else sh[stage]
        if isinstance(f, Refiner):
            plan = f.planned_throughput()
            for w, g in zip(f.feed_weights, f.feed_goods, strict=True):
                o = 1.0 if cn else sh["mining"]
                f.stock(g).add(cover * plan * w, o, o)
            comp = sum(
                w * cat.content[g] for w, g in zip(f.feed_weights, f.feed_goods, strict=True)
            )
            for i, g in enumerate(f.oxide_goods):
                q = plan * comp[i] * f.separated[i] * model.params.separation_recovery
                if q > 0:
                    o = 1.0 if cn else sh["mining"]
                    f.stock(g).add(q, o, 1.0 if cn else o)
                    f.output_month[g] = q
        elif isinstance(f, MagnetMaker):
            for g, q in f.planned_output().items():
                o = 1.0 if cn else sh["mining"]
                f.stock(g).add(q, o, 1.0 if cn else sh["separation"])
                f.output_month[g] = q
                for og, a in f.recipe(g).items():
                    f.stock(og).add(cover * q * a, o, 1.0 if cn else sh["separation"])


def initial_stockpiles(model) -> None:
    """Fill the stockpiles built before the run (``stockpile`` measures with
    ``held_at_start``) to their targets: ``target_months`` x the region's base-year use
    (``model.base_use``, t/month) of each good, held by the region's reserve agency, with
    the base-year China shares of the stage that made the good (as :func:`initial_stocks`).
    """
    sh = model.base_china_share
    cat = model.catalog
    targets = highest_targets(
        (
            (m.actor, m.goods, m.target_months)
            for m in model.spec.measures
            if m.kind == "stockpile" and m.held_at_start
        ),
        cat,
    )
    if not targets:
        return
    agency = {a.region: a for a in model.agents_by_type.get(StateReserve, [])}
    for region, held in targets.items():
        for g, months in held.items():
            q = months * model.base_use[g, model.region_index[region]]
            if q > 0:
                stage = "magnets" if cat.goods[g].startswith("mag_") else "separation"
                agency[region].stock(g).add(q, sh["mining"], sh[stage])


def _calibrate_feed_weights(model) -> None:
    """Base-year feed mix of separators that absorbs the base-year concentrate supply.

    Separation capacities are scaled so base-year throughput equals base-year mine output
    (so concentrate neither piles up nor runs short), then each deposit's supply is assigned
    to the plants able to crack it by a small transport problem (scipy HiGHS) that prefers
    the affinities of FEED_AFFINITY (Lynas takes Mt Weld concentrate, MP its own, ...).
    """
    from scipy.optimize import linprog

    cat = model.catalog
    u0 = model.params.base_utilisation
    supply: dict[int, float] = {}
    for m in model.agents_by_type.get(Miner, []):
        supply[m.good] = supply.get(m.good, 0.0) + m.capacity * u0
    refiners = [r for r in model.agents_by_type.get(Refiner, []) if r.capacity > 0]
    total_tp = sum(r.capacity * u0 for r in refiners)
    k = sum(supply.values()) / total_tp
    for r in refiners:
        r.capacity *= k
    pairs = [(i, g) for i, r in enumerate(refiners) for g in r.feed_goods if supply.get(g, 0) > 0]
    cost = [
        -np.log(FEED_AFFINITY.get((refiners[i].region, cat.goods[g][5:]), 1.0)) for i, g in pairs
    ]
    goods = sorted(supply)
    A = np.zeros((len(refiners) + len(goods), len(pairs)))
    b = np.zeros(len(refiners) + len(goods))
    for j, (i, g) in enumerate(pairs):
        A[i, j] = 1.0
        A[len(refiners) + goods.index(g), j] = 1.0
    for i, r in enumerate(refiners):
        b[i] = r.capacity * u0
    for gi, g in enumerate(goods):
        b[len(refiners) + gi] = supply[g]
    res = linprog(cost, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    if res.status != 0:
        raise ValueError(f"base-year feed allocation infeasible: {res.message}")
    for i, r in enumerate(refiners):
        x = (
            np.array(
                [
                    res.x[j] if pairs[j][0] == i and pairs[j][1] == g else 0.0
                    for g in r.feed_goods
                    for j in range(len(pairs))
                ]
            )
            .reshape(len(r.feed_goods), len(pairs))
            .sum(axis=1)
        )
        w = x / x.sum() if x.sum() > 0 else np.full(len(x), 1.0 / len(x))
        r.calibrate(w)
