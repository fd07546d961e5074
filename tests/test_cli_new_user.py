"""A new user's failing inputs (issue 14): an `end` past the data, a sweep planned into a folder
of other files, `<bool>` in --help, errors wrapped on stdout, and mistyped keys without a
suggestion."""

from __future__ import annotations

import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from abm.parameters import Parameters
from abm.scenario import ScenarioError, closest_names
from experiments.cli import app
from experiments.inputs import (
    last_data_month,
    scenario_with_overrides,
)
from experiments.sweep.cli import sweep_app


def _invoke(args, columns=60, cli=app):
    """Run `ree ...` in a terminal 60 columns wide (so any wrapping would show)."""
    return CliRunner().invoke(cli, args, env={"COLUMNS": str(columns)})


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.stdout == ""  # errors go to stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # not wrapped at the terminal width
    return lines[0]


# ---------------------------------------------------------------- (a) end past the data
def test_end_past_the_data_is_refused_naming_the_key_and_range(tmp_path):
    assert last_data_month() == "2050-12"  # iea_gcmo2024 growth rates end in 2050
    out = tmp_path / "run"
    line = _one_error_line(_invoke(["run", "--set", "end=2099-12", "--out", str(out)]))
    assert line == (
        "ree run: error: invalid scenario: --set end=2099-12: end must be a month from 2024-01 "
        "(the scenario's start) to 2050-12 (the last year of the demand outlook, "
        "abm/data/demand_outlook.csv; later months would extrapolate beyond the "
        "data)"
    )
    assert not out.exists()
    # the last allowed month is accepted (checked without running 27 years)
    assert scenario_with_overrides("controls-2025", {"end": "2050-12"}).end == "2050-12"
    # in a scenario file the field is named
    p = tmp_path / "long.toml"
    p.write_text('extends = "baseline"\nend = "2060-12"\n')
    line = _one_error_line(_invoke(["run", str(p), "--seeds", "2", "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'end': 2060-12 is after 2050-12; allowed: "
        "a month from 2024-01 (the scenario's start) to 2050-12 (the last year of the demand "
        "outlook, abm/data/demand_outlook.csv; later months would extrapolate beyond the data)"
    )
    assert not out.exists()


# ------------------------------------------------ (b) a sweep store among a user's files
def test_sweep_plan_refuses_a_store_folder_holding_other_files(tmp_path):
    spec = write_toy_spec(tmp_path / "toy.toml", replicates=1)
    store = tmp_path / "out" / "toy"
    store.mkdir(parents=True)
    (store / "thesis.docx").write_text("mine")
    res = _invoke(["plan", str(spec), "--out", str(tmp_path / "out")], cli=sweep_app)
    assert res.exit_code == 1
    assert f"{store} holds files that are not a sweep's (thesis.docx)" in res.stderr
    assert sorted(p.name for p in store.iterdir()) == ["thesis.docx"]  # nothing written
    # an empty folder, or an existing store with a note added, is fine
    (store / "thesis.docx").unlink()
    assert (
        _invoke(["plan", str(spec), "--out", str(tmp_path / "out")], cli=sweep_app).exit_code == 0
    )
    (store / "notes.md").write_text("my notes on this sweep")
    assert (
        _invoke(["plan", str(spec), "--out", str(tmp_path / "out")], cli=sweep_app).exit_code == 0
    )


# ------------------------------------------------------------------ (c) --help
def test_flags_show_no_bool_type_in_help():
    res = _invoke(["--help"], columns=100)
    line = next(ln for ln in res.output.splitlines() if "--version" in ln)
    assert "<bool>" not in line and "print the package version" in line
    res = _invoke(["run", "--help"], columns=100)
    assert "<bool>" not in next(ln for ln in res.output.splitlines() if "--no-charts" in ln)
    res = _invoke(["run", "--help"], columns=100, cli=sweep_app)
    for flag in ("--fresh", "--retry-failed", "--no-progress", "--json"):
        assert "<bool>" not in next(ln for ln in res.output.splitlines() if flag in ln), flag


# ------------------------------------------- (d) stderr, unwrapped, "did you mean"
def test_mistyped_set_key_gets_a_suggestion_on_one_stderr_line(tmp_path):
    line = _one_error_line(
        _invoke(["run", "--set", "levers.aproval_rate_us=0.1", "--out", str(tmp_path / "o")])
    )
    assert line.startswith(
        "ree run: error: invalid scenario: --set: unknown key 'levers.aproval_rate_us'; "
        "did you mean 'levers.approval_rate_us'? "
        f"({len(Parameters.model_fields) + 14} allowed keys"
    )


def test_mistyped_scenario_file_key_and_name_get_a_suggestion(tmp_path):
    p = tmp_path / "typo.toml"
    p.write_text('extends = "controls-2025"\n[levers]\naproval_rate_us = 0.1\n')
    line = _one_error_line(_invoke(["run", str(p), "--out", str(tmp_path / "o")]))
    assert (
        f"{p}: field 'levers.aproval_rate_us': unknown key 'aproval_rate_us'; did you "
        "mean 'approval_rate_us'? allowed keys: ["
    ) in line
    line = _one_error_line(_invoke(["run", "controls-2052", "--out", str(tmp_path / "o")]))
    assert "unknown scenario 'controls-2052'; did you mean 'controls-2025'?" in line
    p.write_text('extends = "controls-2026"\n')
    line = _one_error_line(_invoke(["run", str(p), "--out", str(tmp_path / "o")]))
    assert "unknown base scenario 'controls-2026'; did you mean 'controls-2025'?" in line


def test_other_errors_are_one_stderr_line_too(tmp_path):
    line = _one_error_line(_invoke(["run", "--set", "nothing", "--out", str(tmp_path / "o")]))
    assert line == (
        "ree run: error: invalid value for --set: 'nothing': write --set KEY=VALUE, e.g. "
        "--set levers.approval_rate_us=0.1"
    )
    line = _one_error_line(_invoke(["run", "--months", "999", "--out", str(tmp_path / "o")]))
    assert line.startswith(
        "ree run: error: --months must be a whole number from 1 to the scenario horizon (144 months"
    )


def test_did_you_mean():
    assert closest_names("aproval_rate_us", ["approval_rate_us", "start"]) == ["approval_rate_us"]
    assert closest_names("zzz", ["approval_rate_us", "start"]) == []
    with pytest.raises(ScenarioError, match="did you mean 'levers.start'"):
        scenario_with_overrides("baseline", {"levers.strat": "2025-01"})


def test_ree_scenarios_prints_the_first_sentence_of_each_description():
    # a new user's check: `ree scenarios` listed names and dates but no descriptions
    from abm.scenario import load_scenario, shipped_scenarios
    from experiments.cli import first_sentence

    assert first_sentence("A world (2025+). The rest, e.g. More.") == "A world (2025+)."
    assert first_sentence("Tariffs, e.g. US ones. Next.") == "Tariffs, e.g. US ones."
    assert first_sentence("") == ""
    res = CliRunner().invoke(app, ["scenarios"], terminal_width=100)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == 2 * len(shipped_scenarios())  # name line, description line
    assert all(ln.startswith("  ") and not ln.endswith(" ") for ln in lines[1::2])
    text = " ".join(res.output.split())
    for name in shipped_scenarios():
        about = first_sentence(load_scenario(name).description)
        assert about and f"measures) {about}" in text, (name, about)
    assert (
        "baseline (2024-01 to 2035-12, base year 2024, 2 measures) The calibrated 2024 world "
        "with no new policy measures: no tariffs beyond the base year, no export licences, no "
        "price floors; China's MIIT mining quota as in force (2024) and assumed after "
        "(2025+). controls-2025 (" in text
    )


# ------------------------------------- horizon errors in the form of the field checks
def test_horizon_errors_name_the_field_and_the_allowed_months(tmp_path):
    # a new user's report (session 15): "measures[0].date 2040-03 is outside the horizon
    # 2024-01..2035-12" lacked the field '...' form, and --set end=2023-01 ("end 2023-01 is
    # before start 2024-01") the allowed range that end=2051-01 gets
    p = tmp_path / "late.toml"
    p.write_text(
        'name = "late"\n[[measures]]\nkind = "tariff"\ndate = "2040-03"\nactor = "US"\n'
        'targets = ["CN"]\nrate = 0.1\n'
    )
    out = tmp_path / "run"
    line = _one_error_line(_invoke(["run", str(p), "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'measures[0].date' (tariff measure, "
        "[[measures]] block 1): 2040-03 is outside the horizon; allowed: a month from 2024-01 "
        "to 2035-12 (the horizon)"
    )
    line = _one_error_line(_invoke(["run", "--set", "end=2023-01", "--out", str(out)]))
    assert line == (
        "ree run: error: invalid scenario: controls-2025 with --set: field 'end': 2023-01 is "
        "before start 2024-01; allowed: a month from 2024-01 (the scenario's start) to 2050-12 "
        "(the last year of the demand outlook, abm/data/demand_outlook.csv; later months would "
        "extrapolate beyond the data)"
    )
    p.write_text('name = "truce"\n[levers]\ntruce_start = "2040-01"\n')
    line = _one_error_line(_invoke(["run", str(p), "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'levers.truce_start': 2040-01 is outside "
        "the horizon; allowed: a month from 2024-01 to 2035-12 (the horizon)"
    )
    assert not out.exists()


# ------------------------------------------------ session 26's new-user review (items 2-6)
def test_seeds_written_with_spaces_get_the_comma_form(tmp_path):
    # "ree run embargo-2010 --seeds 0 1 2" said only "got unexpected extra argument(s)"
    out = tmp_path / "ens"
    line = _one_error_line(
        _invoke(["run", "embargo-2010", "--seeds", "0", "1", "2", "--out", str(out)])
    )
    assert line.startswith("ree run: error: invalid value for --seeds: '0 1 2': --seeds takes one")
    assert "--seeds 0,1,2" in line and not out.exists()


def test_a_misspelt_required_key_is_one_line_naming_the_key_meant(tmp_path):
    # "rat = 0.25" printed the unknown key and then "measures[0].rate: required field is
    # missing" on a second line
    p = tmp_path / "typo.toml"
    p.write_text(
        'extends = "controls-2025"\n[[measures]]\nkind = "tariff"\nid = "t1"\n'
        'date = "2025-01"\nactor = "US"\ntargets = ["CN"]\nrat = 0.25\n'
    )
    line = _one_error_line(_invoke(["run", str(p), "--out", str(tmp_path / "r")]))
    assert "unknown key 'rat'; did you mean 'rate'?" in line


def test_an_unknown_measure_id_lists_every_id(tmp_path):
    from abm.scenario import load_scenario

    line = _one_error_line(
        _invoke(["run", "--set", "measures.nope.rate=0.1", "--out", str(tmp_path / "r")])
    )
    ids = [m.id for m in load_scenario("controls-2025").measures if m.id]
    assert len(ids) > 10 and all(repr(i) in line for i in ids) and "more" not in line


def test_a_single_run_into_an_ensemble_folder_names_the_ensemble(tmp_path):
    out = tmp_path / "ens"
    (out / "seed-0").mkdir(parents=True)
    (out / "ensemble.parquet").write_bytes(b"x")
    line = _one_error_line(_invoke(["run", "baseline", "--months", "1", "--out", str(out)]))
    assert "is the output of 'ree run --seeds'" in line


def test_an_empty_data_folder_is_refused(tmp_path):
    # "ree run --data empty/" ran the shipped tables without a word
    (tmp_path / "empty").mkdir()
    out = tmp_path / "r"
    line = _one_error_line(
        _invoke(["run", "--data", str(tmp_path / "empty"), "--months", "1", "--out", str(out)])
    )
    assert "holds no CSV file, so no table would be replaced" in line and not out.exists()


# ------------------------- measure date errors through ree run: file, block, field, range
def test_measure_date_errors_through_ree_run_name_the_block(tmp_path):
    # a new user's report (session 27): the horizon error of a measure named no
    # [[measures]] block, and an end before the date named neither the field nor the range
    tariff = '[[measures]]\nkind = "tariff"\nactor = "US"\ntargets = ["CN"]\nrate = 0.1\n'
    p, out = tmp_path / "dates.toml", tmp_path / "run"
    p.write_text('name = "dates"\n' + tariff + 'date = "2025-03"\n' + tariff + 'date = "2023-06"\n')
    line = _one_error_line(_invoke(["run", str(p), "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'measures[1].date' (tariff measure, "
        "[[measures]] block 2): 2023-06 is outside the horizon; allowed: a month from 2024-01 "
        "to 2035-12 (the horizon)"
    )
    p.write_text('name = "dates"\n' + tariff + 'date = "2025-03"\nend = "2024-06"\n')
    line = _one_error_line(_invoke(["run", str(p), "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'measures[0].end' (tariff measure, "
        "[[measures]] block 1): 2024-06 is not after the measure's date 2025-03; allowed: a "
        "month after 2025-03 (end is the first month no longer in force), or leave end out"
    )
    args = ["run", "embargo-2010", "--set", "measures.cn_quota_2012.date=2008-06"]
    line = _one_error_line(_invoke([*args, "--out", str(out)]))
    assert line == (
        "ree run: error: invalid scenario: embargo-2010 with --set: field 'measures[13].date' "
        "(measure 'cn_quota_2012', [[measures]] block 14): 2008-06 is outside the horizon; "
        "allowed: a month from 2009-01 to 2016-12 (the horizon)"
    )
    assert not out.exists()
