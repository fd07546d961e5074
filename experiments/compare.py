"""``ree compare RUN_A RUN_B``: two ``ree run`` output folders side by side.

The outcomes are the numbers ``ree run`` printed, read from each folder's ``summary.json``
(:func:`experiments.runs.summary`); the overlay chart reads the Mesa DataCollector headline
series (:data:`abm.metrics.HEADLINE`) from each ``timeseries.parquet``. Nothing is re-run.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from experiments.run_files import (
    MANIFEST_KEYS,
    TIMESERIES_COLUMNS,
    RunFolderError,
    RunManifest,
    RunSummary,
    check_run_json,
    read_run_json,
    read_run_table,
    rerun_command,
)
from experiments.tables import round_frame

__all__ = [
    "COMPARE_FILES",
    "RunFolder",
    "RunFolderError",
    "compare_to_folder",
    "comparison_table",
    "load_ensemble",
    "load_run",
    "median_summary",
    "overlay_figure",
]

#: Files a run folder must hold to be compared.
NEEDED = ("manifest.json", "summary.json", "timeseries.parquet")

#: Files ``ree compare`` writes.
COMPARE_FILES = {"comparison.csv", "comparison.png", "comparison.json"}

#: Cumulative money outcomes of ``summary.json["accounts"]`` (USD; shown in bn USD).
ACCOUNT_KEYS = {
    "value_added_lost": "value added lost",
    "buyer_extra_cost": "buyers' extra cost",
    "tariff_revenue": "tariff revenue",
    "export_duty_revenue": "export duty revenue",
    "floor_offtake_cost": "price floors and offtakes",
    "stockpile_purchase_cost": "stockpile purchases",
}


@dataclass(frozen=True)
class RunFolder:
    """One run output read for comparison.

    Attributes:
        path: the folder.
        manifest: its ``manifest.json`` (scenario, seed, months, overrides, ...).
        summary: its ``summary.json``.
        label: ``"<scenario>, seed <n>"`` (with the ``--set`` overrides, if any).
        ts: its ``timeseries.parquet`` (read, and so checked, by :func:`load_run`).
    """

    path: Path
    manifest: dict
    summary: dict
    label: str
    ts: pd.DataFrame = field(repr=False, compare=False, default=None)

    def timeseries(self) -> pd.DataFrame:
        """The run's ``timeseries.parquet``."""
        if self.ts is not None:
            return self.ts
        return read_run_table(self.path / "timeseries.parquet")


def load_run(folder: str | Path, which: str = "RUN") -> RunFolder:
    """Read a ``ree run`` output folder.

    Raises:
        RunFolderError: one line naming ``which`` (``RUN_A``/``RUN_B``) and the folder, and
            what is missing: the folder, its run files (a ``--seeds`` folder names its
            ``seed-N`` subfolders), readable JSON, or a readable ``timeseries.parquet``
            (truncated, empty: :func:`experiments.run_files.read_run_table`), with the
            ``ree run`` command that writes the folder again.
    """
    from experiments.runs import run_title

    p = Path(folder).expanduser()
    if not p.exists():
        raise RunFolderError(f"{which} {p}: no such folder; give a `ree run` output folder")
    if not p.is_dir():
        raise RunFolderError(f"{which} {p} is a file; give a `ree run` output folder")
    missing = [n for n in NEEDED if not (p / n).is_file()]
    if missing and (p / "ensemble.parquet").is_file():
        return load_ensemble(p, which)
    if missing:
        seeds = sorted(q.name for q in p.glob("seed-*") if (q / "manifest.json").is_file())
        hint = (
            f"it holds the runs of ree run --seeds ({', '.join(seeds[:4])}"
            f"{', ...' if len(seeds) > 4 else ''}); give one of them, e.g. {p / seeds[0]}"
            if seeds
            else "give a folder written by ree run --out NEW_FOLDER"
        )
        raise RunFolderError(
            f"{which} {p} is not a `ree run` output folder (missing {', '.join(missing)}); {hint}"
        )
    # the manifest names the run's scenario, seed and --set values; without it, say so
    # rather than suggest a command that would overwrite the run with the default scenario
    manifest = read_run_json(
        p / "manifest.json",
        which,
        f"re-run the command that wrote it (the same scenario, --seed and --set values) "
        f"with --out {p}",
        MANIFEST_KEYS,
        RunManifest,
    )
    again = f"re-run it: {rerun_command(p, manifest)}"
    summ = read_run_json(p / "summary.json", which, again)
    if not any(k in RunSummary.model_fields for k in summ) and not any(
        isinstance(v, dict) and "peak" in v for v in summ.values()
    ):
        raise RunFolderError(
            f"{which} {p / 'summary.json'}: holds none of the outcomes "
            f"ree run prints (keys {sorted(summ)[:6]}); {again}"
        )
    check_run_json(summ, RunSummary, p / "summary.json", which, again)
    ts = read_run_table(p / "timeseries.parquet", which, again)
    label = run_title(
        str(manifest.get("scenario", p.name)), manifest.get("seed", "?"), manifest.get("overrides")
    )
    return RunFolder(p, manifest, summ, label, ts)


def median_summary(summaries: list[dict]) -> dict:
    """The median over seeds of run summaries (``summary.json``), as one summary of the same
    shape: a number is the median of the seeds' numbers, a table is merged key by key (keys
    that every seed has), anything else (text) is the first seed's."""
    first = summaries[0]
    if all(isinstance(x, dict) for x in summaries):
        keys = [k for k in first if all(k in x for x in summaries)]
        return {k: median_summary([x[k] for x in summaries]) for k in keys}
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in summaries):
        return float(statistics.median(float(x) for x in summaries))
    return first


def load_ensemble(folder: str | Path, which: str = "RUN") -> RunFolder:
    """Read a ``ree run --seeds`` output folder as one run: its outcomes are the medians over
    the seeds of each seed's ``summary.json`` (:func:`median_summary`) and its series the
    medians of ``ensemble.parquet`` (:func:`experiments.runs.ensemble_table`).

    Raises:
        RunFolderError: one line naming ``which`` and the folder: a seed folder is not a
            readable run (:func:`load_run`), the seeds ran different scenarios, ``--set``
            values or periods, or ``ensemble.parquet`` is unreadable.
    """
    p = Path(folder).expanduser()
    found = sorted(
        (int(q.name[5:]), q) for q in p.glob("seed-*") if q.is_dir() and q.name[5:].isdigit()
    )
    seeds, dirs = [s for s, _ in found], [q for _, q in found]
    if not dirs:
        raise RunFolderError(
            f"{which} {p} holds ensemble.parquet but no seed-N folders; write it again with "
            "ree run --seeds ... --out NEW_FOLDER"
        )
    runs = [load_run(q, f"{which} {q.name}") for q in dirs]
    same = ("scenario_hash", "overrides", "start", "end", "months")
    ref = runs[0].manifest
    for r in runs[1:]:
        diff = [k for k in same if r.manifest.get(k) != ref.get(k)]
        if diff:
            raise RunFolderError(
                f"{which} {p}: {r.path.name} differs from {runs[0].path.name} in "
                f"{', '.join(diff)}; an ensemble's seeds must run the same scenario, --set "
                "values and months"
            )
    ens = read_run_table(
        p / "ensemble.parquet",
        which,
        f"write the ensemble again: ree run --seeds ... --out {p}",
        columns=(*(c for c in TIMESERIES_COLUMNS if c != "value"), "median"),
    )
    ts = ens.rename(columns={"median": "value"})[list(TIMESERIES_COLUMNS)]
    text = ",".join(str(x) for x in seeds)
    manifest = {**ref, "seed": text, "seeds": seeds}
    from experiments.runs import overrides_text

    label = f"{ref.get('scenario', p.name)}, median of {len(seeds)} seeds ({text})"
    label += overrides_text(ref.get("overrides"))
    return RunFolder(p, manifest, median_summary([r.summary for r in runs]), label, ts)


_UNIT = re.compile(r"^(.*?)\s*\(([^()]*)\)$")


def outcomes(summ: dict) -> list[tuple[str, str, float]]:
    """The outcomes of a run summary as ``(outcome, unit, value)`` rows, in print order:
    peak and last of each headline series (unit from its name), cumulative lost output
    (bn USD), each focus region's accounts (bn USD; worst 12 months in % of GDP), the
    China-origin share of magnet supply per region (share) and the net capacity change
    outside China per stage (t/yr)."""
    rows: list[tuple[str, str, float]] = []
    for key, v in summ.items():
        if isinstance(v, dict) and "peak" in v:
            m = _UNIT.match(key)
            name, unit = (m.group(1), m.group(2)) if m else (key, "")
            rows += [(f"{name}, peak", unit, v["peak"]), (f"{name}, last month", unit, v["last"])]
    lo = summ.get("lost_output_usd", {})
    for k, name in (("oem", "OEM"), ("defense", "defense")):
        if k in lo:
            rows.append((f"{name} lost output, cumulative", "bn USD", lo[k] / 1e9))
    for region, acc in (summ.get("accounts") or {}).items():
        for k, name in ACCOUNT_KEYS.items():
            if k in acc:
                rows.append((f"{region}: {name}, cumulative", "bn USD", acc[k] / 1e9))
        if "value_added_lost_pct_gdp_peak_12m" in acc:
            rows.append(
                (
                    f"{region}: value added lost, worst 12 months",
                    "% of GDP",
                    acc["value_added_lost_pct_gdp_peak_12m"],
                )
            )
    for region, v in (summ.get("china_content_12m_last") or {}).items():
        rows.append((f"{region}: China-origin share of magnets, last 12 months", "share", v))
    for stage, v in (summ.get("capacity_built_outside_china_t_yr") or {}).items():
        rows.append((f"net {stage} capacity change outside China", "t/yr", v))
    return rows


#: Largest change shown as a percentage: beyond it (run A near zero) the table shows "-"
#: and the difference alone says how the runs differ.
MAX_CHANGE_PCT = 10_000.0


def change_pct(x: float, y: float) -> float:
    """``(y - x) / |x| x 100`` (%), or NaN when ``x`` is 0 or not finite or the change
    exceeds :data:`MAX_CHANGE_PCT` (a base near zero: a new user's comparison printed
    +157,196% for 0.0003 bn USD of value added lost)."""
    if x == 0 or not math.isfinite(x) or not math.isfinite(y):
        return math.nan
    pct = (y - x) / abs(x) * 100.0
    return pct if abs(pct) <= MAX_CHANGE_PCT else math.nan


def comparison_table(a: RunFolder, b: RunFolder) -> pd.DataFrame:
    """Each outcome of both runs and their difference.

    Returns:
        one row per outcome of either run (:func:`outcomes`), columns ``outcome``, ``unit``,
        ``run_a``, ``run_b`` (NaN where a run lacks it), ``difference`` (run_b - run_a, in
        ``unit``), ``change_pct`` (:func:`change_pct`, %: the relative change) and
        ``change_pp`` (for outcomes in ``share``: the difference in percentage points,
        100 x difference; NaN for the others).
    """
    va = {(o, u): v for o, u, v in outcomes(a.summary)}
    vb = {(o, u): v for o, u, v in outcomes(b.summary)}
    keys = list(va) + [k for k in vb if k not in va]
    rows = []
    for o, u in keys:
        x, y = float(va.get((o, u), math.nan)), float(vb.get((o, u), math.nan))
        d = y - x
        rows.append(
            {
                "outcome": o,
                "unit": u,
                "run_a": x,
                "run_b": y,
                "difference": d,
                "change_pct": change_pct(x, y),
                "change_pp": 100.0 * d if u == "share" else math.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["outcome", "unit", "run_a", "run_b", "difference", "change_pct", "change_pp"],
    )


def overlay_figure(a: RunFolder, b: RunFolder):
    """One figure of the headline series (:data:`abm.metrics.HEADLINE`) of both runs: run A
    solid, run B dashed, by month; prices on a log scale (said in the y label); a series
    that is zero throughout in both runs on an axis from 0, marked ``none``.

    Returns:
        a matplotlib Figure (3 x 3 panels), title naming both runs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from abm.metrics import HEADLINE
    from experiments.runs import add_legend, fitted_title, log_scale

    series = []
    for run in (a, b):
        ts = run.timeseries()
        months = pd.Index(sorted(ts["date"].unique()), name="date")
        one = {}
        for _key, label, metric, good, region, partner, div in HEADLINE:
            rows = ts[
                (ts["metric"] == metric)
                & (ts["good"] == good)
                & (ts["region"] == region)
                & (ts["partner"] == partner)
            ]
            s = rows.set_index("date")["value"] / div
            if metric not in ("price", "price_outside_china_weighted"):
                s = s.groupby(level=0).sum().reindex(months, fill_value=0.0)  # flows: 0 if none
            one[label] = s
        series.append(one)
    fig, axes = plt.subplots(3, 3, figsize=(15, 10), sharex=True)
    for ax, (_key, label, metric, *_rest) in zip(axes.ravel(), HEADLINE, strict=True):
        for one, style, name in ((series[0], "-", "A"), (series[1], "--", "B")):
            s = one[label]
            if len(s):
                ax.plot(s.index, s.values, style, label=name)
        unit = label.rsplit("(", 1)[1].rstrip(")") if label.endswith(")") else ""
        if metric.startswith("price") and all((one[label] > 0).all() for one in series):
            log_scale(ax)
            unit = f"{unit} (log scale)"
        elif all(len(one[label]) and (one[label] == 0).all() for one in series):
            # all zero in both runs: an axis from 0, not matplotlib's -0.04..0.04 around 0
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center")
        ax.set_ylabel(unit, fontsize=9)
        ax.set_title(label, fontsize=10)
        add_legend(ax, fontsize=8)
    fitted_title(fig, f"A: {a.label} (solid)   vs   B: {b.label} (dashed)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def compare_to_folder(
    run_a: str | Path, run_b: str | Path, out: str | Path
) -> tuple[pd.DataFrame, RunFolder, RunFolder]:
    """Compare two run folders and write ``comparison.csv`` (:func:`comparison_table`,
    floats to 6 significant digits), ``comparison.png`` (:func:`overlay_figure`) and
    ``comparison.json`` (the two folders, their scenarios, seeds and periods) into ``out``,
    published like a run's output (:func:`experiments.runs.publish_folder`).

    Raises:
        RunFolderError: a folder is not a run output (checked before anything is written).
        experiments.runs.OutputError: ``out`` is unusable (a non-empty folder that is not
            an earlier comparison, a file, the current folder, ...).
    """
    import matplotlib.pyplot as plt

    from experiments.runs import check_output_folder, new_staging_folder, publish_folder

    a, b = load_run(run_a, "RUN_A"), load_run(run_b, "RUN_B")
    out = check_output_folder(out, allowed=COMPARE_FILES, required=frozenset({"comparison.json"}))
    table = comparison_table(a, b)
    tmp = new_staging_folder(out)
    try:
        round_frame(table).to_csv(tmp / "comparison.csv", index=False)
        fig = overlay_figure(a, b)
        fig.savefig(tmp / "comparison.png", dpi=100)
        plt.close(fig)
        (tmp / "comparison.json").write_text(
            json.dumps(
                {
                    "run_a": {
                        "folder": str(a.path.resolve()),
                        "label": a.label,
                        "scenario_hash": a.manifest.get("scenario_hash"),
                        **{k: a.manifest.get(k) for k in ("start", "end", "months")},
                    },
                    "run_b": {
                        "folder": str(b.path.resolve()),
                        "label": b.label,
                        "scenario_hash": b.manifest.get("scenario_hash"),
                        **{k: b.manifest.get(k) for k in ("start", "end", "months")},
                    },
                    "difference": "run_b - run_a",
                    "change_pct": "(run_b - run_a) / |run_a| x 100",
                    "change_pp": "shares: (run_b - run_a) x 100, percentage points",
                },
                indent=2,
            )
        )
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return table, a, b
