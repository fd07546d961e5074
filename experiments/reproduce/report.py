"""The run facts (``manifest.json``) and the text of ``REPORT.md``."""

from __future__ import annotations

import time

from experiments.labels import months_text
from experiments.reproduce.history import history_markdown
from experiments.reproduce.tables import _decoupling_markdown, _markdown, _targets_markdown
from experiments.reproduce.variants import VARIANTS, build_scenario


def _manifest(
    prof, n_seeds, seed_root, backend, workers, results, wall, runs_wall, failed=None
) -> dict:
    from experiments.runs import code_and_data, package_versions
    from experiments.sweep.backends import default_workers

    hashes = {}
    for name in prof.months:
        hashes[name] = build_scenario(name).content_hash()
    run_walls = [r["wall_s"] for r in results]
    return {
        "profile": prof.name,
        "seeds": n_seeds,
        "seed_root": seed_root,
        "seed_scheme": "SeedSequence(seed_root, spawn_key=(rep,)) shared by all variants",
        "variants": {
            k: {
                "months": max((r["months"] for r in results if r["variant"] == k), default=None),
                "scenario_hash": hashes[k],
                "drop": list(VARIANTS[k].drop),
            }
            for k in prof.months
        },
        "backend": backend,
        "workers": workers or default_workers(),
        "runs": len(results),
        "model_months": int(sum(r["months"] for r in results)),
        "failed_runs": ([] if failed is None else failed.to_dict("records")),
        "wall_time_s": round(wall, 1),
        "runs_wall_time_s": round(runs_wall, 1),
        "cpu_time_of_runs_s": round(float(sum(run_walls)), 1),
        "mass_balance_max_relative": max(r["mass_balance"] for r in results),
        "packages": package_versions(),
        **code_and_data(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _report(
    prof,
    n_seeds,
    targets,
    mechanisms,
    decoupling,
    manifest,
    resid,
    files,
    failed=None,
    history=None,
) -> str:
    n_pass = int((targets["status"] == "PASS").sum())
    n_fail = int((targets["status"] == "FAIL").sum())
    lines = [
        "# Reproduction report",
        "",
        (
            f"Profile **{prof.name}**, {n_seeds} seed{'' if n_seeds == 1 else 's'} per "
            "experiment "
            f"({manifest['runs']} runs, {manifest['model_months']:,} model months), "
            f"{manifest['workers']} {manifest['backend']} workers, wall time "
            f"{manifest['wall_time_s']:.0f} s; git commit `{manifest['git_commit']}`; "
            f"created {manifest['created']}."
        ),
        "",
        (
            f"**{n_pass} of {len(targets)} targets pass, {n_fail} fail.** A target passes when "
            "the median over seeds lies inside the tolerance; the band is the 5-95% range over "
            "seeds."
        ),
        "",
    ]
    if failed is not None and len(failed):
        lines += [
            f"**{len(failed)} run(s) failed**; the targets that need them are n/a "
            "(`tables/failed_runs.csv`):",
            "",
        ]
        lines += [
            f"- `{r.variant}` replicate {r.rep}: {r.error_type}: "
            f"{str(r.error).splitlines()[0] if str(r.error) else ''}"
            for r in failed.itertuples()
        ]
        lines.append("")
    if n_seeds < 20:
        lines += [
            (
                "> This run uses fewer than the 20 seeds the targets are stated for "
                "(quick or custom profile); run `ree reproduce` for the paper numbers."
            ),
            "",
        ]
    if prof.name != "full":
        lines += [
            "> Horizons are shortened in this profile: "
            + ", ".join(f"{k} {months_text(v)}" for k, v in prof.months.items() if v)
            + ".",
            "",
        ]
    lines += ["## Targets", "", _targets_markdown(targets), "", "### Definitions", ""]
    for _, r in targets.iterrows():
        lines.append(f"- `{r['id']}`: {r['definition']}.")
    if history is not None and (history["n"] > 0).any():
        lines += [
            "",
            "## History outside the targets",
            "",
            (
                "Recorded values that no target names (no tolerance, no PASS/FAIL; "
                "experiments/reproduce/history.py, docs/calibration.md 4.27-4.30). Of "
                "2011-2015 (`embargo-2010`): the fall of Nd and Dy prices after the 2011 "
                "peak, La and Ce prices abroad in 2011-12, China's Nd in March 2012 and "
                "China's 2012 export quota fill; there the model's price is the median over "
                "the regions outside China that trade the oxide (as for the price targets) "
                "over its own 2009 mean, the record's the FOB China price over its 2009 mean. "
                "Of 2025 (`controls-2025`): the premium abroad after China's export licences "
                "of 4 April 2025, the oxide price in Europe over China's domestic price (Dy, "
                "Tb and Y, under licence; NdPr, not), the model's EU price over its China "
                "price month by month (months either region did not trade the oxide are "
                "skipped), as the price the EU's buyers paid and, for the checks whose id "
                "ends in `_quote`, as their marginal spot quote (the most-rationed buyer's "
                "value of one more kilogram): the records are a thin market of intermediaries "
                "(abm/data/prices_2025.csv), which should price between the two; the "
                "high-temperature NdFeB magnet price the EU's buyers paid over China's "
                "domestic price, against the premium buyers paid for contracted ex-China "
                "magnets over Chinese ones (no magnet price index outside China was found); "
                "and China's Dy and Tb oxide exports in 2025 against June 2024 "
                "(abm/data/trade_flows.csv). "
                "'model / record' is the median over seeds "
                "divided by the middle of the record's range."
            ),
            "",
            history_markdown(history),
        ]
    lines += [
        "",
        "## Episodes against their counterfactuals",
        "",
        (
            "Median over seeds of the quantity behind each target (common random numbers: "
            "replicate r of every variant shares its seed)."
        ),
        "",
        _markdown(mechanisms) if len(mechanisms) else "No counterfactual runs.",
        "",
    ]
    skipped = [v.name for v in VARIANTS.values() if "/" in v.name and v.name not in prof.months]
    if skipped:
        lines += [
            f"Not run in the {prof.name} profile: "
            + ", ".join(f"`{n}`" for n in skipped)
            + " (run `ree reproduce` without "
            "--quick for them).",
            "",
        ]
    lines += [
        "## Decoupling study",
        "",
        (
            "China-origin share of magnet supply (share of the magnets received by the "
            "region's OEMs and defense contractors that passed through China at any stage), "
            "annual mean, median [5-95%] over seeds. Full table: `tables/decoupling.csv`."
        ),
        "",
        _decoupling_markdown(decoupling),
        "",
    ]
    lines += (
        [
            "## Runs",
            "",
            (
                f"- Mass balance: largest residual over all runs {resid:.1e} of the largest "
                "production ledger (RareEarthModel.mass_balance())."
            ),
            (
                f"- Runs' CPU time {manifest['cpu_time_of_runs_s']:.0f} s; wall time of the runs "
                f"{manifest['runs_wall_time_s']:.0f} s; total {manifest['wall_time_s']:.0f} s."
            ),
            "- Variants: "
            + "; ".join(
                f"`{k}` ({months_text(v['months'])}"
                + (f", without {', '.join(v['drop'])}" if v["drop"] else "")
                + ")"
                for k, v in manifest["variants"].items()
            )
            + ".",
            "- Seeds: " + manifest["seed_scheme"] + f", seed_root {manifest['seed_root']}.",
            (
                "- Scenario hashes, package versions: `manifest.json`; every series of every "
                "run: `data/series.parquet`."
            ),
            "",
            "## Files",
            "",
        ]
        + [f"- `{f}`" for f in files if not f.endswith(".svg")]
        + [
            "",
            "SVG versions of every figure sit next to the PNGs.",
            "",
            "Regenerate with `ree reproduce"
            + (" --quick" if prof.name == "quick" else "")
            + f" --seeds {n_seeds}`.",
            "",
        ]
    )
    return "\n".join(lines)
