"""The goods traded along the chain and their element content.

Goods (all quantities in tonnes; concentrate and oxides on a t REO basis):

* ``conc_<deposit>`` -- mixed concentrate of one deposit type (``bayan_obo``,
  ``bastnaesite``, ``mt_weld``, ``monazite``, ``ionic_clay``); its element composition is
  the deposit's (``abm/data/deposits.csv``, Long et al. 2010, USGS SIR 2010-5220), so
  separation is co-production in fixed ratios (the "balance problem").
* ``ox_<El>`` -- separated oxide of one rare earth (all 17 except Pm, which is not mined).
* ``mag_ndfeb_std``, ``mag_ndfeb_ht`` (Dy/Tb high-temperature grade), ``mag_smco`` --
  sintered magnets; bill of materials in t oxide per t magnet (``magnets.csv``).

``Catalog`` holds the index of goods, the element-content matrix and base-year reference
prices (USD/kg), built once per base year from the data files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy and the data tables (pandas) are imported where used, so the names below cost nothing
# to import (``ree --help``, sweep planning and scenario validation use them)

#: The 17 rare earths (lanthanides, Y and Sc); symbols of ``abm/data/elements.csv``.
ELEMENT_SYMBOLS = (
    "La",
    "Ce",
    "Pr",
    "Nd",
    "Pm",
    "Sm",
    "Eu",
    "Gd",
    "Tb",
    "Dy",
    "Ho",
    "Er",
    "Tm",
    "Yb",
    "Lu",
    "Y",
    "Sc",
)
#: The supply-chain stages, upstream first: mine (t REO of concentrate), separate (t of
#: oxide), make magnets (t of magnet).
STAGES: tuple[str, ...] = ("mining", "separation", "magnets")

ELEMENTS: tuple[str, ...] = tuple(e for e in ELEMENT_SYMBOLS if e != "Pm")
DEPOSITS: tuple[str, ...] = ("bayan_obo", "bastnaesite", "mt_weld", "monazite", "ionic_clay")
GRADES: tuple[str, ...] = ("ndfeb_std", "ndfeb_ht", "smco")
LIGHT_FEEDS = ("bayan_obo", "bastnaesite", "mt_weld", "monazite")
HEAVY_FEEDS = ("ionic_clay",)
FEED_CLASSES = {"light": LIGHT_FEEDS, "heavy": HEAVY_FEEDS}

#: Oxides a light-only separation circuit separates. Outside China, plants without a heavy
#: circuit sold the rest of their feed's content as a mixed heavy compound ("SEGH") to
#: separators in China (Lynas before May 2025: SEAISI/Kallanish 2024-06-28; "the world's only
#: commercial producer of separated heavy rare earth products outside China" from May 2025,
#: Lynas 2025-05-16).
LIGHT_OXIDES = ("La", "Ce", "Pr", "Nd")

#: Elements that must stay separate (docs/ODD.md); we keep all 16 mined ones separate.
KEY_ELEMENTS = ("Nd", "Pr", "Dy", "Tb", "Sm", "Y", "Ce", "La")

#: Share of NdPr oxide that is Nd (commercial NdPr oxide is about 75:25 Nd:Pr).
NDPR_ND_SHARE = 0.75


def conc(deposit: str) -> str:
    """Name of the concentrate good of ``deposit``."""
    return f"conc_{deposit}"


def ox(element: str) -> str:
    """Name of the oxide good of ``element``."""
    return f"ox_{element}"


def mag(grade: str) -> str:
    """Name of the magnet good of ``grade``."""
    return f"mag_{grade}"


def stage_of(good: str) -> str:
    """Stage of a good: ``"mining"`` (concentrate), ``"separation"`` (oxide) or ``"magnets"``."""
    return {"conc": "mining", "ox": "separation", "mag": "magnets"}[good.split("_", 1)[0]]


@dataclass(frozen=True)
class Catalog:
    """Index of goods with element content and reference prices for one base year.

    Attributes:
        goods: tuple of good names, the order used by every array over goods.
        index: good name -> position.
        content: array (n_goods, n_elements), t of element oxide per t of good.
        ref_price: array (n_goods,), base-year reference price, USD/kg.
        base_year: the calibration year.
        payability: share of the separated-oxide basket value paid for concentrate (and for
            a light-only plant's mixed heavy compound), the parameter
            ``concentrate_payability``.
    """

    goods: tuple[str, ...]
    index: dict[str, int]
    content: np.ndarray
    ref_price: np.ndarray
    base_year: int
    payability: float

    def composition(self, good: str) -> dict[str, float]:
        """Element -> t oxide per t of ``good`` (zeros omitted)."""
        row = self.content[self.index[good]]
        return {e: float(v) for e, v in zip(ELEMENTS, row, strict=True) if v > 0}

    def price(self, good: str) -> float:
        """Base-year reference price of ``good``, USD/kg."""
        return float(self.ref_price[self.index[good]])

    def bom(self, grade: str) -> dict[str, float]:
        """Bill of materials of a magnet grade: oxide good -> t per t magnet."""
        return {ox(e): v for e, v in self.composition(mag(grade)).items()}


def deposit_compositions() -> dict[str, dict[str, float]]:
    """Element composition of each deposit type's concentrate: deposit -> element -> share
    of REO (t oxide per t REO), the ``percent_reo`` of ``deposits.csv`` divided by the
    deposit's total, so each composition sums to 1. The one source of the concentrates'
    content (:func:`catalog`) and of the NdPr share that converts pipeline capacities
    (``abm/investment.py``); ``abm/data.py`` refuses a table whose total lies outside
    ``DEPOSIT_SUM_PERCENT``.

    Raises:
        DataError: a data file fails validation.
    """
    from abm.data import load_table

    deposits = load_table("deposits.csv")
    out: dict[str, dict[str, float]] = {}
    for d in DEPOSITS:
        rows = deposits[deposits["deposit"] == d]
        total = rows["percent_reo"].sum()
        out[d] = {r["element"]: r["percent_reo"] / total for _, r in rows.iterrows()}
    return out


@functools.cache
def catalog(base_year: int = 2024, payability: float = 0.4) -> Catalog:
    """Build the goods catalogue for ``base_year`` (2024 prices and bills of materials, or
    the 2009 ones before 2015);
    a concentrate's reference price is ``payability`` (``concentrate_payability``, default
    its shipped value) x the value of its oxide content at the oxides' reference prices.

    Raises:
        DataError: a data file fails validation.
    """
    import numpy as np

    from abm.data import load_table

    price_col = "price_2024_usd_kg" if base_year >= 2015 else "price_2009_usd_kg"
    mag_col = "base_price_2024_usd_kg" if base_year >= 2015 else "base_price_2009_usd_kg"
    # the bill of materials of the base year's fleet (2009: conventional high-temperature
    # grades, before grain-boundary diffusion spread)
    bom_col = "t_oxide_per_t_magnet" if base_year >= 2015 else "t_oxide_per_t_magnet_2009"
    elements = load_table("elements.csv").set_index("symbol")
    magnets = load_table("magnets.csv")
    goods = [conc(d) for d in DEPOSITS] + [ox(e) for e in ELEMENTS] + [mag(g) for g in GRADES]
    index = {g: i for i, g in enumerate(goods)}
    content = np.zeros((len(goods), len(ELEMENTS)))
    eidx = {e: i for i, e in enumerate(ELEMENTS)}
    for d, shares in deposit_compositions().items():
        for e, share in shares.items():
            content[index[conc(d)], eidx[e]] = share
    for e in ELEMENTS:
        content[index[ox(e)], eidx[e]] = 1.0
    price = np.zeros(len(goods))
    for e in ELEMENTS:
        price[index[ox(e)]] = float(elements.loc[e, price_col])
    for g in GRADES:
        rows = magnets[magnets["grade"] == g]
        for _, r in rows.iterrows():
            content[index[mag(g)], eidx[r["element"]]] = r[bom_col]
        price[index[mag(g)]] = float(rows[mag_col].iloc[0])
    oxide_prices = np.array([price[index[ox(e)]] for e in ELEMENTS])
    for d in DEPOSITS:
        price[index[conc(d)]] = payability * float(content[index[conc(d)]] @ oxide_prices)
    content.setflags(write=False)
    price.setflags(write=False)
    return Catalog(tuple(goods), index, content, price, base_year, payability)
