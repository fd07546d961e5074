"""Scenario schema, loading, dumping and overrides (pydantic v2, TOML).

A scenario is a TOML file: a header (``name``, ``description``, ``base_year``, ``start``,
``end``), optional ``[parameters]`` (behavioural, :class:`abm.parameters.Parameters`),
optional ``[levers]`` (policy levers the UI and sweeps move, :class:`Levers`) and a list of
``[[measures]]`` (dated policy measures, each with a ``kind`` and a ``source``).

Validation is strict: unknown keys, unknown regions, elements or goods, dates outside the
horizon, negative quantities, empty lists, numbers for switches, a tariff or export duty given
twice for one actor, partner, good and date, and measures that would change nothing raise
:class:`ScenarioError` naming the field and the allowed values (one line per problem). Files
are UTF-8 with or without a byte-order mark; dates are ``"YYYY-MM"`` or ``"YYYY-MM-DD"``
(unquoted TOML dates are read too). Shipped scenarios live in
``abm/scenarios/*.toml`` and are found by name.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import tomli_w
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from abm.canonical import canonical_json, sha256_hex
from abm.goods import DEPOSITS, ELEMENTS, GRADES, STAGES
from abm.parameters import NumbersModel, Parameters
from abm.timeline import to_month


class ScenarioError(ValueError):
    """A scenario file or override is invalid; the message names the field."""


#: Longest list of allowed names an error message prints in full; a longer one is replaced by
#: its closest matches (or a short list) and where the full list is documented.
SHORT_LIST = 15
#: Where the full list of parameter names is documented.
PARAMETER_DOCS = "all in docs/ODD.md section 8"
#: Where the parameters and the levers (the overridable paths) are documented.
OVERRIDE_DOCS = "parameters in docs/ODD.md section 8, levers in section 6"


def closest_names(word: Any, choices: list[str], cutoff: float = 0.6) -> list[str]:
    """Up to 3 of ``choices`` closest to ``word`` (:class:`difflib.SequenceMatcher` ratio >=
    ``cutoff`` and within 0.1 of the best), best first. A dotted ``word`` whose prefix
    (``levers.``) some choices share is compared on its last part with those choices only,
    so the shared prefix does not make every name look close. A fragment of at least 4
    letters that some names contain (``tarif`` in ``us_tariff_on_china``) is answered with
    those names, shortest first, before any merely similar one."""
    word = str(word)
    prefix, dot, leaf = word.rpartition(".")
    pool = {c: c for c in choices}
    if dot and any(c.startswith(prefix + ".") for c in choices):
        pool = {c.removeprefix(prefix + "."): c for c in choices if c.startswith(prefix + ".")}
        word = leaf
    if len(word) >= 4:
        part = sorted((n for n in pool if word.lower() in n.lower()), key=len)
        if part:
            return [pool[n] for n in part[:3]]
    scored = []
    for name, full in pool.items():
        m = difflib.SequenceMatcher(None, word, name)
        if m.real_quick_ratio() >= cutoff and m.quick_ratio() >= cutoff:
            r = m.ratio()
            if r >= cutoff:
                scored.append((-r, full))
    scored.sort()
    return [full for r, full in scored[:3] if -r >= -scored[0][0] - 0.1]


def unknown_name(
    what: str, word: Any, choices: list[str], see: str = "", full: bool = False
) -> str:
    """``"unknown <what> '<word>'; did you mean 'X'? allowed <what>s: [...]"``: one line for
    a name that is not one of ``choices``.

    The suggestions are :func:`closest_names`. A list of at most :data:`SHORT_LIST` names,
    or any list with ``full`` (names no other document lists), is printed in full; a longer
    one only as its count and ``see`` (where the full list is),
    after the suggestions or, when nothing is close, after the names that share ``word``'s
    dotted prefix (``levers.``) when those are few, else after the groups of dotted names
    (``levers.* (12)``) or the first five names.
    """
    choices = [str(c) for c in choices]
    hits = closest_names(word, choices)
    mean = f"did you mean {' or '.join(repr(h) for h in hits)}? " if hits else ""
    head = f"unknown {what} {str(word)!r}; {mean}"
    if full or len(choices) <= SHORT_LIST:
        return f"{head}allowed {what}s: {choices}"
    tail = f"{len(choices)} allowed {what}s" + (f", {see}" if see else "")
    if hits:
        return f"{head}({tail})"
    prefix = str(word).rpartition(".")[0]
    group = [c for c in choices if prefix and c.startswith(prefix + ".")]
    if group and len(group) <= SHORT_LIST:
        leaves = ", ".join(c.removeprefix(prefix + ".") for c in group)
        return f"{head}the {prefix}.* {what}s: {leaves} ({tail})"
    groups: dict[str, int] = {}
    for c in choices:
        g = c.rpartition(".")[0]
        groups[f"{g}.*" if g else c] = groups.get(f"{g}.*" if g else c, 0) + 1
    if len(groups) <= SHORT_LIST:  # dotted names: their groups, e.g. levers.* (12)
        shown = ", ".join(k if k in choices else f"{k} ({n})" for k, n in groups.items())
        return f"{head}allowed {what}s: {shown} ({tail})"
    return f"{head}allowed {what}s: {choices[:5]} and {len(choices) - 5} more ({tail})"


GOOD_GROUPS = ("all", "concentrates", "oxides", "magnets")


def regions():
    """The region table (:func:`abm.regions.regions`), imported when first needed: it reads
    ``regions.csv`` with pandas, which validating a scenario needs but importing it does not."""
    from abm.regions import regions as table

    return table()


def _check_region(v: str, allow_all: bool = False) -> str:
    codes = regions().codes
    if allow_all and v in ("ALL", "allied"):
        return v
    if v not in codes:
        extra = ["ALL", "allied"] if allow_all else []
        raise ValueError(f"unknown region '{v}'; allowed: {list(codes) + extra}")
    return v


def _check_goods(items: list[str]) -> list[str]:
    allowed = (
        list(GOOD_GROUPS)
        + list(ELEMENTS)
        + [f"conc_{d}" for d in DEPOSITS]
        + [f"ox_{e}" for e in ELEMENTS]
        + [f"mag_{g}" for g in GRADES]
    )
    if not items:
        raise ValueError(f"goods is empty; name at least one good or element; allowed: {allowed}")
    for g in items:
        if g not in allowed:
            raise ValueError(f"unknown good or element '{g}'; allowed: {allowed}")
    return items


Region = Annotated[str, Field(description="region code")]


def _date_text(v: Any) -> Any:
    """A date field as text: a TOML date (``date = 2025-04-04``, unquoted) becomes
    ``"2025-04-04"``; a date-time, a time or a number is refused naming what to write."""
    if v is None or isinstance(v, str):
        return v
    # ValueError, not TypeError: pydantic turns only ValueError into a field error
    if isinstance(v, dt.datetime | dt.time):
        raise ValueError(  # noqa: TRY004
            f'got the date-time {v.isoformat()}; write a date as "YYYY-MM" or "YYYY-MM-DD"'
        )
    if isinstance(v, dt.date):
        return v.isoformat()
    raise ValueError(f'got {v!r}; write a date in quotes as "YYYY-MM" or "YYYY-MM-DD"')


@functools.lru_cache(maxsize=None)
def _companies(region: str) -> tuple[str, ...]:
    """:func:`companies`, read once when first needed (like :func:`regions`)."""
    from abm.data import load_table
    from abm.treasury import company_of

    names = {
        company_of(str(r["firm"]))
        for table in ("firms.csv", "project_pipeline.csv")
        for _, r in load_table(table).iterrows()
        if r["region"] == region and isinstance(r["firm"], str) and r["firm"].strip()
    }
    return tuple(sorted(names))


@functools.lru_cache(maxsize=None)
def _magnet_plants(region: str) -> tuple[tuple[str, str], ...]:
    """:func:`magnet_plants` with each plant's company, read once when first needed."""
    from abm.data import load_table
    from abm.treasury import company_of

    t = load_table("project_pipeline.csv")
    rows = t[(t["region"] == region) & (t["stage"] == "magnets")]
    return tuple(sorted((r["project_id"], company_of(str(r["firm"]))) for _, r in rows.iterrows()))


def magnet_plants(region: str, firms: list[str] | None = None) -> list[str]:
    """``project_id`` of the magnet plants of ``region`` in ``project_pipeline.csv``
    (sorted), of the companies ``firms`` if given."""
    return [p for p, c in _magnet_plants(region) if firms is None or c in firms]


def companies(region: str) -> list[str]:
    """Companies with a firm in ``region`` (sorted): the base-year firms of ``firms.csv``
    (any base year) and the sponsors of ``project_pipeline.csv``, named by
    :func:`abm.treasury.company_of`."""
    return list(_companies(region))


def _check_firms(m):
    """Refuse a ``firms`` entry that names no company of the measure's ``actor`` region
    (naming the allowed companies), and a company given twice."""
    if m.firms is None:
        return m
    allowed = companies(m.actor)
    _not_empty(m.firms, "firms", allowed, f"every firm in {m.actor}")
    for f in m.firms:
        if f not in allowed:
            near = difflib.get_close_matches(f, allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ValueError(f"firms: unknown company '{f}' in {m.actor}{hint}; allowed: {allowed}")
    if len(set(m.firms)) < len(m.firms):
        raise ValueError(f"firms: a company is given twice in {m.firms}")
    return m


def _check_offtake(m):
    """Refuse offtake terms without an offtake (``offtake_share`` 0) and an
    ``offtake_plants`` entry that names no magnet plant of the actor region in
    ``project_pipeline.csv`` (naming the allowed ones)."""
    if m.offtake_share <= 0 and (m.offtake_plants is not None or m.offtake_min_ebitda_usd):
        raise ValueError(
            "offtake_plants and offtake_min_ebitda_usd need an offtake: set offtake_share > 0"
        )
    if m.offtake_plants is None:
        return m
    allowed = magnet_plants(m.actor, m.firms)
    _not_empty(m.offtake_plants, "offtake_plants", allowed, "every magnet plant of the firms")
    owner = dict(_magnet_plants(m.actor))
    for p in m.offtake_plants:
        if p in owner and p not in allowed:
            raise ValueError(
                f"offtake_plants: '{p}' is a plant of {owner[p]}, not of the floor's firms "
                f"{m.firms}; allowed: {allowed}"
            )
        if p not in allowed:
            near = difflib.get_close_matches(p, allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ValueError(
                f"offtake_plants: unknown magnet plant '{p}' in {m.actor}{hint}; allowed: {allowed}"
            )
    if len(set(m.offtake_plants)) < len(m.offtake_plants):
        raise ValueError(f"offtake_plants: a plant is given twice in {m.offtake_plants}")
    return m


def _not_empty(v: list | None, what: str, allowed: list[str], none_means: str) -> list | None:
    """Refuse an empty list where one would do nothing (``None``/omitted means
    ``none_means``)."""
    if v is not None and not v:
        raise ValueError(
            f"{what} is empty; omit it for {none_means} or name at least one; allowed: {allowed}"
        )
    return v


class _Measure(NumbersModel):
    date: str = Field(description="first day in force, YYYY-MM or YYYY-MM-DD")
    end: str | None = Field(None, description="last month in force (exclusive), or none")
    id: str | None = Field(None, description="identifier other measures may refer to")
    label: str = ""
    source: str = Field("", description="citation of the event")

    _dt = field_validator("date", "end", mode="before")(lambda v: _date_text(v))

    @field_validator("date", "end")
    @classmethod
    def _date(cls, v):
        if v is None:
            return v
        to_month(v)
        return v

    @field_validator("end")
    @classmethod
    def _end_after_date(cls, v, info):
        # a field check of ``end`` (validated after ``date``), so the line names the field
        # and the block as the other field checks do; skipped when ``date`` itself is bad
        date = info.data.get("date")
        if v is not None and date is not None and to_month(v) <= to_month(date):
            raise ValueError(
                f"{v} is not after the measure's date {date}; allowed: a month after {date} "
                "(end is the first month no longer in force), or leave end out"
            )
        return v

    @model_validator(mode="after")
    def _targets(self):
        targets = getattr(self, "targets", None)
        if targets is not None:
            if not targets:
                raise ValueError("targets is empty; name at least one region, 'allied' or 'ALL'")
            if getattr(self, "actor", None) in targets:
                raise ValueError(f"actor {self.actor} cannot target itself")
        return self


class Tariff(_Measure):
    """Ad valorem import tariff of ``actor`` on goods from ``targets`` (fraction, 1.45 = 145%).

    ``mode = "set"`` fixes the total rate while in force (the latest active set wins, so a
    truce with an ``end`` reverts to the earlier rate when it expires); ``"add"`` adds, so an
    ``add`` rate must be above 0 (0 would change nothing).
    """

    kind: Literal["tariff"]
    actor: str
    targets: list[str]
    rate: float = Field(ge=0, le=10)
    mode: Literal["set", "add"] = "set"
    goods: list[str] = ["all"]

    _a = field_validator("actor")(lambda v: _check_region(v))
    _t = field_validator("targets")(lambda v: [_check_region(x, True) for x in v])
    _g = field_validator("goods")(lambda v: _check_goods(v))

    @model_validator(mode="after")
    def _add_changes_something(self):
        if self.mode == "add" and self.rate == 0:
            raise ValueError(
                "rate: an add tariff of 0 changes nothing; allowed: 0 < rate <= "
                '10 for mode "add" (a rate of 0 needs mode "set")'
            )
        return self


class ExportDuty(_Measure):
    """Ad valorem export duty levied by ``actor`` on ``goods`` (fraction, 0 < rate <= 5;
    duties add up, so 0 would change nothing: end a duty with ``end`` or a suspension)."""

    kind: Literal["export_duty"]
    actor: str
    rate: float = Field(gt=0, le=5)
    goods: list[str] = ["all"]
    _a = field_validator("actor")(lambda v: _check_region(v))
    _g = field_validator("goods")(lambda v: _check_goods(v))


LICENCE_FORMS = ("concentrates", "oxides", "magnets")
END_USES = ("all", "civil", "defense")


def _check_elements(v: list[str] | None) -> list[str] | None:
    if v is None:
        return v
    if not v:
        raise ValueError(f"elements is empty; name at least one; allowed: {list(ELEMENTS)}")
    for e in v:
        if e not in ELEMENTS:
            raise ValueError(f"unknown element '{e}'; allowed: {list(ELEMENTS)}")
    return v


def _check_destinations(
    v: dict[str, float], what: str, low: float, high: float, low_open: bool = False
) -> dict[str, float]:
    """A destination table: keys are region codes, ``allied`` or ``default``."""
    allowed = list(regions().codes) + ["allied", "default"]
    for k, x in v.items():
        if k not in allowed:
            raise ValueError(
                f"{what} key '{k}' is not a region, 'allied' or 'default'; allowed: {allowed}"
            )
        if not (low < x if low_open else low <= x) or not x <= high:
            bound = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
            raise ValueError(f"{what}['{k}'] = {x} must lie in {bound}")
    return v


def _review_table(v: dict[str, float] | float | None) -> dict[str, float] | None:
    """``review_months``: a number (every destination) or a destination table, months."""
    if v is None:
        return v
    if not isinstance(v, dict):
        v = {"default": float(v)}
    return _check_destinations(v, "review_months", 0.0, 24.0, low_open=True)


class ExportLicence(_Measure):
    """Export-licence regime of ``actor`` on goods containing ``elements``.

    A good of one of the ``forms`` (default: concentrates, oxides and magnets) is covered if
    its content of a listed element is at least ``min_content`` (t per t). Buyers apply once
    per shipment of their documented end use; each application is approved with probability
    ``approval[destination]`` (keys: region codes, ``allied``, ``default``; 0.5 where none
    applies) after a review delay with mean
    ``review_months[destination]`` (a number or a destination table, months; default
    ``parameters.licence_review_months``); defense end use is denied when
    ``defense_denial``. ``licence_policy`` measures refine both per element, form (oxides,
    magnets, concentrates) and end use. With ``extraterritorial``, exports from third
    countries of goods with China-origin content >= 0.1% also need a licence (MOFCOM
    Announcement 61/2025).
    """

    kind: Literal["export_licence"]
    actor: str
    elements: list[str]
    approval: dict[str, float] = {"default": 0.5}
    review_months: dict[str, float] | float | None = None
    defense_denial: bool = True
    extraterritorial: bool = False
    min_content: float = Field(0.0, ge=0, le=1)
    forms: list[Literal["concentrates", "oxides", "magnets"]] = list(LICENCE_FORMS)
    _a = field_validator("actor")(lambda v: _check_region(v))
    _e = field_validator("elements")(lambda v: _check_elements(v))
    _r = field_validator("review_months")(lambda v: _review_table(v))

    @field_validator("forms")
    @classmethod
    def _forms(cls, v):
        if not v:
            raise ValueError(f"forms is empty; allowed: {list(LICENCE_FORMS)}")
        return v

    @field_validator("approval")
    @classmethod
    def _appr(cls, v):
        return _check_destinations(v, "approval", 0.0, 1.0)


class LicencePolicy(_Measure):
    """Change the approval probabilities and/or mean review delays of the active licence
    regime(s) of ``actor``, for the listed ``elements`` (default: every controlled element),
    ``forms`` of the goods containing them (default: concentrates, oxides and magnets) and
    ``end_use`` (``all``, ``civil`` or ``defense``; a regime's defense denial still wins).

    ``approval`` and ``review_months`` are destination tables (keys: region codes,
    ``allied``, ``default``; ``review_months`` may be one number); their keys replace the
    same keys of the regime and of earlier policies, other keys keep their values. A good
    containing several controlled elements takes the strictest of them.
    """

    kind: Literal["licence_policy"]
    actor: str
    elements: list[str] | None = None
    forms: list[Literal["concentrates", "oxides", "magnets"]] = list(LICENCE_FORMS)
    end_use: Literal["all", "civil", "defense"] = "all"
    approval: dict[str, float] = {}
    review_months: dict[str, float] | float | None = None
    _a = field_validator("actor")(lambda v: _check_region(v))
    _e = field_validator("elements")(lambda v: _check_elements(v))
    _p = field_validator("approval")(lambda v: ExportLicence._appr(v))
    _r = field_validator("review_months")(lambda v: _review_table(v))
    _f = field_validator("forms")(lambda v: ExportLicence._forms(v))

    @model_validator(mode="after")
    def _something(self):
        if not self.approval and not self.review_months:
            raise ValueError(
                "licence_policy sets neither approval nor review_months; give at least one"
            )
        return self


class _Quota(_Measure):
    """Fields shared by export and import quotas: ``actor``, ``tonnes_per_year`` (t per
    year), ``goods`` and ``allocation`` (``"joint"`` or ``"historical"``)."""

    actor: str
    tonnes_per_year: float = Field(ge=0)
    goods: list[str] = ["oxides"]
    allocation: Literal["joint", "historical"] = "joint"
    _a = field_validator("actor")(lambda v: _check_region(v))
    _g = field_validator("goods")(lambda v: _check_goods(v))


class ExportQuota(_Quota):
    """Annual export quota of ``actor`` on ``goods`` (t REO per year, all destinations).

    ``allocation``: ``"joint"`` (default) lets the market fill one shared quota with
    whatever goods are worth most abroad; ``"historical"`` splits the quota over the goods
    in proportion to the actor's base-year exports of each without quotas (China allocated
    its quotas to exporters by past export performance, so every product's exports fall
    with the quota), so a good the actor did not export in the base year gets no quota.
    """

    kind: Literal["export_quota"]


class ImportQuota(_Quota):
    """Annual import quota of ``actor`` on ``goods`` (t per year, from all origins other
    than the actor; domestic supply is not covered: cap the actor's mines with a
    ``production_quota``).

    A quantitative import restriction (GATT Art. XI), entered like an export quota as one
    aggregate constraint on the arcs into the actor in the spatial price equilibrium
    (Takayama and Judge 1971). ``allocation``: ``"joint"`` (default) lets the market fill
    one shared quota with whatever goods are worth most; ``"historical"`` splits the quota
    over the goods in proportion to the actor's base-year imports of each without quotas,
    so every good's imports fall by the same share and a good the actor did not import in
    the base year gets no quota. Used by the reproduction's IMF comparison to cut a
    region's rare-earth supply from all origins (experiments/reproduce/imf_cut.py).
    """

    kind: Literal["import_quota"]


class Embargo(_Measure):
    """Halt of exports of ``goods`` from ``actor`` to ``targets``."""

    kind: Literal["embargo"]
    actor: str
    targets: list[str]
    goods: list[str] = ["all"]
    _a = field_validator("actor")(lambda v: _check_region(v))
    _t = field_validator("targets")(lambda v: [_check_region(x, True) for x in v])
    _g = field_validator("goods")(lambda v: _check_goods(v))


class ProductionQuota(_Measure):
    """Cap on the mine output of ``actor`` (t REO per year), for all deposits or only the
    listed ``deposits`` (e.g. China's 2011 quota: 80,400 t light, 13,400 t medium/heavy).

    ``leakage`` (0-1, default 0) is the share of the gap between planned output and the
    quota that is mined anyway (unreported or illegal output): allowed output =
    quota + leakage x (planned - quota). Give its source in the measure's ``source``.
    """

    kind: Literal["production_quota"]
    actor: str
    tonnes_per_year: float = Field(ge=0)
    deposits: list[str] | None = None
    leakage: float = Field(0.0, ge=0, le=1)
    growth_per_year: float = Field(
        0.0,
        ge=-0.5,
        le=0.5,
        description="yearly growth of the quota after its first "
        "year (for quotas assumed to keep growing, e.g. China's "
        "unpublished 2025+ quotas)",
    )
    _a = field_validator("actor")(lambda v: _check_region(v))

    @field_validator("deposits")
    @classmethod
    def _deps(cls, v):
        _not_empty(v, "deposits", list(DEPOSITS), "all deposits")
        for d in v or []:
            if d not in DEPOSITS:
                raise ValueError(f"unknown deposit '{d}'; allowed: {list(DEPOSITS)}")
        return v


class ProductionHalt(_Measure):
    """Halt of a share of ``actor``'s mine output of ``deposits`` (all deposits when None)
    while in force (e.g. Baotou Steel Rare-Earth stopped smelting and separation and its
    supply of raw material to partners for a month from 19 October 2011): output is
    multiplied by ``1 - share`` (0 < share <= 1) on top of any production quota."""

    kind: Literal["production_halt"]
    actor: str
    deposits: list[str] | None = None
    share: float = Field(1.0, gt=0, le=1)
    _a = field_validator("actor")(lambda v: _check_region(v))
    _d = field_validator("deposits")(lambda v: ProductionQuota._deps(v))


class StatePurchase(_Measure):
    """A state purchase programme run by ``actor``'s state reserve
    (:class:`agents.stockholder.StateReserve`): buy ``goods`` for ``budget_usd`` (USD) or
    ``tonnes`` (t) in all, spread evenly over the months from ``date`` to ``end``, split
    over the goods by the region's base-year use; each month's purchase is bid at
    ``reserve_trigger_multiple`` x the reserve's expected price (it buys when the market
    falls below what it expected: price support). Stock bought is held (a strategic
    reserve), not released by the programme. Exactly one of ``budget_usd`` and ``tonnes``.
    """

    kind: Literal["state_purchase"]
    actor: str
    goods: list[str] = ["ox_Dy", "ox_Tb"]
    budget_usd: float | None = Field(None, gt=0)
    tonnes: float | None = Field(None, gt=0)
    end: str
    _a = field_validator("actor")(lambda v: _check_region(v))
    _g = field_validator("goods")(lambda v: _check_goods(v))

    @model_validator(mode="after")
    def _one_size(self):
        if (self.budget_usd is None) == (self.tonnes is None):
            raise ValueError("give exactly one of budget_usd (USD) and tonnes (t)")
        return self


class Suspension(_Measure):
    """Suspend the measure with id ``target_id`` from ``date`` until ``end``."""

    kind: Literal["suspension"]
    target_id: str


class PriceFloor(_Measure):
    """Government price floor for a domestic producer's oxide output (USD/kg).

    The government pays producers in ``actor`` of ``goods`` the gap between the floor and
    the market price. With ``offtake_share`` > 0 it also guarantees the region's magnet
    makers a magnet price (the magnet reference price plus the floor's lift of the NdPr
    content, :meth:`abm.policy.PolicyState.offtake_price`) and pays the gap to it on all
    their magnet sales; no goods move to the government, and the share itself only switches
    the offtake on (DoD-MP Materials, July 2025: $110/kg NdPr, 10-year offtake).
    ``offtake_plants`` limits the offtake to named magnet plants (MP's 10X plant alone).
    ``offtake_min_ebitda_usd`` makes it also a cost-plus guarantee: each covered plant is
    guaranteed its unit cost (inputs at its expected prices and conversion) plus the
    minimum EBITDA over its nameplate output, adjusted by ``offtake_ebitda_growth`` a year
    from the measure's date (:meth:`abm.policy.PolicyState.offtake_margin`; DoW offtake
    agreement: 140 M USD a year, +2% a year, MP Materials 10-Q for Q3 2025).

    ``firms`` names the companies the floor and offtake are contracted with (companies of
    ``actor`` in ``firms.csv`` or ``project_pipeline.csv``); omitted, every producer of the
    region gets them (a general floor, the ``ndpr_price_floor`` lever).
    """

    kind: Literal["price_floor"]
    actor: str
    goods: list[str] = ["ox_Nd", "ox_Pr"]
    floor_usd_kg: float = Field(ge=0)
    offtake_share: float = Field(0.0, ge=0, le=1)
    firms: list[str] | None = Field(
        None, description="companies the floor is contracted with; omitted: every producer"
    )
    offtake_plants: list[str] | None = Field(
        None,
        description="magnet plants (project_id in project_pipeline.csv) the offtake covers; "
        "omitted: every magnet plant of the floor's firms",
    )
    offtake_min_ebitda_usd: float | None = Field(
        None,
        ge=0,
        description="minimum EBITDA the offtake guarantees each covered plant at nameplate, "
        "USD/yr (a cost-plus price: unit cost + this over nameplate output)",
    )
    offtake_ebitda_growth: float = Field(
        0.0, ge=0, le=0.2, description="annual adjustment of the minimum EBITDA, share/yr"
    )
    _a = field_validator("actor")(lambda v: _check_region(v))
    _g = field_validator("goods")(lambda v: _check_goods(v))
    _f = model_validator(mode="after")(_check_firms)
    _o = model_validator(mode="after")(lambda m: _check_offtake(m))


class Subsidy(_Measure):
    """Public support of ``actor`` for new capacity at ``stages``
    (:func:`abm.investment.financing`): a capital grant (``capex_share`` of the capital
    cost; 0 unless given, until session 23 0.3), a concessional loan (``loan_share`` of
    the rest at ``loan_rate`` per year; the model's ``public_discount_rate`` if omitted),
    a public equity stake (``equity_share``) and a faster permit (``lead_time_factor``,
    the lead-time multiplier). ``firms`` names the companies it is granted to (companies
    of ``actor`` in ``firms.csv`` or ``project_pipeline.csv``); omitted, every firm of the
    region at those stages. A measure that changes nothing is refused, and so is
    ``loan_share + equity_share`` above 1."""

    kind: Literal["subsidy"]
    actor: str
    stages: list[str] = list(STAGES)
    capex_share: float = Field(0.0, ge=0, le=1)
    loan_share: float = Field(0.0, ge=0, le=1)
    loan_rate: float | None = Field(None, ge=0, le=0.3)
    equity_share: float = Field(0.0, ge=0, le=1)
    lead_time_factor: float = Field(1.0, gt=0, le=2)
    firms: list[str] | None = Field(
        None, description="companies the support is granted to; omitted: every firm"
    )
    _a = field_validator("actor")(lambda v: _check_region(v))
    _f = model_validator(mode="after")(_check_firms)

    @model_validator(mode="after")
    def _changes_something(self):
        if (
            self.capex_share == 0
            and self.loan_share == 0
            and self.equity_share == 0
            and self.lead_time_factor == 1
        ):
            raise ValueError(
                "capex_share = loan_share = equity_share = 0 with lead_time_factor = 1 "
                "changes nothing; give one of the shares in (0, 1] or lead_time_factor in "
                "(0, 2] other than 1"
            )
        if self.loan_share + self.equity_share > 1:
            raise ValueError(
                f"loan_share + equity_share = {self.loan_share + self.equity_share:g} is "
                "above 1; they are shares of the capital cost after the grant"
            )
        return self

    @field_validator("stages")
    @classmethod
    def _st(cls, v):
        _not_empty(v, "stages", list(STAGES), "all stages")
        for s in v:
            if s not in STAGES:
                raise ValueError(f"unknown stage '{s}'; allowed: {list(STAGES)}")
        return v


class Stockpile(_Measure):
    """Strategic stockpile of ``actor``: target in months of the region's base-year use of
    ``goods``. With ``held_at_start`` the stockpile was built before the run (JOGMEC's,
    for instance): its agency holds the target when the run starts (the measure's date
    must be the scenario's start); otherwise it buys towards it from its date. Several
    stockpiles of one actor hold the highest target of each good."""

    kind: Literal["stockpile"]
    actor: str
    goods: list[str] = ["ox_Nd", "ox_Pr", "ox_Dy", "ox_Tb", "mag_ndfeb_ht"]
    target_months: float = Field(ge=0, le=60)
    held_at_start: bool = False
    _a = field_validator("actor")(lambda v: _check_region(v))
    _g = field_validator("goods")(lambda v: _check_goods(v))


class SourcingRule(_Measure):
    """Defense buyers of ``actor`` may not buy ``goods`` from ``banned`` origins
    (e.g. DFARS 225.7018: no Chinese-origin magnets in US defense from 2027)."""

    kind: Literal["sourcing_rule"]
    actor: str
    banned: list[str] = ["CN"]
    goods: list[str] = ["magnets"]
    _a = field_validator("actor")(lambda v: _check_region(v))
    _b = field_validator("banned")(
        lambda v: [
            _check_region(x)
            for x in _not_empty(v, "banned", list(regions().codes), "the default ['CN']")
        ]
    )
    _g = field_validator("goods")(lambda v: _check_goods(v))


Measure = Annotated[
    Union[
        Tariff,
        ExportDuty,
        ExportLicence,
        LicencePolicy,
        ExportQuota,
        ImportQuota,
        Embargo,
        ProductionQuota,
        Suspension,
        PriceFloor,
        Subsidy,
        Stockpile,
        SourcingRule,
        ProductionHalt,
        StatePurchase,
    ],
    Field(discriminator="kind"),
]
MEASURE_KINDS = (
    "tariff",
    "export_duty",
    "export_licence",
    "licence_policy",
    "export_quota",
    "import_quota",
    "embargo",
    "production_quota",
    "suspension",
    "price_floor",
    "subsidy",
    "stockpile",
    "sourcing_rule",
    "production_halt",
    "state_purchase",
)


class Levers(NumbersModel):
    """Policy levers applied on top of the scheduled measures from ``start`` (UI, sweeps).

    ``None`` leaves the schedule unchanged.
    """

    start: str = Field("2025-04", description="month from which lever values apply")
    us_tariff_on_china: float | None = Field(
        None,
        ge=0,
        le=5,
        description="US ad valorem tariff on all goods from China (fraction: 1.45 = 145%)",
        json_schema_extra={"unit": "fraction", "low": 0.0, "high": 5.0},
    )
    approval_rate_allies: float | None = Field(
        None,
        ge=0,
        le=1,
        description="China's licence approval probability for allied "
        "destinations (the `alliance` regions of regions.csv, the US included unless "
        "approval_rate_us is set)",
        json_schema_extra={"unit": "-", "low": 0.0, "high": 1.0},
    )
    approval_rate_us: float | None = Field(
        None,
        ge=0,
        le=1,
        description="China's licence approval probability for the US",
        json_schema_extra={"unit": "-", "low": 0.0, "high": 1.0},
    )
    defense_end_use_denial: bool | None = Field(
        None, description="deny licences for defense end use (None: as scheduled)"
    )
    licence_review_months: float | None = Field(
        None,
        gt=0,
        le=24,
        description="mean review delay of China's export-licence "
        "applications, months (None: as scheduled)",
        json_schema_extra={"unit": "months", "low": 0.5, "high": 6.0},
    )
    licence_elements: list[str] | None = Field(
        None,
        description="controlled elements the approval and review levers apply to "
        "(None: all); goods with several controlled elements take the strictest",
    )
    truce_start: str | None = Field(None, description="start of a US-China tariff truce")
    truce_months: int = Field(
        3,
        ge=0,
        le=120,
        description="length of the truce, months",
        json_schema_extra={"unit": "months", "low": 0, "high": 36},
    )
    ndpr_price_floor: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="US price floor for NdPr oxide, USD/kg",
        json_schema_extra={"unit": "USD/kg", "low": 0.0, "high": 300.0},
    )
    stockpile_target_months: float | None = Field(
        None,
        ge=0,
        le=60,
        description="allied strategic stockpile target, months of use",
        json_schema_extra={"unit": "months", "low": 0.0, "high": 24.0},
    )
    substitution_speed: float = Field(
        1.0,
        gt=0,
        le=10,
        description="multiplier on the speed of thrifting and substitution",
        json_schema_extra={"unit": "x", "low": 0.25, "high": 4.0},
    )

    _dt = field_validator("start", "truce_start", mode="before")(lambda v: _date_text(v))

    @field_validator("start", "truce_start")
    @classmethod
    def _d(cls, v):
        if v is not None:
            to_month(v)
        return v

    _e = field_validator("licence_elements")(lambda v: _check_elements(v))


#: Levers that act only inside an export-licence regime (``export_licence`` measures).
LICENCE_LEVERS = (
    "approval_rate_allies",
    "approval_rate_us",
    "defense_end_use_denial",
    "licence_review_months",
    "licence_elements",
)


def end_allowed(start: str) -> str:
    """The months a scenario's ``end`` may take, as error messages state them: from
    ``start`` to December of the last year of the demand outlook
    (:func:`abm.demand.last_data_month`)."""
    try:
        from abm.demand import last_data_month

        last = last_data_month()
    except Exception:  # noqa: BLE001 - a broken data table is reported on its own
        return f"a month from {start} (the scenario's start)"
    return (
        f"a month from {start} (the scenario's start) to {last} (the last year of the demand "
        "outlook, abm/data/demand_outlook.csv; later months would extrapolate beyond the data)"
    )


class _MeasureFieldError(ValueError):
    """A check of the whole scenario that concerns one field of one measure (a ``date``
    outside the horizon): it carries the measure's index and field, so
    :func:`_format_errors` writes its line as a field check's,
    ``field 'measures[i].date' (<measure>, [[measures]] block i+1): <problem>``, with the
    block counted in the file's own ``[[measures]]`` of an ``extends`` file.

    Attributes:
        index: the measure's index in ``measures``.
        field: the field's name (``"date"``).
        which: the measure as the line names it (``measure '<id>'`` or ``<kind> measure``).
        problem: what is wrong and what is allowed.
    """

    def __init__(self, index: int, field: str, which: str, problem: str) -> None:
        self.index, self.field, self.which, self.problem = index, field, which, problem
        super().__init__(
            f"field 'measures[{index}].{field}' ({which}, [[measures]] block {index + 1}): "
            f"{problem}"
        )


class Scenario(NumbersModel):
    """A complete scenario: horizon, base-year world, parameters, levers and measures."""

    name: str
    description: str = ""
    base_year: Literal[2009, 2010, 2024] = 2024
    start: str = "2024-01"
    end: str = "2035-12"
    firms: int | None = Field(
        None,
        ge=50,
        le=10000,
        description="number of firm agents (scale; at least the base "
        "year's minimum, 110 for 2024, checked when the world is built); "
        "None = data default",
    )
    parameters: Parameters = Parameters()
    levers: Levers = Levers()
    measures: list[Measure] = []

    _dt = field_validator("start", "end", mode="before")(lambda v: _date_text(v))

    @field_validator("start", "end")
    @classmethod
    def _d(cls, v):
        to_month(v)
        return v

    @model_validator(mode="after")
    def _horizon(self):
        # checks of the whole scenario name their field in the text, in the form of the
        # field checks: "field 'X': <problem>; allowed: <range>"
        s, e = to_month(self.start), to_month(self.end)
        if e < s:
            raise ValueError(
                f"field 'end': {self.end} is before start {self.start}; allowed: "
                + end_allowed(self.start)
            )
        if s.year != self.base_year:
            raise ValueError(
                f"field 'start': {self.start} is not in base_year {self.base_year}: the world "
                "is built from that year's data and the run starts in it; allowed: a month of "
                f'{self.base_year} (e.g. "{self.base_year}-01"), or set base_year to the start '
                "year (allowed base years: 2009, 2010, 2024)"
            )
        horizon = f"allowed: a month from {self.start} to {self.end} (the horizon)"
        seen: dict[str, int] = {}
        for i, m in enumerate(self.measures):
            if m.id and m.id in seen:
                raise _MeasureFieldError(
                    i,
                    "id",
                    f"measure '{m.id}'",
                    f"'{m.id}' is used twice (also measures[{seen[m.id]}]); ids must be unique",
                )
            if m.id:
                seen[m.id] = i
        ids = set(seen)
        _check_stacking(self.measures)
        for i, m in enumerate(self.measures):
            d = to_month(m.date)
            which = f"measure '{m.id}'" if m.id else f"{m.kind} measure"
            # a stockpile held at the start is dated at the start, whatever the horizon:
            # this message, not the horizon's, names what to change
            if m.kind == "stockpile" and m.held_at_start and d != s:
                raise _MeasureFieldError(
                    i,
                    "date",
                    which,
                    f"{m.date} is not the start {self.start}; a stockpile held_at_start was "
                    "built before the run, so it is dated at the start; allowed: "
                    f'"{self.start}", or held_at_start = false to buy it from its date',
                )
            if not s <= d <= e:
                raise _MeasureFieldError(
                    i, "date", which, f"{m.date} is outside the horizon; {horizon}"
                )
            if m.kind == "suspension" and m.id is not None and m.target_id == m.id:
                raise _MeasureFieldError(
                    i,
                    "target_id",
                    which,
                    f"'{m.target_id}' is the suspension's own id; name the measure to suspend",
                )
            if m.kind == "suspension" and m.target_id not in ids:
                raise _MeasureFieldError(
                    i,
                    "target_id",
                    which,
                    f"'{m.target_id}' names no measure; allowed: {sorted(ids)}",
                )
        for f in ("truce_start",):
            v = getattr(self.levers, f)
            if v is not None and not s <= to_month(v) <= e:
                raise ValueError(f"field 'levers.{f}': {v} is outside the horizon; {horizon}")
        # levers.start outside the horizon: refused when levers are set (they would never
        # apply) or when it was given (the default 2025-04 stays valid for 2009-2016 runs)
        gated = self.gated_levers()
        given = self.levers.start != type(self.levers).model_fields["start"].default
        if (gated or given) and not s <= to_month(self.levers.start) <= e:
            why = (
                f", so the levers set ({', '.join(gated)}) would never apply; {horizon}"
                if gated
                else f"; {horizon}, or leave it out: it only dates the levers"
            )
            raise ValueError(
                f"field 'levers.start': {self.levers.start} is outside the horizon{why}"
            )
        return self

    # ------------------------------------------------------------------ helpers
    def gated_levers(self) -> list[str]:
        """Names of the levers set that apply only from ``levers.start``."""
        return [
            f
            for f in (
                "us_tariff_on_china",
                "approval_rate_allies",
                "approval_rate_us",
                "defense_end_use_denial",
                "licence_review_months",
                "ndpr_price_floor",
                "stockpile_target_months",
            )
            if getattr(self.levers, f) is not None
        ]

    def levers_never_apply(self, months: int | None) -> tuple[int, list[str]] | None:
        """For a run of ``months`` months (None: the whole horizon) that ends before
        ``levers.start`` while levers that act only from that month are set
        (:meth:`gated_levers`): the months a run needs for them to apply (step of
        ``levers.start`` + 1) and their names; else None. A whole-horizon run is checked by
        the scenario itself (``levers.start`` inside it)."""
        from abm.timeline import month_index

        gated = self.gated_levers()
        if not gated or months is None:
            return None
        first = month_index(self.levers.start, to_month(self.start))
        return (first + 1, gated) if first >= int(months) else None

    def inert_levers(self) -> list[str]:
        """Names of the levers set that can have no effect in this scenario: the licence
        levers (:data:`LICENCE_LEVERS`) when no ``export_licence`` measure exists (they
        change approvals and review delays of licence regimes, 7.3); ``truce_months`` set
        to other than its default while ``truce_start`` is not set (no truce starts)."""
        out = []
        if not any(m.kind == "export_licence" for m in self.measures):
            out = [f for f in LICENCE_LEVERS if getattr(self.levers, f) is not None]
        lev = self.levers
        if (
            lev.truce_start is None
            and lev.truce_months != type(lev).model_fields["truce_months"].default
        ):
            out.append("truce_months")
        return out

    @property
    def months(self) -> int:
        """Number of monthly steps from start to end inclusive."""
        s, e = to_month(self.start), to_month(self.end)
        return (e.year - s.year) * 12 + e.month - s.month + 1

    def to_toml(self) -> str:
        """Dump to TOML text (round-trips through :func:`loads_scenario`)."""
        return tomli_w.dumps(_strip_none(self.model_dump(mode="json")))

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the scenario (hex, 64 chars)."""
        return sha256_hex(canonical_json(self.model_dump(mode="json"), ascii=True))


def _stacking_keys(m: Any) -> list[tuple]:
    """Keys under which two measures of a kind that adds up (``add`` tariffs, export
    duties) or overrides (``set`` tariffs) would act on the same trade from the same day:
    (kind, mode, actor, target as written, good as written, date as written)."""
    if m.kind == "tariff":
        return [("tariff", m.mode, m.actor, t, g, m.date) for t in m.targets for g in m.goods]
    if m.kind == "export_duty":
        return [("export_duty", "add", m.actor, "", g, m.date) for g in m.goods]
    return []


def _check_stacking(measures: list) -> None:
    """Refuse the same tariff or export duty given twice (pasted twice, it would silently
    double the rate, or leave two ``set`` rates where the list order picks the winner).

    Raises:
        ValueError: naming both measures, the duplicated (actor, partner, good, date) and
            what to write instead.
    """
    seen: dict[tuple, int] = {}
    for i, m in enumerate(measures):
        for key in _stacking_keys(m):
            j = seen.get(key)
            if j is not None:
                kind, mode, actor, target, good, date = key
                what = (
                    f"{mode} tariff of {actor} on '{good}' from {target}"
                    if kind == "tariff"
                    else f"export duty of {actor} on '{good}'"
                )
                fix = (
                    "give one measure with the total rate"
                    if mode == "add"
                    else "keep one (the later set rate would silently win)"
                )
                how = "add up" if mode == "add" else "override each other"
                raise ValueError(
                    f"measures[{i}] ([[measures]] block {i + 1}) repeats "
                    f"measures[{j}] (block {j + 1}): the {what} dated {date} is "
                    f"given twice ({kind} measures {how}); {fix}"
                )
            seen[key] = i


def _strip_none(obj):
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


# ---------------------------------------------------------------------- error messages
# every measure class of the union (a kind missing here left its tag in the field path of an
# error, e.g. 'measures[3].production_halt.share')
_MEASURE_CLASSES = {
    c.model_fields["kind"].annotation.__args__[0]: c
    for c in typing.get_args(typing.get_args(Measure)[0])
}
assert tuple(_MEASURE_CLASSES) == MEASURE_KINDS, "MEASURE_KINDS and the Measure union differ"


def _model_at(loc: tuple, data: Any) -> type[BaseModel] | None:
    cls: type[BaseModel] = Scenario
    node = data
    for part in loc[:-1]:
        if isinstance(part, int):
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if cls is Scenario and isinstance(node, dict):
                    cls = _MEASURE_CLASSES.get(node.get("kind"), cls)
            continue
        if part in _MEASURE_CLASSES:
            continue
        field = cls.model_fields.get(part)
        if field is None:
            return None
        node = node.get(part, {}) if isinstance(node, dict) else {}
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            cls = ann
    return cls


_BOUND_TYPES = (
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",  # nan or inf: the interval says what to write instead
)


def _bounds(cls: type[BaseModel] | None, loc: tuple) -> str | None:
    """The allowed interval of field ``loc[-1]`` of ``cls`` as text, e.g. ``0 <= x <= 1``
    (None when the error is not about a field of ``cls``, e.g. an item of a list)."""
    f = cls.model_fields.get(loc[-1]) if cls is not None and loc else None
    if f is None:
        return None
    lo = hi = ""
    for c in f.metadata:
        for attr, text in (("ge", "{} <= "), ("gt", "{} < ")):
            if getattr(c, attr, None) is not None:
                lo = text.format(getattr(c, attr))
        for attr, text in (("le", " <= {}"), ("lt", " < {}")):
            if getattr(c, attr, None) is not None:
                hi = text.format(getattr(c, attr))
    if not (lo or hi):
        return None
    unit = (
        (f.json_schema_extra or {}).get("unit") if isinstance(f.json_schema_extra, dict) else None
    )
    note = f" ({unit}: 1.45 = 145%)" if unit == "fraction" else ""
    return f"{lo}{loc[-1]}{hi}{note}"


#: the destination tables of licence measures (:func:`_check_destinations`)
_TABLES = ("approval", "review_months")

#: Errors about the shape of a list or pair field (or of one of its items): the message
#: then gives the allowed form (:func:`_sequence_form`).
_SHAPE_TYPES = (
    "tuple_type",
    "list_type",
    "missing",
    "too_short",
    "too_long",
    "float_parsing",
    "float_type",
    "string_type",
)


def _list_items(name: str, item: Any) -> list[str] | None:
    """The allowed items of a list field ``name`` whose items are ``item``: a ``Literal``'s
    values, else those its validator checks (elements, goods, regions, stages)."""
    if typing.get_origin(item) is Literal:
        return [str(a) for a in typing.get_args(item)]
    if "elements" in name:
        return list(ELEMENTS)
    if name == "goods":
        return (
            list(GOOD_GROUPS) + list(ELEMENTS) + ["ox_<element>", "mag_<grade>", "conc_<deposit>"]
        )
    if name in ("targets", "banned"):
        return list(regions().codes)
    if name == "stages":
        return list(STAGES)
    if name == "deposits":
        return list(DEPOSITS)
    return None


def _sequence_form(cls: type[BaseModel] | None, name: Any) -> str | None:
    """The allowed form of a list or pair field ``name`` of ``cls`` as text, e.g. ``a pair
    [low, high] in years with 3.0 <= low <= high <= 30.0, e.g. [8.0, 15.0]`` or ``a list such
    as ["Dy", "Tb"] (allowed items: La, Ce, ...)``; None for other fields."""
    import json

    f = cls.model_fields.get(name) if cls is not None and isinstance(name, str) else None
    if f is None:
        return None
    ann = f.annotation
    if typing.get_origin(ann) in (Union, types.UnionType):
        ann = next((a for a in typing.get_args(ann) if a is not type(None)), ann)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    default = f.default if isinstance(f.default, list | tuple) else None
    if origin is tuple and args:
        unit, lo, hi = extra.get("unit"), extra.get("low"), extra.get("high")
        what = "a pair [low, high]" if len(args) == 2 else f"a list of {len(args)} numbers"
        text = what + (f" in {unit}" if unit else "")
        if len(args) == 2 and lo is not None and hi is not None:
            text += f" with {lo} <= low <= high <= {hi}"
        return text + (f", e.g. {json.dumps(list(default))}" if default else "")
    if origin is list and args:
        allowed = _list_items(name, args[0])
        example = list(default) if default else (allowed or [])[:2]
        if "elements" in name:
            example = ["Dy", "Tb"]
        text = f"a list such as {json.dumps(example)}" if example else "a list"
        return text + (f" (allowed items: {', '.join(allowed)})" if allowed else "")
    return None


def _sequence_field(loc: tuple, data: Any) -> tuple[int, str, Any] | None:
    """For an error at ``loc`` in (or inside) a list or pair field: ``(parts of loc after
    the field, allowed form, the value given)``; None otherwise."""
    for k in range(len(loc), 0, -1):
        if not isinstance(loc[k - 1], str):
            continue
        form = _sequence_form(_model_at(loc[:k], data), loc[k - 1])
        if form is None:
            return None
        value: Any = data
        for part in loc[:k]:
            if part in _MEASURE_CLASSES and not (isinstance(value, dict) and part in value):
                continue
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        return len(loc) - k, form, value
    return None


#: ``measures[N]`` in a message of a check across measures, with the block it may name
_MEASURE_REF = re.compile(r"measures\[(\d+)\]( \((?:\[\[measures\]\] )?block \d+\))?")


def _file_ref(hit: re.Match, first_block: int) -> str:
    """Measure ``N`` of a merged ``extends`` scenario renumbered in its file's own
    ``[[measures]]`` blocks, or named as a measure of the base scenario."""
    i = int(hit.group(1))
    if i < first_block:
        return f"the base scenario's measures[{i}]"
    j = i - first_block
    return f"measures[{j}]" + (f" ([[measures]] block {j + 1})" if hit.group(2) else "")


def unknown_choice(error: dict, loc: tuple) -> str | None:
    """For pydantic's ``literal_error`` on a string (a value outside a field's fixed
    choices), the :func:`unknown_name` line with the closest choice; None for any other
    error. ``loc`` is the error's location as shown (the field's name names the choices; an
    item of a list field is a "value")."""
    if error.get("type") != "literal_error" or not isinstance(error.get("input"), str):
        return None
    allowed = re.findall(r"'([^']*)'", (error.get("ctx") or {}).get("expected", ""))
    if not allowed:
        return None
    what = loc[-1] if loc and isinstance(loc[-1], str) else "value"
    return unknown_name(what, error["input"], allowed)


def _format_errors(err: ValidationError, data: Any, origin: str, first_block: int = 0) -> str:
    """One line per error; ``first_block`` measures come from an ``extends`` base, so a
    measure's block is counted in the file's own ``[[measures]]`` blocks."""
    lines = []
    errors = err.errors()
    # a misspelt required key also reports that key as missing; the misspelling is the
    # cause, so a block with an unknown key gets that line alone (it names the key meant)
    misspelt = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    errors = [
        e for e in errors if not (e["type"] == "missing" and tuple(e["loc"][:-1]) in misspelt)
    ]
    for e in sorted(errors, key=lambda e: e["type"] != "extra_forbidden"):
        exc = (e.get("ctx") or {}).get("error")
        if isinstance(exc, _MeasureFieldError):  # a check of the whole scenario on one field
            if exc.index < first_block:  # a measure of the extended scenario: no block
                lines.append(
                    f"{origin}: the base scenario's field 'measures[{exc.index}].{exc.field}' "
                    f"({exc.which}): {exc.problem}"
                )
                continue
            e = {**e, "loc": ("measures", exc.index, exc.field), "msg": exc.problem}
        loc = tuple(p for p in e["loc"] if p not in _MEASURE_CLASSES)
        shown = loc
        if (
            first_block
            and len(loc) >= 2
            and loc[0] == "measures"
            and isinstance(loc[1], int)
            and loc[1] >= first_block
        ):  # the file's own measure: its index in the file
            shown = (loc[0], loc[1] - first_block, *loc[2:])
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in shown).replace(
            ".[", "["
        )
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            cls = _model_at(tuple(e["loc"]), data)
            allowed = sorted(cls.model_fields) if cls else []
            if cls is Scenario:  # a file may also name the shipped scenario it extends
                allowed = sorted([*allowed, "extends"])
            msg = unknown_name("key", loc[-1], allowed, PARAMETER_DOCS if cls is Parameters else "")
        elif e["type"] == "union_tag_invalid":
            tag = e.get("ctx", {}).get("tag")
            msg = (
                unknown_name("kind", tag, list(MEASURE_KINDS))
                if tag is not None
                else f"unknown measure kind; allowed kinds: {list(MEASURE_KINDS)}"
            )
        elif (
            e["type"] in _SHAPE_TYPES
            and (seq := _sequence_field(tuple(e["loc"]), data))
            and not (e["type"] == "missing" and seq[0] == 0)  # the field itself: below
        ):
            after, form, value = seq
            if e["type"] in ("missing", "too_short", "too_long", "tuple_type", "list_type"):
                # the whole field is the wrong shape: name the field, not its item [1]
                shown = shown[: len(shown) - after]
                path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in shown).replace(
                    ".[", "["
                )
                msg = f"got {value!r}; allowed: {form}"
            else:
                msg = f"{msg}; allowed: {form}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif (choice := unknown_choice(e, loc)) is not None:
            msg = choice
        elif e["type"] == "dict_type":
            name = loc[-1] if loc and isinstance(loc[-1], str) else "field"
            keys = " (keys: region codes, 'allied', 'default')" if name in _TABLES else ""
            msg = f"got {e['input']!r}; allowed: a table{keys}, e.g. {name} = {{ default = 0.5 }}"
            if "--set" in origin:
                msg += f" (with --set: '...{name}={{default=0.5}}')"
        elif e["type"] in _BOUND_TYPES and (
            allowed := _bounds(_model_at(tuple(e["loc"]), data), loc)
        ):
            msg = f"got {e['input']!r}; allowed: {allowed}"
        elif e["type"] == "int_from_float" and (
            allowed := _bounds(_model_at(tuple(e["loc"]), data), loc)
        ):
            msg = f"got {e['input']!r}, not a whole number; allowed: a whole number, {allowed}"
        if path in ("parameters", "levers") and (hit := re.match(r"^(\w+): (.*)$", msg)):
            # a check of the whole table (_no_numeric_strings) names its field in the text
            cls = Parameters if path == "parameters" else Levers
            if hit.group(1) in cls.model_fields:
                path, msg = f"{path}.{hit.group(1)}", hit.group(2)
                if allowed := _bounds(cls, (hit.group(1),)):
                    msg = f"{msg} (allowed: {allowed})"
        where = ""
        if len(loc) >= 2 and loc[0] == "measures" and isinstance(loc[1], int):
            try:
                m = data["measures"][loc[1]]
                name = f"measure '{m['id']}'" if m.get("id") else f"{m.get('kind', '?')} measure"
                block = (
                    f"[[measures]] block {loc[1] - first_block + 1}"
                    if loc[1] >= first_block
                    else "a measure of the extended scenario"
                )
                where = f" ({name}, {block})"
            except (KeyError, IndexError, TypeError, AttributeError):
                where = ""
        if first_block and not path:  # a check across measures names them in its text
            msg = _MEASURE_REF.sub(lambda h: _file_ref(h, first_block), msg)
            msg = msg.replace("field 'the base scenario's ", "the base scenario's field '")
        # root-level checks name the field in the message itself
        lines.append(f"{origin}: field '{path}'{where}: {msg}" if path else f"{origin}: {msg}")
    return "\n".join(lines)


def scenario_from_dict(data: dict, origin: str = "<scenario>") -> Scenario:
    """Validate a scenario dictionary.

    A dictionary with ``extends = "<shipped scenario>"`` holds only what it changes from
    that scenario (:func:`extend_scenario`).

    Raises:
        ScenarioError: listing every invalid field with the allowed values (an unknown base
            is named with the shipped scenarios).
    """
    first_block = 0
    own_end = False
    if isinstance(data, dict) and "extends" in data:
        own_end = "end" in data
        data, first_block = extend_scenario(data, origin)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        msg = _format_errors(err, data, origin, first_block)
        if own_end and _cut_off({**data, "measures": data.get("measures", [])[:first_block]}):
            # the file's own end cuts off a measure of the base scenario (as --set end=)
            msg += (
                "; the file's end cuts off a measure of the base scenario: to run only part "
                "of it, leave end out and use --months (ree run) or months (sweeps)"
            )
        raise ScenarioError(msg) from None


def extend_scenario(data: dict, origin: str = "<scenario>") -> tuple[dict, int]:
    """The full scenario dictionary of one that ``extends`` a shipped scenario.

    The base's keys are the defaults: a ``[parameters]`` or ``[levers]`` table changes only
    the keys it gives, ``[[measures]]`` blocks are added after the base's measures (a
    ``suspension`` measure lifts one of them), any other key replaces the base's value.
    ``name`` defaults to the file's stem (``origin``), ``description`` to the base's with
    ``extends <base>:`` before it.

    Returns:
        ``(data, first_block)``: the merged dictionary (to validate) and the number of the
        base's measures, so errors count the file's own ``[[measures]]`` blocks.

    Raises:
        ScenarioError: ``extends`` is not the name of a shipped scenario (the line lists
            them).
    """
    base_name = data["extends"]
    names = shipped_scenarios()
    if not isinstance(base_name, str) or base_name not in names:
        raise ScenarioError(
            f"{origin}: field 'extends': " + unknown_name("base scenario", base_name, names)
        )
    base = load_scenario(base_name).model_dump(mode="json")
    merged = dict(base)
    for key, value in data.items():
        if key == "extends":
            continue
        if key in ("parameters", "levers") and isinstance(value, dict):
            merged[key] = {**base[key], **value}
        elif key == "measures" and isinstance(value, list):
            merged[key] = list(base["measures"]) + value
        else:
            merged[key] = value
    if "name" not in data:
        merged["name"] = Path(origin).stem if origin.endswith(".toml") else f"{base_name}-extended"
    if "description" not in data:
        merged["description"] = f"extends {base_name}: {base['description']}"
    return merged, len(base["measures"])


def loads_scenario(text: str, origin: str = "<string>") -> Scenario:
    """Parse and validate TOML text (a leading byte-order mark is dropped).

    Raises:
        ScenarioError: not TOML (an unquoted ``YYYY-MM`` date is named with the fix), or
            invalid content.
    """
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        table, blocks = "", {}  # the table a line is in names its field: levers.start
        for n, line in enumerate(text.splitlines(), 1):
            if head := _TABLE_HEAD.match(line):
                name = head.group(2)
                if head.group(1):  # [[measures]]: the file's block 0, 1, ...
                    blocks[name] = blocks.get(name, -1) + 1
                    name = f"{name}[{blocks[name]}]"
                table = f"{name}."
                continue
            hit = _UNQUOTED_MONTH.match(line)
            if hit:
                key, value = hit.group(1), hit.group(2)
                raise ScenarioError(
                    f"{origin}, line {n}: field '{table}{key}': the date {value} is "
                    f'not quoted; write {key} = "{value}" (dates are '
                    '"YYYY-MM" or "YYYY-MM-DD")'
                ) from None
        raise ScenarioError(f"{origin}: not valid TOML ({exc})") from None
    return scenario_from_dict(data, origin)


#: a table header line, ``[levers]`` or ``[[measures]]`` (group 1: the second bracket)
_TABLE_HEAD = re.compile(r"^\s*\[(\[?)\s*([A-Za-z_][\w.-]*)\s*\]\]?\s*(#.*)?$")
#: a ``key = YYYY-MM`` line: TOML has no month literal, so it is not TOML at all
_UNQUOTED_MONTH = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*=\s*(\d{4}-\d{2})\s*(#.*)?$")


def scenario_dir() -> Path:
    """Folder of the shipped scenarios (``abm/scenarios``: loading one imports only the
    model package)."""
    return Path(str(resources.files("abm") / "scenarios"))


def shipped_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path.

    Raises:
        ScenarioError: unknown name (lists the shipped ones), unreadable file, invalid content.
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    if str(name_or_path).strip() == "":
        raise ScenarioError(f"no scenario given; shipped scenarios: {shipped_scenarios()}")
    p = Path(name_or_path)
    if p.is_dir():
        raise ScenarioError(
            f"scenario path {p} is a folder; give a .toml file or one of {shipped_scenarios()}"
        )
    if p.suffix != ".toml" and not p.exists():
        p = scenario_dir() / f"{name_or_path}.toml"
        if not p.exists():
            raise ScenarioError(
                unknown_name("scenario", name_or_path, shipped_scenarios())
                + " (or give a path to a .toml file)"
            )
    if not p.exists():
        raise ScenarioError(f"scenario file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{p} is not UTF-8 text (byte at offset {exc.start}); save it as "
            "UTF-8 (with or without a byte-order mark)"
        ) from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the file ({exc.strerror})") from None
    return loads_scenario(text, str(p))


# ---------------------------------------------------------------------- overrides
def parameter_space() -> dict[str, dict]:
    """Every overridable dotted path with its type, default, range, unit and doc.

    Returns:
        ``{"parameters.final_demand_elasticity": {"type": "real", "default": -0.25,
        "low": -1.0, "high": -0.05, "levels": None, "unit": "-", "doc": "..."}, ...}``
        covering ``parameters.*`` and ``levers.*`` (scalar fields only).
    """
    space: dict[str, dict] = {}
    for prefix, cls in (("parameters", Parameters), ("levers", Levers)):
        inst = cls()
        for name, f in cls.model_fields.items():
            extra = f.json_schema_extra or {}
            default = getattr(inst, name)
            ann = f.annotation
            if isinstance(default, tuple) or name in ("start", "truce_start", "licence_elements"):
                continue
            if ann is bool or ann == (bool | None):
                kind, levels = "bool", [False, True]
            elif ann is int or ann == (int | None):
                kind, levels = "integer", None
            else:
                kind, levels = "real", None
            space[f"{prefix}.{name}"] = {
                "type": kind,
                "default": default,
                "low": extra.get("low"),
                "high": extra.get("high"),
                "levels": levels,
                "unit": extra.get("unit", ""),
                "doc": f.description or "",
            }
    return space


def apply_overrides(
    scenario: Scenario, overrides: dict[str, Any] | None, origin: str = ""
) -> Scenario:
    """Return a copy of ``scenario`` with dotted-path overrides applied and re-validated.

    Args:
        overrides: e.g. ``{"levers.us_tariff_on_china": 1.45,
            "parameters.risk_sensitivity": 2.0}``; also ``"firms"``, ``"end"``, and a field
            of a measure with an id, ``"measures.<id>.<field>"`` (e.g.
            ``"measures.cn_mining_quota_2011_heavy.leakage": 0.5``;
            :func:`measure_field_paths`), checked as in a scenario file.
        origin: where the overrides come from, named first in an error (``"--set"``).

    Raises:
        ScenarioError: unknown path (one line: the closest allowed paths,
            :func:`unknown_name`) or an invalid value.
    """
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    allowed = overridable_paths()
    for key, value in overrides.items():
        if hasattr(value, "item"):
            value = value.item()
        if key.startswith(MEASURE_PREFIX):
            measure = _measure_for_path(data["measures"], key, scenario.name, origin)
            measure[key.split(".")[2]] = value
            continue
        if key not in allowed:
            raise ScenarioError(
                f"{origin}: " + unknown_name("key", key, allowed, OVERRIDE_DOCS)
                if origin
                else unknown_name("override", key, allowed, OVERRIDE_DOCS)
            )
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    try:
        return scenario_from_dict(data, f"{scenario.name} with {origin or 'overrides'}")
    except ScenarioError as exc:
        if "end" in overrides and _cut_off(data):
            # a shorter horizon cuts off the scenario's later measures; --months runs part
            # of the horizon with every measure kept (not said when end was not changed:
            # then a measure's date set past it is the problem, and the line says so)
            raise ScenarioError(
                f"{exc}; an earlier end cuts off a measure of the scenario: to run only part "
                "of it, keep end and use --months (ree run) or months (sweeps)"
            ) from None
        msg = str(exc)
        if "is not after the measure's date" in msg:
            # the user moved a measure's date past its end: say which key to set with it
            for key in overrides:
                m = key.removesuffix(".date")
                if (
                    key.startswith("measures.")
                    and m != key
                    and f"{m}.end" not in overrides
                    and f"measure '{m.removeprefix('measures.')}'" in msg
                ):
                    raise ScenarioError(
                        f"{msg}; {key} was set past the measure's end: set {m}.end too"
                    ) from None
        raise


def _cut_off(data: dict) -> bool:
    """True when the scenario dict ``data`` has an ``end`` not before its ``start`` and a
    measure dated after that end (months that parse; False otherwise): an earlier end that
    cuts off a measure, not an end the horizon itself refuses."""
    try:
        start, end = to_month(data["start"]), to_month(data["end"])
        return start <= end and any(to_month(m["date"]) > end for m in data.get("measures", []))
    except (KeyError, TypeError, ValueError):
        return False


#: Prefix of an override of one field of a scenario's measure, ``measures.<id>.<field>``.
MEASURE_PREFIX = "measures."

#: Fields of a measure an override may not change (what identifies or describes it).
_FIXED_MEASURE_FIELDS = ("kind", "id", "label", "source")


def _overridable_fields(kind: str) -> list[str]:
    """The fields of a measure of ``kind`` an override may set: all but
    :data:`_FIXED_MEASURE_FIELDS`, in the measure class's order."""
    return [f for f in _MEASURE_CLASSES[kind].model_fields if f not in _FIXED_MEASURE_FIELDS]


def measure_field_paths(scenario: Scenario) -> list[str]:
    """The ``measures.<id>.<field>`` overrides ``scenario`` accepts (:func:`apply_overrides`):
    every field of each measure with an ``id``, except kind, id, label and source; sorted.
    A sweep may vary them like parameters (a quota's ``leakage``, a tariff's ``rate``)."""
    return sorted(
        f"{MEASURE_PREFIX}{m.id}.{f}"
        for m in scenario.measures
        if m.id
        for f in _overridable_fields(m.kind)
    )


def measure_field_value(scenario: Scenario, path: str) -> Any:
    """The value in ``scenario`` of the measure field ``measures.<id>.<field>``.

    Raises:
        ScenarioError: the path names no measure of the scenario or no overridable field of it.
    """
    data = scenario.model_dump(mode="json")
    return _measure_for_path(data["measures"], path, scenario.name, "")[path.split(".")[2]]


def _measure_for_path(measures: list[dict], key: str, name: str, origin: str) -> dict:
    """The measure (a dict of the dumped scenario) that the override ``key``,
    ``measures.<id>.<field>``, names, after checking the field is one it may change.

    Raises:
        ScenarioError: a malformed path, an unknown id or an unknown or fixed field (one line
            with the allowed ids or fields).
    """
    head = f"{origin}: " if origin else ""
    ids = [m["id"] for m in measures if m.get("id")]
    parts = key.split(".")
    if len(parts) != 3 or not all(parts):
        raise ScenarioError(
            f"{head}override {key!r}: a measure's field is written measures.<id>.<field>, "
            f"for a measure with an id; measure ids in {name}: {ids}"
        )
    hits = [m for m in measures if m.get("id") == parts[1]]
    if not hits:
        # every id is listed: a scenario's ids are in no other document
        raise ScenarioError(
            f"{head}{name}: " + unknown_name("measure id", parts[1], ids, full=True)
        )
    m = hits[0]
    fields = _overridable_fields(m["kind"])
    if parts[2] in _FIXED_MEASURE_FIELDS:
        raise ScenarioError(
            f"{head}{name}: measure {parts[1]!r} ({m['kind']}): field {parts[2]!r} cannot be "
            f"overridden (it names or describes the measure); allowed fields: {fields}"
        )
    if parts[2] not in fields:
        raise ScenarioError(
            f"{head}{name}: measure {parts[1]!r} ({m['kind']}): "
            + unknown_name("field", parts[2], fields)
        )
    return m


def overridable_paths() -> list[str]:
    """Every dotted path :func:`apply_overrides` accepts, sorted: the scalar
    ``parameters.*`` and ``levers.*`` of :func:`parameter_space`, the parameters whose value
    is a pair (``parameters.lead_time_mine_years = [8.0, 12.0]``: not swept, but settable as in
    a scenario file), ``levers.start``, ``levers.truce_start``, ``levers.licence_elements``,
    ``end`` and ``firms``."""
    inst = Parameters()
    pairs = [
        f"parameters.{n}" for n in Parameters.model_fields if isinstance(getattr(inst, n), tuple)
    ]
    return sorted([*parameter_space(), *pairs]) + [
        "end",
        "firms",
        "levers.start",
        "levers.truce_start",
        "levers.licence_elements",
    ]


def keyword_overrides(
    overrides: dict[str, Any] | None, keywords: dict[str, Any]
) -> dict[str, Any] | None:
    """Merge keyword arguments into dotted-path overrides (``RareEarthModel(...,
    us_tariff_on_china=1.0)``, ``mesa.batch_run`` parameters).

    A keyword is a dotted path of :func:`overridable_paths`, or the bare name of a lever or
    parameter (``approval_rate_us`` -> ``levers.approval_rate_us``); a name that is both
    (``licence_review_months``) must be given as a dotted path.

    Raises:
        TypeError: an unknown or ambiguous keyword, or one also given in ``overrides``; one
            line naming it and the allowed keywords.
    """
    if not keywords:
        return overrides
    paths = overridable_paths()
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    out = dict(overrides or {})
    for key, value in keywords.items():
        hits = [key] if key in paths else by_name.get(key, [])
        if not hits:
            names = ["scenario", "seed", "months", "overrides"]
            names += sorted(n for n, v in by_name.items() if len(v) == 1) + list(paths)
            see = (
                "the lever and parameter names of docs/ODD.md sections 6 and 8 or their "
                "dotted paths (abm.scenario.overridable_paths())"
            )
            raise TypeError("RareEarthModel: " + unknown_name("keyword", key, names, see=see))
        if len(hits) > 1:
            raise TypeError(
                f"RareEarthModel: keyword '{key}' is both {' and '.join(hits)}; "
                f"pass the dotted path, e.g. **{{'{hits[0]}': value}}"
            )
        if hits[0] in out:
            raise TypeError(
                f"RareEarthModel: '{hits[0]}' is given twice (keyword '{key}' "
                "and overrides); give it once"
            )
        out[hits[0]] = value
    return out
