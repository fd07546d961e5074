"""The DoD offtake of the 10X plant: a cost-plus guarantee of a minimum EBITDA
(abm.policy.PolicyState.offtake_margin, MagnetMaker.cost_plus_price), limited to named
plants (offtake_plants), and its refusals."""

from __future__ import annotations

import pytest

from abm.model import RareEarthModel
from abm.scenario import apply_overrides, load_scenario


def _tenx_run(months=20, **overrides):
    sc = apply_overrides(load_scenario("controls-2025"), overrides) if overrides else None
    m = RareEarthModel(sc or "controls-2025", seed=0, months=months)
    m.run()
    tenx = next(p.agent for p in m.pipeline.projects if p.pid == "mp_10x")
    return m, tenx


def test_offtake_margin_and_cost_plus_price_by_hand():
    # controls-2025 to 2025-08 (step 19): the DoD measure's date is 2025-07-10 (step 18),
    # so 1 month of the +2% a year: 140e6 x 1.02^(1/12) / (9,000 t x 1000) = 15.581 USD/kg
    m, tenx = _tenx_run(months=20)
    assert m.policy.t == 19
    fee = m.policy.offtake_margin("US", "MP Materials", "mp_10x", 9000.0)
    assert fee == pytest.approx(140e6 * 1.02 ** (1 / 12) / 9e6, rel=1e-12)
    assert fee == pytest.approx(15.581, abs=1e-3)
    # other plants and companies get no margin; a plant of no nameplate neither
    assert m.policy.offtake_margin("US", "MP Materials", "mp_independence", 1000.0) == 0.0
    assert m.policy.offtake_margin("US", "Noveon Magnetics", None, 769.0) == 0.0
    assert m.policy.offtake_margin("US", "MP Materials", "mp_10x", 0.0) == 0.0
    # cost plus: every oxide of the bill of materials at 100 USD/kg, conversion cost 27
    tenx.nameplate = 9000.0
    g = m.catalog.index["mag_ndfeb_std"]
    oxides = sum(tenx.recipe(g).values())  # t oxide per t magnet
    assert 0.25 < oxides < 0.4
    price = tenx.cost_plus_price(g, lambda og: 100.0)
    assert price == pytest.approx(100.0 * oxides + tenx.unit_cost + fee)
    # the long-run margin of the mothball rule is then at least the fee
    assert tenx.longrun_margin() >= fee - 1e-9


def test_without_a_minimum_ebitda_the_offtake_has_no_cost_plus_price():
    m, tenx = _tenx_run(months=20, **{"measures.dod_floor.offtake_min_ebitda_usd": None})
    g = m.catalog.index["mag_ndfeb_std"]
    assert m.policy.offtake_margin("US", "MP Materials", "mp_10x", 9000.0) == 0.0
    assert tenx.cost_plus_price(g, lambda og: 100.0) == 0.0
    assert tenx.guaranteed(g) == m.policy.offtake_price("US", g, "MP Materials", "mp_10x") > 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"measures.dod_floor.offtake_plants": ["mp_10X"]},
            r"offtake_plants: unknown magnet plant 'mp_10X' in US \(did you mean 'mp_10x'\?\);"
            r" allowed: \['mp_10x', 'mp_independence'",
        ),
        (
            {"measures.dod_floor.offtake_plants": ["vulcan_benson"]},
            r"offtake_plants: 'vulcan_benson' is a plant of Vulcan Elements, not of the floor's"
            r" firms \['MP Materials'\]; allowed: \['mp_10x', 'mp_independence'",
        ),
        (
            {"measures.dod_floor.offtake_plants": ["mp_10x", "mp_10x"]},
            r"offtake_plants: a plant is given twice",
        ),
        (
            {"measures.dod_floor.offtake_plants": []},
            r"offtake_plants is empty; omit it for every magnet plant of the firms",
        ),
        (
            {"measures.dod_floor.offtake_share": 0.0},
            r"offtake_plants and offtake_min_ebitda_usd need an offtake: set offtake_share > 0",
        ),
        (
            {"measures.dod_floor.offtake_min_ebitda_usd": -1.0},
            r"offtake_min_ebitda_usd",
        ),
    ],
)
def test_bad_offtake_terms_are_refused_in_one_line(overrides, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(load_scenario("controls-2025"), overrides)
