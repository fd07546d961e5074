"""A model that raises in some runs: those runs are recorded as failed data; the rest complete."""

from __future__ import annotations

import pytest
from sweep_toy_models import toy_evaluate, write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import RunStore, run, status
from experiments.sweep.cli import sweep_app

pytestmark = pytest.mark.usefixtures("toy_models_importable")


def _check_store(out):
    df = RunStore(out / "toy").read_results()
    assert len(df) == 40 and df["run_id"].is_unique
    bad = df["parameters.a"] > 0.7
    assert bad.sum() > 0 and (~bad).sum() > 0
    failed, ok = df[bad], df[~bad]
    assert (failed["status"] == "failed").all() and (ok["status"] == "ok").all()
    assert set(failed["error_type"]) == {"ValueError"}
    assert failed["error"].str.startswith("toy failure: a=").all()
    assert failed["traceback"].str.contains("flaky_evaluate").all()
    assert failed["y"].isna().all()
    # successful runs carry the model's values
    for _, r in ok.head(5).iterrows():
        import numpy as np

        from experiments.sweep.seeds import make_seed_sequence

        outs, _ = toy_evaluate(
            "toy",
            overrides={
                "parameters.a": r["parameters.a"],
                "parameters.k": int(r["parameters.k"]),
                "levers.mode": r["levers.mode"],
                "levers.flag": bool(r["levers.flag"]),
            },
            seed=make_seed_sequence(42, (int(r["design_row"]), int(r["rep"]))),
        )
        assert np.isclose(r["y"], outs["y"]) and np.isclose(r["noise"], outs["noise"])
    return int(bad.sum())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["sequential", "dask"])
def test_failures_are_recorded_and_do_not_abort(tmp_path, backend, request):
    spec = write_toy_spec(
        tmp_path / "s.toml", model="flaky_evaluate", design='method = "lhs"\nn = 20', replicates=2
    )
    out = tmp_path / "out"
    kw = {"address": request.getfixturevalue("dask_address")} if backend == "dask" else {}
    s = run(spec, out, backend=backend, progress=False, **kw)
    n_bad = _check_store(out)
    assert (s.executed, s.failed, s.ok) == (40, n_bad, 40 - n_bad)
    st = status(spec, out)
    assert st.failures == {"ValueError": n_bad} and st.remaining == 0

    again = run(spec, out, backend=backend, progress=False, **kw)
    assert again.nothing_to_run and "--retry-failed" in again.message
    retry = run(spec, out, backend=backend, retry_failed=True, progress=False, **kw)
    assert (retry.executed, retry.failed) == (n_bad, n_bad)
    assert len(RunStore(out / "toy").read_results(dedupe=False)) == 40 + n_bad
    _check_store(out)


def test_missing_outcome_and_base_exception_are_failures(tmp_path, monkeypatch):
    import sweep_toy_models as m

    def partial(scenario, **kw):
        a = kw["overrides"]["parameters.a"]
        if a > 0.5:
            raise SystemExit("model called exit()")  # a BaseException, not an Exception
        outs, ts = m.toy_evaluate(scenario, **kw)
        outs.pop("loss")
        return outs, ts

    monkeypatch.setattr(m, "partial_evaluate", partial, raising=False)
    spec = write_toy_spec(
        tmp_path / "s.toml",
        model="partial_evaluate",
        replicates=1,
        design='method = "factorial"\nlevels = 2',
    )
    s = run(spec, tmp_path / "out", backend="sequential", progress=False)
    assert (s.ok, s.failed) == (0, 24)
    df = RunStore(tmp_path / "out" / "toy").read_results()
    assert set(df.loc[df["parameters.a"] == 1.0, "error_type"]) == {"SystemExit"}
    low = df[df["parameters.a"] == 0.0]
    assert set(low["error_type"]) == {"KeyError"}
    assert low["error"].str.contains("no value for outcome").all()


def test_cli_reports_failures(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml", model="flaky_evaluate", design='method = "lhs"\nn = 20', replicates=2
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(
        sweep_app, ["run", str(spec), "--out", str(out), "--no-progress", "--backend", "sequential"]
    )
    n_bad = _check_store(out)
    # the summary first, then a non-zero exit saying where the errors are
    assert r.exit_code == 1, r.output
    assert f"ran 40 of 40 runs ({40 - n_bad} ok, {n_bad} failed)" in r.output
    assert (
        f"{n_bad} of 40 runs failed; see the errors with `ree sweep status {spec} --out {out}`"
        in r.output
    )
    assert "--retry-failed" in r.output and "Traceback" not in r.output
    # still failed runs in the store: a rerun with nothing to do exits 1 as well
    r = CliRunner().invoke(
        sweep_app, ["run", str(spec), "--out", str(out), "--backend", "sequential"]
    )
    assert r.exit_code == 1 and "nothing left to run" in r.output
    r = CliRunner().invoke(
        sweep_app, ["run", str(spec), "--out", str(out), "--json", "--backend", "sequential"]
    )
    assert r.exit_code == 1 and '"total_failed"' in r.output
    r = CliRunner().invoke(sweep_app, ["status", str(spec), "--out", str(out)])
    assert r.exit_code == 0 and "ValueError" in r.output
    assert "first error: toy failure: a=" in r.output  # the message, not only the count
