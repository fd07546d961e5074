"""Reproduction profiles: which variants run, for how many months, with how many seeds
(``quick`` and ``full``)."""

from __future__ import annotations

from dataclasses import dataclass

from experiments.reproduce.variants import VARIANTS


@dataclass(frozen=True)
class Profile:
    """Which variants run, for how many months, with how many seeds.

    Attributes:
        name: ``quick`` or ``full`` (or a custom name).
        seeds: default replicates per variant.
        months: variant name -> months to simulate (None: the scenario horizon).
    """

    name: str
    seeds: int
    months: dict[str, int | None]


PROFILES: dict[str, Profile] = {
    # --quick: every target and figure on shorter horizons and 5 seeds (about 3-4 minutes
    # on 2 shared cores: 181 s on 2026-12-06)
    "quick": Profile(
        "quick",
        5,
        {
            "embargo-2010": 60,
            "embargo-2010/no-quotas": 60,  # 2009-01..2013-12
            "controls-2025": 84,
            "controls-2025/no-floor": 72,
            "no-controls": 84,  # to 2030-12/2029-12
            "baseline": 84,
            "escalation-2026": 84,
            "allied-response": 84,
            "substitution-recycling": 84,
        },
    ),
    # the paper: full horizons, 20 seeds, and the extra counterfactual of the halt to Japan
    "full": Profile("full", 20, {name: None for name in VARIANTS}),
}
