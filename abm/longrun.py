"""The long-run price that entry allows: the full cost of the marginal mine (docs/ODD.md 7.1).

In the long run the price of a mineral tends to the full cost (cash cost plus the capital
charge of new capacity) of the costliest producer the market needs: Ricardo's and Marshall's
margin of production (Marshall 1890, *Principles of Economics*, book V, ch. 10; Henderson
1921, *Supply and Demand*, ch. 4: the price of coal "will approximate" the cost of
production of the "marginal mines"), the incentive price of mineral economics (Tilton 2003,
*On Borrowed Time?*, ch. 4), and the long-run marginal cost to which prices revert in
Pindyck (1999, "The long-run evolution of energy prices", *Energy Journal* 20(2), 1-27).

Rare-earth ore is a joint product: one tonne of REO yields a fixed basket of oxides, so
no oxide has a cost of its own. The basket's full cost is set against its value at
today's prices; their ratio (:func:`marginal_cost_ratio`) is the factor by which every
price of the basket would have to move for the costliest producing mine to just cover its
full cost, relative prices unchanged (the relative-sales-value allocation of joint costs;
Horngren, Datar and Rajan, *Cost Accounting*, ch. 16).

Producers of concentrate and oxides (:attr:`agents.base.Firm.cost_anchored`) hold no
long-run expectation above that level (:meth:`agents.base.Firm.update_expectations`):
a price above the full cost of the marginal mine draws entry that competes it away.
Below it the price may stay at cash cost while capacity is in surplus (the short-run
shut-down rule), so the rule is one-sided.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

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


def marginal_cost_ratio(
    mines: Iterable[tuple[float, Iterable[tuple[int, float]]]],
    prices,
    recovery: float,
) -> float | None:
    """Full cost over basket value of the costliest producing mine (dimensionless).

    For each mine ``(full_cost, oxide_content)`` (USD/kg REO: cash cost, separation and
    the capital charge of new capacity, :func:`capital_charge`; pairs of oxide good index
    and t of oxide per t REO) its full cost over the value of its separated basket at
    ``prices``, ``recovery x sum content x price`` (oxides without a finite positive price
    count 0); the largest ratio.

    Example (hand check): mines (6, [(0, 0.5), (1, 0.5)]) and (8, [(0, 1.0)]); prices
    (10, 30); recovery 1 -> ratios 6/20 = 0.3 and 8/10 = 0.8: 0.8.

    Args:
        mines: the mines producing this month.
        prices: price of each good, USD/kg (indexable by good index).
        recovery: separation recovery (share of REO recovered as oxides).

    Returns:
        The largest ratio, or None when no mine has a basket of positive value.
    """
    best = None
    for full_cost, content in mines:
        value = 0.0
        for i, c in content:
            p = float(prices[i])
            if math.isfinite(p) and p > 0:
                value += c * p
        value *= recovery
        if value > 0:
            ratio = full_cost / value
            if best is None or ratio > best:
                best = ratio
    return best
