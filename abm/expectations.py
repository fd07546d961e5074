"""Where the two time constants of firms' price expectations come from.

Firms' expected prices (:meth:`agents.base.Firm.update_expectations`) follow the
short-term/long-term model of commodity prices (Schwartz and Smith 2000, "Short-term
variations and long-term dynamics in commodity prices", Management Science 46(7), 893-911):
the log price is a long-run level ``xi`` (a random walk with drift) plus a short-term
deviation ``chi`` that reverts to zero at rate ``kappa`` (an Ornstein-Uhlenbeck process).

* ``price_reversion_months`` is the deviation's time constant, ``12 / kappa`` months.
* ``price_anchor_months`` is how fast a firm's estimate of the long-run level follows a
  lasting change in prices. Rare-earth oxides have no futures market, so the level is
  filtered from spot prices alone: :func:`anchor_months` runs the model's steady-state
  Kalman filter on monthly spot prices and returns the months its estimate of ``xi`` takes
  to cover 63% (1 - 1/e) of a permanent step in the price, the time constant of the
  first-order smoother the firms use.

With Schwartz and Smith's estimates for oil futures 1990-95 (kappa 1.49/yr, sigma_chi 0.286,
sigma_xi 0.145, rho 0.3) these are 8.05 and 11 months (docs/calibration.md
4.39). No comparable estimates for rare earths exist, as nothing trades forward.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_discrete_are

#: Schwartz and Smith (2000), oil futures 1990-95: kappa (1/yr), sigma_chi,
#: sigma_xi (1/sqrt(yr)) and rho (correlation of the two shocks)
SCHWARTZ_SMITH_2000_OIL = {"kappa": 1.49, "sigma_chi": 0.286, "sigma_xi": 0.145, "rho": 0.3}


def reversion_months(kappa: float) -> float:
    """Time constant of the short-term deviation, months: ``12 / kappa``.

    Args:
        kappa: mean-reversion rate of the short-term deviation, 1/yr (> 0).

    Raises:
        ValueError: kappa not a finite positive number.
    """
    _check_real("kappa", kappa, "> 0 (1/yr)", lambda v: v > 0)
    return 12.0 / kappa


def _check_real(name: str, value, allowed: str, ok) -> None:
    """Raise one ValueError line unless ``value`` is a finite real number (not a bool or a
    string) for which ``ok(value)`` holds; ``allowed`` says what is allowed."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not ok(value)
    ):
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")


def anchor_months(
    kappa: float,
    sigma_chi: float,
    sigma_xi: float,
    rho: float,
    *,
    observation_sd: float = 1e-4,
    horizon_months: int = 600,
) -> int:
    """Months the steady-state Kalman filter of the short-term/long-term model, observing
    the log spot price each month, takes to move its estimate of the long-run level 63%
    (1 - 1/e) of the way to a permanent unit step in the price.

    State ``(chi, xi)``: ``chi' = exp(-kappa dt) chi + w1``, ``xi' = xi + w2`` with ``dt``
    = 1/12 yr and the exact discretisation of the shocks' covariance; observation ``chi +
    xi`` with a small measurement error ``observation_sd`` (log points; prices are reported
    weekly, so the monthly price is near exact). The drift of ``xi`` does not enter the
    filter's gain.

    Args:
        kappa: mean-reversion rate of the deviation, 1/yr (> 0).
        sigma_chi, sigma_xi: volatilities of the deviation and of the level, 1/sqrt(yr) (> 0).
        rho: correlation of their shocks (-1, 1).
        observation_sd: measurement error of the monthly log price (> 0).
        horizon_months: longest response looked at.

    Returns:
        The first month (1, 2, ...) at which the estimate reaches 63% of the step.

    Raises:
        ValueError: an argument not a finite number in its range (kappa 0.01-100/yr), or no
            63% response within the horizon.
    """
    _check_real("kappa", kappa, "in 0.01 to 100 (1/yr)", lambda v: 0.01 <= v <= 100)
    _check_real("sigma_chi", sigma_chi, "> 0 (1/sqrt(yr))", lambda v: v > 0)
    _check_real("sigma_xi", sigma_xi, "> 0 (1/sqrt(yr))", lambda v: v > 0)
    _check_real("rho", rho, "in (-1, 1)", lambda v: -1 < v < 1)
    _check_real("observation_sd", observation_sd, "> 0 (log points)", lambda v: v > 0)
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, int)
        or horizon_months < 1
    ):
        raise ValueError(f"horizon_months must be a whole number >= 1, got {horizon_months!r}")
    dt = 1.0 / 12.0
    phi = math.exp(-kappa * dt)
    var_chi = sigma_chi**2 * (1.0 - math.exp(-2.0 * kappa * dt)) / (2.0 * kappa)
    var_xi = sigma_xi**2 * dt
    cov = rho * sigma_chi * sigma_xi * (1.0 - math.exp(-kappa * dt)) / kappa
    F = np.array([[phi, 0.0], [0.0, 1.0]])
    Q = np.array([[var_chi, cov], [cov, var_xi]])
    H = np.array([[1.0, 1.0]])
    R = np.array([[observation_sd**2]])
    P = solve_discrete_are(F.T, H.T, Q, R)  # steady-state prior covariance
    gain = (P @ H.T / (H @ P @ H.T + R)).ravel()
    x = np.zeros(2)
    target = 1.0 - math.exp(-1.0)
    for month in range(1, horizon_months + 1):
        prior = F @ x
        x = prior + gain * (1.0 - (prior[0] + prior[1]))
        if x[1] >= target:
            return month
    raise ValueError(f"the long-run estimate does not reach 63% within {horizon_months} months")
