"""Per-step metrics in a tidy long table, and concentration measures.

Columns of the table: ``date, step, metric, good, region, partner, value, unit``; a sector
or stage goes in the ``good`` column. Metrics (units): ``price`` (USD/kg; good, region),
``flow`` (t/month; good, region = origin, partner = destination), ``production`` (t/month;
good, region), ``capacity`` (t/yr; stage, region), ``inventory`` (t; good, region),
``stockpile`` (t; good, region), ``lost_output`` (USD/month; sector, region),
``lost_output_units`` (units/month), ``licence_applications`` and ``licence_approvals``
(t/month; good, region = exporter, partner = destination), ``licence_delay`` (months),
``china_share`` (share of world output; stage), ``china_content`` and
``china_mined_content`` (share of the magnets received by a consuming region's OEMs and
defense contractors; region), ``hhi`` (Herfindahl-Hirschman index of output by region,
0-10,000; stage), ``tariff`` (fraction; importer region, exporter partner),
``subsidy_cost`` (cumulative USD; region).

Rows are appended as numpy blocks (the Mesa DataCollector is used for the headline model
series; its per-row table API is too slow for ~1,500 rows a month).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def hhi(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index of market shares (fractions summing to 1): 0-10,000."""
    s = np.asarray(shares, dtype=float)
    tot = s.sum()
    return float(((s / tot * 100) ** 2).sum()) if tot > 0 else float("nan")


class Recorder:
    """Collects metric rows step by step and returns them as a DataFrame."""

    def __init__(self):
        self._blocks: list[dict] = []

    def add(self, date: str, step: int, metric: str, good, region, partner, value, unit: str):
        """Append rows; ``good``, ``region``, ``partner`` and ``value`` may be arrays of equal
        length (scalars are broadcast)."""
        value = np.atleast_1d(np.asarray(value, dtype=float))
        n = len(value)
        if n == 0:
            return
        def col(x):
            if isinstance(x, (list, tuple, np.ndarray)):
                return np.asarray(x, dtype=object)
            return np.full(n, x, dtype=object)
        self._blocks.append({"date": date, "step": step, "metric": metric, "good": col(good),
                             "region": col(region), "partner": col(partner), "value": value,
                             "unit": unit, "n": n})

    def frame(self, since_step: int = 0, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Rows so far (columns: date, step, metric, good, region, partner, value, unit).

        Args:
            since_step: only rows of steps >= this (cheap incremental reads for the UI).
            metrics: only these metrics (None: all).
        """
        blocks = [b for b in self._blocks if b["step"] >= since_step
                  and (metrics is None or b["metric"] in metrics)]
        return self._frame(blocks)

    def _frame(self, blocks: list[dict]) -> pd.DataFrame:
        if not blocks:
            return pd.DataFrame(columns=["date", "step", "metric", "good", "region", "partner",
                                         "value", "unit"])
        n = [b["n"] for b in blocks]
        df = pd.DataFrame({
            "date": pd.to_datetime(np.repeat([b["date"] for b in blocks], n)),
            "step": np.repeat([b["step"] for b in blocks], n).astype("int32"),
            "metric": np.repeat([b["metric"] for b in blocks], n),
            "good": np.concatenate([b["good"] for b in blocks]),
            "region": np.concatenate([b["region"] for b in blocks]),
            "partner": np.concatenate([b["partner"] for b in blocks]),
            "value": np.concatenate([b["value"] for b in blocks]),
            "unit": np.repeat([b["unit"] for b in blocks], n),
        })
        for c in ("metric", "good", "region", "partner", "unit"):
            df[c] = df[c].astype("string")
        return df
