"""Small messages a new user met: a manifest.json of {} refused naming its missing keys,
the levers.start refusal naming the run's actual last month, and '1 run is identical'."""

from __future__ import annotations

import json

import pytest

from experiments.labels import count_text
from experiments.run_files import RunFolderError, read_run_json
from experiments.runs import run_to_folder


def test_an_empty_manifest_is_refused_naming_the_missing_keys(tmp_path):
    p = tmp_path / "manifest.json"
    p.write_text("{}")
    with pytest.raises(RunFolderError) as err:
        read_run_json(p, "RUN_B", "run ree run again", ("scenario", "seed", "months"))
    assert str(err.value) == (
        f"RUN_B {p}: lacks the keys 'scenario', 'seed', 'months'; run ree run again"
    )
    p.write_text(json.dumps({"scenario": "baseline", "seed": 0}))
    with pytest.raises(RunFolderError, match="lacks the key 'months'; "):
        read_run_json(p, "RUN_B", "x", ("scenario", "seed", "months"))
    assert read_run_json(p, "RUN_B", "x", ("scenario", "seed")) == {
        "scenario": "baseline",
        "seed": 0,
    }


def test_levers_start_refusal_names_the_runs_actual_last_month(tmp_path):
    # controls-2025 starts 2024-01: 12 months end in 2024-12, not 2025-01
    with pytest.raises(ValueError) as err:
        run_to_folder(
            "controls-2025",
            tmp_path / "out",
            months=12,
            overrides={"levers.approval_rate_us": 0.1},
            progress=False,
        )
    msg = str(err.value)
    assert msg.startswith(
        "levers.start 2025-04 comes after the run's last month, 2024-12 (12 months from "
        "2024-01), so the levers set (approval_rate_us) would never apply; run at least "
        "16 months"
    ), msg
    assert not (tmp_path / "out").exists()


def test_count_text_singular_and_plural():
    assert [count_text(n, "run") for n in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]
    assert count_text(1, "replicate", "replicates") == "1 replicate"


def test_sweep_plan_note_on_identical_runs_is_singular_for_one():
    from experiments.sweep.runner import identical_runs_note

    assert identical_runs_note(0) is None
    assert identical_runs_note(1) == "1 run is identical to another (same id) and run once"
    assert identical_runs_note(3) == "3 runs are identical to others (same id) and run once"


def test_python_m_names_the_program_ree(tmp_path):
    # under `python -m experiments.cli` click names the program after the interpreter
    # ("ree -m experiments.cli run: error: ..." until session 16); messages say `ree run`
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", "nosuch"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode != 0
    assert out.stderr.startswith("ree run: error: invalid scenario: unknown scenario 'nosuch'")


def test_an_unlabelled_measure_is_logged_with_the_fields_the_scenario_set():
    # a user's measure without a label used to be logged as "US tariff: tariff", which does
    # not tell two tariffs apart (session 30's new-user check); a label still wins
    from abm.policy import _event_text
    from abm.scenario import loads_scenario

    block = '[[measures]]\nkind = "tariff"\ndate = "2026-03"\nactor = "US"\ntargets = ["CN"]\n'
    text = f'extends = "baseline"\n{block}rate = 0.25\nmode = "add"\n'
    m = loads_scenario(text, "x.toml").measures[-1]
    assert _event_text(m) == "US tariff: targets CN; rate 0.25; mode add"
    labelled = loads_scenario(f'{text}label = "25 points more"\n', "x.toml").measures[-1]
    assert _event_text(labelled) == "US tariff: 25 points more"
