"""`ree run --seeds` (issue 14): the seeds run in parallel on a local Dask cluster, give the
same runs as one after the other, and an ensemble table holds the median and 5-95% band."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments import cli
from experiments.cli import app
from experiments.runs import ensemble_table


def _ts(folder, values):
    folder.mkdir(parents=True)
    rows = [
        {
            "date": pd.Timestamp("2024-01-01"),
            "step": 0,
            "metric": "price",
            "good": "ox_Nd",
            "region": "CN",
            "partner": "",
            "value": v,
            "unit": "USD/kg",
        }
        for v in values
    ]
    cols = ["date", "step", "metric", "good", "region", "partner", "value", "unit"]
    pd.DataFrame(rows, columns=cols).to_parquet(folder / "timeseries.parquet")


def test_ensemble_median_and_band_by_hand(tmp_path):
    # three seeds at 1, 2 and 10 USD/kg: median 2; numpy's linear quantiles: the 5th
    # percentile at position 0.1 -> 1 + 0.1 x (2 - 1) = 1.1, the 95th at 1.9 -> 2 + 0.9 x 8 = 9.2
    folders = {s: tmp_path / f"seed-{s}" for s in range(3)}
    for s, v in zip(range(3), (1.0, 2.0, 10.0), strict=True):
        _ts(folders[s], [v])
    e = ensemble_table(folders)
    assert len(e) == 1
    row = e.iloc[0]
    assert (row["median"], row["p05"], row["p95"]) == pytest.approx((2.0, 1.1, 9.2))
    assert (row["seeds"], row["n_seeds"], row["unit"]) == (3, 3, "USD/kg")


def test_a_series_missing_in_one_seed_counts_the_seeds_that_have_it(tmp_path):
    folders = {0: tmp_path / "seed-0", 1: tmp_path / "seed-1"}
    _ts(folders[0], [4.0])
    _ts(folders[1], [])
    e = ensemble_table(folders)
    assert e["median"].tolist() == [4.0] and e["seeds"].tolist() == [1]


@pytest.mark.timeout(600)
def test_parallel_seeds_equal_sequential_seeds(tmp_path, monkeypatch):
    runner = CliRunner()
    args = ["run", "controls-2025", "--seeds", "0-1", "--months", "3", "--no-charts"]
    par, seq = tmp_path / "par", tmp_path / "seq"
    # without --workers: one worker per CPU (2 here, on any machine) on a local Dask cluster
    import distributed.system  # noqa: F401  (reads the CPU count on import: before the patch)

    on_dask, real_seeds_on_dask = [], cli._seeds_on_dask

    def seeds_on_dask(*a, **kw):
        on_dask.append(a[6])  # procs: the worker processes of the local cluster
        return real_seeds_on_dask(*a, **kw)

    monkeypatch.setattr(cli, "_seeds_on_dask", seeds_on_dask)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    r = runner.invoke(app, [*args, "--out", str(par)])
    assert r.exit_code == 0, r.output
    assert on_dask == [2]
    r = runner.invoke(app, [*args, "--workers", "1", "--out", str(seq)])
    assert r.exit_code == 0, r.output
    for s in (0, 1):
        a = pd.read_parquet(par / f"seed-{s}" / "timeseries.parquet")
        b = pd.read_parquet(seq / f"seed-{s}" / "timeseries.parquet")
        pd.testing.assert_frame_equal(a, b)
    ea, eb = (pd.read_parquet(p / "ensemble.parquet") for p in (par, seq))
    pd.testing.assert_frame_equal(ea, eb)
    assert set(ea["n_seeds"]) == {2} and (ea["p05"] <= ea["median"]).all()
    # the same ensemble folder can be run again (ensemble.parquet is ours, not the user's)
    r = runner.invoke(app, [*args, "--workers", "1", "--out", str(seq)])
    assert r.exit_code == 0, r.output
    assert on_dask == [2]  # --workers 1 runs in this process


def test_a_damaged_seed_file_is_one_line_naming_it(tmp_path):
    from experiments.run_files import RunFolderError

    folders = {s: tmp_path / f"seed-{s}" for s in range(2)}
    for s in folders:
        _ts(folders[s], [1.0])
    os.truncate(folders[1] / "timeseries.parquet", 100)
    with pytest.raises(RunFolderError) as err:
        ensemble_table(folders)
    assert str(err.value) == (
        f"seed 1 {folders[1]}/timeseries.parquet: not a readable Parquet file (100 bytes; "
        "truncated or damaged: Parquet magic bytes not found in footer); run the ensemble "
        f"again (ree run --seeds ... --out {tmp_path})"
    )


def _rows(folder, rows):
    """A seed's timeseries.parquet of ``(metric, good, region, partner, value, unit)`` rows,
    all in 2025-05."""
    folder.mkdir(parents=True)
    cols = ["date", "step", "metric", "good", "region", "partner", "value", "unit"]
    pd.DataFrame([(pd.Timestamp("2025-05-01"), 16, *r) for r in rows], columns=cols).to_parquet(
        folder / "timeseries.parquet"
    )


def test_a_seed_without_a_flow_row_counts_as_zero_but_not_for_prices(tmp_path):
    # a new user's case: flow mag_ndfeb_std CN->US in 2025-05 recorded by 2 of 3 seeds
    # (95.2 and 137.0 t): the median over the two was 116.1; with the third seed's zero it is
    # 95.2; p05 at position 0.1 of (0, 95.2, 137.0) = 9.52, p95 at 1.9 = 95.2 + 0.9 x 41.8.
    # The NdPr price and the US China-content share, absent in seed 2 (not traded, no
    # magnets received), stay statistics over the seeds that recorded them.
    flow = ("flow", "mag_ndfeb_std", "CN", "US")
    price = ("price", "NdPr", "US", "")
    share = ("china_content", "magnets", "US", "")
    received = ("magnets_received", "magnets", "US", "")
    folders = {s: tmp_path / f"seed-{s}" for s in range(3)}
    _rows(
        folders[0],
        [(*flow, 95.2, "t/month"), (*price, 80.0, "USD/kg"), (*share, 0.9, "share")]
        + [(*received, 10.0, "t/month")],
    )
    _rows(
        folders[1],
        [(*flow, 137.0, "t/month"), (*price, 100.0, "USD/kg"), (*share, 0.5, "share")]
        + [(*received, 30.0, "t/month")],
    )
    _rows(folders[2], [("price", "NdPr", "CN", "", 60.0, "USD/kg")])
    e = ensemble_table(folders).set_index(["metric", "good", "region"])
    row = e.loc[("flow", "mag_ndfeb_std", "CN")]
    assert (row["median"], row["p05"], row["p95"]) == pytest.approx((95.2, 9.52, 132.82))
    assert (row["seeds"], row["n_seeds"]) == (2, 3)
    row = e.loc[("magnets_received", "magnets", "US")]
    assert (row["median"], row["p05"], row["p95"]) == pytest.approx((10.0, 1.0, 28.0))
    row = e.loc[("price", "NdPr", "US")]
    assert (row["median"], row["p05"], row["p95"], row["seeds"]) == pytest.approx(
        (90.0, 81.0, 99.0, 2)
    )
    row = e.loc[("china_content", "magnets", "US")]
    assert (row["median"], row["seeds"]) == pytest.approx((0.7, 2))
    row = e.loc[("price", "NdPr", "CN")]  # only seed 2 traded NdPr in China
    assert (row["median"], row["p05"], row["seeds"]) == pytest.approx((60.0, 60.0, 1))


def test_producer_surplus_absent_in_a_seed_counts_as_zero(tmp_path):
    # producer_surplus is written only for the stages that sold that month: a seed without
    # the row sold nothing (0 USD), so three seeds at 9, 3 and (absent) have median 3, not 6
    from abm.metrics import ZERO_WHEN_ABSENT

    assert "producer_surplus" in ZERO_WHEN_ABSENT
    cols = ["date", "step", "metric", "good", "region", "partner", "value", "unit"]
    folders = {s: tmp_path / f"seed-{s}" for s in range(3)}
    for s, vals in zip(range(3), ([9.0], [3.0], []), strict=True):
        folders[s].mkdir(parents=True)
        rows = [
            [pd.Timestamp("2024-01-01"), 0, "producer_surplus", "storage", "JP", "", v, "USD/month"]
            for v in vals
        ]
        pd.DataFrame(rows, columns=cols).to_parquet(folders[s] / "timeseries.parquet")
    row = ensemble_table(folders).iloc[0]
    # numpy's linear quantiles of (0, 3, 9): p05 at position 0.1 -> 0.3; p95 at 1.9 -> 8.4
    assert (row["median"], row["p05"], row["p95"]) == pytest.approx((3.0, 0.3, 8.4))
    assert (row["seeds"], row["n_seeds"]) == (2, 3)


def test_every_metric_written_only_where_nonzero_is_zero_when_absent():
    # an account metric that is absent in a month of a real run (the others are written
    # every month, zeros included) must be one whose absent row means zero
    from abm.accounts import ACCOUNT_METRICS
    from abm.metrics import ZERO_WHEN_ABSENT
    from abm.model import RareEarthModel

    m = RareEarthModel(scenario="baseline", seed=0)
    for _ in range(3):
        m.step()
    df = m.recorder.frame()
    for metric in ACCOUNT_METRICS:
        counts = df[df["metric"] == metric].groupby(["good", "region"]).size()
        if metric in ZERO_WHEN_ABSENT:
            continue
        assert (counts == 3).all(), metric
