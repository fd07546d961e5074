"""Shared fixtures: small scenarios built in code; worker processes that import the toy
sweep models."""

import os
from pathlib import Path

import pytest

from abm.scenario import scenario_from_dict


def make_scenario(measures=(), months_end="2024-12", **kw):
    """A 2024 scenario with the given measures (dicts) ending at ``months_end``."""
    return scenario_from_dict({"name": kw.pop("name", "test"), "start": "2024-01",
                               "end": months_end, "measures": list(measures), **kw})


@pytest.fixture
def scenario_factory():
    return make_scenario


@pytest.fixture
def toy_models_importable(monkeypatch):
    """Put the repository and ``tests/`` on PYTHONPATH, so worker processes (spawned,
    forkserver, ``dask worker``) import the package and ``tests/sweep_toy_models``."""
    tests = Path(__file__).resolve().parent
    parts = [str(tests.parent), str(tests)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(parts))


#: months of the shared short run of every shipped scenario (see ``shipped_runs``)
SHORT_RUN_MONTHS = 24


class _ShippedRuns:
    """Shipped scenario name -> ``(model, lowest)``: the scenario run with seed 0 for its first
    :data:`SHORT_RUN_MONTHS` months, stepped one month at a time; ``lowest`` is the lowest
    expected price (USD/kg) any agent held after any step. Each scenario runs on first use."""

    def __init__(self):
        self._runs = {}

    def __getitem__(self, name):
        if name not in self._runs:
            import numpy as np

            from abm.model import RareEarthModel

            m = RareEarthModel(name, seed=0, months=SHORT_RUN_MONTHS)
            lowest = np.inf
            for _ in range(SHORT_RUN_MONTHS):
                m.step()
                lowest = min(lowest,
                             min(min(a.exp_price.values(), default=np.inf) for a in m.agents))
            self._runs[name] = (m, lowest)
        return self._runs[name]


@pytest.fixture(scope="session")
def shipped_runs():
    """One short run of each shipped scenario, shared by the tests that check every scenario
    (tests/test_sourcing.py: no price at a guard; tests/test_scenarios_library.py: mass
    balance), so each scenario runs once per session instead of once per check."""
    return _ShippedRuns()


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``-n 2 --dist loadgroup``): tests that share an expensive module-
    or session-scoped fixture defined in ``tests/`` go to one worker (an ``xdist_group``
    mark), so the fixture is built once, not once per worker. Without xdist: nothing."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    import inspect

    tests = Path(__file__).resolve().parent
    parent = {}

    def find(k):
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    keys_of = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        keys = []
        for name in getattr(info, "names_closure", ()):
            defs = info.name2fixturedefs.get(name)
            if not defs or defs[-1].scope not in ("module", "session"):
                continue
            d = defs[-1]
            try:
                src = Path(inspect.getsourcefile(d.func)).resolve()
            except TypeError:
                continue
            if src.parent != tests:
                continue             # plugin fixtures (tmp_path_factory, worker_id, ...)
            keys.append(f"{src.name}::{name}" if d.scope == "module" else name)
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
        keys_of[item] = keys
    for item, keys in keys_of.items():
        if keys:
            item.add_marker(pytest.mark.xdist_group(find(keys[0])))
