"""The shipped example specs, and a tiny real sweep of the project's model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from experiments.sweep import expected_rows, load_spec, plan, run
from experiments.sweep.spec import parse_spec, read_toml

REPO = Path(__file__).resolve().parents[1]
SWEEPS = REPO / "experiments" / "sweeps"
EXAMPLES = sorted(SWEEPS.glob("*.toml"))
HAVE_ABM = importlib.util.find_spec("abm.outcomes") is not None
needs_abm = pytest.mark.skipif(not HAVE_ABM, reason="abm.outcomes not available yet")


pytestmark = pytest.mark.usefixtures("toy_models_importable")


def test_two_examples_ship():
    names = {p.name for p in EXAMPLES}
    assert {"tariff_licence_stockpile.toml", "sobol_behaviour.toml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_structure(path, tmp_path):
    spec = parse_spec(read_toml(path), str(path))
    if spec.design.method == "oat":
        # every single-valued behavioural parameter once at each end of its documented
        # range: a parameter added to abm/parameters.py without a row here fails
        from abm.parameters import Parameters
        from abm.scenario import parameter_space

        space = [k for k in parameter_space() if k.startswith("parameters.")]
        assert [p.name for p in spec.uncertainties] == space and not spec.levers
        # all of abm/parameters.py but the four pair-valued lead-time ranges, which a sweep
        # cannot set (one number per parameter); the header says so
        left_out = [
            f"parameters.{k}" for k in Parameters.model_fields if f"parameters.{k}" not in space
        ]
        assert left_out == [
            "parameters.lead_time_mine_years",
            "parameters.lead_time_mine_after_feasibility_years",
            "parameters.lead_time_separation_years",
            "parameters.lead_time_magnet_years",
        ]
        assert len(Parameters.model_fields) == 112 and len(space) == 108
        assert expected_rows(spec) == 1 + 2 * len(space) and spec.replicates == 1
        header = " ".join(
            line.lstrip("# ") for line in path.read_text().splitlines() if line.startswith("#")
        )
        assert "108 of the 112 parameters" in header and "1 + 2 x 108 = 217 rows" in header
        assert all(k.split(".")[1] in header for k in left_out)
        assert "214 distinct runs" in header
        # what `ree sweep plan` prints: 217 rows, 214 distinct (project_size_scale's high
        # end, output_price_months' low end and customer_market_share's high end are their
        # values, so those rows repeat row 0)
        summary = plan(path, tmp_path)
        assert (summary.design_rows, summary.runs, summary.unique_runs) == (217, 217, 214)
        assert (spec.model, spec.scenario) in {
            ("abm", "baseline"),
            ("experiments.reproduce:sweep_evaluate", "embargo-2010"),
            ("experiments.reproduce:sweep_evaluate", "controls-2025"),
        }
        return
    if path.stem == "leakage_embargo_2010":
        # session 19: a scenario measure's field over its sourced range, with the
        # reproduction targets as outcomes (docs/calibration.md 4.26)
        assert (spec.model, spec.scenario) == (
            "experiments.reproduce:sweep_evaluate",
            "embargo-2010",
        )
        assert [p.name for p in spec.levers] == ["measures.cn_mining_quota_2011_heavy.leakage"]
        assert min(spec.levers[0].levels) == 0.46 and max(spec.levers[0].levels) == 1.0
        assert 0.7 in spec.levers[0].levels  # the scenario's value
        assert expected_rows(spec) * spec.replicates == 18
        return
    assert spec.model == "abm"
    if path.stem == "baseline_robustness":
        # issue 12: the expectation window x project sizes over their documented ranges,
        # 5 seeds each, on the baseline to 2035
        assert spec.scenario == "baseline" and spec.replicates == 5
        assert expected_rows(spec) == 36  # 6 windows x 3 project sizes x 2 output windows
        assert [p.name for p in spec.levers] == [
            "parameters.price_expectation_months",
            "parameters.project_size_scale",
            "parameters.output_price_months",
        ]
        assert "mine_utilisation_min_2029_2035" in spec.outcomes
    elif spec.design.method == "factorial":
        assert expected_rows(spec) * spec.replicates == 27
        assert [p.name for p in spec.levers] == [
            "levers.us_tariff_on_china",
            "levers.approval_rate_us",
            "levers.stockpile_target_months",
        ]
        assert spec.discovery and spec.discovery[0].inputs == "levers"
    else:
        assert spec.design.method == "saltelli"
        assert len(spec.uncertainties) == 8
        assert expected_rows(spec) == 128 * (8 + 2)


@needs_abm
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_names_exist_in_the_model(path, tmp_path):
    spec, handle, _digest = load_spec(path)  # raises SpecError naming any unknown name
    space = handle.parameter_space()
    for p in spec.parameters:
        # a scenario measure's field is checked against the scenario (load_spec), not the
        # parameter space
        assert p.name in space or p.name.startswith("measures.")
    p = plan(path, tmp_path / "out")
    assert p.runs == expected_rows(spec) * spec.replicates
    assert p.to_run == p.unique_runs


@needs_abm
@pytest.mark.timeout(300)
def test_tiny_real_sweep(tmp_path, dask_address):
    """4 runs of the real model (3 months, the tariff lever acting from the second month): 2
    tariff levels x 2 replicates, on Dask (the session's cluster),
    then the same plan on the sequential backend (the plumbing and determinism of a real
    sweep; 3 months, was 12 then 6, are enough for both)."""
    # outcomes defined within 3 months (china_content_*_2030 needs a horizon into 2030)
    outcomes = [
        "peak_dy_price_outside_china",
        "oem_lost_output_months",
        "us_oem_lost_output_usd",
        "cumulative_subsidy_cost",
    ]
    # the levers act from levers.start (2025-04 by default): a 3-month sweep of a lever needs
    # a scenario whose levers start inside those months, else the spec is refused
    base = tmp_path / "early_levers.toml"
    base.write_text(
        'extends = "baseline"\nname = "baseline-early-levers"\n[levers]\nstart = "2024-02"\n'
    )
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        f"""
name = "tiny"
scenario = "{base}"
months = 3
replicates = 2
seed_root = 7
outcomes = {outcomes!r}

[design]
method = "factorial"

[[levers]]
name = "levers.us_tariff_on_china"
levels = [0.0, 1.0]
""".replace("'", '"')
    )
    s = run(spec, tmp_path / "out", backend="dask", address=dask_address, progress=False)
    assert (s.executed, s.ok, s.failed) == (4, 4, 0), s.message
    from experiments.sweep import RunStore

    df = RunStore(tmp_path / "out" / "tiny").read_results()
    assert df[outcomes].notna().all().all()
    # sequential rerun elsewhere gives the same table (seeded, order-independent)
    s2 = run(spec, tmp_path / "seq", backend="sequential", progress=False)
    assert s2.ok == 4
    a = df.sort_values("run_id")[["run_id", *outcomes]].reset_index(drop=True)
    b = (
        RunStore(tmp_path / "seq" / "tiny")
        .read_results()
        .sort_values("run_id")[["run_id", *outcomes]]
        .reset_index(drop=True)
    )
    assert a.equals(b)


@needs_abm
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_morris_screening_small(tmp_path):
    """Morris over three behavioural parameters of the real model: N(D+1) = 2 x 4 = 8 runs.

    Slow (8 real runs on a local Dask cluster, about 40 s on 2 cores); in the default run the Morris
    design and analysis are checked by hand on a linear model
    (test_sweep_analysis.py::test_morris_mu_star_of_a_linear_model) and the real model's
    outcomes through the Dask backend by ``test_tiny_real_sweep`` above."""
    spec = tmp_path / "morris.toml"
    spec.write_text("""
name = "morris-small"
scenario = "baseline"
months = 12
seed_root = 11
seed_scheme = "crn"
outcomes = ["peak_ndpr_price_outside_china", "magnet_capacity_outside_china"]

[design]
method = "morris"
n = 2

[[uncertainties]]
name = "parameters.final_demand_elasticity"

[[uncertainties]]
name = "parameters.price_expectation_months"

[[uncertainties]]
name = "parameters.inventory_target_weeks"
""")
    s = run(spec, tmp_path / "out", backend="dask", workers=2, progress=False)
    assert (s.executed, s.ok) == (8, 8), s.message
    from experiments.sweep import analyze

    r = analyze(spec, tmp_path / "out", plots=False)
    assert r.method == "morris" and len(r.indices) == 2 * 3
    assert np.isfinite(r.indices["mu_star"]).all()
    assert (r.indices["mu_star"] >= r.indices["mu"].abs() - 1e-9).all()


@needs_abm
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_grid_example_end_to_end(tmp_path):
    """The shipped 27-run grid on a local Dask cluster of 2 workers, then PRIM on the levers
    (about 2 minutes)."""
    path = SWEEPS / "tariff_licence_stockpile.toml"
    s = run(path, tmp_path / "out", backend="dask", workers=2, progress=False)
    assert s.ok == 27 and s.failed == 0
    assert run(path, tmp_path / "out", backend="dask", workers=2, progress=False).nothing_to_run
    pytest.importorskip("ema_workbench")
    from experiments.sweep import analyze

    r = analyze(path, tmp_path / "out", plots=False)
    assert len(r.discovery) == 1
    d = r.discovery[0]
    if len(d.get("limits", [])):
        assert set(d["limits"]["parameter"]) <= {
            "levers.us_tariff_on_china",
            "levers.approval_rate_us",
            "levers.stockpile_target_months",
        }
        assert 0 < d["coverage"] <= 1 and 0 < d["density"] <= 1
