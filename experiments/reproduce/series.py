"""The monthly series a reproduction run keeps: read from the model's recorded series
(:mod:`abm.metrics`) and from the OEM and magnet-maker agents' adaptation state."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.goods import STAGES

REGIONS_DECOUPLING = ("US", "EU", "JP", "KR")


def demand_removed_share(model) -> float:
    """Share of magnet-REE demand (t REO in magnets) removed by thrifting and substitution.

    For every magnet-using OEM and defense contractor, this month's planned units are valued
    twice: with the base-year recipe and full Dy/Tb content, and with the current recipe
    (Ce/ferrite substitution ``sub_share``, Dy-free designs ``dy_free_share``, rare-earth
    content per unit ``intensity``: thrifting and derating) and the
    capacity-weighted Dy/Tb thrifting factor of magnet makers (``hre_factor``). Price-driven
    demand destruction (fewer units) is not counted: both sides use the same units.
    """
    from abm.goods import ELEMENTS, mag
    from agents import OEM, MagnetMaker, NonMagnetUser

    cat = model.catalog
    makers = [a for a in model.agents_by_type.get(MagnetMaker, []) if a.capacity > 0]
    cap = sum(a.capacity for a in makers)
    hre = sum(a.capacity * a.hre_factor for a in makers) / cap if cap > 0 else 1.0
    hre_idx = [ELEMENTS.index("Dy"), ELEMENTS.index("Tb")]
    base_c = cat.content.sum(axis=1)
    cur_c = base_c - cat.content[:, hre_idx].sum(axis=1) * (1.0 - hre)
    mags = {cat.index[mag(g)] for g in ("ndfeb_std", "ndfeb_ht", "smco")}
    d0 = d1 = 0.0
    for cls, group in model.agents_by_type.items():
        if not issubclass(cls, OEM) or issubclass(cls, NonMagnetUser):
            continue
        for a in group:
            u = a.plan_units
            if u <= 0:
                continue
            d0 += u * sum(v * base_c[g] for g, v in a.recipe0.items() if g in mags)
            d1 += u * sum(v * cur_c[g] for g, v in a.recipe().items() if g in mags)
    return 1.0 - d1 / d0 if d0 > 0 else 0.0


#: the firm whose announced capacity the 2029 magnet-capacity target measures (the name its
#: plants carry in firms.csv and project_pipeline.csv)
MP_MATERIALS = "MP Materials"


def _adaptation_state(model) -> dict[str, float]:
    """Per-month state read from the agents: ``nameplate:magnets:MP`` (installed nameplate
    of MP Materials' active US magnet plants, ramps included, t/yr), ``demand_removed``,
    ``sub_share``, ``dy_free_share`` and ``hre_factor`` (shares)."""
    from agents import OEM, MagnetMaker, NonMagnetUser

    oems = [
        a
        for cls, grp in model.agents_by_type.items()
        if issubclass(cls, OEM) and not issubclass(cls, NonMagnetUser)
        for a in grp
    ]
    w = np.array([max(a.plan_units, 0.0) * sum(a.recipe0.values()) for a in oems])
    w = w / w.sum() if w.sum() > 0 else np.full(len(oems), 1 / max(len(oems), 1))
    makers = [a for a in model.agents_by_type.get(MagnetMaker, []) if a.capacity > 0]
    cap = sum(a.capacity for a in makers)
    mp = [
        a
        for a in model.agents_by_type.get(MagnetMaker, [])
        if a.active and a.region == "US" and a.name.startswith(MP_MATERIALS)
    ]
    return {
        "nameplate:magnets:MP": float(sum(a.nameplate or a.capacity for a in mp)),
        "demand_removed": demand_removed_share(model),
        "sub_share": float(sum(wi * a.sub_share for wi, a in zip(w, oems, strict=True))),
        "dy_free_share": float(sum(wi * a.dy_free_share for wi, a in zip(w, oems, strict=True))),
        "hre_factor": sum(a.capacity * a.hre_factor for a in makers) / cap if cap else 1.0,
    }


def recorded(
    ts: pd.DataFrame, metric: str, good: str | None = None, region: str | None = None
) -> pd.Series:
    """The rows of ``metric`` (and ``good``, ``region`` when given) of a run's tidy table
    (:meth:`abm.model.RareEarthModel.timeseries`) as a Series of values indexed by date, in
    the metric's recorded unit."""
    m = ts["metric"] == metric
    if good is not None:
        m &= ts["good"] == good
    if region is not None:
        m &= ts["region"] == region
    return ts[m].set_index("date")["value"]


def _exchina_price(ts: pd.DataFrame, good: str, region: str) -> pd.Series:
    """Price of ``region``'s supply of ``good`` from origins other than China, by month:
    the origins' contract price indices (``price_contract``, FOB, USD/kg) weighted by their
    ``flow`` rows to ``region`` (domestic supply included); months without such supply at a
    recorded contract price are left out."""
    f = ts[
        (ts["metric"] == "flow")
        & (ts["good"] == good)
        & (ts["partner"] == region)
        & (ts["region"] != "CN")
    ]
    f = f.set_index(["date", "region"])["value"]
    c = ts[(ts["metric"] == "price_contract") & (ts["good"] == good) & (ts["region"] != "CN")]
    c = c.set_index(["date", "region"])["value"]
    both = pd.concat([f.rename("t"), c.rename("p")], axis=1, join="inner")
    both = both[both["t"] > 0]
    if both.empty:
        return pd.Series(dtype=float)
    value = (both["t"] * both["p"]).groupby(level="date").sum()
    return value / both["t"].groupby(level="date").sum()


def series_from_model(model, adaptation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Monthly series of a finished run as a wide table indexed by month (Timestamp).

    Columns, each read from a recorded series of :mod:`abm.metrics`: ``price_row:<good>``
    (``price_outside_china_median``: median over the regions outside China that traded the
    good, USD/kg) and ``price_cn:<good>`` (``price`` of CN) for ox_Nd, ox_Dy, ox_Tb, NdPr,
    ox_La and ox_Ce; ``price_eu:<good>`` (``price`` of EU) for ox_Dy, ox_Tb, ox_Y and NdPr,
    and ``price_cn:<good>`` for ox_Y, mag_ndfeb_ht and mag_ndfeb_std: an oxide's
    ``price`` is recorded only in months the region traded
    it, so these are NaN in other months (NdPr's is recorded every month); ``quote_eu:<good>``
    (``price_spot`` of EU: the marginal spot quote of the EU's civil buyers, the highest
    value of one more kilogram among them, recorded only in months they bought on spot) for
    ox_Dy, ox_Tb and ox_Y;
    ``exchina_eu:mag_ndfeb_ht`` (the EU's supply of high-temperature magnets from origins
    other than China at their contract prices, :func:`_exchina_price`);
    ``cn_exports:<good>`` for ox_Dy and ox_Tb (sums of the ``flow`` rows from CN to other
    regions, t/month; 0 in a month without such rows: under the 2025 licences nothing is
    smuggled, so these are China's customs exports); ``cn_magnet_exports`` and
    ``cn_oxide_exports`` (``china_exports``: recorded by China's customs, t/month) and
    ``cn_oxide_exports_unrecorded`` (``china_exports_unrecorded``: smuggled, t/month);
    ``capacity:<stage>:US`` and ``capacity:<stage>:nonCN`` (sums of ``capacity`` rows, t/yr);
    ``china_content:<region>`` and ``china_content_12m:<region>`` (share of magnet supply,
    monthly and over the last 12 months); ``china_share:<stage>``; ``mine:world`` and
    ``mine:nonCN`` (sums of concentrate ``production`` rows, t REO/month); ``ndfeb:world``,
    ``ndfeb:JP`` and ``ndfeb:CN`` (sums of NdFeB magnet ``production`` rows, t/month);
    ``lost_output:oem`` (``lost_output_civil_magnet``, World, USD/month); and the
    adaptation columns (:func:`_adaptation_state`) when ``adaptation`` is given.
    """
    ts = model.timeseries()
    dates = pd.DatetimeIndex(sorted(ts["date"].unique()))
    out: dict[str, pd.Series] = {}
    for good in ("ox_Nd", "ox_Dy", "ox_Tb", "NdPr", "ox_La", "ox_Ce"):
        out[f"price_row:{good}"] = recorded(ts, "price_outside_china_median", good)
        out[f"price_cn:{good}"] = recorded(ts, "price", good, "CN")
    for good in ("ox_Dy", "ox_Tb", "ox_Y", "NdPr", "mag_ndfeb_ht"):
        out[f"price_eu:{good}"] = recorded(ts, "price", good, "EU")
        if good not in ("NdPr", "mag_ndfeb_ht"):
            out[f"quote_eu:{good}"] = recorded(ts, "price_spot", good, "EU")
    for good in ("ox_Y", "mag_ndfeb_ht", "mag_ndfeb_std"):
        out[f"price_cn:{good}"] = recorded(ts, "price", good, "CN")
    out["exchina_eu:mag_ndfeb_ht"] = _exchina_price(ts, "mag_ndfeb_ht", "EU")
    flows = ts[(ts["metric"] == "flow") & (ts["region"] == "CN") & (ts["partner"] != "CN")]
    for good in ("ox_Dy", "ox_Tb"):
        out[f"cn_exports:{good}"] = flows[flows["good"] == good].groupby("date")["value"].sum()
    out["cn_magnet_exports"] = recorded(ts, "china_exports", "magnets")
    out["cn_oxide_exports"] = recorded(ts, "china_exports", "oxides")
    out["cn_oxide_exports_unrecorded"] = recorded(ts, "china_exports_unrecorded", "oxides")
    cap = ts[ts["metric"] == "capacity"]
    for stage in STAGES:
        c = cap[cap["good"] == stage]
        out[f"capacity:{stage}:US"] = c[c["region"] == "US"].groupby("date")["value"].sum()
        out[f"capacity:{stage}:nonCN"] = c[c["region"] != "CN"].groupby("date")["value"].sum()
    for r in REGIONS_DECOUPLING:
        out[f"china_content:{r}"] = recorded(ts, "china_content", region=r)
        out[f"china_content_12m:{r}"] = recorded(ts, "china_content_12m", region=r)
    for stage in STAGES:
        out[f"china_share:{stage}"] = recorded(ts, "china_share", stage)
    prod = ts[(ts["metric"] == "production") & ts["good"].str.startswith("conc_")]
    out["mine:world"] = prod.groupby("date")["value"].sum()
    out["mine:nonCN"] = prod[prod["region"] != "CN"].groupby("date")["value"].sum()
    mag = ts[(ts["metric"] == "production") & ts["good"].str.startswith("mag_ndfeb")]
    out["ndfeb:world"] = mag.groupby("date")["value"].sum()
    for r in ("JP", "CN"):
        out[f"ndfeb:{r}"] = mag[mag["region"] == r].groupby("date")["value"].sum()
    out["lost_output:oem"] = recorded(ts, "lost_output_civil_magnet", region="World")
    frame = pd.DataFrame({k: v.reindex(dates) for k, v in out.items()}, index=dates)
    for k in (
        "cn_exports:ox_Dy",
        "cn_exports:ox_Tb",
        "cn_magnet_exports",
        "cn_oxide_exports",
        "cn_oxide_exports_unrecorded",
        "mine:nonCN",
        "ndfeb:world",
        "ndfeb:JP",
        "ndfeb:CN",
        "lost_output:oem",
        "capacity:mining:US",
        "capacity:separation:US",
        "capacity:magnets:US",
    ):
        frame[k] = frame[k].fillna(0.0)
    if adaptation is not None:
        frame = frame.join(adaptation.set_axis(dates[: len(adaptation)]))
    frame.index.name = "date"
    return frame


def _wide(series: pd.DataFrame) -> pd.DataFrame:
    return series.pivot_table(
        index="date", columns="series", values="value", aggfunc="first", dropna=False
    )
