"""What Reset builds a model from (:class:`Settings`) and the sidebar that edits it
(:func:`SettingsPanel`), both generated from :class:`abm.scenario.Levers`.

Every field of ``Levers`` becomes a field of :class:`Settings` (``start`` is called
``lever_start``) and, by its type, a control (:func:`lever_controls`):

* ``float | None`` with ``low``/``high`` in ``json_schema_extra``: a checkbox ("as scheduled"
  when off) and a slider over ``[low, high]``;
* ``float`` or ``int`` with ``low``/``high``: a slider over ``[low, high]``;
* ``bool | None``: as scheduled / on / off;
* ``str`` or ``str | None``: a month of the scenario's horizon (``Levers`` validates its text
  fields as months), ``none`` for ``None``.

Bounds and units come from the field (``json_schema_extra``: ``unit``, ``low``, ``high``); a
fraction or a 0-1 probability is shown in % (scale 100). :data:`PRESENTATION` only shortens
labels and picks slider steps and the value a ticked checkbox starts from; a lever without an
entry gets its label from its description and a step of about 1/100 of its range, so a new
lever appears without editing the UI. Fields of other types (a list) are listed in
:data:`NOT_SHOWN` with the reason; a test checks that every field is one or the other.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import reacton.ipyvuetify as rv
import solara

from abm.scenario import Levers, ScenarioError, load_scenario, shipped_scenarios

log = logging.getLogger("ree.app")

DEFAULT_SCENARIO = "controls-2025"
SETTING_OF = {"start": "lever_start"}  # Levers field -> Settings field, where they differ
#: Levers fields without a control, with the reason (scenario values pass through unchanged).
NOT_SHOWN = {
    "licence_elements": "a list of elements: set it in the scenario file or with "
    "`ree run --set levers.licence_elements=...`",
}


@dataclass(frozen=True)
class Look:
    """How a lever is presented (none of it changes the model): short label, slider step in
    UI units, the value (model units) a ticked checkbox starts from, a note under the control,
    the CSS class of a toggle or select, and the setting that must be set to enable it."""

    label: str | None = None
    step: float | None = None
    default: float | None = None
    note: str = ""
    css: str | None = None
    enabled_by: str | None = None


PRESENTATION: dict[str, Look] = {
    "start": Look("Levers take effect from"),
    "us_tariff_on_china": Look("US tariff on China", 5, 1.45),
    "approval_rate_allies": Look(
        "Licence approval, allies", 5, 0.6, note="China's approval rate for JP, EU, KR, AU"
    ),
    "approval_rate_us": Look("Licence approval, US", 5, 0.45),
    "defense_end_use_denial": Look("Defense end-use denial", css="ree-denial"),
    "licence_review_months": Look(
        "Licence review delay", 0.5, 2.0, note="mean review of China's export-licence applications"
    ),
    "truce_start": Look("Truce start (US-China tariffs)"),
    "truce_months": Look("Truce length", 1, enabled_by="truce_start"),
    "ndpr_price_floor": Look("NdPr price floor", 5, 110.0, note="US floor for NdPr oxide"),
    "stockpile_target_months": Look(
        "Stockpile target", 1, 6.0, note="allied strategic stockpile, months of use"
    ),
    "substitution_speed": Look("Substitution speed", 0.25),
}


@dataclass(frozen=True)
class Control:
    """One sidebar control for the ``Levers`` field ``field`` (``setting``: its
    :class:`Settings` name). ``kind``: ``optional`` (checkbox + slider), ``float``, ``int``,
    ``switch`` (as scheduled/on/off) or ``month``. Slider bounds ``lo``/``hi`` and ``step`` are
    in UI units (model value x ``scale``); ``default`` is in model units."""

    field: str
    setting: str
    kind: str
    label: str
    description: str
    unit: str = ""
    scale: float = 1.0
    lo: float = 0.0
    hi: float = 0.0
    step: float = 1.0
    default: float = 0.0
    optional: bool = False
    note: str = ""
    css: str = ""
    enabled_by: str | None = None


def _base_type(annotation) -> tuple[Any, bool]:
    """(type, accepts None) of a field annotation such as ``float | None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        base = args[0] if len(args) == 1 else annotation
        return base, len(args) < len(typing.get_args(annotation))
    return annotation, False


def _nice_step(span: float) -> float:
    """About 1/100 of ``span``, rounded to 1, 2 or 5 times a power of ten."""
    raw = span / 100
    p = 10 ** math.floor(math.log10(raw))
    return next(k * p for k in (1, 2, 5, 10) if k * p >= raw)


def _label(description: str) -> str:
    head = description.split(",")[0].split(" (")[0].strip()
    return head[:1].upper() + head[1:]


def lever_controls(levers: type[Levers] = Levers) -> list[Control]:
    """The controls for ``levers``' fields in their order (fields in :data:`NOT_SHOWN` or
    of another type are left out). Raises ``ValueError`` if a numeric field lacks ``low`` or
    ``high`` in its ``json_schema_extra`` (no bounds: no slider) or ``low >= high``."""
    out = []
    for name, f in levers.model_fields.items():
        if name in NOT_SHOWN:
            continue
        look = PRESENTATION.get(name, Look())
        desc = f.description or name.replace("_", " ")
        base, optional = _base_type(f.annotation)
        common = dict(
            field=name,
            setting=SETTING_OF.get(name, name),
            description=desc,
            label=look.label or _label(desc),
            optional=optional,
            css=look.css or "ree-" + SETTING_OF.get(name, name).replace("_", "-"),
            enabled_by=look.enabled_by,
        )
        if base is bool:
            out.append(Control(kind="switch", **common))
        elif base is str:
            out.append(Control(kind="month", **common))
        elif base in (int, float):
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            if "low" not in extra or "high" not in extra:
                raise ValueError(
                    f"abm/scenario.py: Levers.{name} has no json_schema_extra "
                    "low/high (the UI slider's bounds)"
                )
            unit = str(extra.get("unit", ""))
            lo, hi = float(extra["low"]), float(extra["high"])
            if not lo < hi:
                raise ValueError(
                    f"abm/scenario.py: Levers.{name} json_schema_extra low {lo:g} "
                    f"is not below high {hi:g}"
                )
            percent = unit == "fraction" or (unit == "-" and hi <= 1)
            scale = 100.0 if percent else 1.0
            step = look.step if look.step is not None else _nice_step((hi - lo) * scale)
            if base is int:
                step = max(1, round(step))
            default = look.default if look.default is not None else (lo + hi) / 2
            kind = "optional" if optional else base.__name__
            out.append(
                Control(
                    kind=kind,
                    unit="%" if percent else unit,
                    scale=scale,
                    lo=lo * scale,
                    hi=hi * scale,
                    step=step,
                    default=default,
                    note=look.note,
                    **common,
                )
            )
    return out


CONTROLS = lever_controls()
LEVERS = tuple(SETTING_OF.get(k, k) for k in Levers.model_fields if k != "start")


class _SettingsMethods:
    """Methods of :class:`Settings` (its fields are generated from ``Levers``)."""

    LEVERS = LEVERS

    @classmethod
    def for_scenario(cls, name: str, seed: int = 0):
        """The scenario's own lever values (so an untouched UI changes nothing); the levers'
        start month is moved to the scenario's first month if it lies outside the horizon
        (e.g. 2025-04 for a 2009-2016 scenario), so that moving a lever does something.
        Raises :class:`abm.scenario.ScenarioError` for an unknown or invalid scenario."""
        sc = load_scenario(name)
        lv = sc.levers
        first, last, start = (pd.Period(x, freq="M") for x in (sc.start, sc.end, lv.start))
        start = lv.start if first <= start <= last else str(first)
        return cls(
            scenario=name, seed=seed, lever_start=start, **{k: getattr(lv, k) for k in cls.LEVERS}
        )

    def overrides(self) -> dict:
        """Dotted-path overrides for the levers that differ from the scenario's own."""
        lv = load_scenario(self.scenario).levers
        out = {
            f"levers.{k}": getattr(self, k)
            for k in self.LEVERS
            if getattr(self, k) != getattr(lv, k)
        }
        if self.lever_start != lv.start:
            out["levers.start"] = self.lever_start
        return out

    def levers_moved(self) -> bool:
        """Whether any lever differs from the scenario (its start month alone does not count)."""
        return any(k != "levers.start" for k in self.overrides())


def _settings_field(name: str, f) -> tuple:
    value = f.get_default(call_default_factory=True)
    if isinstance(value, (list, dict, set)):
        return (name, f.annotation, dataclasses.field(default_factory=lambda: type(value)(value)))
    return (name, f.annotation, dataclasses.field(default=value))


Settings = dataclasses.make_dataclass(
    "Settings",
    [
        ("scenario", str, dataclasses.field(default=DEFAULT_SCENARIO)),
        ("seed", int, dataclasses.field(default=0)),
        *[
            _settings_field(SETTING_OF.get(k, k), f)
            for k, f in Levers.model_fields.items()
            if k != "start"
        ],
        _settings_field("lever_start", Levers.model_fields["start"]),
    ],
    bases=(_SettingsMethods,),
    frozen=True,
    module=__name__,
)
Settings.__doc__ = """What Reset builds a model from: scenario, seed and every field of
    :class:`abm.scenario.Levers` (``None``: as scheduled; ``start`` is ``lever_start``, the
    month the levers take effect). Units as in ``Levers``: tariff and approval rates are
    fractions (1.45 = 145%), the price floor USD/kg, the stockpile target months of use."""


# ------------------------------------------------------------------------------- controls
@solara.component
def OptionalLever(
    name: str,
    label: str,
    value: float | None,
    on_value: Callable,
    lo: float,
    hi: float,
    step: float,
    unit: str,
    scale: float = 1.0,
    default: float = 0.0,
    note: str = "",
):
    """A lever that is either "as scheduled" (None) or set to a number (checkbox + slider)."""
    on = value is not None
    shown = (value if on else default) * scale
    text = f"{shown:,.{0 if step >= 1 else 2}f} {unit}" if on else "as scheduled"
    with solara.Column(gap="0px", classes=["ree-lever"]):
        rv.Checkbox(
            label=f"{label}: {text}",
            v_model=on,
            dense=True,
            hide_details=True,
            class_=f"ree-set-{name}",
            on_v_model=lambda flag: on_value(default if flag else None),
        )
        rv.Slider(
            v_model=shown,
            min=lo,
            max=hi,
            step=step,
            dense=True,
            hide_details=True,
            disabled=not on,
            thumb_label=True,
            class_=f"ree-lever-{name}",
            on_v_model=lambda x: on_value(float(x) / scale),
        )
        if note:
            solara.Text(note, classes=["ree-muted"])


def _unit_text(x: float, unit: str, fmt: str) -> str:
    return f"{x:{fmt}}{'' if unit in ('', 'x') else ' '}{unit}"


def add_control(c: Control, st, set_: Callable, months: list[str]) -> None:
    """Add the control ``c`` for the settings ``st`` to the current container
    (``set_(**changes)`` updates the settings; ``months``: the scenario's horizon)."""
    value = getattr(st, c.setting)

    def put(x):
        set_(**{c.setting: x})

    disabled = c.enabled_by is not None and getattr(st, c.enabled_by) is None
    if c.kind == "optional":
        OptionalLever(
            c.field,
            c.label,
            value,
            put,
            c.lo,
            c.hi,
            c.step,
            c.unit,
            scale=c.scale,
            default=c.default,
            note=c.note,
        )
    elif c.kind == "switch":
        states = {None: "as scheduled", True: "on", False: "off"}
        if not c.optional:
            states.pop(None)
        solara.Text(c.label, classes=["ree-muted"], style="margin-top: 8px")
        solara.ToggleButtonsSingle(
            value=states[value],
            values=list(states.values()),
            on_value=lambda x: put({"on": True, "off": False}.get(x)),
            dense=True,
            classes=[c.css],
        )
    elif c.kind == "month":
        values = (["none"] if c.optional else []) + months
        solara.Select(
            c.label,
            values=values,
            value=value or "none",
            dense=True,
            classes=[c.css],
            on_value=lambda x: put(None if x == "none" else x),
        )
    elif c.kind == "int":
        solara.SliderInt(
            f"{c.label}: {_unit_text(value, c.unit, 'd')}",
            value=value,
            min=int(c.lo),
            max=int(c.hi),
            step=int(c.step),
            on_value=lambda x: put(int(x)),
            disabled=disabled,
        )
    else:  # float
        solara.SliderFloat(
            f"{c.label}: {_unit_text(value * c.scale, c.unit, '.2f')}",
            value=value * c.scale,
            min=c.lo,
            max=c.hi,
            step=c.step,
            on_value=lambda x: put(float(x) / c.scale),
            disabled=disabled,
        )
        if c.note:
            solara.Text(c.note, classes=["ree-muted"])


@solara.component
def SettingsPanel(pending: solara.Reactive, active, reset: Callable, build_error: str | None):
    """Scenario, seed and the levers (one control per :data:`CONTROLS`); applied by Reset."""
    st = pending.value

    def set_(**kw):
        pending.value = dataclasses.replace(pending.value, **kw)

    def pick_scenario(name):
        try:
            pending.value = Settings.for_scenario(name, seed=pending.value.seed)
        except ScenarioError as exc:  # pragma: no cover - shipped scenarios are valid
            log.warning("cannot load scenario %s: %s", name, exc)

    sc = load_scenario(st.scenario)
    months = [str(p) for p in pd.period_range(sc.start, sc.end, freq="M")]
    solara.Select(
        "Scenario",
        values=shipped_scenarios(),
        value=st.scenario,
        on_value=pick_scenario,
        dense=True,
        classes=["ree-scenario"],
    )
    solara.Text(sc.description.split(". ")[0].strip() + ".", classes=["ree-muted"])
    solara.InputInt(
        "Seed",
        value=st.seed,
        on_value=lambda x: set_(seed=int(x or 0)),
        dense=True,
        classes=["ree-seed"],
    )
    solara.Markdown(
        "**Levers**: on top of the scenario's measures; *as scheduled* leaves "
        "the scenario's timeline alone",
        style="font-size: 13px; margin-top: 8px",
    )
    for c in CONTROLS:
        add_control(c, st, set_, months)
    with solara.Row(style="margin-top: 8px; align-items: center"):
        solara.Button(
            "Reset",
            icon_name="mdi-restore",
            color="primary",
            on_click=reset,
            classes=["ree-reset-side"],
        )
        solara.Button(
            "Scenario defaults", text=True, small=True, on_click=lambda: pick_scenario(st.scenario)
        )
    if st != active:
        solara.Info("Changed: press Reset to rebuild the model with these settings.", dense=True)
    if build_error:
        solara.Error(build_error, dense=True)


__all__ = [
    "CONTROLS",
    "DEFAULT_SCENARIO",
    "NOT_SHOWN",
    "PRESENTATION",
    "Control",
    "Look",
    "Settings",
    "SettingsPanel",
    "lever_controls",
]
