"""The long-run price that entry allows: the full cost of the marginal mine (docs/ODD.md 7.1).

In the long run the price of a mineral tends to the full cost (cash cost plus the capital
charge of new capacity) of the costliest producer the market needs: Ricardo's and Marshall's
margin of production (Marshall 1890, *Principles of Economics*, book V, ch. 10; Henderson
1921, *Supply and Demand*, ch. 4: the price of coal "will approximate" the cost of
production of the "marginal mines"), the incentive price of mineral economics (Tilton 2003,
*On Borrowed Time?*, ch. 4), and the long-run marginal cost to which prices revert in
Pindyck (1999, "The long-run evolution of energy prices", *Energy Journal* 20(2), 1-27).

Rare-earth ore is a joint product: one tonne of REO yields a fixed basket of oxides, so
no oxide has a cost of its own. A mine's full cost is set against its basket's value at
today's prices; that ratio is the factor by which every price of its basket would have to
move for the mine just to cover its full cost, relative prices unchanged (the
relative-sales-value allocation of joint costs; Horngren, Datar and Rajan, *Cost
Accounting*, ch. 16). Each oxide takes the largest ratio among the producing mines whose
basket contains it, and each concentrate its oxide content at the bounded prices
(:func:`marginal_cost_ratios`).

Producers of concentrate and oxides (:attr:`agents.base.Firm.cost_anchored`) hold no
long-run expectation above that level (:meth:`agents.base.Firm.update_expectations`):
a price above the full cost of the marginal mine draws entry that competes it away.
Below it the price may stay at cash cost while capacity is in surplus (the short-run
shut-down rule), so the rule is one-sided.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from abm.investment import annuity_factor


def capital_charge(
    intensity_usd_per_t_yr: float, rate: float, life_years: float, utilisation: float
) -> float:
    """Capital charge of new capacity per kg of output, USD/kg: the capital cost of a
    t/yr of capacity, annualised over the project life at the cost of capital (capital
    recovery factor, Brealey, Myers and Allen ch. 6), per kg produced at ``utilisation``:
    ``intensity / 1000 / annuity_factor(rate, life) / utilisation``.

    Example (hand check): 30,000 USD per t/yr, rate 0, 10 years, utilisation 1 -> 3 USD/kg.

    Args:
        intensity_usd_per_t_yr: capital cost per t/yr of capacity, USD (>= 0).
        rate: cost of capital, 1/yr.
        life_years: project life, years (> 0).
        utilisation: share of capacity run (> 0).

    Raises:
        ValueError: negative intensity, or life or utilisation not positive.
    """
    if intensity_usd_per_t_yr < 0:
        raise ValueError(
            f"capital_charge: intensity must be >= 0 USD per t/yr, got {intensity_usd_per_t_yr}"
        )
    if life_years <= 0 or utilisation <= 0:
        raise ValueError(
            "capital_charge: life_years and utilisation must be > 0, "
            f"got {life_years}, {utilisation}"
        )
    return intensity_usd_per_t_yr / 1000.0 / annuity_factor(rate, life_years) / utilisation


def marginal_cost_ratios(
    mines: Iterable[tuple[float, Iterable[tuple[int, float]], int]],
    prices,
    recovery: float,
    n_goods: int,
) -> np.ndarray:
    """For each good, the factor by which the entry of new capacity bounds its long-run
    price: (n_goods,), dimensionless, NaN for a good no mine bounds.

    For each mine ``(full_cost, oxide_content, concentrate)`` (USD/kg REO: cash cost,
    separation and the capital charge of new capacity, :func:`capital_charge`; pairs of
    oxide good index and t of oxide per t REO; the good index of its concentrate) its
    ratio is its full cost over the value of its separated basket at ``prices``,
    ``recovery x sum content x price`` (oxides without a finite positive price count 0;
    a mine whose basket has no value is left out).

    * An oxide takes the largest ratio of the mines whose basket contains it (content
      above 0 and a finite positive price): the costliest producer of the oxide bounds
      its price, and a mine's cost bounds the prices of its own joint products only. Any
      positive content counts, so a trace of Dy in bastnaesite lets a bastnaesite mine
      bound Dy's price (docs/calibration.md section 5, session 34's item 1).
    * A concentrate takes its basket's value at the bounded oxide prices over its value
      at ``prices``, ``sum c p min(1, r) / sum c p`` (netback pricing: a concentrate is
      worth its payable oxide content), so a low-cost mine keeps its Ricardian rent. A
      concentrate none of whose mines is in ``mines`` (all quota-bound or mothballed)
      has no bound, even where its oxides have one.

    Example (hand check): mines (6, [(0, 0.5), (1, 0.5)], 2) and (8, [(0, 1.0)], 3);
    prices (10, 30); recovery 1 -> ratios 6/20 = 0.3 and 8/10 = 0.8: oxide 0 (both) 0.8,
    oxide 1 (the first only) 0.3; concentrate 2 (0.5 x 10 x 0.8 + 0.5 x 30 x 0.3) / 20 =
    0.425, concentrate 3 0.8.

    Args:
        mines: the mines producing this month.
        prices: price of each good, USD/kg (indexable by good index).
        recovery: separation recovery (share of REO recovered as oxides).
        n_goods: number of goods.
    """
    out = np.full(n_goods, np.nan)
    baskets = []
    for full_cost, content, concentrate in mines:
        valued = []
        for i, c in content:
            p = float(prices[i])
            if c > 0 and math.isfinite(p) and p > 0:
                valued.append((i, c * p))
        value = recovery * sum(v for _, v in valued)
        if value <= 0:
            continue
        ratio = full_cost / value
        if not math.isfinite(ratio):
            continue
        baskets.append((concentrate, valued))
        for i, _ in valued:
            if not ratio <= out[i]:  # NaN (no mine yet) or a larger ratio
                out[i] = ratio
    for concentrate, valued in baskets:
        total = sum(v for _, v in valued)
        bounded = sum(v * min(1.0, out[i]) for i, v in valued)
        out[concentrate] = bounded / total
    return out
