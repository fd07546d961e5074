"""Shared fixtures: small scenarios built in code."""

import pytest

from abm.scenario import scenario_from_dict


def make_scenario(measures=(), months_end="2024-12", **kw):
    """A 2024 scenario with the given measures (dicts) ending at ``months_end``."""
    return scenario_from_dict({"name": kw.pop("name", "test"), "start": "2024-01",
                               "end": months_end, "measures": list(measures), **kw})


@pytest.fixture
def scenario_factory():
    return make_scenario
