"""Benchmark: wall time of the default run and of scale runs (not part of the test suite).

Usage: ``python bench/bench_run.py [--firms 1000 10000] [--months 144]``. Prints model time
(building excluded) and build time per configuration.
"""

from __future__ import annotations

import argparse
import time

from abm.model import RareEarthModel
from abm.scenario import apply_overrides, load_scenario


def bench(firms: int | None, months: int) -> tuple[float, float, int]:
    sc = load_scenario("controls-2025")
    if firms:
        sc = apply_overrides(sc, {"firms": firms})
    t0 = time.perf_counter()
    m = RareEarthModel(sc, seed=0, months=months)
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(m.agents)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, nargs="*", default=[1000, 10000])
    ap.add_argument("--months", type=int, default=144)
    args = ap.parse_args()
    for firms in [None, *args.firms]:
        build, run, n = bench(firms, args.months)
        print(f"firms={firms or 'default'} agents={n} build={build:.2f}s "
              f"run={run:.2f}s ({run / args.months * 1000:.1f} ms/month)")


if __name__ == "__main__":
    main()
