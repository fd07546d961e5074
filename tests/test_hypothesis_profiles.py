"""The Hypothesis profiles of ``tests/conftest.py``: "ci" by default (derandomized, no example
database: the same examples on every run, so a rare example cannot fail one CI run at random),
"explore" (random, with the example database) when ``HYPOTHESIS_PROFILE=explore``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parent

#: a fresh process: tests/conftest.py loads the profile, then a @given function (settings as
#: the tests give them) records the examples it was called with
DRAW = """
import json
import conftest
from hypothesis import given, settings, strategies as st

conftest.load_hypothesis_profile()  # as pytest does when it starts (pytest_configure)
from hypothesis.database import DirectoryBasedExampleDatabase

seen = []


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 1e6), st.integers(0, 2**31))
def draw(x, n):
    seen.append([x, n])


draw()
print(json.dumps({
    "derandomize": settings.default.derandomize,
    "database": None if settings.default.database is None else str(
        settings.default.database.path
        if isinstance(settings.default.database, DirectoryBasedExampleDatabase)
        else settings.default.database
    ),
    "seen": seen,
}))
"""


def _draw(tmp_path: Path, profile: str | None) -> dict:
    """:data:`DRAW` in a fresh process run in ``tmp_path`` (any ``.hypothesis`` folder is
    written there) with ``HYPOTHESIS_PROFILE=profile`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    if profile is not None:
        env["HYPOTHESIS_PROFILE"] = profile
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    res = subprocess.run(
        [sys.executable, "-c", DRAW],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture
def ci_only(pytestconfig):
    """Skip a check of the default profile when this run chose another one
    (HYPOTHESIS_PROFILE, or Hypothesis' option --hypothesis-profile)."""
    chosen = {os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    chosen.add(pytestconfig.getoption("hypothesis_profile", None) or "ci")
    if chosen != {"ci"}:
        pytest.skip(f"checks the default profile; this run chose {sorted(chosen - {'ci'})}")


def test_the_default_profile_is_derandomized_without_a_database(ci_only):
    assert settings.default.derandomize is True
    assert settings.default.database is None
    # max_examples and deadline stay Hypothesis' defaults: each test sets its own (@settings)
    assert settings.default.max_examples == 100
    assert settings.default.deadline.total_seconds() == 0.2


def test_a_given_test_draws_the_same_examples_on_every_run(ci_only):
    seen = []

    @settings(max_examples=20, deadline=None)
    @given(st.floats(0.0, 1e6), st.integers(0, 2**31))
    def draw(x, n):
        seen.append((x, n))

    draw()
    first = list(seen)
    seen.clear()
    draw()
    assert len(first) == 20 and seen == first


def test_fresh_processes_draw_the_same_examples_with_the_default_profile(tmp_path):
    a, b = _draw(tmp_path, None), _draw(tmp_path, "ci")
    assert a["derandomize"] is True and a["database"] is None
    assert len(a["seen"]) == 20 and a["seen"] == b["seen"]
    assert not (tmp_path / ".hypothesis" / "examples").exists()  # no example database


def test_the_explore_profile_is_chosen_by_the_environment(tmp_path):
    run = _draw(tmp_path, "explore")
    assert run["derandomize"] is False
    assert run["database"] == str(tmp_path / ".hypothesis" / "examples")
    assert len(run["seen"]) == 20
