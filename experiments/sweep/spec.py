"""Experiment specs: TOML files validated with pydantic, in the exploratory-modelling vocabulary.

A spec names a base scenario, the model parameters that vary (``uncertainties`` and ``levers``:
real, integer, categorical or bool, with ranges or levels), fixed ``constants``, the scalar
``outcomes`` to record, a ``design`` (factorial, LHS, Sobol/Halton QMC, SALib Saltelli, Morris,
FAST), replicates and a seed root. Example::

    name = "tariff-grid"
    scenario = "baseline"
    months = 60
    replicates = 2
    seed_root = 20260101
    outcomes = ["peak_dy_price_outside_china", "us_oem_lost_output_usd"]

    [design]
    method = "factorial"

    [[levers]]
    name = "levers.us_tariff_on_china"
    levels = [0.0, 0.25, 0.5]

    [[uncertainties]]
    name = "parameters.final_demand_elasticity"
    low = -0.6
    high = -0.1

    [[uncertainties]]
    name = "parameters.risk_sensitivity"   # no range given: the model's own [low, high]

    [execution]            # how to run; not part of the spec hash
    backend = "dask"
    workers = 2

Validation happens in two stages, both before anything is written:

1. structure (pydantic): types, ranges (``low < high``), non-empty levels, known design method
   and backend, design sizes;
2. model (:func:`check_against_model`): every parameter exists in the model's
   ``parameter_space()``, lies inside its ``low``/``high`` and levels (a number written as a
   string, ``levels = ["0.5"]``, is refused), every outcome exists, and the base scenario
   loads. For ``model = "abm"`` the model also checks every constant and every level (or
   ``low``/``high``) applied to the base scenario, ``months`` (1 to the scenario horizon) and
   that each outcome's year (``china_content_us_2030``: all of 2030) lies within the months
   simulated.

Every failure is raised as :class:`SpecError` whose message names the offending field (e.g.
``levers[0].high``) and, where there is a closed set, the allowed values. :func:`load_spec`
reports every problem it finds at once, one line each, in the order of the spec's fields:
when the structure is refused, the model still checks the names the spec gives (parameters,
constants, outcomes, model, base scenario); the checks against the base scenario run on the
parts whose names and ranges are right once the structure is.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from abm.canonical import canonical_json as _canonical_json

__all__ = [
    "BACKENDS",
    "DESIGN_METHODS",
    "MAX_RUNS",
    "DesignSpec",
    "DiscoverySpec",
    "ExecutionSpec",
    "ExperimentSpec",
    "Parameter",
    "SpecError",
    "check_against_model",
    "backend_problem",
    "check_backend",
    "load_spec",
    "parse_spec",
]

BACKENDS = ("dask", "sequential")
#: backends of earlier versions, refused with a line saying what to use instead
REMOVED_BACKENDS = ("process", "ray")
DESIGN_METHODS = ("factorial", "oat", "lhs", "sobol", "halton", "saltelli", "morris", "fast")
RESERVED_COLUMNS = frozenset(
    {
        "run_id",
        "design_row",
        "rep",
        "seed_int",
        "status",
        "error_type",
        "error",
        "traceback",
        "wall_s",
        "host",
        "pid",
        "finished_at",
        "attempt",
    }
)

Level = Union[StrictBool, StrictInt, StrictFloat, str]

#: Every spec table: unknown keys, NaN/infinity and conversions refused. As in the scenario
#: schema (:class:`abm.parameters.NumbersModel`), a number written as a string (``months =
#: "2"``) or as a boolean (``replicates = true``), and a boolean written as a string or a
#: number (``scramble = "yes"``), are refused rather than converted.
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

#: Largest plan (design rows x replicates) ``plan``/``run`` accept: a million runs take about
#: two minutes and 0.9 GB to plan, and days to run on one machine (a run of the model takes a
#: second or more). Larger studies are split into several specs.
MAX_RUNS = 1_000_000


class SpecError(ValueError):
    """A spec is invalid. ``problems`` lists (field, message) pairs; str() is one line per
    problem, ``invalid sweep spec <file>: <field>: <message>``."""

    def __init__(self, problems: list[tuple[str, str]] | str, source: str | None = None):
        if isinstance(problems, str):
            problems = [("spec", problems)]
        self.problems = problems
        self.source = source
        head = f"invalid sweep spec {source}" if source else "invalid sweep spec"
        # one self-contained line per problem: the file, the field, what is allowed
        super().__init__("\n".join(f"{head}: {fld}: {msg}" for fld, msg in problems))


def _level_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "str"


class Parameter(BaseModel):
    """One varying model parameter (an uncertainty or a lever).

    Fields:
        name: dotted path in the model's parameter space, e.g. ``"levers.us_tariff_on_china"``.
        type: ``real`` | ``integer`` | ``categorical`` | ``bool``; default: the model's type,
            else ``real``.
        low, high: closed range for real/integer parameters (``low < high``).
        levels: explicit values. Given for a real/integer parameter, the parameter takes only
            these values in every design (sampling designs pick among them uniformly).
            Required for categorical; defaults to ``[false, true]`` for bool.
        center: ``oat`` designs only: the value the parameter holds while another one moves
            (default: the model's default value); inside ``low``/``high`` or one of ``levels``.
    """

    model_config = _STRICT

    name: str = Field(min_length=1)
    type: Literal["real", "integer", "categorical", "bool"] | None = None
    low: StrictInt | StrictFloat | None = None
    high: StrictInt | StrictFloat | None = None
    levels: list[Level] | None = None
    unit: str = ""
    doc: str = ""
    center: Level | None = None

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        t = self.type
        if self.levels is not None:
            if len(self.levels) == 0:
                raise ValueError("empty levels: give at least two values")
            if len({json.dumps(v) for v in self.levels}) != len(self.levels):
                raise ValueError(f"duplicate values in levels {self.levels}")
            if len(self.levels) < 2:
                raise ValueError(
                    f"levels {self.levels} has a single value; a parameter that does not vary "
                    "belongs in [constants]"
                )
            kinds = {_level_kind(v) for v in self.levels}
            if len(kinds) > 1:
                raise ValueError(f"levels {self.levels} mix types {sorted(kinds)}; use one type")
        if t == "bool":
            if self.levels is None:
                self.levels = [False, True]
            elif any(not isinstance(v, bool) for v in self.levels):
                raise ValueError(f"bool parameter levels must be true/false, got {self.levels}")
        if t == "categorical" and self.levels is None:
            raise ValueError("a categorical parameter needs levels = [...]")
        if t in ("real", "integer") or t is None:
            if self.levels is not None:
                if t is not None and any(_level_kind(v) != "number" for v in self.levels):
                    raise ValueError(f"{t} parameter levels must be numbers, got {self.levels}")
                if t == "integer" and any(
                    isinstance(v, float) and not float(v).is_integer() for v in self.levels
                ):
                    raise ValueError(f"integer parameter levels must be whole, got {self.levels}")
            elif (self.low is None) != (self.high is None) or (t is not None and self.low is None):
                missing = "low" if self.low is None else "high"
                raise ValueError(f"{missing} is missing: give low and high, or levels = [...]")
        for bound in ("low", "high"):
            v = getattr(self, bound)
            if v is not None and isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{bound} must be finite, got {v}")
            if t == "integer" and v is not None and not float(v).is_integer():
                raise ValueError(f"{bound} of an integer parameter must be whole, got {v}")
        if self.low is not None and self.high is not None:
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
            if self.low == self.high:
                raise ValueError(
                    f"empty range: low == high == {self.low}; a parameter that does not vary "
                    "belongs in [constants]"
                )
        return self

    @property
    def discrete(self) -> bool:
        """True when the parameter takes only its listed ``levels``."""
        return self.levels is not None

    @property
    def kind(self) -> str:
        """Resolved type (``real`` when neither the spec nor the model say)."""
        return self.type or "real"


class DesignSpec(BaseModel):
    """How parameter values are chosen.

    Fields:
        method: ``factorial`` (itertools product), ``oat`` (one at a time: every parameter at
            its ``center`` and, one parameter at a time, at its low and its high end; 1 + 2D
            rows), ``lhs``/``sobol``/``halton``
            (scipy.stats.qmc), ``saltelli`` (SALib Sobol-index design, N(D+2) rows or N(2D+2)
            with ``second_order``), ``morris`` (N(D+1) rows), ``fast`` (eFAST, N*D rows).
        n: sample size (rows for lhs/sobol/halton; base N for saltelli; trajectories for
            morris; per-parameter N for fast). Not used by factorial and oat.
        levels: points per continuous parameter in a factorial design (default 3).
        seed: design sampler seed; default: the spec's ``seed_root``.
        second_order: saltelli only; also estimate second-order indices.
        num_levels: morris grid levels (even, >= 2).
        M: fast interference parameter; requires n > 4*M**2.
        scramble: scramble the QMC sequences (lhs/sobol/halton).
    """

    model_config = _STRICT

    method: Literal["factorial", "oat", "lhs", "sobol", "halton", "saltelli", "morris", "fast"]
    n: int | None = Field(default=None, ge=1)
    levels: int = Field(default=3, ge=2)
    seed: int | None = Field(default=None, ge=0)
    second_order: bool = False
    num_levels: int = Field(default=4, ge=2)
    M: int = Field(default=4, ge=1)
    scramble: bool = True

    @model_validator(mode="after")
    def _check(self) -> DesignSpec:
        if self.method not in ("factorial", "oat") and self.n is None:
            raise ValueError(f"design method {self.method!r} needs n (the sample size)")
        if self.method == "morris" and self.num_levels % 2:
            raise ValueError(f"num_levels must be even for morris, got {self.num_levels}")
        if self.method == "fast" and self.n is not None and self.n <= 4 * self.M**2:
            raise ValueError(
                f"fast needs n > 4*M**2 = {4 * self.M**2} (M={self.M}), got n={self.n}"
            )
        return self


class DiscoverySpec(BaseModel):
    """A scenario-discovery question answered with PRIM.

    Example: "which levers keep US OEM lost output near zero?"::

        [[discovery]]
        outcome = "us_oem_lost_output_months"
        condition = "<="
        threshold = 0.5
        inputs = "levers"

    Fields:
        outcome: the outcome defining cases of interest.
        condition: ``<=``, ``<``, ``>=`` or ``>`` applied as ``outcome <condition> threshold``.
        threshold: the threshold in the outcome's unit.
        inputs: ``levers``, ``uncertainties`` or ``all`` parameters to search boxes over.
        threshold_density: PRIM's minimum box density (0-1).
        peel_alpha: PRIM's peeling fraction.
    """

    model_config = _STRICT

    outcome: str
    condition: Literal["<=", "<", ">=", ">"] = "<="
    threshold: float
    inputs: Literal["levers", "uncertainties", "all"] = "levers"
    threshold_density: float = Field(default=0.8, gt=0, le=1)
    peel_alpha: float = Field(default=0.05, gt=0, lt=1)


class ExecutionSpec(BaseModel):
    """How to run (not part of the spec hash; CLI options override these).

    Fields:
        backend: ``dask`` (default: a local cluster, or the scheduler at ``address``) |
            ``sequential`` (in the calling process).
        workers: worker processes of the local cluster; default: CPU count.
        address: address of a running Dask scheduler (``tcp://host:8786``).
        chunk_size: runs per task (default 1: a worker lost takes only its own run with it).
        retries: Dask's retries of a task that errs outside the model, and, on the local
            cluster, the workers a run may kill before it is recorded as failed
            (``distributed.scheduler.allowed-failures``).
        flush_every: write a result shard at least every this many finished runs ...
        flush_seconds: ... or this many seconds, whichever comes first.
    """

    model_config = _STRICT

    backend: Literal["dask", "sequential"] = "dask"
    workers: int | None = Field(default=None, ge=1)
    address: str | None = Field(default=None, min_length=1)
    chunk_size: int = Field(default=1, ge=1)
    retries: int = Field(default=2, ge=0)
    flush_every: int = Field(default=64, ge=1)
    flush_seconds: float = Field(default=5.0, gt=0)

    @field_validator("backend", mode="before")
    @classmethod
    def _known_backend(cls, v: Any) -> Any:
        if isinstance(v, str) and (problem := backend_problem(v)):
            raise ValueError(problem)
        return v


def _flatten_constants(v: Any) -> Any:
    """``[constants]`` as {dotted path: value}: TOML ``a.b = 1`` makes nested tables; both that
    and quoted ``"a.b"`` keys are accepted. Anything but a table is returned as is.

    Raises:
        ValueError: a path given twice (once as a dotted key, once as a table).
    """
    if not isinstance(v, dict):
        return v
    flat: dict[str, Any] = {}

    def walk(prefix: str, d: dict) -> None:
        for k, val in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(val, dict):
                walk(key, val)
            elif key in flat:
                raise ValueError(
                    f"{key!r} is given twice (once as a dotted key, once as a table); give it once"
                )
            else:
                flat[key] = val

    walk("", v)
    return flat


class ExperimentSpec(BaseModel):
    """A whole experiment. See the module docstring for the TOML layout.

    Fields:
        name: store directory name (letters, digits, ``._-``).
        description: free text (not hashed).
        model: ``"abm"`` or ``"package.module:function"``.
        scenario: base scenario name or TOML path.
        months: horizon in months; None = the scenario's horizon.
        replicates: stochastic replicates per design row (>= 1).
        seed_root: root entropy of ``numpy.random.SeedSequence`` (0 <= seed_root < 2**63).
        seed_scheme: ``independent`` (spawn key (design_row, rep)) or ``crn`` (common random
            numbers: spawn key (rep,), shared by every design row).
        keep_timeseries: also store each run's tidy time series.
        uncertainties, levers: varying parameters (sampled jointly by the design).
        constants: fixed overrides {dotted path: value} applied to every run.
        outcomes: names of the scalar outcomes to record.
        design: see :class:`DesignSpec`.
        discovery: PRIM questions for ``analyze``.
        execution: see :class:`ExecutionSpec`.
    """

    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=120)
    description: str = ""
    model: str = "abm"
    scenario: str = "baseline"
    months: int | None = Field(default=None, ge=1)
    replicates: int = Field(default=1, ge=1)
    seed_root: int = Field(default=0, ge=0, lt=2**63)
    seed_scheme: Literal["independent", "crn"] = "independent"
    keep_timeseries: bool = False
    uncertainties: list[Parameter] = Field(default_factory=list)
    levers: list[Parameter] = Field(default_factory=list)
    constants: dict[str, Any] = Field(default_factory=dict)
    outcomes: list[str] = Field(min_length=1)
    design: DesignSpec
    discovery: list[DiscoverySpec] = Field(default_factory=list)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)

    @field_validator("constants", mode="before")
    @classmethod
    def _flat_constants(cls, v: Any) -> Any:
        return _flatten_constants(v)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        # every whole-spec problem, one "<field>: <message>" line each (split again by
        # _format_validation_error), so a spec with several is refused once with all of them
        problems: list[str] = []
        seen: dict[str, str] = {}
        for group in ("uncertainties", "levers"):
            for i, p in enumerate(getattr(self, group)):
                where = f"{group}[{i}]"
                if p.name in seen:
                    problems.append(
                        f"{where}.name: {p.name!r} is already declared in {seen[p.name]}"
                    )
                    continue
                seen[p.name] = where
        for k in self.constants:
            if k in seen:
                problems.append(f"constants.{k}: also declared as varying in {seen[k]}")
        dup = sorted({o for o in self.outcomes if self.outcomes.count(o) > 1})
        if dup:
            problems.append(f"outcomes: duplicate names {dup}")
        clash = sorted(RESERVED_COLUMNS & (set(self.outcomes) | set(seen)))
        if clash:
            problems.append(f"names {clash} are reserved for result columns")
        both = sorted(set(self.outcomes) & set(seen))
        if both:
            problems.append(f"outcomes: {both} are also parameter names")
        for i, d in enumerate(self.discovery):
            if d.outcome not in self.outcomes:
                problems.append(
                    f"discovery[{i}].outcome: {d.outcome!r} is not among outcomes {self.outcomes}"
                )
        if self.design.method not in ("factorial",) and not self.parameters:
            problems.append(
                f"design.method: {self.design.method!r} needs at least one uncertainty or lever"
            )
        elif self.design.method in ("saltelli", "morris", "fast") and len(self.parameters) < 2:
            problems.append(
                f"design.method: {self.design.method!r} needs at least two varying parameters"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def parameters(self) -> list[Parameter]:
        """Uncertainties then levers, in declaration order (the design's column order)."""
        return list(self.uncertainties) + list(self.levers)

    def hashed_dict(self, scenario_digest: str | None = None) -> dict[str, Any]:
        """The part of the spec that identifies the runs (not execution, description or
        discovery: changing those does not invalidate stored results)."""
        d = self.model_dump(mode="json", exclude={"execution", "description", "discovery"})
        d["scenario_digest"] = scenario_digest
        return d

    def spec_hash(self, scenario_digest: str | None = None) -> str:
        """sha256 hex of the canonical JSON of :meth:`hashed_dict`."""
        return hashlib.sha256(
            canonical_json(self.hashed_dict(scenario_digest)).encode()
        ).hexdigest()


def canonical_json(obj: Any) -> str:
    """Deterministic JSON of a spec (:func:`abm.canonical.canonical_json`, NaN refused)."""
    return _canonical_json(obj, strict=True)


def _loc_to_field(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "literal[", "union[")) or part in (
            "str",
            "int",
            "float",
            "bool",
        ):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "spec"


def _conversion_message(etype: str | None, inp: Any) -> str | None:
    """The scenario schema's wording for a value of the wrong type (see ``_STRICT``), or None."""
    if etype in ("int_type", "float_type", "int_parsing", "float_parsing"):
        if isinstance(inp, str):
            return f"got the string {inp!r}; write the number without quotes"
        if isinstance(inp, bool):
            return f"got {str(inp).lower()}; write a number"
        if etype == "int_type" and isinstance(inp, float):
            return f"got {inp}; write a whole number"
    if etype in ("bool_type", "bool_parsing"):
        if isinstance(inp, str):
            return f"got the string {inp!r}; write true or false without quotes"
        return f"got {inp!r}; write true or false"
    if etype == "finite_number":
        return f"got {inp}; write a finite number"
    return None


def _format_validation_error(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen = set()
    # top-level keys written after a table header: their "missing" line would mislead
    moved = {
        (err["loc"][-1],)
        for err in exc.errors()
        if err.get("type") == "extra_forbidden" and _misplaced(tuple(err.get("loc", ())))
    }
    for err in exc.errors():
        if err.get("type") == "missing" and tuple(err.get("loc", ())) in moved:
            continue
        loc = tuple(err.get("loc", ()))
        # unions of strict scalars repeat the same complaint per member: keep the first
        key = tuple(
            p for p in loc if not (isinstance(p, str) and p in ("str", "int", "float", "bool"))
        )
        key = tuple(p for p in key if not str(p).startswith(("function-", "literal[", "union[")))
        if key in seen:
            continue
        seen.add(key)
        msg = err.get("msg", "invalid")
        msg = msg.removeprefix("Value error, ")
        field = _loc_to_field(loc)
        if field == "spec":  # whole-spec checks, one line each, name their field first
            for line in msg.splitlines():
                m = re.match(r"([A-Za-z_][\w.\[\]]*): (.+)", line, re.DOTALL)
                problems.append((m.group(1), m.group(2)) if m else ("spec", line))
            continue
        etype, inp = err.get("type"), err.get("input")
        if etype == "extra_forbidden":
            msg = _unknown_field(loc)
        elif etype == "missing":
            msg = "required field is missing"
        elif (choice := _unknown_choice(err, loc)) is not None:
            msg = choice
        else:
            msg = _conversion_message(etype, inp) or msg
        # name the parameter when the problem is inside uncertainties[i]/levers[i]
        if len(loc) >= 2 and loc[0] in ("uncertainties", "levers") and isinstance(loc[1], int):
            try:
                pname = data[loc[0]][loc[1]].get("name")
            except Exception:
                pname = None
            if pname:
                msg = f"({pname!r}) {msg}"
        problems.append((field, msg))
    return problems


def parse_spec(data: dict[str, Any], source: str | None = None) -> ExperimentSpec:
    """Validate the structure of a spec dict (stage 1). Raises :class:`SpecError`."""
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_validation_error(exc, data), source) from None


def backend_problem(backend: str) -> str | None:
    """None for a known backend, else the one line saying why not and what to use: ``backend
    'process' was removed; use 'dask' (a local cluster) or 'sequential'`` or ``unknown backend
    'x'; allowed: dask, sequential``."""
    if backend in BACKENDS:
        return None
    if backend in REMOVED_BACKENDS:
        return (
            f"backend {backend!r} was removed; use 'dask' (a local cluster, or a running "
            "scheduler with --address) or 'sequential'"
        )
    return f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}"


def check_backend(backend: str) -> str:
    """Return ``backend`` if known, else raise :class:`SpecError` (field ``backend``) with
    :func:`backend_problem`'s line."""
    if problem := backend_problem(backend):
        raise SpecError([("backend", problem)])
    return backend


def _unknown_choice(err: dict, loc: tuple) -> str | None:
    """:func:`abm.scenario.unknown_choice`: a misspelt choice with the closest one."""
    from abm.scenario import unknown_choice

    return unknown_choice(err, loc)


def _suggest(name: str, choices: list[str], what: str = "parameter", see: str = "") -> str:
    """``unknown <what> '<name>'; did you mean ...`` (:func:`abm.scenario.unknown_name`)."""
    from abm.scenario import unknown_name

    return unknown_name(what, name, choices, see)


#: Where the full list of a model's outcomes is (the tail of an unknown-outcome error).
_OUTCOMES_SEE = "`ree sweep outcomes` lists them"

#: The model whose outcomes are the reproduction targets and the checks against history.
REPRODUCTION_MODEL = "experiments.reproduce:sweep_evaluate"


def _elsewhere(outcome: str, handle: Any) -> str:
    """A hint for an outcome ``handle``'s model lacks that is an outcome of
    :data:`REPRODUCTION_MODEL` (a reproduction target or a check against history), looked
    up through the model registry (:func:`~experiments.sweep.model.resolve_model`); ``""``
    otherwise."""
    from experiments.sweep.model import resolve_model

    if getattr(handle, "ref", None) == REPRODUCTION_MODEL:
        return ""
    if outcome in (resolve_model(REPRODUCTION_MODEL).outcomes() or {}):
        return (
            f"; {outcome!r} is a reproduction target or a check against history: use "
            f'model = "{REPRODUCTION_MODEL}"'
        )
    return ""


def _misplaced(loc: tuple) -> bool:
    """True for an unknown key inside a table (``execution.outcomes``) that is a top-level
    field of the spec: TOML puts every key after a ``[table]`` header into that table."""
    return len(loc) >= 2 and isinstance(loc[-1], str) and loc[-1] in ExperimentSpec.model_fields


def _unknown_field(loc: tuple) -> str:
    """The message of an unknown spec key at ``loc``, with the allowed keys of its table (or,
    for a top-level key written after a table header, where it belongs)."""
    if _misplaced(loc):
        table = ".".join(str(p) for p in loc[:-1] if isinstance(p, str))
        return (
            f"{loc[-1]!r} is a top-level key but sits in [{table}]: in TOML every key after a "
            f"[{table}] header belongs to that table; move it above the first [table] header"
        )
    cls: Any = ExperimentSpec
    for part in loc[:-1]:
        fld = cls.model_fields.get(part) if isinstance(part, str) else None
        if fld is None:
            continue
        ann = fld.annotation
        inner = [
            a
            for a in (ann, *typing.get_args(ann))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return f"unknown field {loc[-1]!r}"
        cls = inner[0]
    return _suggest(str(loc[-1]), sorted(cls.model_fields), "field")


_NUMERIC = {"real", "integer"}


def _complete_parameter(p: Parameter, info: dict, where: str) -> list[tuple[str, str]]:
    """Fill a parameter's type/levels/range from the model's info; return problems."""
    problems: list[tuple[str, str]] = []
    mtype = info.get("type")
    if p.type is None:
        if mtype:
            p.type = mtype
        elif p.levels is not None and any(_level_kind(v) != "number" for v in p.levels):
            p.type = "categorical"
        else:
            p.type = "real"
    elif mtype and p.type != mtype:
        ok = (p.type in _NUMERIC and mtype in _NUMERIC) or (
            p.type == "categorical" and (mtype in _NUMERIC or mtype == "bool")
        )
        if not ok:
            problems.append(
                (
                    f"{where}.type",
                    f"({p.name!r}) spec says {p.type!r} but the model's type is {mtype!r}",
                )
            )
            return problems
    if p.levels is not None and (p.type in _NUMERIC or mtype in _NUMERIC):
        bad = [v for v in p.levels if _level_kind(v) != "number"]
        if bad:
            got = f"the string {bad[0]!r}" if isinstance(bad[0], str) else str(bad[0]).lower()
            problems.append(
                (
                    f"{where}.levels",
                    (
                        f"({p.name!r}) is a number but levels has {got}; "
                        "write the number without quotes, e.g. levels = [0.0, 0.5]"
                    ),
                )
            )
            return problems
    if p.type == "bool" and p.levels is not None:
        bad = [v for v in p.levels if not isinstance(v, bool)]
        if bad:  # levels = [0, 1] would be read as false/true
            problems.append(
                (
                    f"{where}.levels",
                    (
                        f"({p.name!r}) is true/false but levels has "
                        f"{bad[0]!r}; write levels = [false, true]"
                    ),
                )
            )
            return problems
    if p.type == "bool" and p.levels is None:
        p.levels = [False, True]
    if p.type == "categorical" and p.levels is None:
        if info.get("levels"):
            p.levels = list(info["levels"])
        else:
            problems.append(
                (f"{where}.levels", f"({p.name!r}) a categorical parameter needs levels")
            )
    if p.type in _NUMERIC and p.levels is None and (p.low is None or p.high is None):
        lo, hi = info.get("low"), info.get("high")
        if lo is None or hi is None:
            problems.append(
                (f"{where}.low", f"({p.name!r}) low/high are missing and the model gives no range")
            )
        elif lo >= hi:
            problems.append(
                (f"{where}.low", f"({p.name!r}) the model's range [{lo}, {hi}] is empty")
            )
        else:
            p.low, p.high = lo, hi
    if p.type == "integer":
        for b in ("low", "high"):
            v = getattr(p, b)
            if v is not None and not float(v).is_integer():
                problems.append(
                    (f"{where}.{b}", f"({p.name!r}) integer bound must be whole, got {v}")
                )
    return problems


def _value_kind_problem(mtype: str | None, v: Any) -> str | None:
    """Why ``v`` cannot be a value of a model parameter of type ``mtype`` without a
    conversion (the rules of ``_STRICT``), or None."""
    if mtype == "bool" and not isinstance(v, bool):
        return (
            f"got the string {v!r}; write true or false without quotes"
            if isinstance(v, str)
            else f"got {v!r}; write true or false"
        )
    if mtype in _NUMERIC:
        if isinstance(v, str):
            return f"got the string {v!r}; write the number without quotes"
        if isinstance(v, bool):
            return f"got {str(v).lower()}; write a number"
        if mtype == "integer" and isinstance(v, float) and not v.is_integer():
            return f"got {v}; write a whole number"
    return None


def _model_message(exc: BaseException) -> str:
    """The useful part of a model's error: ``abm`` wraps pydantic's message as
    "<scenario> with overrides: field 'levers': Value error, <message>"."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg.rsplit("Value error, ", 1)[-1]


def _levers_after_run(
    spec: ExperimentSpec,
    handle: Any,
    base: Any,
    months: int | None,
    skip: set[str] = frozenset(),
) -> list[tuple[str, str]]:
    """``months`` runs that end before ``levers.start`` while the constants or a varied
    parameter set a lever acting only from that month: refused, as ``ree run --months``
    refuses them (:meth:`abm.scenario.Scenario.levers_never_apply`), since every run would
    show the lever without effect. Skipped for models without ``gated_levers``, and for
    parameters refused already (``skip``)."""
    if not hasattr(base, "gated_levers"):
        return []
    hint = "set months to at least {need} or use a scenario whose [levers] start is earlier"
    found = base.levers_never_apply(months)
    if found is not None:
        need, gated = found
        return [
            (
                "months",
                f"{months} months from {base.start} end before levers.start "
                f"{base.levers.start}, so the constants' levers ({', '.join(gated)}) would "
                "never apply; " + hint.format(need=need),
            )
        ]
    from ..inputs import measures_never_apply

    for group in ("uncertainties", "levers"):
        for i, p in enumerate(getattr(spec, group)):
            if _refused(skip, f"{group}[{i}]"):
                continue
            if late := measures_never_apply(base, months, [p.name]):
                return [
                    (
                        f"{group}[{i}].name",
                        f"({p.name!r}) {months} months from {base.start} end before the "
                        "measure comes into force, so this field would never apply and every "
                        f"run would show it without effect; set months to at least {late[0]}",
                    )
                ]
            if not p.name.startswith("levers."):
                continue
            value = p.levels[0] if p.levels else p.low
            if value is None:
                continue
            try:
                found = handle.check_overrides(base, {p.name: value}).levers_never_apply(months)
            except (ValueError, TypeError, KeyError):  # a bad value: reported above
                continue
            if found is not None:
                return [
                    (
                        f"{group}[{i}].name",
                        f"({p.name!r}) {months} months from "
                        f"{base.start} end before levers.start {base.levers.start}, so "
                        "this lever would never apply and every run would show it without "
                        "effect; " + hint.format(need=found[0]),
                    )
                ]
    return []


def _refused(skip: set[str], where: str) -> bool:
    """Whether ``skip`` (fields already refused) names ``where`` or a field inside it."""
    return any(f == where or f.startswith((where + ".", where + "[")) for f in skip)


def _check_runs(
    spec: ExperimentSpec, handle: Any, skip: set[str] = frozenset()
) -> list[tuple[str, str]]:
    """What the model itself says about the runs, before any run: every constant and every
    level (or ``low``/``high``) of every parameter is applied to the base scenario as the
    runs will apply it, ``months`` must fit the scenario horizon and each outcome must be
    computable in that many months. Models without these checks pass. Parameters,
    constants and outcomes whose field is in ``skip`` (refused already) are left out."""
    scenario = handle.load_scenario(spec.scenario)
    problems: list[tuple[str, str]] = []
    constants = {k: v for k, v in spec.constants.items() if f"constants.{k}" not in skip}
    for k, v in constants.items():
        try:
            handle.check_overrides(scenario, {k: v})
        except (ValueError, TypeError, KeyError) as exc:
            problems.append((f"constants.{k}", _model_message(exc)))
    if problems:
        return problems
    try:
        base = handle.check_overrides(scenario, constants)
    except (ValueError, TypeError, KeyError) as exc:
        return [("constants", _model_message(exc))]
    for group in ("uncertainties", "levers"):
        for i, p in enumerate(getattr(spec, group)):
            if _refused(skip, f"{group}[{i}]"):
                continue
            if _is_measure_field(handle, p.name) and hasattr(base, "measures"):
                # an unknown measure id or field is a fault of the name, not of a level
                from abm.scenario import measure_field_value

                try:
                    measure_field_value(base, p.name)
                except ValueError as exc:
                    problems.append((f"{group}[{i}].name", f"({p.name!r}) {_model_message(exc)}"))
                    continue
            values = (
                [(f"levels[{j}]", v) for j, v in enumerate(p.levels)]
                if p.levels is not None
                else [("low", p.low), ("high", p.high)]
            )
            for fld, v in values:
                if v is None:
                    continue
                try:
                    handle.check_overrides(base, {p.name: v})
                except (ValueError, TypeError, KeyError) as exc:
                    problems.append((f"{group}[{i}].{fld}", f"({p.name!r}) {_model_message(exc)}"))
                    break  # one problem per parameter is enough
    if spec.design.method == "oat":
        problems += _complete_centers(spec, base, handle.parameter_space() or {}, skip)
    try:
        months = handle.check_months(base, spec.months)
    except ValueError as exc:
        return problems + [("months", str(exc))]
    problems += _levers_after_run(spec, handle, base, months, skip)
    outcomes = [o for i, o in enumerate(spec.outcomes) if f"outcomes[{i}]" not in skip]
    for name, why in handle.check_outcomes(base, months, outcomes).items():
        problems.append((f"outcomes[{spec.outcomes.index(name)}]", why))
    return problems


def _names_a_measure_field(name: str) -> bool:
    """Whether ``name`` has the form of an override of a scenario measure's field,
    ``measures.<id>.<field>`` (:data:`abm.scenario.MEASURE_PREFIX`)."""
    from abm.scenario import MEASURE_PREFIX

    return name.startswith(MEASURE_PREFIX)


def _is_measure_field(handle: Any, name: str) -> bool:
    """Whether ``name`` overrides a field of a scenario measure (``measures.<id>.<field>``,
    :func:`abm.scenario.apply_overrides`) for a model that checks its overrides (``abm``, or
    a model declaring ``apply_overrides``), which checks the id, the field and each value."""
    return _names_a_measure_field(name) and getattr(handle, "override_fn", None) is not None


def _complete_centers(
    spec: ExperimentSpec, base: Any, space: dict, skip: set[str] = frozenset()
) -> list[tuple[str, str]]:
    """``oat`` designs: fill each parameter's ``center`` with its value in the base scenario
    (after the constants), else the model's default (``space``), and check every center lies
    inside the parameter's range or levels (parameters refused already, in ``skip``, are
    left out)."""
    problems: list[tuple[str, str]] = []
    for group in ("uncertainties", "levers"):
        for i, p in enumerate(getattr(spec, group)):
            if _refused(skip, f"{group}[{i}]"):
                continue
            where = f"{group}[{i}].center"
            if p.center is None:
                obj: Any = base
                if _names_a_measure_field(p.name) and hasattr(base, "measures"):
                    from abm.scenario import measure_field_value

                    try:
                        obj = measure_field_value(base, p.name)
                    except ValueError:  # a bad id or field: reported with its levels
                        continue
                else:
                    for part in p.name.split("."):
                        obj = getattr(obj, part, None)
                if obj is None:
                    obj = (space.get(p.name) or {}).get("default")
                if obj is None or isinstance(obj, (tuple, list, dict)):
                    problems.append(
                        (
                            where,
                            f"({p.name!r}) the base scenario gives no single "
                            "value; set center = <value> for the oat design",
                        )
                    )
                    continue
                p.center = obj
            if p.levels is not None:
                if p.center not in p.levels:
                    problems.append(
                        (where, f"({p.name!r}) {p.center!r} is not one of the levels {p.levels}")
                    )
            elif (
                isinstance(p.center, bool)
                or not isinstance(p.center, (int, float))
                or not (p.low <= p.center <= p.high)
            ):  # type: ignore[operator]
                problems.append(
                    (where, f"({p.name!r}) {p.center!r} is outside [{p.low}, {p.high}]")
                )
    return problems


def _parameter_problems(
    p: Parameter | str, where: str, space: dict | None, handle: Any, see: str
) -> list[tuple[str, str]]:
    """The model's view of one parameter entry at ``where`` (``uncertainties[0]``): its name
    exists in ``space`` (the model's ``parameter_space()``, None when the model has none), its
    type, ``low``/``high`` and levels fit the model's; fills the parameter's type, range and
    levels from the model where the spec omits them. ``p`` is only a name for an entry whose
    structure was refused (stage 1): then only the name is checked."""
    if isinstance(p, str):
        if space is not None and p not in space and not _is_measure_field(handle, p):
            return [(f"{where}.name", _suggest(p, sorted(space), see=see))]
        return []
    if space is None:
        return _complete_parameter(p, {}, where)
    if p.name not in space and _is_measure_field(handle, p.name):
        # a field of one of the scenario's measures: its id, field and each level are
        # checked against the base scenario (_check_runs)
        return _complete_parameter(p, {}, where)
    if p.name not in space:
        return [(f"{where}.name", _suggest(p.name, sorted(space), see=see))]
    info = space[p.name] or {}
    problems = _complete_parameter(p, info, where)
    lo, hi = info.get("low"), info.get("high")
    vals: list[tuple[str, Any]] = []
    if p.low is not None:
        vals.append(("low", p.low))
    if p.high is not None:
        vals.append(("high", p.high))
    if p.levels is not None and all(_level_kind(v) == "number" for v in p.levels):
        vals += [(f"levels[{j}]", v) for j, v in enumerate(p.levels)]
    for fld, v in vals:
        if lo is not None and v < lo:
            problems.append(
                (f"{where}.{fld}", f"({p.name!r}) {v} is below the model's lower limit {lo}")
            )
        if hi is not None and v > hi:
            problems.append(
                (f"{where}.{fld}", f"({p.name!r}) {v} is above the model's upper limit {hi}")
            )
    mlevels = info.get("levels")
    if mlevels and p.levels is not None and p.kind in ("categorical", "bool"):
        bad = [v for v in p.levels if v not in mlevels]
        if bad:
            problems.append(
                (f"{where}.levels", f"({p.name!r}) {bad} not among allowed levels {mlevels}")
            )
    return problems


def _model_problems(
    params: list[tuple[str, Parameter | str]],
    constants: dict[str, Any],
    outcomes: list[Any],
    handle: Any,
    model: str,
) -> list[tuple[str, str]]:
    """Every problem of the names and ranges a spec gives, checked against the model's
    parameter space and outcomes: each parameter (``params``: (field, parameter or, for an
    entry refused by stage 1, its name)), each constant's name and kind of value, each
    outcome's name. Nothing is applied to the base scenario here (:func:`_check_runs`)."""
    problems: list[tuple[str, str]] = []
    space = handle.parameter_space()
    see = ""
    if model == "abm":
        from abm.scenario import OVERRIDE_DOCS as see
    for where, p in params:
        problems += _parameter_problems(p, where, space, handle, see)
    if space is not None:
        for k, v in constants.items():
            if k not in space and _is_measure_field(handle, k):
                continue  # checked with the other constants against the base scenario
            if k not in space:
                problems.append((f"constants.{k}", _suggest(k, sorted(space), see=see)))
                continue
            why = _value_kind_problem((space[k] or {}).get("type"), v)
            if why:
                problems.append((f"constants.{k}", why))
    known = handle.outcomes()
    if known is not None:
        allowed_o = sorted(known)
        for i, o in enumerate(outcomes):
            if isinstance(o, str) and o not in known:
                problems.append(
                    (
                        f"outcomes[{i}]",
                        _suggest(o, allowed_o, "outcome", see=_OUTCOMES_SEE)
                        + _elsewhere(o, handle),
                    )
                )
    return problems


def _base_scenario_problem(handle: Any, scenario: str) -> tuple[str | None, list]:
    """(the base scenario's digest, []) or (None, [the ``scenario`` problem]).

    Raises:
        abm.data.DataError: the data tables are at fault, not the spec (a new user's
            REE_DATA_DIR).
    """
    from abm.data import DataError

    from .model import scenario_digest

    try:
        return scenario_digest(handle, scenario), []
    except DataError:
        raise
    except Exception as exc:
        return None, [("scenario", f"cannot load base scenario {scenario!r}: {exc}")]


def check_against_model(spec: ExperimentSpec, handle: Any, source: str | None = None) -> str:
    """Stage-2 validation of ``spec`` against the model (parameters, outcomes, scenario, and,
    where the model can check them, every constant and level applied to the base scenario,
    ``months`` within the horizon and outcomes computable in that many months).

    Every problem is collected before raising. Parameters, constants and outcomes whose name
    or range is refused are left out of the checks against the base scenario (which would
    only repeat the problem); those checks stop at the constants when a constant's value is
    refused, and at ``months`` when it is, since what follows depends on them.

    Fills each parameter's ``type`` from the model where the spec omits it.

    Returns:
        the base scenario's content digest (see :func:`experiments.sweep.model.scenario_digest`).

    Raises:
        SpecError listing every problem with its field.
        abm.data.DataError: the model's data tables fail validation when the base scenario
            is loaded (the data, not the spec, are at fault).
    """
    params: list[tuple[str, Parameter | str]] = [
        (f"{group}[{i}]", p)
        for group in ("uncertainties", "levers")
        for i, p in enumerate(getattr(spec, group))
    ]
    problems = _model_problems(params, spec.constants, spec.outcomes, handle, spec.model)
    digest, bad_scenario = _base_scenario_problem(handle, spec.scenario)
    problems += bad_scenario
    if digest is not None:
        problems += _check_runs(spec, handle, skip={fld for fld, _ in problems})
    if problems:
        raise SpecError(problems, source)
    return digest


def _unparsed_problems(data: dict[str, Any], refused: list[tuple[str, str]]) -> list:
    """What the model says about a spec whose structure was refused (stage 1, ``refused``):
    the model resolves, each parameter's name (and, for an entry whose own structure is right,
    its type and range), each constant's and outcome's name, and the base scenario loads.
    Problems on a field ``refused`` already names are left out. The checks against the base
    scenario (:func:`_check_runs`) need a whole spec and wait until the structure is right."""
    from .model import ModelError, resolve_model

    model = data.get("model", "abm")
    if not isinstance(model, str) or any(f == "model" for f, _ in refused):
        return []
    try:
        handle = resolve_model(model)
    except ModelError as exc:
        return [("model", str(exc))]
    params: list[tuple[str, Parameter | str]] = []
    for group in ("uncertainties", "levers"):
        entries = data.get(group)
        for i, e in enumerate(entries if isinstance(entries, list) else []):
            name = e.get("name") if isinstance(e, dict) else None
            if not isinstance(name, str) or not name:
                continue
            try:
                params.append((f"{group}[{i}]", Parameter.model_validate(e)))
            except ValidationError:
                params.append((f"{group}[{i}]", name))
    try:
        constants = _flatten_constants(data.get("constants", {}))
    except ValueError:
        constants = {}
    outcomes = data.get("outcomes")
    try:
        problems = _model_problems(
            params,
            constants if isinstance(constants, dict) else {},
            outcomes if isinstance(outcomes, list) else [],
            handle,
            model,
        )
    except Exception:  # a custom model's own code failed: the structure problems stand
        return []
    scenario = data.get("scenario", "baseline")
    if isinstance(scenario, str):
        from abm.data import DataError

        try:
            problems += _base_scenario_problem(handle, scenario)[1]
        except DataError:
            pass  # the data tables' fault, reported once the spec's own problems are fixed
        except Exception:  # a custom model's own code: reported once the structure is right
            pass
    named = {f for f, _ in refused}
    return [(f, m) for f, m in problems if f not in named]


def _in_spec_order(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``problems`` in the order of the spec's fields (:class:`ExperimentSpec`: ``name``,
    ..., ``uncertainties``, ``levers``, ``constants``, ``outcomes``, ``design``, ...), by the
    top-level field each belongs to (``uncertainties[1].low``: ``uncertainties``), then by the
    entry's index; whole-file problems (``spec``) first, unknown top-level keys last. The
    order is otherwise kept (structure before model)."""
    fields = list(ExperimentSpec.model_fields)

    def key(item: tuple[str, str]) -> tuple[int, int]:
        fld = item[0]
        if fld == "spec":
            return (-1, 0)
        m = re.match(r"([^.\[]+)(?:\[(\d+)\])?", fld)
        top, idx = (m.group(1), m.group(2)) if m else (fld, None)
        rank = fields.index(top) if top in fields else len(fields)
        return (rank, int(idx) if idx is not None else -1)

    return sorted(problems, key=key)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (UTF-8, with or without a byte-order mark).

    Raises:
        SpecError: a missing file, a file that is not UTF-8 text, or a syntax error.
    """
    from ..inputs import InputFileError, read_text_file

    p = Path(path)
    if not p.is_file():
        raise SpecError([("spec", f"file not found: {p}")], str(p))
    try:
        return tomllib.loads(read_text_file(p))
    except InputFileError as exc:
        raise SpecError([("spec", str(exc))], str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([("spec", f"TOML syntax error: {exc}")], str(p)) from None


def load_spec(path: str | Path, *, check_model: bool = True):
    """Load, validate and (optionally) check a spec against its model.

    Every problem found is reported at once, one line each, in the order of the spec's fields
    (:func:`_in_spec_order`): those of the structure (stage 1) and, with ``check_model``, the
    model's (stage 2). When the
    structure is refused, the model still checks the names the spec gives (model, parameters,
    constants, outcomes, base scenario); the checks that apply values to the base scenario
    wait until the structure is right.

    Returns:
        ``(spec, handle, scenario_digest)``; ``handle``/``digest`` are None when
        ``check_model`` is False.

    Raises:
        SpecError: any structural or model problem, or a plan of more than :data:`MAX_RUNS`
            runs (checked before anything is built; nothing is written).
    """
    from .design import check_plan_size
    from .model import ModelError, resolve_model

    src = str(path)
    data = read_toml(path)
    try:
        spec = parse_spec(data, src)
    except SpecError as exc:
        if not check_model:
            raise
        problems = exc.problems + _unparsed_problems(data, exc.problems)
        raise SpecError(_in_spec_order(problems), src) from None
    problems = []
    try:
        check_plan_size(spec, source=src, exact=False)  # before building anything
    except SpecError as exc:
        problems += exc.problems
    if not check_model:
        if problems:
            raise SpecError(problems, src)
        return spec, None, None
    try:
        handle = resolve_model(spec.model)
    except ModelError as exc:
        raise SpecError(_in_spec_order(problems + [("model", str(exc))]), src) from None
    digest = None
    try:
        digest = check_against_model(spec, handle, src)
    except SpecError as exc:
        problems += exc.problems
    if problems:
        raise SpecError(_in_spec_order(problems), src)
    check_plan_size(spec, source=src)  # parameters completed from the model
    return spec, handle, digest
