"""A new user's second round of confusing messages: a bare word for a number said "without
quotes", ``--data`` named as ``REE_DATA_DIR``, ``--months`` and ``--seeds 0`` without their
allowed values, ``ree sweep analyze --out D`` suggesting a run without ``--out D``, and a
sweep whose runs end before ``levers.start`` passing with levers that never act."""

from __future__ import annotations

import pytest
import typer
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.cli import app, parse_seeds
from experiments.inputs import scenario_with_overrides
from experiments.sweep import SpecError, load_spec, run
from experiments.sweep.cli import sweep_app


def _invoke(args, cli=app, env=None):
    return CliRunner().invoke(cli, args, env={"COLUMNS": "60", **(env or {})}, prog_name="ree")


def _one_error_line(res, code: int = 2) -> str:
    assert res.exit_code == code, res.output
    assert res.stdout == ""  # errors go to stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # one line, not wrapped
    return lines[0]


# ------------------------------------------------- 1. a bare word where a number is due
@pytest.mark.parametrize(
    "item, line",
    [
        (
            "levers.approval_rate_us=abc",
            "ree run: error: invalid value for --set: levers.approval_rate_us=abc: 'abc' is not a number "
            "(allowed: a number from 0.0 to 1.0)",
        ),
        (
            "parameters.armington_elasticity=high",
            "ree run: error: invalid value for --set: parameters.armington_elasticity=high: 'high' is not a "
            "number (allowed: a number from 2.0 to 10.0)",
        ),
        (
            "firms=many",
            "ree run: error: invalid value for --set: firms=many: 'many' is not a whole number (allowed: an "
            "integer from 50 to 10000)",
        ),
        (
            "levers.defense_end_use_denial=yes",
            "ree run: error: invalid value for --set: levers.defense_end_use_denial=yes: 'yes' is not true or "
            "false (allowed: true or false)",
        ),
    ],
)
def test_set_bare_word_for_a_number_names_the_range_not_quotes(tmp_path, item, line):
    out = tmp_path / "run"
    got = _one_error_line(_invoke(["run", "--set", item, "--out", str(out)]))
    assert got == line
    assert "quotes" not in got
    assert not out.exists()


def test_set_without_a_value_names_the_key_and_its_range(tmp_path):
    # a new user's report (session 29): "KEY=" said only "write --set KEY=VALUE"
    out = tmp_path / "run"
    got = _one_error_line(
        _invoke(["run", "--set", "parameters.thrifting_adjustment_months=", "--out", str(out)])
    )
    assert got == (
        "ree run: error: invalid value for --set: parameters.thrifting_adjustment_months= has "
        "no value (allowed: a number from 3.0 to 24.0)"
    )
    assert not out.exists()


def test_set_quoted_string_for_a_number_still_says_without_quotes(tmp_path):
    # the user did type quotes here (a TOML string), so that advice stays right
    got = _one_error_line(
        _invoke(["run", "--set", 'levers.approval_rate_us="0.1"', "--out", str(tmp_path / "run")])
    )
    assert got.endswith(
        "field 'levers.approval_rate_us': got the string '0.1'; write the number without quotes"
        " (allowed: 0 <= approval_rate_us <= 1)"
    )


def test_set_text_fields_still_take_bare_words():
    # levers.start is text: a bare 2025-06 is not refused as "not a number"
    assert (
        scenario_with_overrides("controls-2025", {"levers.start": "2025-06"}).levers.start
        == "2025-06"
    )
    from experiments.cli import parse_sets

    assert parse_sets(["levers.start=2025-06", "end=2030-12"]) == {
        "levers.start": "2025-06",
        "end": "2030-12",
    }


# ---------------------------------------------------------- 2. --data named as given
def test_missing_data_folder_is_named_as_the_data_option(tmp_path):
    missing = tmp_path / "nonexist"
    got = _one_error_line(_invoke(["run", "--data", str(missing), "--out", str(tmp_path / "run")]))
    assert got == (
        f"ree run: error: invalid data: --data {missing}: not a folder; give a folder of "
        "calibration tables (CSV files named as in abm/data)"
    )
    assert "REE_DATA_DIR" not in got


def test_missing_data_folder_from_the_environment_keeps_its_name(tmp_path):
    missing = tmp_path / "nonexist"
    got = _one_error_line(
        _invoke(
            ["run", "--months", "1", "--out", str(tmp_path / "run")],
            env={"REE_DATA_DIR": str(missing)},
        )
    )
    assert got.startswith(
        f"ree run: error: invalid data: REE_DATA_DIR={missing}: not a folder; give a folder of "
        "calibration tables"
    )


# ----------------------------------------------------- 3. --months and --seeds ranges
def test_months_not_an_integer_states_the_horizon_range(tmp_path):
    got = _one_error_line(_invoke(["run", "--months", "x", "--out", str(tmp_path / "r")]))
    assert got == (
        "ree run: error: --months: 'x' is not an integer (allowed: an integer "
        "from 1 to the scenario's horizon); see 'ree run --help'"
    )


def test_seed_message_unchanged_by_the_months_wording(tmp_path):
    got = _one_error_line(_invoke(["run", "--seed", "x", "--out", str(tmp_path / "r")]))
    assert got == (
        "ree run: error: --seed: 'x' is not an integer (allowed: an integer from 0 to "
        "9223372036854775807); see 'ree run --help'"
    )


def test_seeds_zero_says_a_count_is_at_least_one(tmp_path):
    got = _one_error_line(_invoke(["run", "--seeds", "0", "--out", str(tmp_path / "r")]))
    assert got == (
        "ree run: error: invalid value for --seeds: '0': a count of seeds must be at least "
        "1; give a count (3 = seeds 0,1,2), a list (0,1,5) or a range (0-9)"
    )
    # seed 0 alone is still a list of one seed
    from experiments.cli import parse_seeds

    assert parse_seeds("0,1") == [0, 1]
    assert parse_seeds("1") == [0]


# --------------------------------------------- 4. analyze's hint keeps the --out given
def test_analyze_empty_store_suggests_the_run_with_the_same_out(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1, design='method = "lhs"\nn = 4')
    out = tmp_path / "D"
    got = _one_error_line(_invoke(["analyze", str(spec), "--out", str(out)], cli=sweep_app), code=1)
    assert got == (
        f"ree sweep analyze: error: no sweep in {out / 'toy'}; run `ree sweep run {spec} --out "
        f"{out}` first"
    )
    run(spec, out, progress=False, max_runs=0)  # planned, nothing finished
    got = _one_error_line(_invoke(["analyze", str(spec), "--out", str(out)], cli=sweep_app), code=1)
    assert got == (
        f"ree sweep analyze: error: no finished runs in {out / 'toy'} to analyse; run `ree sweep run "
        f"{spec} --out {out}` first"
    )


# --------------------------- 5. a sweep whose runs end before levers.start is refused
_SHORT = """name = "short"
model = "abm"
scenario = "controls-2025"
months = {months}
replicates = 1
outcomes = ["us_oem_lost_output_usd"]
{constants}
[design]
method = "factorial"

[[levers]]
name = "{lever}"
levels = {levels}
"""


def _short(tmp_path, months, lever="levers.approval_rate_us", levels="[0.1, 0.9]", constants=""):
    p = tmp_path / f"short{months}-{lever}-{len(constants)}.toml"
    p.write_text(_SHORT.format(months=months, lever=lever, levels=levels, constants=constants))
    return p


def test_levers_never_apply_counts_the_months_needed():
    sc = scenario_with_overrides("controls-2025", {"levers.approval_rate_us": 0.1})
    # levers.start 2025-04 is step 15 of a run from 2024-01: 16 months are needed
    assert sc.levers_never_apply(15) == (16, ["approval_rate_us"])
    assert sc.levers_never_apply(16) is None
    assert sc.levers_never_apply(None) is None
    assert scenario_with_overrides("controls-2025").levers_never_apply(1) is None


@pytest.mark.parametrize("cmd", ["plan", "run"])
def test_sweep_refuses_a_lever_that_starts_after_the_runs_end(tmp_path, cmd):
    spec = _short(tmp_path, 15)
    out = tmp_path / "out"
    got = _one_error_line(_invoke([cmd, str(spec), "--out", str(out)], cli=sweep_app))
    assert got == (
        f"ree sweep {cmd}: error: invalid sweep spec {spec}: levers[0].name: "
        "('levers.approval_rate_us') 15 months from 2024-01 end before "
        "levers.start 2025-04, so this lever would never apply and every run "
        "would show it without effect; set months to at least 16 or use a scenario "
        "whose [levers] start is earlier"
    )
    assert not out.exists()  # refused before any work


def test_sweep_lever_check_passes_at_the_first_lever_month_and_names_constants(tmp_path):
    load_spec(_short(tmp_path, 16))  # the run reaches 2025-04: accepted
    # a scenario with an earlier levers.start makes 12 months enough
    early = tmp_path / "early.toml"
    early.write_text('extends = "controls-2025"\nname = "early"\n[levers]\nstart = "2024-06"\n')
    spec = _short(tmp_path, 12)
    spec.write_text(spec.read_text().replace('"controls-2025"', f'"{early}"'))
    load_spec(spec)
    # a gated lever fixed in the constants is refused like a varied one
    spec = _short(
        tmp_path,
        12,
        lever="parameters.armington_elasticity",
        levels="[3.0, 6.0]",
        constants='[constants]\n"levers.us_tariff_on_china" = 0.5\n',
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert str(err.value) == (
        f"invalid sweep spec {spec}: months: 12 months from 2024-01 end before levers.start "
        "2025-04, so the constants' levers (us_tariff_on_china) would never apply; set months "
        "to at least 16 or use a scenario whose [levers] start is earlier"
    )
    # a parameter that is not a lever is not gated
    load_spec(_short(tmp_path, 12, lever="parameters.armington_elasticity", levels="[3.0, 6.0]"))


# ------------------------------------ session 33: --data twice, seeds past 64 bits (new user)
@pytest.mark.parametrize("cmd", ["run", "reproduce"])
def test_data_given_twice_is_refused_naming_both_folders(tmp_path, cmd):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
    out = tmp_path / "out"
    got = _one_error_line(_invoke([cmd, "--data", str(a), "--data", str(b), "--out", str(out)]))
    assert got == (
        f"ree {cmd}: error: invalid data: --data is given 2 times ({a}, {b}); give one "
        "folder: put every replacement table in it"
    )
    assert not out.exists()


def test_a_seed_past_64_bits_is_refused_before_any_run(tmp_path):
    out = tmp_path / "run"
    big = str(2**63)
    got = _one_error_line(_invoke(["run", "--seed", big, "--months", "1", "--out", str(out)]))
    assert got == (
        f"ree run: error: --seed: {big} is out of range (allowed: an integer from 0 to "
        "9223372036854775807); see 'ree run --help'"
    )
    assert not out.exists()
    with pytest.raises(typer.BadParameter, match=r"seed 9223372036854775808 is above"):
        parse_seeds(f"1,{big}")
    assert parse_seeds(str(2**63 - 1) + "-" + str(2**63 - 1)) == [2**63 - 1]


def test_a_seeds_typo_with_billions_of_runs_is_one_line_not_a_full_memory():
    with pytest.raises(typer.BadParameter, match=r"100,000,000,000 runs; at most 100,000"):
        parse_seeds("100000000000")
    with pytest.raises(typer.BadParameter, match=r"100,000,000,001 runs"):
        parse_seeds("0-99999999999,5")
    assert len(parse_seeds("0-99999")) == 100_000


def test_reproduce_seeds_has_the_same_upper_bound_as_run_seeds(tmp_path):
    got = _one_error_line(
        _invoke(["reproduce", "--seeds", "1000000000", "--out", str(tmp_path / "r")])
    )
    assert got == (
        "ree reproduce: error: --seeds: 1000000000 is out of range (allowed: an integer "
        "from 1 to 100000); see 'ree reproduce --help'"
    )
