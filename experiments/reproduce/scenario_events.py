"""The measures of a shipped scenario as a Markdown table (the event tables of
docs/scenarios.md)."""

from __future__ import annotations

from abm.scenario import load_scenario
from experiments.labels import months_text


def _measure_value(m) -> str:
    k = m.kind
    if k == "tariff":
        return (
            f"{m.rate:.0%} on {', '.join(m.targets)}"
            + (" (added)" if m.mode == "add" else "")
            + ("" if m.goods == ["all"] else f"; {', '.join(m.goods)}")
        )
    if k == "export_duty":
        return f"{m.rate:.0%} on {', '.join(m.goods)}"
    if k == "export_licence":
        appr = ", ".join(f"{d} {p:g}" for d, p in m.approval.items())
        extra = "; 0.1% extraterritorial rule" if m.extraterritorial else ""
        rev = (
            "; review " + ", ".join(f"{d} {months_text(r)}" for d, r in m.review_months.items())
            if m.review_months
            else ""
        )
        forms = (
            ""
            if list(m.forms) == ["concentrates", "oxides", "magnets"]
            else f" ({', '.join(m.forms)})"
        )
        return (
            f"{', '.join(m.elements)}{forms}; approval {appr}"
            + rev
            + ("; defense end use denied" if m.defense_denial else "")
            + extra
        )
    if k == "licence_policy":
        parts = []
        if m.elements is not None:
            parts.append(", ".join(m.elements))
        if list(m.forms) != ["concentrates", "oxides", "magnets"]:
            parts.append(", ".join(m.forms))
        if m.end_use != "all":
            parts.append(f"{m.end_use} end use")
        if m.approval:
            parts.append("approval " + ", ".join(f"{d} {p:g}" for d, p in m.approval.items()))
        if m.review_months:
            parts.append(
                "review " + ", ".join(f"{d} {months_text(r)}" for d, r in m.review_months.items())
            )
        return "; ".join(parts)
    if k == "export_quota":
        return f"{m.tonnes_per_year:,.0f} t/yr of {', '.join(m.goods)}"
    if k == "import_quota":
        return f"imports <= {m.tonnes_per_year:,.0f} t/yr of {', '.join(m.goods)}"
    if k == "embargo":
        return f"no exports of {', '.join(m.goods)} to {', '.join(m.targets)}"
    if k == "production_quota":
        return f"mine output <= {m.tonnes_per_year:,.0f} t/yr"
    if k == "suspension":
        return f"suspends `{m.target_id}`"
    if k == "price_floor":
        text = f"${m.floor_usd_kg:g}/kg on {', '.join(m.goods)}; offtake {m.offtake_share:.0%} "
        text += "of magnet output"
        if m.offtake_plants:
            text += f" of {', '.join(m.offtake_plants)}"
        if m.offtake_min_ebitda_usd:
            text += (
                f" at cost plus a minimum EBITDA of {m.offtake_min_ebitda_usd / 1e6:,.0f} M USD/yr"
            )
            if m.offtake_ebitda_growth:
                text += f" (+{m.offtake_ebitda_growth:.0%}/yr)"
        return text + _to_firms(m)
    if k == "subsidy":
        parts = [f"capex {m.capex_share:.0%}"]
        if m.loan_share:
            rate = "" if m.loan_rate is None else f" at {m.loan_rate:.1%}"
            parts.append(f"loan {m.loan_share:.0%}{rate}")
        if m.equity_share:
            parts.append(f"equity {m.equity_share:.0%}")
        return (
            f"{', '.join(parts)} ({', '.join(m.stages)}); lead times x{m.lead_time_factor:g}"
            + _to_firms(m)
        )
    if k == "stockpile":
        held = ", held from before the run" if m.held_at_start else ""
        return f"{months_text(m.target_months)} of use of {', '.join(m.goods)}{held}"
    if k == "sourcing_rule":
        return f"defense may not buy {', '.join(m.banned)}-origin {', '.join(m.goods)}"
    return ""


def _to_firms(m) -> str:
    """``"; to A, B"`` for a measure granted to named companies, else ``""``."""
    return "" if m.firms is None else f"; to {', '.join(m.firms)}"


def scenario_events_markdown(name: str, relative_to: str | None = None) -> str:
    """The measures of a shipped scenario as a Markdown table (date, end, id, kind, actor,
    value, event, source). With ``relative_to``, only measures that are new or differ from
    that scenario's measure of the same id are listed (docs/scenarios.md)."""
    sc = load_scenario(name)
    base = {m.id: m for m in load_scenario(relative_to).measures} if relative_to else {}
    lines = [
        "| date | end | id | kind | actor | value | event | source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in sc.measures:
        if relative_to and m.id in base and base[m.id] == m:
            continue
        actor = getattr(m, "actor", "")
        cells = [
            m.date,
            m.end or "",
            f"`{m.id}`" if m.id else "",
            m.kind,
            actor,
            _measure_value(m),
            m.label,
            m.source,
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
