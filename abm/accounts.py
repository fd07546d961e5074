"""Country economic accounts: what a disruption costs each economy, in nominal USD.

Each month :func:`record_accounts` (called at the end of :func:`abm.metrics.record_month`)
turns the month's lost output, clearing and policy into national-accounts items per region
(docs/ODD.md, submodel "Country economic accounts"):

* value added lost: lost gross output ``X`` (USD) of an end-use sector times its value-added
  share ``v`` (value added / gross output) times its Type-I value-added multiplier ``m``
  (domestic value added generated per USD of the sector's final demand, divided by ``v``:
  the direct plus the indirect loss through the domestic supply chain; Leontief 1936,
  Miller and Blair 2009 ch. 6): ``X v m`` (:func:`value_added_lost`);
* extra cost to buyers of rare-earth goods: tonnes received x (price paid - pre-shock price)
  (:func:`buyer_extra_cost`; negative when prices fall);
* tariff revenue (importer) and export-duty revenue (exporter): rate x customs value x flow
  (:func:`duty_revenue`); the customs value is the origin (FOB) price the clearing used for
  the ad valorem terms: last month's origin price for spot trade, the contract price index
  for contract deliveries;
* public costs: price-floor and offtake payments (gap x quantity, :func:`floor_payment`,
  paid in :meth:`abm.model.RareEarthModel._settle`) and stockpile purchases (tonnes bought
  by governments x price paid). Capital subsidies, loans and equity are the investment
  submodel's (its own ``fiscal_cost`` rows, when recorded) and are not repeated here;
* producer surplus by stage: tonnes sold x (price realised - ask), the ask being the
  seller's reservation price (Marshallian producer surplus over the offers filled);
* value added lost as a share of GDP at an annual rate (regional GDP: ``gdp.csv``).

Data: ``abm/data/io_multipliers.csv`` (value-added shares and multipliers per region and
end-use sector; ``default`` rows for regions without their own), ``abm/data/gdp.csv``
(nominal GDP, USD bn), both with source and status (abm/data/SOURCES.md).

Example (hand check): 10 M USD of cars not made in Japan with ``v = 0.22`` and
``m = 3.8`` is ``value_added_lost(10e6, 0.22, 3.8) = 8.36e6`` USD of value added lost.
"""

from __future__ import annotations

import functools

import numpy as np

from abm.data import load_table

#: Regions whose accounts the printed summary and the sweep outcomes report.
FOCUS_REGIONS = ("US", "JP", "EU", "KR", "CN")

#: Months per year (annual rate of a monthly flow, for shares of annual GDP).
MONTHS_PER_YEAR = 12.0

#: Account metrics recorded per region each month (all USD/month except the % row).
ACCOUNT_METRICS = (
    "value_added_lost",
    "value_added_lost_pct_gdp",
    "buyer_extra_cost",
    "tariff_revenue",
    "export_duty_revenue",
    "floor_offtake_cost",
    "stockpile_purchase_cost",
    "producer_surplus",
)


def value_added_lost(lost_output_usd, va_share, multiplier):
    """Value added lost, USD: lost gross output x value-added share x Type-I multiplier.

    Args:
        lost_output_usd: gross output not made, USD (scalar or array).
        va_share: value added / gross output of the sector, 0-1.
        multiplier: Type-I value-added multiplier (>= 1): total domestic value added per
            USD of the sector's final demand / ``va_share``.

    Returns:
        ``lost_output_usd * va_share * multiplier`` (same shape).
    """
    out = np.asarray(lost_output_usd, dtype=float) * va_share * multiplier
    return out if out.ndim else float(out)


def floor_payment(guaranteed, realised, qty_t):
    """A price floor's or offtake's payment, USD: ``max(guaranteed - realised, 0) x tonnes
    x 1000`` (the government tops each sale up to the guaranteed price).

    Args:
        guaranteed: guaranteed price, USD/kg (scalar or array).
        realised: price realised on the sale, USD/kg.
        qty_t: tonnes sold.
    """
    gap = np.maximum(np.asarray(guaranteed, dtype=float) - np.asarray(realised, dtype=float), 0.0)
    return gap * np.asarray(qty_t, dtype=float) * 1000.0


def duty_revenue(
    spot, contract, tariff, export_duty, customs_spot, customs_contract, unrecorded=None
):
    """Tariff revenue per importer and export-duty revenue per exporter, USD.

    Args:
        spot, contract: (G, R, R) tonnes shipped origin -> destination on spot and on
            contract (both end uses).
        tariff: (G, R exporter, R importer) ad valorem import tariff, fraction.
        export_duty: (G, R exporter) ad valorem export duty, fraction.
        customs_spot: (G, R) customs value of spot shipments per origin, USD/kg (last
            month's origin price).
        customs_contract: (G, R) customs value of contract deliveries per origin, USD/kg
            (the contract price index).
        unrecorded: (G, R, R) tonnes of ``spot`` smuggled out of the exporter
            (:attr:`abm.market.ClearingResult.smuggled`, summed over end uses): they pay the
            importer's tariff, not the exporter's duty (docs/ODD.md 7.4); None: none.

    Returns:
        ``(tariff_by_importer, duty_by_exporter)``, each (R,) USD. Domestic flows
        (origin = destination) pay neither.
    """
    R = spot.shape[1]
    off = 1.0 - np.eye(R)

    def value(spot_t):
        return (
            (
                spot_t * np.nan_to_num(customs_spot)[:, :, None]
                + contract * np.nan_to_num(customs_contract)[:, :, None]
            )
            * off[None]
            * 1000.0
        )

    imported = value(spot)
    exported = imported if unrecorded is None else value(spot - unrecorded)
    return (
        (tariff * imported).sum(axis=(0, 1)),
        (export_duty[:, :, None] * exported).sum(axis=(0, 2)),
    )


def buyer_extra_cost(received, paid, base):
    """Extra cost to buyers against pre-shock prices, USD per region.

    Args:
        received: (G, R, 2) tonnes received per demand node (civil, defense).
        paid: (G, R, 2) price paid per node, USD/kg (NaN where nothing was received).
        base: (G, R) pre-shock delivered price, USD/kg.

    Returns:
        (R,) USD: sum over goods and uses of ``received x (paid - base) x 1000``.
    """
    gap = np.where(received > 0, np.nan_to_num(paid) - base[:, :, None], 0.0)
    return (received * gap).sum(axis=(0, 2)) * 1000.0


def pct_of_gdp(usd_per_month, gdp_usd_bn):
    """A monthly flow as a percentage of annual GDP at an annual rate:
    ``usd_per_month x 12 / (gdp_usd_bn x 1e9) x 100``."""
    return (
        np.asarray(usd_per_month, dtype=float)
        * MONTHS_PER_YEAR
        / (np.asarray(gdp_usd_bn, dtype=float) * 1e9)
        * 100.0
    )


@functools.cache
def io_table() -> dict[tuple[str, str], tuple[float, float]]:
    """``{(region, sector): (va_share, va_multiplier)}`` from ``io_multipliers.csv``
    (region ``default`` for regions without their own rows)."""
    df = load_table("io_multipliers.csv")
    return {
        (r, s): (float(v), float(m))
        for r, s, v, m in zip(
            df["region"], df["sector"], df["va_share"], df["va_multiplier"], strict=True
        )
    }


def io_coefficients(region: str, sector: str) -> tuple[float, float]:
    """``(va_share, va_multiplier)`` of an end-use sector in a region (the ``default``
    row where the region has none).

    Raises:
        KeyError: a sector without rows in ``io_multipliers.csv`` (names the file).
    """
    tab = io_table()
    hit = tab.get((region, sector)) or tab.get(("default", sector))
    if hit is None:
        raise KeyError(
            f"io_multipliers.csv: no row for sector '{sector}' (region '{region}' or 'default')"
        )
    return hit


@functools.cache
def gdp_usd_bn(year: int | None = None) -> dict[str, float]:
    """Nominal GDP per model region, USD bn, from ``gdp.csv`` (the latest year on file
    when ``year`` is None)."""
    df = load_table("gdp.csv")
    if year is None:
        year = int(df["year"].max())
    df = df[df["year"] == year]
    return dict(zip(df["region"], df["gdp_usd_bn"].astype(float), strict=True))


class Accounts:
    """State the monthly accounts need across months: pre-shock prices, customs values
    of the current clearing, and the governments' cumulative floor payments.

    Created by the model after its price warm-up (``pre_shock_price``: the delivered
    prices of the base-year trial clearing, the status quo before any step).

    Args:
        model: the :class:`~abm.model.RareEarthModel`; reads ``observed_price`` (G, R).
    """

    def __init__(self, model):
        self.pre_shock_price = np.array(model.observed_price, dtype=float)
        self.customs_spot = np.array(model.origin_price, dtype=float)
        self.customs_contract = np.zeros_like(self.customs_spot)
        self.floor_paid: dict[str, float] = {}
        gdp = gdp_usd_bn()
        missing = [c for c in model.region_codes if c not in gdp]
        if missing:
            raise KeyError(f"gdp.csv: no GDP for region(s) {missing}")
        self.gdp = np.array([gdp[c] for c in model.region_codes])

    def set_customs(self, ref_price, contract_index) -> None:
        """Customs values of this month's clearing: ``ref_price`` (G, R) USD/kg, the origin
        prices the spot ad valorem terms use; ``contract_index`` (G, R) USD/kg, the
        contract price index (NaN: no contract)."""
        self.customs_spot = np.array(ref_price, dtype=float)
        self.customs_contract = np.nan_to_num(np.array(contract_index, dtype=float))


def record_accounts(model, book, clearing, date: str, t: int) -> None:
    """Append this month's account rows (``ACCOUNT_METRICS``) to ``model.recorder``.

    Rows (``good``, ``region``; every model region each month, zeros included, plus a
    ``World`` row that is the sum of the regional rows; ``producer_surplus`` only for the
    stages that sold this month, so an absent row means zero:
    :data:`abm.metrics.ZERO_WHEN_ABSENT`):

    * ``value_added_lost`` (USD/month; good = end-use sector, and ``all``);
    * ``value_added_lost_pct_gdp`` (% of GDP at an annual rate; good ``all``);
    * ``buyer_extra_cost`` (USD/month; ``all``; region = buying region);
    * ``tariff_revenue`` (USD/month; ``all``; region = importer);
    * ``export_duty_revenue`` (USD/month; ``all``; region = exporter);
    * ``floor_offtake_cost`` (USD/month; ``all``; region = paying government);
    * ``stockpile_purchase_cost`` (USD/month; ``all``; region = buying government);
    * ``producer_surplus`` (USD/month; good = stage (mining, separation, magnets,
      recycling, storage (stockholders), reserve (state reserves' releases)); region =
      seller's region).

    Args:
        model: the model after this month's production; reads ``accounts``
            (:class:`Accounts`), ``agents`` (OEM-type ``sector``, ``region``,
            ``lost_value``; offers' agents' ``stage``), ``agents_by_type`` (Government:
            ``subsidy_cost``), ``policy.tariff`` (G, exporter, importer),
            ``policy.export_duty`` (G, R), ``region_codes``.
        book: the month's :class:`~abm.market.OrderBook`.
        clearing: the month's :class:`~abm.market.ClearingResult` (``flows``,
            ``contract``, ``paid_price``, ``offer_fill``, ``offer_price``, ``bid_fill``).
        date, t: the row date and step.
    """
    from agents import OEM, Government

    acc: Accounts = model.accounts
    rec = model.recorder
    codes = list(model.region_codes)
    ri = model.region_index
    R = len(codes)

    def add(metric, good, values, unit="USD/month"):
        values = np.asarray(values, dtype=float)
        rec.add(date, t, metric, good, codes + ["World"], "", np.append(values, values.sum()), unit)

    # value added lost per sector and region
    sectors: dict[str, np.ndarray] = {}
    for a in model.agents:
        if isinstance(a, OEM):
            v, m = io_coefficients(a.region, a.sector)
            row = sectors.setdefault(a.sector, np.zeros(R))
            row[ri[a.region]] += value_added_lost(a.lost_value, v, m)
    total = np.zeros(R)
    for s in sorted(sectors):
        add("value_added_lost", s, sectors[s])
        total += sectors[s]
    add("value_added_lost", "all", total)
    pct = pct_of_gdp(total, acc.gdp)
    rec.add(
        date,
        t,
        "value_added_lost_pct_gdp",
        "all",
        codes + ["World"],
        "",
        np.append(pct, pct_of_gdp(total.sum(), acc.gdp.sum())),
        "% of GDP (annual rate)",
    )
    # buyers' extra cost
    flows = clearing.flows
    received = flows.sum(axis=1)
    paid = clearing.paid_price if clearing.paid_price is not None else clearing.price
    add("buyer_extra_cost", "all", buyer_extra_cost(received, paid, acc.pre_shock_price))
    # tariffs and export duties
    contract = (clearing.contract if clearing.contract is not None else np.zeros_like(flows)).sum(
        axis=3
    )
    spot = flows.sum(axis=3) - contract
    smuggled = clearing.smuggled
    tar, duty = duty_revenue(
        spot,
        contract,
        model.policy.tariff,
        model.policy.export_duty,
        acc.customs_spot,
        acc.customs_contract,
        None if smuggled is None else smuggled.sum(axis=3),
    )
    add("tariff_revenue", "all", tar)
    add("export_duty_revenue", "all", duty)
    # public costs: floor and offtake payments this month, stockpile purchases
    floor = np.zeros(R)
    stock_buy = np.zeros(R)
    for gov in model.agents_by_type.get(Government, []):
        prev = acc.floor_paid.get(gov.region, 0.0)
        floor[ri[gov.region]] = gov.subsidy_cost - prev
        acc.floor_paid[gov.region] = gov.subsidy_cost
    fills = clearing.bid_fill
    if len(book.bids):
        gov = np.array([isinstance(a, Government) for a, _ in book.owners], dtype=bool)
        by_gov = gov[np.asarray(book.bid_owner, dtype=np.int64)]
        for i in np.flatnonzero((fills > 0) & by_gov).tolist():  # in book order
            _a, g, r, u = book.bids[i][:4]
            stock_buy[r] += float(fills[i]) * float(np.nan_to_num(paid[g, r, u])) * 1000.0
    add("floor_offtake_cost", "all", floor)
    add("stockpile_purchase_cost", "all", stock_buy)
    # producer surplus by stage
    ps: dict[str, np.ndarray] = {}
    price = clearing.offer_price
    if price is not None and len(book.offers):
        # filled offers in book order; np.bincount adds each stage's terms in that order
        off = book.offer_array()
        fill = clearing.offer_fill
        stage = np.array([book.owners[i][0].stage for i in book.offer_owner], dtype=object)
        sel = (fill > 0) & ~np.isin(stage, ("government", "end_use"))
        term = fill * (price - off[:, 3]) * 1000.0
        r_ = off[:, 1].astype(np.int64)
        for s in dict.fromkeys(stage[sel].tolist()):  # stages in order of first sale
            m = sel & (stage == s)
            ps[s] = np.bincount(r_[m], weights=term[m], minlength=R).astype(float)
    for s in sorted(ps):
        add("producer_surplus", s, ps[s])
