# Hypothesis profiles (registered below): "ci", the default, is derandomized (the same
# examples on every run and machine) and keeps no example database, so a rare example cannot
# fail one CI run at random; HYPOTHESIS_PROFILE=explore draws random examples and keeps failing
# ones in .hypothesis/. Each test keeps its own max_examples and deadline (its @settings).
"""Shared fixtures: small scenarios built in code; worker processes that import the toy
sweep models; the Hypothesis settings profiles."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

from abm.scenario import scenario_from_dict

#: Hypothesis profiles (both on Hypothesis' "default", not on whatever profile it loaded
#: itself: it loads its own "ci" when it detects a CI service). "ci" replaces Hypothesis'
#: built-in "ci" profile, which also sets deadline, print_blob and a health check.
settings.register_profile("ci", settings.get_profile("default"), derandomize=True, database=None)
settings.register_profile("explore", settings.get_profile("default"), derandomize=False)


def load_hypothesis_profile() -> str:
    """Load the Hypothesis profile named by the environment variable HYPOTHESIS_PROFILE
    ("ci" when unset) and return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    if name not in ("ci", "explore"):
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={name!r}: unknown profile; allowed: 'ci' (the default), 'explore'"
        )
    settings.load_profile(name)
    return name


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # in a hook, not at import: a test module that imports this file again (tests.conftest)
    # does not reload the profile, and Hypothesis' own options (--hypothesis-profile,
    # --hypothesis-verbosity) apply on top of it
    load_hypothesis_profile()


def random_three_region_book(seed: int):
    """An order book of one good in three regions: 30 offers (1-10 t at 5-30 USD/kg) and
    30 bids (1-10 t at 5-40 USD/kg) per region, drawn from ``seed`` (market invariants)."""
    import numpy as np

    from abm.market import OrderBook

    rng = np.random.default_rng(seed)
    book = OrderBook(1, 3)
    for _k in range(30):
        for o in range(3):
            book.offer(
                f"s{o}", 0, o, float(rng.uniform(1, 10)), float(rng.uniform(5, 30)), 0.0, 0.0
            )
            book.bid(f"b{o}", 0, o, float(rng.uniform(1, 10)), float(rng.uniform(5, 40)))
    return book


def make_scenario(measures=(), months_end="2024-12", **kw):
    """A 2024 scenario with the given measures (dicts) ending at ``months_end``."""
    return scenario_from_dict(
        {
            "name": kw.pop("name", "test"),
            "start": "2024-01",
            "end": months_end,
            "measures": list(measures),
            **kw,
        }
    )


@pytest.fixture
def scenario_factory():
    return make_scenario


@pytest.fixture
def toy_models_importable(monkeypatch):
    """Put the repository and ``tests/`` on PYTHONPATH, so worker processes (a Dask
    LocalCluster's, ``dask worker``) import the package and ``tests/sweep_toy_models``."""
    tests = Path(__file__).resolve().parent
    parts = [str(tests.parent), str(tests)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
    ]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(parts))


#: months of the shared short run of every shipped scenario (see ``shipped_runs``)
SHORT_RUN_MONTHS = 24

#: per-step observers of the shared runs: scenario name -> {key: fn(model) -> value}, called
#: after each step; gathered from the ``SHIPPED_RUN_OBSERVERS`` of the collected test modules
#: before any test runs (pytest_collection_finish)
_OBSERVERS: dict = {}


def pytest_collection_finish(session):
    for mod in {getattr(item, "module", None) for item in session.items} - {None}:
        for name, fns in getattr(mod, "SHIPPED_RUN_OBSERVERS", {}).items():
            _OBSERVERS.setdefault(name, {}).update(fns)


class _ShippedRuns:
    """Shipped scenario name -> ``(model, lowest)``: the scenario run with seed 0 for its first
    :data:`SHORT_RUN_MONTHS` months, stepped one month at a time; ``lowest`` is the lowest
    expected price (USD/kg) any agent held after any step. Each scenario runs on first use.

    ``each_step[name]``: after each step, ``(mass-balance residual relative to
    max(1, largest cumulative production), lowest stock quantity of any agent)``;
    ``observed[name][key]``: after each step, the value of a test module's observer (a
    module sets ``SHIPPED_RUN_OBSERVERS = {name: {key: fn}}``; ``fn(model)`` must not change
    the model)."""

    def __init__(self):
        self._runs = {}
        self.each_step = {}
        self.observed = {}

    def __getitem__(self, name):
        if name not in self._runs:
            import numpy as np

            from abm.model import RareEarthModel

            m = RareEarthModel(name, seed=0, months=SHORT_RUN_MONTHS)
            lowest = np.inf
            steps = []
            observers = _OBSERVERS.get(name, {})
            observed = self.observed[name] = {key: [] for key in observers}
            for _ in range(SHORT_RUN_MONTHS):
                m.step()
                for key, fn in observers.items():
                    observed[key].append(fn(m))
                lowest = min(
                    lowest, min(min(a.exp_price.values(), default=np.inf) for a in m.agents)
                )
                steps.append(
                    (
                        float(np.abs(m.mass_balance()).max() / max(1.0, float(m.produced.max()))),
                        min(s.qty for a in m.agents for s in a.stocks.values()),
                    )
                )
            self.each_step[name] = steps
            self._runs[name] = (m, lowest)
        return self._runs[name]


@pytest.fixture(scope="session")
def shipped_runs():
    """One short run of each shipped scenario, shared by the tests that check every scenario
    (tests/test_sourcing.py: no price at a guard; tests/test_scenarios_library.py: mass
    balance) and by tests that need seed 0 of one scenario to at most 24 months
    (tests/test_model.py: baseline stability, floor and offtake prices, mass balance after
    each step, determinism, the recorded metrics; tests/test_investment.py: the hurdle under
    a price guarantee, entrants; tests/test_reproduce.py: the floor and offtake), so each
    scenario runs once per session instead of once per check. Read-only: a test must not
    step or change these models."""
    return _ShippedRuns()


@pytest.fixture(scope="session")
def dask_address():
    """The scheduler address of one Dask LocalCluster shared by the tests that run on Dask
    (``run(..., backend="dask", address=dask_address)``): two single-threaded worker
    processes on 127.0.0.1 that import the package and ``tests/sweep_toy_models``, set up as
    ``open_backend`` does with ``retries = 1`` (``allowed-failures`` 1: a task that kills two
    workers is ``KilledWorker``; one task per worker; little idle work); the toy
    models do not sleep there (``SWEEP_TOY_SLEEP`` 0). Starting
    a cluster costs seconds; sharing it keeps the default run fast."""
    import logging

    import dask
    from distributed import LocalCluster

    from experiments.sweep.backends import local_cluster_config

    tests = Path(__file__).resolve().parent
    path = os.pathsep.join(
        [str(tests.parent), str(tests)]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    with dask.config.set(local_cluster_config(retries=1)):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
            env={"PYTHONPATH": path, "SWEEP_TOY_SLEEP": "0"},
        )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
