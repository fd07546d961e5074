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

Everything here is importable on workers: the worker side resolves the same reference string
and caches the resolved handle and loaded scenarios per process.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    """

    ref: str
    evaluate: Callable[..., Any]
    space_fn: Callable[[], dict[str, dict]] | None = None
    outcomes_fn: Callable[[], dict[str, str]] | None = None
    loader: Callable[[str], Any] | None = None
    _scenarios: dict[str, Any] = field(default_factory=dict, repr=False)

    def parameter_space(self) -> dict[str, dict] | None:
        """Return {dotted path: info dict}, or None when the model does not declare one."""
        return None if self.space_fn is None else dict(self.space_fn())

    def outcomes(self) -> dict[str, str] | None:
        """Return {outcome name: description}, or None when the model does not declare them."""
        return None if self.outcomes_fn is None else dict(self.outcomes_fn())

    def load_scenario(self, name: str) -> Any:
        """Load (and cache per process) the base scenario ``name``; pass-through without loader."""
        if self.loader is None:
            return name
        if name not in self._scenarios:
            self._scenarios[name] = self.loader(name)
        return self._scenarios[name]


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
        loader=scenario_mod.load_scenario,
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
            raise ModelError(
                f"model = {ref!r}: expected 'abm' or 'package.module:function'"
            )
        mod_name, func_name = ref.split(":")
        try:
            module = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ModelError(f"model = {ref!r}: cannot import module {mod_name!r}: {exc}") from exc
        func = getattr(module, func_name, None)
        if func is None or not callable(func):
            raise ModelError(
                f"model = {ref!r}: module {mod_name!r} has no callable {func_name!r}"
            )
        space = _lookup(func, module, "parameter_space", "PARAMETER_SPACE")
        outs = _lookup(func, module, "OUTCOMES", "outcomes")
        loader = _lookup(func, module, "load_scenario")
        handle = ModelHandle(
            ref=ref,
            evaluate=func,
            space_fn=None if space is None else (space if callable(space) else (lambda s=space: s)),
            outcomes_fn=None
            if outs is None
            else (lambda o=outs: _describe_outcomes(o() if callable(o) else o)),
            loader=loader if callable(loader) else None,
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
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
