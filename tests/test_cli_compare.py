"""`ree compare RUN_A RUN_B` (issue 14): the table and comparison.csv hold each outcome of both
runs with its unit and the difference; a folder that is not a run output is one line on
stderr naming it and what is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.cli import app
from experiments.compare import comparison_table, load_run
from experiments.runs import run_to_folder
from experiments.tables import round_sig

runner = CliRunner()


def _fake_run(
    folder: Path,
    scenario: str,
    seed: int,
    ndpr: list[float],
    exports: list[float],
    lost_oem_usd: float,
    us_share: float = 0.8,
) -> Path:
    """A hand-made run folder: NdPr price in China and China's magnet exports by month."""
    folder.mkdir()
    dates = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
    rows = []
    for d, p, e in zip(dates, ndpr, exports, strict=True):
        rows.append(
            {
                "date": d,
                "step": 0,
                "metric": "price",
                "good": "NdPr",
                "region": "CN",
                "partner": "",
                "value": p,
                "unit": "USD/kg",
            }
        )
        rows.append(
            {
                "date": d,
                "step": 0,
                "metric": "china_exports",
                "good": "magnets",
                "region": "CN",
                "partner": "nonCN",
                "value": e,
                "unit": "t/month",
            }
        )
    pd.DataFrame(rows).to_parquet(folder / "timeseries.parquet", index=False)
    summ = {
        "NdPr price China (USD/kg)": {
            "first": ndpr[0],
            "peak": max(ndpr),
            "min": min(ndpr),
            "last": ndpr[-1],
        },
        "China magnet exports (t/month)": {
            "first": exports[0],
            "peak": max(exports),
            "min": min(exports),
            "last": exports[-1],
        },
        "lost_output_usd": {"oem": lost_oem_usd, "defense": 0.0},
        "china_content_12m_last": {"US": us_share},
        "capacity_built_outside_china_t_yr": {"magnets": 1000.0},
    }
    (folder / "summary.json").write_text(json.dumps(summ))
    (folder / "manifest.json").write_text(
        json.dumps({"scenario": scenario, "seed": seed, "months": 3, "overrides": {}})
    )
    return folder


@pytest.fixture
def two_runs(tmp_path):
    a = _fake_run(tmp_path / "a", "baseline", 0, [60.0, 80.0, 70.0], [5000.0, 0.0, 4000.0], 2.5e9)
    b = _fake_run(
        tmp_path / "b",
        "controls-2025",
        1,
        [60.0, 120.0, 90.0],
        [5000.0, 1000.0, 2000.0],
        4.0e9,
        us_share=0.6,
    )
    return a, b


def test_comparison_table_values_hand_checked(two_runs):
    a, b = (load_run(p) for p in two_runs)
    t = comparison_table(a, b).set_index("outcome")
    row = t.loc["NdPr price China, peak"]
    assert (row["unit"], row["run_a"], row["run_b"], row["difference"]) == (
        "USD/kg",
        80.0,
        120.0,
        40.0,
    )
    assert row["change_pct"] == pytest.approx(50.0)
    row = t.loc["China magnet exports, last month"]
    assert (row["unit"], row["run_a"], row["run_b"], row["difference"]) == (
        "t/month",
        4000.0,
        2000.0,
        -2000.0,
    )
    assert row["change_pct"] == pytest.approx(-50.0)
    row = t.loc["OEM lost output, cumulative"]
    assert (row["unit"], row["run_a"], row["run_b"]) == ("bn USD", 2.5, 4.0)
    assert row["difference"] == pytest.approx(1.5)
    row = t.loc["defense lost output, cumulative"]
    assert row["difference"] == 0 and pd.isna(row["change_pct"])  # no change from zero
    row = t.loc["US: China-origin share of magnets, last 12 months"]
    assert (row["unit"], row["run_a"], row["run_b"]) == ("share", 0.8, 0.6)
    # a share's change in percentage points: 0.6 - 0.8 = -20 pp (relative: -25%)
    assert row["change_pp"] == pytest.approx(-20.0)
    assert row["change_pct"] == pytest.approx(-25.0)
    assert pd.isna(t.loc["NdPr price China, peak", "change_pp"])  # not a share
    assert t.loc["net magnets capacity change outside China", "unit"] == "t/yr"


def test_ree_compare_prints_the_table_and_writes_csv_and_png(two_runs, tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app,
        ["compare", str(two_runs[0]), str(two_runs[1]), "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "A: baseline, seed 0" in res.output and "B: controls-2025, seed 1" in res.output
    line = next(ln for ln in res.output.splitlines() if "NdPr price China, peak" in ln)
    assert [c.strip() for c in line.strip("│ ").split("│")] == [
        "NdPr price China, peak",
        "USD/kg",
        "80.0",
        "120",
        "40.0",
        "+50.0%",
    ]
    line = next(ln for ln in res.output.splitlines() if "US: China-origin share" in ln)
    assert [c.strip() for c in line.strip("│ ").split("│")][1:] == [
        "share",
        "0.800",
        "0.600",
        "-0.200",
        "-20.0 pp",  # a new user's report: shares were given as a relative change (-25.0%)
    ]
    assert "for shares, B - A in percentage points (pp)" in " ".join(res.output.split())
    assert "defense lost output" not in res.output  # zero in both: only in the CSV
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == [
        "outcome",
        "unit",
        "run_a",
        "run_b",
        "difference",
        "change_pct",
        "change_pp",
    ]
    row = csv.set_index("outcome").loc["China magnet exports, peak"]
    assert (row["unit"], row["run_a"], row["run_b"], row["difference"]) == (
        "t/month",
        5000.0,
        5000.0,
        0.0,
    )
    assert "defense lost output, cumulative" in set(csv["outcome"])
    assert (out / "comparison.png").stat().st_size > 10_000
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["run_a"]["label"] == "baseline, seed 0"
    # an earlier comparison may be replaced; a run folder may not be overwritten
    res = runner.invoke(
        app, ["compare", str(two_runs[1]), str(two_runs[0]), "--out", str(two_runs[0])]
    )
    assert res.exit_code == 2 and "not an earlier output of this command" in res.stderr


def test_two_tiny_model_runs_compare_to_their_summaries(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _m, sa = run_to_folder("baseline", a, seed=0, months=2, progress=False, make_charts=False)
    _m, sb = run_to_folder(
        "baseline",
        b,
        seed=0,
        months=2,
        progress=False,
        make_charts=False,
        overrides={"parameters.armington_elasticity": 8.0},
    )
    res = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(tmp_path / "c" / "comparison.csv").set_index("outcome")
    key = "NdPr price outside China (USD/kg)"
    row = csv.loc["NdPr price outside China, peak"]
    assert row["unit"] == "USD/kg"
    assert row["run_a"] == round_sig(sa[key]["peak"])
    assert row["run_b"] == round_sig(sb[key]["peak"])
    assert row["difference"] == round_sig(sb[key]["peak"] - sa[key]["peak"])
    row = csv.loc["US: buyers' extra cost, cumulative"]
    assert row["unit"] == "bn USD"
    assert row["run_a"] == round_sig(sa["accounts"]["US"]["buyer_extra_cost"] / 1e9)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: None, "RUN_B {p}: no such folder"),
        (
            lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")),
            (
                "RUN_B {p} is not a `ree run` output folder (missing manifest.json, summary.json, "
                "timeseries.parquet); give a folder written by ree run --out NEW_FOLDER"
            ),
        ),
        (
            lambda p: (
                p.mkdir(),
                (p / "seed-0").mkdir(),
                (p / "seed-0" / "manifest.json").write_text("{}"),
            ),
            "it holds the runs of ree run --seeds (seed-0); give one of them",
        ),
    ],
)
def test_a_folder_that_is_not_a_run_is_one_line_on_stderr(two_runs, tmp_path, make, fragment):
    bad = tmp_path / "bad"
    make(bad)
    res = CliRunner().invoke(
        app,
        ["compare", str(two_runs[0]), str(bad), "--out", str(tmp_path / "c")],
        env={"COLUMNS": "60"},
    )
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # not wrapped at 60 columns
    assert fragment.format(p=bad) in lines[0]
    assert not (tmp_path / "c").exists()


def _edit_json(path: Path, **values) -> None:
    doc = json.loads(path.read_text())
    doc.update(values)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        # a truncated summary.json: the line names that file, not "manifest.json or summary.json"
        (
            lambda p: (p / "summary.json").write_text("{bad"),
            "RUN_B {p}/summary.json: cannot read it",
        ),
        (
            lambda p: (p / "manifest.json").write_text("garbage"),
            "RUN_B {p}/manifest.json: cannot read it",
        ),
        (
            lambda p: (p / "summary.json").write_text("[1, 2]"),
            "RUN_B {p}/summary.json: not a JSON object",
        ),
        # a truncated or empty timeseries.parquet was a 97-line pyarrow traceback, exit 1
        (
            lambda p: os.truncate(p / "timeseries.parquet", 1000),
            "RUN_B {p}/timeseries.parquet: not a readable Parquet file (1,000 bytes; truncated "
            "or damaged: Parquet magic bytes not found in footer); re-run it: ree run baseline "
            "--seed 2 --months 3 --out {p}",
        ),
        (
            lambda p: os.truncate(p / "timeseries.parquet", 0),
            "RUN_B {p}/timeseries.parquet: the file is empty (0 bytes); re-run it: ree run "
            "baseline --seed 2 --months 3 --out {p}",
        ),
        (
            lambda p: pd.DataFrame({"date": [1], "value": [2.0]}).to_parquet(
                p / "timeseries.parquet"
            ),
            "RUN_B {p}/timeseries.parquet: lacks the columns step, metric, good, region, "
            "partner, unit; re-run it",
        ),
        # valid JSON without any outcome once gave a comparison.csv with an empty run_b column
        (
            lambda p: (p / "summary.json").write_text('{"a": 1}'),
            "RUN_B {p}/summary.json: holds none of the outcomes ree run prints (keys ['a'])",
        ),
        # valid JSON of the wrong shape was a 48-line AttributeError traceback (session 15)
        (
            lambda p: _edit_json(p / "summary.json", accounts="oops"),
            "RUN_B {p}/summary.json: key 'accounts' must be an object ({{...}}), not the string "
            "'oops'; re-run it: ree run baseline --seed 2 --months 3 --out {p}",
        ),
        (
            lambda p: _edit_json(p / "summary.json", accounts={"US": {"tariff_revenue": "1.5"}}),
            "RUN_B {p}/summary.json: key 'accounts.US.tariff_revenue' must be a number, not "
            "the string '1.5'",
        ),
        (
            lambda p: _edit_json(p / "summary.json", **{"NdPr price China (USD/kg)": 3}),
            "RUN_B {p}/summary.json: key 'NdPr price China (USD/kg)' must be an object "
            "({{...}}), not the number 3",
        ),
        (
            lambda p: _edit_json(
                p / "summary.json", **{"China magnet exports (t/month)": {"first": 1.0}}
            ),
            "RUN_B {p}/summary.json: lacks the key 'China magnet exports (t/month).peak'",
        ),
        (
            lambda p: _edit_json(p / "summary.json", china_content_12m_last=[0.5]),
            "RUN_B {p}/summary.json: key 'china_content_12m_last' must be an object ({{...}}), "
            "not a list",
        ),
        (
            lambda p: _edit_json(p / "manifest.json", seed="2"),
            "RUN_B {p}/manifest.json: key 'seed' must be a whole number, not the string '2'",
        ),
        (
            lambda p: _edit_json(p / "manifest.json", overrides="none"),
            "RUN_B {p}/manifest.json: key 'overrides' must be an object ({{...}}), not the "
            "string 'none'",
        ),
    ],
)
def test_a_damaged_run_folder_is_refused_naming_the_file(two_runs, tmp_path, damage, fragment):
    bad = _fake_run(tmp_path / "bad", "baseline", 2, [60.0, 61.0, 62.0], [1.0, 2.0, 3.0], 0.0)
    damage(bad)
    res = CliRunner().invoke(
        app,
        ["compare", str(two_runs[0]), str(bad), "--out", str(tmp_path / "c")],
        env={"COLUMNS": "60"},
    )
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert fragment.format(p=bad) in lines[0]
    assert not (tmp_path / "c").exists()


def test_change_pct_hides_changes_on_a_near_zero_base():
    import math

    from experiments.compare import change_pct

    assert change_pct(2.0, 3.0) == 50.0
    assert change_pct(-2.0, -1.0) == 50.0
    assert math.isnan(change_pct(0.0003, 0.4719))  # a new user's +157,196% (session 9)
    assert math.isnan(change_pct(0.0, 1.0))
    assert change_pct(1.0, 101.0) == 10_000.0  # the largest shown


def test_runs_of_different_horizons_are_compared_with_a_warning(two_runs, tmp_path):
    a, b = two_runs
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c0")])
    assert res.exit_code == 0 and res.stderr == ""  # the same 3 months: no warning
    for p, months, end in ((a, 24, "2025-12"), (b, 144, "2035-12")):
        man = json.loads((p / "manifest.json").read_text())
        man.update(months=months, start="2024-01", end=end)
        (p / "manifest.json").write_text(json.dumps(man))
    res = CliRunner().invoke(
        app, ["compare", str(a), str(b), "--out", str(tmp_path / "c")], env={"COLUMNS": "60"}
    )
    assert res.exit_code == 0, res.output
    # a new user's input: a 144-month run against a 36-month one printed "last month"
    # changes of Dec 2035 against Dec 2026 with the warning after the table
    assert res.stderr.strip() == (
        "warning: the runs cover different periods, RUN_A 2024-01 to 2025-12 (24 months) and "
        "RUN_B 2024-01 to 2035-12 (144 months); these rows compare different months: 'last "
        "month' and 'last 12 months' values, 'cumulative' sums and net capacity changes, "
        "peaks and worst 12 months (for a like-for-like comparison give runs of the same "
        "scenario period and --months)"
    )
    assert res.output.index("warning:") < res.output.index("NdPr price China, peak")
    assert "A: baseline, seed 0, 2024-01 to 2025-12 (24 months)" in res.stdout
    assert "NdPr price China, peak" in res.stdout  # the comparison is kept
    assert (tmp_path / "c" / "comparison.csv").is_file()


def _labelled_ticks(ax) -> list[float]:
    """The y values of the tick labels drawn inside the axis limits (major and minor)."""
    ax.figure.canvas.draw()
    lo, hi = ax.get_ylim()
    out = []
    for ticks in (ax.yaxis.get_major_ticks(), ax.yaxis.get_minor_ticks()):
        for t in ticks:
            v = t.get_loc()
            if t.label1.get_visible() and t.label1.get_text() and lo <= v <= hi:
                out.append(v)
    return sorted(out)


def test_overlay_price_axes_label_a_tick_above_the_peak(tmp_path):
    # a new user's check: comparison.png's NdPr panel labelled nothing above 100 for a peak
    # of 136 (a log axis spanning less than a decade labelled only its minor ticks below 100)
    import matplotlib.pyplot as plt

    from experiments.compare import overlay_figure

    a = load_run(_fake_run(tmp_path / "a", "baseline", 0, [55.0, 80.0, 70.0], [1, 1, 1], 0.0))
    b = load_run(_fake_run(tmp_path / "b", "baseline", 1, [60.0, 136.0, 90.0], [1, 1, 1], 0.0))
    fig = overlay_figure(a, b)
    ax = fig.axes[0]  # NdPr price China
    assert ax.get_yscale() == "log"
    ticks = _labelled_ticks(ax)
    assert ticks[-1] >= 136.0 and ticks[0] <= 55.0  # labels at or beyond both ends
    assert ax.get_ylim()[1] >= 136.0 and ax.get_ylim()[0] <= 55.0
    assert len([t for t in ticks if 55.0 <= t <= 136.0]) >= 3  # readable in between
    plt.close(fig)


@pytest.mark.parametrize(
    "lo, hi",
    [(55.0, 136.0), (0.8, 3.1), (40.0, 6000.0), (2.0, 90_000.0), (70.0, 70.0), (20.3, 130.0)],
)
def test_log_axes_label_ticks_around_the_data(lo, hi):
    import matplotlib.pyplot as plt

    from experiments.runs import log_scale

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [lo, (lo + hi) / 2, hi])
    log_scale(ax)
    ticks = _labelled_ticks(ax)
    assert ticks[0] <= lo and ticks[-1] >= hi, ticks
    assert ticks[-1] <= 10 * hi and ticks[0] >= lo / 10  # not far beyond the data
    assert len(ticks) >= 2
    plt.close(fig)


def test_overlay_says_log_scale_and_an_all_zero_panel_is_from_zero_marked_none(tmp_path):
    import matplotlib.pyplot as plt

    from experiments.compare import overlay_figure

    a = load_run(_fake_run(tmp_path / "a", "baseline", 0, [55.0, 80.0, 70.0], [1, 2, 3], 0.0))
    b = load_run(_fake_run(tmp_path / "b", "baseline", 1, [60.0, 136.0, 90.0], [0, 0, 0], 0.0))
    fig = overlay_figure(a, b)
    by_title = {ax.get_title(): ax for ax in fig.axes}
    ndpr = by_title["NdPr price China (USD/kg)"]
    assert ndpr.get_ylabel() == "USD/kg (log scale)"
    # no lost output in either run (no rows: zero every month): y from 0, 'none'
    lost = by_title["OEM lost output (USD m/month)"]
    assert lost.get_ylim() == (0.0, 1.0) and lost.get_ylabel() == "USD m/month"
    assert [t.get_text() for t in lost.texts] == ["none"]
    # exports are zero in B only: an ordinary linear axis, no 'none'
    exports = by_title["China magnet exports (t/month)"]
    assert len(exports.texts) == 0 and exports.get_ylim()[1] >= 3.0
    assert exports.get_ylabel() == "t/month"
    plt.close(fig)


def test_ree_compare_refuses_an_empty_manifest_in_one_line(two_runs, tmp_path):
    a, b = two_runs
    (b / "manifest.json").write_text("{}")
    res = CliRunner().invoke(
        app, ["compare", str(a), str(b), "--out", str(tmp_path / "c")], env={"COLUMNS": "60"}
    )
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip() == (
        f"ree compare: error: RUN_B {b}/manifest.json: lacks the keys 'scenario', 'seed', "
        f"'months'; re-run the command that wrote it (the same scenario, --seed and --set "
        f"values) with --out {b}"
    )
    assert not (tmp_path / "c").exists()


def test_the_period_warning_names_the_rows_whose_months_differ():
    from experiments.cli import horizon_warning

    c25 = {"months": 144, "start": "2024-01", "end": "2035-12"}
    assert horizon_warning(c25, dict(c25)) is None
    # controls-2025 against embargo-2010 (2009-01 to 2016-12): every kind of row
    w = horizon_warning(c25, {"months": 96, "start": "2009-01", "end": "2016-12"})
    assert w == (
        "the runs cover different periods, RUN_A 2024-01 to 2035-12 (144 months) and RUN_B "
        "2009-01 to 2016-12 (96 months); these rows compare different months: 'last month' "
        "and 'last 12 months' values, 'cumulative' sums and net capacity changes, peaks and "
        "worst 12 months (for a like-for-like comparison give runs of the same scenario "
        "period and --months)"
    )
    # the same last month from a later start: the last-month values compare the same month
    w = horizon_warning(c25, {"months": 132, "start": "2025-01", "end": "2035-12"})
    assert "'last month'" not in w and "'cumulative' sums" in w
    # the same length shifted (2024-01..2035-12 against 2025-01..2036-12): all rows
    w = horizon_warning(c25, {"months": 144, "start": "2025-01", "end": "2036-12"})
    assert "'last month' and 'last 12 months' values, 'cumulative' sums" in w
    # an old manifest without its months named: the lengths decide
    w = horizon_warning({"months": 1}, {"months": 12})
    assert w.startswith("the runs cover different periods, RUN_A 1 month and RUN_B 12 months;")


def test_median_summary_hand_checked():
    from experiments.compare import median_summary

    a = {"p (USD/kg)": {"peak": 1.0, "last": 4.0}, "lost_output_usd": {"oem": 10.0}, "x": "a"}
    b = {"p (USD/kg)": {"peak": 3.0, "last": 2.0}, "lost_output_usd": {"oem": 30.0}, "x": "b"}
    c = {"p (USD/kg)": {"peak": 2.0, "last": 9.0}, "lost_output_usd": {"oem": 20.0}, "y": 1.0}
    # numbers: the median of the seeds' numbers; keys every seed has; text: the first seed's
    assert median_summary([a, b, c]) == {
        "p (USD/kg)": {"peak": 2.0, "last": 4.0},
        "lost_output_usd": {"oem": 20.0},
    }
    assert median_summary([a, b]) == {
        "p (USD/kg)": {"peak": 2.0, "last": 3.0},
        "lost_output_usd": {"oem": 20.0},
        "x": "a",
    }


def _fake_ensemble(folder: Path, months: tuple[int, int] = (3, 3)) -> Path:
    """A hand-made ``ree run --seeds`` folder of two seeds with its ensemble.parquet."""
    from experiments.runs import ensemble_table

    folder.mkdir()
    s0 = _fake_run(
        folder / "seed-0", "baseline", 0, [60.0, 80.0, 70.0], [5000.0, 0.0, 4000.0], 2.0e9
    )
    s1 = _fake_run(
        folder / "seed-1", "baseline", 1, [60.0, 100.0, 90.0], [5000.0, 2000.0, 4000.0], 4.0e9
    )
    for s, m in zip((s0, s1), months, strict=True):
        man = json.loads((s / "manifest.json").read_text())
        (s / "manifest.json").write_text(json.dumps({**man, "months": m}))
    ensemble_table({0: s0, 1: s1}).to_parquet(folder / "ensemble.parquet", index=False)
    return folder


def test_ree_compare_reads_a_seeds_folder_as_the_median_over_its_seeds(two_runs, tmp_path):
    # a new user's report (session 27): ree run told them to compare seeds and scenarios, and
    # ree compare refused every --seeds folder
    ens = _fake_ensemble(tmp_path / "ens")
    res = CliRunner().invoke(
        app,
        ["compare", str(ens), str(two_runs[1]), "--out", str(tmp_path / "c")],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "A: baseline, median of 2 seeds (0,1)" in res.stdout
    table = pd.read_csv(tmp_path / "c" / "comparison.csv").set_index("outcome")
    # outcomes: the median of the seeds' outcomes (peaks 80 and 100; lost output 2 and 4 bn)
    assert table.loc["NdPr price China, peak", "run_a"] == 90.0
    assert table.loc["OEM lost output, cumulative", "run_a"] == 3.0
    assert table.loc["NdPr price China, peak", "run_b"] == 120.0
    a = load_run(ens, "RUN_A")
    got = a.timeseries()
    feb = got[(got.metric == "price") & (got.date == pd.Timestamp("2025-02-01"))]["value"]
    assert feb.tolist() == [90.0]  # the median series of ensemble.parquet
    assert a.manifest["seeds"] == [0, 1]


def test_an_ensemble_whose_seeds_differ_is_refused_in_one_line(two_runs, tmp_path):
    ens = _fake_ensemble(tmp_path / "ens", months=(3, 2))
    res = CliRunner().invoke(
        app,
        ["compare", str(ens), str(two_runs[1]), "--out", str(tmp_path / "c")],
        env={"COLUMNS": "60"},
    )
    assert res.exit_code == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "seed-1 differs from seed-0 in months" in lines[0]
    assert not (tmp_path / "c").exists()
