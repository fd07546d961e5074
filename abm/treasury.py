"""Group treasury: the units of one company share one solvency test (an internal capital market).

A company often owns several stages of the chain in the model: Lynas Rare Earths owns the Mt
Weld mine and the Kuantan separation plant, MP Materials the Mountain Pass mine, its
separation plant and the Fort Worth magnet plant, China Northern Rare Earth Group its Bayan
Obo mine and Baotou separation. Each unit keeps its own cash account (what it earns and
pays, docs/ODD.md 7.13), but it does not go bankrupt alone: headquarters moves cash between
divisions, so a unit whose margin is thin (a separator buying its sister mine's concentrate)
or that is ramping up (a new magnet plant) is carried by the group's other units (internal
capital markets: Gertner, Scharfstein and Stein 1994, QJE 109(4); Stein 1997, J. Finance
52(1)). Bankruptcy is a company event: it comes when the group's cash falls below the credit
its lenders extend on the group's expected cash flow, and then every unit of the company
exits. Whether a unit should operate at all stays a divisional decision (the mothball rule
of 7.13 on the unit's own long-run margin).

Company of a firm (:func:`company_of`): the firm's name up to `` (`` (``"Lynas Rare Earths
(Kuantan)"`` -> ``"Lynas Rare Earths"``; entrants of ``project_pipeline.csv`` are named
``"<firm> (<project>)"``), so the named rows of ``firms.csv`` and the pipeline's ``firm``
column give the groups; generic firms (``"Viet Nam separation firm #2"``) are companies of
their own.
"""

from __future__ import annotations


def company_of(name: str) -> str:
    """The company a firm belongs to: its name up to the first ``" ("``, stripped.

    >>> company_of("Lynas Rare Earths (Kuantan)")
    'Lynas Rare Earths'
    >>> company_of("Rest of World separation firm #1")
    'Rest of World separation firm #1'
    """
    return name.split(" (", 1)[0].strip()


def usd_text(x: float) -> str:
    """An amount of money for the event log: M USD from 0.05 M USD, k USD from 50 USD, else
    USD; one decimal below 100 M USD, whole numbers from there; never ``-0.0`` (a new user's
    events.csv read "cash ... -0.0 M USD below its credit line (-0.0 M USD)").

    >>> usd_text(-12_345_678), usd_text(245e6), usd_text(-31_400), usd_text(-12), usd_text(-0.0)
    ('-12.3 M USD', '245 M USD', '-31.4 k USD', '-12 USD', '0 USD')
    """
    a = abs(x)
    if a >= 0.05e6:
        v, unit, digits = x / 1e6, "M USD", 0 if a >= 99.95e6 else 1
    elif a >= 50:
        v, unit, digits = x / 1e3, "k USD", 1
    else:
        v, unit, digits = x, "USD", 0
    return f"{round(v, digits) + 0.0:,.{digits}f} {unit}"  # + 0.0 turns -0.0 into 0.0


class GroupTreasury:
    """The units of each company, and the company's pooled cash and credit.

    Units register at construction (:meth:`add`); a unit counts in its company's position
    once its cash account is open (``cash`` is not ``None``) and until it exits.
    """

    def __init__(self) -> None:
        self.members: dict[str, list] = {}

    def add(self, firm) -> None:
        """Register ``firm`` (an :class:`agents.base.Firm`) under ``firm.company``."""
        self.members.setdefault(firm.company, []).append(firm)

    def units(self, company: str) -> list:
        """Operating or mothballed units of ``company`` with an open cash account."""
        return [f for f in self.members.get(company, ()) if f.cash is not None and not f.exited]

    def pending(self, company: str) -> list:
        """Units of ``company`` that have not opened a cash account yet (entrants of the
        project pipeline committed but not started up) and have not exited."""
        return [f for f in self.members.get(company, ()) if f.cash is None and not f.exited]

    def position(self, company: str) -> tuple[float, float]:
        """``(cash, credit)`` of ``company``, USD: the sum over its units of cash and of
        the credit lines lenders extend on each unit's long-run cash flow
        (:meth:`agents.base.Firm.credit_line`). The company is insolvent when ``cash <
        -credit``."""
        cash = credit = 0.0
        for f in self.units(company):
            cash += f.cash
            credit += f.credit_line()
        return cash, credit
