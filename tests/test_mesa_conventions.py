"""RareEarthModel follows Mesa's conventions: ``mesa.batch_run`` with ``seed=None``,
``running`` False at the end of the run, levers and parameters as keywords, Mesa's ``steps``
as the step counter."""

import math
import warnings

import mesa
import numpy as np
import pytest

from abm.metrics import headline_reporters
from abm.model import RareEarthModel
from abm.outcomes import evaluate
from tests.conftest import make_scenario

# three months with a US tariff from the second month (an event logged inside a step)
SHORT = make_scenario(
    [
        {
            "kind": "tariff",
            "date": "2024-02",
            "actor": "US",
            "targets": ["CN"],
            "rate": 0.5,
            "id": "us-tariff",
        }
    ],
    months_end="2024-03",
    name="short",
)


def test_batch_run_two_iterations_one_row_per_step():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa deprecates iterations=
        rows = mesa.batch_run(
            RareEarthModel,
            parameters={"scenario": [SHORT], "substitution_speed": [1.0, 2.0]},
            iterations=2,
            data_collection_period=1,
            display_progress=False,
        )
    # default max_steps (1000): the runs stop at the 3-month horizon because running goes False
    assert len(rows) == 2 * 2 * 3
    assert sorted((r["iteration"], r["substitution_speed"], r["Step"]) for r in rows) == [
        (i, s, k) for i in (0, 1) for s in (1.0, 2.0) for k in (1, 2, 3)
    ]
    assert {r["seed"] for r in rows} == {None}
    reporters = set(headline_reporters())
    assert reporters and all(reporters <= set(r) for r in rows)
    # the headline series are numbers (NdPr oxide price in China, USD/kg, is positive)
    price = [c for c in reporters if "price" in c.lower()]
    assert price and all(r[price[0]] > 0 for r in rows)


def test_running_false_at_the_horizon_and_run_model_stops_there():
    m = RareEarthModel(SHORT, seed=0)
    assert m.running and m.months == 3
    m.step()
    m.step()
    assert m.running and m.steps == 2
    m.step()
    assert not m.running and m.steps == 3
    m2 = RareEarthModel(SHORT, seed=0, months=2)
    m2.run_model()  # Mesa's loop: while running: step()
    assert m2.steps == 2 and not m2.running
    assert len(m2.headline_frame()) == 2


def test_steps_is_mesas_counter_and_dates_follow_it():
    m = RareEarthModel(SHORT, seed=0)
    assert (m.steps, m.month_index, str(m.date)) == (0, 0, "2024-01")
    m.step()
    assert (m.steps, m.month_index, str(m.date)) == (1, 1, "2024-02")
    m.step()
    ts = m.timeseries()
    # rows of the first step carry step 0 and the first month, as before Mesa's counter
    assert sorted(ts["step"].unique().tolist()) == [0, 1]
    assert sorted(ts["date"].astype(str).str[:7].unique().tolist()) == ["2024-01", "2024-02"]
    ev = m.events_frame()
    # events logged inside a step carry that step's index and month
    assert ev["date"].tolist() == [str(m.start + int(s)) for s in ev["step"]]
    assert {0, 1} <= set(ev["step"])
    tariff = ev[ev["text"].str.startswith("US tariff")]
    assert tariff[["date", "step"]].values.tolist() == [["2024-02", 1]]
    assert list(m.headline_frame().index) == ["2024-01", "2024-02"]


def test_seed_none_is_drawn_from_the_model_generator_and_recorded():
    a = RareEarthModel(SHORT, seed=None, months=2).run()
    b = RareEarthModel(SHORT, seed=None, months=2)
    assert isinstance(a.seed, int) and a.seed != b.seed  # fresh OS entropy each time
    again = RareEarthModel(SHORT, seed=np.random.SeedSequence(a.seed), months=2).run()
    assert again.timeseries().equals(a.timeseries())


def test_levers_and_parameters_as_keywords():
    m = RareEarthModel(
        SHORT,
        seed=0,
        substitution_speed=2.0,
        armington_elasticity=3.5,
        **{"parameters.licence_review_months": 2.0},
    )
    assert m.levers.substitution_speed == 2.0
    assert m.params.armington_elasticity == 3.5
    assert m.params.licence_review_months == 2.0
    assert m.levers.licence_review_months is None
    # a keyword is validated like a scenario file: bounds are named
    with pytest.raises(ValueError, match="substitution_speed"):
        RareEarthModel(SHORT, seed=0, substitution_speed=-1.0)


def test_unknown_keyword_is_one_line_naming_the_allowed_ones():
    with pytest.raises(TypeError) as err:
        RareEarthModel(SHORT, seed=0, tarif=1.0)
    text = str(err.value)
    assert "\n" not in text and "'tarif'" in text
    assert "did you mean 'us_tariff_on_china' or 'levers.us_tariff_on_china'?" in text
    assert "docs/ODD.md sections 6 and 8" in text
    # a misspelt name gets a suggestion, not a list of 246 names (a new user's report)
    with pytest.raises(TypeError, match="did you mean 'approval_rate_us'") as err:
        RareEarthModel(SHORT, seed=0, approval_rate_uss=0.1)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
    with pytest.raises(
        TypeError, match="levers.licence_review_months and parameters.licence_review_months"
    ):
        RareEarthModel(SHORT, seed=0, licence_review_months=2.0)
    with pytest.raises(TypeError, match="given twice"):
        RareEarthModel(
            SHORT, seed=0, overrides={"levers.substitution_speed": 2.0}, substitution_speed=3.0
        )


def test_a_run_of_no_months_is_refused_and_a_short_runs_nan_outcomes_are_named():
    # a new user's report (session 27): months=0 was accepted by the API (the CLI refuses
    # it) and evaluate() crashed on the empty run; a short run's outcomes of later years
    # came back NaN without a word
    with pytest.raises(ValueError, match="months must be a whole number from 1 to") as err:
        RareEarthModel(SHORT, seed=0, months=0)
    assert "run longer" not in str(err.value)  # the advice is for a run past the horizon
    with pytest.raises(ValueError, match="to run longer, extend the scenario's end"):
        RareEarthModel(SHORT, seed=0, months=4)
    with pytest.warns(UserWarning, match=r"NaN in this run of 2 months .*'china_content_us_2030'"):
        values, _ = evaluate("controls-2025", seed=0, months=2, outcomes=["china_content_us_2030"])
    assert math.isnan(values["china_content_us_2030"])


def test_a_broken_data_table_is_reported_as_itself_by_the_api(tmp_path, monkeypatch):
    # a new user's report (session 27): with a firms.csv row in an unknown region the API
    # blamed three measures of controls-2025.toml in 16 lines, where ree run named the table
    import shutil
    from pathlib import Path

    from abm.data import DataError

    src = Path(__file__).resolve().parents[1] / "abm" / "data"
    for f in src.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    firms = (tmp_path / "firms.csv").read_text().splitlines()
    firms[1] = firms[1].replace(",mining,CN,", ",mining,XX,", 1)
    assert ",XX," in firms[1]
    (tmp_path / "firms.csv").write_text("\n".join(firms) + "\n")
    monkeypatch.setenv("REE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as err:
        RareEarthModel("controls-2025", seed=0, months=1)
    text = str(err.value)
    assert "\n" not in text and "firms.csv" in text and "unknown region 'XX'" in text
