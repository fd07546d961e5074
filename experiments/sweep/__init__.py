"""Experiments: parameter sweeps, sensitivity analysis and resumable runs.

Python API (mirrors ``ree sweep plan|run|status|analyze``)::

    from experiments import sweep
    sweep.plan("experiments/sweeps/tariff_licence_stockpile.toml", out="runs")
    summary = sweep.run("experiments/sweeps/tariff_licence_stockpile.toml", workers=2)
    sweep.status("experiments/sweeps/tariff_licence_stockpile.toml")
    result = sweep.analyze("experiments/sweeps/tariff_licence_stockpile.toml")

Modules: :mod:`.spec` (TOML + pydantic specs), :mod:`.design` (design tables), :mod:`.seeds`
(SeedSequence keys, run ids), :mod:`.backends` (Dask or sequential), :mod:`.execute` (the
task loop), :mod:`.store` (Parquet store), :mod:`.provenance`, :mod:`.runner`
(plan/run/status), :mod:`.analysis` (SALib, PRIM), :mod:`.cli` (typer app ``sweep_app``).
"""

import importlib

#: Parent folder of the result stores when ``--out`` is not given.
DEFAULT_OUT = "runs"

# names are imported from their module on first use (PEP 562), so importing the package (as
# the ``ree`` command line does) costs nothing until a name is needed
_WHERE = {
    "AnalysisError": "analysis",
    "AnalysisResult": "analysis",
    "analyze": "analysis",
    "load_table": "analysis",
    "build_design": "design",
    "expected_rows": "design",
    "PlanSummary": "runner",
    "RunSummary": "runner",
    "StatusSummary": "runner",
    "plan": "runner",
    "run": "runner",
    "run_chunk": "runner",
    "status": "runner",
    "ExperimentSpec": "spec",
    "SpecError": "spec",
    "load_spec": "spec",
    "RunStore": "store",
    "SpecChangedError": "store",
    "StoreError": "store",
}

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "ExperimentSpec",
    "PlanSummary",
    "RunStore",
    "RunSummary",
    "SpecChangedError",
    "SpecError",
    "StatusSummary",
    "StoreError",
    "analyze",
    "build_design",
    "expected_rows",
    "load_spec",
    "load_table",
    "plan",
    "run",
    "run_chunk",
    "status",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
