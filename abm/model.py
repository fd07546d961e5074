"""The rare-earth supply-chain model (a Mesa ``Model``); one step is one month.

Step order (docs/ODD.md "Process overview"):

1. policy: scheduled measures and levers in force this month; governments' endogenous rules;
2. expectations: the mine plan and the supply news of each element
   (:meth:`abm.policy.PolicyState.update_supply_news`); then firms update expected prices
   and perceived supply risk;
3. orders: reserve agencies (mandates) and speculative stockholders (storage rule) post
   their orders with the firms' offers (stock on hand) and bids (use plus inventory gap);
4. licences: each buyer's applications on licensed arcs are decided; its approved volume
   is a capacity of its own on those arcs;
5. market clearing per good as one spatial price equilibrium (:mod:`abm.market`);
6. production along the chain from inputs on hand; OEM and defense lines short of magnets
   stop and count lost output;
7. adaptation: investment (NPV test; projects start up and ramp up; the project pipeline
   commits and new firms enter, :mod:`abm.investment`), mothballing and exit on cash,
   thrifting and substitution, recycling;
8. data collection (:func:`abm.metrics.record_month` writes the tidy table; the Mesa
   DataCollector reads the headline series from it).

Example::

    from abm.model import RareEarthModel
    m = RareEarthModel("controls-2025", seed=1)
    m.run()                      # to the scenario horizon
    df = m.timeseries()          # tidy long table
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from abm.accounts import Accounts, floor_payment
from abm.data import check_tables
from abm.goods import ELEMENTS, STAGES, catalog, stage_of
from abm.licences import Claims
from abm.longrun import capital_charge, marginal_cost_ratios
from abm.market import ArcTerms, Holdings, OrderBook, clear
from abm.metrics import Recorder, headline_reporters, headline_values, record_month
from abm.policy import PolicyState
from abm.regions import CHINA, regions, transport_matrix
from abm.scenario import Scenario, apply_overrides, keyword_overrides, load_scenario
from abm.sourcing import SupplierRelations
from abm.timeline import check_months, to_month
from abm.treasury import GroupTreasury
from abm.world import (
    allocate_stockholder_capital,
    build_world,
    initial_stockpiles,
    initial_stocks,
)
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
from agents.base import Firm
from agents.refiner import hand_over_mixed_heavies

PRODUCER_TYPES = (Miner, Refiner, MagnetMaker, Recycler)


class RareEarthModel(mesa.Model):
    """Global rare-earth supply chain under export controls and tariffs.

    Args:
        scenario: a shipped scenario name (``"baseline"``, ``"controls-2025"``, ...), a path
            to a TOML file, or a :class:`~abm.scenario.Scenario`.
        seed: int, :class:`numpy.random.SeedSequence` or None; every random draw comes from
            the model's numpy generator ``rng`` seeded with it, except the random activation
            order (Mesa ``shuffle_do``), which uses Mesa's ``model.random`` seeded from the
            same seed. None (what ``mesa.batch_run`` passes with ``iterations``) takes Mesa's
            own seeding from OS entropy; ``model.seed`` then records the entropy, and
            ``seed=np.random.SeedSequence(model.seed)`` repeats the run.
        months: number of months to run with :meth:`run`, 1 to the scenario horizon
            (default: the horizon);
            ``running`` turns False when they are done, so ``mesa.batch_run`` and
            ``run_model`` stop there.
        overrides: dotted-path overrides (``{"levers.us_tariff_on_china": 1.0}``).
        **values: further overrides as keywords: a lever or parameter name
            (``us_tariff_on_china=1.0``, ``armington_elasticity=2.0``), ``firms``, ``end``, or a
            dotted path (``**{"parameters.licence_review_months": 2.0}``; a name that is both
            a lever and a parameter must be given that way), as in
            ``mesa.batch_run(RareEarthModel, parameters={"scenario": "controls-2025",
            "approval_rate_us": [0.1, 0.5]}, iterations=2)``.

    Attributes:
        steps: Mesa's step counter, the number of months simulated (Mesa increments it
            before calling :meth:`step`); :attr:`month_index` is the month being simulated.

    Raises:
        ScenarioError: invalid scenario or override.
        TypeError: an unknown keyword (the line suggests the closest allowed ones).
        ValueError: ``months`` not a whole number from 1 to the horizon, or a bad ``seed``.
        DataError: invalid calibration data.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = "controls-2025",
        *,
        seed=0,
        months: int | None = None,
        overrides: dict | None = None,
        **values,
    ):
        if seed is None:
            rng = None  # Mesa's own seeding: fresh OS entropy through numpy's SeedSequence
        elif isinstance(seed, np.random.SeedSequence):
            rng = np.random.default_rng(seed)
        else:
            if isinstance(seed, bool) or not float(seed).is_integer() or int(seed) < 0:
                raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
            rng = int(seed)
        overrides = keyword_overrides(overrides, values)  # before any work
        super().__init__(rng=rng)
        # the seed that reproduces the run: the int given, else the entropy of the
        # generator's SeedSequence (seed=np.random.SeedSequence(model.seed) repeats it)
        self.seed = (
            int(self.rng.bit_generator.seed_seq.entropy)
            if seed is None
            else seed.entropy
            if isinstance(seed, np.random.SeedSequence)
            else seed
        )
        self._stepping = False
        # every data table checked before any work (cached per process), and before the
        # scenario, whose measures name firms and regions of the tables: a broken table is
        # reported as itself, not as the measures it breaks
        check_tables()
        sc = apply_overrides(load_scenario(scenario), overrides)
        self.spec = sc
        self.params = sc.parameters
        self.levers = sc.levers
        self.catalog = catalog(sc.base_year, self.params.concentrate_payability)
        tab = regions()
        self.region_codes = tab.codes
        self.region_names = tab.names
        self.region_index = {c: i for i, c in enumerate(tab.codes)}
        self.elements = ELEMENTS
        self.start = to_month(sc.start)
        self.horizon = sc.months
        self.months = check_months(sc, months, minimum=1)
        if (never := sc.levers_never_apply(self.months)) is not None:
            # ``ree run`` refuses this run; the API runs it, as a sweep's short runs may,
            # but says so
            need, gated = never
            warnings.warn(
                f"levers.start {sc.levers.start} comes after this run's last month, so the "
                f"levers set ({', '.join(gated)}) never apply; run at least {need} months",
                stacklevel=2,
            )
        G, R = len(self.catalog.goods), len(tab.codes)
        self.G, self.R = G, R
        self.transport = np.stack([transport_matrix(stage_of(g)) for g in self.catalog.goods])
        self.observed_price = np.tile(self.catalog.ref_price[:, None], (1, R)).astype(float)
        self.origin_price = self.observed_price.copy()
        self.defense_price = self.observed_price.copy()
        self.policy = PolicyState(sc, self.catalog, tab.codes, tab.allied)
        par = self.params
        qual = {
            "mining": par.qualification_months_concentrates,
            "separation": par.qualification_months_oxides,
            "magnets": par.qualification_months_magnets,
        }
        self.relations = SupplierRelations(
            G,
            R,
            sigma=par.armington_elasticity,
            border_cost=par.border_cost,
            qualification_months=[qual[stage_of(g)] for g in self.catalog.goods],
            adjust_months=par.contract_adjust_months,
            cover=par.contract_cover,
            index_months=par.contract_index_months,
            risk_premium=par.supply_risk_premium,
            risk_months=par.risk_decay_months,
            customer_share=par.customer_market_share,
        )
        self.spot_price = np.full((G, R, 2), np.nan)
        #: (G, R) contract price index of each origin this month's contracts traded at,
        #: USD/kg FOB (:attr:`abm.sourcing.SupplierRelations.index` at clearing)
        self.contract_price = np.full((G, R), np.nan)
        # (G,) long-run benchmark price of each good (the world benchmark smoothed over
        # price_anchor_months), USD/kg, and its value when the new trade instruments in
        # force were adopted (None while none is): benchmark_growth
        self.benchmark_anchor = np.full(G, np.nan)
        self._benchmark_at_change: np.ndarray | None = None
        #: (G,) for each good, the bound entry puts on its long-run price: for an oxide, the
        #: largest factor by which entry of a producing mine's kind would move its price
        #: until the mine just covers its full cost; for a concentrate, its oxide content at
        #: the bounded prices over its value (at last month's world benchmark prices,
        #: :meth:`_marginal_cost_ratios`); NaN: no bound (all NaN before the first clearing)
        self.marginal_cost_ratios = np.full(G, np.nan)
        # (G,) last finite world benchmark of each good, USD/kg (the marginal mine's basket)
        self._cost_benchmark = np.full(G, np.nan)
        self.events: list[dict] = []
        self._supply_line: dict[tuple[int, str], list[float]] = {}
        self._denial_risk: dict[str, float] = {}
        self.region_short: dict[str, bool] = {}
        self.initial_firms: list = []
        self.treasury = GroupTreasury()  # companies' units (abm/treasury.py)
        self.fiscal_cost: dict[tuple[str, str], float] = {}  # (region, instrument) -> USD
        self.produced = np.zeros(G)
        self.consumed = np.zeros(G)
        self.lost = np.zeros(len(ELEMENTS))
        self.recorder = Recorder()
        self.last_flows = np.zeros((G, R, R, 2))
        self.last_clearing = None
        build_world(self, sc)
        self.base_china_share = self._base_shares()
        initial_stocks(self)
        self.base_use = self._base_use()
        initial_stockpiles(self)
        self.initial_stock = self.total_stock()
        # highest derived-demand value a buyer declared per good last month, USD/kg (the
        # choke price of its demand; OrderBook.note_value)
        self.choke_price = np.zeros(G)
        allocate_stockholder_capital(self)
        for f in self.agents:
            if hasattr(f, "expansion_margin"):
                f.base_margin = f.expansion_margin()
        self.datacollector = mesa.DataCollector(model_reporters=headline_reporters())
        self._headline: dict[str, float] = {}
        self._warm_up_prices()
        self.accounts = Accounts(self)
        # log the measures already in force at the start; they are the status quo, not
        # news: step 0's refresh clears the risk their announcement would raise
        self.policy.refresh(0, log=self.log_event)

    def _warm_up_prices(self, rounds: int = 3) -> None:
        """Set initial regional prices and expectations to a trial clearing of the base-year
        order book (no goods move), so importing regions start at landed cost rather than
        at the origin reference price."""
        for _ in range(rounds):
            book = OrderBook(self.G, self.R)
            for a in self.agents:
                if hasattr(a, "post_orders") and not isinstance(a, Government):
                    a.post_orders(book)
            terms = self.policy.terms(self.transport, np.zeros(self.policy.shape, dtype=bool))
            res = clear(book, terms, self.origin_price)
            self._observe(res)
            for a in self.agents:
                for g in list(a.exp_price):
                    a.exp_price[g] = float(a.observed(g))
                a.anchor_price = dict(a.exp_price)
        for a in self.agents:
            a.set_base_prices(a.exp_price)  # each firm's base-year prices (Firm.base_price)
        self.policy.observe_supply(res.flows, self.origin_price, res.smuggled)  # (exposure)
        # supplier relationships: every origin offering supply in the base year is
        # qualified; contract indices start at the trial clearing's origin prices
        off = book.offer_array()
        supply = np.bincount(
            off[:, 0].astype(np.int64) * self.R + off[:, 1].astype(np.int64),
            weights=off[:, 2],
            minlength=self.G * self.R,
        ).reshape(self.G, self.R)
        rel = self.relations
        rel.index = np.where(supply > 0, self.origin_price, np.nan)
        rel.calibrate(supply, rel.landed(terms.ad_valorem, terms.transport))
        rel.cost_ratio = self._normal_cost_ratio()
        rel.calibrate_costs(supply, terms.ad_valorem, terms.transport)
        # base-year export and import mixes without quotas, for quotas allocated
        # historically
        if any(
            m.kind in ("export_quota", "import_quota") and m.allocation == "historical"
            for m in self.spec.measures
        ):
            free = ArcTerms(terms.transport, terms.ad_valorem, terms.cap, [])
            flows = clear(book, free, self.origin_price).flows.sum(axis=3)
            trade = flows * (1 - np.eye(self.R))[None]
            self.policy.export_mix = trade.sum(axis=2)
            self.policy.import_mix = trade.sum(axis=1)

    def _observe(self, res) -> None:
        """Update observed prices from a clearing.

        ``observed_price`` (delivered, what buyers pay) is a region's civil volume-weighted
        price paid (contract and spot, :attr:`abm.market.ClearingResult.paid_price`) where
        the region received goods, else the price its sellers received, else the spot
        origin quote, else the cheapest landed spot cost; ``defense_price`` is the defense
        node's price paid where the region's defense buyers received goods, else
        ``observed_price``; ``origin_price`` (FOB, what sellers get) is the volume-weighted
        price received where the region sold, else its spot origin quote, else (nothing
        offered) the price the region's civil buyers paid where they bought: the netback of
        a sale at home, so a firm that has stopped selling a good reads what it would fetch
        rather than its last quote (session 26: Japan's makers kept their pre-halt price of
        high-temperature magnets and never bought Dy again after the 2010 halt);
        ``spot_price`` (G, R, 2) is the marginal spot quote of each demand node where it
        bought on spot, else NaN. All (G, R) USD/kg unless stated. Undefined entries keep
        their previous value.
        """
        paid = res.paid_price if res.paid_price is not None else res.price
        recv = res.received_price if res.received_price is not None else res.origin_price
        node = paid[:, :, 0]
        spot_fob = res.origin_price
        fob = np.where(np.isfinite(recv), recv, spot_fob)
        landed = (
            _nanmin0(
                np.where(
                    np.isfinite(spot_fob)[:, :, None], spot_fob[:, :, None] + self.transport, np.nan
                )
            )
            if np.isfinite(spot_fob).any()
            else np.full((self.G, self.R), np.nan)
        )
        obs = np.where(np.isfinite(node), node, np.where(np.isfinite(fob), fob, landed))
        self.observed_price = np.where(np.isfinite(obs) & (obs > 0), obs, self.observed_price)
        dp = np.where(np.isfinite(paid[:, :, 1]), paid[:, :, 1], self.observed_price)
        self.defense_price = np.where(np.isfinite(dp) & (dp > 0), dp, self.defense_price)
        # an origin with no quote (nothing offered) reads the price its home buyers paid
        # this month, where they bought: the netback of a sale at home, what its firms
        # could get for the good; without home buyers it keeps its last price
        fob = np.where(np.isfinite(fob), fob, node)
        self.origin_price = np.where(np.isfinite(fob) & (fob > 0), fob, self.origin_price)
        spot_in = res.flows.sum(axis=1) - (
            res.contract.sum(axis=1) if res.contract is not None else 0.0
        )
        self.spot_price = np.where(spot_in > 1e-9, res.price, np.nan)

    # ------------------------------------------------------------------ calendar
    @property
    def month_index(self) -> int:
        """Index of the month being simulated (0 = ``start``), read from Mesa's ``steps``:
        inside :meth:`step` Mesa has already counted the step in progress, so it is
        ``steps - 1``; between steps it is ``steps``, the month the next step simulates."""
        return self.steps - 1 if self._stepping else self.steps

    @property
    def date(self) -> pd.Period:
        """The month being simulated (between steps: the month the next step simulates;
        after the run: one past the last)."""
        return self.start + self.month_index

    def date_of(self, step: int) -> str:
        """``YYYY-MM`` of a step index."""
        return str(self.start + int(step))

    def log_event(self, kind: str, text: str) -> None:
        """Append an event (policy measure or notable emergent event) with its date."""
        self.events.append(
            {"date": str(self.date), "step": self.month_index, "kind": kind, "text": text}
        )

    def supply_line(self, market: str) -> tuple[float, float, float]:
        """World totals of the firms selling into one market (a firm's ``market``: its
        stage, e.g. ``separation`` or ``recycling``; ``mining:<deposit>`` for miners,
        ``magnets:<product>`` for magnet makers): output at an annual rate (each firm's
        :meth:`~agents.base.Firm.average_output`), capacity, and capacity under construction
        (committed projects not yet online, entrants' committed projects included), all
        t/yr. Firms read it before expanding, so one expansion wave is not duplicated by every
        firm (the supply line of Sterman 2000, ch. 17-20). Cached per
        step.
        """
        key = (self.month_index, market)
        hit = self._supply_line.get(key)
        if hit is None:
            out = cap = pipe = 0.0
            for a in self.agents:
                if getattr(a, "market", None) == market and hasattr(a, "projects"):
                    out += 12.0 * a.average_output()
                    cap += a.capacity
                    pipe += sum(q for _, q in a.projects)
            pipe += self.pipeline.pending_capacity(market)
            hit = self._supply_line[key] = [out, cap, pipe]
        return hit[0], hit[1], hit[2]

    def add_to_supply_line(self, market: str, capacity: float) -> None:
        """Count an expansion committed this step (t/yr) in the market's supply line, so
        firms reviewing later in the same step see it."""
        self.supply_line(market)
        self._supply_line[(self.month_index, market)][2] += capacity

    # ------------------------------------------------------------------ ledger
    def ledger_produce(self, g: int, q: float, **_) -> None:
        """Record ``q`` t of good ``g`` produced (mass balance)."""
        self.produced[g] += q

    def ledger_consume(self, g: int, q: float) -> None:
        """Record ``q`` t of good ``g`` consumed as an input or by an end use."""
        self.consumed[g] += q

    def ledger_loss(self, g: int, q: float) -> None:
        """Record ``q`` t of good ``g`` lost: separation losses of a feed, or oxide of a
        mixed heavy compound no one separates (its element content, t)."""
        self.lost += q * self.catalog.content[g]

    def total_stock(self) -> np.ndarray:
        """Stock of every good over all agents, t (n_goods,)."""
        out = np.zeros(self.G)
        for a in self.agents:
            for g, s in a.stocks.items():
                out[g] += s.qty
        return out

    def mass_balance(self) -> np.ndarray:
        """Residual per good: initial + produced - consumed - current stock, t (n_goods,).

        Zero (to rounding) when mass is conserved at every stage.
        """
        return self.initial_stock + self.produced - self.consumed - self.total_stock()

    # ------------------------------------------------------------------ base year
    def _base_shares(self) -> dict[str, float]:
        chk = self.base_year_check()
        return {stage: chk[f"china_share_{stage}"] for stage in STAGES}

    def base_year_check(self) -> dict[str, float]:
        """Base-year calibration from the built world: capacity x base utilisation.

        Returns:
            ``china_share_mining``, ``china_share_separation`` (feed basis) and
            ``china_share_magnets`` (shares, 0-1; NaN if a stage is empty) and
            ``world_mine_output_t`` (t REO/yr). Compare with USGS MCS2025 (China 270,000 t
            of 390,000 t), IEA GCMO 2024 (92% of separation) and Reuters/REEx (~90% of
            magnets).
        """
        out = {}
        cn = self.region_index[CHINA]
        for stage, cls in (("mining", Miner), ("separation", Refiner), ("magnets", MagnetMaker)):
            tot = cnv = 0.0
            for a in self.agents_by_type.get(cls, []):
                cap = a.capacity * a.base_utilisation
                tot += cap
                cnv += cap if a.ridx == cn else 0.0
            out[f"china_share_{stage}"] = cnv / tot if tot else float("nan")
            if stage == "mining":
                out["world_mine_output_t"] = tot
        return out

    def _base_use(self) -> np.ndarray:
        use = np.zeros((self.G, self.R))
        for a in self.agents:
            if isinstance(a, OEM):
                for g, v in a.recipe0.items():
                    use[g, a.ridx] += v * a.base_units
            elif isinstance(a, MagnetMaker):
                for g, q in a.planned_output().items():
                    for og, v in a.recipe(g).items():
                        use[og, a.ridx] += v * q
        return use

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Simulate one month (see the module docstring for the order); ``running`` turns
        False after the last month of the run (``months``)."""
        self._stepping = True
        try:
            self._month()
        finally:
            self._stepping = False
        if self.steps >= self.months:
            self.running = False

    def _month(self) -> None:
        t = self.month_index
        self._supply_line.clear()
        self.policy.refresh(t, log=self.log_event)
        for code, v in self._denial_risk.items():
            self.policy.risk_shock[code] = self.policy.risk_shock.get(code, 0.0) + v
        govs = list(self.agents_by_type.get(Government, []))
        for gov in govs:
            gov.apply_rules()
        self._track_trade_policy()
        self.policy.mine_plan = {}
        for m in self.agents_by_type.get(Miner, []):
            key = (m.region, m.deposit)
            self.policy.mine_plan[key] = (
                self.policy.mine_plan.get(key, 0.0) + m.capacity / 12 * self.params.base_utilisation
            )
        # news about mine supply, read by the stockholders' fundamentalist rule: computed
        # before expectations, so the one-month forecasts the rules are scored on next
        # month already hold this month's news
        self.policy.update_supply_news(
            self.params.speculator_horizon_months, self.params.price_anchor_months
        )
        self.marginal_cost_ratios = self._marginal_cost_ratios()
        for a in self.agents:
            a.update_expectations()

        # orders
        book = OrderBook(self.G, self.R)
        for cls in (
            Government,
            StateReserve,
            Stockholder,
            Miner,
            Refiner,
            MagnetMaker,
            Recycler,
            OEM,
            NonMagnetUser,
            DefenseContractor,
        ):
            group = self.agents_by_type.get(cls)
            if group:
                group.shuffle_do("post_orders", book)

        # licences
        # licence applications cover each buyer's documented end use (not bids for
        # inventory), one application per bid tranche of the buyer at the node
        bid = book.bid_array()
        # the choke price of each good's demand: the highest derived-demand value a buyer
        # declared (OrderBook.note_value); read next month by the stockholders' pricing of
        # supply news (Stockholder.rule_forecasts)
        self.choke_price = np.zeros(self.G)
        for g, v in book.top_value.items():
            self.choke_price[g] = v
        node = (bid[:, 0].astype(np.int64) * self.R + bid[:, 1].astype(np.int64)) * 2 + bid[
            :, 2
        ].astype(np.int64)
        own_b = np.asarray(book.bid_owner, dtype=np.int64)
        tranches = np.bincount(
            own_b * 2 + bid[:, 2].astype(np.int64), minlength=2 * len(book.owners)
        )
        rows = []
        for a, g, r, u, q in book.claims:
            if a is None:  # documented, but no buyer's applications cover it
                continue
            i = book.owner_of(a, g)
            rows.append((a.unique_id, g, r, u, q, tranches[2 * i + u] if i >= 0 else 0))
        claims = Claims.of(rows)
        off = book.offer_array()
        origin = off[:, 0].astype(np.int64) * self.R + off[:, 1].astype(np.int64)
        offer_q = np.bincount(origin, weights=off[:, 2], minlength=self.G * self.R).reshape(
            self.G, self.R
        )
        offer_ca = np.bincount(
            origin, weights=off[:, 2] * off[:, 5], minlength=self.G * self.R
        ).reshape(self.G, self.R)
        offer_ca = np.where(offer_q > 0, offer_ca / np.maximum(offer_q, 1e-12), 0.0)
        desk = self.policy.desk
        desk.start_month()
        licensed, approval, review = self.policy.licence_terms(offer_ca)
        desk.apply(licensed, approval, claims, self.rng, review=review)
        terms = self.policy.terms(self.transport, licensed)
        pre = self.policy.unlicensed_share
        if pre.any():
            # a regime's first month: shipments before its date need no licence, up to that
            # share of the month's demand at each node
            demand = np.bincount(node, weights=bid[:, 3], minlength=self.G * self.R * 2).reshape(
                self.G, self.R, 2
            )
            terms.cap = np.where(pre > 0, terms.cap + pre * demand[:, None, :, :], terms.cap)
        holdings, acct = self._holdings(book, licensed)

        # clearing
        ref = np.where(
            np.isfinite(self.origin_price), self.origin_price, self.catalog.ref_price[:, None]
        )
        # customs value = last month's origin price (a one-month lag; one LP solve a month)
        self.accounts.set_customs(ref, self.relations.index)
        self.contract_price = self.relations.index.copy()
        res = clear(book, terms, ref, relations=self.relations, licences=holdings, max_solves=1)
        if holdings is not None:
            used = np.zeros(len(desk.acct_buyer))
            used[acct] = res.licence_used
            desk.ship(used)
        self._settle(book, res, licensed, approval)
        self._adapt_relations(book, res, terms)

        # production (upstream first, so this month's purchases are used this month)
        for cls in (Miner, Refiner, MagnetMaker, Recycler, OEM, NonMagnetUser, DefenseContractor):
            group = self.agents_by_type.get(cls)
            if group:
                group.do("produce")
                if cls is Refiner:  # light-only plants' mixed heavy compound to China
                    hand_over_mixed_heavies(group)
        self.region_short = {}
        for cls in (OEM, DefenseContractor):
            for a in self.agents_by_type.get(cls, []):
                if (
                    a.lost_units > self.params.shortage_release_share * max(a.plan_units, 1e-9)
                    and a.sector != "non_magnet"
                ):
                    self.region_short[a.region] = True

        # adaptation
        for cls in PRODUCER_TYPES:
            group = self.agents_by_type.get(cls)
            if group:
                group.do("track_output")
        for cls in PRODUCER_TYPES:
            group = self.agents_by_type.get(cls)
            if group:
                group.do("review_investment")
        self.pipeline.review(self)

        record_month(self, book, res)
        self._headline = headline_values(self.recorder, t)
        self.datacollector.collect(self)

    def _holdings(self, book, licensed) -> tuple[Holdings | None, np.ndarray]:
        """Each buyer's usable approvals on the licensed arcs (a holding per desk account
        whose buyer posted orders for the good this month; none on an arc closed by an
        embargo or a sourcing rule), and the desk accounts they come from."""
        idx, buyer, arc = self.policy.desk.holdings(licensed)
        if not len(idx):
            return None, idx
        owner_of = {(a.unique_id, g): i for i, (a, g) in enumerate(book.owners)}
        owner = np.array(
            [
                owner_of.get((b, g), -1)
                for b, g in zip(buyer.tolist(), arc[:, 0].tolist(), strict=True)
            ],
            dtype=np.int64,
        )
        g, o, d, u = arc.T
        keep = (owner >= 0) & (self.policy.base_cap[g, o, d, u] > 0)
        if not keep.any():
            return None, idx[keep]
        qty = self.policy.desk.available.sum(axis=0)[idx[keep]]
        return Holdings(licensed, owner[keep], arc[keep], qty), idx[keep]

    def _settle(self, book, res, licensed, approval) -> None:
        """Move goods and money: sellers give up stock, buyers receive it with origin."""
        n_own = len(book.owners)
        own_o = np.asarray(book.offer_owner, dtype=np.int64)
        sold = np.bincount(own_o, weights=res.offer_fill, minlength=n_own)
        offered = np.bincount(own_o, minlength=n_own) > 0
        owners, sold_t = book.owners, sold.tolist()  # Python floats, same values
        for i in np.nonzero(sold > 0)[0].tolist():
            a, g = owners[i]
            a.stock(g).take(sold_t[i])
        # price floors and offtakes: the seller's government pays the gap to the origin
        # price on every filled offer, in book order
        filled = np.nonzero(res.offer_fill > 0)[0]
        if len(filled) and self.policy.floors:
            off = book.offer_array()[filled]
            g_, r_ = off[:, 0].astype(np.int64).tolist(), off[:, 1].astype(np.int64).tolist()
            # the guaranteed price of each filled offer: its good and its seller's floor,
            # offtake or cost-plus price (Firm.settlement_price)
            guaranteed = np.array(
                [
                    owners[o][0].settlement_price(g)
                    if isinstance(owners[o][0], Firm)
                    else self.policy.guaranteed_price(self.region_codes[r], g)
                    for g, r, o in zip(g_, r_, own_o[filled].tolist(), strict=True)
                ]
            )
            pay = floor_payment(guaranteed, res.offer_price[filled], res.offer_fill[filled])
            for i, k in zip(filled[pay > 0], np.nonzero(pay > 0)[0], strict=True):
                gov = self._government(book.offers[i][0].region)
                gov.subsidy_cost += pay[k]
        for i in np.nonzero(offered)[0].tolist():
            a, g = book.owners[i]
            a.record_sale(g, sold_t[i])
        # receipts per (buyer, good), origin shares mixed by mass (Stock.add is associative)
        own_b = np.asarray(book.bid_owner, dtype=np.int64)
        got = np.bincount(own_b, weights=res.bid_fill, minlength=n_own)
        cm = np.bincount(own_b, weights=res.bid_fill * res.bid_attrs[:, 0], minlength=n_own)
        ca = np.bincount(own_b, weights=res.bid_fill * res.bid_attrs[:, 1], minlength=n_own)
        got_t, cm_t, ca_t = got.tolist(), cm.tolist(), ca.tolist()
        for i in np.nonzero(got > 0)[0].tolist():
            a, g = owners[i]
            q = got_t[i]
            a.stock(g).add(q, cm_t[i] / q, ca_t[i] / q)
        # reserve agencies book what they bought under a purchase programme
        reserve = [i for i, (a, _g) in enumerate(book.owners) if isinstance(a, StateReserve)]
        if reserve:
            filled = (res.bid_fill > 0) & np.isin(own_b, reserve)
            for i in np.flatnonzero(filled).tolist():  # filled bids, in book order
                a, g, _r, _u, _q, p, _n = book.bids[i]
                a.record_purchase(g, float(res.bid_fill[i]), p)
        # perceived risk from licence denials, per destination region: firms perceive it
        # with next month's expectations (the policy refresh clears this month's shocks)
        self._denial_risk = {}
        if self.policy.desk.applied.sum() > 0:
            applied = self.policy.desk.applied.sum(axis=(0, 1, 3))
            approved = self.policy.desk.approved.sum(axis=(0, 1, 3))
            for d, code in enumerate(self.region_codes):
                if applied[d] > 0:
                    self._denial_risk[code] = self.params.denial_risk * (
                        1 - approved[d] / applied[d]
                    )
        self._observe(res)
        self.last_flows = res.flows
        self.policy.observe_supply(res.flows, self.origin_price, res.smuggled)
        self.last_clearing = res

    def _adapt_relations(self, book, res, terms) -> None:
        """After clearing: perceived non-delivery risk and contract price indices
        (:meth:`~abm.sourcing.SupplierRelations.observe`), then qualification and contract
        shares for next month (:meth:`~abm.sourcing.SupplierRelations.update`)."""
        rel = self.relations
        rel.cost_ratio = self._normal_cost_ratio()
        rel.observe(
            res.contract_wanted, res.contract, res.origin_price, res.spot_sold, res.licence_price
        )
        b, a = rel.benchmark, self.benchmark_anchor
        r = self.marginal_cost_ratios  # the entry bound of producers' anchors (ODD 7.1)
        bound = r < 1.0  # NaN (magnets, goods no mine yields): no bound
        if bound.any():
            b = np.where(bound, b * r, b)
        self.benchmark_anchor = np.where(
            np.isfinite(b),
            np.where(np.isfinite(a), a + (b - a) / self.params.price_anchor_months, b),
            a,
        )
        off, bid = book.offer_array(), book.bid_array()
        G, R = self.G, self.R
        supply = np.bincount(
            off[:, 0].astype(np.int64) * R + off[:, 1].astype(np.int64),
            weights=off[:, 2],
            minlength=G * R,
        ).reshape(G, R)
        demand = np.bincount(
            (bid[:, 0].astype(np.int64) * R + bid[:, 1].astype(np.int64)) * 2
            + bid[:, 2].astype(np.int64),
            weights=bid[:, 3],
            minlength=G * R * 2,
        ).reshape(G, R, 2)
        rel.update(supply, rel.landed(terms.ad_valorem, terms.transport), demand)

    def _marginal_cost_ratios(self) -> np.ndarray:
        """(G,) for each good, the bound entry puts on its long-run price
        (:func:`abm.longrun.marginal_cost_ratios`), at last month's world benchmark prices
        (the last finite one of a good without a spot sale): for an oxide, the largest
        factor by which entry of a mine's kind would move its price until the mine just
        covers its full cost (:func:`abm.longrun.entry_factors`; each oxide's share of the
        fall by the mine's content of it over the world mine output's, every mine that
        produced last month counted), among the mines that yield it and produced last
        month outside a binding production quota or halt (``PolicyState.quota_factor``
        below 1: entry cannot add supply there, so its cost does not bound the long-run
        price); for a concentrate, its oxide content at the bounded prices over its value;
        NaN where no such mine yields the good (magnets always).

        A mine's full cost, USD/kg REO, is its cash cost, plus the median separation cost
        of the operating separators, plus the capital charge
        (:func:`abm.longrun.capital_charge` at ``wacc``, ``project_life_years`` and
        ``base_utilisation``) of replacing its mining capacity
        (:meth:`agents.base.Firm.capex_per_t`) and the separation capacity its ore needs
        (the pipeline's median, times ``china_capex_factor`` in China)."""
        b = self.relations.benchmark
        if b is not None:  # a good without a spot sale this month keeps its last benchmark
            self._cost_benchmark = np.where(np.isfinite(b), b, self._cost_benchmark)
        b = self._cost_benchmark
        if not np.isfinite(b).any():
            return np.full(self.G, np.nan)
        par = self.params
        tolls = [r.unit_cost for r in self.agents_by_type.get(Refiner, []) if r.active]
        toll = float(np.median(tolls)) if tolls else 0.0
        separation = float(self.pipeline.intensity.get("separation", 0.0))
        mines = []
        world: dict[int, float] = {}  # t of each oxide mined last month
        for m in self.agents_by_type.get(Miner, []):
            out = m.output_month.get(m.good, 0.0) if m.active else 0.0
            if out <= 0.0:
                continue
            for i, c in m.oxide_content:
                world[i] = world.get(i, 0.0) + out * c
            if self.policy.quota_factor(m.region, m.deposit) < 1.0 - 1e-9:
                continue  # a production quota or halt, not cost, bounds its output
            capex = m.capex_per_t() + separation * (
                par.china_capex_factor if m.region == CHINA else 1.0
            )
            charge = capital_charge(capex, par.wacc, par.project_life_years, par.base_utilisation)
            mines.append((m.unit_cost + toll + charge, m.oxide_content, m.good))
        return marginal_cost_ratios(mines, b, par.separation_recovery, self.G, world)

    def _normal_cost_ratio(self) -> np.ndarray:
        """(G, R) normal unit cost of each origin's magnet makers over that of its good's
        reference market (:attr:`abm.sourcing.SupplierRelations.reference`), 1 for goods
        other than magnets and where either has no operating maker.

        A region's normal unit cost of magnet grade g is the capacity-weighted mean over its
        operating makers of conversion cost plus the grade's bill of materials (their own
        recipes) at the oxide prices of the grade's reference market (``origin_price``),
        USD/kg. Magnets are made to order for customers who
        qualify each grade (fixprice goods, Hicks 1974; customer markets, Okun 1981), and
        their makers price at full cost (Hall and Hitch 1939): oxides and concentrates,
        traded against a published benchmark (flexprice goods), keep their export parity."""
        out = np.ones((self.G, self.R))
        ref = self.relations.reference
        num = np.zeros((self.G, self.R))
        den = np.zeros((self.G, self.R))
        fob = self.origin_price
        for a in self.agents_by_type.get(MagnetMaker, []):
            if not a.active or a.capacity <= 0:
                continue
            for g, share in a.mix.items():
                # oxides at the magnet's reference market's prices, so that the ratio
                # measures the makers' own costs (conversion, bill of materials), not what
                # an export quota adds to their inputs (passing that on would raise their
                # input values with their input prices)
                r0 = int(ref[g]) if ref[g] >= 0 else a.ridx
                unit = a.unit_cost + sum([q * fob[og, r0] for og, q in a.recipe(g).items()])
                w = a.capacity * share
                num[g, a.ridx] += w * unit
                den[g, a.ridx] += w
        rows = np.arange(self.G)
        has = den > 0
        cost = np.where(has, num / np.where(has, den, 1.0), np.nan)
        base = cost[rows, np.maximum(ref, 0)][:, None]
        ok = has & np.isfinite(base) & (base > 0) & (ref >= 0)[:, None]
        return np.where(ok, cost / np.where(ok, base, 1.0), out)

    def benchmark_growth(self) -> np.ndarray:
        """(G,) each good's long-run benchmark price over its value when the new trade
        instruments in force were adopted (1 where either is undefined, or while none is in
        force)."""
        at = self._benchmark_at_change
        if at is None:
            return np.ones(self.G)
        now = self.benchmark_anchor
        ok = np.isfinite(now) & np.isfinite(at) & (at > 0)
        return np.where(ok, now / np.where(ok, at, 1.0), 1.0)

    def _track_trade_policy(self) -> None:
        """When a new trade instrument adopted during the run comes into force
        (:meth:`abm.policy.PolicyState.trade_policy_changed`) and none was, every firm
        (and every entrant not yet in the world) records its anchor prices as its
        policy-free prices (:attr:`agents.base.Firm.free_anchor`) and the benchmarks their
        long-run values; when none is in force any more, both are cleared (docs/ODD.md
        7.13, trade-policy uncertainty)."""
        changed = self.policy.trade_policy_changed()
        if changed == (self._benchmark_at_change is not None):
            return
        firms = [a for a in self.agents if hasattr(a, "free_anchor")]
        firms += [a for a in self.pipeline.prospective() if hasattr(a, "free_anchor")]
        if changed:
            self._benchmark_at_change = self.benchmark_anchor.copy()
            for a in firms:
                a.record_free_anchor()
        else:
            self._benchmark_at_change = None
            for a in firms:
                a.free_anchor = None

    def _government(self, region: str) -> Government:
        for gov in self.agents_by_type[Government]:
            if gov.region == region:
                return gov
        raise KeyError(region)

    # ------------------------------------------------------------------ run
    def run(
        self, months: int | None = None, progress: bool = False, on_step=None
    ) -> RareEarthModel:
        """Step ``months`` months (default: the remaining months of the run).

        Args:
            progress: show a rich progress bar.
            on_step: called with the model after each step (e.g. to advance a caller's
                progress bar).
        """
        n = self.months - self.steps if months is None else int(months)
        if progress:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            # on stderr: the bar is not part of what a run prints (a piped summary stays
            # clean)
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            ) as bar:
                task = bar.add_task(f"{self.spec.name}", total=n)
                for _ in range(n):
                    self.step()
                    bar.update(task, advance=1, description=f"{self.spec.name} {self.date - 1}")
                    if on_step is not None:
                        on_step(self)
        else:
            for _ in range(n):
                self.step()
                if on_step is not None:
                    on_step(self)
        return self

    # ------------------------------------------------------------------ metrics
    def headline(self, key: str) -> float:
        """Headline series of the last step (prices USD/kg, exports t/month, lost USD/month),
        read from its recorded rows (keys and rows: :data:`abm.metrics.HEADLINE`)."""
        return self._headline.get(key, float("nan"))

    # ------------------------------------------------------------------ outputs
    def timeseries(self) -> pd.DataFrame:
        """The tidy long table of every step so far (see :mod:`abm.metrics`)."""
        return self.recorder.frame()

    def events_frame(self) -> pd.DataFrame:
        """The event log (date, step, kind, text)."""
        return pd.DataFrame(self.events, columns=["date", "step", "kind", "text"])

    def headline_frame(self) -> pd.DataFrame:
        """Mesa DataCollector model series (one row per step), indexed by date."""
        df = self.datacollector.get_model_vars_dataframe()
        df.index = [str(self.start + i) for i in range(len(df))]
        return df


def _nanmin0(a: np.ndarray) -> np.ndarray:
    """Minimum over axis 1 ignoring NaN; NaN where a whole slice is NaN (no warning)."""
    filled = np.where(np.isnan(a), np.inf, a)
    out = filled.min(axis=1)
    return np.where(np.isinf(out), np.nan, out)
