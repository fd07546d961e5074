"""Seeds and content-hashed run ids.

Every run draws its random numbers from ``numpy.random.SeedSequence(seed_root, spawn_key=key)``
where ``key`` is ``(design_row, rep)`` (scheme ``independent``) or ``(rep,)`` (scheme ``crn``:
common random numbers, shared by every design row). A run's stream is rebuilt from its key
alone, so results do not depend on run order, chunking, worker count or backend.

A run id is the first 16 hex digits (64 bits) of the sha256 of the canonical JSON of everything
that determines the run's output: model reference, base-scenario digest, horizon, outcome names,
whether a time series is kept, the full override set (varying parameters and constants) and the
seed (root and spawn key). Identical runs therefore share an id across specs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from abm.canonical import canonical_json, sha256_hex

__all__ = ["canonical_value", "make_seed_sequence", "run_id", "seed_int", "spawn_key"]


def spawn_key(scheme: str, design_row: int, rep: int) -> tuple[int, ...]:
    """Spawn key for a run: ``(design_row, rep)`` for ``independent``, ``(rep,)`` for ``crn``.

    Raises:
        ValueError: unknown scheme (allowed: independent, crn).
    """
    if scheme == "independent":
        return (int(design_row), int(rep))
    if scheme == "crn":
        return (int(rep),)
    raise ValueError(f"seed_scheme: unknown {scheme!r}; allowed: independent, crn")


def make_seed_sequence(root: int, key: Iterable[int]) -> np.random.SeedSequence:
    """``SeedSequence(root, spawn_key=tuple(key))``."""
    return np.random.SeedSequence(int(root), spawn_key=tuple(int(k) for k in key))


def seed_int(root: int, key: Iterable[int]) -> int:
    """A 64-bit integer summary of the run's seed, for humans and logs (uint64)."""
    return int(make_seed_sequence(root, key).generate_state(1, np.uint64)[0])


def canonical_value(v: Any) -> Any:
    """Convert numpy scalars to plain Python (bool, int, float, str) for hashing and overrides.

    Raises:
        ValueError: a non-finite float (NaN/inf cannot identify a run).
    """
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"non-finite parameter value {f}")
        return f
    if isinstance(v, (list, tuple)):
        return [canonical_value(x) for x in v]
    return v


def run_id(
    *,
    model: str,
    scenario_digest: str | None,
    months: int | None,
    outcomes: Iterable[str],
    keep_timeseries: bool,
    overrides: dict[str, Any],
    seed_root: int,
    key: Iterable[int],
) -> str:
    """Content hash (16 hex digits) identifying one run; see the module docstring."""
    payload = {
        "v": 1,
        "model": model,
        "scenario": scenario_digest,
        "months": months,
        "outcomes": sorted(outcomes),
        "timeseries": bool(keep_timeseries),
        "overrides": {k: canonical_value(v) for k, v in sorted(overrides.items())},
        "seed": {"root": int(seed_root), "spawn_key": [int(k) for k in key]},
    }
    return sha256_hex(canonical_json(payload))[:16]
