"""`ree sweep plan` refuses specs whose runs would all fail or give NaN: numbers written as
strings, months outside the scenario horizon, outcomes of a year the runs do not reach."""

from __future__ import annotations

import pytest
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import SpecError, load_spec, plan
from experiments.sweep.cli import sweep_app
from experiments.sweep.design import build_design

ABM_SPEC = """\
name = "check"
scenario = "controls-2025"
months = {months}
outcomes = {outcomes}
{constants}
[design]
method = "factorial"

[[levers]]
name = "levers.us_tariff_on_china"
levels = {levels}
"""


def _abm_spec(
    tmp_path,
    months=2,
    outcomes='["peak_dy_price_outside_china"]',
    levels="[0.0, 0.5]",
    constants="",
):
    p = tmp_path / "s.toml"
    p.write_text(
        ABM_SPEC.format(months=months, outcomes=outcomes, levels=levels, constants=constants)
    )
    return p


def _problems(spec_path) -> dict[str, str]:
    with pytest.raises(SpecError) as ei:
        load_spec(spec_path)
    return dict(ei.value.problems)


def test_string_levels_are_refused_at_plan_naming_the_lever(tmp_path):
    spec = _abm_spec(tmp_path, levels='["0.0", "0.5"]')
    probs = _problems(spec)
    msg = probs["levers[0].levels"]
    assert "levers.us_tariff_on_china" in msg and "'0.0'" in msg
    assert "write the number without quotes" in msg
    r = CliRunner().invoke(sweep_app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "write the number without quotes" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists()  # nothing written


def test_string_levels_are_refused_for_any_model_with_a_parameter_space(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml", extra='\n[[levers]]\nname = "parameters.b"\nlevels = ["0.5", "1.0"]\n'
    )
    probs = _problems(spec)
    assert "write the number without quotes" in probs["levers[2].levels"]
    assert "parameters.b" in probs["levers[2].levels"]


def test_constants_are_checked_by_the_model(tmp_path):
    spec = _abm_spec(tmp_path, constants='[constants]\n"parameters.risk_sensitivity" = "2.0"\n')
    probs = _problems(spec)
    msg = probs["constants.parameters.risk_sensitivity"]
    assert "got the string '2.0'; write the number without quotes" in msg


def test_months_past_the_horizon_are_refused_at_plan(tmp_path):
    spec = _abm_spec(tmp_path, months=500)
    msg = _problems(spec)["months"]
    assert "from 1 to the scenario horizon (144 months, 2024-01 to 2035-12), got 500" in msg
    r = CliRunner().invoke(sweep_app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "months" in r.output and "Traceback" not in r.output


def test_outcome_of_a_year_the_runs_do_not_reach_is_refused(tmp_path):
    from abm.outcomes import OUTCOMES

    assert OUTCOMES["china_content_us_2030"].year == 2030
    assert OUTCOMES["peak_dy_price_outside_china"].year is None
    outs = '["peak_dy_price_outside_china", "china_content_us_2030"]'
    msg = _problems(_abm_spec(tmp_path, months=12, outcomes=outs))["outcomes[1]"]
    assert "'china_content_us_2030' is the mean of 2030" in msg
    assert "2024-01 to 2024-12" in msg and "NaN" in msg and "months = 84 or more" in msg
    # a partial year is refused too: it would be the mean of other months than described
    msg = _problems(_abm_spec(tmp_path, months=80, outcomes=outs))["outcomes[1]"]
    assert "only 8 of its 12 months" in msg
    s = plan(_abm_spec(tmp_path, months=84, outcomes=outs), tmp_path / "out")
    assert s.runs == 2


MEASURE_SPEC = """\
name = "leak"
model = "{model}"
scenario = "embargo-2010"
months = {months}
outcomes = {outcomes}

[design]
method = "{method}"

[[levers]]
name = "measures.{mid}.leakage"
{levels}
"""


@pytest.mark.parametrize(
    "model,outcomes",
    [
        ("abm", '["peak_dy_price_outside_china"]'),
        ("experiments.reproduce:sweep_evaluate", '["china_dy_rise_2011q1"]'),
    ],
)
def test_a_lever_may_name_a_field_of_a_scenario_measure(tmp_path, model, outcomes):
    """A sweep over a scenario measure's field (session 19: the heavy mining quota's leakage,
    sourced 0.46-1): the id, the field and every level are checked against the scenario
    before anything runs."""
    p = tmp_path / "s.toml"

    def spec(
        mid="cn_mining_quota_2011_heavy",
        levels="levels = [0.5, 1.0]",
        method="factorial",
        months=25,
    ):
        p.write_text(
            MEASURE_SPEC.format(
                model=model, outcomes=outcomes, mid=mid, levels=levels, method=method, months=months
            )
        )
        return p

    assert len(build_design(load_spec(spec())[0], None)) == 2
    # the OAT centre is the scenario's own value
    oat = load_spec(spec(levels="low = 0.46\nhigh = 1.0", method="oat"))[0]
    assert oat.levers[0].center == 0.7
    msg = _problems(spec(levels="levels = [0.5, 1.5]"))["levers[0].levels[1]"]
    assert "got 1.5; allowed: 0 <= leakage <= 1" in msg
    # runs ending before the quota starts (2011-01) would all show the lever without effect
    msg = _problems(spec(months=24))["levers[0].name"]
    assert "end before the measure comes into force" in msg and "at least 25" in msg
    # the fault is in the name, so the locator names it (a new user, session 20)
    msg = _problems(spec(mid="cn_mining_quota_2011_hevy"))["levers[0].name"]
    assert "unknown measure id 'cn_mining_quota_2011_hevy'" in msg
    assert "did you mean 'cn_mining_quota_2011_heavy'" in msg


# ------------------------------------------------------- every problem at once (issue: typos)
TYPOS_SPEC = """\
name = "typos"
scenario = "controls-2025"
months = {months}
outcomes = ["peak_dy_price_outside_china", "{outcome}"]

[design]
method = "lhs"
n = 4

[[uncertainties]]
name = "{first}"
low = -0.6
high = -0.1

[[uncertainties]]
name = "parameters.risk_sensitivity"
low = {low}
high = {high}
"""

#: the tails of the unknown-name lines (the counts of the model's parameters and outcomes)
_PARAMS_TAIL = "parameters in docs/ODD.md section 8, levers in section 6)"
_OUTCOMES_TAIL = "`ree sweep outcomes` lists them)"


def _typos(
    tmp_path,
    first="parameters.final_demand_elasticity",
    outcome="peak_dy_price_us",
    low=1.0,
    high=2.0,
    months=2,
):
    p = tmp_path / "typos.toml"
    p.write_text(TYPOS_SPEC.format(first=first, outcome=outcome, low=low, high=high, months=months))
    return p


def _sweep_lines(command, spec, out) -> list[str]:
    """stderr of ``ree sweep <command> SPEC``, which must exit with 2 having written nothing."""
    res = CliRunner().invoke(
        sweep_app, [command, str(spec), "--out", str(out)], env={"COLUMNS": "60"}
    )
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and "Traceback" not in res.output
    assert not out.exists() or not any(out.iterdir())  # nothing written
    return res.stderr.strip().splitlines()


def test_every_spec_problem_is_one_line_at_once_before_any_work(tmp_path):
    """docs/calibration.md section 5 item 7: `ree sweep plan` stopped at the first problem
    of a spec (here the range, refused by the structure check, hid the misspelt parameter
    and outcome, which the model check finds), so a user with several typos fixed them one
    run at a time. Now every problem is a line of its own, in the order of the spec's fields,
    for `plan` and `run` alike, and nothing is written."""
    from experiments.sweep.model import resolve_model

    handle = resolve_model("abm")
    n_par, n_out = len(handle.parameter_space()), len(handle.outcomes())
    spec = _typos(
        tmp_path,
        first="parameters.final_demand_elastcity",
        outcome="peak_dy_price_outside_chna",
        low=2.0,
        high=1.0,
    )
    head = f"invalid sweep spec {spec}"
    problems = [
        f"uncertainties[0].name: unknown parameter 'parameters.final_demand_elastcity'; did "
        f"you mean 'parameters.final_demand_elasticity'? ({n_par} allowed parameters, "
        + _PARAMS_TAIL,
        "uncertainties[1]: ('parameters.risk_sensitivity') low (2.0) is greater than high (1.0)",
        "outcomes[1]: unknown outcome 'peak_dy_price_outside_chna'; did you mean "
        "'peak_dy_price_outside_china' or 'peak_ndpr_price_outside_china'? "
        f"({n_out} allowed outcomes, " + _OUTCOMES_TAIL,
    ]
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert str(err.value).splitlines() == [f"{head}: {p}" for p in problems]
    for command in ("plan", "run"):
        assert _sweep_lines(command, spec, tmp_path / "out") == [
            f"ree sweep {command}: error: {head}: {p}" for p in problems
        ]


def test_model_problems_no_longer_hide_the_checks_against_the_scenario(tmp_path):
    """Months past the horizon were checked only once every name and range was right; now a
    spec with an unknown outcome, a range above the model's limit and months past the
    horizon gets the three lines at once."""
    spec = _typos(tmp_path, outcome="peak_dy_price_outside_chna", high=9.0, months=500)
    head = f"ree sweep plan: error: invalid sweep spec {spec}: "
    lines = _sweep_lines("plan", spec, tmp_path / "out")
    assert len(lines) == 3 and all(ln.startswith(head) for ln in lines)
    assert [ln.removeprefix(head) for ln in lines[:2]] == [
        "months: months must be a whole number from 1 to the scenario horizon (144 months, "
        "2024-01 to 2035-12), got 500; to run longer, extend the scenario's end",
        "uncertainties[1].high: ('parameters.risk_sensitivity') 9.0 is above the model's "
        "upper limit 5.0",
    ]
    assert lines[2].startswith(head + "outcomes[1]: unknown outcome 'peak_dy_price_outside_chna'")


@pytest.mark.parametrize(
    "edit, line",
    [
        (
            {"low": 2.0, "high": 1.0},
            "uncertainties[1]: ('parameters.risk_sensitivity') low (2.0) is greater than "
            "high (1.0)",
        ),
        (
            {"first": "parameters.final_demand_elastcity"},
            "uncertainties[0].name: unknown parameter 'parameters.final_demand_elastcity'; "
            "did you mean 'parameters.final_demand_elasticity'?",
        ),
        (
            {"outcome": "peak_dy_price_outside_chna"},
            "outcomes[1]: unknown outcome 'peak_dy_price_outside_chna'; did you mean",
        ),
    ],
)
def test_a_spec_with_one_problem_is_still_one_line(tmp_path, edit, line):
    spec = _typos(tmp_path, **edit)
    for command in ("plan", "run"):
        lines = _sweep_lines(command, spec, tmp_path / "out")
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"ree sweep {command}: error: invalid sweep spec {spec}: ")
        assert line in lines[0]


def test_whole_spec_problems_are_one_line_each(tmp_path):
    """The checks across fields (repeated names, a discovery outcome not recorded) stopped at
    the first too."""
    spec = _typos(tmp_path)
    spec.write_text(
        spec.read_text().replace('"peak_dy_price_us"]', '"peak_dy_price_us", "peak_dy_price_us"]')
        + '\n[[discovery]]\noutcome = "us_oem_lost_output_usd"\nthreshold = 1.0\n'
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert str(err.value).splitlines() == [
        f"invalid sweep spec {spec}: outcomes: duplicate names ['peak_dy_price_us']",
        f"invalid sweep spec {spec}: discovery[0].outcome: 'us_oem_lost_output_usd' is not "
        "among outcomes ['peak_dy_price_outside_china', 'peak_dy_price_us', "
        "'peak_dy_price_us']",
    ]


def test_a_custom_model_that_fails_leaves_the_structure_problems_standing(tmp_path):
    # a spec whose structure is refused (low above high) names the model's parameters
    # against the model; a custom model whose parameter space raises must not replace the
    # structure problem with its own traceback (exit 2, the spec's line, nothing written)
    spec = write_toy_spec(
        tmp_path / "s.toml",
        model="broken_space_evaluate",
        extra='[[uncertainties]]\nname = "parameters.b"\nlow = 1.0\nhigh = -1.0\n',
    )
    r = CliRunner().invoke(sweep_app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "uncertainties[2]" in r.output and "Traceback" not in r.output
    assert "unreadable" not in r.output
    assert not (tmp_path / "out").exists()
