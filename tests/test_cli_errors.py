"""Bad input is one line (new users' reports): an unknown or misspelt key in a scenario file,
in --set or in a sweep spec names the file (or --set), the field and the closest allowed names
instead of listing about a hundred keys (3,600 characters); typer/click parser errors are one
line `<command>: error: ...; see '<command> --help'` with exit code 2, not a boxed usage
message. Nothing is written before the error."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from abm.parameters import Parameters
from abm.scenario import SHORT_LIST, ScenarioError, closest_names, loads_scenario, unknown_name
from experiments.cli import app
from experiments.sweep.cli import sweep_app

#: the longest error line a misspelt key may give (the old ones were 2,400-3,600 characters)
MAX_LINE = 400
#: allowed keys of a scenario's [parameters] table; --set also takes 14 more (levers.* and
#: the top-level keys end and firms; session 13: the three pair-valued parameters too)
N_PAR = len(Parameters.model_fields)
#: of which a sweep can set the scalars (all but the four pair-valued lead-time ranges)
N_SCALAR = N_PAR - 4


def _invoke(args, cli=app):
    return CliRunner().invoke(cli, args, env={"COLUMNS": "60"}, prog_name="ree")


def _one_line(res, code=2) -> str:
    assert res.exit_code == code, res.output
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert len(lines[0]) <= MAX_LINE, len(lines[0])
    return lines[0]


# ------------------------------------------------------------------- unknown_name
def test_unknown_name_short_list_is_printed_in_full():
    assert (
        unknown_name("kind", "tarif", ["tariff", "embargo"])
        == "unknown kind 'tarif'; did you mean 'tariff'? allowed kinds: ['tariff', 'embargo']"
    )
    assert (
        unknown_name("kind", "zzz", ["tariff", "embargo"])
        == "unknown kind 'zzz'; allowed kinds: ['tariff', 'embargo']"
    )


def test_unknown_name_long_list_gives_the_closest_and_where_the_list_is():
    names = [f"name_{i:03d}" for i in range(SHORT_LIST)] + ["armington_elasticity"]
    assert unknown_name("key", "armington_elastcity", names, "see X") == (
        "unknown key 'armington_elastcity'; did you mean 'armington_elasticity'? "
        f"({SHORT_LIST + 1} allowed keys, see X)"
    )
    # nothing close: the first five and the count
    assert unknown_name("key", "qqq", names) == (
        "unknown key 'qqq'; allowed keys: ['name_000', 'name_001', 'name_002', 'name_003', "
        f"'name_004'] and {SHORT_LIST - 4} more ({SHORT_LIST + 1} allowed keys)"
    )


def test_dotted_names_are_compared_within_their_prefix():
    paths = [f"parameters.p{i:02d}" for i in range(20)] + [
        "levers.approval_rate_us",
        "levers.approval_rate_allies",
        "levers.start",
        "end",
    ]
    # 'levers.' shared by every lever does not make 'levers.start' close to 'levers.nope'
    assert closest_names("levers.nope", paths) == []
    assert closest_names("levers.aproval_rate_us", paths) == ["levers.approval_rate_us"]
    # a fragment of 4 letters or more is answered with the names containing it, shortest
    # first (a new user's '--set levers.tarif=1' got 'levers.start', session 27); 3 letters
    # are compared as a misspelling
    tariffs = paths + ["levers.us_tariff_on_china", "levers.tariff_lag"]
    assert closest_names("levers.tarif", tariffs) == [
        "levers.tariff_lag",
        "levers.us_tariff_on_china",
    ]
    assert closest_names("levers.rate", tariffs) == [
        "levers.approval_rate_us",
        "levers.approval_rate_allies",
    ]
    assert closest_names("levers.tar", tariffs) == ["levers.start"]
    assert unknown_name("key", "levers.nope", paths) == (
        "unknown key 'levers.nope'; the levers.* keys: approval_rate_us, "
        "approval_rate_allies, start (24 allowed keys)"
    )
    # an unknown prefix: the groups of names with their counts
    assert unknown_name("key", "foo.bar", paths) == (
        "unknown key 'foo.bar'; allowed keys: parameters.* (20), levers.* (3), end "
        "(24 allowed keys)"
    )


def test_misspelt_measure_kind_is_named_with_the_closest_kind():
    with pytest.raises(ScenarioError) as err:
        loads_scenario(
            'extends = "baseline"\n[[measures]]\nkind = "tarif"\ndate = "2025-01"\n', "k.toml"
        )
    assert str(err.value).startswith(
        "k.toml: field 'measures[0]' (tarif measure, [[measures]] block 1): unknown kind "
        "'tarif'; did you mean 'tariff'? allowed kinds: ['tariff', "
    )


# ------------------------------------------------------------------- ree run
def test_misspelt_parameter_in_a_scenario_file_is_one_short_line(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('extends = "controls-2025"\n[parameters]\narmington_elastcity = 2.0\n')
    out = tmp_path / "out"
    line = _one_line(_invoke(["run", str(p), "--out", str(out)]))
    assert line == (
        f"ree run: error: invalid scenario: {p}: field 'parameters.armington_elastcity': unknown "
        "key 'armington_elastcity'; did you mean 'armington_elasticity'? "
        f"({N_PAR} allowed keys, all in docs/ODD.md section 8)"
    )
    assert not out.exists()


def test_misspelt_set_key_names_the_option_and_the_closest_key(tmp_path):
    out = tmp_path / "out"
    line = _one_line(_invoke(["run", "--set", "levers.aproval_rate_us=0.1", "--out", str(out)]))
    assert line == (
        "ree run: error: invalid scenario: --set: unknown key 'levers.aproval_rate_us'; did you "
        f"mean 'levers.approval_rate_us'? ({N_PAR + 14} allowed keys, parameters in "
        "docs/ODD.md section 8, levers in section 6)"
    )
    assert not out.exists()


def test_unknown_set_key_without_a_close_one_gets_a_short_list(tmp_path):
    line = _one_line(_invoke(["run", "--set", "levers.nope=1", "--out", str(tmp_path / "o")]))
    assert line == (
        "ree run: error: invalid scenario: --set: unknown key 'levers.nope'; the levers.* keys: "
        "approval_rate_allies, approval_rate_us, defense_end_use_denial, "
        "licence_review_months, ndpr_price_floor, stockpile_target_months, "
        "substitution_speed, truce_months, us_tariff_on_china, start, truce_start, "
        f"licence_elements ({N_PAR + 14} allowed keys, parameters in docs/ODD.md "
        "section 8, levers in section 6)"
    )
    line = _one_line(_invoke(["run", "--set", "foo=1", "--out", str(tmp_path / "o")]))
    assert line == (
        "ree run: error: invalid scenario: --set: unknown key 'foo'; allowed keys: levers.* (12), "
        f"parameters.* ({N_PAR}), end, firms ({N_PAR + 14} allowed keys, "
        "parameters in docs/ODD.md section 8, levers in section 6)"
    )
    assert not (tmp_path / "o").exists()


def test_bad_set_value_names_the_option_and_the_range(tmp_path):
    line = _one_line(
        _invoke(["run", "--set", "levers.approval_rate_us=2", "--out", str(tmp_path / "o")])
    )
    assert line == (
        "ree run: error: invalid scenario: controls-2025 with --set: field "
        "'levers.approval_rate_us': got 2; allowed: 0 <= approval_rate_us <= 1"
    )


LEAD = "a pair [low, high] in years with 3.0 <= low <= high <= 30.0, e.g. [8.0, 15.0]"
ELEMENTS = "La, Ce, Pr, Nd, Sm, Eu, Gd, Tb, Dy, Ho, Er, Tm, Yb, Lu, Y, Sc"


@pytest.mark.parametrize(
    ("item", "tail"),
    [
        # a new user's inputs: pydantic said "Input should be a valid tuple" / "... list"
        (
            "parameters.lead_time_mine_years=5",
            f"'parameters.lead_time_mine_years': got 5; allowed: {LEAD}",
        ),
        # a pair of one item named its item [1] as "required field is missing"
        (
            "parameters.lead_time_mine_years=[5]",
            f"'parameters.lead_time_mine_years': got [5]; allowed: {LEAD}",
        ),
        (
            "levers.licence_elements=Dy",
            "'levers.licence_elements': got 'Dy'; allowed: a list such as "
            f'["Dy", "Tb"] (allowed items: {ELEMENTS})',
        ),
    ],
)
def test_a_list_or_pair_value_of_the_wrong_shape_names_the_allowed_form(tmp_path, item, tail):
    line = _one_line(_invoke(["run", "--set", item, "--out", str(tmp_path / "o")]))
    assert line == f"ree run: error: invalid scenario: controls-2025 with --set: field {tail}"
    assert not (tmp_path / "o").exists()


def test_a_number_for_a_destination_table_names_the_table_form(tmp_path):
    # a new user's input (session 34): pydantic said "Input should be a valid dictionary"
    item = "measures.cn_licences_apr2025.approval=0.5"
    line = _one_line(_invoke(["run", "--set", item, "--out", str(tmp_path / "o")]))
    assert line.endswith(
        "field 'measures[13].approval' (measure 'cn_licences_apr2025', [[measures]] block 14): "
        "got 0.5; allowed: a table (keys: region codes, 'allied', 'default'), e.g. approval = "
        "{ default = 0.5 } (with --set: '...approval={default=0.5}')"
    )
    assert not (tmp_path / "o").exists()


def _one_measure_errors(tmp_path, block: str) -> list[str]:
    """The error lines of a scenario file extending controls-2025 by one [[measures]] block."""
    f = tmp_path / "t.toml"
    f.write_text(f'extends = "controls-2025"\n[[measures]]\n{block}')
    with pytest.raises(ScenarioError) as err:
        loads_scenario(f.read_text(), str(f))
    return str(err.value).splitlines()


def test_a_misspelt_choice_gets_the_closest_one(tmp_path):
    # a new user's input (session 34): pydantic listed the choices without a suggestion
    lines = _one_measure_errors(
        tmp_path,
        'kind = "licence_policy"\ndate = "2026-03"\nactor = "CN"\nend_use = "defence"\n'
        'approval = {default = 0.5}\nforms = ["oxide"]\n',
    )
    assert any(
        line.endswith(
            "field 'measures[0].end_use' (licence_policy measure, [[measures]] block 1): "
            "unknown end_use 'defence'; did you mean 'defense'? allowed end_uses: "
            "['all', 'civil', 'defense']"
        )
        for line in lines
    ), lines
    assert any(
        line.endswith(
            "unknown value 'oxide'; did you mean 'oxides'? allowed values: "
            "['concentrates', 'oxides', 'magnets']"
        )
        for line in lines
    ), lines


def test_a_list_field_of_a_measure_names_the_allowed_form_in_a_scenario_file(tmp_path):
    lines = _one_measure_errors(
        tmp_path, 'kind = "tariff"\ndate = "2026-03"\nactor = "US"\ntargets = "CN"\nrate = 0.25\n'
    )
    assert len(lines) == 1 and lines[0].endswith(
        "field 'measures[0].targets' (tariff measure, [[measures]] block 1): got 'CN'; "
        'allowed: a list such as ["CN", "US"] (allowed items: CN, US, JP, EU, KR, AU, MY, MM, '
        "VN, BR, IN, ROW)"
    )


def test_seeds_run_checks_the_set_keys_before_any_run(tmp_path):
    out = tmp_path / "ens"
    line = _one_line(
        _invoke(["run", "--seeds", "2", "--set", "parameters.wac=0.1", "--out", str(out)])
    )
    assert "did you mean 'parameters.wacc'?" in line
    assert not out.exists()


# ------------------------------------------------------------------- ree sweep run
def test_sweep_spec_misspellings_are_one_line_each_and_nothing_is_written(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\nscenario = "controls-2025"\nmonths = 2\nreplicate = 2\n'
        'outcomes = ["peak_dy_price_outside_china"]\n[design]\n'
        'method = "factorial"\n[[levers]]\nname = "levers.us_tariff_on_china"\n'
        "levels = [0.0, 0.5]\n"
    )
    out = tmp_path / "runs"
    res = _invoke(["run", str(spec), "--out", str(out)], cli=sweep_app)
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"ree sweep run: error: invalid sweep spec {spec}: replicate: unknown field "
        "'replicate'; did you mean 'replicates'? (16 allowed fields)"
    )
    spec.write_text(
        spec.read_text()
        .replace("replicate = 2\n", "")
        .replace("us_tariff_on_china", "us_tarif_on_china")
        .replace("[design]", '[constants]\n"parameters.armington_elastcity" = 2.0\n[design]')
    )
    res = _invoke(["run", str(spec), "--out", str(out)], cli=sweep_app)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    # each problem is a line of its own, each in the one error form (session 13)
    assert lines == [
        f"ree sweep run: error: invalid sweep spec {spec}: levers[0].name: unknown parameter "
        "'levers.us_tarif_on_china'; did you mean 'levers.us_tariff_on_china'? "
        f"({N_SCALAR + 9} allowed parameters, parameters in docs/ODD.md section 8, levers in "
        "section 6)",
        f"ree sweep run: error: invalid sweep spec {spec}: constants.parameters.armington_elastcity: unknown "
        "parameter 'parameters.armington_elastcity'; did you mean "
        f"'parameters.armington_elasticity'? ({N_SCALAR + 9} allowed parameters, parameters in "
        "docs/ODD.md section 8, levers in section 6)",
    ]
    assert not out.exists()


def test_a_misspelt_design_method_gets_the_closest_one(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\nscenario = "controls-2025"\nmonths = 2\n'
        'outcomes = ["peak_dy_price_outside_china"]\n[design]\n'
        'method = "factorail"\n[[levers]]\nname = "levers.us_tariff_on_china"\n'
        "levels = [0.0, 0.5]\n"
    )
    line = _one_line(_invoke(["plan", str(spec)], cli=sweep_app))
    assert line == (
        f"ree sweep plan: error: invalid sweep spec {spec}: design.method: unknown method "
        "'factorail'; did you mean 'factorial'? allowed methods: ['factorial', 'oat', 'lhs', "
        "'sobol', 'halton', 'saltelli', 'morris', 'fast']"
    )


def test_sweep_spec_naming_a_bad_scenario_file_is_short(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "controls-2025"\n[parameters]\narmington_elastcity = 2.0\n')
    spec = tmp_path / "s.toml"
    spec.write_text(
        f'name = "s"\nscenario = "{bad}"\nmonths = 2\n'
        'outcomes = ["peak_dy_price_outside_china"]\n[design]\n'
        'method = "factorial"\n[[levers]]\nname = "levers.us_tariff_on_china"\n'
        "levels = [0.0, 0.5]\n"
    )
    res = _invoke(["run", str(spec), "--out", str(tmp_path / "runs")], cli=sweep_app)
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"ree sweep run: error: invalid sweep spec {spec}: scenario: cannot load base scenario '{bad}': "
        f"{bad}: field 'parameters.armington_elastcity': unknown key 'armington_elastcity'; "
        f"did you mean 'armington_elasticity'? ({N_PAR} allowed keys, all in docs/ODD.md "
        "section 8)"
    )
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------- ree reproduce
def test_reproduce_bad_backend_is_one_line_before_any_work(tmp_path):
    out = tmp_path / "rep"
    line = _one_line(_invoke(["reproduce", "--backend", "bogus", "--out", str(out)]))
    assert (
        line
        == "ree reproduce: error: --backend: unknown backend 'bogus'; allowed: dask, sequential"
    )
    assert not out.exists()
    line = _one_line(_invoke(["reproduce", "--backend", "process", "--out", str(out)]))
    assert line == (
        "ree reproduce: error: --backend: backend 'process' was removed; use 'dask' "
        "(a local cluster, or a running scheduler with --address) or 'sequential'"
    )
    assert not out.exists()


# ------------------------------------------------------------------- parser errors
@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["run", "--seed", "x"],
            "ree run: error: --seed: 'x' is not an integer (allowed: an "
            "integer from 0 to 9223372036854775807); see 'ree run --help'",
        ),
        (
            ["run", "--seed", "-1"],
            "ree run: error: --seed: -1 is out of range (allowed: an "
            "integer from 0 to 9223372036854775807); see 'ree run --help'",
        ),
        (
            ["run", "--months", "1.5"],
            "ree run: error: --months: '1.5' is not an integer "
            "(allowed: an integer from 1 to the scenario's horizon); "
            "see 'ree run --help'",
        ),
        (["run", "--bogus"], "ree run: error: no such option --bogus; see 'ree run --help'"),
        (
            ["run", "--seeed", "1"],
            "ree run: error: no such option --seeed; did you mean --seed "
            "or --seeds? see 'ree run --help'",
        ),
        (["run", "--set"], "ree run: error: --set needs a value; see 'ree run --help'"),
        (
            ["run", "a", "b"],
            "ree run: error: got unexpected extra argument(s) (b); see 'ree run --help'",
        ),
        (["compare", "a"], "ree compare: error: missing argument RUN_B; see 'ree compare --help'"),
        (
            ["app", "--port", "0"],
            "ree app: error: --port: 0 is out of range (allowed: an integer "
            "from 1 to 65535); see 'ree app --help'",
        ),
        (
            ["reproduce", "--backend"],
            "ree reproduce: error: --backend needs a value; see 'ree reproduce --help'",
        ),
        (
            ["rn"],
            "ree: error: no such command 'rn'; did you mean 'run'? allowed: app, compare, "
            "reproduce, run, scenarios, sweep; see 'ree --help'",
        ),
        (["--bogus"], "ree: error: no such option --bogus; see 'ree --help'"),
        (
            ["sweep", "run"],
            "ree sweep run: error: missing argument SPEC; see 'ree sweep run --help'",
        ),
        (
            ["sweep", "run", "--workers", "x", "s.toml"],
            "ree sweep run: error: --workers: 'x' is "
            "not an integer (allowed: an integer); see "
            "'ree sweep run --help'",
        ),
        (
            ["sweep", "analyze", "--conf-level", "2", "s.toml"],
            "ree sweep analyze: error: --conf-level: 2 is out of range (allowed: a number from 0.5 "
            "to 0.999); see 'ree sweep analyze --help'",
        ),
        (
            ["sweep", "stats"],
            "ree sweep: error: no such command 'stats'; did you mean 'status'? "
            "allowed: analyze, outcomes, plan, run, status; see 'ree sweep --help'",
        ),
    ],
)
def test_parser_errors_are_one_line_with_exit_code_2(tmp_path, args, line):
    assert _one_line(_invoke(args)) == line


def test_the_sweep_app_alone_has_one_line_errors_too():
    res = _invoke(["run"], cli=sweep_app)
    assert _one_line(res) == "ree run: error: missing argument SPEC; see 'ree run --help'"


def test_no_arguments_still_print_the_help():
    res = _invoke([])
    assert "Usage: ree" in res.output and "run" in res.output
    res = _invoke(["sweep"])
    assert "Usage: ree sweep" in res.output
