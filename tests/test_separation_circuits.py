"""Light-only separation circuits outside China: the heavy content of their feed leaves as a
mixed compound separated in China until their heavy circuit starts (firms.csv `separates`,
`heavy_circuit_from`)."""

import numpy as np
import pandas as pd
import pytest

from abm.data import DataError, validate_frame
from abm.goods import ELEMENTS, LIGHT_OXIDES, ox
from abm.model import RareEarthModel
from agents import Refiner
from agents.refiner import hand_over_mixed_heavies


@pytest.fixture(scope="module")
def model():
    return RareEarthModel("controls-2025", seed=0, months=17)


@pytest.fixture(scope="module")
def ran():
    """controls-2025 run to May 2025, with the Dy oxide that separation plants outside China
    made each month (t)."""
    m = RareEarthModel("controls-2025", seed=0, months=17)
    dy = m.catalog.index["ox_Dy"]
    made = []
    while m.running:
        m.step()
        made.append(
            {
                r.region: r.output_month.get(dy, 0.0)
                for r in m.agents_by_type[Refiner]
                if r.region != "CN"
            }
        )
    return m, made


def _plant(model, name):
    return next(r for r in model.agents_by_type[Refiner] if r.name.startswith(name))


def test_circuits_from_the_data(model):
    lynas, mp = _plant(model, "Lynas Rare Earths (Kuantan)"), _plant(model, "MP Materials")
    assert not lynas.separates_all and lynas.heavy_from == pd.Period("2025-05", freq="M")
    assert not mp.separates_all and mp.heavy_from == pd.Period("2026-07", freq="M")
    assert all(r.separates_all for r in model.agents_by_type[Refiner] if r.region == "CN")
    light = {model.catalog.index[ox(e)] for e in LIGHT_OXIDES}
    for og, w in zip(lynas.oxide_goods, lynas.separated, strict=True):
        assert w == (1.0 if og in light else 0.0)


def test_light_plant_values_the_mixed_compound_at_payability(model):
    """feed value = recovery x (light oxides at their price + the rest at 0.4 of it) - cost,
    by hand for Mt Weld concentrate at Lynas."""
    lynas = _plant(model, "Lynas Rare Earths (Kuantan)")
    cat, rho = model.catalog, model.params.separation_recovery
    assert model.params.concentrate_payability == 0.4  # the shipped value, used by hand below
    g = cat.index["conc_mt_weld"]
    light = {cat.index[ox(e)] for e in LIGHT_OXIDES}
    by_hand = 0.0
    for i, og in enumerate(lynas.oxide_goods):
        w = 1.0 if og in light else 0.4
        by_hand += cat.content[g][i] * w * lynas.sale_price(og)
    assert lynas.feed_value(g) == pytest.approx(rho * by_hand - lynas.unit_cost)
    pos = lynas.feed_goods.index(g)
    assert lynas.feed_values()[0][pos] == pytest.approx(lynas.feed_value(g))


def test_mixed_compound_goes_to_the_largest_chinese_heavy_plant():
    m = RareEarthModel("controls-2025", seed=0, months=1)
    refiners = list(m.agents_by_type[Refiner])
    lynas = _plant(m, "Lynas Rare Earths (Kuantan)")
    takers = [r for r in refiners if r.region == "CN" and "heavy" in r.feeds and r.active]
    taker = max(takers, key=lambda r: (r.capacity, -r.unique_id))
    dy, tb = m.catalog.index["ox_Dy"], m.catalog.index["ox_Tb"]
    i_dy, i_tb = lynas.oxide_goods.index(dy), lynas.oxide_goods.index(tb)
    before = {g: taker.stock(g).qty for g in (dy, tb)}
    produced = m.produced.copy()
    lynas.mixed_heavy[:] = 0.0
    lynas.mixed_heavy[i_dy], lynas.mixed_heavy[i_tb] = 3.0, 1.0
    lynas.mixed_heavy_cm = 0.0  # not mined in China
    cash = taker.month_cash
    hand_over_mixed_heavies(refiners)
    # the taker pays what Lynas booked: 0.4 of Lynas' expected Dy and Tb prices, x 1000 USD/t
    paid = 1000.0 * 0.4 * (3.0 * lynas.expected(dy) + lynas.expected(tb))
    assert cash - taker.month_cash == pytest.approx(paid)
    assert taker.stock(dy).qty == pytest.approx(before[dy] + 3.0)
    assert taker.stock(tb).qty == pytest.approx(before[tb] + 1.0)
    assert m.produced[dy] - produced[dy] == pytest.approx(3.0)
    assert lynas.mixed_heavy.sum() == 0.0
    assert np.abs(m.mass_balance()).max() < 1e-6


def test_no_dy_separated_outside_china_until_lynas_heavy_circuit(ran):
    """controls-2025 from January 2024: no separation plant outside China makes Dy oxide
    before May 2025 (month 17); Lynas does from May 2025 (its heavy circuit), and the mixed
    compound keeps the element balance."""
    model, made = ran
    assert len(made) == 17
    assert all(sum(month.values()) == 0.0 for month in made[:16])
    assert made[16]["MY"] > 0
    lynas = _plant(model, "Lynas Rare Earths (Kuantan)")
    assert lynas.separates_all and lynas.heavy_from is None
    # logged once, in May 2025, under a kind that says what happened (it was "separation")
    ev = model.events_frame()
    starts = ev[ev.kind == "heavy circuit starts"]
    assert list(starts.date) == ["2025-05"] and "Kuantan" in starts.text.iloc[0]
    assert "separation" not in set(ev.kind)
    assert np.abs(model.mass_balance()).max() < 1e-6 * max(1.0, model.produced.max())


@pytest.mark.parametrize(
    "stage,separates,heavy_from,field",
    [
        ("mining", "light", "", "separates"),
        ("separation", "", "", "separates"),
        ("separation", "all", "2025-05", "heavy_circuit_from"),
        ("separation", "medium", "", "separates"),
        # a new user's report: pandas read these as some month without a word
        ("separation", "light", "May 2025", "heavy_circuit_from"),
        ("separation", "light", "2025Q3", "heavy_circuit_from"),
        ("separation", "light", "1/5/2025", "heavy_circuit_from"),
        ("separation", "light", "1800-01", "heavy_circuit_from"),
        ("separation", "light", "2025-13", "heavy_circuit_from"),
    ],
)
def test_bad_circuit_rows_are_refused(stage, separates, heavy_from, field):
    row = {
        "base_year": "2024",
        "stage": stage,
        "region": "MY",
        "firm": "X",
        "product": "light" if stage == "separation" else "mt_weld",
        "base_output_t_per_yr": "1000",
        "n_firms": "1",
        "unit_cost_usd_kg": "8",
        "ht_share": "",
        "source": "test",
        "status": "verified",
        "separates": separates,
        "heavy_circuit_from": heavy_from,
        "note": "",
    }
    df = pd.DataFrame([row], dtype=str)
    with pytest.raises(DataError, match=f"field '{field}'"):
        validate_frame(df, "firms.csv", "firms.csv")


def test_concentrate_payability_sets_the_concentrate_reference_price():
    # the reference price of a concentrate is payability x the value of its oxide content at
    # the oxides' reference prices; a run with payability 0.6 has 1.5 x the shipped prices,
    # and the oxide and magnet prices are unchanged
    a = RareEarthModel("controls-2025", seed=0, months=1).catalog
    b = RareEarthModel(
        "controls-2025", seed=0, months=1, overrides={"parameters.concentrate_payability": 0.6}
    ).catalog
    g = a.index["conc_mt_weld"]
    oxides = [a.index[ox(e)] for e in ELEMENTS]
    assert a.ref_price[g] == pytest.approx(0.4 * a.content[g] @ a.ref_price[oxides])
    assert b.ref_price[g] == pytest.approx(1.5 * a.ref_price[g])
    assert b.ref_price[oxides] == pytest.approx(a.ref_price[oxides])
