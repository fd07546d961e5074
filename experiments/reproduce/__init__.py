"""Every paper experiment in one call: the 2010-11 and 2025 episodes, their counterfactuals
and the decoupling study, with targets checked against stated tolerances (``ree reproduce``).

What runs
---------
Each *variant* is a shipped scenario, optionally with measures removed (a counterfactual:
``embargo-2010`` without its quotas, ``controls-2025`` without the DoD price floor, ...).
Every variant runs for ``seeds`` replicates; replicate ``r`` of every variant draws from
``numpy.random.SeedSequence(seed_root, spawn_key=(r,))`` (common random numbers, so a
counterfactual differs from its episode by the measures removed, not by noise). Runs are
spread over a local Dask cluster (or run in this process with ``backend="sequential"``)
through the sweep's loop (:func:`experiments.sweep.execute.execute`) with a rich progress bar.

Each run returns a few monthly series (prices outside and inside China, China's magnet
exports, capacity, China-origin content of magnet supply, mine output by origin, and the
share of magnet-REE demand removed by thrifting and substitution, computed from the OEM and
magnet-maker agents' state) plus the base-year check and the mass-balance residual.

What it writes (``out``)
------------------------
``REPORT.md`` (each target: observed median and 5-95% band over seeds, tolerance, PASS or
FAIL, source; counterfactual comparisons; decoupling table; run facts), ``tables/*.csv``
and ``tables/*.md``, ``figures/*.png`` and ``figures/*.svg`` (median line and 5-95% band over
seeds), ``data/series.parquet`` (every extracted series of every run) and ``manifest.json``
(profile, seeds, scenario hashes, package versions, git commit, wall times).

The ``full`` profile adds the IMF comparison (one seed): an 80% cut of Japan's, the US's
and the EU's rare-earth supply from all origins (import quotas and the US mine output) and,
beside it, an 80% cut of China's exports of oxides and magnets; GDP effects for Japan, the
US and the EU beside IMF Working Paper 2026/073 (:func:`imf_cut_experiment`;
``tables/imf_cut.*`` and a REPORT.md section).

Targets are defined in :data:`TARGETS`; their dates (the 2010 quota cut, the April 2025
licences) are read from the scenario measures with the ids named there, never hard-coded.

Python API::

    from experiments.reproduce import reproduce
    result = reproduce("results/reproduce", quick=True, seeds=3)
    result.targets          # DataFrame: one row per target with median, band, PASS/FAIL

The package holds one concept per module, imported one way (a module imports only those
above it): :mod:`~experiments.reproduce.variants` (variants and counterfactuals),
:mod:`~experiments.reproduce.series` (series extracted from a finished run),
:mod:`~experiments.reproduce.runner` (one run, many runs in parallel),
:mod:`~experiments.reproduce.profiles`, :mod:`~experiments.reproduce.targets`,
:mod:`~experiments.reproduce.sweep_adapter`, :mod:`~experiments.reproduce.tables`,
:mod:`~experiments.reproduce.plots` (figures), :mod:`~experiments.reproduce.report`
(manifest and REPORT.md), :mod:`~experiments.reproduce.imf_cut`,
:mod:`~experiments.reproduce.pipeline` (:func:`reproduce`) and
:mod:`~experiments.reproduce.scenario_events` (the event tables of docs/scenarios.md).
"""

from __future__ import annotations

# The names of __all__, and (``X as X``) the other public names of the former single module.
from experiments.reproduce.imf_cut import IMF_CUT_SHARE as IMF_CUT_SHARE
from experiments.reproduce.imf_cut import (
    IMF_SHORT_RUN_GDP_LOSS,
    ImfCut,
    imf_cut_experiment,
    imf_cut_markdown,
    imf_cut_scenario,
)
from experiments.reproduce.imf_cut import IMF_VARIANTS as IMF_VARIANTS
from experiments.reproduce.imf_cut import base_supply as base_supply
from experiments.reproduce.imf_cut import china_base_exports as china_base_exports
from experiments.reproduce.imf_cut import supply_cut_measures as supply_cut_measures
from experiments.reproduce.pipeline import ReproduceResult, reproduce
from experiments.reproduce.plots import figures as figures
from experiments.reproduce.profiles import PROFILES, Profile
from experiments.reproduce.runner import DEFAULT_SEED_ROOT as DEFAULT_SEED_ROOT
from experiments.reproduce.runner import run_task, run_variants
from experiments.reproduce.scenario_events import scenario_events_markdown
from experiments.reproduce.series import REGIONS_DECOUPLING as REGIONS_DECOUPLING
from experiments.reproduce.series import demand_removed_share as demand_removed_share
from experiments.reproduce.series import series_from_model
from experiments.reproduce.sweep_adapter import SINGLE_RUN_TARGETS as SINGLE_RUN_TARGETS
from experiments.reproduce.sweep_adapter import sweep_evaluate
from experiments.reproduce.tables import decoupling_table as decoupling_table
from experiments.reproduce.tables import mechanism_table as mechanism_table
from experiments.reproduce.tables import scenario_summary as scenario_summary
from experiments.reproduce.targets import PEAK_LEVEL_TOLERANCE as PEAK_LEVEL_TOLERANCE
from experiments.reproduce.targets import PEAK_WINDOW_MONTHS as PEAK_WINDOW_MONTHS
from experiments.reproduce.targets import TARGETS, Target, evaluate_targets
from experiments.reproduce.variants import DECOUPLING_SCENARIOS as DECOUPLING_SCENARIOS
from experiments.reproduce.variants import VARIANTS, Variant, build_scenario

__all__ = [
    "IMF_SHORT_RUN_GDP_LOSS",
    "PROFILES",
    "TARGETS",
    "VARIANTS",
    "ImfCut",
    "Profile",
    "ReproduceResult",
    "Target",
    "Variant",
    "build_scenario",
    "evaluate_targets",
    "imf_cut_experiment",
    "imf_cut_markdown",
    "imf_cut_scenario",
    "reproduce",
    "run_task",
    "run_variants",
    "scenario_events_markdown",
    "series_from_model",
    "sweep_evaluate",
]
