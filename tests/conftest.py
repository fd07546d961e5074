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
