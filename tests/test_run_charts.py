"""The PNG charts of `ree run` (issue 14): months with zero flow are plotted as zero, prices on
a log scale, regions and sectors by name, the scenario and seed in every title. The checks
read the plotted data of the figures, on a hand-made table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments import runs
from experiments.labels import region_name, sector_name
from experiments.runs import CHART_FILES, chart_figures, run_title

JAN, FEB, MAR = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])


def _row(date, metric, good, region, value, partner="", unit=""):
    return {
        "date": date,
        "step": 0,
        "metric": metric,
        "good": good,
        "region": region,
        "partner": partner,
        "value": value,
        "unit": unit,
    }


@pytest.fixture
def ts() -> pd.DataFrame:
    """Three months; China ships magnets to the US in January (10 t) and March (30 t) and
    nothing in February (no `flow` row, as the model writes only flows above zero); the
    Myanmar mine closes in February (no `capacity` row); one NdPr price spikes 100-fold."""
    rows = []
    for d, us, total in ((JAN, 10.0, 12.0), (MAR, 30.0, 31.0)):
        rows.append(_row(d, "flow", "mag_ndfeb_std", "CN", us, "US", "t/month"))
        rows.append(_row(d, "china_exports", "magnets", "CN", total, "nonCN", "t/month"))
    for d, v in ((JAN, 60.0), (FEB, 6000.0), (MAR, 61.0)):
        rows.append(_row(d, "price", "NdPr", "US", v, unit="USD/kg"))
        rows.append(_row(d, "price", "NdPr", "CN", 58.0, unit="USD/kg"))
        rows.append(_row(d, "lost_output", "ev", "US", 2e6, unit="USD/month"))
        rows.append(_row(d, "capacity", "mining", "CN", 300_000.0, unit="t/yr"))
    rows.append(_row(JAN, "capacity", "mining", "MM", 4000.0, unit="t/yr"))
    rows.append(_row(MAR, "capacity", "mining", "MM", 2000.0, unit="t/yr"))
    return pd.DataFrame(rows)


def _line(ax, label):
    hits = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(hits) == 1, [ln.get_label() for ln in ax.get_lines()]
    x, y = hits[0].get_data()
    return pd.to_datetime(np.asarray(x)), np.asarray(y, dtype=float)


def test_months_without_flow_are_plotted_as_zero(ts):
    figs = chart_figures(ts, "controls-2025, seed 7")
    ax = figs["china_magnet_exports.png"].axes[0]
    x, y = _line(ax, "to USA")
    assert list(x) == [JAN, FEB, MAR]
    assert list(y) == [10.0, 0.0, 30.0]
    x, y = _line(ax, "all destinations")
    assert list(y) == [12.0, 0.0, 31.0]
    # a mine that closed for a month: zero, not a line drawn across the gap
    x, y = _line(figs["capacity.png"].axes[0], "Myanmar")
    assert list(y) == [4000.0, 0.0, 2000.0]  # t/yr
    plt.close("all")


def test_prices_on_a_log_scale_and_names_not_codes(ts):
    figs = chart_figures(ts, "controls-2025, seed 7")
    prices = figs["prices.png"].axes
    assert [ax.get_yscale() for ax in prices] == ["log"] * 3
    _x, y = _line(prices[0], "USA")
    assert list(y) == [60.0, 6000.0, 61.0]
    assert {ln.get_label() for ln in prices[0].get_lines()} == {"USA", "China"}
    lost = figs["lost_output.png"].axes[0]
    assert [ln.get_label() for ln in lost.get_lines()] == ["EV traction motors"]
    assert list(_line(lost, "EV traction motors")[1]) == [2.0, 2.0, 2.0]  # USD m/month
    plt.close("all")


def test_every_chart_title_names_the_scenario_and_seed(ts):
    figs = chart_figures(ts, run_title("controls-2025", 7, {"levers.approval_rate_us": 0.1}))
    assert sorted(figs) == sorted(CHART_FILES)
    for name, fig in figs.items():
        title = " ".join(fig.get_suptitle().split())  # wrapped lines joined
        assert title.startswith("controls-2025, seed 7 (levers.approval_rate_us=0.1): "), name
    plt.close("all")


def test_a_long_title_keeps_every_set_value_and_fits_the_figure(ts):
    """`ree run --set levers.approval_rate_us=0.1 --set parameters.armington_elasticity=2`
    once drew 'ed 0 (levers.approval_rate_us=0.1, parameters.armington_elasticity...)': the
    title cut at both edges of the one-panel charts and the second value dropped."""
    overrides = {
        "levers.approval_rate_us": 0.1,
        "parameters.armington_elasticity": 2,
        "levers.us_tariff_on_china": 1.45,
    }
    title = run_title("controls-2025", 0, overrides)
    assert title == (
        "controls-2025, seed 0 (levers.approval_rate_us=0.1, "
        "parameters.armington_elasticity=2, levers.us_tariff_on_china=1.45)"
    )
    figs = chart_figures(ts, title)
    for name, fig in figs.items():
        assert " ".join(fig.get_suptitle().split()).startswith(title + ": "), name
        fig.tight_layout()
        fig.canvas.draw()
        box = fig._suptitle.get_window_extent()
        width = fig.get_figwidth() * fig.dpi
        assert box.x0 >= 0 and box.x1 <= width, (name, box.x0, box.x1, width)
    plt.close("all")


def test_names_come_from_the_data_tables():
    assert region_name("MM") == "Myanmar"  # abm/data/regions.csv
    assert region_name("EU") == "European Union"
    assert region_name("nonCN") == "outside China"
    assert region_name("XX") == "XX"
    assert sector_name("ev") == "EV traction motors"
    assert sector_name("robots") == "robots"


def test_ree_run_titles_its_charts_with_scenario_seed_and_overrides(tmp_path, monkeypatch):
    seen = {}

    def fake_charts(ts, folder, title=""):
        seen["title"] = title
        seen["months"] = sorted(ts["date"].unique())
        return []

    monkeypatch.setattr(runs, "charts", fake_charts)
    runs.run_to_folder(
        "baseline",
        tmp_path / "run",
        seed=3,
        months=1,
        progress=False,
        overrides={"parameters.armington_elasticity": 2.0},
    )
    assert seen["title"] == "baseline, seed 3 (parameters.armington_elasticity=2.0)"
    assert len(seen["months"]) == 1


def test_every_region_of_prices_png_visible_when_prices_coincide():
    # a new user's check: China's line was hidden under the EU's where their prices coincide
    from matplotlib.colors import to_hex

    from experiments.labels import REGION_COLOURS

    rows = [
        _row(d, "price", good, r, 60.0, unit="USD/kg")
        for d in (JAN, FEB, MAR)
        for good in ("NdPr", "ox_Dy", "ox_Tb")
        for r in ("CN", "EU", "JP", "US")
    ]
    figs = chart_figures(pd.DataFrame(rows), "t")
    for ax in figs["prices.png"].axes:
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        order = [ln.get_label() for ln in ax.get_lines()]
        # China drawn last (on top); under it each line is wider than the one above
        assert order == ["Japan", "European Union", "USA", "China"]
        widths = [ln.get_linewidth() for ln in ax.get_lines()]
        assert widths[:-1] == sorted(widths[:-1], reverse=True) and len(set(widths[:-1])) == 3
        # each region its own line style (Japan's line, under the EU's, shows in its gaps),
        # and the legend shows the styles
        styles = {name: ln.get_linestyle() for name, ln in lines.items()}
        assert styles == {"Japan": "-", "European Union": "-.", "USA": ":", "China": "--"}
        leg = ax.get_legend()
        assert {
            t.get_text(): h.get_linestyle()
            for t, h in zip(leg.get_texts(), leg.legend_handles, strict=True)
        } == styles
        assert leg.handlelength == 4
        for code, name in (("CN", "China"), ("EU", "European Union"), ("US", "USA")):
            assert to_hex(lines[name].get_color()) == REGION_COLOURS[code]
    plt.close("all")


def test_one_region_palette_with_a_strong_us_colour():
    from matplotlib.colors import to_rgb

    import app.charts
    from experiments.labels import REGION_COLOURS, region_colour

    assert app.charts.REGION_COLORS is REGION_COLOURS  # defined once
    r, g, b = to_rgb(REGION_COLOURS["US"])
    assert b > 0.6 and max(r, g) < 0.45  # a saturated blue, not the faint light blue
    assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.35  # dark enough to see on white
    assert len(set(REGION_COLOURS.values())) == len(REGION_COLOURS)
    # a region a user adds gets a colour, the same one each time, none of the palette's
    assert region_colour("XX") == region_colour("XX")
    assert region_colour("XX") not in REGION_COLOURS.values()
    # china_content.png: the US's thin monthly line in the US colour, not faint
    rows = [_row(d, "china_content", "", "US", 0.5) for d in (JAN, FEB, MAR)]
    ax = chart_figures(pd.DataFrame(rows))["china_content.png"].axes[0]
    (thin,) = ax.get_lines()
    assert thin.get_color() == REGION_COLOURS["US"] and thin.get_alpha() >= 0.5
    plt.close("all")
