"""The paper figures (``figures/*.png`` and ``*.svg``): median line and 5-95% band over
seeds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from abm.scenario import load_scenario
from abm.timeline import to_month
from experiments.reproduce.series import REGIONS_DECOUPLING
from experiments.reproduce.variants import DECOUPLING_SCENARIOS, VARIANTS, _measure_ids


def _band_lines(
    ax,
    series: pd.DataFrame,
    variant: str,
    key: str,
    label: str,
    color=None,
    scale: float = 1.0,
    relative_to_year: int | None = None,
    ls: str = "-",
):
    s = series[(series["variant"] == variant) & (series["series"] == key)]
    if s.empty:
        return None
    piv = s.pivot_table(index="date", columns="rep", values="value", aggfunc="first")
    if relative_to_year is not None:
        base = piv[piv.index.year == relative_to_year].mean()
        piv = piv / base
    piv = piv * scale
    med = piv.median(axis=1)
    lo, hi = piv.quantile(0.05, axis=1), piv.quantile(0.95, axis=1)
    (line,) = ax.plot(med.index, med.values, label=label, color=color, lw=1.6, ls=ls)
    ax.fill_between(med.index, lo.values, hi.values, color=line.get_color(), alpha=0.2, lw=0)
    return line


def figures(series: pd.DataFrame, folder: Path) -> list[Path]:
    """Write the paper figures (PNG and SVG; median line and 5-95% band over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    n = int(series["rep"].nunique())
    note = f"median and 5-95% band over {n} seeds"

    def save(fig, name):
        fig.tight_layout()
        for ext in ("png", "svg"):
            p = folder / f"{name}.{ext}"
            fig.savefig(p, dpi=120 if ext == "png" else None)
            files.append(p)
        plt.close(fig)

    def mark(ax, scenario, ids):
        sc = load_scenario(scenario)
        known = _measure_ids(sc)
        for i in ids:
            if i in known:
                ax.axvline(to_month(known[i].date).to_timestamp(), color="grey", ls=":", lw=1)

    have = set(series["variant"].unique())
    # 1. the 2010-11 price spike
    if "embargo-2010" in have:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        for ax, good, name in zip(axes, ("ox_Dy", "ox_Nd"), ("Dy oxide", "Nd oxide"), strict=True):
            for v, c in (
                ("embargo-2010", "C3"),
                ("embargo-2010/no-halt", "C1"),
                ("embargo-2010/no-quotas", "C0"),
            ):
                _band_lines(
                    ax, series, v, f"price_row:{good}", VARIANTS[v].label, c, relative_to_year=2009
                )
            ax.axhspan(8, 30, color="green", alpha=0.07, label="target 8-30x")
            mark(ax, "embargo-2010", ["cn_quota_2010", "cn_halt_japan_2010"])
            ax.set_yscale("log")
            ax.set_title(f"{name} price outside China / 2009 mean")
            ax.set_ylabel("multiple of 2009 level")
            ax.legend(fontsize=8)
        fig.suptitle(
            f"2010-11 episode ({note}); dotted: July 2010 quota cut, halt to Japan", fontsize=9
        )
        save(fig, "fig1_2010_price_spike")
        # 2. adaptation: demand removed and non-China supply
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for v, c in (("embargo-2010", "C3"), ("embargo-2010/no-quotas", "C0")):
            _band_lines(axes[0], series, v, "demand_removed", VARIANTS[v].label, c, scale=100)
        axes[0].set_title("magnet-REE demand removed by thrifting and substitution")
        axes[0].set_ylabel("% of magnet-REE demand")
        axes[0].legend(fontsize=8)
        for v, c in (("embargo-2010", "C3"), ("embargo-2010/no-quotas", "C0")):
            s = series[
                (series["variant"] == v) & series["series"].isin(["mine:world", "mine:nonCN"])
            ]
            if s.empty:
                continue
            piv = s.pivot_table(index=["date", "rep"], columns="series", values="value")
            share = (piv["mine:nonCN"] / piv["mine:world"] * 100).rename("value").reset_index()
            share = share.assign(variant=v, series="nonCN_share")
            _band_lines(axes[1], share, v, "nonCN_share", VARIANTS[v].label, c)
        axes[1].set_title("non-China share of world mine output")
        axes[1].set_ylabel("%")
        axes[1].legend(fontsize=8)
        for ax in axes:
            mark(ax, "embargo-2010", ["cn_quota_2010"])
        fig.suptitle(note, fontsize=9)
        save(fig, "fig2_2010_adaptation")
    # 3. the 2025 export collapse
    if "controls-2025" in have:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sub = series[pd.to_datetime(series["date"]) < pd.Timestamp("2027-01-01")]
        for v, c in (("controls-2025", "C3"), ("no-controls", "C0")):
            _band_lines(ax, sub, v, "cn_magnet_exports", VARIANTS[v].label, c)
        mark(
            ax, "controls-2025", ["cn_licences_apr2025", "london_framework", "cn_general_licences"]
        )
        ax.set_title("China's magnet exports")
        ax.set_ylabel("t/month")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        fig.suptitle(
            f"{note}; dotted: 4 Apr 2025 licences, London framework, general licences", fontsize=9
        )
        save(fig, "fig3_2025_magnet_exports")
        # 4. US magnet capacity with and without the floor
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sub = series[pd.to_datetime(series["date"]) < pd.Timestamp("2031-01-01")]
        for v, c in (("controls-2025", "C3"), ("controls-2025/no-floor", "C0")):
            lab = VARIANTS[v].label
            _band_lines(ax, sub, v, "capacity:magnets:US", f"{lab}: US operating, all firms", c)
            _band_lines(ax, sub, v, "nameplate:magnets:MP", f"{lab}: MP nameplate", c, ls="--")
        ax.axhline(
            10000, color="green", ls=":", lw=1.2, label="MP/DoD plan: 10,000 t/yr (MP, with 10X)"
        )
        mark(ax, "controls-2025", ["dod_floor"])
        ax.set_title(
            "US sintered-magnet capacity: all firms' operating capacity (solid)\n"
            "and MP Materials' nameplate (dashed; target mp_magnet_capacity_2029)",
            fontsize=9,
        )
        ax.set_ylabel("t/yr")
        ax.legend(fontsize=8)
        fig.suptitle(note, fontsize=9)
        save(fig, "fig4_2025_us_magnet_capacity")
    # 5. decoupling
    dec_v = [v for v in DECOUPLING_SCENARIOS if v in have]
    if dec_v:
        fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True, sharey=True)
        for ax, r in zip(axes.ravel(), REGIONS_DECOUPLING, strict=True):
            for i, v in enumerate(dec_v):
                s = series[(series["variant"] == v) & (series["series"] == f"china_content:{r}")]
                s = s.assign(date=pd.to_datetime(s["date"]))
                ann = s.groupby([s["date"].dt.year, "rep"])["value"].mean()
                ann = ann.rename("value").reset_index().rename(columns={"date": "year"})
                ann["date"] = pd.to_datetime(ann["year"].astype(str) + "-07-01")
                ann = ann.assign(variant=v, series="cc")
                _band_lines(ax, ann, v, "cc", v, f"C{i}", scale=100)
            ax.set_title(f"China-origin share of {r} magnet supply")
            ax.set_ylabel("% (annual mean)")
            ax.set_ylim(0, 105)
        axes[0, 0].legend(fontsize=8)
        fig.suptitle(f"Decoupling study ({note})", fontsize=9)
        save(fig, "fig5_decoupling")
        # 6. prices by scenario
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for ax, key, name in zip(
            axes, ("price_row:NdPr", "price_row:ox_Dy"), ("NdPr oxide", "Dy oxide"), strict=True
        ):
            for i, v in enumerate(dec_v):
                _band_lines(ax, series, v, key, v, f"C{i}")
            ax.set_title(f"{name} price outside China")
            ax.set_ylabel("USD/kg")
            ax.set_yscale("log")
        axes[0].legend(fontsize=8)
        fig.suptitle(note, fontsize=9)
        save(fig, "fig6_scenario_prices")
    return files
