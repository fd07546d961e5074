"""Regions, alliances and transport costs (``abm/data/regions.csv``).

Each region has one :class:`agents.government.Government`. The ``alliance`` column marks the
US-led group (US, JP, EU, KR, AU) used by licence policies ("allied" destinations) and by
the allied-response scenario; users can redraw it in the data file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from abm.data import load_table

CHINA = "CN"

#: Region label of aggregates over the regions other than China (recorded series).
OUTSIDE_CHINA = "nonCN"


@dataclass(frozen=True)
class RegionTable:
    """Region codes, names and alliance membership.

    Attributes:
        codes: region codes in model order (CN first).
        names: code -> display name.
        allied: codes of regions with ``alliance == "allied"``.
        continent: code -> continent (for transport cost).
        usgs_names: USGS country name -> region code.
    """

    codes: tuple[str, ...]
    names: dict[str, str]
    allied: frozenset[str]
    continent: dict[str, str]
    usgs_names: dict[str, str]

    def index(self, code: str) -> int:
        """Position of ``code`` in :attr:`codes` (raises ValueError listing codes)."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise ValueError(f"unknown region '{code}'; allowed: {list(self.codes)}") from None


@functools.cache
def regions() -> RegionTable:
    """The shipped region table (cached)."""
    df = load_table("regions.csv")
    codes = tuple(df["code"])
    usgs = {}
    for code, names in zip(df["code"], df["usgs_names"], strict=True):
        for n in names.split(";"):
            usgs[n.strip()] = code
    return RegionTable(
        codes=codes,
        names=dict(zip(df["code"], df["name"], strict=True)),
        allied=frozenset(
            c for c, a in zip(df["code"], df["alliance"], strict=True) if a == "allied"
        ),
        continent=dict(zip(df["code"], df["continent"], strict=True)),
        usgs_names=usgs,
    )


#: International freight and handling by stage, USD/kg (assumption: sea freight of a few
#: hundred USD/t for concentrate and oxides, air/sea mix for magnets; docs/calibration.md).
TRANSPORT_USD_KG = {"mining": 0.15, "separation": 0.4, "magnets": 1.0}


def transport_matrix(stage: str) -> np.ndarray:
    """Transport cost from region i to region j for goods of ``stage``, USD/kg.

    Returns:
        array (n_regions, n_regions): 0 on the diagonal, the stage's base cost between
        regions of one continent and 1.5 times it between continents.
    """
    tab = regions()
    n = len(tab.codes)
    base = TRANSPORT_USD_KG[stage]
    m = np.full((n, n), 1.5 * base)
    for i, a in enumerate(tab.codes):
        for j, b in enumerate(tab.codes):
            if i == j:
                m[i, j] = 0.0
            elif tab.continent[a] == tab.continent[b]:
                m[i, j] = base
    return m
