"""`ree run` end to end and its handling of bad input."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.cli import app

runner = CliRunner()


def test_ree_run_writes_outputs(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        ["run", "--scenario", "controls-2025", "--months", "4", "--seed", "1", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["step"].max() == 3
    man = json.loads((out / "manifest.json").read_text())
    assert (
        man["scenario"] == "controls-2025" and man["seed"] == 1 and len(man["scenario_hash"]) == 64
    )
    assert man["scenario_source"] == "shipped"
    assert (out / "prices.png").stat().st_size > 1000
    assert "NdPr price" in res.output


def test_bad_scenario_file_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ncolour = "red"\n')
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--scenario", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "unknown key 'colour'" in res.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_out_folder_with_user_files_is_refused_and_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    res = runner.invoke(app, ["run", "--months", "2", "--out", str(out)])
    assert res.exit_code == 2
    assert "not an earlier output of this command" in res.output
    assert (out / "thesis.docx").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_out_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    for out in (".", ""):
        res = runner.invoke(app, ["run", "--months", "2", "--out", out])
        assert res.exit_code == 2, out
    assert (tmp_path / "keep.txt").exists()


def test_rerun_replaces_earlier_run_output(tmp_path):
    out = tmp_path / "run"
    for seed in ("1", "2"):
        res = runner.invoke(
            app, ["run", "--months", "2", "--seed", seed, "--out", str(out), "--no-charts"]
        )
        assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2


def test_bad_seed_and_months_are_clean_errors(tmp_path):
    res = runner.invoke(app, ["run", "--seed", "-1", "--out", str(tmp_path / "a")])
    assert (
        res.exit_code == 2
        and "--seed: -1 is out of range (allowed: an integer from 0 to" in res.output
    )
    res = runner.invoke(app, ["run", "--months", "500", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "horizon" in res.output
    # one message for both ends (0 used to get a different, boxed usage error)
    res = runner.invoke(app, ["run", "--months", "0", "--out", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert "--months must be a whole number from 1 to the scenario horizon" in " ".join(
        res.output.split()
    )
    assert not any(tmp_path.iterdir())


def test_user_files_added_to_an_earlier_output_are_never_deleted(tmp_path):
    # regression: only top-level names were checked, so a user's file in a subfolder of an
    # earlier `ree reproduce` output (or a look-alike folder with a manifest) was deleted
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "--months", "2", "--out", str(out), "--no-charts"])
    assert res.exit_code == 0, res.output
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("precious")
    res = runner.invoke(app, ["run", "--months", "2", "--out", str(out), "--no-charts"])
    assert res.exit_code == 2 and "not an earlier output of this command" in res.output
    assert "files it did not write: notes" in res.output.replace("\n", "")
    assert (out / "notes" / "mine.txt").read_text() == "precious"
    # the reproduce kind of output (any layout): a file the inventory does not list
    from experiments.runs import OutputError, check_output_folder, publish_folder

    tmp = tmp_path / ".staging"
    (tmp / "figures").mkdir(parents=True)
    (tmp / "manifest.json").write_text("{}")
    (tmp / "figures" / "fig1.png").write_text("png")
    rep = tmp_path / "rep"
    publish_folder(tmp, rep)
    assert check_output_folder(rep, allowed=None) == rep.resolve()
    (rep / "figures" / "my_annotated_fig.txt").write_text("mine")
    with pytest.raises(OutputError, match="files it did not write"):
        check_output_folder(rep, allowed=None)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "manifest.json").write_text("{}")
    (fake / "timeseries.parquet").write_text("my own table")
    res = runner.invoke(app, ["run", "--months", "2", "--out", str(fake), "--no-charts"])
    assert res.exit_code == 2 and "not an earlier output of this command" in res.output
    assert (fake / "timeseries.parquet").read_text() == "my own table"


def test_staging_folders_of_killed_runs_are_removed(tmp_path):
    # regression: `kill -9` during writing left a hidden `.out.XXXX` folder behind for good
    import json
    import os
    import socket
    import subprocess
    import sys

    from experiments.runs import INVENTORY, STAGING_OWNER, new_staging_folder, publish_folder

    out = tmp_path / "run"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = socket.gethostname()

    def staging(name, owner):
        p = tmp_path / f".run.{name}"
        p.mkdir()
        (p / "timeseries.parquet").write_text("partial")
        if owner is not None:
            (p / STAGING_OWNER).write_text(json.dumps(owner))
        return p

    stale = staging("stale", {"pid": int(dead.stdout), "host": host})
    live = staging("live", {"pid": os.getpid(), "host": host})
    other_host = staging("remote", {"pid": int(dead.stdout), "host": host + "-elsewhere"})
    unmarked = staging("unmarked", None)
    tmp = new_staging_folder(out)
    assert not stale.exists()
    assert live.exists() and other_host.exists() and unmarked.exists()
    assert json.loads((tmp / STAGING_OWNER).read_text()) == {"pid": os.getpid(), "host": host}
    (tmp / "summary.json").write_text("{}")
    publish_folder(tmp, out)
    assert sorted(p.name for p in out.iterdir()) == [INVENTORY, "summary.json"]


def test_sigterm_while_writing_leaves_nothing_behind(tmp_path, monkeypatch):
    # regression: SIGTERM (timeout, Slurm, docker stop) killed `ree run` while it wrote its
    # files and left the hidden staging folder behind
    import os
    import signal

    import experiments.runs as runs

    def killed(ts, folder, *_title):
        os.kill(os.getpid(), signal.SIGTERM)

    old = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(runs, "charts", killed)
    res = runner.invoke(
        app, ["run", "-s", "baseline", "--months", "2", "--out", str(tmp_path / "out")]
    )
    assert res.exit_code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    assert "stopped by SIGTERM" in res.output
    assert signal.getsignal(signal.SIGTERM) == old  # the handler is only set during the run


def test_error_messages_keep_their_brackets(tmp_path):
    # regression: rich markup swallowed "[measures]" in "[[measures]] block 1"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name="x"\n[[measures]]\nkind="tariff"\ndate="2025-01"\nactor="US"\n'
        'targets=["CN"]\nrate=-1\n'
    )
    res = CliRunner().invoke(app, ["run", "-s", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "[[measures]] block 1" in " ".join(res.output.split())


def test_out_under_a_file_is_refused_before_running(tmp_path):
    # regression (fresh-user check, session 4): `--out afile/sub` ran the whole model, then
    # failed with "cannot create the output folder (File exists)"
    from experiments.runs import OutputError, check_output_folder

    afile = tmp_path / "afile"
    afile.write_text("mine")
    with pytest.raises(OutputError, match="afile is a file, not a folder"):
        check_output_folder(afile / "sub" / "deeper")
    assert afile.read_text() == "mine"


def test_refusal_lists_every_name_or_says_how_many_more(tmp_path):
    from experiments.runs import OutputError, check_output_folder

    out = tmp_path / "out"
    out.mkdir()
    for k in range(11):
        (out / f"f{k:02d}.txt").write_text("x")
    with pytest.raises(OutputError, match=r"f07\.txt and 3 more"):
        check_output_folder(out)


def test_ctrl_c_says_what_happened(tmp_path, monkeypatch):
    # fresh-user check, session 4: Ctrl-C exited 130 without a word
    import experiments.runs as runs

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "run_to_folder", interrupted)
    res = runner.invoke(app, ["run", "--months", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 130
    assert res.output.strip().splitlines()[-1] == (
        "ree run: interrupted (Ctrl-C); the partial output was removed and --out is as it was"
    )  # names the command, as the errors do (it said "ree:")
    assert not (tmp_path / "o").exists()


def test_app_port_out_of_range_or_busy_is_one_line(tmp_path):
    import socket

    res = runner.invoke(app, ["app", "--port", "99999"])
    assert res.exit_code == 2 and "--port" in res.output and "Traceback" not in res.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        res = runner.invoke(app, ["app", "--port", str(busy)])
    assert res.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{busy}" in res.output.replace("\n", "")


def test_manifest_records_a_user_file_under_a_shipped_name(tmp_path):
    # fresh-user check, session 4: a user file named "controls-2025" was recorded as the
    # shipped scenario (only the hash differed)
    from abm.scenario import load_scenario
    from experiments.runs import run_to_folder

    mine = tmp_path / "mine.toml"
    mine.write_text(
        load_scenario("baseline").model_copy(update={"name": "controls-2025"}).to_toml()
    )
    run_to_folder(mine, tmp_path / "o", months=1, progress=False, make_charts=False)
    man = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert man["scenario"] == "controls-2025"
    assert man["scenario_source"] == str(mine.resolve())


@pytest.mark.parametrize(
    "body,fragment",
    [
        (
            (
                '[[measures]]\nkind="tariff"\ndate="2024-03"\nactor="US"\ntargets=["CN"]\nrate=0.1\n'
                'mode="add"\n'
            )
            * 2,
            "is given twice",
        ),
        (
            '[[measures]]\nkind="subsidy"\ndate="2024-03"\nactor="US"\nstages=[]\n',
            "stages is empty",
        ),
        (
            (
                '[[measures]]\nkind="export_licence"\ndate="2024-03"\nactor="CN"\nelements=["Dy"]\n'
                "defense_denial=0\n"
            ),
            "defense_denial: got the number 0",
        ),
    ],
)
def test_issue15_scenario_errors_are_clean_and_write_nothing(tmp_path, body, fragment):
    bad = tmp_path / "bad.toml"
    bad.write_text('name="x"\nstart="2024-01"\nend="2024-06"\n' + body)
    res = runner.invoke(
        app, ["run", "-s", str(bad), "--months", "1", "--no-charts", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and fragment in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_startup_imports_stay_light(tmp_path):
    """`ree --help` imports neither pandas, numpy, scipy nor the model; `ree sweep plan`
    neither scipy.optimize nor Mesa and the agents (regression: 3 s and 5 s on 2 cores, the
    import chain abm.scenario -> abm.goods -> abm.data -> pandas + scipy.optimize, and the
    sweep's model handle -> abm.metrics -> agents -> mesa)."""
    import subprocess
    import sys
    from pathlib import Path

    heavy = [
        "pandas",
        "numpy",
        "scipy",
        "scipy.optimize",
        "mesa",
        "agents",
        "pyarrow",
        "abm.model",
        "abm.data",
    ]
    probe = (
        f"import sys\nfrom experiments.cli import app\nsys.argv = {{argv}}\n"
        f"try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    spec = (
        Path(__file__).resolve().parent.parent / "experiments/sweeps/tariff_licence_stockpile.toml"
    )

    def loaded(argv):
        res = subprocess.run(
            [sys.executable, "-c", probe.format(argv=argv)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return res.stdout.strip().splitlines()[-1]

    assert loaded(["ree", "--help"]) == "[]"
    assert loaded(["ree", "sweep", "--help"]) == "[]"
    out = loaded(["ree", "sweep", "plan", str(spec), "--out", str(tmp_path / "runs")])
    assert "'scipy.optimize'" not in out and "'mesa'" not in out and "'agents'" not in out
    assert "'pandas'" in out  # the plan does write design.parquet
    assert (tmp_path / "runs").is_dir()


def test_tables_written_to_a_pipe_are_laid_out_wide(monkeypatch):
    # a new user's report (issue 14): `ree ... | less` wrapped table cells at 80 columns
    import io

    from experiments.terminal import PIPED_WIDTH, output_width

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width(io.StringIO()) == PIPED_WIDTH == 200
    assert output_width(Tty()) is None  # a terminal: rich measures it
    monkeypatch.setenv("COLUMNS", "100")
    assert output_width(io.StringIO()) is None  # the user's COLUMNS wins


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["reproduce", "--help"],
        ["sweep", "--help"],
        ["sweep", "run", "--help"],
        ["compare", "--help"],
    ],
)
def test_help_lists_help_as_a_flag_not_a_bool_value(args):
    # typer shows a flag's type as "<bool>" unless its metavar is empty; our flags set it,
    # and the groups set it on every command's --help (session 30's new-user check found
    # "--help <bool>" in every command's help)
    res = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "--help" in ln)
    assert "<bool>" not in line and "Show this message" in line, line
