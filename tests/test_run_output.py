"""`ree run` output folders under faults (issue 15): replacing an earlier output is a
rename-swap, so a SIGKILL at any step leaves the earlier output or the complete new one and the
next run restores or finishes the replacement; an unusable --out and a scenario file that is
not UTF-8 are refused before the model runs; a byte-order mark is accepted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from abm.model import RareEarthModel
from abm.scenario import load_scenario, scenario_dir
from experiments import runs
from experiments.cli import app
from experiments.runs import (
    INVENTORY,
    RETIRED,
    STAGING_OWNER,
    OutputError,
    check_output_folder,
    remove_stale_staging,
    run_to_folder,
)

REPO = Path(__file__).resolve().parents[1]

# Runs `ree run` (seed 1) over an earlier output (seed 0) and SIGKILLs itself at one step of
# the replacement: after `out` is renamed away, after that folder is marked, after the new
# output is renamed in, or just before the earlier output is deleted.
KILLER = r"""
import os, shutil, signal, sys
import experiments.runs as R
out, point = sys.argv[1], sys.argv[2]
rename, owner, rmtree = os.rename, R._write_owner, shutil.rmtree
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def my_rename(a, b):
    rename(a, b)
    if point == "after-retire" and str(b).endswith(R.RETIRED):
        die()
    if point == "after-publish" and str(b) == out:
        die()
def my_owner(folder):
    owner(folder)
    if point == "after-mark" and str(folder).endswith(R.RETIRED):
        die()
def my_rmtree(p, *a, **k):
    if point == "before-delete" and str(p).endswith(R.RETIRED):
        die()
    rmtree(p, *a, **k)
os.rename, R._write_owner, shutil.rmtree = my_rename, my_owner, my_rmtree
R.run_to_folder("baseline", out, seed=1, months=1, progress=False, make_charts=False)
raise SystemExit("not killed")
"""


def _seed(folder: Path) -> int:
    return json.loads((folder / "manifest.json").read_text())["seed"]


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("point", "after_kill", "after_next"),
    [
        ("after-retire", None, 0),  # out renamed away: restored by the next run
        ("after-publish", 1, 1),  # the new output is in place: the old one is removed
        # a kill point of each outcome above runs by default; the two others (a Python process
        # each, 4-6 s) in the slow set
        pytest.param("after-mark", None, 0, marks=pytest.mark.slow),
        pytest.param("before-delete", 1, 1, marks=pytest.mark.slow),
    ],
)
def test_sigkill_during_replacement_keeps_one_complete_output(
    tmp_path, point, after_kill, after_next
):
    out = (tmp_path / "run").resolve()
    run_to_folder("baseline", out, seed=0, months=1, progress=False, make_charts=False)
    earlier = pd.read_parquet(out / "timeseries.parquet")
    r = subprocess.run(
        [sys.executable, "-c", KILLER, str(out), point],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == -9, r.stderr  # killed where intended
    if after_kill is None:  # between the two renames: out is away, nothing is lost
        assert not out.exists()
        retired = [p for p in out.parent.glob(f".{out.name}.*{RETIRED}")]
        assert len(retired) == 1 and _seed(retired[0]) == 0
        staged = retired[0].with_name(retired[0].name.removesuffix(RETIRED))
        assert _seed(staged) == 1 and (staged / INVENTORY).is_file()  # the new one, complete
    else:
        assert _seed(out) == after_kill and (out / INVENTORY).is_file()
    # what the next run does first
    assert remove_stale_staging(out)
    assert _hidden(out) == []
    assert not (out / STAGING_OWNER).exists()
    assert check_output_folder(out) == out  # a clean earlier output of ours
    assert _seed(out) == after_next
    if after_next == 0:
        pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), earlier)
    else:  # the published output is the model's own table
        model = RareEarthModel(load_scenario("baseline"), seed=1, months=1)
        model.run(progress=False)
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / "timeseries.parquet"), model.timeseries().reset_index(drop=True)
        )


def test_next_run_restores_then_replaces(tmp_path):
    """The state a kill between the two renames leaves, then an ordinary `ree run`."""
    out = (tmp_path / "run").resolve()
    run_to_folder("baseline", out, seed=0, months=1, progress=False, make_charts=False)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = json.dumps({"pid": int(dead.stdout), "host": __import__("socket").gethostname()})
    staged = tmp_path / ".run.abc123"
    staged.mkdir()
    (staged / STAGING_OWNER).write_text(owner)
    out.rename(staged.with_name(staged.name + RETIRED))  # issue 15: out was deleted first
    res = CliRunner().invoke(
        app,
        ["run", "-s", "baseline", "--months", "1", "--seed", "2", "--no-charts", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert _seed(out) == 2 and _hidden(out) == []


def test_replacement_never_deletes_before_the_new_output_is_in_place(tmp_path, monkeypatch):
    out = (tmp_path / "run").resolve()
    run_to_folder("baseline", out, seed=0, months=1, progress=False, make_charts=False)
    events = []
    real_rename, real_rmtree = os.rename, runs.shutil.rmtree
    monkeypatch.setattr(
        runs.os, "rename", lambda a, b: (events.append(("rename", Path(b).name)), real_rename(a, b))
    )
    monkeypatch.setattr(
        runs.shutil,
        "rmtree",
        lambda p, *a, **k: (events.append(("delete", Path(p).name)), real_rmtree(p, *a, **k)),
    )
    run_to_folder("baseline", out, seed=1, months=1, progress=False, make_charts=False)
    kinds = [(k, n == out.name) for k, n in events]
    assert kinds == [("rename", False), ("rename", True), ("delete", False)], events
    assert events[0][1].endswith(RETIRED) and events[2][1] == events[0][1]


def test_uncreatable_out_is_refused_before_the_model_runs(tmp_path, monkeypatch):
    def no_model(*a, **k):
        raise AssertionError("the model ran")

    monkeypatch.setattr(runs, "RareEarthModel", no_model)
    # issue 15: refused only after the whole run. /sys passes the permission check (even
    # for root) but refuses new folders, so only creating the folder finds it out
    if not Path("/sys").is_dir() or not os.access("/sys", os.W_OK | os.X_OK):
        pytest.skip("needs a writable-looking /sys (Linux, root)")
    with pytest.raises(
        OutputError, match="--out /sys/ree-test/run: cannot create the output folder"
    ):
        run_to_folder("baseline", Path("/sys/ree-test/run"), months=1, progress=False)


def test_scenario_file_encodings(tmp_path):
    text = (scenario_dir() / "baseline.toml").read_bytes()
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text)  # issue 15: "not valid TOML"
    res = CliRunner().invoke(
        app, ["run", "-s", str(bom), "--months", "1", "--no-charts", "--out", str(tmp_path / "a")]
    )
    assert res.exit_code == 0, res.output
    latin = tmp_path / "latin.toml"
    latin.write_bytes(text + "# Zürich\n".encode("latin-1"))
    res = CliRunner().invoke(
        app, ["run", "-s", str(latin), "--months", "1", "--no-charts", "--out", str(tmp_path / "b")]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"{latin} is not UTF-8 text (byte 0xfc at offset" in res.output.replace("\n", "")
    assert not (tmp_path / "b").exists() and _hidden(tmp_path / "b") == []


# One field of a valid scenario broken at a time: (table, key, bad TOML value, text the message
# names). Only checks abm/ makes today; see the issue-15 report for those still missing.
SCENARIO = {
    "top": {"name": '"probe"', "base_year": "2024", "start": '"2024-01"', "end": '"2025-12"'},
    "measure": {
        "kind": '"tariff"',
        "date": '"2025-02"',
        "actor": '"US"',
        "targets": '["CN"]',
        "rate": "0.10",
        "mode": '"set"',
    },
}
SCENARIO_BREAKS = [
    ("top", "start", '"2024-13"', "start"),
    ("top", "end", '"2023-01"', "end"),
    ("top", "base_year", '"2024"', "base_year"),
    ("top", "colour", '"red"', "colour"),
    ("measure", "rate", '"0.1"', "measures[0]"),  # and "rate: got the string '0.1'"
    ("measure", "rate", "-0.1", "measures[0].rate"),
    ("measure", "rate", "nan", "measures[0].rate"),
    ("measure", "actor", '"XX"', "measures[0].actor"),
    ("measure", "targets", "[]", "measures[0]"),
    ("measure", "targets", '["US"]', "measures[0]"),
    ("measure", "mode", '"multiply"', "measures[0].mode"),
    ("measure", "kind", '"tarif"', "measures[0]"),
    ("measure", "date", '"2030-01"', "measures[0].date"),
    ("measure", "goods", "[]", "measures[0].goods"),
]


def _scenario_text(table=None, key=None, bad=None) -> str:
    parts = []
    for t in ("top", "measure"):
        d = dict(SCENARIO[t])
        if t == table:
            d[key] = bad
        parts.append(
            ("\n[[measures]]\n" if t == "measure" else "")
            + "".join(f"{k} = {v}\n" for k, v in d.items())
        )
    return "".join(parts)


def test_the_unbroken_scenario_is_valid():
    from abm.scenario import loads_scenario

    assert loads_scenario(_scenario_text()).measures[0].rate == 0.10


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(SCENARIO_BREAKS), st.booleans())
def test_one_broken_scenario_field_is_named_and_nothing_is_written(tmp_path_factory, case, bom):
    table, key, bad, field = case
    d = tmp_path_factory.mktemp("scenario")
    f, out = d / "s.toml", d / "out"
    f.write_bytes((b"\xef\xbb\xbf" if bom else b"") + _scenario_text(table, key, bad).encode())
    res = CliRunner().invoke(
        app, ["run", "-s", str(f), "--months", "2", "--no-charts", "--out", str(out)]
    )
    assert res.exit_code == 2, (case, res.output)
    text = res.output.replace("\n", " ")
    assert "Traceback" not in res.output and res.output.count("invalid scenario") == 1
    assert str(f) in text and (
        f"'{field}'" in text or f"{field} " in text or f"{field}:" in text
    ), (case, res.output)
    assert not out.exists() and _hidden(out) == []  # nothing written


def test_summary_records_the_month_of_each_peak():
    # a new user's report (session 9): controls-2025's Dy "peak" came from 2033, not from the
    # 2025 controls, and the summary did not say when
    from abm.model import RareEarthModel
    from experiments.runs import summary

    m = RareEarthModel("baseline", seed=0, months=3)
    m.run()
    s = summary(m)
    df = m.headline_frame()
    for col in df.columns:
        if col in s:
            zero = (df[col].dropna() == 0).all()
            assert s[col]["peak_month"] == (None if zero else str(df[col].idxmax()))
            assert s[col]["peak"] == float(df[col].max())


def _toy_model(frame: pd.DataFrame):
    """A stand-in for a finished run with headline series ``frame`` (indexed by month) and
    an empty tidy table: what runs.summary and the ree run table read."""
    from types import SimpleNamespace

    ts = pd.DataFrame(columns=["date", "metric", "good", "region", "partner", "value"])
    return SimpleNamespace(
        headline_frame=lambda: frame,
        timeseries=lambda: ts,
        spec=SimpleNamespace(name="toy", start="2024-01", base_year=2024),
        steps=len(frame),
        start=frame.index[0],
    )


def test_an_all_zero_series_has_no_peak_month(tmp_path, monkeypatch):
    # a new user's check: `ree run` printed 2024-01 as the "peak month" of Defense lost
    # output, which was zero throughout

    import experiments.runs as runs
    from experiments.cli import app

    months = pd.period_range("2024-01", periods=3, freq="M")
    frame = pd.DataFrame(
        {"NdPr price China (USD/kg)": [60.0, 90.0, 70.0], "Defense lost output": [0.0] * 3},
        index=months,
    )
    model = _toy_model(frame)
    s = runs.summary(model)
    assert s["NdPr price China (USD/kg)"]["peak_month"] == "2024-02"
    assert s["Defense lost output"]["peak_month"] is None
    assert s["Defense lost output"]["peak"] == 0.0
    monkeypatch.setattr(runs, "run_to_folder", lambda *a, **k: (model, s))
    res = CliRunner().invoke(app, ["run", "--no-charts", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    rows = {ln.split("│")[1].strip(): ln for ln in res.output.splitlines() if ln.count("│") > 4}
    cells = lambda name: [c.strip() for c in rows[name].split("│")[2:-1]]  # noqa: E731
    assert cells("Defense lost output") == ["0.0", "0.0", "-", "0.0", "0.0"]
    assert cells("NdPr price China (USD/kg)") == ["60.0", "90.0", "2024-02", "60.0", "70.0"]


def test_month_counts_are_singular_for_one(tmp_path, monkeypatch):
    # a new user's check: `ree run --months 1` titled its table "..., 1 months (...)"

    from experiments.cli import horizon_warning
    from experiments.labels import months_text

    assert [months_text(n) for n in (1, 2, 1.0, 1.5, 0, "?")] == [
        "1 month",
        "2 months",
        "1 month",
        "1.5 months",
        "0 months",
        "? months",
    ]
    w = horizon_warning({"months": 1}, {"months": 12})
    assert w.startswith("the runs cover different periods, RUN_A 1 month and RUN_B 12 months"), w
    months = pd.period_range("2024-01", periods=1, freq="M")
    frame = pd.DataFrame({"NdPr price China (USD/kg)": [60.0]}, index=months)
    model = _toy_model(frame)
    monkeypatch.setattr(runs, "run_to_folder", lambda *a, **k: (model, runs.summary(model)))
    res = CliRunner().invoke(app, ["run", "--no-charts", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "toy, seed 0, 1 month (2024-01 to 2024-01)" in res.output, res.output
    assert "1 months" not in res.output


def test_a_damaged_inventory_is_named_in_the_refusal(tmp_path):
    """An earlier output whose file inventory cannot be read is refused, as before, but the
    line now says why (a new user saw only "not an earlier output", session 28); the files
    are left as they were."""
    out = (tmp_path / "run").resolve()
    run_to_folder("baseline", out, seed=0, months=1, progress=False, make_charts=False)
    (out / INVENTORY).write_text("{bad")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(OutputError) as err:
        check_output_folder(out)
    assert f"its file inventory {INVENTORY} is damaged" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == before
    # a folder of someone else's files (no inventory) keeps the old line
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError) as err:
        check_output_folder(other)
    assert "is damaged" not in str(err.value) and "notes.txt" in str(err.value)
