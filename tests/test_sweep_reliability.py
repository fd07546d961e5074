"""Reliability of `ree sweep` (issue 15): bad specs and store files refused up front with one
message naming the file and field (no traceback, nothing written), a cap on the plan size, one
driver per store, a store folder of the wrong type refused before any run, and no process left
behind when the driver is SIGKILLed. Each failing input found is kept as a regression case."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweep_toy_models import write_toy_spec
from typer.testing import CliRunner

from experiments.sweep import RunStore, plan, run
from experiments.sweep.cli import sweep_app
from experiments.sweep.design import check_plan_size
from experiments.sweep.spec import MAX_RUNS, SpecError, load_spec, parse_spec, read_toml
from experiments.sweep.store import StoreBusyError, StoreError

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("toy_models_importable")


@pytest.fixture(autouse=True)
def _no_toy_sleep(monkeypatch):
    monkeypatch.setenv("SWEEP_TOY_SLEEP", "0")


def _cli(*args):
    return CliRunner().invoke(sweep_app, [str(a) for a in args])


def _refused(r, code: int) -> str:
    """The single error message of a refused command (exit ``code``, no traceback)."""
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    assert r.output.count("error:") == 1, r.output
    return r.output


def _small(tmp_path, **kw):
    kw.setdefault("replicates", 1)
    kw.setdefault("design", 'method = "factorial"\nlevels = 2')
    return write_toy_spec(tmp_path / "s.toml", **kw)


# ----------------------------------------------------------------------------- store files
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("[]", "it holds an array, not an object"),
        ("3", "it holds a number, not an object"),
        ('{"invocations": 3}', "it has 'invocations' that is not a list of objects"),
        ('{"invocations": [1, 2]}', "it has 'invocations' that is not a list of objects"),
    ],
)
def test_provenance_of_the_wrong_shape_is_named(tmp_path, text, what):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    assert run(spec, out, progress=False, max_runs=4).ok == 4
    (store / "provenance.json").write_text(text)  # issue 15: `[]` gave AttributeError
    before = sorted(p.name for p in (store / "results").iterdir())
    for cmd in ("status", "run"):
        msg = _refused(_cli(cmd, spec, "--out", out), 1)
        assert f"{store / 'provenance.json'} is JSON of the wrong shape ({what}" in msg
        assert "delete it (the results are kept, the history is lost) and rerun" in msg
    assert sorted(p.name for p in (store / "results").iterdir()) == before
    assert (store / "provenance.json").read_text() == text


@pytest.mark.parametrize("text", ["[]", '{"spec_hash": 5}'])
def test_spec_json_of_the_wrong_shape_is_named(tmp_path, text):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    assert plan(spec, out).created
    (store / "spec.json").write_text(text)
    msg = _refused(_cli("status", spec, "--out", out), 1)
    assert f"{store / 'spec.json'} is JSON of the wrong shape" in msg


def test_a_folder_of_the_wrong_type_is_refused_before_any_run(tmp_path):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    assert plan(spec, out).created
    n_inv = len(store.joinpath("provenance.json").read_text().split('"command"'))
    (store / "results").write_text("not a folder")  # issue 15: found after every run
    t0 = time.perf_counter()
    msg = _refused(_cli("run", spec, "--out", out), 1)
    assert (
        f"{store / 'results'} is a file, not a folder; the sweep stores its results there" in msg
        and "(nothing was run)" in msg
    )
    assert time.perf_counter() - t0 < 30
    # nothing ran and no invocation was recorded (completed or otherwise)
    assert len(store.joinpath("provenance.json").read_text().split('"command"')) == n_inv
    assert (store / "results").read_text() == "not a folder"
    (store / "results").unlink()
    (store / "design.parquet").rename(store / "d")
    (store / "design.parquet").mkdir()
    msg = _refused(_cli("status", spec, "--out", out), 1)
    assert "design.parquet is a folder, not a file" in msg


def test_a_failed_write_is_recorded_as_failed_not_completed(tmp_path, monkeypatch):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", RunStore(tmp_path / "out" / "toy")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunStore, "write_shard", full)
    with pytest.raises(
        StoreError,
        match="cannot write a results shard in .*results .No space left on device.; the 24 "
        "run.s. finished since the last shard are lost",
    ):
        run(spec, out, progress=False)
    inv = store.read_provenance()["invocations"][-1]
    assert inv["command"] == "run" and inv["status"] == "failed"
    assert "No space left" in inv["error"] and inv["total_ok"] == 0
    monkeypatch.undo()
    r = _cli("status", spec, "--out", out)
    assert r.exit_code == 0 and "run failed, started" in r.output


# ----------------------------------------------------------------------------- encodings
def test_spec_that_is_not_utf8_is_named(tmp_path):
    spec = _small(tmp_path, top='description = "Zürich"')
    spec.write_bytes(spec.read_text().encode("latin-1"))  # issue 15: UnicodeDecodeError
    msg = _refused(_cli("plan", spec, "--out", tmp_path / "out"), 2)
    assert f"{spec} is not UTF-8 text (byte 0xfc at offset" in msg
    assert "save it as UTF-8 (with or without a byte-order mark)" in msg
    assert not (tmp_path / "out").exists()
    spec.write_bytes(spec.read_text(encoding="latin-1").encode("utf-16"))
    msg = _refused(_cli("plan", spec, "--out", tmp_path / "out"), 2)
    assert f"{spec} is UTF-16 text, not UTF-8" in msg


def test_byte_order_mark_is_accepted(tmp_path):
    plain = _small(tmp_path)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_toml(bom) == read_toml(plain)
    a, b = plan(plain, tmp_path / "a"), plan(bom, tmp_path / "b")
    assert a.spec_hash == b.spec_hash and a.runs == b.runs == 24


def test_base_scenario_file_with_byte_order_mark(tmp_path):
    from abm.scenario import load_scenario, scenario_dir
    from experiments.sweep.model import resolve_model

    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + (scenario_dir() / "baseline.toml").read_bytes())
    assert resolve_model("abm").loader(str(f)) == load_scenario("baseline")
    f.write_bytes((scenario_dir() / "baseline.toml").read_bytes() + "# é\n".encode("latin-1"))
    from abm.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=f"{f} is not UTF-8 text"):
        resolve_model("abm").loader(str(f))


# ----------------------------------------------------------------------------- quoted values
@pytest.mark.parametrize(
    ("line", "field", "said"),
    [
        ('months = "2"', "months", "got the string '2'; write the number without quotes"),
        ('seed_root = "7"', "seed_root", "got the string '7'; write the number without quotes"),
        ("months = true", "months", "got true; write a number"),
        ("months = 2.0", "months", "got 2.0; write a whole number"),
        (
            'keep_timeseries = "yes"',
            "keep_timeseries",
            "got the string 'yes'; write true or false without quotes",
        ),
        ("keep_timeseries = 1", "keep_timeseries", "got 1; write true or false"),
    ],
)
def test_quoted_or_converted_values_are_refused(tmp_path, line, field, said):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    lines = spec.read_text().splitlines()
    key = line.split(" = ")[0]
    hit = [i for i, ln in enumerate(lines) if ln.startswith(f"{key} = ")]
    if hit:
        lines[hit[0]] = line
    else:
        lines.insert(1, line)
    spec.write_text("\n".join(lines) + "\n")
    msg = _refused(_cli("plan", spec, "--out", tmp_path / "out"), 2)
    assert f"{field}: {said}" in msg  # issue 15: months = "2" was read as 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("design", "execution", "field", "said"),
    [
        ('method = "lhs"\nn = "8"', "", "design.n", "got the string '8'"),
        ('method = "factorial"\nlevels = "2"', "", "design.levels", "got the string '2'"),
        (
            'method = "lhs"\nn = 8\nscramble = "false"',
            "",
            "design.scramble",
            "got the string 'false'",
        ),
        ('method = "lhs"\nn = 8', 'workers = "2"', "execution.workers", "got the string '2'"),
        (
            'method = "lhs"\nn = 8',
            "flush_seconds = inf",
            "execution.flush_seconds",
            "got inf; write a finite number",
        ),
        # the adaptive chunking's target went with it (chunk_size is fixed, default 1)
        (
            'method = "lhs"\nn = 8',
            "target_task_s = 1.0",
            "execution.target_task_s",
            "unknown field 'target_task_s'",
        ),
        (
            'method = "lhs"\nn = 8',
            'address = ""',
            "execution.address",
            "String should have at least 1 character",
        ),
    ],
)
def test_nested_fields_are_strict(tmp_path, design, execution, field, said):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1, design=design, execution=execution)
    with pytest.raises(SpecError) as e:
        load_spec(spec, check_model=False)
    assert f"{field}: {said}" in str(e.value)


def test_constant_given_twice_is_refused(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml",
        replicates=1,
        extra=('[constants]\n"parameters.b" = 0.1\nparameters = {b = 0.2}\n'),
    )
    with pytest.raises(SpecError, match="'parameters.b' is given twice"):
        load_spec(spec, check_model=False)


def test_nan_threshold_is_refused(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml",
        replicates=1,
        extra=('[[discovery]]\noutcome = "loss"\nthreshold = nan\n'),
    )
    with pytest.raises(SpecError, match=r"discovery\[0\].threshold: got nan; write a finite"):
        load_spec(spec, check_model=False)


# ----------------------------------------------------------------------------- plan size
def test_huge_plan_is_refused_at_once_with_the_count(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=100_000_000)  # issue 15: hours, GBs
    t0 = time.perf_counter()
    r = _cli("plan", spec, "--out", tmp_path / "out")
    took = time.perf_counter() - t0
    msg = _refused(r, 2)
    # before the model is asked, the count of levers without levels is a lower bound
    assert (
        "replicates: the plan has at least 6 design rows (factorial) x 100,000,000 "
        "replicates = at least 600,000,000 runs, more than the limit of 1,000,000 runs "
        "per sweep" in msg.replace("\n", " ")
    )
    assert took < 1.0, took
    assert not (tmp_path / "out").exists()


def test_plan_size_limit_is_exact(tmp_path):
    def spec(replicates, n):
        return parse_spec(
            read_toml(
                write_toy_spec(
                    tmp_path / "s.toml", replicates=replicates, design=f'method = "lhs"\nn = {n}'
                )
            )
        )

    assert check_plan_size(spec(1000, 1000)) == MAX_RUNS  # counted, never built
    with pytest.raises(
        SpecError,
        match=r"1,001 design rows \(lhs\) x 1,000 replicates = "
        r"1,001,000 runs",
    ):
        check_plan_size(spec(1000, 1001))


def test_huge_factorial_levels_are_counted_not_listed(tmp_path):
    # 10**9 points per continuous parameter: np.linspace would need 8 GB per parameter
    spec = write_toy_spec(
        tmp_path / "s.toml", replicates=1, design='method = "factorial"\nlevels = 1000000000'
    )
    t0 = time.perf_counter()
    with pytest.raises(
        SpecError,
        match=r"the plan has 30,000,000,000 design rows \(factorial\)"
        r" x 1 replicates = 30,000,000,000 runs",
    ):
        load_spec(spec)
    assert time.perf_counter() - t0 < 5


# ----------------------------------------------------------------------------- one driver
def _descendants(root: int) -> dict[int, str]:
    """{pid: start time} of every process below ``root`` (Linux /proc)."""
    table = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                rest = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(d.name)] = (int(rest[1]), rest[19])
    found, grew = {root}, True
    while grew:
        grew = False
        for pid, (ppid, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {p: table[p][1] for p in found - {root}}


def _running(pid: int, start: str) -> bool:
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return rest[19] == start and rest[0] not in ("Z", "X")


def _driver(spec, out, backend, sleep):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.sweep.cli",
            "run",
            str(spec),
            "--out",
            str(out),
            "--backend",
            backend,
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=REPO,
        env=dict(os.environ, SWEEP_TOY_SLEEP=str(sleep)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_results(proc, store, n, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if store.results_dir.is_dir() and len(store.read_results(columns=["run_id"])) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"driver did not store {n} runs: {proc.poll()}")


@pytest.mark.timeout(180)
def test_second_driver_is_refused_and_a_dead_drivers_successor_takes_over(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml",
        model="slow_evaluate",
        replicates=1,
        design='method = "lhs"\nn = 40',
        execution="chunk_size = 1\nflush_every = 1\nflush_seconds = 0.1",
    )
    out, store = tmp_path / "out", RunStore(tmp_path / "out" / "toy")
    proc = _driver(spec, out, "sequential", 0.2)
    try:
        _wait_for_results(proc, store, 2)
        for cmd in ("run", "plan"):  # issue 15: both drivers ran every run
            msg = _refused(_cli(cmd, spec, "--out", out), 1)
            assert f"the store {store.root} is in use by another driver (pid {proc.pid} on " in msg
            assert "`ree sweep run` since" in msg and "a killed driver releases the store" in msg
        with pytest.raises(StoreBusyError):
            run(spec, out, progress=False)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    done = len(store.read_results(columns=["run_id"]))
    s = run(spec, out, progress=False)  # the lock died with its holder
    assert (s.skipped, s.total_ok, s.remaining) == (done, 40, 0)
    r = _cli("status", spec, "--out", out)
    assert r.exit_code == 0 and "ok" in r.output


# ----------------------------------------------------------------------------- no orphans
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(180)
def test_sigkill_of_the_driver_leaves_no_process(tmp_path):
    spec = write_toy_spec(
        tmp_path / "s.toml",
        model="slow_evaluate",
        replicates=1,
        design='method = "lhs"\nn = 40',
        execution="chunk_size = 1\nflush_every = 1\nflush_seconds = 0.1",
    )
    out, store = tmp_path / "out", RunStore(tmp_path / "out" / "toy")
    proc = _driver(spec, out, "dask", 0.5)
    kids: dict[int, str] = {}
    try:
        _wait_for_results(proc, store, 2)  # the workers are busy with runs
        kids = _descendants(proc.pid)
        # the cluster's two worker processes and the resource tracker (issue 15: a process
        # pool's workers, forkserver and resource tracker stayed alive)
        assert len(kids) >= 2, kids
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        killed = time.time()
        while time.time() - killed < 5 and any(_running(p, s) for p, s in kids.items()):
            time.sleep(0.05)
        left = [p for p, s in kids.items() if _running(p, s)]
        assert left == [], f"still running {time.time() - killed:.1f} s after the kill: {left}"
    finally:  # never leave a process behind, even when the test fails
        for p, s in {**kids, **_descendants(proc.pid)}.items():
            if _running(p, s):
                os.kill(p, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    # and the next driver resumes the sweep
    s = run(spec, out, progress=False)
    assert s.total_ok == 40 and s.remaining == 0


# ----------------------------------------------------------------------------- property test
# One field of a valid spec broken at a time: (TOML path, bad value, text the message names).
BREAKS = [
    (("months",), '"2"', "months"),
    (("months",), "0", "months"),
    (("months",), "-3", "months"),
    (("replicates",), '"2"', "replicates"),
    (("replicates",), "0", "replicates"),
    (("replicates",), "true", "replicates"),
    (("seed_root",), "-1", "seed_root"),
    (("seed_root",), '"1"', "seed_root"),
    (("seed_scheme",), '"shared"', "seed_scheme"),
    (("name",), '"a b"', "name"),
    (("name",), '""', "name"),
    (("outcomes",), "[]", "outcomes"),
    (("outcomes",), '["y", "y"]', "outcomes"),
    (("outcomes",), '["nope"]', "outcomes[0]"),
    (("keep_timeseries",), '"yes"', "keep_timeseries"),
    (("design", "method"), '"grid"', "design.method"),
    (("design", "levels"), "1", "design.levels"),
    (("design", "levels"), '"3"', "design.levels"),
    (("design", "levels"), "3.5", "design.levels"),
    (("design", "seed"), "-4", "design.seed"),
    (("design", "nonsense"), "1", "design"),
    (("execution", "workers"), "0", "execution.workers"),
    (("execution", "workers"), '"2"', "execution.workers"),
    (("execution", "backend"), '"mpi"', "execution.backend"),
    (("execution", "retries"), "-1", "execution.retries"),
    (("execution", "flush_seconds"), "nan", "execution.flush_seconds"),
    (("execution", "chunk_size"), "0", "execution.chunk_size"),
    (("uncertainties", 0, "low"), '"0.0"', "uncertainties[0].low"),
    (("uncertainties", 0, "high"), "-1.0", "uncertainties[0]"),
    (("uncertainties", 0, "high"), "7.0", "uncertainties[0].high"),
    (("uncertainties", 0, "name"), '"parameters.zz"', "uncertainties[0].name"),
    (("uncertainties", 1, "high"), "2.5", "uncertainties[1].high"),
    (("uncertainties", 1, "levels"), "[]", "uncertainties[1]"),
    (("levers", 0, "levels"), '["none", "embargo"]', "levers[0].levels"),
    (("levers", 1, "levels"), '["true", "false"]', "levers[1].levels"),
    (("levers", 1, "type"), '"boolean"', "levers[1].type"),
]

SPEC_TABLES = {
    "top": {
        "name": '"toy"',
        "model": '"sweep_toy_models:toy_evaluate"',
        "scenario": '"toy"',
        "months": "12",
        "replicates": "1",
        "seed_root": "42",
        "seed_scheme": '"independent"',
        "keep_timeseries": "false",
        "outcomes": '["y", "loss"]',
    },
    "design": {"method": '"factorial"', "levels": "2", "seed": "3"},
    "execution": {
        "backend": '"sequential"',
        "workers": "1",
        "retries": "1",
        "flush_seconds": "1.0",
        "chunk_size": "4",
    },
    "uncertainties": [
        {"name": '"parameters.a"', "low": "0.0", "high": "1.0"},
        {"name": '"parameters.k"', "low": "1", "high": "5"},
    ],
    "levers": [{"name": '"levers.mode"'}, {"name": '"levers.flag"'}],
}


def _render(path: tuple | None, bad: str) -> str:
    """The valid spec above as TOML, with the value at ``path`` replaced by ``bad``."""

    def table(d, sub):
        d = dict(d)
        if sub:
            d[sub[0]] = bad
        return "".join(f"{k} = {v}\n" for k, v in d.items())

    path = path or ("-",)
    top = path if len(path) == 1 and path != ("-",) else ()
    text = table(SPEC_TABLES["top"], top)
    for t in ("design", "execution"):
        text += f"\n[{t}]\n" + table(SPEC_TABLES[t], path[1:] if path[0] == t else ())
    for t in ("uncertainties", "levers"):
        for i, p in enumerate(SPEC_TABLES[t]):
            hit = path[0] == t and path[1] == i
            text += f"\n[[{t}]]\n" + table(p, path[2:] if hit else ())
    return text


def test_the_unbroken_spec_is_valid(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(_render(None, ""))
    s = plan(f, tmp_path / "out")
    assert s.design_rows == 2 * 2 * 3 * 2  # a, k: 2 levels each; mode: 3; flag: 2


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(BREAKS))
def test_one_broken_field_is_named_and_nothing_is_written(tmp_path_factory, case):
    path, bad, field = case
    d = tmp_path_factory.mktemp("spec")
    f, out = d / "s.toml", d / "out"
    f.write_text(_render(path, bad))
    r = _cli("plan", f, "--out", out)
    assert r.exit_code == 2, (case, r.output)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    # one line per problem, each in the one error form (session 13: later lines had no prefix)
    assert "Traceback" not in r.output, r.output
    assert all(ln.startswith("ree sweep plan: error: invalid sweep spec ") for ln in lines), lines
    problems = [
        re.sub(r"^(ree sweep plan: error: )?invalid sweep spec \S+: ", "", ln)
        for ln in r.output.splitlines()
        if ln.strip()
    ]
    assert any(p.startswith(field) for p in problems), (case, r.output)
    assert not out.exists()  # nothing written


def test_provenance_keeps_history_json(tmp_path):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    run(spec, out, progress=False)
    doc = json.loads((store / "provenance.json").read_text())
    assert [i["status"] for i in doc["invocations"]] == ["completed", "completed"]


@pytest.mark.parametrize(
    ("extra", "field", "said"),
    [
        ('[constants]\n"levers.flag" = 0\n', "constants.levers.flag", "got 0; write true or false"),
        (
            '[constants]\n"parameters.b" = "0.5"\n',
            "constants.parameters.b",
            "got the string '0.5'; write the number without quotes",
        ),
        (
            '[constants]\n"parameters.k" = 2.5\n',
            "constants.parameters.k",
            "got 2.5; write a whole number",
        ),
    ],
)
def test_constants_are_not_converted(tmp_path, extra, field, said):
    # `defense_denial = 0` read as false (issue 15), here for a sweep's constants
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1, extra=extra)
    spec.write_text(
        spec.read_text()  # neither k nor flag varies
        .replace('[[levers]]\nname = "levers.flag"\n', "")
        .replace('[[uncertainties]]\nname = "parameters.k"\nlow = 1\nhigh = 5\n', "")
    )
    with pytest.raises(SpecError) as e:
        load_spec(spec)
    assert f"{field}: {said}" in str(e.value)


def test_bool_lever_levels_written_as_numbers_are_refused(tmp_path):
    spec = write_toy_spec(tmp_path / "s.toml", replicates=1)
    spec.write_text(
        spec.read_text().replace(
            'name = "levers.flag"\n', 'name = "levers.flag"\nlevels = [0, 1]\n'
        )
    )
    with pytest.raises(
        SpecError,
        match=r"levers\[1\].levels: \('levers.flag'\) is true/false but "
        r"levels has 0; write levels = \[false, true\]",
    ):
        load_spec(spec)


def test_empty_address_and_foreign_design_table_are_refused(tmp_path):
    spec = _small(tmp_path)
    out, store = tmp_path / "out", tmp_path / "out" / "toy"
    msg = _refused(_cli("run", spec, "--out", out, "--address", ""), 2)
    assert "address: is empty; give the scheduler's address" in msg
    assert not out.exists()
    assert plan(spec, out).created
    import pandas as pd

    pd.DataFrame({"x": [1, 2]}).to_parquet(store / "design.parquet")  # some other table
    msg = _refused(_cli("status", spec, "--out", out), 1)
    assert "design.parquet lacks the column(s) ['run_id', 'design_row', 'rep']" in msg
