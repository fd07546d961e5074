"""One model run to an output folder: tidy Parquet table, manifest, event log, charts.

``run_to_folder`` writes into a temporary sibling folder and renames it into place only
when everything is written, so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from abm.accounts import ACCOUNT_METRICS, FOCUS_REGIONS
from abm.data import check_tables
from abm.goods import STAGES
from abm.model import RareEarthModel, check_months
from abm.scenario import Scenario
from abm.timeline import to_month
from experiments.inputs import measures_never_apply, scenario_with_overrides
from experiments.labels import months_text
from experiments.run_files import read_run_table
from experiments.terminal import RunProgress

PACKAGES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib")


def code_and_data() -> dict:
    """Provenance of a run's code and data for ``manifest.json``: ``git_commit``,
    ``git_dirty`` (tracked files modified; None outside git) and ``data``
    (:func:`abm.data.data_fingerprint`: the data folder, overridden tables, SHA-256)."""
    from abm.data import data_fingerprint
    from experiments.sweep.provenance import git_info

    g = git_info()
    return {"git_commit": g["commit"], "git_dirty": g["dirty"], "data": data_fingerprint()}


def package_versions() -> dict[str, str]:
    """Installed versions of the key packages for ``manifest.json``: Python, then each
    package's version or ``"not installed"``
    (:func:`experiments.sweep.provenance.package_versions` reads them)."""
    from experiments.sweep.provenance import package_versions as installed

    found = installed((*PACKAGES, "ree-abm"))
    return {"python": platform.python_version()} | {
        p: v if v is not None else "not installed" for p, v in found.items()
    }


def summary(model: RareEarthModel) -> dict:
    """Short summary of a finished run (the numbers ``ree run`` prints).

    Keys: first, peak (and peak_month, YYYY-MM, None for a series that is zero throughout),
    min and last of each Mesa DataCollector
    headline series (NdPr/Dy/Tb
    oxide prices in China and outside it, USD/kg, outside China = the recorded
    ``price_outside_china_weighted``; China's magnet exports, t/month; OEM and defense lost
    output, USD m/month); ``lost_output_usd``: cumulative ``lost_output_civil_magnet`` and
    ``lost_output_defense`` (World rows, USD); ``china_content_12m_last``: the recorded
    ``china_content_12m`` of the last month per consuming region (share of China-processed
    content in the magnets received over the last 12 months, mass-weighted); net magnet,
    separation and mining capacity change outside China (t/yr). Every value is read from the
    recorded series of :mod:`abm.metrics`.
    """
    df = model.headline_frame()
    ts = model.timeseries()
    out: dict = {}
    for col in df.columns:
        s = df[col].dropna()
        if len(s):
            out[col] = {
                "first": float(s.iloc[0]),
                "peak": float(s.max()),
                # an all-zero series (no defense lost output) has no peak month
                "peak_month": str(s.idxmax()) if (s != 0).any() else None,
                "min": float(s.min()),
                "last": float(s.iloc[-1]),
            }
    world = ts["region"] == "World"
    out["lost_output_usd"] = {
        "oem": float(ts.loc[world & (ts["metric"] == "lost_output_civil_magnet"), "value"].sum()),
        "defense": float(ts.loc[world & (ts["metric"] == "lost_output_defense"), "value"].sum()),
    }
    cc = ts[ts["metric"] == "china_content_12m"]
    if len(cc):
        last = cc[cc["date"] == cc["date"].max()]
        out["china_content_12m_last"] = {
            r: float(v) for r, v in zip(last["region"], last["value"], strict=True)
        }
    cap = ts[(ts["metric"] == "capacity") & (ts["region"] != "CN")]
    if len(cap):
        first, last = cap["date"].min(), cap["date"].max()
        a = cap[cap["date"] == first].groupby("good")["value"].sum()
        b = cap[cap["date"] == last].groupby("good")["value"].sum()
        out["capacity_built_outside_china_t_yr"] = {
            k: float(b.get(k, 0) - a.get(k, 0)) for k in b.index
        }
    out["accounts"] = accounts_summary(ts)
    return out


def accounts_summary(ts: pd.DataFrame, regions=FOCUS_REGIONS) -> dict[str, dict[str, float]]:
    """Country accounts over a run, per region of ``regions`` (read from the recorded rows
    of :mod:`abm.accounts`): cumulative ``value_added_lost``, ``buyer_extra_cost``,
    ``tariff_revenue``, ``export_duty_revenue``, ``floor_offtake_cost`` and
    ``stockpile_purchase_cost`` (USD), and ``value_added_lost_pct_gdp_peak_12m`` (the highest
    12-month mean of ``value_added_lost_pct_gdp``, % of GDP: the worst year's loss)."""
    acc = ts[
        ts["metric"].isin(ACCOUNT_METRICS)
        & ts["region"].isin(list(regions))
        & ((ts["good"] == "all") | (ts["metric"] == "producer_surplus"))
    ]
    out: dict[str, dict[str, float]] = {}
    for r in regions:
        sub = acc[acc["region"] == r]
        row = {
            m: float(sub.loc[sub["metric"] == m, "value"].sum())
            for m in ACCOUNT_METRICS
            if m != "value_added_lost_pct_gdp"
        }
        pct = sub[sub["metric"] == "value_added_lost_pct_gdp"].sort_values("date")["value"]
        row["value_added_lost_pct_gdp_peak_12m"] = (
            float(pct.rolling(12, min_periods=1).mean().max()) if len(pct) else 0.0
        )
        out[r] = row
    return out


def reference_scenario(sc: Scenario) -> str | None:
    """The shipped scenario to compare a run of ``sc`` with, to take out the price rises the
    model has without ``sc``'s measures: ``baseline`` when it starts in the same month from
    the same base year (run it with the same ``--months`` or ``end``), and ``sc`` is not
    ``baseline`` itself; None otherwise (``embargo-2010``, from 2009-01 on the 2009 world:
    no shipped scenario covers that period without its measures)."""
    from abm.scenario import load_scenario

    if sc.name == "baseline":
        return None
    base = load_scenario("baseline")
    return "baseline" if (sc.start, sc.base_year) == (base.start, base.base_year) else None


def accounts_lines(summ: dict, sc: Scenario | None = None) -> list[str]:
    """The printed lines of the accounts part of a run summary (``ree run``) of the scenario
    ``sc``: the comparison they suggest for the buyers' extra cost is
    :func:`reference_scenario`'s (none for ``baseline`` itself, or without ``sc``)."""
    acc = summ.get("accounts") or {}
    if not acc:
        return []
    ref = reference_scenario(sc) if sc is not None else None
    if ref is not None:
        why = [
            "  buyers' extra cost is against base-year prices, so it includes the price",
            f"  rises of the baseline itself (compare with --scenario {ref}).",
        ]
    elif sc is not None and sc.name != "baseline":
        why = [
            f"  buyers' extra cost is against base-year ({sc.base_year}) prices, so it includes",
            "  price rises the model has without this scenario's measures (no shipped",
            f"  scenario runs the {sc.base_year} world without them to compare with).",
        ]
    else:
        why = ["  buyers' extra cost is against base-year prices."]
    lines = [
        "Cost to each economy over the run (bn USD, cumulative):",
        "  value added lost includes supply-chain effects (worst 12 months in % of GDP);",
        *why,
    ]
    for r, v in acc.items():
        lines.append(
            f"  {r}: value added lost {v['value_added_lost'] / 1e9:,.2f} "
            f"(worst year {v['value_added_lost_pct_gdp_peak_12m']:.3f}% of GDP)"
        )
        lines.append(
            f"      buyers' extra cost {v['buyer_extra_cost'] / 1e9:,.2f}, "
            f"tariff revenue {v['tariff_revenue'] / 1e9:,.2f}, "
            f"export duties {v['export_duty_revenue'] / 1e9:,.2f}"
        )
        lines.append(
            f"      floors/offtakes {v['floor_offtake_cost'] / 1e9:,.2f}, "
            f"stockpiles {v['stockpile_purchase_cost'] / 1e9:,.2f}"
        )
    return lines


#: Destinations shown in ``china_magnet_exports.png`` beside the total.
EXPORT_DESTINATIONS = ("US", "EU", "JP", "KR")

#: Labels of the money flows of ``accounts.png`` (recorded metric -> legend).
MONEY_LABELS = {
    "buyer_extra_cost": "buyers' extra cost",
    "tariff_revenue": "tariff revenue",
    "export_duty_revenue": "export duty revenue",
    "floor_offtake_cost": "price floors and offtakes",
    "stockpile_purchase_cost": "stockpile purchases",
}


def _monthly(rows: pd.DataFrame, months: pd.Index) -> pd.Series:
    """A flow-type series (t/month, USD/month, t/yr) over every month of the run: rows summed
    per date, a month without a row plotted as zero (``flow`` and ``capacity`` rows are
    written only when above zero, so a month with no trade or no plant has no row)."""
    return rows.groupby("date")["value"].sum().reindex(months, fill_value=0.0)


def log_scale(ax) -> None:
    """Put the y axis of ``ax`` on a log scale with plain tick labels (60, 80, 100, not
    6 x 10^1), labelled ticks at or beyond both ends of the plotted data, so the axis range
    reads off the labels (a new user's comparison.png labelled nothing above 100 for an NdPr
    peak of 136). Call it after plotting: the ticks are chosen from the lines of ``ax``.

    The labelled ticks are evenly spaced nice numbers (20, 40, ..., 140) when the data span
    less than a factor of 10, 1-2-5 steps (50, 100, 200, 500, ...) up to a factor of 1,000,
    and powers of ten beyond; the axis limits are the labelled ticks around the data."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    ax.set_yscale("log")
    ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()]
    y = np.concatenate(ys) if ys else np.array([])
    y = y[np.isfinite(y) & (y > 0)]
    plain = FuncFormatter(lambda v, _pos: f"{v:,.6g}")
    if not len(y):
        ax.yaxis.set_major_formatter(plain)
        return
    lo, hi = float(y.min()), float(y.max())
    if hi / lo < 10:
        if hi == lo:
            lo, hi = lo * 0.9, hi * 1.1
        ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        ticks = [float(t) for t in ticks if t > 0]
    else:
        subs = (1.0, 2.0, 5.0) if hi / lo < 1000 else (1.0,)
        k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in subs]
    below = [t for t in ticks if t <= lo * (1 + 1e-9)]
    above = [t for t in ticks if t >= hi * (1 - 1e-9)]
    if not below:  # the step reaches 0 (20-100 in steps of 25): one digit, rounded down
        e = 10.0 ** np.floor(np.log10(lo))
        below = [np.floor(lo / e) * e]
        ticks = below + ticks
    bottom = max(below)
    top = min(above) if above else hi
    ticks = [t for t in ticks if bottom <= t <= top]
    ax.set_yticks(ticks)
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(LogLocator(subs="auto"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def fitted_title(fig, text: str, fontsize: float = 11) -> None:
    """Set ``text`` as the figure's title, wrapped at spaces into lines that fit the figure's
    width (about 0.6 x ``fontsize`` points per character), so a long title (several
    ``--set`` values) is neither cut at the figure's edges nor shortened."""
    import textwrap

    width_chars = max(20, int(fig.get_figwidth() * 72 / (0.6 * fontsize)) - 4)
    fig.suptitle(
        textwrap.fill(text, width=width_chars, break_long_words=False, break_on_hyphens=False),
        fontsize=fontsize,
    )


def add_legend(ax, **kw) -> None:
    """A legend when the axes hold a labelled line (a metric the table lacks leaves none)."""
    if any(not ln.get_label().startswith("_") for ln in ax.get_lines()):
        ax.legend(**kw)


#: The lines of prices.png, drawn in this order: (region, line width); widest first, China
#: last, each in its region's own line style (:func:`experiments.labels.region_linestyle`:
#: Japan solid, the EU dash-dot, the USA dotted, China dashed), so that regions with the
#: same price all stay visible and distinguishable.
PRICE_LINES = (("JP", 3.6), ("EU", 2.6), ("US", 1.6), ("CN", 1.6))


class RegionColours(dict):
    """``colour[region]``: :func:`experiments.labels.region_colour` (the one palette)."""

    def __missing__(self, code: str) -> str:
        from experiments.labels import region_colour

        return region_colour(code)


def chart_figures(ts: pd.DataFrame, title: str = "") -> dict:
    """The charts of a run as matplotlib figures, not saved (:func:`charts` saves them).

    Flow-type series (exports, lost output, money flows, capacity) have a point every month
    of the run, zero where no row was recorded; prices and shares are plotted where
    recorded (a region that did not trade a good has no price that month). Prices are on a
    log scale; regions and sectors are shown by name (:mod:`experiments.labels`).

    Args:
        ts: the run's tidy table (:meth:`abm.model.RareEarthModel.timeseries`); metrics it
            lacks leave their chart empty.
        title: put first in every figure's title (e.g. ``"controls-2025, seed 0"``).

    Returns:
        ``{file name: matplotlib Figure}`` for the names :data:`CHART_FILES`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    from experiments.labels import region_linestyle, region_name, sector_name

    figs: dict = {}
    months = pd.Index(sorted(ts["date"].unique()), name="date")
    # one colour per region in every chart: the palette of experiments.labels
    colour = RegionColours()

    def new(name, what, ncols=1, size=(7, 4.3)):
        fig, axes = plt.subplots(1, ncols, figsize=size)
        fitted_title(fig, f"{title}: {what}" if title else what)
        figs[name] = fig
        return fig, axes

    fig, axes = new("prices.png", "oxide prices (log scale)", 3, (14, 4.3))
    for ax, good, label in zip(
        axes, ["NdPr", "ox_Dy", "ox_Tb"], ["NdPr oxide", "Dy oxide", "Tb oxide"], strict=True
    ):
        p = ts[(ts["metric"] == "price") & (ts["good"] == good)]
        # prices of several regions often coincide (China's and the EU's, or those
        # outside China): the widest line is drawn first, each narrower one on top of it,
        # China last, each in its own line style, so a line under another still shows at
        # its edges and in the gaps of the broken lines above it
        for region, width in PRICE_LINES:
            s = p[p["region"] == region].set_index("date")["value"]
            if len(s):
                ax.plot(
                    s.index,
                    s.values,
                    linestyle=region_linestyle(region),
                    label=region_name(region),
                    color=colour[region],
                    linewidth=width,
                )
        log_scale(ax)
        ax.set_title(f"{label} price")
        ax.set_ylabel("USD/kg (log scale)")
        add_legend(ax, handlelength=4)  # long enough to show each line style

    fig, ax = new("china_content.png", "China-origin share of magnet supply")
    c = ts[ts["metric"] == "china_content_12m"]
    c1 = ts[ts["metric"] == "china_content"]
    for region in ("US", "EU", "JP", "KR"):
        s = c[c["region"] == region].set_index("date")["value"]
        if len(s):
            ax.plot(s.index, s.values, label=region_name(region), color=colour[region])
        s = c1[c1["region"] == region].set_index("date")["value"]
        if len(s):
            ax.plot(s.index, s.values, color=colour[region], linewidth=0.8, alpha=0.5)
    ax.set_title("thick: last 12 months, mass-weighted; thin: monthly", fontsize=9)
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.05)
    add_legend(ax)

    fig, ax = new("china_magnet_exports.png", "China's magnet exports")
    total = ts[(ts["metric"] == "china_exports") & (ts["good"] == "magnets")]
    s = _monthly(total, months)
    ax.plot(s.index, s.values, color="black", linewidth=1.8, label="all destinations")
    fl = ts[
        (ts["metric"] == "flow")
        & (ts["region"] == "CN")
        & ts["good"].str.startswith("mag_", na=False)
    ]
    for region in EXPORT_DESTINATIONS:
        s = _monthly(fl[fl["partner"] == region], months)
        ax.plot(s.index, s.values, label=f"to {region_name(region)}", color=colour[region])
    ax.set_title("all magnet grades; a month without shipments is zero", fontsize=9)
    ax.set_ylabel("t/month")
    add_legend(ax, fontsize=8)

    fig, ax = new("lost_output.png", "lost output by end use (all regions)")
    lo = ts[ts["metric"] == "lost_output"]
    for sector in sorted(set(lo["good"]) - {"non_magnet"}):
        s = _monthly(lo[lo["good"] == sector], months) / 1e6
        ax.plot(s.index, s.values, label=sector_name(sector))
    ax.set_ylabel("USD million/month")
    add_legend(ax)

    # country accounts: value added lost (% of GDP, annual rate) and the money flows
    fig, axes = new("accounts.png", "cost to each economy", 2, (13, 4.3))
    va = ts[(ts["metric"] == "value_added_lost_pct_gdp")]
    for region in FOCUS_REGIONS:
        s = va[va["region"] == region].set_index("date")["value"]
        if len(s):
            axes[0].plot(s.index, s.values, label=region_name(region), color=colour[region])
    axes[0].set_title("Value added lost, incl. supply-chain effects")
    axes[0].set_ylabel("% of GDP (annual rate)")
    add_legend(axes[0])
    money = ts[ts["metric"].isin(list(MONEY_LABELS)) & (ts["region"] == "World")]
    for metric, label in MONEY_LABELS.items():
        rows = money[money["metric"] == metric]
        if len(rows):
            s = _monthly(rows, months) / 1e6
            axes[1].plot(s.index, s.values, label=label)
    axes[1].set_title("World: buyers' extra cost, revenues and public costs")
    axes[1].set_ylabel("USD million/month")
    add_legend(axes[1], fontsize=7)

    fig, axes = new("capacity.png", "capacity by region", 3, (14, 4.3))
    cap = ts[ts["metric"] == "capacity"]
    for ax, stage in zip(axes, ["mining", "separation", "magnets"], strict=True):
        c = cap[cap["good"] == stage]
        for region in sorted(set(c["region"])):
            s = _monthly(c[c["region"] == region], months)  # t/yr, as recorded
            ax.plot(s.index, s.values, label=region_name(region), color=colour[region])
        ax.set_title(f"{stage} capacity")
        ax.set_ylabel(CAPACITY_UNITS[stage])
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        add_legend(ax, fontsize=7, ncol=2)

    fig, ax = new("china_share.png", "China's share of world output")
    sh = ts[ts["metric"] == "china_share"]
    for stage in STAGES:
        s = sh[sh["good"] == stage].set_index("date")["value"]
        ax.plot(s.index, s.values, label=stage)
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.05)
    add_legend(ax)
    for fig in figs.values():
        fig.autofmt_xdate()
    return figs


#: y-axis label of each stage in capacity.png: the unit of the recorded ``capacity`` rows
#: (t/yr; agents/miner.py, refiner.py, magnet_maker.py)
CAPACITY_UNITS = {
    "mining": "t REO/yr (mine output)",
    "separation": "t REO/yr (feed)",
    "magnets": "t/yr of magnets",
}

#: The PNG files :func:`charts` writes.
CHART_FILES = (
    "prices.png",
    "china_content.png",
    "china_magnet_exports.png",
    "lost_output.png",
    "accounts.png",
    "capacity.png",
    "china_share.png",
)


def run_title(scenario: str, seed: int, overrides: dict | None = None) -> str:
    """The title line of a run's charts: scenario name, seed and every ``--set`` override
    with its value, none shortened (:func:`fitted_title` wraps a long one)."""
    return f"{scenario}, seed {seed}{overrides_text(overrides)}"


def overrides_text(overrides: dict | None) -> str:
    """The ``--set`` overrides of a run as a title suffix, ``" (key=value, ...)"``, or ``""``
    without any (:func:`run_title`; the ensemble label of ``ree compare``)."""
    return f" ({', '.join(f'{k}={v}' for k, v in overrides.items())})" if overrides else ""


def charts(ts: pd.DataFrame, folder: Path, title: str = "") -> list[Path]:
    """PNG charts of the main series (:func:`chart_figures`) into ``folder``; returns the
    files written (:data:`CHART_FILES`)."""
    import matplotlib.pyplot as plt

    files = []
    for name, fig in chart_figures(ts, title).items():
        p = folder / name
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p)
    return files


class OutputError(ValueError):
    """The output folder cannot be used; the message says why."""


#: Files a run writes (an existing folder holding only these, plus manifest.json, is ours).
RUN_FILES = {
    "timeseries.parquet",
    "events.csv",
    "summary.json",
    "scenario.toml",
    "manifest.json",
    *CHART_FILES,
}


#: Inventory of the files an output folder holds, written when it is published.
INVENTORY = ".ree-files.json"


def _files_under(folder: Path) -> set[str]:
    """Relative paths (POSIX) of every file under ``folder``, subfolders included."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def resolve_out(out: Path | str, example: str = "results/run") -> Path:
    """``--out`` as an absolute path, refused if it names no folder or the current folder
    (or one of its parents, or the root), which an output would replace.

    Raises:
        OutputError: one line with the reason and an ``example`` folder name.
    """
    if str(out).strip() == "":
        raise OutputError(f"--out is empty; give a folder name such as {example}")
    out = Path(out).expanduser().resolve()
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents or out == Path(out.anchor):
        raise OutputError(
            f"--out {out} is the current folder or one of its parents; "
            f"give a new folder such as {example}"
        )
    return out


def check_output_folder(
    out: Path | str,
    allowed: set[str] | None = RUN_FILES,
    required: frozenset[str] = frozenset({"manifest.json"}),
) -> Path:
    """Validate an output folder before writing (see :func:`run_to_folder`).

    An existing folder may be replaced only if it is empty or is an earlier output of ours:
    it holds every name in ``required``, (when ``allowed`` is given) no top-level name
    outside ``allowed``, and no file anywhere (subfolders included) that is not in the
    inventory written when it was published (:data:`INVENTORY`), so a file a user added
    to an earlier output is never deleted.

    Raises:
        OutputError: with the reason (empty path, current folder or a parent, a file, a
            parent that is a file or not writable, or a folder that is not our output or
            holds files that are not).
    """
    out = resolve_out(out)
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(
                    f"--out {out}: {parent} is a file, not a folder; choose "
                    "a folder that can be created"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(
                    f"--out {out}: cannot write in {parent} (permission "
                    "denied); choose another folder"
                )
            break
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"--out {out} exists and is not a folder")
        names = {p.name for p in out.iterdir()}
        if not names:
            return out
        ours = required <= names and (allowed is None or names - {INVENTORY} <= allowed)
        listed: set[str] | None = None
        damaged = False
        try:
            listed = set(json.loads((out / INVENTORY).read_text()))
        except (OSError, ValueError, TypeError):
            # no inventory, or one that cannot be read: the folder is not known to be ours
            damaged = INVENTORY in names
            ours = False
        if (
            not ours
            and "ensemble.parquet" in names
            and not (allowed and "ensemble.parquet" in allowed)
        ):
            raise OutputError(
                f"--out {out} is the output of 'ree run --seeds' (ensemble.parquet, "
                "seed-N); choose a new folder for a single run, or run --seeds again to "
                "replace it"
            )
        if not ours:
            strange = sorted(names - (allowed or set()) - {INVENTORY}) if allowed else []
            items = strange if strange else sorted(names)
            shown = ", ".join(items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")
            what = "files it did not write" if strange and listed is not None else "it holds"
            why = (
                f": its file inventory {INVENTORY} is damaged, so the files it wrote cannot "
                "be told from others"
                if damaged and required <= names
                else ""
            )
            raise OutputError(
                f"--out {out} exists and is not an earlier output of this "
                f"command{why} ({what}: {shown}); choose a new folder or move "
                "those files"
            )
        extra = sorted(_files_under(out) - listed - {INVENTORY})
        if extra:
            raise OutputError(
                f"--out {out} is an earlier output but also holds files it did "
                f"not write ({extra[:5]}); move them or choose a new folder"
            )
    return out


def check_not_ensemble_member(out: Path | str) -> None:
    """Refuse a single run's ``--out`` that is a ``seed-N`` folder of a ``ree run --seeds``
    output (its parent holds ``ensemble.parquet``): the new run would replace that seed's
    run and leave ``ensemble.parquet`` stale.

    Raises:
        OutputError: one line naming the folder and the fixes (another ``--out``, or
            running the ensemble again).
    """
    import re

    p = Path(out).expanduser()
    if re.fullmatch(r"seed-\d+", p.name) and (p.parent / "ensemble.parquet").is_file():
        raise OutputError(
            f"--out {p} is {p.name} of the ensemble in {p.parent} (ree run --seeds): a "
            f"single run there would leave {p.parent / 'ensemble.parquet'} stale; choose "
            f"another --out, or run the ensemble again (ree run --seeds ... --out {p.parent})"
        )


#: Marker in a staging folder (and, during a replacement, in the retired earlier output)
#: naming the process that owns it; removed when the replacement is complete.
STAGING_OWNER = ".ree-staging.json"

#: Suffix of the folder an earlier output is renamed to while it is being replaced.
RETIRED = ".old"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _dead_owner(folder: Path) -> bool:
    """True when ``folder`` holds :data:`STAGING_OWNER` naming a process of this host that is
    gone (a live process, another host, or no readable marker: False)."""
    try:
        owner = json.loads((folder / STAGING_OWNER).read_text(encoding="utf-8"))
        pid, where = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return where == socket.gethostname() and not _pid_alive(pid)


def remove_stale_staging(out: Path) -> list[Path]:
    """Clean up after a run killed while writing or replacing ``out`` (``kill -9``, power loss),
    so that ``out`` is either the earlier output or the complete new one.

    A killed process may leave, beside ``out`` (each marked with :data:`STAGING_OWNER` naming a
    process of this host that is gone):

    * a staging folder ``.<name>.<random>``: removed; if ``out`` is missing because the kill
      came between the two renames of :func:`publish_folder`, the retired earlier output
      ``.<name>.<random>.old`` is first renamed back to ``out``;
    * a retired earlier output ``.<name>.<random>.old`` with ``out`` in place: removed (the
      new output was already published);
    * the marker inside ``out`` itself (killed just after publishing): removed.

    Folders of a live process, of another host, or without the marker are left alone.

    Returns:
        The folders removed or restored.
    """
    done: list[Path] = []
    if not out.parent.is_dir():
        return done
    siblings = sorted(out.parent.glob(f".{out.name}.*"))
    for p in siblings:  # staging folders first: they say whether to restore
        if p.name.endswith(RETIRED) or not p.is_dir() or not _dead_owner(p):
            continue
        old = p.with_name(p.name + RETIRED)
        if not out.exists() and old.is_dir():
            os.rename(old, out)
            (out / STAGING_OWNER).unlink(missing_ok=True)
            done.append(out)
        shutil.rmtree(p, ignore_errors=True)
        done.append(p)
    for p in siblings:
        if p.name.endswith(RETIRED) and p.is_dir() and _dead_owner(p):
            if out.exists():
                shutil.rmtree(p, ignore_errors=True)
            else:  # published nothing: put the earlier output back
                os.rename(p, out)
                (out / STAGING_OWNER).unlink(missing_ok=True)
            done.append(p)
    if out.is_dir() and _dead_owner(out):
        (out / STAGING_OWNER).unlink(missing_ok=True)
        done.append(out)
    return done


#: Name of a staging folder (``.<name>.<8 characters of tempfile.mkdtemp>``) or of a
#: retired earlier output (the same, then :data:`RETIRED`); group 1 is the output's name.
_STAGING_NAME = re.compile(r"\.(.+)\.[a-z0-9_]{8}(?:" + re.escape(RETIRED) + ")?")


def remove_stale_beside(parent: Path) -> list[Path]:
    """Clean up what killed runs of any output folder left in ``parent``: for every hidden
    folder there named like a staging folder or a retired output of ``<parent>/<name>``
    and holding :data:`STAGING_OWNER` naming a process of this host that is gone,
    :func:`remove_stale_staging` of ``<parent>/<name>`` (removes it, or restores the earlier
    output it holds). Folders without the marker (not this tool's), of a live process or of
    another host are left alone.

    Returns:
        The folders removed or restored (empty when ``parent`` is not a folder).
    """
    done: list[Path] = []
    try:
        children = sorted(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return done
    names = []
    for p in children:
        m = _STAGING_NAME.fullmatch(p.name)
        if m and p.is_dir() and _dead_owner(p) and m.group(1) not in names:
            names.append(m.group(1))
    for name in names:
        try:
            done += remove_stale_staging(parent / name)
        except OSError:  # another process cleaning at the same moment: leave it
            continue
    return done


def stale_note(done: list[Path]) -> str | None:
    """The one-line note naming what :func:`remove_stale_beside` or
    :func:`remove_stale_staging` cleaned up (None when nothing)."""
    if not done:
        return None
    shown = ", ".join(str(p) for p in done[:4]) + (
        f" and {len(done) - 4} more" if len(done) > 4 else ""
    )
    return f"note: cleaned up {len(done)} staging folder(s) left by a killed earlier run: {shown}"


def _write_owner(folder: Path) -> None:
    (folder / STAGING_OWNER).write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    )


def new_staging_folder(out: Path, note=None, cleaned: list[Path] | None = None) -> Path:
    """A hidden temporary folder beside ``out`` to write into before publishing; what killed
    runs left beside ``out`` (of any output folder of this tool,
    :func:`remove_stale_beside`) is cleaned up first, and ``note`` (if given) is called
    with the one line saying so (:func:`stale_note`; ``cleaned``: folders the caller
    already cleaned up, named in the same line).

    Raises:
        OutputError: the parent folder cannot be created or written.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        done = [*(cleaned or []), *remove_stale_staging(out), *remove_stale_beside(out.parent)]
        if note is not None and (line := stale_note(done)) is not None:
            note(line)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        _write_owner(tmp)
        return tmp
    except OSError as exc:
        raise OutputError(
            f"--out {out}: cannot create the output folder ({exc.strerror})"
        ) from None


def remove_folder(folder: Path, tries: int = 10, wait_s: float = 0.2) -> bool:
    """Delete ``folder`` and everything in it, trying again ``tries`` times ``wait_s``
    seconds apart while it still exists (a process that was just stopped may have created a
    file in it meanwhile). Returns True when it is gone."""
    for i in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return True
        if i + 1 < tries:
            time.sleep(wait_s)
    return not folder.exists()


def publish_folder(tmp: Path, out: Path) -> None:
    """Replace ``out`` (checked by :func:`check_output_folder`) by the finished ``tmp``, with
    an inventory of its files (:data:`INVENTORY`), by renames only (a rename-swap):

    1. ``out`` is renamed to ``<tmp>.old`` and marked with this process (:data:`STAGING_OWNER`);
    2. ``tmp`` is renamed to ``out``;
    3. the markers are removed and ``<tmp>.old`` is deleted.

    Nothing is deleted before the new output is in place, so a kill at any moment leaves the
    earlier output or the complete new one, and :func:`remove_stale_staging` (run by the next
    ``ree run``) restores or finishes the replacement.
    """
    (tmp / INVENTORY).write_text(json.dumps(sorted(_files_under(tmp) - {STAGING_OWNER})))
    tmp.chmod(0o755)
    old = tmp.with_name(tmp.name + RETIRED)
    if out.exists():
        os.rename(out, old)
        try:
            _write_owner(old)
            os.rename(tmp, out)
        except BaseException:  # put the earlier output back
            if not out.exists():
                os.rename(old, out)
                (out / STAGING_OWNER).unlink(missing_ok=True)
            raise
    else:
        os.rename(tmp, out)
    (out / STAGING_OWNER).unlink(missing_ok=True)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def run_to_folder(
    scenario: str | Path | Scenario,
    out: Path,
    *,
    seed: int = 0,
    months: int | None = None,
    overrides: dict | None = None,
    progress: bool = True,
    make_charts: bool = True,
    on_step=None,
    note=None,
) -> tuple[RareEarthModel, dict]:
    """Run a scenario and write ``timeseries.parquet``, ``events.csv``, ``summary.json``,
    ``manifest.json`` and PNG charts into ``out`` (created; replaced atomically by a
    rename-swap, :func:`publish_folder`; what a killed earlier run left beside ``out`` is
    cleaned up or restored first, :func:`remove_stale_staging`).

    ``on_step`` is called with the model after each month (:meth:`RareEarthModel.run`);
    ``note`` (if given) with the one line naming the staging folders of killed earlier runs
    cleaned up beside ``out`` (:func:`new_staging_folder`).
    ``manifest.json`` records the ``overrides`` applied (dotted path -> value).

    Everything is checked before the model runs: the scenario (a file may be UTF-8 with or
    without a byte-order mark), ``months`` and ``out`` (the staging folder is created first).

    An existing ``out`` is replaced only if it is itself an earlier run's output (it holds a
    ``manifest.json`` and nothing but run files); any other existing folder is refused.

    Raises:
        ScenarioError: invalid scenario or override, or an ``end`` after the data's last
            month (:func:`experiments.inputs.scenario_with_overrides`; nothing written).
        ValueError: ``months`` is not a whole number from 1 to the scenario horizon, or
            the run ends before ``levers.start`` while levers are set, or before a measure
            whose field an override sets comes into force (they would never apply).
        OutputError: ``out`` is unusable (a file, the current folder or one of its parents,
            a non-empty folder that is not a run output, or not writable); nothing is
            written or deleted.
    """
    sc = scenario_with_overrides(scenario, overrides)
    check_months(sc, months, minimum=1, name="--months")  # before any work
    if (never := sc.levers_never_apply(months)) is not None:
        need, gated = never
        raise ValueError(
            f"levers.start {sc.levers.start} comes after the run's last month, "
            f"{to_month(sc.start) + int(months) - 1} ({months_text(int(months))} from "
            f"{sc.start}), so the levers set "
            f"({', '.join(gated)}) would never apply; run at least {months_text(need)} or "
            "set levers.start "
            "earlier (--set levers.start=YYYY-MM)"
        )
    if (late := measures_never_apply(sc, months, overrides)) is not None:
        need, keys = late
        raise ValueError(
            f"the run ends in {to_month(sc.start) + int(months) - 1} "
            f"({months_text(int(months))} from {sc.start}), before the measures set "
            f"({', '.join(keys)}) come into force, so they would never apply; run at least "
            f"{months_text(need)}"
        )
    check_tables()  # every data table, before any work
    out = check_output_folder(out)
    cleaned = remove_stale_staging(out)  # what a killed run left: restored or removed
    if cleaned:
        out = check_output_folder(out)
    # creating it proves --out can be written, before the run
    tmp = new_staging_folder(out, note=note, cleaned=cleaned)
    try:
        t0 = time.perf_counter()
        model = RareEarthModel(sc, seed=seed, months=months)
        with RunProgress(model.months, sc.name, enabled=progress) as bar:

            def step(m) -> None:
                bar.advance(1, label=f"{sc.name} {m.date - 1}")
                if on_step is not None:
                    on_step(m)

            model.run(on_step=step)
        wall = time.perf_counter() - t0
        ts = model.timeseries()
        summ = summary(model)
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        model.events_frame().to_csv(tmp / "events.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summ, indent=2))
        (tmp / "scenario.toml").write_text(sc.to_toml())
        if make_charts:
            charts(ts, tmp, run_title(sc.name, seed, overrides))
        # where the scenario came from: a shipped name, or the file given (a user file may
        # carry a shipped scenario's name)
        source = (
            str(Path(scenario).expanduser().resolve())
            if isinstance(scenario, str | Path) and Path(scenario).suffix == ".toml"
            else "shipped"
            if isinstance(scenario, str)
            else "in memory"
        )
        manifest = {
            "scenario": sc.name,
            "scenario_source": source,
            "scenario_hash": sc.content_hash(),
            "overrides": dict(overrides or {}),
            "seed": seed,
            "months": model.steps,
            "start": sc.start,
            "end": str(model.start + max(model.steps - 1, 0)),
            "packages": package_versions(),
            **code_and_data(),
            "wall_time_s": round(wall, 3),
            "rows": len(ts),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return model, summ


def seed_task(
    scenario: str,
    folder: str,
    seed: int,
    months: int | None,
    overrides: dict,
    make_charts: bool,
    data_dir: str | None,
) -> dict:
    """One seed of ``ree run --seeds`` on a worker: :func:`run_to_folder` into ``folder``
    (``data_dir``: the ``REE_DATA_DIR`` folder the driver uses, set here so a worker process
    reads the same tables). Returns the run's summary (:func:`summary`)."""
    from abm.data import DATA_ENV

    if data_dir:
        os.environ[DATA_ENV] = data_dir
    _model, summ = run_to_folder(
        scenario,
        Path(folder),
        seed=seed,
        months=months,
        overrides=overrides,
        progress=False,
        make_charts=make_charts,
    )
    return summ


ENSEMBLE_KEYS = ["date", "step", "metric", "good", "region", "partner", "unit"]


def ensemble_table(folders: dict[int, Path]) -> pd.DataFrame:
    """Median and 5-95% band over seeds of every recorded series (``ree run --seeds``).

    A seed without a row of a series in a month counts as zero for the metrics whose absent
    row means zero (:data:`abm.metrics.ZERO_WHEN_ABSENT`: ``flow``, ``production``,
    ``capacity``, ``inventory``, ``stockpile``, ``magnets_received``, ...), so a flow that
    only some seeds had is not overstated; for the other metrics (prices, shares such as
    ``china_content``) an absent row means "not defined" and the statistics are over the
    seeds that recorded it.

    Args:
        folders: seed -> run folder holding ``timeseries.parquet``.

    Returns:
        One row per series and month recorded by at least one seed (``date``, ``step``,
        ``metric``, ``good``, ``region``, ``partner``, ``unit``) with ``median``, ``p05``,
        ``p95`` (the series' unit; numpy's linear interpolation between order statistics)
        over all seeds (absent = 0) for :data:`abm.metrics.ZERO_WHEN_ABSENT` metrics and
        over the seeds that recorded it for the others; ``seeds``, how many seeds recorded
        a row that month (for a flow: how many had that flow); and ``n_seeds`` (all seeds).

    Raises:
        experiments.run_files.RunFolderError: a seed's ``timeseries.parquet`` is missing or
            damaged (one line naming it).
    """
    from abm.metrics import ZERO_WHEN_ABSENT

    frames = []
    for s, folder in sorted(folders.items()):
        ts = read_run_table(
            Path(folder) / "timeseries.parquet",
            f"seed {s}",
            f"run the ensemble again (ree run --seeds ... --out {Path(folder).parent})",
        )
        frames.append(ts.assign(seed=s))
    allts = pd.concat(frames, ignore_index=True)
    for c in ("metric", "good", "region", "partner", "unit"):
        allts[c] = allts[c].astype(object).fillna("")
    wide = allts.set_index([*ENSEMBLE_KEYS, "seed"])["value"].unstack("seed")
    wide = wide.reindex(columns=sorted(folders))  # a seed with no rows at all is a column too
    vals = wide.to_numpy(dtype=float, copy=True)
    recorded = np.isfinite(vals)
    zero = wide.index.get_level_values("metric").isin(ZERO_WHEN_ABSENT)
    vals[zero] = np.where(recorded[zero], vals[zero], 0.0)
    out = wide.index.to_frame(index=False)
    out["median"] = np.nanmedian(vals, axis=1)
    out["p05"] = np.nanquantile(vals, 0.05, axis=1)
    out["p95"] = np.nanquantile(vals, 0.95, axis=1)
    out["seeds"] = recorded.sum(axis=1).astype("int64")
    out["n_seeds"] = len(folders)
    return out.sort_values(ENSEMBLE_KEYS, kind="stable").reset_index(drop=True)
