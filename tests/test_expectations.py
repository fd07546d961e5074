"""The time constants of firms' price expectations and their source (abm/expectations.py)."""

import math

import pytest

from abm.expectations import SCHWARTZ_SMITH_2000_OIL, anchor_months, reversion_months
from abm.parameters import Parameters


def test_reversion_time_constant_is_twelve_over_kappa():
    assert reversion_months(1.49) == pytest.approx(8.0537, abs=1e-4)
    assert reversion_months(1.0) == 12.0
    for bad in (0.0, -1.0, float("inf"), float("nan"), True, "1.49"):
        with pytest.raises(ValueError, match="kappa must be a finite number > 0"):
            reversion_months(bad)


def test_long_run_filter_of_the_oil_estimates_takes_eleven_months():
    assert anchor_months(**SCHWARTZ_SMITH_2000_OIL) == 11


def test_shipped_time_constants_are_the_sourced_ones():
    par = Parameters()
    assert par.price_reversion_months == round(reversion_months(SCHWARTZ_SMITH_2000_OIL["kappa"]))
    assert par.price_anchor_months == anchor_months(**SCHWARTZ_SMITH_2000_OIL)


def test_filter_follows_the_level_faster_the_more_of_the_noise_is_lasting():
    # a price whose moves are mostly lasting (sigma_xi large) is followed at once; one whose
    # moves are mostly transient (sigma_xi small) is followed slowly
    k, sc, rho = 1.49, 0.286, 0.3
    fast, mid, slow = (anchor_months(k, sc, sx, rho) for sx in (0.5, 0.145, 0.05))
    assert fast == 1 and mid == 11 and slow > 30


def test_a_pure_random_walk_is_followed_within_a_month():
    # hand check: with no transient noise the filter's level is the observed price
    assert anchor_months(1.49, 1e-6, 0.145, 0.0) == 1


def test_invalid_arguments_raise_one_clear_line():
    with pytest.raises(ValueError, match=r"rho must be a finite number in \(-1, 1\)"):
        anchor_months(1.49, 0.286, 0.145, 1.0)
    with pytest.raises(ValueError, match="observation_sd"):
        anchor_months(1.49, 0.286, 0.145, 0.3, observation_sd=0.0)
    with pytest.raises(ValueError, match="within 3 months"):
        anchor_months(1.49, 0.286, 0.01, 0.3, horizon_months=3)
    # a new user's trial (session 32): each of these returned a number or a library's error
    bad = [
        ({"kappa": float("inf")}, "kappa must be a finite number in 0.01 to 100"),
        ({"kappa": 1e-12}, "kappa must be a finite number in 0.01 to 100"),
        ({"kappa": True}, "kappa must be"),
        ({"kappa": "1.49"}, "kappa must be"),
        ({"sigma_chi": float("inf")}, "sigma_chi must be a finite number > 0"),
        ({"horizon_months": 0}, "horizon_months must be a whole number >= 1"),
        ({"horizon_months": 2.5}, "horizon_months must be a whole number >= 1"),
    ]
    for change, msg in bad:
        with pytest.raises(ValueError, match=msg):
            anchor_months(**{**SCHWARTZ_SMITH_2000_OIL, **change})
    assert math.isfinite(reversion_months(3.0))
