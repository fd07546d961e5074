"""The checks against history outside the targets (experiments/reproduce/history.py), by
hand on a made-up run."""

import numpy as np
import pandas as pd
import pytest

from experiments.reproduce.history import HISTORY, evaluate_history, history_markdown


def _run(variant="embargo-2010", months=48, nd_2011_12=95.6):
    """A long-form series table of one run from January 2009: Nd abroad 19.12 USD/kg in 2009
    and ``nd_2011_12`` in December 2011; China's Nd 261 in December 2010 and 470 in March
    2012; China's oxide exports 1,000 t a month; La abroad 4.88 but 48.8, 97.6 and 146.4 in
    April-June 2011; Ce abroad 3.88 throughout."""
    dates = pd.date_range("2009-01-01", periods=months, freq="MS")
    nd = pd.Series(19.12 * 3, index=dates)
    nd[dates.year == 2009] = 19.12
    nd[(dates.year == 2011) & (dates.month == 12)] = nd_2011_12
    cn = pd.Series(300.0, index=dates)
    cn[(dates.year == 2010) & (dates.month == 12)] = 261.0
    cn[(dates.year == 2012) & (dates.month == 3)] = 470.0
    la = pd.Series(4.88, index=dates)
    la[(dates.year == 2011) & dates.month.isin([4, 5, 6])] = [48.8, 97.6, 146.4]
    cols = {
        "price_row:ox_Nd": nd,
        "price_row:ox_Dy": pd.Series(115.7, index=dates),
        "price_cn:ox_Nd": cn,
        "cn_oxide_exports": pd.Series(1000.0, index=dates),
        "price_row:ox_La": la,
        "price_row:ox_Ce": pd.Series(3.88, index=dates),
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

    p = tmp_path / "s.toml"
    p.write_text(f"""
name = "short"
model = "experiments.reproduce:sweep_evaluate"
scenario = "{scenario}"
{"" if months is None else f"months = {months}"}
replicates = 1
seed_root = 1
outcomes = ["nd_fob_2013_07", "nd_fob_2015_12"]

[design]
method = "factorial"

[[levers]]
name = "parameters.speculator_horizon_months"
levels = [6.0, 12.0]
""")
    with pytest.raises(SpecError) as err:
        plan(p, tmp_path / "out")
    assert says in str(err.value)
    if scenario == "embargo-2010":
        assert "nd_fob_2013_07" not in str(err.value)  # July 2013 is within 60 months
