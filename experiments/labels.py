"""Readable names for the codes of the recorded series (charts and tables of ``ree``).

Region names are read from ``abm/data/regions.csv`` (``name`` column, via
:func:`abm.regions.regions`), so a region a user adds to the data is named in the charts too.
``abm/data/sectors.csv`` has no name column, so the end-use sector names are this module's
:data:`SECTOR_NAMES` (the only list of them); an unknown code is shown as it is.
"""

from __future__ import annotations

import math

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

#: One colour per region in every chart (``ree run``'s PNG charts and the app): the only
#: palette. The USA is a strong blue (the light blue it had was faint, its thin monthly line
#: in china_content.png almost invisible); a region a user adds to ``regions.csv`` gets a
#: colour from :data:`SPARE_COLOURS` (:func:`region_colour`).
REGION_COLOURS: dict[str, str] = {
    "CN": "#d62728",
    "US": "#0b50c4",
    "JP": "#9467bd",
    "EU": "#2ca02c",
    "KR": "#ff7f0e",
    "AU": "#8c564b",
    "MY": "#e377c2",
    "MM": "#393b79",
    "VN": "#bcbd22",
    "BR": "#17becf",
    "IN": "#7f7f7f",
    "ROW": "#c7c7c7",
}

#: One line style per region, with :data:`REGION_COLOURS` (matplotlib styles): the regions
#: of prices.png each have their own, so lines whose prices coincide stay distinguishable
#: (and the legend shows which is which); any other region is solid
#: (:func:`region_linestyle`).
REGION_LINESTYLES: dict[str, str] = {"JP": "-", "EU": "-.", "US": ":", "CN": "--"}

#: Colours of regions missing from :data:`REGION_COLOURS`, in turn.
SPARE_COLOURS = ("#637939", "#843c39", "#7b4173", "#e7ba52", "#3182bd", "#31a354")

#: Aggregate region labels of the recorded series (not rows of ``regions.csv``).
AGGREGATE_NAMES: dict[str, str] = {"World": "World", "nonCN": "outside China"}


def region_name(code: str) -> str:
    """The name of region ``code`` in ``abm/data/regions.csv`` (``MM`` -> ``Myanmar``), of an
    aggregate (``nonCN`` -> ``outside China``), or ``code`` itself when unknown."""
    from abm.regions import regions

    return regions().names.get(code) or AGGREGATE_NAMES.get(code, code)


def region_colour(code: str) -> str:
    """The chart colour of region ``code`` (:data:`REGION_COLOURS`); an unknown code gets one
    of :data:`SPARE_COLOURS`, the same one every time (chosen from its letters)."""
    if code in REGION_COLOURS:
        return REGION_COLOURS[code]
    return SPARE_COLOURS[sum(map(ord, code)) % len(SPARE_COLOURS)]


def region_linestyle(code: str) -> str:
    """The chart line style of region ``code`` (:data:`REGION_LINESTYLES`; solid when not
    listed)."""
    return REGION_LINESTYLES.get(code, "-")


def months_text(n) -> str:
    """A count of months for a header or message: ``1 month``, ``2 months``, ``1.5 months``;
    anything not a number (``"?"``, a missing value) is shown as it is, with ``months``."""
    try:
        x = float(n)
    except (TypeError, ValueError):
        return f"{n} months"
    return f"{x:g} month" + ("" if x == 1 else "s")


def number_text(v) -> str:
    """A number of a terminal table, in one readable format: ``-`` when not a number;
    thousands separators from 1,000 (``13,600``); below that 3 significant digits in fixed
    notation (``1.00``, ``0.00343``, ``12.3``); values between -0.001 and 0.001 (other than
    0) as ``<0.001`` or ``>-0.001`` (never scientific notation)."""
    x = float(v)
    if not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    r = float(f"{x:.3g}")
    if abs(r) >= 999.5:
        return f"{x:,.0f}"
    if abs(r) < 0.001:
        return "<0.001" if x > 0 else ">-0.001"
    return f"{r:.{max(0, 2 - math.floor(math.log10(abs(r))))}f}"


def count_text(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number, as :func:`months_text`: ``1 run``,
    ``2 runs``, ``0 runs`` (``plural`` when not ``noun + "s"``)."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def sector_name(code: str) -> str:
    """The name of end-use sector ``code`` (``ev`` -> ``EV traction motors``), or ``code``."""
    return SECTOR_NAMES.get(code, code)
