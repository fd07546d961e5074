"""Experiments: parameter sweeps, sensitivity analysis and resumable runs.

Python API (mirrors ``ree sweep plan|run|status|analyze``)::

    from experiments import sweep
    sweep.plan("experiments/sweeps/tariff_licence_stockpile.toml", out="runs")
    summary = sweep.run("experiments/sweeps/tariff_licence_stockpile.toml", backend="process", workers=2)
    sweep.status("experiments/sweeps/tariff_licence_stockpile.toml")
    result = sweep.analyze("experiments/sweeps/tariff_licence_stockpile.toml")

Modules: :mod:`.spec` (TOML + pydantic specs), :mod:`.design` (design tables), :mod:`.seeds`
(SeedSequence keys, run ids), :mod:`.backends` (executors), :mod:`.store` (Parquet store),
:mod:`.provenance`, :mod:`.runner` (plan/run/status), :mod:`.analysis` (SALib, PRIM),
:mod:`.cli` (typer app ``sweep_app``).
"""

from .analysis import AnalysisError, AnalysisResult, analyze, load_table
from .design import build_design, expected_rows
from .runner import PlanSummary, RunSummary, StatusSummary, plan, run, run_chunk, status
from .spec import ExperimentSpec, SpecError, load_spec
from .store import RunStore, SpecChangedError, StoreError

__all__ = [
    "AnalysisError", "AnalysisResult", "ExperimentSpec", "PlanSummary", "RunStore", "RunSummary",
    "SpecChangedError", "SpecError", "StatusSummary", "StoreError", "analyze", "build_design", "expected_rows",
    "load_spec", "load_table", "plan", "run", "run_chunk", "status",
]
