"""Readable names for the codes of the recorded series (charts and tables of ``ree``).

Region names are read from ``abm/data/regions.csv`` (``name`` column, via
:func:`abm.regions.regions`), so a region a user adds to the data is named in the charts too.
``abm/data/sectors.csv`` has no name column, so the end-use sector names are this module's
:data:`SECTOR_NAMES` (the only list of them); an unknown code is shown as it is.
"""

from __future__ import annotations

#: End-use sector code (``good`` column of ``lost_output``, ``value_added_lost``) -> name;
#: the descriptions follow the ``source`` column of ``abm/data/sectors.csv``.
SECTOR_NAMES: dict[str, str] = {
    "ev": "EV traction motors",
    "wind": "Wind turbines",
    "electronics": "Consumer electronics",
    "industrial": "Industrial and other",
    "defense": "Defense",
    "non_magnet": "Non-magnet uses",
}

#: Aggregate region labels of the recorded series (not rows of ``regions.csv``).
AGGREGATE_NAMES: dict[str, str] = {"World": "World", "nonCN": "outside China"}


def region_name(code: str) -> str:
    """The name of region ``code`` in ``abm/data/regions.csv`` (``MM`` -> ``Myanmar``), of an
    aggregate (``nonCN`` -> ``outside China``), or ``code`` itself when unknown."""
    from abm.regions import regions

    return regions().names.get(code) or AGGREGATE_NAMES.get(code, code)


def sector_name(code: str) -> str:
    """The name of end-use sector ``code`` (``ev`` -> ``EV traction motors``), or ``code``."""
    return SECTOR_NAMES.get(code, code)
