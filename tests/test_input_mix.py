"""Dy/Tb substitution in high-temperature NdFeB grades: the CES functions of abm.input_mix
checked by hand, and a magnet maker that moves its mix towards the cheaper coercivity source
on the isoquant of base-year coercivity."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm import input_mix
from abm.model import RareEarthModel
from agents import MagnetMaker


def test_cobb_douglas_case_by_hand():
    # sigma 1, equal cost shares: Tb four times dearer relative to Dy -> Tb/Dy ratio / 4,
    # and m_dy * m_tb = 1 on the isoquant: m_dy = 2, m_tb = 0.5; cost index sqrt(1 x 4) = 2
    rho = input_mix.target_log_ratio(1.0, 4.0, 1.0)
    assert rho == pytest.approx(-math.log(4))
    assert input_mix.isoquant(0.5, rho, 1.0) == pytest.approx((2.0, 0.5))
    assert input_mix.cost_index(0.5, 1.0, 4.0, 1.0) == pytest.approx(2.0)


def test_ces_case_by_hand():
    # sigma 2 (rho 1/2), theta_b 0.5: H = (0.5 sqrt(m_a) + 0.5 sqrt(m_b))^2; with
    # m_b / m_a = 1/4 -> sqrt(m_a) (0.5 + 0.25) = 1 -> m_a = 16/9, m_b = 4/9
    rho = input_mix.target_log_ratio(1.0, 2.0, 2.0)  # 2 ln(1/2) = ln(1/4)
    assert rho == pytest.approx(math.log(0.25))
    assert input_mix.isoquant(0.5, rho, 2.0) == pytest.approx((16 / 9, 4 / 9))
    # cost index (0.5 x 1 + 0.5 x 2^-1)^-1 = 4/3 = cost of the recipe above at prices (1, 2)
    assert input_mix.cost_index(0.5, 1.0, 2.0, 2.0) == pytest.approx(4 / 3)
    assert 16 / 9 * 0.5 * 1.0 + 4 / 9 * 0.5 * 2.0 == pytest.approx(4 / 3)


@settings(max_examples=200, deadline=None)
@given(
    theta=st.floats(0.01, 0.99),
    rel_a=st.floats(0.05, 50),
    rel_b=st.floats(0.05, 50),
    sigma=st.floats(0.5, 4.0),
)
def test_target_mix_is_cost_minimising_on_the_isoquant(theta, rel_a, rel_b, sigma):
    """The target recipe delivers base-year coercivity (H = 1), costs the cost index, and no
    other recipe on the isoquant is cheaper."""
    rho = input_mix.target_log_ratio(rel_a, rel_b, sigma)
    m_a, m_b = input_mix.isoquant(theta, rho, sigma)
    r = (sigma - 1) / sigma
    h = (
        m_a ** (1 - theta) * m_b**theta
        if abs(sigma - 1) < 1e-9
        else ((1 - theta) * m_a**r + theta * m_b**r) ** (1 / r)
    )
    assert h == pytest.approx(1.0, rel=1e-9)
    cost = (1 - theta) * rel_a * m_a + theta * rel_b * m_b
    assert cost == pytest.approx(input_mix.cost_index(theta, rel_a, rel_b, sigma), rel=1e-7)
    for d in (-0.3, 0.3):
        o_a, o_b = input_mix.isoquant(theta, rho + d, sigma)
        assert (1 - theta) * rel_a * o_a + theta * rel_b * o_b >= cost * (1 - 1e-12)


def test_input_mix_refuses_bad_input():
    with pytest.raises(ValueError, match="positive"):
        input_mix.target_log_ratio(0.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="theta_b"):
        input_mix.isoquant(1.5, 0.0, 1.5)


@pytest.fixture(scope="module")
def model():
    return RareEarthModel("baseline", seed=0, months=1)


def test_maker_moves_towards_the_cheaper_coercivity_source(model):
    """Tb expected at 4x its base-year price: one month moves ln(Tb/Dy) by (1 - e^(-1/tau))
    of sigma x ln(1/4), on the isoquant; the high-temperature recipe follows, the standard
    grade keeps its Dy, and the bundle's price index is the CES cost index."""
    par = model.params
    mk = next(a for a in model.agents_by_type[MagnetMaker] if a.product == "ndfeb")
    dy, tb = mk._dy, mk._tb
    keep = (dict(mk.exp_price), mk.hre_log_ratio, mk.hre_mult)
    try:
        mk.exp_price[dy] = mk.base_price(dy)
        mk.exp_price[tb] = 4 * mk.base_price(tb)
        sigma, tau = par.hre_substitution_elasticity, par.hre_mix_months
        theta = mk._tb_share()
        ht = mk.bom[mk._ht]
        assert theta == pytest.approx(
            ht[tb] * mk.base_price(tb) / (ht[tb] * mk.base_price(tb) + ht[dy] * mk.base_price(dy))
        )
        rel = mk._remix()
        step = sigma * math.log(0.25) * (1 - math.exp(-1 / tau))
        assert mk.hre_log_ratio == pytest.approx(step)
        m_dy, m_tb = mk.hre_mult
        assert m_tb / m_dy == pytest.approx(math.exp(step))
        assert m_dy > 1 > m_tb
        assert rel == pytest.approx(input_mix.cost_index(theta, 1.0, 4.0, sigma))
        r = mk.recipe(mk._ht)
        h = mk.hre_factor
        assert r[dy] == pytest.approx(ht[dy] * h * m_dy)
        assert r[tb] == pytest.approx(ht[tb] * h * m_tb)
        assert mk.recipe(mk._std)[dy] == pytest.approx(mk.bom[mk._std][dy] * h)
    finally:
        mk.exp_price.clear()
        mk.exp_price.update(keep[0])
        mk.hre_log_ratio, mk.hre_mult = keep[1], keep[2]
