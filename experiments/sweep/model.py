"""Model entry points for sweeps.

A sweep spec names its model with ``model = "abm"`` (the default: the project's model, through
:func:`abm.outcomes.evaluate` and :func:`abm.scenario.parameter_space`) or
``model = "package.module:function"`` for any callable with the same signature as
``abm.outcomes.evaluate``::

    evaluate(scenario, *, overrides=None, seed=0, months=None, outcomes=None,
             keep_timeseries=False) -> tuple[dict[str, float], pandas.DataFrame | None]

For a ``module:function`` model the adapter also looks, first on the function and then on its
module, for

* ``parameter_space``: a dict (or a zero-argument callable returning one) mapping every
  overridable dotted path to ``{"type", "default", "low", "high", "levels", ...}`` as
  :func:`abm.scenario.parameter_space` does. Without it, unknown parameter names cannot be
  rejected before running.
* ``OUTCOMES``: a dict (name -> object with ``.unit``/``.description``, or a str) or a list of
  outcome names. Without it, unknown outcome names cannot be rejected before running.
* ``load_scenario``: ``load_scenario(name_or_path) -> scenario`` object passed to the function.
  Without it the scenario string itself is passed.
* ``apply_overrides`` (an attribute of the function only): ``apply_overrides(scenario,
  overrides) -> scenario``, raising for a bad value. With it the spec's constants and levels
  are checked against the base scenario before anything runs, and levers may name a field of
  a scenario measure, ``measures.<id>.<field>`` (as for ``model = "abm"``).
* ``check_outcomes`` (an attribute of the function only): ``check_outcomes(scenario,
  months, outcomes) -> {outcome: why}`` for outcomes that runs of ``months`` months cannot
  compute; the plan refuses them (``experiments.reproduce:sweep_evaluate`` declares it for
  its checks against history).

For ``model = "abm"`` the handle can also check a spec's runs before anything runs
(:meth:`ModelHandle.check_overrides`, :meth:`ModelHandle.check_months`,
:meth:`ModelHandle.check_outcomes`: overrides through :func:`abm.scenario.apply_overrides`,
``months`` through :func:`abm.model.check_months`, outcomes that summarise one calendar year
against the months simulated). For other models these checks are skipped.

Everything here is importable on workers: the worker side resolves the same reference string
and caches the resolved handle and loaded scenarios per process.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from abm.canonical import canonical_json, sha256_hex

__all__ = ["ModelError", "ModelHandle", "resolve_model", "scenario_digest"]


class ModelError(ValueError):
    """The model reference cannot be resolved (bad ``model =`` value or import failure)."""


@dataclass
class ModelHandle:
    """A resolved model entry point.

    Attributes:
        ref: the reference string from the spec (``"abm"`` or ``"pkg.mod:func"``).
        evaluate: the evaluate callable (signature of ``abm.outcomes.evaluate``).
        space_fn: zero-argument callable returning the parameter space, or None if unknown.
        outcomes_fn: zero-argument callable returning {outcome name: description}, or None.
        loader: ``load_scenario(name)`` or None (then the scenario string is passed through).
        override_fn: ``(scenario, overrides) -> scenario`` applying and validating overrides
            (raises for an invalid value), or None.
        months_fn: ``(scenario, months) -> months simulated`` (raises ValueError for months
            outside the scenario horizon), or None.
        outcome_check_fn: ``(scenario, months, outcomes) -> {outcome: why it cannot be
            computed}``, or None.
    """

    ref: str
    evaluate: Callable[..., Any]
    space_fn: Callable[[], dict[str, dict]] | None = None
    outcomes_fn: Callable[[], dict[str, str]] | None = None
    loader: Callable[[str], Any] | None = None
    override_fn: Callable[[Any, dict[str, Any]], Any] | None = None
    months_fn: Callable[[Any, int | None], int] | None = None
    outcome_check_fn: Callable[[Any, int, list[str]], dict[str, str]] | None = None
    _scenarios: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def parameter_space(self) -> dict[str, dict] | None:
        """Return {dotted path: info dict}, or None when the model does not declare one."""
        return None if self.space_fn is None else dict(self.space_fn())

    def outcomes(self) -> dict[str, str] | None:
        """Return {outcome name: description}, or None when the model does not declare them."""
        return None if self.outcomes_fn is None else dict(self.outcomes_fn())

    def load_scenario(self, name: str) -> Any:
        """Load (and cache per process, per data folder: ``REE_DATA_DIR``) the base scenario
        ``name``; pass-through without loader."""
        if self.loader is None:
            return name
        from abm.data import DATA_ENV

        key = (name, os.environ.get(DATA_ENV, ""))
        if key not in self._scenarios:
            self._scenarios[key] = self.loader(name)
        return self._scenarios[key]

    def check_overrides(self, scenario: Any, overrides: dict[str, Any]) -> Any:
        """Apply ``overrides`` to a loaded scenario and return it (the scenario unchanged when
        the model cannot check overrides). Raises whatever the model raises for a bad value."""
        return scenario if self.override_fn is None else self.override_fn(scenario, overrides)

    def check_months(self, scenario: Any, months: int | None) -> int | None:
        """The months a run simulates (None when unknown). Raises ValueError (naming the
        allowed range) when ``months`` is outside the scenario horizon."""
        return months if self.months_fn is None else self.months_fn(scenario, months)

    def check_outcomes(
        self, scenario: Any, months: int | None, outcomes: list[str]
    ) -> dict[str, str]:
        """{outcome: reason} for outcomes that runs of ``months`` months cannot compute
        (``months`` None: the scenario's horizon, for a model function that declares
        ``check_outcomes``)."""
        if self.outcome_check_fn is None:
            return {}
        return self.outcome_check_fn(scenario, months, list(outcomes))


def _describe_outcomes(obj: Any) -> dict[str, str]:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, str):
                out[str(k)] = v
            else:
                unit = getattr(v, "unit", "")
                desc = getattr(v, "description", "")
                out[str(k)] = f"{desc} [{unit}]" if unit else str(desc)
        return out
    return {str(k): "" for k in obj}


def _lookup(func: Any, module: Any, *names: str) -> Any:
    for holder in (func, module):
        for name in names:
            if holder is not None and hasattr(holder, name):
                return getattr(holder, name)
    return None


def _abm_months(scenario: Any, months: int | None) -> int:
    from abm.timeline import check_months

    return check_months(scenario, months, minimum=1, name="months")


def run_span(scenario: Any, months: int | None) -> tuple[Any, Any, int]:
    """``(first, last, months)`` of runs of ``months`` months from the scenario's start
    (None: its horizon, ``scenario.months``): the first and last simulated months
    (:class:`pandas.Period`, monthly) and the number of months, for the checks of outcomes
    that read particular months (:meth:`ModelHandle.check_outcomes`)."""
    from abm.timeline import to_month

    if months is None:
        months = scenario.months
    first = to_month(scenario.start)
    return first, first + (months - 1), months


def _abm_outcome_check(scenario: Any, months: int | None, outcomes: list[str]) -> dict[str, str]:
    """Outcomes with a ``year`` need the runs to cover the whole of that calendar year."""
    from abm.outcomes import OUTCOMES
    from abm.timeline import months_between, to_month

    first, last, months = run_span(scenario, months)
    out: dict[str, str] = {}
    for name in outcomes:
        year = getattr(OUTCOMES.get(name), "year", None)
        if year is None:
            continue
        jan, dec = to_month(f"{year}-01"), to_month(f"{year}-12")
        if first <= jan and last >= dec:
            continue
        covered = max(0, months_between(max(first, jan), min(last, dec)) + 1)
        what = (
            "would be NaN in every run"
            if covered == 0
            else f"would average only {covered} of its 12 months"
        )
        if first > jan:
            fix = f"drop it, or use a scenario that starts by {year}-01"
        else:
            need = months_between(first, dec) + 1
            fix = (
                f"set months = {need} or more, or drop the outcome"
                if need <= scenario.months
                else f"the scenario ends in {scenario.end}: drop the outcome or use a "
                f"scenario that runs through {year}-12"
            )
        out[name] = (
            f"{name!r} is the mean of {year}, but the runs cover {first} to {last} "
            f"(months = {months}), so it {what}; {fix}"
        )
    return out


def load_checked_scenario(name: str) -> Any:
    """``abm.scenario.load_scenario``, reading a file as UTF-8 with or without a byte-order
    mark (see :func:`experiments.inputs.load_scenario_input`); the model's data tables are
    checked too (:func:`abm.data.check_tables`), so a bad table stops the plan, not every run.
    The loader of ``model = "abm"`` and of the reproduction model
    (``experiments.reproduce:sweep_evaluate``).

    Raises:
        abm.scenario.ScenarioError: unknown name, unreadable file or invalid content.
        abm.data.DataError: a data table (shipped or in ``REE_DATA_DIR``) fails validation.
    """
    from abm.data import check_tables

    from ..inputs import load_scenario_input

    check_tables()  # first: a scenario's measures read the tables, each would repeat the error
    return load_scenario_input(name)


def _abm_handle() -> ModelHandle:
    try:
        outcomes_mod = importlib.import_module("abm.outcomes")
        scenario_mod = importlib.import_module("abm.scenario")
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        raise ModelError(
            f"model = 'abm' needs abm.outcomes and abm.scenario, which failed to import: {exc}"
        ) from exc
    return ModelHandle(
        ref="abm",
        evaluate=outcomes_mod.evaluate,
        space_fn=scenario_mod.parameter_space,
        outcomes_fn=lambda: _describe_outcomes(outcomes_mod.OUTCOMES),
        loader=load_checked_scenario,
        override_fn=scenario_mod.apply_overrides,
        months_fn=_abm_months,
        outcome_check_fn=_abm_outcome_check,
    )


_HANDLES: dict[str, ModelHandle] = {}


def resolve_model(ref: str) -> ModelHandle:
    """Resolve a model reference to a :class:`ModelHandle` (cached per process).

    Args:
        ref: ``"abm"`` or ``"package.module:function"``.

    Raises:
        ModelError: malformed reference, module not importable, or attribute missing/not callable.
    """
    if ref in _HANDLES:
        return _HANDLES[ref]
    if ref == "abm":
        handle = _abm_handle()
    else:
        if ref.count(":") != 1 or not all(ref.split(":")):
            raise ModelError(f"model = {ref!r}: expected 'abm' or 'package.module:function'")
        mod_name, func_name = ref.split(":")
        try:
            module = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ModelError(f"model = {ref!r}: cannot import module {mod_name!r}: {exc}") from exc
        func = getattr(module, func_name, None)
        if func is None or not callable(func):
            raise ModelError(f"model = {ref!r}: module {mod_name!r} has no callable {func_name!r}")
        space = _lookup(func, module, "parameter_space", "PARAMETER_SPACE")
        outs = _lookup(func, module, "OUTCOMES", "outcomes")
        loader = _lookup(func, module, "load_scenario")
        override = _lookup(func, None, "apply_overrides")
        outcome_check = _lookup(func, None, "check_outcomes")
        handle = ModelHandle(
            ref=ref,
            evaluate=func,
            space_fn=None if space is None else (space if callable(space) else (lambda s=space: s)),
            outcomes_fn=None
            if outs is None
            else (lambda o=outs: _describe_outcomes(o() if callable(o) else o)),
            loader=loader if callable(loader) else None,
            override_fn=override if callable(override) else None,
            outcome_check_fn=outcome_check if callable(outcome_check) else None,
        )
    _HANDLES[ref] = handle
    return handle


def scenario_digest(handle: ModelHandle, scenario: str) -> str:
    """Content hash (sha256 hex, 16 chars) of the resolved base scenario.

    A pydantic scenario is hashed through ``model_dump(mode="json")``, so editing a shipped
    scenario changes the digest (and hence the spec hash and every run id). A pass-through
    scenario (no loader) is hashed by its name.

    Raises:
        whatever the model's ``load_scenario`` raises for an unknown scenario.
    """
    obj = handle.load_scenario(scenario)
    if hasattr(obj, "model_dump"):
        payload: Any = obj.model_dump(mode="json")
    elif isinstance(obj, (dict, list, str, int, float, bool)) or obj is None:
        payload = obj
    else:
        payload = repr(obj)
    return sha256_hex(canonical_json(payload, ascii=True, default=str))[:16]
