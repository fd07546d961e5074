"""`ree --version`, `ree run SCENARIO --set KEY=VALUE`, scenario files that `extends` a
shipped one, and `ree run --seeds`."""

import json
import tomllib
from importlib import metadata

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from abm.parameters import Parameters
from abm.scenario import ScenarioError, load_scenario, loads_scenario
from experiments.cli import app, parse_seeds, parse_sets

runner = CliRunner()


def _ensemble(seeds: str, out, **kw):
    """`ree run --seeds SEEDS --months 1 --no-charts --workers 1 --out OUT` (in process)."""
    return runner.invoke(
        app,
        ["run", "--seeds", seeds, "--months", "1", "--no-charts", "--workers", "1"]
        + ["--out", str(out)],
        **kw,
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_version_prints_the_package_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.output.strip() == f"ree-abm {metadata.version('ree-abm')}"


# ------------------------------------------------------------------ --set
def test_parse_sets_reads_toml_values():
    assert parse_sets(
        [
            "levers.approval_rate_us=0.1",
            "levers.defense_end_use_denial=true",
            'levers.licence_elements=["Dy", "Tb"]',
            "levers.start=2025-06",
            "firms = 120",
        ]
    ) == {
        "levers.approval_rate_us": 0.1,
        "levers.defense_end_use_denial": True,
        "levers.licence_elements": ["Dy", "Tb"],
        "levers.start": "2025-06",
        "firms": 120,
    }
    for bad in (
        ["levers.approval_rate_us"],
        ["=0.1"],
        ["levers.approval_rate_us="],
        ["firms=120", "firms=130"],
    ):
        with pytest.raises(typer.BadParameter):
            parse_sets(bad)


def test_run_with_set_overrides_one_lever(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "run",
            "controls-2025",
            "--set",
            "levers.approval_rate_us=0.1",
            "--set",
            "levers.start=2024-01",
            "--set",
            "parameters.armington_elasticity=2.5",
            "--months",
            "2",
            "--no-charts",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    sc = tomllib.loads((out / "scenario.toml").read_text())
    assert sc["levers"]["approval_rate_us"] == 0.1
    assert sc["parameters"]["armington_elasticity"] == 2.5
    man = json.loads((out / "manifest.json").read_text())
    assert man["overrides"] == {
        "levers.approval_rate_us": 0.1,
        "levers.start": "2024-01",
        "parameters.armington_elasticity": 2.5,
    }
    assert man["scenario"] == "controls-2025" and man["months"] == 2


@pytest.mark.parametrize(
    "item, fragment",
    [
        (
            "levers.approval_rate=0.1",
            (
                "--set: unknown key 'levers.approval_rate'; did you mean "
                "'levers.approval_rate_us' or 'levers.approval_rate_allies'? "
                f"({len(Parameters.model_fields) + 14} allowed keys"
            ),
        ),
        (
            "levers.approval_rate_us=2",
            ("field 'levers.approval_rate_us': got 2; allowed: 0 <= approval_rate_us <= 1"),
        ),
        ("levers.approval_rate_us", "write --set KEY=VALUE"),
        # a new user's report (session 9): 600 meant as a percentage; the run allowed up to 10,
        # the sweep up to 5, and no message said the unit
        (
            "levers.us_tariff_on_china=600",
            ("got 600; allowed: 0 <= us_tariff_on_china <= 5 (fraction: 1.45 = 145%)"),
        ),
    ],
)
def test_bad_set_is_one_clear_error_before_any_work(tmp_path, item, fragment):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "controls-2025", "--set", item, "--out", str(out)])
    assert res.exit_code == 2
    assert fragment in _flat(res.output)
    assert not out.exists()


def test_unknown_set_key_lists_the_allowed_keys(tmp_path):
    res = runner.invoke(app, ["run", "--set", "levers.nope=1", "--out", str(tmp_path / "o")])
    text = _flat(res.output)
    assert res.exit_code == 2
    assert "levers.* keys: approval_rate_allies, approval_rate_us" in text and "section 8" in text


def test_positional_and_option_scenario_must_agree(tmp_path):
    res = runner.invoke(
        app, ["run", "baseline", "--scenario", "controls-2025", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "differ" in res.output


# ------------------------------------------------------------------ extends
EXTENDS = """\
extends = "controls-2025"

[levers]
approval_rate_us = 0.1

[parameters]
armington_elasticity = 2.5
"""


def test_scenario_file_extends_a_shipped_one(tmp_path):
    p = tmp_path / "low-us-approval.toml"
    p.write_text(
        EXTENDS + '\n[[measures]]\nkind = "tariff"\ndate = "2026-03"\nactor = "US"\n'
        'targets = ["CN"]\nrate = 0.25\n'
    )
    sc, base = load_scenario(p), load_scenario("controls-2025")
    assert sc.name == "low-us-approval"
    assert (sc.start, sc.end, sc.base_year) == (base.start, base.end, base.base_year)
    assert sc.levers.approval_rate_us == 0.1
    # the tables change only the keys they give
    assert sc.levers.model_dump(exclude={"approval_rate_us"}) == base.levers.model_dump(
        exclude={"approval_rate_us"}
    )
    assert sc.parameters.armington_elasticity == 2.5
    assert sc.parameters.model_dump(exclude={"armington_elasticity"}) == base.parameters.model_dump(
        exclude={"armington_elasticity"}
    )
    # measures are added after the base's
    assert sc.measures[:-1] == base.measures and len(sc.measures) == len(base.measures) + 1
    assert (sc.measures[-1].kind, sc.measures[-1].rate) == ("tariff", 0.25)
    assert sc.description.startswith("extends controls-2025: ")
    # a suspension lifts one of the base's measures by its id
    lifted = loads_scenario(
        'extends = "controls-2025"\n[[measures]]\nkind = "suspension"\n'
        'date = "2025-06"\ntarget_id = "us_fentanyl_1"\n',
        "lift.toml",
    )
    assert (lifted.name, lifted.measures[-1].target_id) == ("lift", "us_fentanyl_1")


def test_extends_errors_name_the_base_and_the_files_own_block(tmp_path):
    with pytest.raises(ScenarioError) as err:
        loads_scenario('extends = "controls-2026"\n', "mine.toml")
    assert str(err.value) == (
        "mine.toml: field 'extends': unknown base scenario 'controls-2026'; did you mean "
        "'controls-2025'? allowed base scenarios: "
        "['allied-response', 'baseline', 'controls-2025', 'embargo-2010', 'escalation-2026', "
        "'no-controls', 'substitution-recycling']"
    )
    with pytest.raises(ScenarioError) as err:
        loads_scenario(
            'extends = "controls-2025"\n[[measures]]\nkind = "tariff"\n'
            'date = "2026-03"\nactor = "US"\ntargets = ["CN"]\nrate = 20.0\n',
            "mine.toml",
        )
    assert str(err.value) == (
        "mine.toml: field 'measures[0].rate' (tariff measure, "
        "[[measures]] block 1): got 20.0; allowed: 0 <= rate <= 10"
    )
    with pytest.raises(ScenarioError, match="unknown key 'colour'"):
        loads_scenario('extends = "baseline"\n[levers]\ncolour = 1\n', "mine.toml")


def test_run_a_file_with_only_levers(tmp_path):
    p = tmp_path / "mine.toml"
    # the lever applies from levers.start: a 1-month run needs it in the first month
    p.write_text(EXTENDS.replace("[levers]\n", '[levers]\nstart = "2024-01"\n'))
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(p), "--months", "1", "--no-charts", "--out", str(out)])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["scenario"] == "mine" and man["scenario_source"] == str(p.resolve())


# ------------------------------------------------------------------ --seeds
def test_parse_seeds():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0,1,5") == [0, 1, 5]
    assert parse_seeds("0-2,10") == [0, 1, 2, 10]
    assert parse_seeds("7-7") == [7]
    for bad in ("0", "a", "2-1", "1,1", "-1", "1,,2", "0-2,1"):
        with pytest.raises(typer.BadParameter):
            parse_seeds(bad)
    # a range written backwards gets its right form (a new user's report, session 27)
    with pytest.raises(typer.BadParameter, match="the range 2-0 runs backwards; write it 0-2"):
        parse_seeds("2-0")


def test_run_seeds_writes_one_folder_per_seed(tmp_path):
    out = tmp_path / "ens"
    res = runner.invoke(
        app,
        [
            "run",
            "controls-2025",
            "--seeds",
            "0,3",
            "--months",
            "2",
            "--no-charts",
            # in this process: the Dask path (--workers 2, and the default, the CPUs) is
            # tests/test_run_seeds_parallel.py's, which checks that it gives these folders
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".ree-files.json",  # the inventory of the published ensemble
        "ensemble.parquet",
        "seed-0",
        "seed-3",
    ]
    mans = [json.loads((out / f"seed-{s}" / "manifest.json").read_text()) for s in (0, 3)]
    assert [m["seed"] for m in mans] == [0, 3]
    assert {m["scenario_source"] for m in mans} == {"shipped"}
    # each seed's run is the single run of that seed
    single = tmp_path / "single"
    res = runner.invoke(
        app,
        [
            "run",
            "controls-2025",
            "--seed",
            "3",
            "--months",
            "2",
            "--no-charts",
            "--out",
            str(single),
        ],
    )
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(out / "seed-3" / "timeseries.parquet").equals(
        pd.read_parquet(single / "timeseries.parquet")
    )
    # a single run's folder is not a parent of seed folders
    res = runner.invoke(app, ["run", "--seeds", "2", "--months", "1", "--out", str(single)])
    assert res.exit_code == 2 and "single run" in _flat(res.output)
    res = runner.invoke(app, ["run", "--seed", "1", "--seeds", "2", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "not both" in _flat(res.output)


def test_run_seeds_refuses_a_folder_of_yours_and_stale_seed_folders(tmp_path):
    """A new user's failing inputs: `ree run --seeds 1 --out DIR` wrote seed-0 beside a
    user's notes.txt (a single run refuses that folder), and `--seeds 0-1` into the output
    of an earlier `--seeds 0-2` left that run's seed-2 beside the new seed-0 and seed-1."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    res = runner.invoke(
        app,
        ["run", "--seeds", "1", "--months", "1", "--no-charts", "--out", str(mine)],
        env={"COLUMNS": "60"},
    )
    assert res.exit_code == 2, res.output
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "(it holds: notes.txt)" in res.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]

    ens = tmp_path / "ens"
    res = _ensemble("0-2", ens)
    assert res.exit_code == 0, res.output
    before = (ens / "seed-2" / "manifest.json").read_text()
    res = _ensemble("0-1", ens, env={"COLUMNS": "60"})
    assert res.exit_code == 2, res.output
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "holds seed-2 of an earlier ensemble, not in --seeds 0,1" in res.stderr
    assert (ens / "seed-2" / "manifest.json").read_text() == before
    # the same seeds again replace the earlier ensemble, as for a single run
    res = _ensemble("0-2", ens)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in ens.iterdir()) == [
        ".ree-files.json",
        "ensemble.parquet",
        "seed-0",
        "seed-1",
        "seed-2",
    ]


def test_a_lever_that_starts_after_the_last_month_is_refused(tmp_path):
    # a new user's failing input: the lever starts in 2025-04 (levers.start), the run ends in
    # 2024-12, and the output was identical to a run without --set, with no word
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "run",
            "controls-2025",
            "--set",
            "levers.approval_rate_us=0.1",
            "--months",
            "12",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 2
    msg = _flat(res.output)
    assert "levers.start 2025-04" in msg and "approval_rate_us" in msg
    assert "run at least 16 months" in msg
    assert not out.exists()


def test_a_licence_lever_in_a_scenario_without_licences_is_flagged(tmp_path):
    # a new user's report (session 9): `ree run no-controls --set levers.approval_rate_us=0.1`
    # ran without a word though no-controls has no licence regime, so the lever did nothing
    from abm.scenario import apply_overrides, load_scenario

    nc = apply_overrides(
        load_scenario("no-controls"),
        {"levers.approval_rate_us": 0.1, "levers.substitution_speed": 2.0},
    )
    assert nc.inert_levers() == ["approval_rate_us"]
    c25 = apply_overrides(load_scenario("controls-2025"), {"levers.approval_rate_us": 0.1})
    assert c25.inert_levers() == []
    res = runner.invoke(
        app,
        [
            "run",
            "no-controls",
            "--months",
            "1",
            "--no-charts",
            "--set",
            "levers.approval_rate_us=0.1",
            "--set",
            "levers.start=2024-01",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        "Warning: levers.approval_rate_us has no effect: scenario no-controls has no "
        "export-licence measure"
    ) in res.output


def test_a_truce_length_without_a_truce_start_is_flagged(tmp_path):
    # a new user's report (session 11): `ree run --set levers.truce_months=6` ran and
    # recorded the override though no truce starts without levers.truce_start
    from abm.scenario import apply_overrides, load_scenario

    c25 = load_scenario("controls-2025")
    assert apply_overrides(c25, {"levers.truce_months": 6}).inert_levers() == ["truce_months"]
    assert (
        apply_overrides(
            c25, {"levers.truce_months": 6, "levers.truce_start": "2026-01"}
        ).inert_levers()
        == []
    )
    res = runner.invoke(
        app,
        [
            "run",
            "controls-2025",
            "--months",
            "1",
            "--no-charts",
            "--set",
            "levers.truce_months=6",
            "--set",
            "levers.start=2024-01",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        "Warning: levers.truce_months has no effect: levers.truce_start is not set, so "
        "no truce starts"
    ) in _flat(res.output)


def test_a_single_run_into_a_seed_folder_of_an_ensemble_is_refused(tmp_path):
    # a new user's input: `ree run --seed 3 --months 2 --out results/ens2/seed-0` replaced
    # the ensemble's seed 0 by seed 3 and left ensemble.parquet as it was (stale)
    ens = tmp_path / "ens2"
    (ens / "seed-0").mkdir(parents=True)
    (ens / "seed-0" / "manifest.json").write_text('{"seed": 0}')
    pd.DataFrame({"median": [1.0]}).to_parquet(ens / "ensemble.parquet")
    before = sorted(p.relative_to(ens).as_posix() for p in ens.rglob("*"))
    res = runner.invoke(
        app,
        ["run", "--seed", "3", "--months", "2", "--no-charts", "--out", str(ens / "seed-0")],
        env={"COLUMNS": "60"},
    )
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr.strip() == (
        f"ree run: error: --out {ens / 'seed-0'} is seed-0 of the ensemble in {ens} (ree run "
        f"--seeds): a single run there would leave {ens / 'ensemble.parquet'} stale; choose "
        f"another --out, or run the ensemble again (ree run --seeds ... --out {ens})"
    )
    assert sorted(p.relative_to(ens).as_posix() for p in ens.rglob("*")) == before
    assert (ens / "seed-0" / "manifest.json").read_text() == '{"seed": 0}'


def test_a_measure_override_in_a_run_that_ends_before_the_measure_is_refused(tmp_path):
    """A new user's report (session 19): a 24-month embargo-2010 run with the 2011 heavy
    quota's leakage set ran, recorded the override and showed no effect; now refused before
    any work, as levers set before levers.start are."""
    from experiments.runs import run_to_folder

    out = tmp_path / "r"
    with pytest.raises(ValueError) as err:
        run_to_folder(
            "embargo-2010",
            out,
            months=24,
            overrides={"measures.cn_mining_quota_2011_heavy.leakage": 0.5},
        )
    msg = str(err.value)
    assert "before the measures set (measures.cn_mining_quota_2011_heavy.leakage)" in msg
    assert "run at least 25 months" in msg and not out.exists()
