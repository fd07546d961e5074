"""The checks against history outside the targets (experiments/reproduce/history.py), by
hand on a made-up run."""

import numpy as np
import pandas as pd
import pytest

from experiments.reproduce.history import HISTORY, evaluate_history, history_markdown


def _run(variant="embargo-2010", months=48, nd_2011_12=95.6):
    """A long-form series table of one run from January 2009: Nd abroad 19.12 USD/kg in 2009
    and ``nd_2011_12`` in December 2011; China's Nd 261 in December 2010 and 470 in March
    2012; China's oxide exports 1,000 t a month."""
    dates = pd.date_range("2009-01-01", periods=months, freq="MS")
    nd = pd.Series(19.12 * 3, index=dates)
    nd[dates.year == 2009] = 19.12
    nd[(dates.year == 2011) & (dates.month == 12)] = nd_2011_12
    cn = pd.Series(300.0, index=dates)
    cn[(dates.year == 2010) & (dates.month == 12)] = 261.0
    cn[(dates.year == 2012) & (dates.month == 3)] = 470.0
    cols = {
        "price_row:ox_Nd": nd,
        "price_row:ox_Dy": pd.Series(115.7, index=dates),
        "price_cn:ox_Nd": cn,
        "cn_oxide_exports": pd.Series(1000.0, index=dates),
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
    # 12,000 t in 2012 over the 30,996 t quota of embargo-2010's cn_quota_2012
    assert t.loc["china_export_fill_2012", "median"] == pytest.approx(12000 / 30996)
    # beyond the run's 48 months: no value, and left out of the report
    assert t.loc["nd_fob_2014_12", "n"] == 0 and np.isnan(t.loc["nd_fob_2014_12", "median"])
    md = history_markdown(t.reset_index())
    assert "nd_fob_2011_12" in md and "nd_fob_2014_12" not in md


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
