"""Capital budgeting, project financing, ramp-up and the project pipeline (docs/ODD.md 7.13).

* :func:`rampup_share`: share of nameplate reached ``t`` years after start-up,
  ``1 - exp(-(t - t0) / tau)`` (0 before ``t0``): the exponential approach to nameplate
  fitted to Mountain Pass and Lynas (``abm.data.fit_rampup``; ``rampup.csv``).
* :func:`annuity_factor`, :func:`npv`: the net present value of a project (Brealey, Myers
  and Allen, *Principles of Corporate Finance*, ch. 2-6): capital cost spent at commitment,
  after-tax simplification (no tax), cash margin at the firm's long-run expected prices on
  capacity ramping up after the lead time, discounted monthly at the weighted average cost
  of capital.
* :func:`financing`: public support lowers the cost of capital: a capital grant lowers the
  capital cost; a concessional loan and a public equity stake replace part of the private
  capital at a lower rate. Their fiscal cost is the grant equivalent (OECD DAC grant-element
  method: face value less the present value of the repayments at the market rate).
* :class:`Project` and :func:`load_pipeline`: the announced projects of
  ``abm/data/project_pipeline.csv`` in the model's units (t REO/yr of ore or feed, t/yr of
  magnets) with capital cost, earliest start and sponsor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from abm.data import load_table
from abm.goods import DEPOSITS, STAGES, deposit_compositions
from abm.treasury import usd_text

#: Pipeline deposit names that are not model deposits, mapped to the model deposit whose
#: composition is nearest (Nolans: monazite-apatite; Longonjo and Songwe: monazite-bearing
#: carbonatites, Pensana and Mkango feasibility studies). Eudialyte (Tanbreez) and
#: steenstrupine (Kvanefjeld) have no composition in deposits.csv and are left out.
DEPOSIT_MAP = {"nolans": "monazite", "carbonatite": "monazite"}

#: Pipeline rows whose capacity is the plant's total after the project, not the increment
#: (their notes and sources: "total target not the increment"; "7000 to 12000 t/yr";
#: "nameplate lifted to 10,500 t NdPr"). The increment is the total less the sponsor's
#: nameplate when the project is judged.
TOTAL_CAPACITY_ROWS = frozenset({"mp_upstream_60k", "lynas_mt_weld_expansion", "lynas_lamp_10500"})


def rampup_share(t_years, tau_years: float, delay_years: float = 0.0):
    """Share of nameplate reached ``t_years`` after start-up: ``1 - exp(-(t - t0) / tau)``
    for ``t > t0``, else 0 (array or float, 0..1).

    Source: least-squares fits to ``rampup.csv`` (:func:`abm.data.fit_rampup`): Lynas LAMP
    tau 2.9 yr after t0 = 0.5 yr; Mountain Pass restart (MP Materials 2018) tau 1.25 yr;
    pooled 2.8 yr.

    Raises:
        ValueError: ``tau_years`` <= 0.
    """
    if tau_years <= 0:
        raise ValueError(f"rampup_share: tau_years must be > 0, got {tau_years}")
    t = np.asarray(t_years, dtype=float)
    out = np.where(t > delay_years, 1.0 - np.exp(-(t - delay_years) / tau_years), 0.0)
    return float(out) if out.ndim == 0 else out


def annuity_factor(rate: float, years: float) -> float:
    """Present value of 1 a year for ``years`` years at ``rate`` per year (paid at year
    ends): ``(1 - (1 + r) ** -n) / r`` (``n`` if r = 0)."""
    if abs(rate) < 1e-12:
        return float(years)
    return (1.0 - (1.0 + rate) ** (-years)) / rate


def npv(
    capacity_t_yr: float,
    margin_usd_kg: float,
    capex_usd: float,
    rate: float,
    life_years: float,
    lead_months: float = 0.0,
    utilisation: float = 1.0,
    tau_years: float | None = None,
    delay_years: float = 0.0,
    transient_usd_kg: float = 0.0,
    transient_months: float | None = None,
) -> float:
    """Net present value of a project, USD.

    ``-capex + sum_m CF_m / (1 + rate) ** ((lead_months + m) / 12)`` over the months
    ``m = 1 .. 12 x life_years`` after start-up, with the monthly cash flow
    ``CF_m = capacity x 1000 kg/t x utilisation x margin_m / 12 x share(m)``, ``share`` the
    ramp-up share (:func:`rampup_share` at the end of month ``m``; 1 throughout when
    ``tau_years`` is None) and ``margin_m = margin + transient x exp(-(lead_months + m) /
    transient_months)``: the margin expected ``lead_months + m`` months ahead when today's
    expected margin differs from the long-run one by ``transient`` and expectations return
    to the long-run anchor with time constant ``transient_months`` (the firm's own
    expectation model, docs/ODD.md 7.2; ``transient`` 0: a flat margin). Capital cost is
    spent at commitment (month 0).

    Example (hand check): 1,000 t/yr, margin 0, transient 12 USD/kg over 12 months, no
    lead, rate 0, 1 year, full utilisation: ``sum_m 1e6 x exp(-m / 12)`` USD.

    Args:
        capacity_t_yr: nameplate, t/yr of output (t REO/yr of feed for separation).
        margin_usd_kg: cash margin per kg of output at the prices expected, USD/kg.
        capex_usd: capital cost, USD (after any capital grant).
        rate: discount rate, 1/yr (the firm's cost of capital after financing support).
        life_years: operating life, years.
        lead_months: months from commitment to start-up.
        utilisation: share of nameplate run once ramped up.
        transient_usd_kg: today's expected margin less ``margin_usd_kg``, USD/kg.
        transient_months: months over which that difference is expected to fade.

    Returns:
        USD (negative: the project destroys value).
    """
    n = int(round(12 * life_years))
    m = np.arange(1, n + 1, dtype=float)
    share = np.ones(n) if tau_years is None else rampup_share(m / 12.0, tau_years, delay_years)
    margin = np.full(n, float(margin_usd_kg))
    if transient_usd_kg and transient_months:
        margin = margin + transient_usd_kg * np.exp(-(lead_months + m) / transient_months)
    cf = capacity_t_yr * 1000.0 * utilisation * margin / 12.0 * share
    disc = (1.0 + rate) ** (-(lead_months + m) / 12.0)
    return float(-capex_usd + np.dot(cf, disc))


def hazard_rate(rate: float, hazard: float) -> float:
    """Discount rate, 1/yr, of a cash flow that also ends at the annual ``hazard`` (a
    policy-created premium, Handley and Limao 2015): ``(1 + rate) x exp(hazard) - 1``, so
    that ``(1 + r') ** -t = (1 + rate) ** -t x exp(-hazard t)`` (survival to year ``t``).

    Example (hand check): rate 0.08, hazard 0 -> 0.08; hazard 0.2 -> 1.08 x 1.2214 - 1 =
    0.3191.

    Raises:
        ValueError: ``hazard`` < 0.
    """
    if hazard < 0:
        raise ValueError(f"hazard_rate: hazard must be >= 0 per year, got {hazard}")
    return (1.0 + rate) * math.exp(hazard) - 1.0


@dataclass(frozen=True)
class Financing:
    """Terms of a project's finance after public support.

    Attributes:
        capex: capital cost the sponsor bears, USD (after the grant).
        rate: cost of capital after support, 1/yr.
        fiscal: grant equivalent of each instrument, USD: ``{"grant", "loan", "equity"}``.
        debt: debt the project carries at start, USD (private debt plus public loan).
        debt_rate: interest on that debt, 1/yr (loan-weighted).
    """

    capex: float
    rate: float
    fiscal: dict
    debt: float
    debt_rate: float


def financing(
    capex_usd: float,
    wacc: float,
    debt_share: float,
    debt_rate: float,
    life_years: float,
    grant_share: float = 0.0,
    loan_share: float = 0.0,
    loan_rate: float = 0.0,
    equity_share: float = 0.0,
    public_rate: float = 0.0,
    loan_years: float = 10.0,
) -> Financing:
    """Cost of capital and fiscal cost of a project under public support.

    A grant pays ``grant_share`` of the capital cost. Of the rest, a concessional loan
    finances ``loan_share`` at ``loan_rate`` and a public equity stake ``equity_share`` at
    the public discount rate ``public_rate``; the remainder is financed at ``wacc``. The
    sponsor's cost of capital is the value-weighted mean of the three rates. Fiscal cost
    (grant equivalent): the grant itself; for the loan, its face value less the present
    value at ``wacc`` of its level repayments over ``loan_years``; for the equity stake, its
    value less the present value at ``wacc`` of the returns it requires at ``public_rate``
    over the project life.

    Example (hand check): capex 100, wacc 0.1, no support -> rate 0.1, fiscal 0; grant 0.3
    -> capex 70, fiscal grant 30.

    Raises:
        ValueError: shares outside [0, 1] or loan + equity above 1.
    """
    for name, v in (
        ("grant_share", grant_share),
        ("loan_share", loan_share),
        ("equity_share", equity_share),
        ("debt_share", debt_share),
    ):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"financing: {name} must be in [0, 1], got {v}")
    if loan_share + equity_share > 1.0:
        raise ValueError(
            f"financing: loan_share + equity_share must be <= 1, got {loan_share + equity_share}"
        )
    grant = grant_share * capex_usd
    net = capex_usd - grant
    loan, equity = loan_share * net, equity_share * net
    private = net - loan - equity
    rate = (private * wacc + loan * loan_rate + equity * public_rate) / net if net > 0 else wacc
    loan_fiscal = (
        loan * (1.0 - annuity_factor(wacc, loan_years) / annuity_factor(loan_rate, loan_years))
        if loan > 0
        else 0.0
    )
    eq_fiscal = (
        equity * (1.0 - annuity_factor(wacc, life_years) / annuity_factor(public_rate, life_years))
        if equity > 0
        else 0.0
    )
    debt = debt_share * private + loan
    drate = (debt_share * private * debt_rate + loan * loan_rate) / debt if debt > 0 else debt_rate
    return Financing(
        capex=net,
        rate=rate,
        fiscal={"grant": grant, "loan": max(loan_fiscal, 0.0), "equity": max(eq_fiscal, 0.0)},
        debt=debt,
        debt_rate=drate,
    )


def debt_service(debt: float, rate: float, years: float) -> float:
    """Level annual payment (interest and principal) on ``debt`` USD over ``years`` at
    ``rate``, USD/yr (0 without debt)."""
    if debt <= 0:
        return 0.0
    return debt / annuity_factor(rate, years)


def support_terms(policy, region: str, stage: str, company: str | None = None) -> dict:
    """Public support in force for new capacity of ``stage`` in ``region`` for a firm of
    ``company`` (:meth:`abm.policy.PolicyState.subsidies_for`): capital grant share
    (``Subsidy.capex_share``), concessional loan (``loan_share``; ``loan_rate``, None
    where no measure gives a rate) and public equity stake (``equity_share``); the largest
    of each over the measures that apply, the lowest loan rate among those with a loan."""
    subs = policy.subsidies_for(region, stage, company)
    rates = [s.loan_rate for s in subs if s.loan_share > 0 and s.loan_rate is not None]
    return {
        "grant_share": max([s.capex_share for s in subs], default=0.0),
        "loan_share": max([s.loan_share for s in subs], default=0.0),
        "loan_rate": min(rates, default=None),
        "equity_share": max([s.equity_share for s in subs], default=0.0),
    }


# ------------------------------------------------------------------------------ pipeline
@dataclass
class Project:
    """One announced project in model units.

    Attributes:
        pid: ``project_id`` of the pipeline row.
        sponsor: firm name in the pipeline.
        name: display name of the agent that runs it (``"<firm> (<project>)"``).
        stage: ``mining``, ``separation`` or ``magnets``.
        region: region code.
        product: model deposit (mining), feed classes ``light;heavy`` (separation) or
            ``ndfeb`` (magnets).
        capacity: nameplate, t/yr (t REO/yr of ore or feed; t/yr of magnets).
        capex: capital cost, USD (the row's, else stage median intensity x capacity).
        visible: step from which the project can be committed (its announcement).
        earliest: earliest start-up step.
        total: capacity is the plant's total after the project (:data:`TOTAL_CAPACITY_ROWS`).
        source: the row's source.
        sunk: the sponsor decided to build before the run starts (the row's ``decided``
            month is before the start): the project is committed at the first review and
            starts up at its earliest start, without the NPV test (a decided project's
            capital is sunk; Dixit and Pindyck 1994, ch. 1).
    """

    pid: str
    sponsor: str
    name: str
    stage: str
    region: str
    product: str
    capacity: float
    capex: float
    visible: int
    earliest: int
    total: bool = False
    source: str = ""
    sunk: bool = False
    new_firm: bool = True
    committed: int | None = None
    online: int | None = None
    startup: int | None = None
    debt: float = 0.0
    debt_rate: float = 0.0
    agent: object = field(default=None, repr=False)


def _ndpr_share(deposit: str) -> float:
    """Nd + Pr oxide share of a deposit's REO, 0..1: the composition the model's
    concentrate carries (:func:`abm.goods.deposit_compositions`, deposits.csv normalised by
    its total), so a capacity in t NdPr oxide converts to the t REO that yield it."""
    shares = deposit_compositions()[deposit]
    return float(shares.get("Nd", 0.0) + shares.get("Pr", 0.0))


def pipeline_table(feed_of: dict | None = None) -> pd.DataFrame:
    """The pipeline rows the model represents, in model units.

    Rows of a stage the model lacks (cracking, metal, recycling), without capacity, with
    a capacity unit not convertible to the model's basis (``dytb_oxide``), of a non-NdFeB
    magnet (``fen``) or of a deposit without composition are dropped. Capacities in t NdPr
    oxide are converted to t REO of ore or feed by the Nd + Pr share of the deposit (mining)
    or of the region's main feed (``feed_of``: region -> deposit; separation).

    Returns:
        Columns ``project_id, firm, project, region, stage, product, capacity_t_per_yr``
        (model units), ``capex_usd`` (NaN where missing), ``announced``, ``earliest_start``
        (Periods or None), ``decided`` (the sponsor's final investment decision or start
        of construction, Period or None), ``project_status``, ``source``.
    """
    feed_of = feed_of or {}
    df = load_table("project_pipeline.csv")
    rows = []
    for r in df.to_dict("records"):
        # stages the model represents (cracking, metal and recycling lines are not)
        if r["stage"] not in STAGES or pd.isna(r["capacity_t_per_yr"]):
            continue
        if r["capacity_unit"] == "dytb_oxide" or (
            r["stage"] == "magnets" and r["product"] != "ndfeb"
        ):
            continue
        product = r["product"]
        cap = float(r["capacity_t_per_yr"])
        if r["stage"] == "mining":
            product = DEPOSIT_MAP.get(product, product)
            if product not in DEPOSITS:
                continue
            if r["capacity_unit"] == "ndpr_oxide":
                cap /= _ndpr_share(product)
        elif r["stage"] == "separation" and r["capacity_unit"] == "ndpr_oxide":
            cap /= _ndpr_share(feed_of.get(r["region"], "bastnaesite"))
        rows.append(
            {
                "project_id": r["project_id"],
                "firm": r["firm"],
                "project": r["project"],
                "region": r["region"],
                "stage": r["stage"],
                "product": product,
                "capacity_t_per_yr": cap,
                "capex_usd": (
                    float(r["capex_usd_m"]) * 1e6 if not pd.isna(r["capex_usd_m"]) else math.nan
                ),
                "announced": r["announced"],
                "earliest_start": r["earliest_start"],
                "decided": r["decided"],
                "project_status": r["project_status"],
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def capex_intensity(table: pd.DataFrame) -> dict[str, float]:
    """Median capital cost per t/yr of capacity per stage, USD per t/yr, over the pipeline
    rows that give both (the fallback for rows without a capital cost)."""
    d = table[np.isfinite(table["capex_usd"].astype(float))]
    return {
        s: float((g["capex_usd"] / g["capacity_t_per_yr"]).median()) for s, g in d.groupby("stage")
    }


def expansion_order(
    output_t_yr: float,
    growth: float,
    target_utilisation: float,
    nameplate: float,
    own_supply_line: float,
    largest: float,
) -> float:
    """Capacity a firm orders in a brownfield expansion, t/yr (0 when none is needed).

    Capital stock adjustment with a supply line (Sterman 2000, *Business Dynamics*,
    ch. 17.4 and 20): desired capacity is output grown over the lead time at the
    utilisation the firm aims for, ``output x growth / target_utilisation``; the order
    closes the gap to nameplate plus the capacity the firm already has under construction,
    and is no larger than ``largest`` (the largest real project of the stage times
    ``project_size_scale``) or than the firm's own nameplate:

    ``max(0, min(gap, largest, nameplate))`` with
    ``gap = output x growth / u* - nameplate - supply line``.

    Capacity is treated as divisible (as in Sterman's model): a small gap is a small
    debottlenecking order. A minimum plant size from the pipeline (1,000 t/yr for magnets)
    was tried and left out: it starved the small Sm-Co market, whose plants are far
    smaller than the NdFeB projects the pipeline lists.

    Args:
        output_t_yr: the firm's output at an annual rate, t/yr.
        growth: demand growth over the lead time, factor (``(1 + g) ^ (lead / 12)``).
        target_utilisation: utilisation the new capacity aims for, 0..1.
        nameplate, own_supply_line, largest: t/yr.

    Raises:
        ValueError: ``target_utilisation`` not in (0, 1].
    """
    if not 0.0 < target_utilisation <= 1.0:
        raise ValueError(
            f"expansion_order: target_utilisation must be in (0, 1], got {target_utilisation}"
        )
    gap = output_t_yr * growth / target_utilisation - nameplate - own_supply_line
    return max(0.0, min(gap, largest, nameplate))


def project_sizes(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Capacities of the pipeline's projects per stage, sorted (t/yr, model units; rows
    whose capacity is a plant total or missing are left out); the largest bounds a
    brownfield expansion (:func:`expansion_order`)."""
    d = table[~table["project_id"].isin(TOTAL_CAPACITY_ROWS)]
    d = d[d["capacity_t_per_yr"].notna()]
    return {s: np.sort(g["capacity_t_per_yr"].to_numpy(float)) for s, g in d.groupby("stage")}


class Pipeline:
    """The announced projects of a run and their sponsors (docs/ODD.md 7.13).

    Each month (:meth:`review`, after the firms' own reviews) every project that has been
    announced (``visible`` step reached) and is not yet committed is judged by its sponsor
    on the NPV test (:meth:`agents.base.Firm.project_npv` at the sponsor's long-run
    expected prices, with the public support in force): it commits when the NPV reaches
    its sponsor's hurdle (``investment_hurdle``, 0 under a price guarantee) x its capital
    cost, and starts up at
    ``max(earliest, t + earliest - visible)`` (never before its earliest start; a late
    decision delays start-up by the same months). A project its sponsor decided before the
    run starts (:attr:`Project.sunk`) is committed at once and starts up at its earliest
    start. The sponsor is the firm already in the
    world that runs the plant, or a new firm agent created for the project but registered
    with the model only when the project starts up (entry); until then its expectations
    adapt to observed prices like every firm's. A greenfield mine of an entrant is judged
    at the larger of its concentrate margin and its netback margin
    (:meth:`agents.miner.Miner.netback_margin`).

    Attributes:
        projects: the :class:`Project` list.
        intensity: :func:`capex_intensity` of the pipeline, USD per t/yr per stage.
        sizes: :func:`project_sizes`, t/yr per stage.
    """

    def __init__(self, projects: list[Project], intensity: dict, sizes: dict):
        self.projects = projects
        self.intensity = intensity
        self.sizes = sizes

    def prospective(self) -> list:
        """Sponsors not yet in the world (created for a project, not registered)."""
        return [
            p.agent
            for p in self.projects
            if p.agent is not None and p.startup is None and p.new_firm
        ]

    def pending_capacity(self, market: str) -> float:
        """Capacity (t/yr) of committed projects of entrants not yet started up, in
        ``market`` (the entrant's :attr:`agents.base.Firm.market`); the supply line counts
        it."""
        return sum(
            p.capacity
            for p in self.projects
            if p.committed is not None
            and p.startup is None
            and p.new_firm
            and p.agent.market == market
        )

    def review(self, model) -> None:
        """Judge, commit and start up projects (see the class docstring)."""
        t = model.month_index
        for p in self.projects:
            a = p.agent
            if p.committed is not None:
                if p.new_firm and a.exited:
                    continue  # abandoned: its company went bankrupt
                if p.startup is None and p.new_firm and t < p.online:
                    a.update_expectations()  # a committed entrant goes on learning prices
                if p.startup is None and t >= p.online and p.new_firm:
                    model.register_agent(a)
                    a.nameplate, a.capacity = p.capacity, 0.0
                    a.cash = a.initial_cash()  # working capital at nameplate
                    a.nameplate = 0.0
                    a.take_debt(p.debt, p.debt_rate)
                    a.start_up(p.capacity)
                    p.startup = t
                    model.log_event(
                        "entry",
                        f"{a.name} ({a.region}, {a.stage}) enters: "
                        f"{p.capacity:,.0f} t/yr nameplate starts up",
                    )
                elif p.startup is None and t >= p.online:
                    p.startup = t  # brownfield: the sponsor's review started it
                continue
            if t < p.visible or (a is not None and getattr(a, "exited", False)):
                continue
            if p.new_firm:
                a.update_expectations()  # an entrant learns prices before it enters
            size = p.capacity
            if p.total:
                size = max(
                    p.capacity - (a.nameplate if a.nameplate is not None else a.capacity), 0.0
                )
                if size <= 0:
                    continue
            online = p.earliest if p.sunk else max(p.earliest, t + (p.earliest - p.visible))
            capex = p.capex * size / p.capacity
            value, fin = a.project_npv(size, capex, online - t)
            if not p.sunk and value < a.hurdle() * fin.capex:
                continue
            p.committed, p.online, p.capacity = t, online, size
            if p.new_firm:
                p.debt, p.debt_rate = fin.debt, fin.debt_rate
                for inst, v in fin.fiscal.items():
                    if v > 0:
                        key = (a.region, inst)
                        model.fiscal_cost[key] = model.fiscal_cost.get(key, 0.0) + v
                model.add_to_supply_line(a.market, size)
                model.log_event(
                    "investment",
                    f"{a.name} ({a.region}) commits to {size:,.0f} "
                    f"t/yr, start-up {model.date_of(online)} (capital "
                    f"{usd_text(fin.capex)} at {100 * fin.rate:.1f}%/yr)",
                )
            else:
                a.commit(size, online, fin, what=f"commits to {p.pid}:")
