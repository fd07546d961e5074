"""`ree sweep plan|run|status|analyze` through the typer app (CliRunner)."""

from __future__ import annotations

import json

from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep.cli import sweep_app

runner = CliRunner()


def test_plan_run_status_analyze_roundtrip(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=2)
    out = str(tmp_path / "out")
    r = runner.invoke(sweep_app, ["plan", str(spec), "--out", out])
    assert r.exit_code == 0, r.output
    assert "factorial: 54 rows x 2 replicates = 108 runs" in r.output
    assert (tmp_path / "out" / "toy" / "design.parquet").exists()
    assert (tmp_path / "out" / "toy" / "spec.json").exists()
    assert not (tmp_path / "out" / "toy" / "results").exists()

    r = runner.invoke(sweep_app, ["plan", str(spec), "--out", out, "--json"])
    doc = json.loads(r.output)
    assert (doc["runs"], doc["to_run"], doc["created"]) == (108, 108, False)

    r = runner.invoke(
        sweep_app, ["run", str(spec), "--out", out, "--backend", "sequential", "--max-runs", "40"]
    )
    assert r.exit_code == 0, r.output
    assert "ran 40 of 108 runs (40 ok, 0 failed)" in r.output and "68 remain" in r.output
    assert "ETA" in r.output and "40/40" in r.output  # the progress bar

    r = runner.invoke(sweep_app, ["status", str(spec), "--out", out, "--json"])
    st = json.loads(r.output)
    assert (st["planned"], st["ok"], st["remaining"], st["spec_matches"]) == (108, 40, 68, True)

    r = runner.invoke(
        sweep_app,
        ["run", str(spec), "--out", out, "--backend", "sequential", "--no-progress", "--json"],
    )
    doc = json.loads(r.output)
    assert (doc["skipped"], doc["executed"], doc["remaining"]) == (40, 68, 0)

    r = runner.invoke(sweep_app, ["run", str(spec), "--out", out, "--backend", "sequential"])
    assert r.exit_code == 0
    assert "nothing left to run: all 108 runs of 'toy' are finished (108 ok, 0 failed)" in r.output

    r = runner.invoke(sweep_app, ["plan", str(spec), "--out", out, "--workers", "2"])
    assert "108 ok" in r.output and "estimate" in r.output

    r = runner.invoke(sweep_app, ["analyze", str(spec), "--out", out, "--no-plots"])
    assert r.exit_code == 0, r.output
    assert "main effects" in r.output and "sensitivity indices need" not in r.output

    prov = json.loads((tmp_path / "out" / "toy" / "provenance.json").read_text())
    assert prov["spec_hash"] == doc_hash(tmp_path)
    runs = [i for i in prov["invocations"] if i["command"] == "run"]
    assert len(runs) == 2  # the no-op third run does not start an invocation
    assert prov["invocations"][0]["command"] == "plan"
    for inv in runs:
        assert inv["status"] == "completed" and inv["end"] >= inv["start"]
        assert {"git", "packages", "host", "python", "argv"} <= set(inv)
        assert inv["packages"]["numpy"]


def doc_hash(tmp_path):
    return json.loads((tmp_path / "out" / "toy" / "spec.json").read_text())["spec_hash"]


def test_status_before_plan_fails_cleanly(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml")
    r = runner.invoke(sweep_app, ["status", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1 and "no sweep planned" in r.output


def test_help_lists_the_commands():
    r = runner.invoke(sweep_app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("plan", "run", "status", "analyze"):
        assert cmd in r.output
    r = runner.invoke(sweep_app, ["run", "--help"])
    for opt in ("--backend", "--workers", "--address", "--out", "--fresh"):
        assert opt in r.output


def test_damaged_store_gives_a_one_line_error(tmp_path):
    # regression: a truncated shard or a corrupt spec.json gave an 80-line traceback
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    out = str(tmp_path / "out")
    r = runner.invoke(
        sweep_app,
        [
            "run",
            str(spec),
            "--out",
            out,
            "--backend",
            "sequential",
            "--max-runs",
            "5",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    shard = next((tmp_path / "out" / "toy" / "results").rglob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:40])
    r = runner.invoke(sweep_app, ["status", str(spec), "--out", out])
    assert r.exit_code == 1 and f"{shard} is not a readable Parquet file" in r.output
    assert "Traceback" not in r.output
    (tmp_path / "out" / "toy" / "spec.json").write_text("{not json")
    r = runner.invoke(sweep_app, ["status", str(spec), "--out", out])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert (
        "spec.json is not valid JSON" in r.output
    )  # names the file (tests/test_sweep_store_errors.py)


def _free_port() -> int:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_scheduler_address_is_one_line_and_writes_nothing(tmp_path):
    """A new user's report (session 12): `--address` to a scheduler that is not running
    waited 30 s (Dask's connect timeout) and left a planned store behind. Now the address is
    checked before the store is planned: one line, at once, nothing written."""
    import time

    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    out = tmp_path / "out"
    addr = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    r = runner.invoke(
        sweep_app,
        ["run", str(spec), "--out", str(out), "--backend", "dask", "--address", addr],
    )
    assert time.monotonic() - t0 < 10
    assert r.exit_code != 0
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    assert lines[0].startswith("ree sweep run: error: --address: ")
    assert f"no Dask scheduler answers at {addr}" in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_scheduler_address_check():
    from experiments.sweep.backends import scheduler_unreachable

    assert "has no host and port" in scheduler_unreachable("tcp://127.0.0.1")
    assert "only tcp://" in scheduler_unreachable("inproc://x")
    assert "no Dask scheduler answers" in scheduler_unreachable(
        f"127.0.0.1:{_free_port()}", timeout=1
    )
    import socket

    with socket.socket() as srv:  # something listening: reachable
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        assert scheduler_unreachable(f"tcp://127.0.0.1:{srv.getsockname()[1]}") is None


def test_outcomes_lists_every_outcome_with_its_unit_and_year():
    """`ree sweep outcomes` lists what a spec's `outcomes` may name (a new user found no
    list: the unknown-outcome error shows five names and a count)."""
    from abm.outcomes import OUTCOMES

    r = runner.invoke(sweep_app, ["outcomes", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.output)}
    assert list(rows) == sorted(OUTCOMES)
    assert rows["us_buyer_extra_cost_usd"]["unit"] == "USD"
    assert rows["china_share_magnet_mining_2035"]["year"] == 2035
    assert rows["peak_dy_price_us"]["year"] is None
    assert "IEA" in rows["china_share_magnet_separation_2035"]["description"]
    # the reproduction targets' model, by its reference
    r = runner.invoke(
        sweep_app, ["outcomes", "--model", "experiments.reproduce:sweep_evaluate", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert "nd_peak_multiple" in {row["name"] for row in json.loads(r.output)}
    r = runner.invoke(sweep_app, ["outcomes", "--model", "nosuch"])
    assert r.exit_code == 2 and "expected 'abm' or 'package.module:function'" in r.output


def test_an_unknown_outcome_points_to_the_outcomes_list(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "x"\nscenario = "baseline"\nmonths = 3\noutcomes = ["zzz"]\n'
        '[design]\nmethod = "factorial"\n[[levers]]\nname = "levers.us_tariff_on_china"\n'
        "levels = [0.0, 0.5]\n"
    )
    r = runner.invoke(sweep_app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2
    assert "unknown outcome 'zzz'" in r.output and "`ree sweep outcomes` lists them" in r.output
    assert not (tmp_path / "out").exists()
