"""The monthly metrics (abm/metrics.py): hand-checkable rolling shares, the recorded series
against their documented definitions, and consumers that read the recorded series."""

import numpy as np
import pandas as pd
import pytest

from abm.goods import GRADES, mag
from abm.metrics import (
    HEADLINE,
    NOT_CIVIL_MAGNET,
    Recorder,
    RollingSum,
    headline_values,
    is_civil_magnet,
    rolling_share,
)
from agents import OEM
from experiments.reproduce.series import recorded

#: to 2025-12: past the 12-month window and into the April 2025 licences (the shared run of
#: conftest.py shipped_runs; was a 20-month run of its own)
MONTHS = 24


@pytest.fixture(scope="module")
def run(shipped_runs):
    """controls-2025, seed 0, 24 months (the shared run of conftest.py shipped_runs): the
    model, its table, and the old headline formulas evaluated on the model state after every
    step (``SHIPPED_RUN_OBSERVERS``)."""
    m, _ = shipped_runs["controls-2025"]
    assert m.steps == MONTHS
    return m, m.timeseries(), shipped_runs.observed["controls-2025"]["metrics_old_headline"]


def _old_headline(m) -> dict[str, float]:
    """The headline as RareEarthModel._record computed it before the metrics moved."""
    cat, p = m.catalog, m.observed_price
    cn = m.region_index["CN"]
    non_cn = [i for i in range(m.R) if i != cn]
    nd, pr, dy, tb = (cat.index[g] for g in ("ox_Nd", "ox_Pr", "ox_Dy", "ox_Tb"))
    ndpr = 0.75 * p[nd] + 0.25 * p[pr]
    w = np.array([m.base_use[[nd, pr]].sum(axis=0)[i] for i in non_cn]) + 1e-9
    fl = m.last_flows.sum(axis=3)
    mags = [cat.index[mag(g)] for g in GRADES]
    lost: dict = {}
    for a in m.agents:
        if isinstance(a, OEM):
            lost[(a.sector, a.region)] = lost.get((a.sector, a.region), 0.0) + a.lost_value
    return {
        "ndpr_cn": float(ndpr[cn]),
        "ndpr_row": float(np.average(ndpr[non_cn], weights=w)),
        "dy_cn": float(p[dy, cn]),
        "dy_row": float(np.average(p[dy, non_cn], weights=w)),
        "tb_cn": float(p[tb, cn]),
        "tb_row": float(np.average(p[tb, non_cn], weights=w)),
        "cn_magnet_exports": float(fl[mags, cn][:, non_cn].sum()),
        "lost_oem": float(
            sum(v for (s, _r), v in lost.items() if s not in ("defense", "non_magnet"))
        ),
        "lost_defense": float(sum(v for (s, _r), v in lost.items() if s == "defense")),
    }


#: the old headline after each step of the shared controls-2025 run (conftest.py)
SHIPPED_RUN_OBSERVERS = {"controls-2025": {"metrics_old_headline": _old_headline}}


# ------------------------------------------------------------------ hand-checkable cases
def test_rolling_share_is_mass_weighted_not_a_mean_of_monthly_shares():
    # 100 t at a China share of 1.0, then 300 t at 0.0: 100 / 400 = 0.25 (the mean of the
    # monthly shares would be 0.5)
    received, china = RollingSum(12), RollingSum(12)
    for tonnes, share in ((100.0, 1.0), (300.0, 0.0)):
        r, c = received.push([tonnes]), china.push([tonnes * share])
    assert rolling_share(c, r)[0] == pytest.approx(0.25)
    assert r[0] == 400.0 and c[0] == 100.0


def test_rolling_window_drops_the_oldest_month():
    received, china = RollingSum(2), RollingSum(2)
    for tonnes, share in ((100.0, 1.0), (300.0, 0.0), (100.0, 0.5)):
        r, c = received.push([tonnes]), china.push([tonnes * share])
    # the 100 t at 1.0 has left the 2-month window: (0 + 50) / (300 + 100)
    assert rolling_share(c, r)[0] == pytest.approx(0.125)
    # nothing received in the window: no share
    empty = RollingSum(1)
    assert np.isnan(rolling_share(empty.push([0.0]), empty.push([0.0]))[0])
    with pytest.raises(ValueError, match="window"):
        RollingSum(0)


def test_civil_magnet_filter_is_one_definition():
    assert NOT_CIVIL_MAGNET == ("defense", "non_magnet")
    assert is_civil_magnet("ev") and not is_civil_magnet("defense")
    s = pd.Series(["ev", "defense", "non_magnet", "wind"])
    assert list(is_civil_magnet(s)) == [True, False, False, True]
    assert list(is_civil_magnet(s.to_numpy())) == [True, False, False, True]


def test_recorder_value_reads_one_row_of_one_step():
    rec = Recorder()
    rec.add("2024-01-01", 0, "price", ["ox_Dy", "ox_Tb"], "CN", "", [300.0, 1000.0], "USD/kg")
    rec.add("2024-02-01", 1, "price", ["ox_Dy"], "CN", "", [310.0], "USD/kg")
    assert rec.value(0, "price", "ox_Tb", "CN") == 1000.0
    assert rec.value(1, "price", "ox_Dy", "CN") == 310.0
    assert np.isnan(rec.value(1, "price", "ox_Tb", "CN"))  # not traded that month
    vals = headline_values(rec, 1)
    assert vals["dy_cn"] == 310.0 and np.isnan(vals["tb_cn"]) and len(vals) == len(HEADLINE)


# ------------------------------------------------------------------ recorded = definition
def test_headline_is_bit_identical_to_the_old_formulas(run):
    m, _ts, old = run
    df = m.headline_frame()
    for key, label, *_rest, div in HEADLINE:
        got = df[label].to_numpy()
        want = np.array([o[key] for o in old]) / div
        assert np.array_equal(got, want), (key, got, want)


def test_headline_columns_are_recordedrecorded(run):
    m, ts, _old = run
    df = m.headline_frame()
    for _key, label, metric, good, region, partner, div in HEADLINE:
        sel = ts[
            (ts.metric == metric)
            & (ts.good == good)
            & (ts.region == region)
            & (ts.partner == partner)
        ]
        assert len(sel) == MONTHS, label
        assert np.array_equal(df[label].to_numpy(), sel["value"].to_numpy() / div), label


def test_price_outside_china_median_is_the_median_of_recorded_prices(run):
    # the definition outcomes and reproduction used before it was recorded (pandas median of
    # the price rows outside China), bit for bit
    _m, ts, _old = run
    price = ts[(ts.metric == "price") & (ts.region != "CN")]
    for good in ("NdPr", "ox_Nd", "ox_Dy", "ox_Tb"):
        old = price[price.good == good].groupby("date")["value"].median()
        new = recorded(ts, "price_outside_china_median", good, "nonCN")
        pd.testing.assert_series_equal(new, old, check_names=False)
    # the two definitions differ (so both are kept, under their own names)
    med = recorded(ts, "price_outside_china_median", "ox_Tb")
    wtd = recorded(ts, "price_outside_china_weighted", "ox_Tb")
    assert not np.allclose(med.to_numpy(), wtd.reindex(med.index).to_numpy())


def test_lost_output_groups_add_up_to_the_sectorrecorded(run):
    _m, ts, _old = run
    lo = ts[ts.metric == "lost_output"]
    for metric, keep in (
        ("lost_output_civil_magnet", is_civil_magnet(lo["good"])),
        ("lost_output_defense", lo["good"] == "defense"),
    ):
        by = lo[keep].groupby(["date", "region"])["value"].sum()
        rec = ts[(ts.metric == metric) & (ts.region != "World")].set_index(["date", "region"])
        pd.testing.assert_series_equal(
            rec["value"].sort_index(), by.sort_index(), check_names=False, rtol=1e-12
        )
        world = recorded(ts, metric, region="World")
        assert len(world) == MONTHS
        np.testing.assert_allclose(world, lo[keep].groupby("date")["value"].sum(), rtol=1e-12)
    assert recorded(ts, "lost_output_civil_magnet", region="World").sum() > 0  # a case that bites


def test_china_exports_are_the_flows_from_china(run):
    _m, ts, _old = run
    fl = ts[(ts.metric == "flow") & (ts.region == "CN") & (ts.partner != "CN")]
    for group, prefix in (("magnets", "mag_"), ("oxides", "ox_")):
        old = fl[fl.good.str.startswith(prefix)].groupby("date")["value"].sum()
        new = recorded(ts, "china_exports", group, "CN")
        assert len(new) == MONTHS and new.sum() > 0
        np.testing.assert_allclose(new.reindex(old.index), old, rtol=1e-12, atol=1e-5)


def test_china_content_12m_is_the_tonne_weighted_share_of_the_window(run):
    _m, ts, _old = run
    dates = sorted(ts["date"].unique())
    for region in ("US", "EU", "JP", "KR"):
        got = recorded(ts, "magnets_received", "magnets", region).reindex(dates, fill_value=0.0)
        share = recorded(ts, "china_content", "magnets", region).reindex(dates, fill_value=0.0)
        roll = recorded(ts, "china_content_12m", "magnets", region)
        assert len(roll) == MONTHS, region
        for k, d in enumerate(dates):
            w = slice(max(0, k - 11), k + 1)
            want = (got.iloc[w] * share.iloc[w]).sum() / got.iloc[w].sum()
            assert roll[d] == pytest.approx(want, rel=1e-12), (region, d)
        # the first month's rolling share is that month's share
        assert roll.iloc[0] == pytest.approx(share.iloc[0], rel=1e-12)


# ------------------------------------------------------------------ consumers read the table
def _doctored(ts: pd.DataFrame) -> pd.DataFrame:
    """The table with every recorded derived series replaced by a marker value: a consumer
    that recomputes instead of reading would not see the markers."""
    ts = ts.copy()
    for metric, value in (
        ("price_outside_china_median", 123.0),
        ("lost_output_civil_magnet", 7.0),
        ("lost_output_defense", 3.0),
        ("buyer_extra_cost", 2.0),
        ("china_exports", 11.0),
        ("china_content_12m", 0.375),
    ):
        ts.loc[ts.metric == metric, "value"] = value
    return ts


def test_outcomes_read_the_recorded_series(run):
    from abm.outcomes import OUTCOMES

    _m, ts, _old = run
    fake = _doctored(ts)
    val = {n: OUTCOMES[n].fn(fake) for n in OUTCOMES}
    assert val["peak_dy_price_outside_china"] == 123.0
    assert val["peak_ndpr_price_outside_china"] == 123.0
    # the US price is the recorded price paid in the US, not the median abroad
    assert val["peak_dy_price_us"] == recorded(ts, "price", "ox_Dy", "US").max() != 123.0
    assert val["oem_lost_output_usd"] == 7.0 * MONTHS  # World rows only
    assert val["us_oem_lost_output_usd"] == 7.0 * MONTHS
    assert val["defense_lost_output_usd"] == 3.0 * MONTHS
    # the US row of the account, one a month (World is another row)
    assert val["us_buyer_extra_cost_usd"] == 2.0 * MONTHS
    assert val["oem_lost_output_months"] == MONTHS
    # and on the real table: the recorded maxima and sums
    real = {n: OUTCOMES[n].fn(ts) for n in OUTCOMES}
    assert (
        real["peak_dy_price_outside_china"]
        == recorded(ts, "price_outside_china_median", "ox_Dy").max()
    )
    assert (
        real["oem_lost_output_usd"]
        == recorded(ts, "lost_output_civil_magnet", region="World").sum()
    )


def test_reproduction_series_and_run_summary_read_the_recorded_series(run, monkeypatch):
    from experiments.reproduce import series_from_model
    from experiments.runs import summary

    m, ts, _old = run
    monkeypatch.setattr(m, "timeseries", lambda: _doctored(ts))
    wide = series_from_model(m)
    for good in ("ox_Nd", "ox_Dy", "ox_Tb", "NdPr"):
        assert (wide[f"price_row:{good}"] == 123.0).all()
    assert (wide["cn_magnet_exports"] == 11.0).all() and (wide["cn_oxide_exports"] == 11.0).all()
    assert (wide["lost_output:oem"] == 7.0).all()
    assert (wide["china_content_12m:US"] == 0.375).all()
    s = summary(m)
    assert s["lost_output_usd"] == {"oem": 7.0 * MONTHS, "defense": 3.0 * MONTHS}
    assert set(s["china_content_12m_last"].values()) == {0.375}
    # the printed prices outside China are the DataCollector's, i.e. the weighted series
    col = s["Dy price outside China (USD/kg)"]
    assert col["last"] == recorded(ts, "price_outside_china_weighted", "ox_Dy").iloc[-1]


def test_reproduction_series_read_the_eu_and_china_price_rows(run):
    """``price_eu:<good>`` and ``price_cn:ox_Y`` are the ``price`` rows of EU and CN, and
    ``quote_eu:<good>`` the ``price_spot`` rows of EU: NaN in months without a row (the
    region did not trade the oxide, or did not buy it on spot); NdPr's row is recorded every
    month."""
    from experiments.reproduce import series_from_model

    m, ts, _old = run
    wide = series_from_model(m)
    assert len(wide) == MONTHS
    for col, metric, good, region in [
        ("price_eu:ox_Dy", "price", "ox_Dy", "EU"),
        ("price_eu:ox_Tb", "price", "ox_Tb", "EU"),
        ("price_eu:ox_Y", "price", "ox_Y", "EU"),
        ("price_eu:NdPr", "price", "NdPr", "EU"),
        ("price_cn:ox_Y", "price", "ox_Y", "CN"),
        ("quote_eu:ox_Dy", "price_spot", "ox_Dy", "EU"),
        ("quote_eu:ox_Tb", "price_spot", "ox_Tb", "EU"),
        ("quote_eu:ox_Y", "price_spot", "ox_Y", "EU"),
    ]:
        rec = recorded(ts, metric, good, region)
        rec.index = pd.DatetimeIndex(rec.index)
        got = wide[col]
        assert got.notna().sum() == len(rec), col  # one value per recorded month, NaN else
        assert (got.dropna() == rec.reindex(got.dropna().index)).all(), col
    assert wide["price_eu:NdPr"].notna().all()
    # the EU's buyers bought Dy and Y on spot in some months of 2024-25 (the test reads rows)
    assert wide["quote_eu:ox_Dy"].notna().any() and wide["quote_eu:ox_Y"].notna().any()
    # China's Dy and Tb oxide exports: the month's flow rows from CN to every other region
    fl = ts[(ts["metric"] == "flow") & (ts["region"] == "CN") & (ts["partner"] != "CN")]
    for good in ("ox_Dy", "ox_Tb"):
        by_month = fl[fl["good"] == good].groupby("date")["value"].sum()
        by_month.index = pd.DatetimeIndex(by_month.index)
        got = wide[f"cn_exports:{good}"]
        assert got.notna().all() and (got > 0).any(), good
        assert got.to_numpy() == pytest.approx(by_month.reindex(got.index).fillna(0.0).to_numpy())


def test_readme_and_odd_list_every_recorded_metric(run):
    import re
    from pathlib import Path

    import abm.metrics

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    table = readme[readme.index("| metric | unit |") :]
    table = table[: table.index("\n\n")]
    listed = {
        n for line in table.splitlines()[2:] for n in re.findall(r"`(\w+)`", line.split("|")[1])
    }
    odd = (root / "docs" / "ODD.md").read_text()
    odd = odd[odd.index("* **Observation.**") : odd.index("## 5. Initialisation")]
    _m, ts, _old = run
    recorded = set(ts["metric"].unique())
    assert len(listed) >= 20 and recorded <= listed, recorded - listed
    for name in listed:
        assert f"``{name}``" in abm.metrics.__doc__, name
        assert f"`{name}`" in odd, name


def test_china_magnet_shares_weigh_concentrate_by_its_nd_pr_dy_tb_content():
    """The IEA's outlook shares are of the magnet rare earths: 100 t of Bayan Obo and 100 t
    of Mt Weld concentrate count by their Nd+Pr+Dy+Tb content; La oxide counts nowhere; a
    year without output is NaN."""
    from abm.goods import deposit_compositions
    from abm.outcomes import OUTCOMES

    rows = [
        ("2035-03", "production", "conc_bayan_obo", "CN", 100.0),
        ("2035-03", "production", "conc_mt_weld", "AU", 100.0),
        ("2035-03", "production", "ox_Nd", "CN", 30.0),
        ("2035-04", "production", "ox_Dy", "MY", 10.0),
        ("2035-04", "production", "ox_La", "CN", 1000.0),
        ("2034-04", "production", "ox_Nd", "MY", 1000.0),  # another year
    ]
    ts = pd.DataFrame(rows, columns=["date", "metric", "good", "region", "value"])
    comp = deposit_compositions()

    def mag(d):
        return sum(comp[d].get(e, 0.0) for e in ("Nd", "Pr", "Dy", "Tb"))

    mine = OUTCOMES["china_share_magnet_mining_2035"].fn(ts)
    assert mine == pytest.approx(mag("bayan_obo") / (mag("bayan_obo") + mag("mt_weld")))
    assert 0.0 < mine < 1.0
    assert OUTCOMES["china_share_magnet_separation_2035"].fn(ts) == pytest.approx(0.75)
    assert np.isnan(OUTCOMES["china_share_magnet_separation_2035"].fn(ts[ts.date < "2035"]))
