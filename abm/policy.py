"""Policy state: which scheduled measures and levers are in force each month, and the
trade terms they imply (tariffs, export duties, licences, quotas, embargoes, sourcing rules,
price floors, subsidies, stockpiles).

Tariffs are bilateral and time-varying: for each (importer, exporter, good) the latest
active ``set`` measure gives the rate (so a truce with an ``end`` reverts to the earlier
rate when it expires) and active ``add`` measures add to it; endogenous retaliation
(:class:`agents.government.Government`) and the ``us_tariff_on_china`` lever override.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.goods import DEPOSITS, ELEMENTS, GRADES, Catalog, conc, mag, ox
from abm.licences import LicenceDesk
from abm.market import ArcTerms
from abm.scenario import PriceFloor, Scenario
from abm.timeline import month_index, to_month

#: Measure kinds that cut mine output (:meth:`PolicyState.quota_factor`).
_PRODUCTION = ("production_quota", "production_halt")

USE_DEFENSE = 1
USES = ("civil", "defense")  # end-use index 0, 1


def good_form(good: str) -> str:
    """Form of a good for licence rules: ``concentrates``, ``oxides`` or ``magnets``."""
    return {"conc": "concentrates", "ox": "oxides", "mag": "magnets"}[good.split("_", 1)[0]]


def _days_before(date: str) -> float:
    """Share of a month before ``date`` (``YYYY-MM-DD``; 0 for ``YYYY-MM``): (day - 1) /
    days in the month."""
    p = pd.Period(str(date)[:7], freq="M")
    day = int(str(date)[8:10]) if len(str(date)) >= 10 else 1
    return (day - 1) / p.days_in_month


def goods_selector(items: list[str], catalog: Catalog) -> list[int]:
    """Good indices named by a scenario goods list (groups, element symbols, good names)."""
    out: set[int] = set()
    idx = catalog.index
    for it in items:
        if it == "all":
            out.update(range(len(catalog.goods)))
        elif it == "concentrates":
            out.update(idx[conc(d)] for d in DEPOSITS)
        elif it == "oxides":
            out.update(idx[ox(e)] for e in ELEMENTS)
        elif it == "magnets":
            out.update(idx[mag(g)] for g in GRADES)
        elif it in ELEMENTS:
            out.add(idx[ox(it)])
        else:
            out.add(idx[it])
    return sorted(out)


#: measure kinds that set the terms of cross-border trade: the premia they create are
#: what investors expect to end with them (Firm.policy_free_margin, docs/ODD.md 7.13)
TRADE_KINDS = frozenset(
    {"tariff", "export_duty", "export_licence", "licence_policy", "export_quota"}
    | {"import_quota", "embargo"}
)


def highest_targets(mandates, catalog: Catalog) -> dict[str, dict[int, float]]:
    """Stockpile targets by region and good index, months of the region's base-year use:
    the highest of the ``mandates``, an iterable of ``(actor, goods, target_months)`` with
    ``goods`` as in a measure (names or groups, :func:`goods_selector`)."""
    out: dict[str, dict[int, float]] = {}
    for actor, goods, months in mandates:
        held = out.setdefault(actor, {})
        for g in goods_selector(goods, catalog):
            held[g] = max(held.get(g, 0.0), months)
    return out


#: fields an unlabelled measure's event text leaves out (said elsewhere in the line or log)
_UNSAID = frozenset({"kind", "actor", "date", "end", "label", "id", "description"})


def _event_text(m) -> str:
    """A measure as the event log names it: ``"<actor> <kind>: <label>"`` (no actor for
    measures without one); without a label, the fields the scenario set, in the order the
    measure declares them (``"US tariff: targets CN; rate 0.25; mode add"``), so a user's
    measure is told apart from the shipped ones."""
    head = f"{m.actor if hasattr(m, 'actor') else ''} {m.kind}".strip()
    if m.label:
        return f"{head}: {m.label}"
    said = []
    for name in type(m).model_fields:
        if name in m.model_fields_set and name not in _UNSAID:
            v = getattr(m, name)
            if isinstance(v, (list, tuple)):
                v = ", ".join(map(str, v))
            said.append(f"{name} {v}")
    return f"{head}: {'; '.join(said) if said else m.kind}"


class PolicyState:
    """Measures in force and the trade terms they imply.

    Args:
        scenario: the validated scenario.
        catalog: goods catalogue.
        codes: region codes in model order.
        allied: codes of allied regions.
    """

    def __init__(
        self, scenario: Scenario, catalog: Catalog, codes: tuple[str, ...], allied: frozenset[str]
    ):
        self.scenario = scenario
        self.catalog = catalog
        self.codes = codes
        self.ri = {c: i for i, c in enumerate(codes)}
        self.allied = allied
        self.start = to_month(scenario.start)
        G, R = len(catalog.goods), len(codes)
        self.shape = (G, R, R, 2)
        self.measures = list(enumerate(scenario.measures))
        self.start_step = [month_index(m.date, self.start) for _, m in self.measures]
        self.end_step = [
            month_index(m.end, self.start) if m.end else None for _, m in self.measures
        ]
        self.endogenous: dict[tuple[str, str], float] = {}
        self.active_ids: set[int] = set()
        self.risk_shock: dict[str, float] = {}
        # planned mine output per (region, deposit), t/month, set by the model each month
        self.mine_plan: dict[tuple[str, str], float] = {}
        # (E,) world mine supply of each element over the coming months that prices already
        # reflect, and this month's news against it (update_supply_news)
        self.supply_priced_in: np.ndarray | None = None
        self.supply_news = np.ones(len(ELEMENTS))
        # (G, R) unconstrained base-year exports per good and origin and imports per good
        # and destination, t/month; set by the model after its warm-up clearing (historical
        # allocation of export and import quotas)
        self.export_mix: np.ndarray | None = None
        self.import_mix: np.ndarray | None = None
        # last month's clearing: flows (G, R, R, 2) t and origin prices (G, R) USD/kg, set by
        # the model after each clearing (observe_supply); read only when a restriction is
        # announced (exposure)
        self._flows: np.ndarray | None = None
        self._smuggled: np.ndarray | None = None
        self._fob: np.ndarray | None = None
        par = scenario.parameters
        self.desk = LicenceDesk(self.shape, par.licence_review_months, par.licence_validity_months)
        self.lever_step = month_index(scenario.levers.start, self.start)
        lev = scenario.levers
        self.truce = None
        if lev.truce_start is not None:
            s0 = month_index(lev.truce_start, self.start)
            self.truce = (s0, s0 + lev.truce_months)
        self.refresh(0, log=None)
        #: (kind, actor) of the trade measures in force in the run's first month: the
        #: instruments in place, whose later renewals and revisions are the status quo
        #: continuing (trade_policy_changed)
        self.trade_status_quo = {
            (self.measures[i][1].kind, getattr(self.measures[i][1], "actor", None))
            for i in self.active_ids
            if self.measures[i][1].kind in TRADE_KINDS
        }
        self.active_ids = set()  # so the model's first logged refresh lists them

    # ------------------------------------------------------------------ activity
    def _in_force(self, i: int, t: int) -> bool:
        if t < self.start_step[i]:
            return False
        end = self.end_step[i]
        if end is not None and t >= end:
            return False
        m = self.measures[i][1]
        if m.id:
            for j, (_, s) in enumerate(self.measures):
                if s.kind == "suspension" and s.target_id == m.id and self._in_force(j, t):
                    return False
        return True

    def refresh(self, t: int, log) -> None:
        """Recompute everything in force at step ``t``; log measures starting or ending."""
        now = {i for i in range(len(self.measures)) if self._in_force(i, t)}
        self.risk_shock = {}
        if log is not None:
            for i in sorted(now - self.active_ids):
                m = self.measures[i][1]
                log("policy", _event_text(m))
                self._announce(m)
            for i in sorted(self.active_ids - now):
                # with its actor and kind, as it started: two measures of one label (the
                # US and China halves of a truce) end on separate lines that say which
                log("policy ends", f"{_event_text(self.measures[i][1])} no longer in force")
        self.active_ids = now
        self.t = t
        self._build(t)

    def _announce(self, m) -> None:
        """New restrictive measures raise perceived supply risk in the targeted regions, in
        proportion to each region's exposure (:meth:`exposure`) and to the cut the measure
        announces (:meth:`announced_cut`): ``announcement_risk x exposure x cut``. The
        region's firms add it to their perceived risk next month
        (:meth:`agents.base.Firm.update_expectations`)."""
        if m.kind == "import_quota":
            targets = [self.ri[m.actor]]  # the importer's own buyers learn supply will be short
        elif m.kind in ("export_licence", "embargo", "export_quota"):
            targets = self._targets(getattr(m, "targets", None) or ["ALL"], m.actor)
        else:
            return
        goods = self.covered_goods(m)
        shock = self.scenario.parameters.announcement_risk * self.announced_cut(m, goods)
        if shock <= 0.0:
            return
        for d in targets:
            c = self.codes[d]
            self.risk_shock[c] = self.risk_shock.get(c, 0.0) + shock * self.exposure(m, d, goods)

    def announced_cut(self, m, goods) -> float:
        """Share of the restricted flows a new measure ``m`` cuts, 0..1: the news in it.

        For an export quota, ``1 - Q / X`` (0 if negative), with ``Q`` the quota per month
        and ``X`` the actor's recorded shipments abroad of the covered ``goods`` last month
        (t, the last clearing without its smuggled part, :meth:`observe_supply`: a quota
        caps recorded trade); for an import quota, ``X`` is the actor's imports of them. A
        quota at or above the flows it covers (a renewal at last year's
        level, a quota that does not bind) announces no cut and adds no risk; a quota that
        halves the flows adds half the risk of an embargo. Export licences and embargoes
        count as a full cut (1): what a licence regime will approve is not known when it is
        announced.

        Raises:
            RuntimeError: for a quota, before the model has recorded a clearing (as
                :meth:`exposure`).
        """
        if m.kind not in ("export_quota", "import_quota"):
            return 1.0
        if self._flows is None:
            raise RuntimeError(
                "PolicyState.announced_cut needs a clearing recorded by "
                "observe_supply (the model records one after its warm-up)"
            )
        r = self.ri[m.actor]
        f = self._flows[goods]
        if self._smuggled is not None and m.kind == "export_quota":
            # an export quota caps recorded exports (an import quota's news counts all
            # imports: the importer's customs record smuggled tonnes)
            f = f - self._smuggled[goods]
        if m.kind == "export_quota":
            flow = float(f[:, r].sum() - f[:, r, r].sum())
        else:
            flow = float(f[:, :, r].sum() - f[:, r, r].sum())
        if flow <= 0.0:
            return 0.0
        return max(0.0, 1.0 - m.tonnes_per_year / 12.0 / flow)

    def covered_goods(self, m) -> np.ndarray:
        """Indices of the goods a restrictive measure covers: for an export licence, the
        goods of its ``forms`` that contain one of its ``elements`` above ``min_content``
        (as :meth:`_regime`); otherwise the measure's ``goods``."""
        if m.kind == "export_licence":
            return np.nonzero(self._licence_scope(m).any(axis=1))[0]
        return np.array(self.goods_of(m), dtype=np.int64)

    def _licence_scope(self, m) -> np.ndarray:
        """(G, E) bool: good g is covered by export licence ``m`` through its element e (a
        good of one of ``m.forms`` containing ``m.elements[e]`` above ``min_content``)."""
        cat = self.catalog
        els = [ELEMENTS.index(e) for e in m.elements]
        in_scope = np.array([good_form(g) in m.forms for g in cat.goods])
        return (cat.content[:, els] > max(m.min_content, 1e-9)) & in_scope[:, None]

    def observe_supply(
        self, flows: np.ndarray, origin_price: np.ndarray, smuggled: np.ndarray | None = None
    ) -> None:
        """Record a clearing's flows, (G, R, R, 2) t origin -> destination per end use, and
        origin prices, (G, R) USD/kg, for :meth:`exposure` (kept by reference, not copied:
        the model replaces both arrays at each clearing rather than changing them);
        ``smuggled``: the unrecorded part of ``flows`` (same shape), None if none."""
        self._flows, self._fob, self._smuggled = flows, origin_price, smuggled

    def exposure(self, m, d: int, goods) -> float:
        """Exposure of region ``d`` to a restrictive measure ``m``, 0..1: the share of the
        restricted supply in the region's supply of the covered ``goods`` last month, by
        value (the last clearing's flows at origin prices, :meth:`observe_supply`): the
        actor's shipments to ``d`` for an export licence, embargo or export quota; ``d``'s
        imports for its own import quota.
        This is the import-reliance term of supply-risk indicators (European Commission
        2017, *Methodology for establishing the EU list of critical raw materials*: supply
        risk scales with import reliance); a region that buys none of the goods is not
        exposed (0).

        Raises:
            RuntimeError: before the model has recorded a clearing (:meth:`observe_supply`,
                after its warm-up).
        """
        if self._flows is None:
            raise RuntimeError(
                "PolicyState.exposure needs a clearing recorded by "
                "observe_supply (the model records one after its warm-up)"
            )
        # (n, origins), USD/month
        into = self._flows[goods, :, d].sum(axis=-1) * self._fob[goods]
        total = float(into.sum())
        if total <= 0.0:
            return 0.0
        if m.kind == "import_quota":
            return float(total - into[:, d].sum()) / total
        return float(into[:, self.ri[m.actor]].sum()) / total

    def trade_policy_changed(self) -> bool:
        """Whether a new trade instrument adopted during the run is in force: a scheduled
        measure of :data:`TRADE_KINDS` that starts after the run's first month and whose
        kind and actor had no measure in force in that month (:attr:`trade_status_quo`), an
        endogenous tariff (a government's retaliation rule), or the ``us_tariff_on_china``
        lever from a start after the first month. The trade measures in force from the first
        month, and later measures of the same kind and actor (the yearly renewal of an
        export quota, a new rate of an export duty), are the status quo the run starts
        from: a regime in place for years is not the policy whose end investors weigh
        (China's export quota, in force when embargo-2010 starts in 2009), a new instrument
        is (the 2025 licences and tariffs)."""
        if self.endogenous:
            return True
        lev = self.scenario.levers
        if lev.us_tariff_on_china is not None and 0 < self.lever_step <= self.t:
            return True
        quo = self.trade_status_quo
        for i in self.active_ids:
            m = self.measures[i][1]
            if (
                self.start_step[i] > 0
                and m.kind in TRADE_KINDS
                and (m.kind, getattr(m, "actor", None)) not in quo
            ):
                return True
        return False

    def active(self, kind: str) -> list:
        """Measures of ``kind`` in force now, in date order."""
        return [
            self.measures[i][1]
            for i in sorted(self.active_ids, key=lambda i: (self.start_step[i], i))
            if self.measures[i][1].kind == kind
        ]

    # ------------------------------------------------------------------ build terms
    def _targets(self, targets: list[str], actor: str) -> list[int]:
        if "ALL" in targets:
            return [self.ri[c] for c in self.codes if c != actor]
        out = []
        for c in targets:
            if c == "allied":
                out.extend(self.ri[a] for a in self.allied if a != actor)
            else:
                out.append(self.ri[c])
        return out

    def _build(self, t: int) -> None:
        self._guaranteed: dict[tuple, float] = {}
        cat = self.catalog
        G, R = len(cat.goods), len(self.codes)
        lev = self.scenario.levers
        # tariffs: T[g, exporter, importer]
        T = np.zeros((G, R, R))
        setv = np.full((G, R, R), np.nan)
        for m in self.active("tariff"):
            gs = goods_selector(m.goods, cat)
            d = self.ri[m.actor]
            for o in self._targets(m.targets, m.actor):
                if m.mode == "set":
                    setv[np.ix_(gs, [o], [d])] = m.rate
                else:
                    T[np.ix_(gs, [o], [d])] += m.rate
        T = np.where(np.isnan(setv), T, setv + T)
        for (imp, exp), rate in self.endogenous.items():
            T[:, self.ri[exp], self.ri[imp]] = rate
        us, cn = self.ri.get("US"), self.ri.get("CN")
        if us is not None and cn is not None:
            if lev.us_tariff_on_china is not None and t >= self.lever_step:
                T[:, cn, us] = lev.us_tariff_on_china
            if self.truce and self.truce[0] <= t < self.truce[1]:
                T[:, cn, us] = min(T[0, cn, us], 0.30)
                T[:, us, cn] = min(T[0, us, cn], 0.10)
        self.tariff = T
        self._tariff_max = T.max(axis=0)  # (exporter, importer): highest over goods
        E = np.zeros((G, R))
        for m in self.active("export_duty"):
            E[goods_selector(m.goods, cat), self.ri[m.actor]] += m.rate
        self.export_duty = E
        # caps that do not depend on licences
        base_cap = np.full(self.shape, np.inf)
        for m in self.active("embargo"):
            gs = goods_selector(m.goods, cat)
            o = self.ri[m.actor]
            for d in self._targets(m.targets, m.actor):
                base_cap[gs, o, d, :] = 0.0
        for m in self.active("sourcing_rule"):
            gs = goods_selector(m.goods, cat)
            d = self.ri[m.actor]
            for b in m.banned:
                base_cap[gs, self.ri[b], d, USE_DEFENSE] = 0.0
        self.base_cap = base_cap
        self.quotas = [
            q for m in self.active("export_quota") for q in self._quota_rows(m, self.export_mix)
        ]
        self.import_quotas = [
            q for m in self.active("import_quota") for q in self._quota_rows(m, self.import_mix)
        ]
        # licence regimes: covered goods, approval and review delay per good, destination
        # and end use
        self.regimes = [self._regime(m, t) for m in self.active("export_licence")]
        # share of this month before each regime's date (its first month only): shipments
        # in those days needed no licence
        self.regime_pre = [
            _days_before(m.date) if month_index(m.date, self.start) == t else 0.0
            for m in self.active("export_licence")
        ]
        # floors, subsidies, stockpiles
        self.floors = [m for m in self.active("price_floor")]
        if lev.ndpr_price_floor is not None and t >= self.lever_step:
            self.floors = [f for f in self.floors if f.actor != "US"] + [
                PriceFloor(
                    kind="price_floor",
                    date=self.scenario.levers.start,
                    actor="US",
                    floor_usd_kg=lev.ndpr_price_floor,
                    offtake_share=1.0,
                )
            ]
        self.subsidies = self.active("subsidy")
        # region -> {good: target months of use}, the highest target of each good
        mandates = [(m.actor, m.goods, m.target_months) for m in self.active("stockpile")]
        if lev.stockpile_target_months is not None and t >= self.lever_step:
            lever_goods = ["ox_Nd", "ox_Pr", "ox_Dy", "ox_Tb", "mag_ndfeb_ht"]
            mandates += [
                (c, lever_goods, lev.stockpile_target_months)
                for c in ("US", "JP", "EU", "KR")
                if c in self.ri
            ]
        self.stockpiles = highest_targets(mandates, cat)
        self.production_quotas, self.production_halts = self._production_terms(
            self.active("production_quota"), self.active("production_halt"), t
        )
        self.state_purchases = [m for m in self.active("state_purchase")]

    @staticmethod
    def _resolve(
        table: dict[str, float], code: str, allied: frozenset[str], fallback: float
    ) -> float:
        """Value of a destination table for region ``code``: its own key, else ``allied``
        (for an allied region), else ``default``, else ``fallback``."""
        if code in table:
            return table[code]
        if code in allied and "allied" in table:
            return table["allied"]
        return table.get("default", fallback)

    def _quota_rows(self, m, base_mix) -> list:
        """``(goods, region, t/month)`` rows of an export or import quota ``m``: one joint
        row, or (``allocation = "historical"``) one row per good in proportion to the
        base-year flows ``base_mix[g, region]`` (the actor's exports or imports without
        quotas); joint when the actor had none of those flows."""
        gs, r = goods_selector(m.goods, self.catalog), self.ri[m.actor]
        mix = base_mix[gs, r] if base_mix is not None else np.zeros(len(gs))
        if m.allocation == "joint" or mix.sum() <= 0:
            return [(gs, r, m.tonnes_per_year / 12.0)]
        return [
            ([int(g)], r, m.tonnes_per_year / 12.0 * share)
            for g, share in zip(gs, mix / mix.sum(), strict=True)
        ]

    def _regime(self, m, t: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, bool]:
        """Terms of one export-licence regime at step ``t``.

        A good of one of the regime's ``forms`` is covered if it contains a listed element
        above ``min_content``. Approval
        and mean review delay are resolved per controlled element, form of the good
        (concentrates, oxides, magnets), destination and end use: the regime's tables, then
        the actor's ``licence_policy`` measures in force that match the element, form and end
        use (date order; later keys win), then the levers. A good containing several
        controlled elements (a high-temperature NdFeB grade with Dy and Tb) is licensed
        under one application reviewed for each of them: it gets the strictest of its
        elements (lowest approval, longest review; docs/ODD.md, licence submodel).

        Returns:
            ``(actor index, covered goods (n,), approval (n, R, 2), review months (n, R, 2),
            extraterritorial)``.
        """
        cat, par, lev = self.catalog, self.scenario.parameters, self.scenario.levers
        has = self._licence_scope(m)  # (G, E)
        covered = np.nonzero(has.any(axis=1))[0]
        policies = [q for q in self.active("licence_policy") if q.actor == m.actor]
        lever_on = t >= self.lever_step
        lever_els = None if lev.licence_elements is None else set(lev.licence_elements)
        denial = m.defense_denial
        if lev.defense_end_use_denial is not None and lever_on:
            denial = lev.defense_end_use_denial
        default_rev = par.licence_review_months
        cache: dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]] = {}

        def table(e: str, form: str, u: int) -> tuple[np.ndarray, np.ndarray]:
            key = (e, form, u)
            if key not in cache:
                appr = dict(m.approval)
                rev = dict(m.review_months or {})
                for q in policies:
                    if (
                        (q.elements is None or e in q.elements)
                        and form in q.forms
                        and q.end_use in ("all", USES[u])
                    ):
                        appr.update(q.approval)
                        rev.update(q.review_months or {})
                p = np.array([self._resolve(appr, c, self.allied, 0.5) for c in self.codes])
                r = np.array([self._resolve(rev, c, self.allied, default_rev) for c in self.codes])
                if lever_on and (lever_els is None or e in lever_els):
                    for d, c in enumerate(self.codes):
                        if c in self.allied and lev.approval_rate_allies is not None:
                            p[d] = lev.approval_rate_allies
                        if c == "US" and lev.approval_rate_us is not None:
                            p[d] = lev.approval_rate_us
                    if lev.licence_review_months is not None:
                        r[:] = lev.licence_review_months
                if u == USE_DEFENSE and denial:
                    p = np.zeros_like(p)
                cache[key] = (p, r)
            return cache[key]

        R = len(self.codes)
        p_g = np.ones((len(covered), R, 2))
        r_g = np.zeros((len(covered), R, 2))
        for i, g in enumerate(covered):
            form = good_form(cat.goods[g])
            for j in np.nonzero(has[g])[0]:
                for u in (0, 1):
                    p, r = table(m.elements[j], form, u)
                    p_g[i, :, u] = np.minimum(p_g[i, :, u], p)
                    r_g[i, :, u] = np.maximum(r_g[i, :, u], r)
        return self.ri[m.actor], covered, p_g, r_g, m.extraterritorial

    # ------------------------------------------------------------------ queries
    def bilateral_tariff(self, importer: str, exporter: str) -> float:
        """Highest ad valorem tariff of ``importer`` on goods from ``exporter`` (fraction)."""
        return float(self._tariff_max[self.ri[exporter], self.ri[importer]])

    def set_endogenous_tariff(self, importer: str, exporter: str, rate: float) -> None:
        """Retaliation: fix ``importer``'s tariff on ``exporter`` at ``rate`` from now on."""
        self.endogenous[(importer, exporter)] = rate
        self._build(self.t)

    def licence_terms(self, offer_ca: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arcs that need a licence, the approval probability per application and the mean
        review delay.

        Where regimes overlap on an arc the strictest applies (lowest approval, longest
        review).

        Args:
            offer_ca: (G, R) China-any share of the stock each origin offers (for the
                extraterritorial 0.1% rule).

        Returns:
            ``licensed`` bool (G, R, R, 2), ``approval`` (G, R, R, 2) in [0, 1] (1 off
            licensed arcs) and ``review`` (G, R, R, 2), months (the parameter
            ``licence_review_months`` off licensed arcs). Also sets ``unlicensed_share``
            (G, R, R, 2): on arcs licensed by regimes that take effect this month only, the
            share of the month before the regime's date (e.g. 3/30 for 4 April), whose
            shipments needed no licence (:func:`_days_before`); 0 elsewhere.
        """
        R = len(self.codes)
        licensed = np.zeros(self.shape, dtype=bool)
        approval = np.ones(self.shape)
        review = np.full(self.shape, self.scenario.parameters.licence_review_months)
        rev_max = np.zeros(self.shape)
        pre = np.ones(self.shape)
        for (actor, covered, p, rv, extra), before in zip(
            self.regimes, self.regime_pre, strict=True
        ):
            origins = [actor]
            if extra:
                origins += [o for o in range(R) if o != actor]
            for o in origins:
                sel = (
                    np.arange(len(covered))
                    if o == actor
                    else np.nonzero(offer_ca[covered, o] >= 0.001)[0]
                )
                if len(sel) == 0:
                    continue
                gs = covered[sel]
                dest = np.array([d for d in range(R) if d != o and d != actor])
                if len(dest) == 0:
                    continue
                cell = np.ix_(gs, [o], dest, [0, 1])
                licensed[cell] = True
                approval[cell] = np.minimum(approval[cell], p[np.ix_(sel, dest, [0, 1])][:, None])
                rev_max[cell] = np.maximum(rev_max[cell], rv[np.ix_(sel, dest, [0, 1])][:, None])
                pre[cell] = np.minimum(pre[cell], before)
        review = np.where(licensed, rev_max, review)
        self.unlicensed_share = np.where(licensed, pre, 0.0)
        return licensed, approval, review

    def licensed_arcs(self, offer_ca: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``licensed`` and ``approval`` of :meth:`licence_terms` (without the delays)."""
        licensed, approval, _ = self.licence_terms(offer_ca)
        return licensed, approval

    def terms(self, transport: np.ndarray, licensed: np.ndarray) -> ArcTerms:
        """Trade terms for the market: tariffs + export duties, caps, export and import
        quotas. A licensed arc's cap is 0: what it carries is each buyer's own usable
        approvals (:meth:`abm.licences.LicenceDesk.holdings`, passed to the market
        separately), and in a regime's first month the days before its date
        (``unlicensed_share``, added by the model).

        Exports of a (good, origin) cell under an export quota or an export duty can be
        smuggled (``evadable``), in the evasion steps of the parameters
        ``evasion_cover_ratio``/``evasion_cost_share`` and
        ``evasion_cover_ratio_high``/``evasion_cost_share_high`` (docs/ODD.md, export
        evasion); licence regimes and embargoes are not evaded."""
        R = len(self.codes)
        adv = self.tariff + self.export_duty[:, :, None]
        adv = adv * (1 - np.eye(R))[None]
        cap = np.where(licensed, 0.0, self.base_cap)
        evadable = self.export_duty > 0
        for goods, r, _q in self.quotas:
            evadable[goods, r] = True
        par = self.scenario.parameters
        steps = tuple(
            (k, c)
            for k, c in (
                (par.evasion_cover_ratio, par.evasion_cost_share),
                (par.evasion_cover_ratio_high, par.evasion_cost_share_high),
            )
            if k > 0
        )
        return ArcTerms(
            transport,
            adv,
            cap,
            list(self.quotas),
            list(self.import_quotas),
            export_duty=self.export_duty,
            evadable=evadable if evadable.any() and steps else None,
            evasion=steps,
        )

    def _production_terms(self, quotas: list, halts: list, t: int) -> tuple[list, list]:
        """Production quotas as (actor, deposits or None, t/yr at step ``t``, leakage) and
        halts as (actor, deposits or None, share), from the measures ``quotas`` and
        ``halts`` (a quota with ``growth_per_year`` g stands at tonnes x (1 + g) **
        (calendar years since its start))."""
        year = (t + self.start).year
        return (
            [
                (
                    m.actor,
                    set(m.deposits) if m.deposits else None,
                    m.tonnes_per_year * (1 + m.growth_per_year) ** (year - to_month(m.date).year),
                    m.leakage,
                )
                for m in quotas
            ],
            [(m.actor, set(m.deposits) if m.deposits else None, m.share) for m in halts],
        )

    def quota_factor(self, region: str, deposit: str) -> float:
        """Share of planned mine output of ``deposit`` in ``region`` allowed by production
        quotas in force (1 without a quota): (quota + leakage x (planned - quota)) / planned
        output of the quota's scope; a quota with ``growth_per_year`` g stands at
        tonnes x (1 + g) ** (calendar years since its start). Production halts in force
        multiply the result by (1 - share).

        ``mine_plan`` (set by the model each month) maps (region, deposit) to planned
        output, t/month.
        """
        return self._quota_factor(
            region, deposit, self.production_quotas, self.production_halts, self.mine_plan
        )

    @staticmethod
    def _quota_factor(region: str, deposit: str, quotas: list, halts: list, plan: dict) -> float:
        """:meth:`quota_factor` under the production ``quotas`` and ``halts`` (as
        :meth:`_production_terms` lists them) at the mine ``plan``."""
        factor = 1.0
        for actor, deposits, tonnes, leakage in quotas:
            if actor != region or (deposits is not None and deposit not in deposits):
                continue
            planned = sum(
                v
                for (r, d), v in plan.items()
                if r == region and (deposits is None or d in deposits)
            )
            if planned > 0:
                allowed = tonnes / 12.0 + leakage * max(planned - tonnes / 12.0, 0.0)
                factor = min(factor, allowed / planned)
        factor = min(factor, 1.0)
        for actor, deposits, share in halts:
            if actor == region and (deposits is None or deposit in deposits):
                factor *= 1.0 - share
        return factor

    def supply_outlook(self, months: float) -> np.ndarray:
        """World mine supply of each element over the next ``months`` months under the
        production quotas and halts in force now, as a share of the planned supply (the
        model's ``mine_plan`` at each deposit's element composition), averaged over the
        months: (E,) in [0, 1], 1 where no measure cuts the element. A measure counts until
        its own end date; measures not yet in force, and suspensions not yet in force, are
        not known.

        Args:
            months: the outlook's horizon, months (rounded to whole months, at least 1).
        """
        ids = sorted(
            (i for i in self.active_ids if self.measures[i][1].kind in _PRODUCTION),
            key=lambda i: (self.start_step[i], i),
        )
        E = len(ELEMENTS)
        if not ids or not self.mine_plan:
            return np.ones(E)
        cat = self.catalog
        comp = {d: cat.content[cat.index[conc(d)]] for _, d in self.mine_plan}
        planned = np.zeros(E)
        for (_r, d), v in self.mine_plan.items():
            planned += v * comp[d]
        cut = np.zeros(E)  # planned supply the measures remove (exactly 0 where none binds)
        n = max(int(round(months)), 1)
        for k in range(n):
            t = self.t + k
            live = [
                self.measures[i][1] for i in ids if self.end_step[i] is None or t < self.end_step[i]
            ]
            quotas, halts = self._production_terms(
                [m for m in live if m.kind == "production_quota"],
                [m for m in live if m.kind == "production_halt"],
                t,
            )
            for (r, d), v in self.mine_plan.items():
                f = self._quota_factor(r, d, quotas, halts, self.mine_plan)
                if f < 1.0:
                    cut += v * (1.0 - f) * comp[d]
        out = np.ones(E)
        np.subtract(1.0, cut / n / np.where(planned > 0, planned, 1.0), out=out, where=planned > 0)
        return np.maximum(out, 0.0)  # 0 when all of it is cut (not below 0 by rounding)

    def update_supply_news(self, months: float, priced_in_months: float) -> np.ndarray:
        """This month's news about mine supply: the :meth:`supply_outlook` over ``months``
        over the outlook prices already reflect (``supply_priced_in``), (E,); then the
        priced-in outlook adapts towards the new one with the time constant
        ``priced_in_months``, as the long-run anchor of expected prices adapts to observed
        prices (:meth:`agents.base.Firm.update_expectations`). The first call prices in
        the measures in force at the start (news 1). A new production quota or halt gives
        news below 1 for the elements it cuts (the share of their supply it removes over
        the horizon, beyond what prices reflect); 0 when no supply is left over the horizon
        (every deposit that carries the element halted). A cut prices have absorbed brings
        it back to 1; a cut that ends (or whose known end enters the horizon) before they
        have gives news above 1 for a while, the priced-in outlook catching up with the
        same time constant. Where prices reflected no supply at all (priced-in 0), there
        is no news (1). Kept in ``supply_news``.

        Args:
            months: the outlook's horizon, months (rounded to whole months, at least 1).
            priced_in_months: time constant of the priced-in outlook, months (> 0).
        """
        outlook = self.supply_outlook(months)
        if self.supply_priced_in is None:
            self.supply_priced_in = outlook.copy()
        # no news about an element prices reflected none of: its whole supply halted
        self.supply_news = np.ones_like(outlook)
        np.divide(
            outlook, self.supply_priced_in, out=self.supply_news, where=self.supply_priced_in > 0
        )
        self.supply_priced_in = self.supply_priced_in + (outlook - self.supply_priced_in) / (
            priced_in_months
        )
        return self.supply_news

    def lead_time_factor(self, region: str, stage: str, company: str | None = None) -> float:
        """Permit/lead-time multiplier for new capacity of ``stage`` in ``region`` for a
        firm of ``company`` (<1 = faster permits; subsidies granted to other companies do
        not count)."""
        return min(
            [s.lead_time_factor for s in self.subsidies_for(region, stage, company)],
            default=1.0,
        )

    def subsidies_for(self, region: str, stage: str, company: str | None = None) -> list:
        """Subsidy measures in force for new capacity of ``stage`` in ``region`` that a firm
        of ``company`` gets: those of ``region`` at ``stage`` granted to every firm
        (``firms`` omitted) or naming ``company``."""
        return [
            s
            for s in self.subsidies
            if s.actor == region and stage in s.stages and (s.firms is None or company in s.firms)
        ]

    def guaranteed_price(
        self,
        region: str,
        g: int,
        magnet_maker: bool = False,
        company: str | None = None,
        plant: str | None = None,
    ) -> float:
        """Price a seller of ``g`` in ``region`` of ``company`` is guaranteed by floors
        (and, for magnet makers, offtakes; ``plant`` is the maker's ``project_id``) in
        force: what the government tops sales up to, USD/kg (0 if none). A floor with
        ``firms`` guarantees only those companies, an offtake with ``offtake_plants`` only
        those plants. The cost-plus part of an offtake is the plant's
        (:meth:`offtake_margin`). Cached until the next refresh."""
        key = (region, g, magnet_maker, company, plant)
        hit = self._guaranteed.get(key)
        if hit is None:
            hit = self.floor_price(region, g, company) if self.floors else 0.0
            if magnet_maker and self.floors:
                hit = max(hit, self.offtake_price(region, g, company, plant))
            self._guaranteed[key] = hit
        return hit

    def _offtakes_for(self, region: str, company: str | None, plant: str | None) -> list:
        """Floors in force of ``region`` with an offtake that covers a magnet plant
        ``plant`` (``project_id``, None for a base-year plant) of ``company``."""
        return [
            f
            for f in self._floors_for(region, company)
            if f.offtake_share > 0 and (f.offtake_plants is None or plant in f.offtake_plants)
        ]

    def offtake_margin(
        self, region: str, company: str | None, plant: str | None, nameplate: float
    ) -> float:
        """Margin an offtake's minimum EBITDA guarantees a covered magnet plant of
        ``nameplate`` t/yr, USD/kg: ``offtake_min_ebitda_usd x (1 + offtake_ebitda_growth)
        ^ years since the measure's date / (nameplate x 1000)`` (0 if none, or for a plant
        of no nameplate). The plant is guaranteed its unit cost plus this margin on every
        kilogram sold, a cost-plus-fixed-fee price (FAR 16.306), so that it earns the
        minimum EBITDA at nameplate (DoW-MP 10X offtake: 140 M USD a year, +2% a year;
        MP Materials 10-Q, Q3 2025). Cached until the next refresh."""
        if not self.floors or nameplate <= 0:
            return 0.0
        key = ("margin", region, company, plant, nameplate)
        hit = self._guaranteed.get(key)
        if hit is not None:
            return hit
        best = 0.0
        for f in self._offtakes_for(region, company, plant):
            if not f.offtake_min_ebitda_usd:
                continue
            years = max(self.t - month_index(f.date, self.start), 0) / 12.0
            ebitda = f.offtake_min_ebitda_usd * (1.0 + f.offtake_ebitda_growth) ** years
            best = max(best, ebitda / (nameplate * 1000.0))
        self._guaranteed[key] = best
        return best

    def _floors_for(self, region: str, company: str | None) -> list:
        """Floors in force of ``region`` that a seller of ``company`` gets."""
        return [
            f for f in self.floors if f.actor == region and (f.firms is None or company in f.firms)
        ]

    def floor_price(self, region: str, g: int, company: str | None = None) -> float:
        """Price floor paid to sellers of good ``g`` in ``region`` of ``company`` (0 if
        none), USD/kg."""
        best = 0.0
        for f in self._floors_for(region, company):
            if g in goods_selector(f.goods, self.catalog):
                best = max(best, f.floor_usd_kg)
        return best

    def offtake_price(
        self, region: str, g: int, company: str | None = None, plant: str | None = None
    ) -> float:
        """Guaranteed magnet price under a floor with offtake for a magnet plant ``plant``
        of ``company`` in ``region``, USD/kg (0 if none).

        The reference magnet price plus the bill-of-materials cost of lifting the floored
        oxides from their reference price to the floor.
        """
        cat = self.catalog
        if not cat.goods[g].startswith("mag_"):
            return 0.0
        best = 0.0
        for f in self._offtakes_for(region, company, plant):
            gs = goods_selector(f.goods, cat)
            bom = cat.content[g]
            lift = sum(
                bom[ELEMENTS.index(cat.goods[og][3:])]
                * max(f.floor_usd_kg - cat.ref_price[og], 0.0)
                for og in gs
                if cat.goods[og].startswith("ox_")
            )
            best = max(best, cat.ref_price[g] + lift)
        return best

    def state_purchase_programmes(self, region: str) -> list[tuple[int, object]]:
        """(index in the scenario's measures, measure) of ``region``'s ``state_purchase``
        programmes in force, in date order."""
        return [
            (i, self.measures[i][1])
            for i in sorted(self.active_ids, key=lambda i: (self.start_step[i], i))
            if self.measures[i][1].kind == "state_purchase" and self.measures[i][1].actor == region
        ]

    def goods_of(self, measure) -> list[int]:
        """Good indices of a measure's ``goods`` list."""
        return goods_selector(measure.goods, self.catalog)

    def measure_steps(self, i: int) -> tuple[int, int | None]:
        """(first step in force, first step no longer in force or None) of measure ``i``."""
        return self.start_step[i], self.end_step[i]

    def state_purchase_held(self, region: str, g: int) -> bool:
        """Whether good ``g`` was bought under a ``state_purchase`` programme of ``region``
        that has started (such stock is a strategic reserve: held, not sold off)."""
        return any(
            m.kind == "state_purchase"
            and m.actor == region
            and self.start_step[i] <= self.t
            and g in goods_selector(m.goods, self.catalog)
            for i, (_, m) in enumerate(self.measures)
        )

    def stockpile_target(self, region: str) -> dict[int, float]:
        """Target months of use of each good of ``region``'s strategic stockpiles (the
        highest of the stockpile measures in force; empty if none)."""
        return self.stockpiles.get(region, {})
