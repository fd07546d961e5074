"""The long-run price that entry allows: the full cost of the marginal mine (docs/ODD.md 7.1).

In the long run the price of a mineral tends to the full cost (cash cost plus the capital
charge of new capacity) of the costliest producer the market needs: Ricardo's and Marshall's
margin of production (Marshall 1890, *Principles of Economics*, book V, ch. 10; Henderson
1921, *Supply and Demand*, ch. 4: the price of coal "will approximate" the cost of
production of the "marginal mines"), the incentive price of mineral economics (Tilton 2003,
*On Borrowed Time?*, ch. 4), and the long-run marginal cost to which prices revert in
Pindyck (1999, "The long-run evolution of energy prices", *Energy Journal* 20(2), 1-27).

Rare-earth ore is a joint product: one tonne of REO yields a fixed basket of oxides, so
no oxide has a cost of its own and a mine's full cost bounds only its basket's value
(Marshall 1890, book V, ch. 6, joint supply). The bound is shared among the oxides by the
entry it stands for: a new mine of the kind adds to each oxide's market in proportion to
its content relative to the market's mix (a quantity analogue of Balassa's 1965 revealed
comparative advantage index), and, assuming a semi-log inverse demand for each oxide
(``p = p0 exp(-dQ / (flexibility x Q))``) with one flexibility common to the oxides and no
cross-price effects, each log price falls in proportion to that addition
(:func:`entry_factors`). A
bastnaesite mine's entry thus lowers NdPr's price, hardly that of the trace of Dy in its
ore; a mine with the world's mix moves every price by one factor, its full cost over its
basket's value (the relative-sales-value allocation of joint costs; Horngren, Datar and
Rajan, *Cost Accounting*, ch. 16). Each oxide takes the largest factor among the producing
mines that yield it, and each concentrate its oxide content at the bounded prices
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
from scipy.optimize import brentq

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


def entry_factors(value: np.ndarray, index: np.ndarray, target: float) -> np.ndarray:
    """The factors by which the entry of a mine type moves the prices of its joint
    products until its basket just covers its full cost: (n,), dimensionless.

    Entry adds to each oxide's market in proportion to the mine's content relative to the
    market's mix (``index``: the mine's t of the oxide per t REO over the world's, Balassa's
    revealed comparative advantage in quantities), and with one price flexibility common to
    the oxides each price moves by ``exp(-k x index)``; ``k`` solves
    ``sum value x exp(-k x index) = target`` (scipy ``brentq``). A basket worth more than
    ``target`` gives factors below 1, a basket worth less factors above 1 (the prices at
    which the mine would just break even); a mine with the market's mix (every index 1)
    gets ``target / sum(value)`` for every oxide, the relative-sales-value allocation.

    Example (hand check): values (10, 10), indexes (1, 0), target 15: ``exp(-k) = 0.5``,
    factors (0.5, 1).

    Args:
        value: (n,) value of each oxide in the mine's basket at today's prices, USD/kg REO
            (> 0).
        index: (n,) the mine's content of each oxide over the world's, t per t REO over t
            per t REO (>= 0, at least one > 0).
        target: the basket value that covers the mine's full cost, USD/kg REO (> 0).

    Raises:
        ValueError: a target or value not above 0, a negative index, or no index above 0
            (no price would move), a target below the value of the oxides of index 0, or
            indexes so small that no finite move balances the basket.
    """
    if not (target > 0 and np.all(value > 0) and np.all(index >= 0) and np.any(index > 0)):
        raise ValueError(
            "entry_factors: needs target > 0, every value > 0, every index >= 0 and one > 0; "
            f"got target {target}, values {value.tolist()}, indexes {index.tolist()}"
        )

    idle = float(np.sum(value[index == 0]))  # worth of the oxides the mine does not add to
    if target <= idle:
        raise ValueError(
            f"entry_factors: the oxides the mine does not add to are worth {idle}, at least "
            f"the target {target}: no price moves enough"
        )

    def gap(k: float) -> float:
        return float(np.sum(value * np.exp(-k * index))) - target

    lo, hi = -1.0, 1.0
    while gap(lo) < 0 and lo > -1e12:
        lo *= 2.0
    while gap(hi) > 0 and hi < 1e12:
        hi *= 2.0
    if not gap(lo) >= 0 >= gap(hi):  # an index so small that no finite move balances
        raise ValueError(
            f"entry_factors: no price move up to exp(1e12 x index) balances the basket; "
            f"got target {target}, values {value.tolist()}, indexes {index.tolist()}"
        )
    k = brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12)
    return np.exp(-k * index)


def marginal_cost_ratios(
    mines: Iterable[tuple[float, Iterable[tuple[int, float]], int]],
    prices,
    recovery: float,
    n_goods: int,
    world: dict[int, float] | None = None,
) -> np.ndarray:
    """For each good, the factor by which the entry of new capacity bounds its long-run
    price: (n_goods,), dimensionless, NaN for a good no mine bounds.

    For each mine ``(full_cost, oxide_content, concentrate)`` (USD/kg REO: cash cost,
    separation and the capital charge of new capacity, :func:`capital_charge`; pairs of
    oxide good index and t of oxide per t REO; the good index of its concentrate) the
    factors :func:`entry_factors` move the prices of its separated basket to where it just
    covers its full cost, ``recovery x sum content x price x factor = full_cost`` (oxides
    without a finite positive price count 0; a mine whose basket has no value is left
    out). Each oxide's fall is shared in proportion to the mine's content of it over the
    ``world`` basket's (oxide good index -> t per t REO of the mines producing, quota-bound
    ones included; any scale): a bastnaesite mine's entry lowers NdPr's price, hardly that
    of the trace of Dy in its ore. ``world`` None: every index 1, one factor for the whole
    basket (full cost over basket value: the relative-sales-value allocation).

    * An oxide takes the largest factor of the mines that yield it (the costliest
      producer of the oxide bounds its price), and a mine's cost bounds the prices of its
      own joint products only. A mine with a trace of an oxide has a factor near 1 for it
      whatever its cost, so in effect an oxide is bound only while every producing mine
      that yields it would add to its market (the heavy oxides, while any light-rare-earth
      mine outside a quota produces, hardly at all; docs/calibration.md 4.42).
    * A concentrate takes its basket's value at the bounded oxide prices over its value
      at ``prices``, ``sum c p min(1, f) / sum c p`` (netback pricing: a concentrate is
      worth its payable oxide content), so a low-cost mine keeps its Ricardian rent. A
      concentrate none of whose mines is in ``mines`` (all quota-bound or mothballed)
      has no bound, even where its oxides have one.

    Example (hand check): mines (6, [(0, 0.5), (1, 0.5)], 2) and (8, [(0, 1.0)], 3);
    prices (10, 30); recovery 1; world None -> factors 6/20 = 0.3 and 8/10 = 0.8: oxide 0
    (both) 0.8, oxide 1 (the first only) 0.3; concentrate 2 (0.5 x 10 x 0.8 + 0.5 x 30 x
    0.3) / 20 = 0.425, concentrate 3 0.8.

    Args:
        mines: the mines producing this month.
        prices: price of each good, USD/kg (indexable by good index).
        recovery: separation recovery (share of REO recovered as oxides).
        n_goods: number of goods.
        world: the world's mined basket, oxide good index -> t per t REO (any scale).
    """
    mix = None
    if world is not None:
        total = sum(c for c in world.values() if c > 0)
        if total > 0:
            mix = {i: c / total for i, c in world.items() if c > 0}
    out = np.full(n_goods, np.nan)
    baskets = []
    solved: dict[tuple, np.ndarray] = {}  # identical mines (one deposit, one cost) solve once
    for full_cost, content, concentrate in mines:
        content = list(content)
        mined = sum(c for _, c in content)
        goods, values, index = [], [], []
        for i, c in content:
            p = float(prices[i])
            if c > 0 and math.isfinite(p) and p > 0:
                goods.append(i)
                values.append(c * p)
                if mix is not None and i not in mix:
                    raise ValueError(
                        f"marginal_cost_ratios: oxide {i} of a producing mine is not in world"
                    )
                index.append(c / mined / mix[i] if mix else 1.0)
        value = recovery * sum(values)
        if value <= 0 or not math.isfinite(full_cost / value):
            continue
        key = (full_cost, tuple(goods), tuple(values), tuple(index))
        if key not in solved:
            solved[key] = (
                entry_factors(np.asarray(values), np.asarray(index), full_cost / recovery)
                if full_cost > 0
                else np.zeros(len(goods))  # covers its cost at any price
            )
        baskets.append((concentrate, goods, values))
        for i, f in zip(goods, solved[key], strict=True):
            if not f <= out[i]:  # NaN (no mine yet) or a larger factor
                out[i] = f
    for concentrate, goods, values in baskets:
        bounded = sum(v * min(1.0, out[i]) for i, v in zip(goods, values, strict=True))
        out[concentrate] = bounded / sum(values)
    return out
