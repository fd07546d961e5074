"""Substitution between two inputs that deliver the same service: a CES aggregate in
calibrated share form (Rutherford 2002, "Lecture notes on constant elasticity functions").

Used for Dy and Tb oxide in high-temperature NdFeB grades: both raise the coercivity of the
magnet (Herbst 1991, Rev. Mod. Phys. 63:819), in bulk alloys and as grain-boundary diffusion
sources, so a maker can deliver the same coercivity with more of one and less of the other.

Quantities are multipliers ``m`` of the base-year recipe (``m = 1`` at the base year) and
prices are relative prices ``r`` (expected over base-year price). With ``theta`` the Tb
share of the base-year cost of the two inputs and ``sigma`` the elasticity of substitution,
the service delivered is ``H = (theta_a m_a^rho + theta_b m_b^rho)^(1/rho)``,
``rho = (sigma - 1) / sigma`` (``m_a^theta_a m_b^theta_b`` at ``sigma = 1``); the recipes on
the unit isoquant ``H = 1`` deliver the base-year coercivity. Cost minimisation sets
``m_b / m_a = (r_a / r_b)^sigma``, and the unit cost index of the service is
``c = (theta_a r_a^(1-sigma) + theta_b r_b^(1-sigma))^(1/(1-sigma))``.
"""

from __future__ import annotations

import math

_ONE = 1e-9  # |sigma - 1| below which the Cobb-Douglas limit is used (floating point)


def target_log_ratio(rel_a: float, rel_b: float, sigma: float) -> float:
    """Cost-minimising ``ln(m_b / m_a)`` at relative prices ``rel_a``, ``rel_b`` (> 0):
    ``sigma x ln(rel_a / rel_b)``; 0 at base-year prices.

    Raises:
        ValueError: a relative price is not positive.
    """
    if rel_a <= 0 or rel_b <= 0:
        raise ValueError(f"relative prices must be positive, got {rel_a} and {rel_b}")
    return sigma * math.log(rel_a / rel_b)


def isoquant(theta_b: float, log_ratio: float, sigma: float) -> tuple[float, float]:
    """Multipliers ``(m_a, m_b)`` on the unit isoquant with ``ln(m_b / m_a) = log_ratio``;
    ``theta_b`` in [0, 1] is input b's base-year cost share. ``(1, 1)`` at ``log_ratio = 0``.

    Raises:
        ValueError: ``theta_b`` outside [0, 1] or ``sigma`` not positive.
    """
    if not 0.0 <= theta_b <= 1.0 or sigma <= 0:
        raise ValueError(f"need 0 <= theta_b <= 1 and sigma > 0, got {theta_b} and {sigma}")
    theta_a = 1.0 - theta_b
    if abs(sigma - 1.0) < _ONE:
        m_a = math.exp(-theta_b * log_ratio)
    else:
        rho = (sigma - 1.0) / sigma
        m_a = (theta_a + theta_b * math.exp(log_ratio * rho)) ** (-1.0 / rho)
    return m_a, m_a * math.exp(log_ratio)


def cost_index(theta_b: float, rel_a: float, rel_b: float, sigma: float) -> float:
    """Unit cost of the service at relative prices ``rel_a``, ``rel_b`` over its base-year
    cost, with the recipe cost-minimising (1 at base-year prices)."""
    theta_a = 1.0 - theta_b
    if abs(sigma - 1.0) < _ONE:
        return rel_a**theta_a * rel_b**theta_b
    e = 1.0 - sigma
    return (theta_a * rel_a**e + theta_b * rel_b**e) ** (1.0 / e)
