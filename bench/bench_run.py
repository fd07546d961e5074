"""Benchmark: CPU milliseconds per simulated month, of the market clearing and of the whole
step, at the default scale and at larger firm counts (not part of the test suite).

Usage::

    python bench/bench_run.py                            # default, 1,000 and 10,000 firms
    python bench/bench_run.py --firms 1000 --months 12

For each configuration (``controls-2025``, seed 0; ``firms`` set with the scenario override
of :func:`abm.scenario.apply_overrides`; default: the scenario's own firm list) it builds the
model, runs ``--months`` months (default 12; ``--full`` for the whole default run, 144
months) and prints: the number of agents, the build time, ms/month of the whole step
(:meth:`abm.model.RareEarthModel.step`), ms/month of the clearing (:func:`abm.market.clear`,
contracts and the spot LP), of the LP solve alone (HiGHS through ``scipy.optimize.linprog``)
and the LP size (columns). Times are process CPU time (``time.process_time``), so another
load on a shared machine inflates them less than wall time. With two or more scales it
fits the slope of ms/month against the number of firms (least squares).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import abm.market as market
import abm.model as model_mod
from abm.model import RareEarthModel


class _Timer:
    """Accumulates CPU time (and calls) of a wrapped function."""

    def __init__(self, fn):
        self.fn, self.cpu, self.calls = fn, 0.0, 0

    def __call__(self, *args, **kwargs):
        t = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.cpu += time.process_time() - t
            self.calls += 1


def bench(firms: int | None, months: int | None) -> dict:
    """Build and run one configuration; returns the measured figures (seconds, ms/month)."""
    clear, lp = _Timer(market.clear), _Timer(market.linprog)
    model_mod.clear, market.linprog = clear, lp
    cols: list[int] = []
    inner = lp.fn

    def sized(c, *a, **k):
        cols.append(len(c))
        return inner(c, *a, **k)

    lp.fn = sized
    try:
        t0 = time.process_time()
        m = RareEarthModel(
            "controls-2025", seed=0, months=months, overrides={"firms": firms} if firms else None
        )
        build = time.process_time() - t0
        clear.cpu = lp.cpu = 0.0
        cols.clear()
        t1 = time.process_time()
        m.run()
        run = time.process_time() - t1
    finally:
        model_mod.clear, market.linprog = clear.fn, inner
    n = m.steps
    return {
        "firms": firms or "default",
        "agents": len(m.agents),
        "months": n,
        "build_s": build,
        "step_ms": 1000 * run / n,
        "clear_ms": 1000 * clear.cpu / n,
        "lp_ms": 1000 * lp.cpu / n,
        "lp_cols": int(np.mean(cols)) if cols else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--firms",
        type=int,
        nargs="*",
        default=[1000, 10000],
        help="firm counts besides the default scale (50 to 10,000)",
    )
    ap.add_argument("--months", type=int, default=12, help="months per configuration")
    ap.add_argument(
        "--full",
        action="store_true",
        help="run the default scale over the whole horizon (144 months)",
    )
    args = ap.parse_args()
    rows = []
    for firms in [None, *args.firms]:
        r = bench(firms, None if (args.full and firms is None) else args.months)
        rows.append(r)
        print(
            f"firms={r['firms']} agents={r['agents']} months={r['months']} "
            f"build={r['build_s']:.2f}s step={r['step_ms']:.1f} ms/month "
            f"clear={r['clear_ms']:.1f} ms/month (LP {r['lp_ms']:.1f} ms, "
            f"{r['lp_cols']} columns)",
            flush=True,
        )
    if len(rows) >= 2:
        x = np.array([r["agents"] for r in rows], dtype=float)
        for key in ("step_ms", "clear_ms"):
            y = np.array([r[key] for r in rows])
            slope, icpt = np.polyfit(x, y, 1)
            print(
                f"{key}: {slope:.3f} ms/month per agent added "
                f"(intercept {icpt:.1f} ms/month, least squares over {len(rows)} scales)"
            )


if __name__ == "__main__":
    main()
