"""Issue 11's acceptance figures on `controls-2025`, asserted per seed over 5 seeds.

Each run covers January 2024 to December 2026 (36 months, about 2-3 s each). The figures
and the observed values they stand for:

* China->US magnet flows in February and March 2025 (US tariffs on China of 10% then 20%)
  stay above half of their H2 2024 monthly mean: trade between differentiated goods does not
  flip on a small tariff (Armington 1969; observed: China's magnet exports to the US kept
  flowing until the April licences);
* China's magnet exports 1-2 months after the April 2025 licences fall 60-85% below their
  mean of January-March 2025 (customs: 1,238 t in May 2025, -74% y/y), and April 2025 is not
  zero (customs: 2,626 t, about -51% y/y, in April; trade_flows.csv, recalled, not verified);
* Japan's magnet output in 2026 stays within 30% of its 2024 level;
* the 12-month China-content share of US magnets (``china_content_12m``) changes smoothly;
* China's NdPr price rises from 2024 to 2025 (observed: USGS MCS2026 gives a 2025 average of 69
  USD/kg FOB, against 55 in 2024, +25%; prices.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.model import RareEarthModel

SEEDS = (0, 1, 2, 3, 4)


def _figures(seed: int) -> dict[str, float]:
    m = RareEarthModel("controls-2025", seed=seed, months=36)
    m.run()
    d = m.timeseries()
    months = pd.date_range("2024-01-01", periods=36, freq="MS")
    f = d[
        (d.metric == "flow")
        & d.good.str.startswith("mag_")
        & (d.region == "CN")
        & (d.partner == "US")
    ]
    flow = f.groupby("date")["value"].sum().reindex(months, fill_value=0.0)
    h2 = flow["2024-07":"2024-12"].mean()
    ex = d[(d.metric == "china_exports") & (d.good == "magnets")].set_index("date")["value"]
    pre = ex["2025-01":"2025-03"].mean()
    out = d[(d.metric == "production") & (d.region == "JP") & d.good.str.startswith("mag_")]
    jp = out.groupby(out.date.dt.year)["value"].sum()
    s12 = d[(d.metric == "china_content_12m") & (d.region == "US")].set_index("date")["value"]
    s1 = d[(d.metric == "china_content") & (d.region == "US")].set_index("date")["value"]
    nd = d[(d.metric == "price") & (d.good == "NdPr") & (d.region == "CN")]
    ndy = nd.groupby(nd.date.dt.year)["value"].mean()
    return {
        "feb_mar_over_h2": float(flow["2025-02":"2025-03"].min() / h2),
        "april_over_q1": float(ex["2025-04"].iloc[0] / pre),
        "export_fall": float(1.0 - ex["2025-05":"2025-06"].min() / pre),
        "jp_2026_over_2024": float(jp[2026] / jp[2024]),
        "share12_step": float(s12.diff().abs().max()),
        "share1_step": float(s1.diff().abs().max()),
        "ndpr_2025_over_2024": float(ndy[2025] / ndy[2024]),
    }


@pytest.fixture(scope="module")
def figures():
    return [_figures(s) for s in SEEDS]


def test_small_us_tariffs_do_not_stop_china_us_magnet_flows(figures):
    # session-11 finding of issue 11: the 10-20% tariff of Feb-Mar 2025 set the flow to zero
    # (all-or-nothing trade); measured session 14: 0.80-0.84 of the H2 2024 mean
    for f in figures:
        assert f["feb_mar_over_h2"] > 0.5, f


def test_licences_cut_china_magnet_exports_by_the_customs_fall(figures):
    # measured session 14: fall 0.67-0.76 (seeds 0-4), April 0.24 of the Q1 mean; session 16
    # (licences per applying buyer): fall 0.72-0.80, median 0.77
    falls = [f["export_fall"] for f in figures]
    assert 0.60 <= float(np.median(falls)) <= 0.85, falls
    for f in figures:
        assert 0.05 < f["april_over_q1"] < 1.0, f


def test_japan_magnet_output_in_2026_stays_within_30_percent_of_2024(figures):
    # measured session 14: 0.81-0.86 (the licences cost Japan its Dy/Tb-bearing grades
    # partly; it was 0.08-0.33 before issue 11's supplier relationships); session 16:
    # 0.87-1.01
    for f in figures:
        assert 0.7 <= f["jp_2026_over_2024"] <= 1.3, f


def test_rolling_china_share_of_us_magnets_changes_smoothly(figures):
    # the monthly share moves up to 5-10 points a month; the 12-month share at most 2 (measured
    # session 14: 0.007-0.013; session 16: 0.012-0.016); it jumped 15-45 points a month
    # before issue 11
    for f in figures:
        assert f["share12_step"] <= 0.02, f
        assert f["share12_step"] < f["share1_step"], f


def test_china_ndpr_rises_from_2024_to_2025(figures):
    # observed about +25% (SMM; the model's sign was wrong before issue 11: -9%); measured
    # session 14: +5-8%, the model's remaining gap (calibration.md 4.18)
    for f in figures:
        assert f["ndpr_2025_over_2024"] > 1.0, f
