"""The monthly metrics of a run, computed in one place, as a tidy long table.

:func:`record_month` is the only code that turns the model's state and the month's clearing
into metrics; the model calls it once per step (after production and investment), and
everything downstream (the Mesa DataCollector headline series via :func:`headline_values`,
``abm.outcomes``, ``experiments.runs``, ``experiments.reproduce``, the UI in ``app/``) reads the
recorded rows instead of recomputing them.

Columns of the table: ``date, step, metric, good, region, partner, value, unit``; a sector,
stage or group of goods goes in the ``good`` column. Metrics (units):

* ``price`` (USD/kg; good, region): ``observed_price`` of each good in each region that
  shipped or received it this month, plus ``NdPr`` = 0.75 Nd + 0.25 Pr oxide for every region;
* ``price_spot`` (USD/kg; good, region): the marginal spot quote of the region's civil
  buyers (``model.spot_price``) where they bought on spot this month.
* ``price_contract`` (USD/kg; good, origin region): the contract price index (FOB) at which
  the origin's contracts traded this month (``model.contract_price``), where it shipped on
  contract;
* ``price_outside_china_median`` (USD/kg; good in :data:`PRICE_GOODS`, region ``nonCN``):
  the median of the ``price`` rows of the regions other than China written this month
  (for the oxides: the regions that traded the good; for ``NdPr``: every region); no row
  when no such region traded. Used by the sweep outcomes and the reproduction targets;
* ``price_outside_china_weighted`` (USD/kg; good in :data:`PRICE_GOODS`, region ``nonCN``):
  the mean of ``observed_price`` over all regions other than China (traded this month or
  not), weighted by each region's base-year Nd plus Pr oxide use (``model.base_use``, t/month)
  plus 1e-9 t (so that regions without use keep a negligible weight and the weights never
  sum to zero). Used by the printed summary, the headline series and the UI price chart;
* ``flow`` (t/month; good, region = origin, partner = destination; both end uses; flows
  above 1e-6 t);
* ``china_exports`` (t/month; good ``magnets`` (all magnet grades) or ``oxides`` (all
  separated oxides), region ``CN``, partner ``nonCN``): China's shipments to all other
  regions as its customs record them, every month (zeros included), tiny flows included;
* ``china_exports_unrecorded`` (t/month; as ``china_exports``): the smuggled rest of
  China's shipments (:attr:`abm.market.ClearingResult.smuggled`), every month;
* ``export_licence_price`` (USD/kg; good, region = exporter): the
  price of the licence a tonne shipped abroad under an export quota in force needs
  (:attr:`abm.market.ClearingResult.licence_price`; 0 when the quota does not bind), every
  month a quota is in force, for each good it covers;
* ``production`` (t/month; good, region), ``capacity`` (t/yr; stage, region),
  ``inventory`` (t; good, region, firms), ``stockpile`` (t; good, region, governments);
* ``lost_output`` (USD/month; sector, region) and ``lost_output_units`` (units/month):
  every OEM-type buyer (OEMs, non-magnet users, defense contractors), zeros included;
* ``lost_output_civil_magnet`` (USD/month; good ``civil_magnet``, region = each region with
  civil magnet-using OEMs, and ``World``): ``lost_output`` of every sector except
  :data:`NOT_CIVIL_MAGNET` (defense, non-magnet users). ``World`` is the world total; do not
  add it to the regional rows;
* ``lost_output_defense`` (USD/month; good ``defense``, region = each region with defense
  contractors, and ``World``): defense contractors' lost output;
* ``licence_applications`` and ``licence_approvals`` (t/month; good, region = exporter,
  partner = destination), ``licence_delay`` (approval-weighted mean delay, months);
* ``china_share`` (share of world output; stage, region ``World``) and ``hhi``
  (Herfindahl-Hirschman index of output by region, 0-10,000; stage);
* ``magnets_received`` (t/month; good ``magnets``, region = consuming region): magnets of
  all grades delivered this month to the region's OEM-type buyers (OEMs and defense
  contractors); no row (zero) for a region that received none;
* ``china_content`` and ``china_mined_content`` (share; good ``magnets``, region =
  consuming region): the China-processed (any stage) and China-mined shares of those
  magnets, tonne-weighted; no row for a region that received no magnets;
* ``china_content_12m`` and ``china_mined_content_12m`` (share; good ``magnets``, region):
  the same shares over the last :data:`ROLLING_MONTHS` months (this one included; fewer at
  the start of a run), mass-weighted: sum of China-content tonnes / sum of tonnes received
  (not a mean of monthly shares); no row for a region that received no magnets in the window;
* ``tariff`` (fraction; good ``all``, importer region, exporter partner; US on CN and CN on
  US, highest over goods), ``subsidy_cost`` (cumulative USD; region);
* ``fiscal_cost`` (cumulative USD; good = instrument ``grant``, ``loan``, ``equity`` (grant
  equivalents of capital support, :func:`abm.investment.financing`) or ``price_floor``
  (floor and offtake payments, = ``subsidy_cost``), region).
* country economic accounts (:func:`abm.accounts.record_accounts`; USD/month per region
  and ``World``): ``value_added_lost`` (good = end-use sector and ``all``),
  ``value_added_lost_pct_gdp`` (% of GDP at an annual rate), ``buyer_extra_cost``,
  ``tariff_revenue`` (importer), ``export_duty_revenue`` (exporter), ``floor_offtake_cost``,
  ``stockpile_purchase_cost`` and ``producer_surplus`` (good = stage; only for the stages
  that sold this month).

A row that is absent means one of two things. For the metrics of :data:`ZERO_WHEN_ABSENT`
(``flow``, ``production``, ``capacity``, ``inventory``, ``stockpile``, ``magnets_received``,
``licence_applications``, ``licence_approvals``, ``subsidy_cost``, ``fiscal_cost``,
``producer_surplus``), written only where the quantity is above zero (or a small threshold;
``producer_surplus``: for the stages that sold that month), it means zero: no trade, no
output, no plant, no stock, no cost, no sale. For the others it means "not defined" (a price where
the good was not traded, a share of magnets where none were received, ``licence_delay``
without approvals, ``export_licence_price`` without a quota in force); they must not be
read as zero. The remaining metrics are written every month (``lost_output`` and its
groups, ``china_exports`` and ``china_exports_unrecorded``, ``china_share``, ``hhi``,
``tariff``, the accounts other than ``producer_surplus``), zeros included.

Rows are appended as numpy blocks (the Mesa DataCollector's per-row table API is too slow
for ~1,500 rows a month); the DataCollector keeps only the :data:`HEADLINE` series.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from abm.accounts import record_accounts
from abm.goods import GRADES, NDPR_ND_SHARE, STAGES, mag
from abm.regions import CHINA, OUTSIDE_CHINA
from agents import OEM, Government, MagnetMaker, Miner, Refiner

#: Stages of ``capacity``, ``china_share`` and ``hhi``.

#: Sectors excluded from civil magnet-using OEM lost output (``lost_output_civil_magnet``).
NOT_CIVIL_MAGNET = ("defense", "non_magnet")

#: Goods of the ``price_outside_china_*`` series (La and Ce for the history checks of
#: their 2011-12 prices abroad, experiments/reproduce/history.py).
PRICE_GOODS = ("NdPr", "ox_Nd", "ox_Dy", "ox_Tb", "ox_La", "ox_Ce")

#: Metrics written only where the quantity is above zero (or a small threshold): a month
#: without a row of such a metric (good, region, partner) means zero, e.g. no flow that
#: month; for every other metric an absent row means "not defined" (prices, shares).
ZERO_WHEN_ABSENT = (
    "flow",
    "production",
    "capacity",
    "inventory",
    "stockpile",
    "magnets_received",
    "licence_applications",
    "licence_approvals",
    "subsidy_cost",
    "fiscal_cost",
    "producer_surplus",
)

#: Months of the rolling China-origin shares (``china_content_12m``).
ROLLING_MONTHS = 12

#: Deposits whose concentrate is the mining stage's output (``china_share``, ``hhi``).
MINING_DEPOSITS = ("bayan_obo", "bastnaesite", "mt_weld", "monazite", "ionic_clay")

#: Headline series the Mesa DataCollector collects, each read from one recorded row:
#: ``(key, column label, metric, good, region, partner, divisor)``; the column value is the
#: recorded value / divisor (NaN when the row is absent).
HEADLINE: tuple[tuple[str, str, str, str, str, str, float], ...] = (
    ("ndpr_cn", "NdPr price China (USD/kg)", "price", "NdPr", CHINA, "", 1.0),
    (
        "ndpr_row",
        "NdPr price outside China (USD/kg)",
        "price_outside_china_weighted",
        "NdPr",
        OUTSIDE_CHINA,
        "",
        1.0,
    ),
    ("dy_cn", "Dy price China (USD/kg)", "price", "ox_Dy", CHINA, "", 1.0),
    (
        "dy_row",
        "Dy price outside China (USD/kg)",
        "price_outside_china_weighted",
        "ox_Dy",
        OUTSIDE_CHINA,
        "",
        1.0,
    ),
    ("tb_cn", "Tb price China (USD/kg)", "price", "ox_Tb", CHINA, "", 1.0),
    (
        "tb_row",
        "Tb price outside China (USD/kg)",
        "price_outside_china_weighted",
        "ox_Tb",
        OUTSIDE_CHINA,
        "",
        1.0,
    ),
    (
        "cn_magnet_exports",
        "China magnet exports (t/month)",
        "china_exports",
        "magnets",
        CHINA,
        OUTSIDE_CHINA,
        1.0,
    ),
    (
        "lost_oem",
        "OEM lost output (USD m/month)",
        "lost_output_civil_magnet",
        "civil_magnet",
        "World",
        "",
        1e6,
    ),
    (
        "lost_defense",
        "Defense lost output (USD m/month)",
        "lost_output_defense",
        "defense",
        "World",
        "",
        1e6,
    ),
)


def hhi(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index of market shares (fractions summing to 1): 0-10,000."""
    s = np.asarray(shares, dtype=float)
    tot = s.sum()
    return float(((s / tot * 100) ** 2).sum()) if tot > 0 else float("nan")


def is_civil_magnet(sector) -> bool | np.ndarray | pd.Series:
    """True for sectors counted in ``lost_output_civil_magnet`` (all but defense and
    non-magnet users); works on one name, a numpy array or a pandas Series of names."""
    if isinstance(sector, str):
        return sector not in NOT_CIVIL_MAGNET
    if isinstance(sector, pd.Series):
        return ~sector.isin(NOT_CIVIL_MAGNET)
    return ~np.isin(np.asarray(sector, dtype=object), NOT_CIVIL_MAGNET)


class RollingSum:
    """Sum of the last ``window`` pushed arrays (fewer before ``window`` pushes).

    Example: ``r = RollingSum(2); r.push([1.0]); r.push([2.0]); r.push([4.0])`` returns
    ``[6.0]`` (2 + 4).
    """

    def __init__(self, window: int):
        if window < 1:
            raise ValueError(f"RollingSum window must be >= 1 month, got {window}")
        self.window = int(window)
        self._buf: deque[np.ndarray] = deque(maxlen=self.window)

    def push(self, x) -> np.ndarray:
        """Add this month's array; return the sum over the window (same shape as ``x``)."""
        self._buf.append(np.array(x, dtype=float))
        return np.sum(np.stack(self._buf), axis=0)


def rolling_share(part: np.ndarray, total: np.ndarray, min_total: float = 1e-9) -> np.ndarray:
    """Mass-weighted share ``part / total`` (e.g. China-content tonnes / tonnes received,
    both summed over a window); NaN where ``total`` <= ``min_total`` tonnes. Clipped to
    [0, 1]: tonne-weighted sums can overshoot 1 by rounding (1 + 5e-14)."""
    part, total = np.asarray(part, dtype=float), np.asarray(total, dtype=float)
    share = np.clip(part / np.maximum(total, 1e-12), 0.0, 1.0)
    return np.where(total > min_total, share, np.nan)


class Recorder:
    """Collects metric rows step by step and returns them as a DataFrame; also holds the
    rolling windows of :func:`record_month` (``windows``: name -> :class:`RollingSum`)."""

    def __init__(self):
        self._blocks: list[dict] = []
        self.windows: dict[str, RollingSum] = {}

    def window(self, name: str, months: int) -> RollingSum:
        """The rolling sum ``name`` (created with ``months`` on first use)."""
        if name not in self.windows:
            self.windows[name] = RollingSum(months)
        return self.windows[name]

    def add(self, date: str, step: int, metric: str, good, region, partner, value, unit: str):
        """Append rows; ``good``, ``region``, ``partner`` and ``value`` may be arrays of equal
        length (scalars are broadcast)."""
        value = np.atleast_1d(np.asarray(value, dtype=float))
        n = len(value)
        if n == 0:
            return

        def col(x):
            if isinstance(x, (list, tuple, np.ndarray)):
                return np.asarray(x, dtype=object)
            return np.full(n, x, dtype=object)

        self._blocks.append(
            {
                "date": date,
                "step": step,
                "metric": metric,
                "good": col(good),
                "region": col(region),
                "partner": col(partner),
                "value": value,
                "unit": unit,
                "n": n,
            }
        )

    def value(self, step: int, metric: str, good: str, region: str, partner: str = "") -> float:
        """The recorded value of one row of ``step`` (NaN when there is no such row).

        Cheap for the last step (scans that step's blocks only)."""
        for b in reversed(self._blocks):
            if b["step"] > step:
                continue
            if b["step"] < step:
                break
            if b["metric"] != metric:
                continue
            hit = (b["good"] == good) & (b["region"] == region) & (b["partner"] == partner)
            i = np.flatnonzero(hit)
            if len(i):
                return float(b["value"][i[0]])
        return float("nan")

    def frame(self, since_step: int = 0, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Rows so far (columns: date, step, metric, good, region, partner, value, unit).

        Args:
            since_step: only rows of steps >= this (cheap incremental reads for the UI).
            metrics: only these metrics (None: all).
        """
        blocks = [
            b
            for b in self._blocks
            if b["step"] >= since_step and (metrics is None or b["metric"] in metrics)
        ]
        return self._frame(blocks)

    def _frame(self, blocks: list[dict]) -> pd.DataFrame:
        if not blocks:
            return pd.DataFrame(
                columns=["date", "step", "metric", "good", "region", "partner", "value", "unit"]
            )
        n = [b["n"] for b in blocks]
        df = pd.DataFrame(
            {
                "date": pd.to_datetime(np.repeat([b["date"] for b in blocks], n)),
                "step": np.repeat([b["step"] for b in blocks], n).astype("int32"),
                "metric": np.repeat([b["metric"] for b in blocks], n),
                "good": np.concatenate([b["good"] for b in blocks]),
                "region": np.concatenate([b["region"] for b in blocks]),
                "partner": np.concatenate([b["partner"] for b in blocks]),
                "value": np.concatenate([b["value"] for b in blocks]),
                "unit": np.repeat([b["unit"] for b in blocks], n),
            }
        )
        for c in ("metric", "good", "region", "partner", "unit"):
            df[c] = df[c].astype("string")
        return df


def magnet_receipts(book, clearing, mag_idx, n_regions: int):
    """Magnets delivered this month to OEM-type buyers (OEMs, defense contractors), per
    consuming region.

    Args:
        book: the month's :class:`~abm.market.OrderBook` (``bids``: ``(agent, good, region,
            use, qty, price)``; ``bid_array()[:, 0]``: the good of each bid).
        clearing: the month's :class:`~abm.market.ClearingResult` (``bid_fill``: t per bid;
            ``bid_attrs``: (n_bids, 2) China-mined and China-any shares of each delivery).
        mag_idx: catalogue indices of the magnet goods.
        n_regions: R.

    Returns:
        ``(received, china_mined, china_any)``, each (R,) t/month: tonnes received and their
        China-mined and China-processed (any stage) content in tonnes.
    """
    bids = book.bids
    goods = book.bid_array()[:, 0]
    sel = [i for i in np.nonzero(np.isin(goods, mag_idx))[0] if isinstance(bids[i][0], OEM)]
    at = [bids[i][2] for i in sel]
    f = clearing.bid_fill[sel]
    return tuple(
        np.bincount(at, weights=w, minlength=n_regions).astype(float)
        for w in (f, f * clearing.bid_attrs[sel, 0], f * clearing.bid_attrs[sel, 1])
    )


def record_month(model, book, clearing) -> None:
    """Append this month's metric rows (the module docstring lists them) to
    ``model.recorder``; call once per step, after production and investment.

    Args:
        model: the :class:`~abm.model.RareEarthModel` after this month's production. Read:
            ``date`` (the month being simulated), ``month_index``, ``catalog`` (``goods``,
            ``index``), ``region_codes``, ``region_index``, ``G``, ``R``,
            ``observed_price`` (G, R) USD/kg, ``base_use`` (G, R) t/month, ``agents`` (each
            firm's ``ridx``, ``stocks``, ``output_month``; miners', refiners' and magnet
            makers' ``stage`` and ``capacity``; OEM-type buyers' ``sector``, ``region``,
            ``lost_value`` and ``lost_units``; refiners' ``oxide_goods``),
            ``agents_by_type`` (Refiner, Government: ``stocks``, ``subsidy_cost``),
            ``policy.desk`` (``applied``, ``approved`` (G, R, R, 2) t; ``delay_sum``) and
            ``policy.tariff`` (G, R importer, R exporter) fraction.
        book: the month's :class:`~abm.market.OrderBook` (see :func:`magnet_receipts`).
        clearing: the month's :class:`~abm.market.ClearingResult`; ``flows`` (G, R, R, 2)
            t/month origin -> destination per end use, ``bid_fill``, ``bid_attrs``.
    """
    cat = model.catalog
    rec = model.recorder
    date = str(model.date.to_timestamp().date())
    t = model.month_index
    codes = np.array(model.region_codes, dtype=object)
    goods = np.array(cat.goods, dtype=object)
    G, R = model.G, model.R
    cn = model.region_index[CHINA]
    non_cn = [i for i in range(R) if i != cn]
    # prices
    p = model.observed_price
    gg, rr = np.meshgrid(np.arange(G), np.arange(R), indexing="ij")
    traded = (clearing.flows.sum(axis=(1, 3)) > 0) | (clearing.flows.sum(axis=(2, 3)) > 0)
    mask = traded.ravel()
    rec.add(
        date,
        t,
        "price",
        goods[gg.ravel()[mask]],
        codes[rr.ravel()[mask]],
        "",
        p.ravel()[mask],
        "USD/kg",
    )
    nd, pr = cat.index["ox_Nd"], cat.index["ox_Pr"]
    ndpr = NDPR_ND_SHARE * p[nd] + (1 - NDPR_ND_SHARE) * p[pr]
    rec.add(date, t, "price", "NdPr", codes, "", ndpr, "USD/kg")
    # marginal spot quotes (civil node) where the region bought on spot
    sp = model.spot_price[:, :, 0]
    gi, ri = np.nonzero(np.isfinite(sp))
    rec.add(date, t, "price_spot", goods[gi], codes[ri], "", sp[gi, ri], "USD/kg")
    # contract price index of each origin that shipped on contract this month
    if clearing.contract is not None:
        shipped = clearing.contract.sum(axis=(2, 3)) > 1e-9
        cp = np.where(shipped, model.contract_price, np.nan)
        gi, ri = np.nonzero(np.isfinite(cp))
        rec.add(date, t, "price_contract", goods[gi], codes[ri], "", cp[gi, ri], "USD/kg")
    # prices outside China: both definitions (module docstring)
    w = np.array([model.base_use[[nd, pr]].sum(axis=0)[i] for i in non_cn]) + 1e-9
    med_g, med_v, avg_v = [], [], []
    for good in PRICE_GOODS:
        if good == "NdPr":
            row, quoted = ndpr, np.ones(R, dtype=bool)
        else:
            row, quoted = p[cat.index[good]], traded[cat.index[good]]
        vals = row[non_cn][quoted[non_cn]]
        if len(vals):
            med_g.append(good)
            med_v.append(float(np.median(vals)))
        avg_v.append(float(np.average(row[non_cn], weights=w)))
    rec.add(date, t, "price_outside_china_median", med_g, OUTSIDE_CHINA, "", med_v, "USD/kg")
    rec.add(
        date,
        t,
        "price_outside_china_weighted",
        list(PRICE_GOODS),
        OUTSIDE_CHINA,
        "",
        avg_v,
        "USD/kg",
    )
    # flows and China's exports
    fl = clearing.flows.sum(axis=3)
    g_, o_, d_ = np.nonzero(fl > 1e-6)
    rec.add(date, t, "flow", goods[g_], codes[o_], codes[d_], fl[g_, o_, d_], "t/month")
    mags = [cat.index[mag(g)] for g in GRADES]
    oxides = [i for i, g in enumerate(cat.goods) if g.startswith("ox_")]
    # China's exports as its customs record them, and the unrecorded (smuggled) rest
    sm = clearing.smuggled
    sm = np.zeros_like(fl) if sm is None else sm.sum(axis=3)
    rc = fl - sm
    rec.add(
        date,
        t,
        "china_exports",
        ["magnets", "oxides"],
        CHINA,
        OUTSIDE_CHINA,
        [float(rc[mags, cn][:, non_cn].sum()), float(rc[oxides, cn][:, non_cn].sum())],
        "t/month",
    )
    rec.add(
        date,
        t,
        "china_exports_unrecorded",
        ["magnets", "oxides"],
        CHINA,
        OUTSIDE_CHINA,
        [float(sm[mags, cn][:, non_cn].sum()), float(sm[oxides, cn][:, non_cn].sum())],
        "t/month",
    )
    # export licence prices under the export quotas in force
    lic = clearing.licence_price
    quota_cells = sorted({(int(g), r) for goods, r, _q in model.policy.quotas for g in goods})
    if quota_cells:
        gi, ri = (np.array(x, dtype=np.int64) for x in zip(*quota_cells, strict=True))
        rec.add(
            date,
            t,
            "export_licence_price",
            goods[gi],
            codes[ri],
            "",
            lic[gi, ri] if lic is not None else np.zeros(len(gi)),
            "USD/kg",
        )
    # production, capacity, inventory
    cap = {s: np.zeros(R) for s in STAGES}
    lost: dict[tuple[str, str], float] = {}
    lost_u: dict[tuple[str, str], float] = {}
    # (good x region cell, tonnes) pairs in agent order; np.bincount adds them in order
    inv_at, inv_q, pile_at, pile_q, prod_at, prod_q = [], [], [], [], [], []
    for a in model.agents:
        r = a.ridx
        if isinstance(a, Government):
            for g, s in a.stocks.items():
                pile_at.append(g * R + r)
                pile_q.append(s.qty)
            continue
        inv_at.extend([g * R + r for g in a.stocks])
        inv_q.extend([s.qty for s in a.stocks.values()])
        prod_at.extend([g * R + r for g in a.output_month])
        prod_q.extend(a.output_month.values())
        if isinstance(a, (Miner, Refiner, MagnetMaker)):
            cap[a.stage][r] += a.capacity
        if isinstance(a, OEM):
            key = (a.sector, a.region)
            lost[key] = lost.get(key, 0.0) + a.lost_value
            lost_u[key] = lost_u.get(key, 0.0) + a.lost_units
    inv, pile, prod = (
        np.bincount(at, weights=q, minlength=G * R).astype(float).reshape(G, R)
        for at, q in ((inv_at, inv_q), (pile_at, pile_q), (prod_at, prod_q))
    )
    gi, ri = np.nonzero(prod > 1e-9)
    rec.add(date, t, "production", goods[gi], codes[ri], "", prod[gi, ri], "t/month")
    for s in STAGES:
        nz = np.nonzero(cap[s] > 0)[0]
        rec.add(date, t, "capacity", s, codes[nz], "", cap[s][nz], "t/yr")
    gi, ri = np.nonzero(inv > 1e-9)
    rec.add(date, t, "inventory", goods[gi], codes[ri], "", inv[gi, ri], "t")
    gi, ri = np.nonzero(pile > 1e-9)
    rec.add(date, t, "stockpile", goods[gi], codes[ri], "", pile[gi, ri], "t")
    keys = sorted(lost)
    rec.add(
        date,
        t,
        "lost_output",
        [k[0] for k in keys],
        [k[1] for k in keys],
        "",
        [lost[k] for k in keys],
        "USD/month",
    )
    rec.add(
        date,
        t,
        "lost_output_units",
        [k[0] for k in keys],
        [k[1] for k in keys],
        "",
        [lost_u[k] for k in keys],
        "units/month",
    )
    # lost output by sector group: regions in code order, then the world total (summed in
    # agent order)
    for metric, group, keep in (
        ("lost_output_civil_magnet", "civil_magnet", is_civil_magnet),
        ("lost_output_defense", "defense", lambda s: s == "defense"),
    ):
        by_region: dict[str, float] = {}
        for (s, r), v in lost.items():
            if keep(s):
                by_region[r] = by_region.get(r, 0.0) + v
        regs = [c for c in model.region_codes if c in by_region]
        world = float(sum(v for (s, _r), v in lost.items() if keep(s)))
        rec.add(
            date,
            t,
            metric,
            group,
            regs + ["World"],
            "",
            [by_region[r] for r in regs] + [world],
            "USD/month",
        )
    # licences
    desk = model.policy.desk
    app = desk.applied.sum(axis=3)
    apr = desk.approved.sum(axis=3)
    g_, o_, d_ = np.nonzero(app > 1e-9)
    rec.add(
        date, t, "licence_applications", goods[g_], codes[o_], codes[d_], app[g_, o_, d_], "t/month"
    )
    rec.add(
        date, t, "licence_approvals", goods[g_], codes[o_], codes[d_], apr[g_, o_, d_], "t/month"
    )
    if apr.sum() > 0:
        rec.add(
            date, t, "licence_delay", "all", "CN", "", desk.delay_sum.sum() / apr.sum(), "months"
        )
    # china shares and hhi
    stage_out = {"mining": prod[[cat.index[f"conc_{d}"] for d in MINING_DEPOSITS]].sum(axis=0)}
    sep = [0.0] * R  # added in agent order, as floats
    for a in model.agents_by_type.get(Refiner, []):
        out = a.output_month
        sep[a.ridx] += sum([out.get(g, 0.0) for g in a.oxide_goods])
    stage_out["separation"] = np.array(sep)
    stage_out["magnets"] = prod[mags].sum(axis=0)
    for s in STAGES:
        tot = stage_out[s].sum()
        rec.add(
            date,
            t,
            "china_share",
            s,
            "World",
            "",
            stage_out[s][cn] / tot if tot > 0 else np.nan,
            "share",
        )
        rec.add(date, t, "hhi", s, "World", "", hhi(stage_out[s]), "index")
    # china content of magnet supply per consuming region (OEM + defense receipts): this
    # month's and the last ROLLING_MONTHS months'
    recv, cm_m, ca_m = magnet_receipts(book, clearing, mags, R)
    ok = recv > 1e-9
    ca_share, cm_share = rolling_share(ca_m, recv), rolling_share(cm_m, recv)
    rec.add(date, t, "magnets_received", "magnets", codes[ok], "", recv[ok], "t/month")
    rec.add(date, t, "china_content", "magnets", codes[ok], "", ca_share[ok], "share")
    rec.add(date, t, "china_mined_content", "magnets", codes[ok], "", cm_share[ok], "share")
    recv12, cm12, ca12 = (
        rec.window(f"magnets_{k}", ROLLING_MONTHS).push(x)
        for k, x in (("received", recv), ("china_mined", cm_m), ("china_any", ca_m))
    )
    ok12 = recv12 > 1e-9
    rec.add(
        date,
        t,
        "china_content_12m",
        "magnets",
        codes[ok12],
        "",
        rolling_share(ca12, recv12)[ok12],
        "share",
    )
    rec.add(
        date,
        t,
        "china_mined_content_12m",
        "magnets",
        codes[ok12],
        "",
        rolling_share(cm12, recv12)[ok12],
        "share",
    )
    # tariffs US<->CN and subsidy cost
    us = model.region_index.get("US")
    if us is not None:
        rec.add(
            date,
            t,
            "tariff",
            "all",
            ["US", "CN"],
            ["CN", "US"],
            [model.policy.tariff[:, cn, us].max(), model.policy.tariff[:, us, cn].max()],
            "fraction",
        )
    subs = [(g.region, g.subsidy_cost) for g in model.agents_by_type[Government] if g.subsidy_cost]
    if subs:
        rec.add(
            date,
            t,
            "subsidy_cost",
            "all",
            [s[0] for s in subs],
            "",
            [s[1] for s in subs],
            "USD (cumulative)",
        )
    # country economic accounts (abm.accounts; rows listed in record_accounts)
    record_accounts(model, book, clearing, date, t)
    fiscal = sorted(getattr(model, "fiscal_cost", {}).items())
    fiscal += [((r, "price_floor"), v) for r, v in subs]
    if fiscal:
        rec.add(
            date,
            t,
            "fiscal_cost",
            [k[1] for k, _ in fiscal],
            [k[0] for k, _ in fiscal],
            "",
            [v for _, v in fiscal],
            "USD (cumulative)",
        )


def headline_values(recorder: Recorder, step: int) -> dict[str, float]:
    """The :data:`HEADLINE` series of one step, read from its recorded rows: ``{key: value}``
    in the recorded unit (prices USD/kg, exports t/month, lost output USD/month); NaN where
    the row is absent (e.g. no Dy traded in China that month)."""
    return {
        key: recorder.value(step, metric, good, region, partner)
        for key, _label, metric, good, region, partner, _d in HEADLINE
    }


def headline_reporters() -> dict:
    """Mesa ``DataCollector`` model reporters of the :data:`HEADLINE` series (column label ->
    function of the model, reading ``model.headline(key)`` / divisor)."""
    return {
        label: (lambda m, k=key, d=div: m.headline(k) / d)
        for key, label, _m, _g, _r, _p, div in HEADLINE
    }
