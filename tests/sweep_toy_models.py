"""Small, fast stand-in models for the sweep tests (same signature as abm.outcomes.evaluate).

``toy_evaluate`` is a noisy analytic function of four parameters; its outcomes depend on the
run's SeedSequence, so any seed mix-up shows in the tables. ``flaky_evaluate`` raises for some
parameter values; ``slow_evaluate`` sleeps so a sweep can be killed part way; ``linear_evaluate``
has known Sobol indices.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

PARAMETER_SPACE = {
    "parameters.a": {
        "type": "real",
        "default": 0.5,
        "low": 0.0,
        "high": 1.0,
        "levels": None,
        "unit": "1",
        "doc": "toy real parameter",
    },
    "parameters.b": {
        "type": "real",
        "default": 0.0,
        "low": -1.0,
        "high": 1.0,
        "levels": None,
        "unit": "1",
        "doc": "toy real parameter",
    },
    "parameters.k": {
        "type": "integer",
        "default": 2,
        "low": 1,
        "high": 5,
        "levels": None,
        "unit": "count",
        "doc": "toy integer parameter",
    },
    "levers.mode": {
        "type": "categorical",
        "default": "none",
        "levels": ["none", "tariff", "quota"],
        "low": None,
        "high": None,
        "unit": "",
        "doc": "toy categorical lever",
    },
    "levers.flag": {
        "type": "bool",
        "default": False,
        "low": None,
        "high": None,
        "levels": [False, True],
        "unit": "",
        "doc": "toy bool lever",
    },
}
OUTCOMES = {
    "y": "toy response [1]",
    "noise": "the run's first random draw [1]",
    "loss": "toy lost output [months]",
}

_MODE = {"none": 0.0, "tariff": 1.0, "quota": 2.0}


def _values(overrides):
    o = {k: v["default"] for k, v in PARAMETER_SPACE.items()}
    for k, v in (overrides or {}).items():
        if k not in o:
            raise KeyError(f"unknown parameter {k!r}; allowed: {sorted(o)}")
        o[k] = v
    return o


def toy_evaluate(
    scenario, *, overrides=None, seed=0, months=None, outcomes=None, keep_timeseries=False
):
    """y = a + 2 b**2 + 0.1 k + mode + flag + 0.01 noise; noise ~ N(0,1) from ``seed``."""
    v = _values(overrides)
    rng = np.random.default_rng(seed)
    noise = float(rng.standard_normal())
    m = months or 12
    y = (
        v["parameters.a"]
        + 2 * v["parameters.b"] ** 2
        + 0.1 * v["parameters.k"]
        + _MODE[v["levers.mode"]]
        + float(v["levers.flag"])
        + 0.01 * noise
    )
    loss = max(0.0, 3.0 * v["parameters.a"] - 2.0 * float(v["levers.flag"])) + 0.001 * abs(noise)
    out = {"y": y, "noise": noise, "loss": loss}
    if outcomes is not None:
        out = {k: out[k] for k in outcomes}
    ts = None
    if keep_timeseries:
        steps = np.arange(m)
        ts = pd.DataFrame(
            {
                "date": pd.date_range("2025-01-01", periods=m, freq="MS").astype(str),
                "step": steps,
                "metric": "price",
                "good": "Dy",
                "region": "ROW",
                "partner": "",
                "value": y + 0.1 * steps + rng.standard_normal(m),
                "unit": "USD/kg",
            }
        )
    return out, ts


def flaky_evaluate(scenario, **kw):
    """Like toy_evaluate but raises ValueError when parameters.a > 0.7."""
    a = (kw.get("overrides") or {}).get("parameters.a", 0.5)
    if a > 0.7:
        raise ValueError(f"toy failure: a={a:.3f} > 0.7")
    return toy_evaluate(scenario, **kw)


flaky_evaluate.parameter_space = PARAMETER_SPACE
flaky_evaluate.OUTCOMES = OUTCOMES


def slow_evaluate(scenario, **kw):
    """toy_evaluate after sleeping SWEEP_TOY_SLEEP seconds (default 0.05)."""
    time.sleep(float(os.environ.get("SWEEP_TOY_SLEEP", "0.05")))
    return toy_evaluate(scenario, **kw)


def linear_evaluate(
    scenario, *, overrides=None, seed=0, months=None, outcomes=None, keep_timeseries=False
):
    """y = 4 a + 2 b' with a, b' in [0, 1] (b' = (b+1)/2): Sobol S1 = 0.8 (a), 0.2 (b)."""
    v = _values(overrides)
    bb = (v["parameters.b"] + 1.0) / 2.0
    y = 4.0 * v["parameters.a"] + 2.0 * bb
    return {"y": y, "noise": 0.0, "loss": y}, None


def crash_evaluate(scenario, **kw):
    """Kills its worker process (os._exit) when parameters.a > 0.9; else toy_evaluate."""
    a = (kw.get("overrides") or {}).get("parameters.a", 0.5)
    if a > 0.9:
        os._exit(3)
    return toy_evaluate(scenario, **kw)


def stop_evaluate(scenario, **kw):
    """Raises KeyboardInterrupt when parameters.a > 0.8 and SystemExit when a < 0.1 (a model
    that stops itself, on a worker); else toy_evaluate."""
    a = (kw.get("overrides") or {}).get("parameters.a", 0.5)
    if a > 0.8:
        raise KeyboardInterrupt(f"toy stop: a={a:.3f}")
    if a < 0.1:
        raise SystemExit(f"toy exit: a={a:.3f}")
    return toy_evaluate(scenario, **kw)


# ----------------------------------------------------------------------------- spec helpers
TOY_SPEC = """\
name = "{name}"
model = "sweep_toy_models:{model}"
scenario = "toy"
months = 12
replicates = {replicates}
seed_root = {seed_root}
outcomes = {outcomes}
{top}

[design]
{design}

[[uncertainties]]
name = "parameters.a"
low = 0.0
high = 1.0

[[uncertainties]]
name = "parameters.k"
low = 1
high = 5

[[levers]]
name = "levers.mode"

[[levers]]
name = "levers.flag"

[execution]
backend = "sequential"
{execution}
{extra}
"""


def write_toy_spec(
    path,
    *,
    name="toy",
    model="toy_evaluate",
    replicates=2,
    seed_root=42,
    outcomes='["y", "noise", "loss"]',
    design='method = "factorial"\nlevels = 3',
    top="",
    execution="",
    extra="",
):
    """Write a toy spec (factorial 3 x 3 x 3 x 2 = 54 rows by default) and return its path."""
    from pathlib import Path

    p = Path(path)
    p.write_text(
        TOY_SPEC.format(
            name=name,
            model=model,
            replicates=replicates,
            seed_root=seed_root,
            outcomes=outcomes,
            top=top,
            design=design,
            execution=execution,
            extra=extra,
        )
    )
    return p


def result_table(store_dir):
    """Results sorted by run id without the host/pid/time columns (comparable across backends)."""
    from experiments.sweep.store import RunStore

    df = RunStore(store_dir).read_results()
    drop = ["host", "pid", "wall_s", "finished_at", "traceback"]
    return (
        df.drop(columns=[c for c in drop if c in df]).sort_values("run_id").reset_index(drop=True)
    )


#: sweep spec of ``linear_evaluate`` over a and b (format with ``design`` and ``replicates``)
LINEAR_SPEC = """\
name = "linear"
model = "sweep_toy_models:linear_evaluate"
scenario = "toy"
replicates = {replicates}
seed_root = 3
outcomes = ["y"]

[design]
{design}

[[uncertainties]]
name = "parameters.a"

[[uncertainties]]
name = "parameters.b"

[execution]
backend = "sequential"
"""


def broken_space_evaluate(scenario, *, overrides=None, seed=0, months=None, outcomes=None):
    """A model whose parameter space cannot be read (its callable raises)."""
    return toy_evaluate(scenario, overrides=overrides, seed=seed, months=months, outcomes=outcomes)


def _broken_space():
    raise RuntimeError("the parameter table of this model is unreadable")


broken_space_evaluate.parameter_space = _broken_space
