"""Numbers in the CSV tables ``ree`` writes: rounded to significant digits.

A simulated outcome carries a few meaningful digits, not the 16 of a float64; the tables of
``ree compare`` and ``ree sweep analyze`` round every float to :data:`SIGNIFICANT`
significant digits, so ``1087577981.307271`` is written as ``1087580000.0`` and
``0.002666347427612874`` as ``0.00266635``.
"""

from __future__ import annotations

import math

import pandas as pd

#: Significant digits of the floats in the CSV tables.
SIGNIFICANT = 6


def round_sig(x, digits: int = SIGNIFICANT):
    """``x`` rounded to ``digits`` significant digits; NaN, infinities, zero, integers and
    non-numbers are returned unchanged."""
    if isinstance(x, bool) or not isinstance(x, float) or not math.isfinite(x) or x == 0:
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def round_frame(df: pd.DataFrame, digits: int = SIGNIFICANT) -> pd.DataFrame:
    """A copy of ``df`` with every float column rounded to ``digits`` significant digits."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = [round_sig(float(v), digits) for v in out[col]]
    return out
