"""Model calendar: one step is one calendar month.

Dates in scenarios are ``YYYY-MM`` or ``YYYY-MM-DD``; a measure dated inside a month takes
effect in that month's step (e.g. the 4 April 2025 licences act from the April 2025 step).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a date is parsed, not on import
    import pandas as pd

#: Weeks in an average month (52.14 weeks / 12), to convert weeks of cover to months.
WEEKS_PER_MONTH = 4.345


def to_month(value: str | dt.date | pd.Period) -> pd.Period:
    """Parse a date string or date to a monthly :class:`pandas.Period`.

    Raises:
        ValueError: the value is not a ``YYYY-MM`` or ``YYYY-MM-DD`` date.
    """
    import pandas as pd

    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if isinstance(value, dt.date):
        return pd.Period(year=value.year, month=value.month, freq="M")
    s = str(value).strip()
    try:
        if len(s) == 7:
            return pd.Period(dt.datetime.strptime(s, "%Y-%m"), freq="M")
        return pd.Period(dt.datetime.strptime(s, "%Y-%m-%d"), freq="M")
    except ValueError:
        raise ValueError(f"'{value}' is not a date of the form YYYY-MM or YYYY-MM-DD") from None


def months_between(a: pd.Period, b: pd.Period) -> int:
    """Number of months from ``a`` to ``b`` (``b - a``)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def month_index(date: str, start: pd.Period) -> int:
    """Step index (0-based) of the month containing ``date`` for a run starting ``start``."""
    return months_between(start, to_month(date))


def check_months(scenario: Any, months, minimum: int = 0, name: str = "months") -> int:
    """Months to simulate: ``months`` (a whole number from ``minimum`` to the horizon of
    ``scenario``, an :class:`abm.scenario.Scenario`), or the whole horizon when None.

    Raises:
        ValueError: naming ``name``, the allowed range and the horizon's dates.
    """
    if months is None:
        return scenario.months
    if not float(months).is_integer() or not minimum <= int(months) <= scenario.months:
        longer = "; to run longer, extend the scenario's end" if months > scenario.months else ""
        raise ValueError(
            f"{name} must be a whole number from {minimum} to the scenario "
            f"horizon ({scenario.months} months, {scenario.start} to "
            f"{scenario.end}), got {months}{longer}"
        )
    return int(months)
