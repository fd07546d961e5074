"""The checks against history outside the targets (experiments/reproduce/history.py), by
hand on a made-up run."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments.reproduce.history import HISTORY, evaluate_history, history_markdown


def _run(variant="embargo-2010", months=48, nd_2011_12=95.6):
    """A long-form series table of one run from January 2009: Nd abroad 19.12 USD/kg in 2009
    and ``nd_2011_12`` in December 2011; China's Nd 261 in December 2010 and 470 in March
    2012; China's oxide exports 1,000 t a month; La abroad 4.88 but 48.8, 97.6 and 146.4 in
    April-June 2011; Ce abroad 3.88 throughout; China's standard magnets 100 USD/kg but 50,
    200 and 100 in January, July and December 2011; Japan's NdFeB output 1,000 t a month but
    600 in 2016; China's magnet exports 1,500 t a month."""
    dates = pd.date_range("2009-01-01", periods=months, freq="MS")
    nd = pd.Series(19.12 * 3, index=dates)
    nd[dates.year == 2009] = 19.12
    nd[(dates.year == 2011) & (dates.month == 12)] = nd_2011_12
    cn = pd.Series(300.0, index=dates)
    cn[(dates.year == 2010) & (dates.month == 12)] = 261.0
    cn[(dates.year == 2012) & (dates.month == 3)] = 470.0
    mag = pd.Series(100.0, index=dates)
    mag[(dates.year == 2011) & dates.month.isin([1, 7, 12])] = [50.0, 200.0, 100.0]
    jp = pd.Series(1000.0, index=dates)
    jp[dates.year == 2016] = 600.0
    la = pd.Series(4.88, index=dates)
    la[(dates.year == 2011) & dates.month.isin([4, 5, 6])] = [48.8, 97.6, 146.4]
    cols = {
        "price_row:ox_Nd": nd,
        "price_row:ox_Dy": pd.Series(115.7, index=dates),
        "price_cn:ox_Nd": cn,
        "cn_oxide_exports": pd.Series(1000.0, index=dates),
        "price_row:ox_La": la,
        "price_row:ox_Ce": pd.Series(3.88, index=dates),
        "price_cn:mag_ndfeb_std": mag,
        "ndfeb:JP": jp,
        "cn_magnet_exports": pd.Series(1500.0, index=dates),
    }
    rows = [
        pd.DataFrame({"date": dates, "series": k, "value": v.to_numpy()}) for k, v in cols.items()
    ]
    return {"variant": variant, "rep": 0, "series": pd.concat(rows, ignore_index=True)}


def test_history_checks_by_hand():
    t = evaluate_history([_run(), _run("baseline", nd_2011_12=1e6)]).set_index("id")
    # Nd abroad in December 2011 over its 2009 mean: 95.6 / 19.12 = 5.0; the record is
    # 190-200 USD/kg over 19.12, midpoint 10.2, so the ratio is 5.0 / 10.2
    assert t.loc["nd_fob_2011_12", "median"] == pytest.approx(5.0)
    assert t.loc["nd_fob_2011_12", "record_lo"] == pytest.approx(190 / 19.12)
    assert t.loc["nd_fob_2011_12", "ratio"] == pytest.approx(5.0 / (195 / 19.12))
    assert t.loc["nd_fob_2011_12", "n"] == 1  # the baseline run is not read
    assert t.loc["nd_cn_2012_03", "median"] == pytest.approx(470 / 261)
    # La abroad, Q2 2011 mean over 2009: (10 + 20 + 30) / 3 = 20 against Lynas' 135.02 / 4.88;
    # Ce flat: 1
    assert t.loc["la_fob_2011_q2", "median"] == pytest.approx(20.0)
    assert t.loc["la_fob_2011_q2", "record_lo"] == pytest.approx(135.02 / 4.88)
    assert t.loc["ce_fob_2011_q2", "median"] == pytest.approx(1.0)
    assert t.loc["la_fob_2012_q1", "median"] == pytest.approx(1.0)
    # 12,000 t in 2012 over the 30,996 t quota of embargo-2010's cn_quota_2012
    assert t.loc["china_export_fill_2012", "median"] == pytest.approx(12000 / 30996)
    # beyond the run's 48 months: no value, and left out of the report
    assert t.loc["nd_fob_2014_12", "n"] == 0 and np.isnan(t.loc["nd_fob_2014_12", "median"])
    # China's magnet price: 200 in July 2011 over 50 in January, 100 in December over 200
    assert t.loc["ndfeb_cn_2011_07", "median"] == pytest.approx(4.0)
    assert t.loc["ndfeb_cn_2011_07", "record_lo"] == pytest.approx(615 / 106)
    assert t.loc["ndfeb_cn_2011_12", "median"] == pytest.approx(0.5)
    assert t.loc["jp_magnets_2016", "n"] == 0 and t.loc["cn_magnet_exports_2013", "n"] == 0
    long = evaluate_history([_run(months=96)]).set_index("id")
    # Japan's output: 600 t a month in 2016 over 1,000 in 2010; exports 12 x 1,500 t in 2013
    assert long.loc["jp_magnets_2016", "median"] == pytest.approx(0.6)
    assert long.loc["cn_magnet_exports_2013", "median"] == pytest.approx(18000.0)
    md = history_markdown(t.reset_index())
    table, _, below = md.partition("\n\n")
    assert "nd_fob_2011_12" in table and "nd_fob_2014_12" not in table
    assert below.startswith("Beyond the runs' horizon, left out:") and "`nd_fob_2014_12`" in below


def test_every_check_names_its_source_and_a_record():
    assert len({c.id for c in HISTORY}) == len(HISTORY)
    for c in HISTORY:
        assert c.source and 0 < c.lo <= c.hi, c.id


def test_the_checks_are_sweep_outcomes_of_embargo_2010_only(monkeypatch):
    """``experiments.reproduce:sweep_evaluate`` reports a check for an ``embargo-2010`` run
    and NaN for a run of another episode (the run itself replaced by the made-up one)."""
    from experiments.reproduce import sweep_adapter
    from experiments.reproduce.series import _wide

    wide = _wide(_run()["series"])
    monkeypatch.setattr(sweep_adapter, "_simulate", lambda sc, seed, months: {"wide": wide})
    assert "nd_fob_2011_12" in sweep_adapter.sweep_evaluate.OUTCOMES
    v, _ = sweep_adapter.sweep_evaluate("embargo-2010", outcomes=["nd_fob_2011_12"])
    assert v["nd_fob_2011_12"] == pytest.approx(5.0)
    v, _ = sweep_adapter.sweep_evaluate("controls-2025", outcomes=["nd_fob_2011_12"])
    assert np.isnan(v["nd_fob_2011_12"])


def test_a_median_next_to_a_tolerance_edge_is_not_rounded_onto_it():
    """Session 20's Nd peak: 7.98 against 8-30 printed as ``8.0`` beside FAIL."""
    from experiments.reproduce.tables import median_text

    assert median_text(7.98, 8.0, 30.0, "{:.1f}") == "7.98"
    assert median_text(8.0, 8.0, 30.0, "{:.1f}") == "8.0"  # on the edge: passes
    assert median_text(30.04, 8.0, 30.0, "{:.1f}") == "30.04"
    assert median_text(12.34, 8.0, 30.0, "{:.1f}") == "12.3"
    assert median_text(float("nan"), 8.0, 30.0, "{:.1f}") == "n/a"


def _check_spec(tmp_path, scenario: str, months, outcomes: list[str]):
    """A two-run factorial sweep spec of ``sweep_evaluate`` on ``scenario`` (``months`` None:
    its horizon) asking ``outcomes``, written to ``tmp_path / "s.toml"``."""
    p = tmp_path / "s.toml"
    p.write_text(f"""
name = "checks"
model = "experiments.reproduce:sweep_evaluate"
scenario = "{scenario}"
{"" if months is None else f"months = {months}"}
replicates = 1
seed_root = 1
outcomes = {json.dumps(outcomes)}

[design]
method = "factorial"

[[levers]]
name = "parameters.speculator_horizon_months"
levels = [6.0, 12.0]
""")
    return p


@pytest.mark.parametrize(
    "scenario,months,says",
    [
        (
            "embargo-2010",
            60,
            "outcomes[1]: 'nd_fob_2015_12' reads months up to 2015-12, but the runs cover 2009-01 to "
            "2013-12 (months = 60), so it would be NaN in every run; set months = 84 or more",
        ),
        ("controls-2025", 12, "is a check on the history of the 2010-11 episode"),
        ("controls-2025", None, "is a check on the history of the 2010-11 episode"),
    ],
)
def test_a_sweep_whose_runs_miss_a_history_check_is_refused_at_plan(
    tmp_path, scenario, months, says
):
    from experiments.sweep import SpecError, plan

    p = _check_spec(tmp_path, scenario, months, ["nd_fob_2013_07", "nd_fob_2015_12"])
    with pytest.raises(SpecError) as err:
        plan(p, tmp_path / "out")
    assert says in str(err.value)
    if scenario == "embargo-2010":
        assert "nd_fob_2013_07" not in str(err.value)  # July 2013 is within 60 months


# ---------------------------------------------------------------- the 2025 episode

NAN = float("nan")


def _run_2025(variant="controls-2025", months=24, eu_dy_may=700.0, dy_june_2024=20.0):
    """A long-form series table of one run from January 2024 (24 months: to December 2025).

    China: Dy 200, Tb 1,000 (not traded in August 2025: NaN), Y 7, NdPr 80 and
    high-temperature NdFeB magnets 50 USD/kg. Europe in 2025: Dy ``eu_dy_may`` in May, 600
    in June, not traded in July (NaN), 800 in August, 900 in September and November; Tb
    3,000 in May, NaN in June, 3,500 in July and August, 4,000 in September, NaN in
    November; Y 175 in September, NaN in October, 273 in November; NdPr 76, 80 and 84 in
    July-September; magnets (the EU's price paid and its supply from outside China alike)
    500 in May, 100 in June-August, NaN in September; 1.0x China in every other month.
    China's exports (t/month): Dy 30, ``dy_june_2024`` in June 2024, 2, 4, 6 and 8 in
    June-September 2025 and 1, 2 and 3 in October-December 2025; Tb 10, 1, 2, 3 and 4 in
    June-September 2025 and 5 in October-December 2025."""
    dates = pd.date_range("2024-01-01", periods=months, freq="MS")
    cn = {"ox_Dy": 200.0, "ox_Tb": 1000.0, "ox_Y": 7.0, "NdPr": 80.0, "mag_ndfeb_ht": 50.0}
    eu25 = {
        "ox_Dy": {5: eu_dy_may, 6: 600.0, 7: NAN, 8: 800.0, 9: 900.0, 11: 900.0},
        "ox_Tb": {5: 3000.0, 6: NAN, 7: 3500.0, 8: 3500.0, 9: 4000.0, 11: NAN},
        "ox_Y": {9: 175.0, 10: NAN, 11: 273.0},
        "NdPr": {7: 76.0, 8: 80.0, 9: 84.0},
        "mag_ndfeb_ht": {5: 500.0, 6: 100.0, 7: 100.0, 8: 100.0, 9: NAN},
    }
    cols = {}
    for good, price in cn.items():
        c = pd.Series(price, index=dates)
        if good == "ox_Tb":
            c[(dates.year == 2025) & (dates.month == 8)] = NAN
        e = pd.Series(price, index=dates)
        for month, v in eu25[good].items():
            e[(dates.year == 2025) & (dates.month == month)] = v
        cols[f"price_cn:{good}"], cols[f"price_eu:{good}"] = c, e
        if good == "mag_ndfeb_ht":
            cols[f"exchina_eu:{good}"] = e  # the price of the EU's supply from outside China
        if good not in ("NdPr", "mag_ndfeb_ht"):
            # the marginal spot quote: 5 x the price paid; Dy's June not bought on spot
            q = e * 5.0
            if good == "ox_Dy":
                q[(dates.year == 2025) & (dates.month == 6)] = NAN
            cols[f"quote_eu:{good}"] = q
    exports = {
        "ox_Dy": (30.0, {(2024, 6): dy_june_2024, (2025, 6): 2.0, (2025, 7): 4.0}),
        "ox_Tb": (10.0, {(2025, 6): 1.0, (2025, 7): 2.0, (2025, 8): 3.0, (2025, 9): 4.0}),
    }
    exports["ox_Dy"][1].update({(2025, 8): 6.0, (2025, 9): 8.0, (2025, 10): 1.0})
    exports["ox_Dy"][1].update({(2025, 11): 2.0, (2025, 12): 3.0})
    exports["ox_Tb"][1].update({(2025, m): 5.0 for m in (10, 11, 12)})
    for good, (level, months_set) in exports.items():
        x = pd.Series(level, index=dates)
        for (y, mo), v in months_set.items():
            x[(dates.year == y) & (dates.month == mo)] = v
        cols[f"cn_exports:{good}"] = x
    rows = [
        pd.DataFrame({"date": dates, "series": k, "value": v.to_numpy()}) for k, v in cols.items()
    ]
    return {"variant": variant, "rep": 0, "series": pd.concat(rows, ignore_index=True)}


#: the 2025 checks with their values on _run_2025(): the mean of the monthly EU/CN
#: ratios over the months where both prices are known
BY_HAND_2025 = {
    # May 3.5, June 3.0, July skipped (EU NaN), August 4.0, September 4.5
    "dy_eu_2025_may_sep": (3.5 + 3.0 + 4.0 + 4.5) / 4,
    # May 3.0, June skipped (EU NaN), July 3.5, August skipped (China NaN), September 4.0
    "tb_eu_2025_may_sep": (3.0 + 3.5 + 4.0) / 3,
    "dy_eu_2025_11": 900.0 / 200.0,
    # September 25, October skipped, November 39
    "y_eu_2025_sep_nov": (25.0 + 39.0) / 2,
    "ndpr_eu_2025_jul_sep": (0.95 + 1.0 + 1.05) / 3,
    # magnets: May 10, June-August 2, September skipped (EU NaN)
    "mag_ndfeb_ht_eu_2025_may_sep": (10.0 + 2.0 + 2.0 + 2.0) / 4,
    # the quotes: 5 x the EU price; Dy: May 17.5, June skipped (no spot purchase), July
    # skipped (EU NaN), August 20, September 22.5
    "dy_eu_2025_may_sep_quote": (17.5 + 20.0 + 22.5) / 3,
    # Tb: May 15, July 17.5, September 20 (June and August skipped as above)
    "tb_eu_2025_may_sep_quote": (15.0 + 17.5 + 20.0) / 3,
    # Y: September 125, November 195
    "y_eu_2025_sep_nov_quote": (125.0 + 195.0) / 2,
    # China's exports over the window's months times June 2024: Dy (2 + 4 + 6 + 8) / (4 x
    # 20), (1 + 2 + 3) / (3 x 20); Tb (1 + 2 + 3 + 4) / (4 x 10), (5 + 5 + 5) / (3 x 10)
    "dy_cn_exports_2025_jun_sep": 20.0 / 80.0,
    "dy_cn_exports_2025_oct_dec": 6.0 / 60.0,
    "tb_cn_exports_2025_jun_sep": 10.0 / 40.0,
    "tb_cn_exports_2025_oct_dec": 15.0 / 30.0,
}


def test_2025_checks_by_hand():
    checks = {c.id: c for c in HISTORY}
    assert {c.id for c in HISTORY if c.scenario == "controls-2025"} == set(BY_HAND_2025) | {
        "tb_eu_2025_11"
    }
    from experiments.reproduce.series import _wide

    w = _wide(_run_2025()["series"])
    for cid, value in BY_HAND_2025.items():
        assert checks[cid].compute(w) == pytest.approx(value), cid
    assert BY_HAND_2025["dy_eu_2025_may_sep"] == pytest.approx(3.75)
    assert BY_HAND_2025["y_eu_2025_sep_nov"] == pytest.approx(32.0)
    assert BY_HAND_2025["dy_eu_2025_may_sep_quote"] == pytest.approx(20.0)
    assert checks["y_eu_2025_sep_nov_quote"].title.startswith(
        "Y oxide marginal spot quote (most-rationed buyer) in Europe over China's"
    )
    # Tb not traded in Europe in November: no month with both prices, NaN
    assert np.isnan(checks["tb_eu_2025_11"].compute(w))
    # a run that stops in August 2025 has May-August but not September: NaN, as for the
    # November and the September-November checks
    short = _wide(_run_2025(months=20)["series"])
    assert short.index.max() == pd.Timestamp("2025-08-01")
    for cid in ("dy_eu_2025_may_sep", "y_eu_2025_sep_nov", "ndpr_eu_2025_jul_sep", "dy_eu_2025_11"):
        assert np.isnan(checks[cid].compute(short)), cid
    assert np.isnan(checks["dy_cn_exports_2025_jun_sep"].compute(short))
    # no Dy exports in the base month (June 2024): no ratio
    no_base = _wide(_run_2025(dy_june_2024=0.0)["series"])
    assert np.isnan(checks["dy_cn_exports_2025_jun_sep"].compute(no_base))
    assert checks["tb_cn_exports_2025_jun_sep"].compute(no_base) == pytest.approx(0.25)
    # ... and one that reaches September has all of them
    assert checks["dy_eu_2025_may_sep"].compute(
        _wide(_run_2025(months=21)["series"])
    ) == pytest.approx(3.75)


def test_2025_records_and_titles():
    t = {c.id: c for c in HISTORY}
    assert (t["dy_eu_2025_may_sep"].lo, t["dy_eu_2025_may_sep"].hi) == (3.3, 3.8)
    assert (t["tb_eu_2025_may_sep"].lo, t["tb_eu_2025_may_sep"].hi) == (2.9, 3.6)
    assert (t["dy_eu_2025_11"].lo, t["dy_eu_2025_11"].hi) == (4.0, 4.7)
    assert (t["tb_eu_2025_11"].lo, t["tb_eu_2025_11"].hi) == (3.9, 4.1)
    assert (t["y_eu_2025_sep_nov"].lo, t["y_eu_2025_sep_nov"].hi) == (25.0, 39.0)
    assert (t["ndpr_eu_2025_jul_sep"].lo, t["ndpr_eu_2025_jul_sep"].hi) == (0.95, 1.0)
    assert t["dy_eu_2025_may_sep"].title == (
        "Dy oxide price paid in Europe over China's domestic price, May-September 2025 mean "
        "(record: Argus/Benchmark Europe over SMM China)"
    )
    assert t["dy_eu_2025_may_sep"].last_month == "2025-09"
    mag = t["mag_ndfeb_ht_eu_2025_may_sep"]
    assert (mag.lo, mag.hi, mag.last_month) == (1.15, 1.65, "2025-09")
    assert mag.title == (
        "High-temperature NdFeB magnets contract price of supply from outside China in Europe "
        "over China's domestic price, May-September 2025 mean (record: premium of ex-China "
        "magnets over Chinese ones)"
    )
    assert t["y_eu_2025_sep_nov"].last_month == "2025-11"
    exports = t["dy_cn_exports_2025_jun_sep"]
    assert exports.lo == exports.hi == pytest.approx((0.001 + 1.4 + 16.686 + 18.043) / 104.148)
    assert exports.last_month == "2025-09" and exports.unit == "x"
    assert t["tb_cn_exports_2025_oct_dec"].lo == pytest.approx(18.368 / 25.77)
    for c in HISTORY:
        if c.scenario == "controls-2025" and "_cn_exports_" in c.id:
            assert "abm/data/trade_flows.csv" in c.source, c.id
        elif c.id.startswith("mag_"):
            assert "abm/data/prices_2025.csv" in c.source and "contracted supply" in c.source
            assert c.unit == "x"
        elif c.scenario == "controls-2025":
            assert "abm/data/prices_2025.csv" in c.source and "thin market" in c.source, c.id
            assert c.unit == "x"
        else:
            assert c.scenario == "embargo-2010"


def test_evaluate_history_reads_each_check_on_its_own_variant():
    """A 2010-11 check reads only embargo-2010 runs and a 2025 check only controls-2025 runs
    (the other variants' made-up values would change the medians; the runs of the other
    episode lack the check's columns, so reading them would raise)."""
    results = [
        _run(),
        _run_2025(),
        _run_2025(eu_dy_may=1100.0),  # May 5.5 instead of 3.5: (5.5 + 3 + 4 + 4.5) / 4
        _run_2025(months=20),  # stops before September: NaN, not counted
        _run_2025("controls-2025/no-floor", eu_dy_may=1e6),
        _run_2025("embargo-2010/no-quotas", eu_dy_may=1e6),
    ]
    t = evaluate_history(results).set_index("id")
    assert t.loc["nd_fob_2011_12", "median"] == pytest.approx(5.0)
    assert t.loc["nd_fob_2011_12", "n"] == 1
    assert t.loc["dy_eu_2025_may_sep", "n"] == 2
    assert t.loc["dy_eu_2025_may_sep", "median"] == pytest.approx((3.75 + 4.25) / 2)
    assert t.loc["dy_eu_2025_may_sep", "ratio"] == pytest.approx(4.0 / 3.55)
    assert t.loc["y_eu_2025_sep_nov", "median"] == pytest.approx(32.0)
    assert t.loc["ndpr_eu_2025_jul_sep", "median"] == pytest.approx(1.0)
    assert t.loc["tb_eu_2025_11", "n"] == 0 and np.isnan(t.loc["tb_eu_2025_11", "median"])
    # only 2025 runs: the 2010-11 checks have no value and are named below the table
    t = evaluate_history([_run_2025()]).set_index("id")
    assert t.loc["nd_fob_2011_12", "n"] == 0
    assert t.loc["dy_eu_2025_11", "median"] == pytest.approx(4.5)
    md = history_markdown(t.reset_index())
    assert "`dy_eu_2025_11`" in md.partition("\n\n")[0]
    assert "`nd_fob_2011_12`" in md.partition("\n\n")[2]


def test_the_2025_checks_are_sweep_outcomes_of_controls_2025_only(monkeypatch):
    from experiments.reproduce import sweep_adapter
    from experiments.reproduce.series import _wide

    wide = _wide(_run_2025()["series"])
    monkeypatch.setattr(sweep_adapter, "_simulate", lambda sc, seed, months: {"wide": wide})
    names = ["dy_eu_2025_may_sep", "y_eu_2025_sep_nov", "tb_eu_2025_11"]
    assert set(names) <= set(sweep_adapter.sweep_evaluate.OUTCOMES)
    v, _ = sweep_adapter.sweep_evaluate("controls-2025", outcomes=names)
    assert v["dy_eu_2025_may_sep"] == pytest.approx(3.75)
    assert v["y_eu_2025_sep_nov"] == pytest.approx(32.0)
    assert np.isnan(v["tb_eu_2025_11"])
    v, _ = sweep_adapter.sweep_evaluate("embargo-2010", outcomes=names)
    assert all(np.isnan(x) for x in v.values())


@pytest.mark.parametrize(
    "scenario,months,outcome,says",
    [
        (
            "embargo-2010",
            None,
            "dy_eu_2025_may_sep",
            "outcomes[0]: 'dy_eu_2025_may_sep' is a check on the history of the 2025 episode: "
            "it reads runs of controls-2025 (a scenario with the measure cn_licences_apr2025) "
            "and would be NaN in every run of this one; drop it or use controls-2025",
        ),
        (
            "controls-2025",
            None,
            "nd_fob_2011_12",
            "outcomes[0]: 'nd_fob_2011_12' is a check on the history of the 2010-11 episode: "
            "it reads runs of embargo-2010 (a scenario with the measure cn_quota_2010) and "
            "would be NaN in every run of this one; drop it or use embargo-2010",
        ),
        (
            "controls-2025",
            12,
            "dy_eu_2025_11",
            "outcomes[0]: 'dy_eu_2025_11' reads months up to 2025-11, but the runs cover "
            "2024-01 to 2024-12 (months = 12), so it would be NaN in every run; set months = 23 "
            "or more, or drop the outcome",
        ),
    ],
)
def test_a_sweep_asking_a_check_of_the_other_episode_is_refused_at_plan(
    tmp_path, scenario, months, outcome, says
):
    from experiments.sweep import SpecError, plan

    p = _check_spec(tmp_path, scenario, months, [outcome])
    with pytest.raises(SpecError) as err:
        plan(p, tmp_path / "out")
    lines = [line for line in str(err.value).splitlines() if outcome in line]
    assert len(lines) == 1 and says in lines[0]
    # a check of the scenario's own episode within its horizon is accepted
    if months is None:
        from abm.scenario import load_scenario
        from experiments.reproduce.sweep_adapter import _check_outcomes

        own = "nd_fob_2011_12" if scenario == "embargo-2010" else "dy_eu_2025_may_sep"
        assert _check_outcomes(load_scenario(scenario), None, [own]) == {}


def test_the_price_of_the_eus_supply_from_outside_china_by_hand():
    # one month: Japan ships 30 t to the EU at a contract index of 60 USD/kg, the EU's own
    # makers 10 t at 62, China 100 t (left out) and Korea 5 t on spot only (no contract
    # price recorded, left out): (30 x 60 + 10 x 62) / 40 = 60.5; a month with no supply
    # from outside China at a contract price has no value
    from experiments.reproduce.series import _exchina_price

    d1, d2 = pd.Timestamp("2025-05-01"), pd.Timestamp("2025-06-01")
    g = "mag_ndfeb_ht"
    rows = [
        (d1, "flow", g, "JP", "EU", 30.0),
        (d1, "flow", g, "EU", "EU", 10.0),
        (d1, "flow", g, "CN", "EU", 100.0),
        (d1, "flow", g, "KR", "EU", 5.0),
        (d1, "flow", g, "JP", "US", 50.0),
        (d1, "price_contract", g, "JP", "", 60.0),
        (d1, "price_contract", g, "EU", "", 62.0),
        (d1, "price_contract", g, "CN", "", 50.0),
        (d1, "price_contract", "mag_ndfeb_std", "JP", "", 40.0),
        (d2, "flow", g, "CN", "EU", 90.0),
        (d2, "price_contract", g, "CN", "", 51.0),
    ]
    ts = pd.DataFrame(rows, columns=["date", "metric", "good", "region", "partner", "value"])
    s = _exchina_price(ts, g, "EU")
    assert s.to_dict() == {d1: pytest.approx(60.5)}
