"""Scenario validation, round-trips and overrides (abm.scenario)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.scenario import (
    ScenarioError,
    apply_overrides,
    load_scenario,
    loads_scenario,
    parameter_space,
    shipped_scenarios,
)


@pytest.mark.parametrize("name", shipped_scenarios())
def test_shipped_scenarios_round_trip(name):
    sc = load_scenario(name)
    assert loads_scenario(sc.to_toml()) == sc


BAD = [
    ('name="x"\nfoo=1', "unknown key 'foo'"),
    (
        'name="x"\n[[measures]]\nkind="tariff"\ndate="2025-01"\nactor="USA"\ntargets=["CN"]\nrate=0.1',
        "unknown region 'USA'",
    ),
    (
        'name="x"\n[[measures]]\nkind="export_licence"\ndate="2025-01"\nactor="CN"\nelements=["Dx"]',
        "unknown element 'Dx'",
    ),
    (
        (
            'name="x"\nend="2030-12"\n[[measures]]\nkind="tariff"\ndate="2031-01"\nactor="US"\n'
            'targets=["CN"]\nrate=0.1'
        ),
        "outside the horizon",
    ),
    (
        'name="x"\n[[measures]]\nkind="export_quota"\ndate="2025-01"\nactor="CN"\ntonnes_per_year=-5',
        "tonnes_per_year",
    ),
    (
        'name="x"\n[[measures]]\nkind="import_quota"\ndate="2025-01"\nactor="JP"\ntonnes_per_year=-5',
        "tonnes_per_year",
    ),
    (
        (
            'name="x"\n[[measures]]\nkind="import_quota"\ndate="2025-01"\nactor="JP"\n'
            'tonnes_per_year=5\nallocation="pro_rata"'
        ),
        "allocation",
    ),
    ('name="x"\n[[measures]]\nkind="nonsense"\ndate="2025-01"', "allowed kinds"),
    # numbers written as strings are refused, not converted (regression: "3" became 3.0)
    (
        'name="x"\n[parameters]\nrisk_sensitivity="3"',
        "'parameters.risk_sensitivity': got the string '3'; write the number without quotes",
    ),
    (
        'name="x"\n[levers]\nus_tariff_on_china="1.45"',
        "'levers.us_tariff_on_china': got the string",
    ),
    (
        'name="x"\n[parameters]\nlead_time_mine_years=["8", 15]',
        "'parameters.lead_time_mine_years': got the string '8'",
    ),
    # a list, a table or a date where one number belongs says what to write (new-user run,
    # session 17: pydantic's "Input should be a valid number" named no interval)
    (
        'name="x"\n[parameters]\nevasion_cover_ratio=[0.1, 0.2]',
        "'parameters.evasion_cover_ratio': got a list ([0.1, 0.2]); write one number "
        "(allowed: 0.0 <= evasion_cover_ratio <= 0.59)",
    ),
    (
        'name="x"\n[parameters]\narmington_elasticity={low=1}',
        "'parameters.armington_elasticity': got a table ({'low': 1}); write one number",
    ),
    (
        'name="x"\n[parameters]\nrisk_sensitivity=2010-01-01',
        "'parameters.risk_sensitivity': got a date (datetime.date(2010, 1, 1)); write one number",
    ),
    (
        (
            'name="x"\n[[measures]]\nkind="export_quota"\ndate="2025-01"\nactor="CN"\n'
            'tonnes_per_year="30000"'
        ),
        "tonnes_per_year: got the string '30000'",
    ),
    ('name="x"\nfirms="200"', "firms: got the string '200'"),
    (
        'name="x"\n[[measures]]\nkind="tariff"\ndate="2025-01"\nactor="US"\ntargets=["CN"]\nrate=true',
        "rate: got true; write a number",
    ),
    # regression: a 2009 world started in 2024 ran silently (NdPr at 2009 prices in 2024)
    ('name="x"\nbase_year=2009', "field 'start': 2024-01 is not in base_year 2009"),
    (
        'name="x"\nbase_year=2024\nstart="2025-01"',
        "field 'start': 2025-01 is not in base_year 2024",
    ),
]


@pytest.mark.parametrize("text,fragment", BAD)
def test_bad_scenarios_name_the_field(text, fragment):
    with pytest.raises(ScenarioError) as err:
        loads_scenario(text)
    assert fragment in str(err.value)


def test_unknown_scenario_lists_shipped():
    with pytest.raises(ScenarioError, match="controls-2025"):
        load_scenario("no-such-scenario")


def test_overrides_apply_and_reject_unknown_paths():
    sc = apply_overrides(
        load_scenario("baseline"),
        {"levers.us_tariff_on_china": 1.45, "parameters.risk_sensitivity": 2.0},
    )
    assert sc.levers.us_tariff_on_china == 1.45 and sc.parameters.risk_sensitivity == 2.0
    with pytest.raises(ScenarioError, match="allowed"):
        apply_overrides(sc, {"parameters.no_such": 1})
    with pytest.raises(ScenarioError, match="risk_sensitivity"):
        apply_overrides(sc, {"parameters.risk_sensitivity": -1})
    space = parameter_space()
    assert space["levers.approval_rate_us"]["high"] == 1.0


MEASURE_BAD = [
    (
        'kind="tariff"\ndate="2025-05"\nend="2025-01"\nactor="US"\ntargets=["CN"]\nrate=0.3',
        "field 'measures[0].end' (tariff measure, [[measures]] block 1): 2025-01 is not after "
        "the measure's date 2025-05",
    ),
    ('kind="tariff"\ndate="2025-05"\nactor="US"\ntargets=["US"]\nrate=0.3', "cannot target itself"),
    ('kind="tariff"\ndate="2025-05"\nactor="US"\ntargets=[]\nrate=0.3', "targets is empty"),
    ('kind="price_floor"\ndate="2025-05"\nactor="US"\nfloor_usd_kg=inf', "floor_usd_kg"),
    ('kind="tariff"\ndate="2025-05"\nactor="US"\ntargets=["CN"]\nrate=nan', "rate"),
    # regression: the field path of the later measure kinds kept the tag
    # ('measures[0].production_halt.share')
    (
        'kind="production_halt"\ndate="2025-05"\nactor="CN"\nshare=2',
        "field 'measures[0].share' (production_halt measure, [[measures]] block 1)",
    ),
    (
        'kind="state_purchase"\ndate="2025-05"\nend="2025-09"\nactor="CN"\ntonnes=-1',
        "field 'measures[0].tonnes' (state_purchase measure, [[measures]] block 1)",
    ),
    # fresh-user check, session 4: these were accepted
    ('kind="embargo"\ndate="2025-05"\nactor="CN"\ntargets=["JP"]\ngoods=[]', "goods is empty"),
    (
        'kind="export_licence"\ndate="2025-05"\nactor="CN"\ngoods=["Dy"]\napproval={Allies=0.3}',
        "allowed: ['CN'",
    ),
    (
        'kind="export_licence"\ndate="2025-05"\nactor="CN"\ngoods=["Dy"]\napproval={Allies=0.3}',
        "'allied', 'default']",
    ),
    (
        'kind="export_licence"\ndate="2025-05"\nactor="CN"\ngoods=["Dy"]\ndefense_denial="yes"',
        "write true or false without quotes",
    ),
    # licences per element, form, destination and end use (issue 11)
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nelements=["Dy", "Xx"]\n'
        "approval={default=0.1}",
        "unknown element 'Xx'; allowed: ['La'",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nelements=["Dy"]\napproval={Mars=0.1}',
        "approval key 'Mars' is not a region, 'allied' or 'default'",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nelements=["Dy"]\n'
        "review_months={Mars=3.0}",
        "review_months key 'Mars' is not a region",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nreview_months=0.0',
        "review_months['default'] = 0.0 must lie in (0.0, 24.0]",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nend_use="military"\n'
        "approval={default=0.1}",
        "allowed end_uses: ['all', 'civil', 'defense']",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nforms=["metals"]\n'
        "approval={default=0.1}",
        "allowed values: ['concentrates', 'oxides', 'magnets']",
    ),
    (
        'kind="licence_policy"\ndate="2025-05"\nactor="CN"\nelements=["Dy"]',
        "sets neither approval nor review_months",
    ),
    (
        'kind="export_licence"\ndate="2025-05"\nactor="CN"\nelements=["Dy"]\n'
        "review_months={US=-1.0}",
        "review_months['US'] = -1.0 must lie in (0.0, 24.0]",
    ),
]


@pytest.mark.parametrize("body,fragment", MEASURE_BAD)
def test_bad_measures_are_rejected(body, fragment):
    with pytest.raises(ScenarioError) as err:
        loads_scenario('name="x"\n[[measures]]\n' + body)
    assert fragment in str(err.value)


def test_duplicate_ids_and_bad_lead_times_are_rejected():
    two = (
        'name="x"\n' + '[[measures]]\nkind="embargo"\ndate="2025-01"\nactor="CN"\n'
        'targets=["JP"]\nid="a"\n' * 2
    )
    with pytest.raises(ScenarioError, match="used twice"):
        loads_scenario(two)
    with pytest.raises(ScenarioError, match="low <= high"):
        loads_scenario('name="x"\n[parameters]\nlead_time_mine_years=[15.0, 8.0]')
    with pytest.raises(ScenarioError, match="low <= high"):
        loads_scenario('name="x"\n[parameters]\nlead_time_mine_years=[-1.0, 8.0]')
    with pytest.raises(ScenarioError, match="folder"):
        load_scenario("/tmp")


def test_levers_that_would_never_apply_are_refused():
    # regression: a lever set on embargo-2010 (2009-2016) with the default start 2025-04
    # was accepted and silently ignored
    from abm.scenario import ScenarioError, apply_overrides, load_scenario

    sc = load_scenario("embargo-2010")
    with pytest.raises(
        ScenarioError, match=r"field 'levers\.start': 2025-04 is outside the horizon"
    ):
        apply_overrides(sc, {"levers.us_tariff_on_china": 3.0})
    ok = apply_overrides(sc, {"levers.us_tariff_on_china": 3.0, "levers.start": "2010-09"})
    assert ok.levers.us_tariff_on_china == 3.0
    assert apply_overrides(sc, {"levers.substitution_speed": 2.0}).levers.substitution_speed == 2
    # a new user's input (issue 14): levers.start given outside the horizon with no lever
    # was accepted; the default start (2025-04) stays accepted for 2009-2016 scenarios
    with pytest.raises(
        ScenarioError,
        match=r"field 'levers\.start': 2030-01 is outside the horizon; allowed: a month from "
        r"2009-01 to 2016-12 \(the horizon\), or leave it out",
    ):
        apply_overrides(sc, {"levers.start": "2030-01"})
    assert apply_overrides(sc, {"levers.start": "2010-01"}).levers.start == "2010-01"


def test_measure_errors_name_the_measure_and_its_block():
    from abm.scenario import ScenarioError, scenario_from_dict

    with pytest.raises(
        ScenarioError,
        match=r"measures\[1\]\.rate' \(measure 'us_hike', "
        r"\[\[measures\]\] block 2\)",
    ):
        scenario_from_dict(
            {
                "name": "x",
                "measures": [
                    {
                        "kind": "tariff",
                        "date": "2024-02",
                        "actor": "US",
                        "targets": ["CN"],
                        "rate": 0.1,
                    },
                    {
                        "kind": "tariff",
                        "id": "us_hike",
                        "date": "2024-03",
                        "actor": "US",
                        "targets": ["CN"],
                        "rate": -1,
                    },
                ],
            }
        )


def test_self_suspension_and_root_errors_name_the_field():
    text = (
        'name="x"\nstart="2024-01"\nend="2026-12"\n[[measures]]\nkind="suspension"\n'
        'id="s"\ndate="2025-05"\ntarget_id="s"\n'
    )
    with pytest.raises(ScenarioError, match="the suspension's own id") as err:
        loads_scenario(text)
    assert "<root>" not in str(err.value)
    assert "field 'measures[0].target_id' (measure 's', [[measures]] block 1)" in str(err.value)
    # session 28's report: a target_id that names no measure named no block
    with pytest.raises(ScenarioError) as err:
        loads_scenario(text.replace('target_id="s"', 'target_id="q"'))
    assert str(err.value) == (
        "<string>: field 'measures[0].target_id' (measure 's', [[measures]] block 1): 'q' "
        "names no measure; allowed: ['s']"
    )
    late = (
        'name="x"\nstart="2024-01"\nend="2025-12"\n[[measures]]\nkind="embargo"\n'
        'date="2027-01"\nactor="CN"\ntargets=["JP"]\n'
    )
    with pytest.raises(
        ScenarioError,
        match=r"field 'measures\[0\]\.date' \(embargo measure, \[\[measures\]\] block 1\): "
        r"2027-01 is outside",
    ) as err:
        loads_scenario(late)
    assert "<root>" not in str(err.value)
    with pytest.raises(ScenarioError, match="write true or false"):
        apply_overrides(load_scenario("controls-2025"), {"levers.defense_end_use_denial": "yes"})


def test_licence_error_is_one_line_naming_the_field():
    with pytest.raises(ScenarioError) as err:
        loads_scenario(
            'name="x"\n[[measures]]\nkind="licence_policy"\ndate="2025-05"\n'
            'actor="CN"\nelements=["Dx"]\napproval={default=0.1}'
        )
    msg = str(err.value)
    assert "\n" not in msg
    assert "field 'measures[0].elements'" in msg and "unknown element 'Dx'" in msg


def test_licence_review_is_a_number_or_a_destination_table():
    one = loads_scenario(
        'name="x"\n[[measures]]\nkind="licence_policy"\ndate="2025-05"\n'
        'actor="CN"\nelements=["Dy"]\nreview_months=3.0'
    )
    assert one.measures[0].review_months == {"default": 3.0}
    assert one.measures[0].forms == ["concentrates", "oxides", "magnets"]
    assert loads_scenario(one.to_toml()) == one


def test_licence_levers_name_elements():
    sc = apply_overrides(
        load_scenario("controls-2025"),
        {"levers.licence_elements": ["Dy"], "levers.licence_review_months": 3.0},
    )
    assert sc.levers.licence_elements == ["Dy"] and sc.levers.licence_review_months == 3.0
    with pytest.raises(ScenarioError, match=r"levers\.licence_elements.*unknown element 'Q'"):
        apply_overrides(load_scenario("controls-2025"), {"levers.licence_elements": ["Q"]})
    assert "levers.licence_review_months" in parameter_space()
    assert "levers.licence_elements" not in parameter_space()


# ------------------------------------------------------------ issue 15: inputs refused up front
_HEAD = 'name="x"\nstart="2024-01"\nend="2024-06"\n'
_ADD = (
    '[[measures]]\nkind="tariff"\ndate="2024-03"\nactor="US"\ntargets=["CN"]\nrate=0.1\n'
    'mode="add"\n'
)
_DUTY = '[[measures]]\nkind="export_duty"\ndate="2024-03"\nactor="CN"\nrate=0.1\n'


@pytest.mark.parametrize(
    "body,fragment",
    [
        # regression: the same add tariff pasted twice doubled the rate
        (
            _ADD * 2,
            (
                "measures[1] ([[measures]] block 2) repeats measures[0] (block 1): the add "
                "tariff of US on 'all' from CN dated 2024-03 is given twice"
            ),
        ),
        (_DUTY * 2, "the export duty of CN on 'all' dated 2024-03 is given twice"),
        (_ADD.replace('mode="add"', 'mode="set"') * 2, "keep one (the later set rate"),
        # one good in common is enough
        (
            _DUTY.replace("rate=0.1", 'rate=0.1\ngoods=["ox_Dy", "ox_Tb"]')
            + _DUTY.replace("rate=0.1", 'rate=0.2\ngoods=["ox_Tb"]'),
            "on 'ox_Tb'",
        ),
    ],
)
def test_stacking_duplicates_are_refused(body, fragment):
    with pytest.raises(ScenarioError) as err:
        loads_scenario(_HEAD + body, "s.toml")
    msg = str(err.value)
    assert fragment in msg and msg.startswith("s.toml: ") and "\n" not in msg


def test_measures_that_stack_on_purpose_are_kept():
    # a set rate plus an add surcharge, a global add plus a China add, and the same add on
    # two different days of one month (the April 2025 escalations) are all meaningful
    sc = loads_scenario(
        _HEAD
        + _ADD
        + _ADD.replace('mode="add"', 'mode="set"')
        + _ADD.replace('["CN"]', '["ALL"]')
        + _ADD.replace('"2024-03"', '"2024-03-09"')
        + _DUTY
        + _DUTY.replace("2024-03", "2024-04")
    )
    assert len(sc.measures) == 6


@pytest.mark.parametrize(
    "body,fragment",
    [
        # regression: accepted, and did nothing
        (
            'kind="subsidy"\ndate="2024-03"\nactor="US"\nstages=[]',
            (
                "field 'measures[0].stages' (subsidy measure, [[measures]] block 1): stages is empty; "
                "omit it for all stages or name at least one; allowed: ['mining'"
            ),
        ),
        (
            'kind="production_quota"\ndate="2024-03"\nactor="CN"\ntonnes_per_year=1e5\ndeposits=[]',
            "deposits is empty; omit it for all deposits or name at least one; allowed: ['bayan_obo'",
        ),
        ('kind="production_halt"\ndate="2024-03"\nactor="CN"\ndeposits=[]', "deposits is empty"),
        ('kind="sourcing_rule"\ndate="2024-03"\nactor="US"\nbanned=[]', "banned is empty"),
        (
            'kind="export_licence"\ndate="2024-03"\nactor="CN"\nelements=[]',
            "elements is empty; name at least one; allowed: ['La'",
        ),
        # regression: 0 was read as false
        (
            'kind="export_licence"\ndate="2024-03"\nactor="CN"\nelements=["Dy"]\ndefense_denial=0',
            "defense_denial: got the number 0; write true or false",
        ),
        (
            'kind="export_licence"\ndate="2024-03"\nactor="CN"\nelements=["Dy"]\nextraterritorial=1',
            "extraterritorial: got the number 1; write true or false",
        ),
        # a TOML date-time is not a date
        (
            'kind="embargo"\ndate=2024-03-04T10:00:00\nactor="CN"\ntargets=["JP"]',
            (
                "field 'measures[0].date' (embargo measure, [[measures]] block 1): got the date-time "
                '2024-03-04T10:00:00; write a date as "YYYY-MM" or "YYYY-MM-DD"'
            ),
        ),
        (
            'kind="embargo"\ndate=202403\nactor="CN"\ntargets=["JP"]',
            "got 202403; write a date in quotes",
        ),
    ],
)
def test_empty_lists_and_degenerate_values_are_refused(body, fragment):
    with pytest.raises(ScenarioError) as err:
        loads_scenario(_HEAD + "[[measures]]\n" + body, "s.toml")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_levers_bool_from_number_is_refused():
    with pytest.raises(ScenarioError, match="'levers.defense_end_use_denial': got the number 1"):
        loads_scenario('name="x"\n[levers]\ndefense_end_use_denial=1')


def test_unquoted_day_dates_are_read_as_dates():
    # regression: `date = 2024-03-04` (a TOML date) gave "Input should be a valid string"
    sc = loads_scenario(
        'name="x"\nstart=2024-01-01\nend=2024-06-30\n[[measures]]\n'
        'kind="embargo"\ndate=2024-03-04\nend=2024-05-01\nactor="CN"\n'
        'targets=["JP"]\n[levers]\ntruce_start=2024-02-01\n'
    )
    quoted = loads_scenario(
        'name="x"\nstart="2024-01-01"\nend="2024-06-30"\n[[measures]]\n'
        'kind="embargo"\ndate="2024-03-04"\nend="2024-05-01"\nactor="CN"\n'
        'targets=["JP"]\n[levers]\ntruce_start="2024-02-01"\n'
    )
    assert sc == quoted and sc.months == 6 and sc.measures[0].date == "2024-03-04"
    assert loads_scenario(sc.to_toml()) == sc


@pytest.mark.parametrize("line", ["start=2024-01", "start = 2024-01   # first month"])
def test_unquoted_month_dates_name_the_line_and_the_fix(line):
    # TOML has no month literal: `start = 2024-01` is not TOML at all
    with pytest.raises(ScenarioError) as err:
        loads_scenario(f'name="x"\n{line}\nend="2024-06"\n', "s.toml")
    assert str(err.value) == (
        "s.toml, line 2: field 'start': the date 2024-01 is not quoted; "
        'write start = "2024-01" (dates are "YYYY-MM" or '
        '"YYYY-MM-DD")'
    )


def test_unquoted_month_in_a_table_names_the_dotted_field():
    # a new user's report (session 15): an unquoted levers.start was named field 'start'
    with pytest.raises(ScenarioError) as err:
        loads_scenario('name="x"\n[levers]\nstart = 2025-06\n', "s.toml")
    assert str(err.value) == (
        "s.toml, line 3: field 'levers.start': the date 2025-06 is not quoted; "
        'write start = "2025-06" (dates are "YYYY-MM" or "YYYY-MM-DD")'
    )
    two = 'kind = "tariff"\nactor = "US"\ntargets = ["CN"]\nrate = 0.1\n'
    with pytest.raises(ScenarioError) as err:
        loads_scenario(
            f'name="x"\n[[measures]]\ndate = "2025-01"\n{two}[[measures]] # b\n'
            f"date = 2025-06\n{two}",
            "s.toml",
        )
    assert str(err.value).startswith("s.toml, line 9: field 'measures[1].date': the date 2025-06")


def test_byte_order_mark_is_accepted_by_the_python_api(tmp_path):
    # regression: a scenario saved with a UTF-8 BOM was "not valid TOML" in load_scenario
    text = 'name="x"\nstart="2024-01"\nend="2024-06"\n' + _DUTY
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_scenario(p) == loads_scenario(text) == loads_scenario("\ufeff" + text)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name="caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.toml is not UTF-8 text \(byte at offset 9\)"):
        load_scenario(bad)


# ------------------------------------------------------------- property test: one broken field
# A valid scenario; each entry of SCENARIO_BREAKS replaces one value (TOML text) in it.
SCENARIO_TABLES = {
    "top": {
        "name": '"x"',
        "base_year": "2024",
        "start": '"2024-01"',
        "end": '"2024-12"',
        "firms": "200",
    },
    "parameters": {"final_demand_elasticity": "-0.25"},
    "levers": {"start": '"2024-02"', "us_tariff_on_china": "0.5", "defense_end_use_denial": "true"},
    "measures": [
        {
            "kind": '"tariff"',
            "date": '"2024-03"',
            "actor": '"US"',
            "targets": '["CN"]',
            "rate": "0.1",
            "mode": '"add"',
            "goods": '["magnets"]',
        },
        {
            "kind": '"export_licence"',
            "date": '"2024-04-04"',
            "actor": '"CN"',
            "elements": '["Dy", "Tb"]',
            "approval": "{ default = 0.5 }",
            "defense_denial": "true",
        },
        {
            "kind": '"subsidy"',
            "date": '"2024-05"',
            "actor": '"US"',
            "stages": '["magnets"]',
            "capex_share": "0.3",
        },
        {
            "kind": '"production_halt"',
            "date": '"2024-06"',
            "end": '"2024-08"',
            "actor": '"CN"',
            "deposits": '["ionic_clay"]',
            "share": "0.5",
        },
    ],
}

#: (table, index or None, key, bad TOML value, text the message must contain)
SCENARIO_BREAKS = [
    ("top", None, "base_year", "2011", "base_year"),
    ("top", None, "start", "2024-01", "field 'start'"),
    ("top", None, "start", '"2024-13"', "start"),
    ("top", None, "end", '"2023-12"', "field 'end': 2023-12 is before start 2024-01; allowed: a"),
    ("top", None, "firms", '"200"', "firms"),
    ("top", None, "firms", "3", "firms"),
    ("top", None, "colour", '"red"', "unknown key 'colour'"),
    ("parameters", None, "final_demand_elasticity", "5.0", "parameters.final_demand_elasticity"),
    ("parameters", None, "final_demand_elasticity", '"-0.2"', "final_demand_elasticity"),
    ("levers", None, "us_tariff_on_china", "-1.0", "levers.us_tariff_on_china"),
    ("levers", None, "defense_end_use_denial", "0", "defense_end_use_denial"),
    ("levers", None, "defense_end_use_denial", '"yes"', "defense_end_use_denial"),
    ("measures", 0, "rate", "-0.1", "measures[0].rate"),
    ("measures", 0, "rate", "nan", "measures[0].rate"),
    ("measures", 0, "mode", '"double"', "measures[0].mode"),
    ("measures", 0, "targets", "[]", "targets is empty"),
    ("measures", 0, "targets", '["Mars"]', "unknown region 'Mars'"),
    ("measures", 0, "goods", "[]", "goods is empty"),
    ("measures", 0, "date", '"2031-01"', "outside the horizon"),
    ("measures", 0, "date", "2024-03-01T08:00:00", "got the date-time"),
    ("measures", 1, "elements", "[]", "elements is empty"),
    ("measures", 1, "elements", '["Xx"]', "unknown element 'Xx'"),
    ("measures", 1, "approval", "{ default = 1.5 }", "approval['default'] = 1.5"),
    ("measures", 1, "defense_denial", "0", "defense_denial: got the number 0"),
    ("measures", 1, "kind", '"export_ban"', "allowed kinds"),
    ("measures", 2, "stages", "[]", "stages is empty"),
    ("measures", 2, "stages", '["smelting"]', "unknown stage 'smelting'"),
    ("measures", 2, "capex_share", "1.5", "measures[2].capex_share"),
    ("measures", 3, "deposits", "[]", "deposits is empty"),
    ("measures", 3, "share", "2", "measures[3].share"),
    ("measures", 3, "end", '"2024-05"', "2024-05 is not after the measure's date 2024-06"),
]


def _scenario_text(brk=None) -> str:
    def block(d, key=None, bad=None):
        d = dict(d)
        if key is not None:
            d[key] = bad
        return "".join(f"{k} = {v}\n" for k, v in d.items())

    table, idx, key, bad = brk[:4] if brk else (None, None, None, None)
    text = block(SCENARIO_TABLES["top"], *((key, bad) if table == "top" else ()))
    for t in ("parameters", "levers"):
        text += f"[{t}]\n" + block(SCENARIO_TABLES[t], *((key, bad) if table == t else ()))
    for i, m in enumerate(SCENARIO_TABLES["measures"]):
        hit = table == "measures" and idx == i
        text += "[[measures]]\n" + block(m, *((key, bad) if hit else ()))
    return text


def test_the_unbroken_scenario_is_valid():
    sc = loads_scenario(_scenario_text())
    assert [m.kind for m in sc.measures] == [
        "tariff",
        "export_licence",
        "subsidy",
        "production_halt",
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(SCENARIO_BREAKS))
def test_one_broken_scenario_field_is_named_and_nothing_is_written(tmp_path_factory, brk):
    from typer.testing import CliRunner

    from experiments.cli import app

    d = tmp_path_factory.mktemp("sc")
    f, out = d / "s.toml", d / "out"
    f.write_text(_scenario_text(brk))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert brk[4] in msg and msg.startswith(str(f)) and "\n" not in msg, (brk, msg)
    res = CliRunner().invoke(
        app, ["run", "-s", str(f), "--months", "1", "--no-charts", "--out", str(out)]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output, (brk, res.output)
    assert brk[4] in " ".join(res.output.split()).replace(f"{f} ", f"{f}"), (brk, res.output)
    assert sorted(p.name for p in d.iterdir()) == ["s.toml"]  # nothing written


@pytest.mark.parametrize(
    "body,fragment",
    [
        # values that make a measure do nothing, accepted before
        (
            'kind="tariff"\ndate="2024-03"\nactor="US"\ntargets=["CN"]\nrate=0\nmode="add"',
            'an add tariff of 0 changes nothing; allowed: 0 < rate <= 10 for mode "add"',
        ),
        (
            'kind="export_duty"\ndate="2024-03"\nactor="CN"\nrate=0',
            (
                "field 'measures[0].rate' (export_duty measure, [[measures]] block 1): got 0; allowed: "
                "0 < rate <= 5"
            ),
        ),
        (
            'kind="production_halt"\ndate="2024-03"\nactor="CN"\nshare=0',
            (
                "field 'measures[0].share' (production_halt measure, [[measures]] block 1): got 0; "
                "allowed: 0 < share <= 1"
            ),
        ),
        (
            'kind="subsidy"\ndate="2024-03"\nactor="US"\ncapex_share=0',
            "capex_share = loan_share = equity_share = 0 with lead_time_factor = 1 changes nothing",
        ),
        # a subsidy that names only a loan rate: no grant by default (until session 23 a
        # 30% grant), so it changes nothing and is refused
        (
            'kind="subsidy"\ndate="2024-03"\nactor="US"\nloan_rate=0.01',
            "capex_share = loan_share = equity_share = 0 with lead_time_factor = 1 changes nothing",
        ),
        (
            'kind="subsidy"\ndate="2024-03"\nactor="US"\nloan_share=0.7\nequity_share=0.5',
            "loan_share + equity_share = 1.2 is above 1",
        ),
        (
            'kind="subsidy"\ndate="2024-03"\nactor="US"\ncapex_share=0.3\nfirms=["MP Materails"]',
            "firms: unknown company 'MP Materails' in US (did you mean 'MP Materials'?); "
            "allowed: ['Arnold Magnetic",
        ),
        (
            'kind="price_floor"\ndate="2024-03"\nactor="US"\nfloor_usd_kg=110\nfirms=[]',
            "firms is empty; omit it for every firm in US or name at least one",
        ),
        (
            'kind="price_floor"\ndate="2024-03"\nactor="AU"\nfloor_usd_kg=110\n'
            'firms=["MP Materials"]',
            "firms: unknown company 'MP Materials' in AU; allowed: [",
        ),
        # a range error gives the allowed interval, not one bound
        (
            'kind="tariff"\ndate="2024-03"\nactor="US"\ntargets=["CN"]\nrate=11',
            (
                "field 'measures[0].rate' (tariff measure, [[measures]] block 1): got 11; allowed: "
                "0 <= rate <= 10"
            ),
        ),
    ],
)
def test_measures_that_change_nothing_are_refused_with_the_allowed_values(body, fragment):
    with pytest.raises(ScenarioError) as err:
        loads_scenario(_HEAD + "[[measures]]\n" + body, "s.toml")
    assert fragment in str(err.value) and "\n" not in str(err.value)
    # a set tariff of 0 (free trade, a truce) is meaningful and kept
    assert (
        loads_scenario(
            _HEAD + '[[measures]]\nkind="tariff"\ndate="2024-03"\nactor="US"\n'
            'targets=["CN"]\nrate=0'
        )
        .measures[0]
        .rate
        == 0
    )


def test_parameter_range_errors_give_the_interval():
    with pytest.raises(ScenarioError) as err:
        loads_scenario('name="x"\n[parameters]\nfinal_demand_elasticity=5.0', "s.toml")
    assert str(err.value) == (
        "s.toml: field 'parameters.final_demand_elasticity': got 5.0; "
        "allowed: -1.0 <= final_demand_elasticity <= -0.05"
    )


def test_checks_across_measures_of_an_extends_file_count_the_files_own_blocks(tmp_path):
    """A new user's failing input (session 7): the horizon and duplicate checks of a file that
    extends controls-2025 named its first block measures[31] (the base's 31 measures first)."""
    from abm.scenario import ScenarioError, load_scenario

    block = (
        'extends = "controls-2025"\n[[measures]]\nkind = "tariff"\nid = "{id}"\n'
        'date = "{date}"\nactor = "US"\ntargets = ["CN"]\ngoods = ["magnets"]\nrate = 0.1\n'
    )
    p = tmp_path / "ext.toml"
    p.write_text(block.format(id="mine", date="2099-01"))
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert str(e.value) == (
        f"{p}: field 'measures[0].date' (measure 'mine', [[measures]] block 1): 2099-01 is "
        "outside the horizon; "
        "allowed: a month from "
        "2024-01 to 2035-12 (the horizon)"
    )
    p.write_text(
        block.format(id="mine", date="2025-05")
        + block.format(id="us_fentanyl_1", date="2025-06").split("\n", 1)[1]
    )
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert str(e.value) == (
        f"{p}: field 'measures[1].id' (measure 'us_fentanyl_1', [[measures]] block 2): "
        "'us_fentanyl_1' is used twice (also measures[0]); ids must be unique"
    )


def test_a_misspelt_extends_is_named_first_with_the_right_suggestion(tmp_path):
    # new user's report: 'extend' gave 'name: required field is missing' first and suggested
    # 'end', as 'extends' was not among the allowed keys
    p = tmp_path / "typo.toml"
    p.write_text('extend = "controls-2025"\n[levers]\napproval_rate_us = 0.1\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    first = str(e.value).splitlines()[0]
    assert "unknown key 'extend'; did you mean 'extends'?" in first
    assert "'extends'" in first.split("allowed keys:")[1]


def test_pair_parameters_can_be_set_as_in_a_scenario_file():
    """A new user's report (session 13): `--set parameters.lead_time_mine_years=[8.0, 12.0]`
    was refused as an unknown key although scenario files accept it; a reversed pair is
    refused with the rule."""
    from abm.scenario import ScenarioError, apply_overrides, load_scenario

    sc = apply_overrides(
        load_scenario("controls-2025"), {"parameters.lead_time_mine_years": [8.0, 12.0]}
    )
    assert sc.parameters.lead_time_mine_years == (8.0, 12.0)
    with pytest.raises(ScenarioError, match="low <= high"):
        apply_overrides(
            load_scenario("controls-2025"), {"parameters.lead_time_mine_years": [12.0, 8.0]}
        )


@pytest.mark.parametrize(
    "value,says",
    [
        (float("nan"), "got nan; allowed: 2.0 <= armington_elasticity <= 10.0"),
        (float("inf"), "got inf; allowed: 2.0 <= armington_elasticity <= 10.0"),
        (True, "got true; write a number (allowed: 2.0 <= armington_elasticity <= 10.0)"),
    ],
)
def test_a_non_number_names_the_full_key_and_the_interval(value, says):
    """A new user's report (session 13): nan and inf gave pydantic's 'Input should be a finite
    number' without the interval, and true named the field as 'parameters'."""
    from abm.scenario import ScenarioError, apply_overrides, load_scenario

    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario("controls-2025"), {"parameters.armington_elasticity": value})
    assert f"field 'parameters.armington_elasticity': {says}" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_fraction_for_a_whole_number_names_the_interval():
    """A new user's report (session 19): 2.5 for an integer parameter gave pydantic's 'Input
    should be a valid integer, got a number with a fractional part' without the interval."""
    from abm.scenario import ScenarioError, apply_overrides, load_scenario

    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario("controls-2025"), {"parameters.licence_validity_months": 2.5})
    assert (
        "field 'parameters.licence_validity_months': got 2.5, not a whole number; allowed: a "
        "whole number, 1 <= licence_validity_months <= 12"
    ) in str(err.value)


def test_an_override_may_set_a_field_of_a_measure_by_its_id():
    """``measures.<id>.<field>`` (session 19): set like a parameter and checked as in a
    scenario file; one line for a bad id, field or value."""
    from abm.scenario import (
        ScenarioError,
        apply_overrides,
        load_scenario,
        measure_field_paths,
        measure_field_value,
    )

    sc = load_scenario("embargo-2010")
    key = "measures.cn_mining_quota_2011_heavy.leakage"
    assert key in measure_field_paths(sc)
    assert "measures.cn_mining_quota_2011_heavy.kind" not in measure_field_paths(sc)
    out = apply_overrides(sc, {key: 0.5})
    assert measure_field_value(out, key) == 0.5 and measure_field_value(sc, key) == 0.7
    other = "measures.cn_mining_quota_2011_light.tonnes_per_year"
    assert measure_field_value(out, other) == measure_field_value(sc, other) == 80400
    for bad, says in (
        ({key: 1.5}, "got 1.5; allowed: 0 <= leakage <= 1"),
        (
            {"measures.cn_mining_quota_2011_hevy.leakage": 0.5},
            "unknown measure id 'cn_mining_quota_2011_hevy'; did you mean "
            "'cn_mining_quota_2011_heavy' or 'cn_mining_quota_2013_heavy'?",
        ),
        (
            {"measures.cn_mining_quota_2011_heavy.leakge": 0.5},
            "unknown field 'leakge'; did you mean 'leakage'?",
        ),
        (
            {"measures.cn_mining_quota_2011_heavy.kind": "tariff"},
            "field 'kind' cannot be overridden",
        ),
        ({"measures.leakage": 0.5}, "a measure's field is written measures.<id>.<field>"),
    ):
        with pytest.raises(ScenarioError) as err:
            apply_overrides(sc, bad, "--set")
        assert says in str(err.value) and "\n" not in str(err.value)


def test_an_earlier_end_that_cuts_off_a_measure_points_to_months():
    """A new user's `--set end=2011-06` on embargo-2010 (session 20): the one-line error
    names the measure outside the shorter horizon and says how to run part of it."""
    from abm.scenario import ScenarioError, apply_overrides, load_scenario

    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario("embargo-2010"), {"end": "2011-06"}, "--set")
    msg = str(err.value)
    assert "is outside the horizon" in msg and "use --months" in msg and "\n" not in msg
    # an end that keeps every measure is accepted
    assert apply_overrides(load_scenario("embargo-2010"), {"end": "2016-06"}).end == "2016-06"


# ------------------------------------- horizon and date errors of a measure: one line each
#: a new user's report (session 27): "field 'measures[1].date' (tariff measure): 2036-01 is
#: outside the horizon" named no [[measures]] block although the field checks do, and
#: "field 'measures[0]' (...): end 2025-01 must be after date 2025-03" named neither the
#: field nor what is allowed
_HORIZON = "allowed: a month from 2024-01 to 2035-12 (the horizon)"
_TARIFF = 'kind = "tariff"\nactor = "US"\ntargets = ["CN"]\nrate = 0.1\n'
_STOCKPILE = 'kind = "stockpile"\nactor = "US"\ngoods = ["ox_Dy"]\ntarget_months = 2\n'


@pytest.mark.parametrize(
    "blocks,expected",
    [
        (  # a date before the start, in the first block
            ['date = "2023-12"\n' + _TARIFF],
            "field 'measures[0].date' (tariff measure, [[measures]] block 1): 2023-12 is "
            f"outside the horizon; {_HORIZON}",
        ),
        (  # a date after the end, in the second block, of a measure with an id
            ['date = "2025-03"\n' + _TARIFF, 'id = "late"\ndate = "2036-01"\n' + _TARIFF],
            "field 'measures[1].date' (measure 'late', [[measures]] block 2): 2036-01 is "
            f"outside the horizon; {_HORIZON}",
        ),
        (  # a stockpile held at the start dated elsewhere
            [
                'date = "2025-03"\n' + _TARIFF,
                'date = "2025-03"\nheld_at_start = true\n' + _STOCKPILE,
            ],
            "field 'measures[1].date' (stockpile measure, [[measures]] block 2): 2025-03 is not "
            "the start 2024-01; a stockpile held_at_start was built before the run, so it is "
            'dated at the start; allowed: "2024-01", or held_at_start = false to buy it from its '
            "date",
        ),
        (  # an end before the date
            ['date = "2025-03"\n' + _TARIFF, 'date = "2025-03"\nend = "2025-01"\n' + _TARIFF],
            "field 'measures[1].end' (tariff measure, [[measures]] block 2): 2025-01 is not after "
            "the measure's date 2025-03; allowed: a month after 2025-03 (end is the first month "
            "no longer in force), or leave end out",
        ),
        (  # an end in the month of the date: in force for no month
            ['date = "2025-03"\nend = "2025-03-15"\n' + _TARIFF],
            "field 'measures[0].end' (tariff measure, [[measures]] block 1): 2025-03-15 is not "
            "after the measure's date 2025-03; allowed: a month after 2025-03 (end is the first "
            "month no longer in force), or leave end out",
        ),
    ],
)
def test_a_measure_date_error_names_file_block_field_and_range_in_one_line(
    tmp_path, blocks, expected
):
    p = tmp_path / "dates.toml"
    p.write_text('name = "dates"\n' + "".join("[[measures]]\n" + b for b in blocks))
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    assert str(err.value) == f"{p}: {expected}"


def test_a_base_measure_outside_an_extends_files_horizon_is_named_as_the_bases():
    # an extends file's shorter horizon cuts off a measure of the base scenario: that measure
    # is in no block of the file, so the line names it as the base's (docs/scenarios.md)
    from abm.timeline import to_month

    base = load_scenario("controls-2025")
    i, m = next(
        (i, m) for i, m in enumerate(base.measures) if to_month(m.date) > to_month("2025-06")
    )
    with pytest.raises(ScenarioError) as err:
        loads_scenario('extends = "controls-2025"\nend = "2025-06"\n', "ext.toml")
    assert str(err.value) == (
        f"ext.toml: the base scenario's field 'measures[{i}].date' (measure '{m.id}'): {m.date} "
        "is outside the horizon; allowed: a month from 2024-01 to 2025-06 (the horizon); the "
        "file's end cuts off a measure of the base scenario: to run only part of it, leave end "
        "out and use --months (ree run) or months (sweeps)"
    )


def test_an_extends_files_own_measure_after_its_end_gets_no_advice_on_the_base():
    # the advice on a shorter end is for the base's measures; a measure of the file itself
    # dated after the file's end is that measure's mistake, named by its block alone
    text = (
        'extends = "baseline"\nend = "2030-12"\n[[measures]]\nkind = "tariff"\n'
        'date = "2031-03"\nactor = "US"\ntargets = ["CN"]\nrate = 0.25\n'
    )
    with pytest.raises(ScenarioError) as err:
        loads_scenario(text, "ext.toml")
    assert "[[measures]] block 1" in str(err.value)
    assert "cuts off a measure of the base" not in str(err.value)


@pytest.mark.parametrize(
    "override,expected",
    [
        (  # an earlier end cuts off a measure: the block of the shipped file, and the advice
            {"end": "2011-06"},
            "field 'measures[11].date' (measure 'cn_mining_quota_2013_light', [[measures]] "
            "block 12): 2013-01 is outside the horizon; allowed: a month from 2009-01 to "
            "2011-06 (the horizon); an earlier end cuts off a measure of the scenario: to run "
            "only part of it, keep end and use --months (ree run) or months (sweeps)",
        ),
        (  # a measure's date set before the start
            {"measures.cn_quota_2012.date": "2008-06"},
            "field 'measures[13].date' (measure 'cn_quota_2012', [[measures]] block 14): "
            "2008-06 is outside the horizon; allowed: a month from 2009-01 to 2016-12 (the "
            "horizon)",
        ),
        (  # a measure's date set after its end: no advice about an earlier end (none was set)
            # but which key to set with the date (session 28: a new user read the line as
            # blaming end, which they had not changed)
            {"measures.cn_halt_japan_2010.date": "2020-01"},
            "field 'measures[7].end' (measure 'cn_halt_japan_2010', [[measures]] block 8): "
            "2010-11-20 is not after the measure's date 2020-01; allowed: a month after 2020-01 "
            "(end is the first month no longer in force), or leave end out; "
            "measures.cn_halt_japan_2010.date was set past the measure's end: set "
            "measures.cn_halt_japan_2010.end too",
        ),
        (  # another measure's date moved: the advice names only the measure at fault
            {
                "measures.cn_quota_2012.date": "2012-02",
                "measures.cn_halt_japan_2010.end": "2010-01",
            },
            "field 'measures[7].end' (measure 'cn_halt_japan_2010', [[measures]] block 8): "
            "2010-01 is not after the measure's date 2010-09-21; allowed: a month after "
            "2010-09-21 (end is the first month no longer in force), or leave end out",
        ),
    ],
)
def test_a_date_override_error_names_the_shipped_files_block(override, expected):
    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario("embargo-2010"), override, "--set")
    assert str(err.value) == f"embargo-2010 with --set: {expected}"
