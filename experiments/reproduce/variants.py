"""Reproduction variants: the shipped scenarios the paper runs, optionally with measures
removed (counterfactuals), and the scenarios of the decoupling study."""

from __future__ import annotations

from dataclasses import dataclass

from abm.scenario import Scenario, load_scenario, scenario_from_dict

DECOUPLING_SCENARIOS = (
    "baseline",
    "controls-2025",
    "escalation-2026",
    "allied-response",
    "substitution-recycling",
    "no-controls",
)


@dataclass(frozen=True)
class Variant:
    """A run configuration: a shipped scenario, optionally with measures removed.

    Attributes:
        name: unique name (``scenario`` or ``scenario/counterfactual``).
        scenario: shipped scenario name (or a TOML path).
        drop: measure ids or kinds removed (suspensions of removed measures go too).
        overrides: dotted-path overrides (:func:`abm.scenario.apply_overrides`).
        label: short legend label.
        description: what the variant isolates.
    """

    name: str
    scenario: str
    drop: tuple[str, ...] = ()
    overrides: tuple[tuple[str, object], ...] = ()
    label: str = ""
    description: str = ""


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "embargo-2010",
            "embargo-2010",
            label="2010-11 episode",
            description="the 2009 world with China's duties, quotas, the halt to Japan and the "
            "WTO aftermath",
        ),
        Variant(
            "embargo-2010/no-quotas",
            "embargo-2010",
            drop=("export_quota", "production_quota"),
            label="without quotas",
            description="counterfactual: no export or mining quotas (duties and the halt to "
            "Japan kept)",
        ),
        Variant(
            "embargo-2010/no-halt",
            "embargo-2010",
            drop=("cn_halt_japan_2010",),
            label="without the halt to Japan",
            description="counterfactual: the quotas without the Sep-Nov 2010 halt to Japan",
        ),
        Variant(
            "baseline",
            "baseline",
            label="baseline",
            description="the 2024 world with no new measures",
        ),
        Variant(
            "controls-2025", "controls-2025", label="controls-2025", description="the 2025 timeline"
        ),
        Variant(
            "controls-2025/no-floor",
            "controls-2025",
            drop=("dod_floor",),
            label="without the DoD floor",
            description="counterfactual: the 2025 timeline without the $110/kg NdPr floor and "
            "the magnet offtake (the DoD capital support kept)",
        ),
        Variant(
            "no-controls",
            "no-controls",
            label="no-controls",
            description="counterfactual: the 2025 tariffs without China's licence regime",
        ),
        Variant(
            "escalation-2026",
            "escalation-2026",
            label="escalation-2026",
            description="the October 2025 measures return on 10 Nov 2026; US tariffs",
        ),
        Variant(
            "allied-response",
            "allied-response",
            label="allied-response",
            description="coordinated allied stockpiles, floors, free trade and permits",
        ),
        Variant(
            "substitution-recycling",
            "substitution-recycling",
            label="substitution-recycling",
            description="faster Dy-free and Ce/ferrite substitution and a recycling push",
        ),
    ]
}


def _measure_ids(sc: Scenario) -> dict[str, object]:
    return {m.id: m for m in sc.measures if m.id}


def build_scenario(variant: Variant | str) -> Scenario:
    """The scenario of a variant: the shipped scenario with the variant's measures removed
    (and suspensions whose target was removed) and its overrides applied.

    Raises:
        ScenarioError: unknown scenario or invalid override.
        KeyError: a ``drop`` entry names neither a measure id nor a kind of the scenario.
    """
    from abm.scenario import apply_overrides

    v = VARIANTS[variant] if isinstance(variant, str) else variant
    sc = load_scenario(v.scenario)
    if v.drop:
        known = {m.id for m in sc.measures if m.id} | {m.kind for m in sc.measures}
        missing = [d for d in v.drop if d not in known]
        if missing:
            raise KeyError(
                f"variant {v.name}: {missing} name no measure id or kind of scenario {sc.name}"
            )
        data = sc.model_dump(mode="json")
        kept = [
            m for m in data["measures"] if m["kind"] not in v.drop and m.get("id") not in v.drop
        ]
        ids = {m.get("id") for m in kept}
        kept = [m for m in kept if m["kind"] != "suspension" or m["target_id"] in ids]
        data["measures"] = kept
        data["name"] = v.name
        sc = scenario_from_dict(data, v.name)
    return apply_overrides(sc, dict(v.overrides)) if v.overrides else sc
