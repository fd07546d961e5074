"""Labels of `ree run`'s printed summary (a new user's report, session 15): the per-seed table
of `--seeds` names its units, and the accounts note suggests a comparison that exists for
the scenario's period (`embargo-2010` advised "--scenario baseline", the 2024 world)."""

from __future__ import annotations

from typer.testing import CliRunner

from abm.scenario import load_scenario
from experiments.cli import app
from experiments.runs import accounts_lines, reference_scenario

ACC = {
    "US": {
        "value_added_lost": 2.0e9,
        "value_added_lost_pct_gdp_peak_12m": 0.004,
        "buyer_extra_cost": 1.5e9,
        "tariff_revenue": 0.25e9,
        "export_duty_revenue": 0.0,
        "floor_offtake_cost": 0.0,
        "stockpile_purchase_cost": 0.0,
    }
}


def test_the_accounts_note_suggests_baseline_only_for_its_period():
    assert reference_scenario(load_scenario("controls-2025")) == "baseline"
    assert reference_scenario(load_scenario("embargo-2010")) is None  # the 2009 world
    assert reference_scenario(load_scenario("baseline")) is None  # itself
    c25 = accounts_lines({"accounts": ACC}, load_scenario("controls-2025"))
    assert "  rises of the baseline itself (compare with --scenario baseline)." in c25
    emb = accounts_lines({"accounts": ACC}, load_scenario("embargo-2010"))
    text = "\n".join(emb)
    assert "--scenario baseline" not in text
    assert emb[2:5] == [
        "  buyers' extra cost is against base-year (2009) prices, so it includes",
        "  price rises the model has without this scenario's measures (no shipped",
        "  scenario runs the 2009 world without them to compare with).",
    ]
    base = accounts_lines({"accounts": ACC}, load_scenario("baseline"))
    assert base[2] == "  buyers' extra cost is against base-year prices."
    # the numbers themselves are unchanged: 2.0e9 USD -> 2.00 bn, 0.004% of GDP
    assert base[3] == "  US: value added lost 2.00 (worst year 0.004% of GDP)"
    assert base[4] == "      buyers' extra cost 1.50, tariff revenue 0.25, export duties 0.00"


def test_the_embargo_run_prints_no_baseline_hint(tmp_path):
    res = CliRunner().invoke(
        app,
        ["run", "embargo-2010", "--months", "1", "--no-charts", "--out", str(tmp_path / "e")],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "Cost to each economy" in res.stdout
    assert "--scenario baseline" not in res.stdout


def _run_seeds(tmp_path, seeds: str):
    """``ree run --seeds SEEDS`` of one month, one worker, into ``tmp_path/ens``."""
    return CliRunner().invoke(
        app,
        ["run", "--seeds", seeds, "--months", "1", "--no-charts", "--workers", "1"]
        + ["--out", str(tmp_path / "ens")],
        env={"COLUMNS": "250"},
    )


def test_the_per_seed_table_names_its_units(tmp_path):
    res = _run_seeds(tmp_path, "2")
    assert res.exit_code == 0, res.output
    head = next(ln for ln in res.stdout.splitlines() if "seed" in ln and "folder" in ln)
    assert [c.strip() for c in head.strip("┃ ").split("┃")] == [
        "seed",
        "NdPr China peak (USD/kg)",
        "NdPr outside China peak (USD/kg)",
        "OEM lost output (bn USD, cumulative)",
        "defense lost output (bn USD, cumulative)",
        "folder",
    ]


def test_the_per_seed_table_ends_with_the_median_and_band_over_seeds(tmp_path):
    # a new user's report (session 27): an ensemble printed one row per seed and no answer
    from experiments.cli import seed_band_rows

    # hand check: median 2; 5% of the way from 1 to 2 is 1.1, 95% from 2 to 10 is 9.2
    rows = seed_band_rows([[1.0, 10.0, 0.0, 1.0], [2.0, 20.0, 3.0, 1.0], [10.0, 30.0, 6.0, 1.0]])
    assert rows == [
        ["median", "2.0", "20.0", "3.00", "1.00"],
        ["5-95%", "1.1-9.2", "11.0-29.0", "0.30-5.70", "1.00-1.00"],
    ]
    res = _run_seeds(tmp_path, "0,1")
    assert res.exit_code == 0, res.output
    firsts = [ln.strip().strip("│").split("│")[0].strip() for ln in res.stdout.splitlines()]
    assert firsts.count("median") == 1 and firsts.count("5-95%") == 1
