"""Plan, run and inspect sweeps: the Python API behind ``ree sweep``.

* :func:`plan` validates a spec, compiles its design and writes ``spec.json`` and
  ``design.parquet`` to the store (or checks they match what is stored).
* :func:`run` runs every planned run that is not finished yet, on Dask or in this process
  (:func:`experiments.sweep.execute.execute`), streaming results to Parquet shards; a second
  call on a finished sweep runs nothing.
* :func:`status` summarises a store.

The unit of work is :func:`run_chunk`, a pure function of its payload that never raises for a
model error: an exception inside the model (on a Dask worker a ``KeyboardInterrupt`` or
``SystemExit`` too) becomes a record with ``status="failed"``, the exception type, message and
traceback; a run that kills its worker ends as a failed record with Dask's ``KilledWorker``.
Each run's random stream comes from its own ``SeedSequence(seed_root, spawn_key)``, so results
are independent of order, chunking, worker count and backend.
"""

from __future__ import annotations

import os
import socket
import time
import traceback as tb
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import count_text
from ..terminal import RunProgress
from . import DEFAULT_OUT
from .backends import Backend, open_backend, require_scheduler
from .design import build_design, expected_rows
from .execute import TaskError, execute, user_stop
from .provenance import invocation_record, now_iso
from .seeds import canonical_value, make_seed_sequence, spawn_key
from .spec import ExperimentSpec, SpecError, check_backend, load_spec
from .store import RunStore, StoreError

__all__ = [
    "PlanSummary",
    "RunSummary",
    "StatusSummary",
    "plan",
    "run",
    "failure_fields",
    "run_chunk",
    "status",
]


# ----------------------------------------------------------------------------- worker side
def failure_fields(exc: BaseException) -> dict[str, Any]:
    """The fields of a failed run's record: ``{"status": "failed", "error_type" (the
    exception's class name), "error" (its message, at most 2,000 characters), "traceback"
    (the last 20,000 characters)}``; used by sweeps and by ``ree reproduce``. For a
    :class:`~experiments.sweep.execute.TaskError` these are the original exception's."""
    if isinstance(exc, TaskError):
        kind, text = exc.error_type, exc.traceback_text
    else:
        kind, text = type(exc).__name__, "".join(tb.format_exception(exc))
    return {
        "status": "failed",
        "error_type": kind,
        "error": str(exc)[:2000],
        "traceback": text[-20000:],
    }


def _run_one(
    handle: Any, scenario: Any, task: dict[str, Any], item: tuple
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    run_id, design_row, rep, key, overrides, attempt = item
    rec: dict[str, Any] = {
        "run_id": run_id,
        "design_row": int(design_row),
        "rep": int(rep),
        "status": "ok",
        "error_type": None,
        "error": None,
        "traceback": None,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "attempt": int(attempt),
    }
    ts = None
    t0 = time.perf_counter()
    try:
        outs, ts = handle.evaluate(
            scenario,
            overrides={**task["constants"], **overrides},
            seed=make_seed_sequence(task["seed_root"], key),
            months=task["months"],
            outcomes=list(task["outcomes"]),
            keep_timeseries=task["keep_timeseries"],
        )
        missing = [o for o in task["outcomes"] if o not in outs]
        if missing:
            raise KeyError(f"model returned no value for outcome(s) {missing}")
        for o in task["outcomes"]:
            rec[o] = float(outs[o])
        if not task["keep_timeseries"]:
            ts = None
        elif ts is not None:
            ts = ts.copy()
            ts.insert(0, "run_id", run_id)
    except BaseException as exc:
        if user_stop(exc):  # the user's Ctrl-C or SIGTERM in the driver is not a model failure
            raise
        rec.update(failure_fields(exc))
        for o in task["outcomes"]:
            rec[o] = float("nan")
        ts = None
    rec["wall_s"] = time.perf_counter() - t0
    rec["finished_at"] = now_iso()
    return rec, ts


def run_chunk(task: dict[str, Any]) -> dict[str, Any]:
    """Run a chunk of runs; the function executed on workers.

    Args:
        task: ``{"model": ref, "scenario": name, "months": int|None, "outcomes": [names],
            "keep_timeseries": bool, "seed_root": int, "constants": {path: value},
            "runs": [(run_id, design_row, rep, spawn_key, overrides, attempt), ...]}``.

    Returns:
        ``{"records": [record, ...], "timeseries": DataFrame | None}``; one record per run with
        run_id, design_row, rep, status ("ok"|"failed"), error_type, error, traceback, wall_s
        (seconds), host, pid, attempt (1: the driver submits a run once; Dask's reruns after a
        lost worker are not counted), finished_at (ISO UTC) and one float per outcome (NaN
        when failed). Never raises for model errors (nor, off the driver's main thread, for a
        ``KeyboardInterrupt`` or ``SystemExit``); a model that cannot even be resolved fails
        every run of the chunk.
    """
    from .model import resolve_model

    records, frames = [], []
    try:
        handle = resolve_model(task["model"])
        scenario = handle.load_scenario(task["scenario"])
    except BaseException as exc:
        if user_stop(exc):
            raise
        for item in task["runs"]:
            run_id, design_row, rep, _key, _ov, attempt = item
            rec = {
                "run_id": run_id,
                "design_row": int(design_row),
                "rep": int(rep),
                **failure_fields(exc),
                "wall_s": 0.0,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "attempt": int(attempt),
                "finished_at": now_iso(),
                **{o: float("nan") for o in task["outcomes"]},
            }
            records.append(rec)
        return {"records": records, "timeseries": None}
    for item in task["runs"]:
        rec, ts = _run_one(handle, scenario, task, item)
        records.append(rec)
        if ts is not None and len(ts):
            frames.append(ts)
    return {
        "records": records,
        "timeseries": pd.concat(frames, ignore_index=True) if frames else None,
    }


# ----------------------------------------------------------------------------- summaries
@dataclass
class PlanSummary:
    """What ``plan`` found/wrote. Times in seconds."""

    store: str
    spec_hash: str
    method: str
    design_rows: int
    replicates: int
    runs: int
    unique_runs: int
    finished_ok: int
    failed: int
    to_run: int
    parameters: list[str]
    outcomes: list[str]
    created: bool
    notes: list[str] = field(default_factory=list)
    mean_run_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunSummary:
    """Outcome of one ``run`` invocation. Times in seconds."""

    store: str
    backend: str
    workers: int
    planned: int
    skipped: int
    executed: int
    ok: int
    failed: int
    total_ok: int
    total_failed: int
    remaining: int
    wall_s: float
    run_wall_s: float
    nothing_to_run: bool
    interrupted: bool = False
    message: str = ""

    @property
    def runs_per_minute(self) -> float:
        return 60.0 * self.executed / self.wall_s if self.wall_s > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["runs_per_minute"] = self.runs_per_minute
        return d


@dataclass
class StatusSummary:
    """State of a store."""

    store: str
    spec_hash: str | None
    spec_matches: bool | None
    planned: int
    ok: int
    failed: int
    remaining: int
    mean_run_s: float | None
    failures: dict[str, int]  # error type -> failed runs
    invocations: int
    last: dict[str, Any] | None
    code_versions: list[str]
    last_state: str | None = None  # the last invocation's state, see _invocation_state
    failure_examples: dict[str, str] = field(default_factory=dict)  # error type -> first message

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- helpers
def _spec_doc(spec: ExperimentSpec, digest: str, source: str) -> tuple[dict[str, Any], str]:
    h = spec.spec_hash(digest)
    return {
        "spec_hash": h,
        "scenario_digest": digest,
        "source": source,
        "hashed": spec.hashed_dict(digest),
        "spec": spec.model_dump(mode="json"),
        "created": now_iso(),
    }, h


def _open_store(
    spec_path: str | Path,
    out: str | Path | None,
    fresh: bool,
    stack: ExitStack,
    command: str,
) -> tuple[ExperimentSpec, RunStore, pd.DataFrame, str, bool]:
    """Validate, take the store's lock (held until ``stack`` closes), then create or verify
    the store. Returns (spec, store, design, hash, created).

    Raises SpecError / SpecChangedError / StoreError (a damaged store file, a file where a
    store folder belongs or the reverse, a store folder that is not a store and holds other
    files) / StoreBusyError (another driver holds the store)
    before writing anything but the store folder and its lock file.
    """
    spec, _handle, digest = load_spec(spec_path)
    store = RunStore(Path(out or DEFAULT_OUT) / spec.name)
    store.check_folder()
    store.check_not_foreign()
    stack.enter_context(store.driver_lock(command))
    store.check_folder()  # again, now that no other driver can change the store
    store.check_not_foreign()
    doc, h = _spec_doc(spec, digest, str(spec_path))
    same = False
    if store.exists() and not fresh:
        same = store.check_spec(doc, h)  # raises SpecChangedError if different
    if same and store.design_path.is_file():
        old = store.read_spec()
        if old.get("spec") != doc["spec"]:  # unhashed parts (description, discovery, execution)
            store.write_spec({**doc, "created": old.get("created", doc["created"])})
        return spec, store, store.read_design(), h, False
    design = build_design(spec, digest)
    if len(design) != expected_rows(spec) * spec.replicates:  # pragma: no cover - invariant
        raise RuntimeError("design size does not match the method's row count")
    if fresh and store.exists():
        store.wipe()
    prov = store.read_provenance() or {}  # read (and refused if damaged) before any write
    store.root.mkdir(parents=True, exist_ok=True)
    meta = {"ree.spec_hash": h}
    store.write_design(design, meta)
    store.write_spec(doc)
    prov.update({"spec_hash": h, "spec": doc["spec"], "scenario_digest": digest})
    rec = invocation_record("plan", spec_hash=h, planned=len(design), status="completed")
    rec["end"] = now_iso()
    prov.setdefault("invocations", []).append(rec)
    store.write_provenance(prov)
    return spec, store, design, h, True


def _start_invocation(store: RunStore, command: str, **extra: Any) -> int:
    prov = store.read_provenance()
    prov.setdefault("invocations", []).append(invocation_record(command, **extra))
    store.write_provenance(prov)
    return len(prov["invocations"]) - 1


def _end_invocation(store: RunStore, idx: int, **extra: Any) -> None:
    prov = store.read_provenance()
    inv = prov.get("invocations", [])
    if 0 <= idx < len(inv):
        inv[idx].update(end=now_iso(), **extra)
        store.write_provenance(prov)


def _param_names(design: pd.DataFrame) -> list[str]:
    fixed = {"run_id", "design_row", "rep", "seed_int"}
    return [c for c in design.columns if c not in fixed and not c.startswith("u:")]


# ----------------------------------------------------------------------------- plan
def identical_runs_note(same: int) -> str | None:
    """The note of ``ree sweep plan`` on ``same`` design rows identical to others (same run
    id, run once): ``1 run is identical to another ...``, ``2 runs are identical to
    others ...``; None when there are none."""
    if same <= 0:
        return None
    if same == 1:
        return f"{count_text(same, 'run')} is identical to another (same id) and run once"
    return f"{count_text(same, 'run')} are identical to others (same id) and run once"


def plan(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    fresh: bool = False,
    pilot: bool = False,
) -> PlanSummary:
    """Validate ``spec_path``, compile its design and write it to ``<out>/<name>/``.

    Args:
        spec_path: TOML spec.
        out: store parent directory (default ``runs``).
        fresh: discard an existing store made by a different spec.
        pilot: time one run in this process (not stored) for the estimate.

    Returns:
        :class:`PlanSummary` (counts; ``mean_run_s`` from stored results or the pilot).

    Raises:
        SpecError: invalid spec (nothing written).
        abm.data.DataError: a calibration table (shipped or in ``REE_DATA_DIR``) fails
            validation when the base scenario is loaded (nothing written).
        SpecChangedError: the store holds another spec and ``fresh`` is False (nothing written).
        StoreError: a store file is damaged or the store folder is a file (nothing written).
    """
    with ExitStack() as stack:  # the store's lock, released on return or error
        spec, store, design, h, created = _open_store(spec_path, out, fresh, stack, "plan")
    ok, failed = store.finished_ids()
    uniq = design["run_id"].drop_duplicates()
    to_run = int((~uniq.isin(ok | failed)).sum())
    notes = []
    d = spec.design
    if d.method in ("sobol", "saltelli") and d.n and (d.n & (d.n - 1)):
        notes.append(f"design.n={d.n} is not a power of 2; Sobol sequences balance best at 2**m")
    if (note := identical_runs_note(len(design) - len(uniq))) is not None:
        notes.append(note)
    mean = None
    res = store.read_results(columns=["run_id", "status", "wall_s"])
    if len(res) and (res["status"] == "ok").any():
        mean = float(res.loc[res["status"] == "ok", "wall_s"].mean())
    elif pilot and to_run:
        first = design.head(1).to_dict("records")[0]
        task = _task_payload(spec, [_run_item(spec, first, _param_names(design), 1)])
        rec = run_chunk(task)["records"][0]
        mean = float(rec["wall_s"])
        if rec["status"] != "ok":
            notes.append(f"pilot run failed: {rec['error_type']}: {rec['error']}")
    return PlanSummary(
        store=str(store.root),
        spec_hash=h,
        method=d.method,
        design_rows=int(design["design_row"].nunique()),
        replicates=spec.replicates,
        runs=len(design),
        unique_runs=len(uniq),
        finished_ok=len(ok & set(uniq)),
        failed=len(failed & set(uniq)),
        to_run=to_run,
        parameters=[p.name for p in spec.parameters],
        outcomes=list(spec.outcomes),
        created=created,
        notes=notes,
        mean_run_s=mean,
    )


# ----------------------------------------------------------------------------- run
def _run_item(spec: ExperimentSpec, row: dict[str, Any], params: list[str], attempt: int) -> tuple:
    """(run_id, design_row, rep, spawn_key, overrides, attempt) for one design-table row."""
    key = spawn_key(spec.seed_scheme, int(row["design_row"]), int(row["rep"]))
    overrides = {p: canonical_value(row[p]) for p in params}
    return (row["run_id"], int(row["design_row"]), int(row["rep"]), key, overrides, attempt)


def _task_payload(spec: ExperimentSpec, items: list[tuple]) -> dict[str, Any]:
    return {
        "model": spec.model,
        "scenario": spec.scenario,
        "months": spec.months,
        "outcomes": list(spec.outcomes),
        "keep_timeseries": spec.keep_timeseries,
        "seed_root": spec.seed_root,
        "constants": {k: canonical_value(v) for k, v in spec.constants.items()},
        "runs": items,
    }


def run(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    backend: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    fresh: bool = False,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    max_runs: int | None = None,
    progress: bool = True,
    console: Any = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Run every planned, unfinished run of a spec; resumable and idempotent.

    Args:
        spec_path: TOML spec.
        out: store parent directory (default ``runs``); the store is ``<out>/<spec name>``.
        backend: ``dask`` | ``sequential`` (default: the spec's ``[execution] backend``).
        workers: worker processes of the local Dask cluster (default: spec, else CPU count).
        address: a running Dask scheduler (default: the spec's, else start a local cluster).
        fresh: discard a store made by a different spec (and its results) and start again.
        retry_failed: also rerun runs whose stored status is ``failed``.
        chunk_size: runs per task (default: the spec's, 1).
        max_runs: run at most this many (the rest stay for a later call).
        progress: show a rich progress bar with an ETA.
        console: a ``rich.console.Console`` for the bar (default stderr,
            :class:`experiments.terminal.RunProgress`).
        on_result: called in the driver with each finished record (after it is buffered).

    Returns:
        :class:`RunSummary`. ``nothing_to_run`` is True when every run was already finished.

    Raises:
        SpecError: invalid spec or backend (nothing written).
        SchedulerUnreachable: no Dask scheduler answers at the address (nothing written).
        SpecChangedError: the store was made by another spec and ``fresh`` is False.
        StoreError: a store file is damaged or the store folder is a file.
        KeyboardInterrupt, Terminated (SIGTERM, see :mod:`experiments.interrupts`): after
            writing the finished results and recording the invocation as ``interrupted``.
    """
    try:
        spec_tmp, *_ = load_spec(spec_path, check_model=False)
    except SpecError:
        # a refused structure: the full check reports the model's problems with it, so the
        # user sees every problem at once, as `plan` shows them
        load_spec(spec_path)
        raise
    ex = spec_tmp.execution
    backend = check_backend(backend or ex.backend)
    if workers is not None and workers < 1:
        raise SpecError([("workers", f"must be >= 1, got {workers}")])
    if address is not None and not address.strip():  # "" would start a local cluster instead
        raise SpecError(
            [
                (
                    "address",
                    (
                        "is empty; give the scheduler's address, e.g. "
                        "tcp://host:8786, or leave --address out"
                    ),
                )
            ]
        )
    if backend == "dask" and (address or ex.address):
        # before the store is planned, so a wrong address leaves nothing behind
        where = "--address" if address else f"{spec_path}: execution.address"
        require_scheduler(address or ex.address, where)
    with ExitStack() as stack:  # the store's lock, released on return or error
        spec, store, design, h, _created = _open_store(spec_path, out, fresh, stack, "run")
        ex = spec.execution
        workers = workers or ex.workers
        address = address or ex.address
        chunk_size = chunk_size or ex.chunk_size
        store.remove_orphans()

        params = _param_names(design)
        uniq = design.drop_duplicates("run_id")
        ok_ids, failed_ids = store.finished_ids()
        skip = ok_ids if retry_failed else (ok_ids | failed_ids)
        todo = uniq[~uniq["run_id"].isin(skip)]
        if max_runs is not None:
            todo = todo.iloc[: max(0, max_runs)]
        planned = len(uniq)
        if todo.empty:
            n_ok = len(ok_ids & set(uniq["run_id"]))
            n_f = len(failed_ids & set(uniq["run_id"]))
            rem = planned - n_ok - n_f
            msg = (
                f"nothing left to run: all {planned} runs of '{spec.name}' are finished "
                f"({n_ok} ok, {n_f} failed)"
                + (
                    "; use --retry-failed to rerun the failed ones"
                    if n_f and not retry_failed
                    else ""
                )
                if rem == 0
                else f"nothing to run in this call ({rem} remain)"
            )
            return RunSummary(
                str(store.root),
                backend,
                workers or 1,
                planned,
                planned - rem,
                0,
                0,
                0,
                n_ok,
                n_f,
                rem,
                0.0,
                0.0,
                rem == 0,
                message=msg,
            )

        schema = store.results_schema(design, params, list(spec.outcomes))
        shard_meta = {"ree.spec_hash": h}
        param_values = (
            {
                rid: {p: canonical_value(v) for p, v in zip(params, vals, strict=True)}
                for rid, vals in zip(
                    uniq["run_id"], uniq[params].itertuples(index=False, name=None), strict=True
                )
            }
            if params
            else {rid: {} for rid in uniq["run_id"]}
        )

        cols = ["run_id", "design_row", "rep", *params]
        items = [_run_item(spec, row, params, 1) for row in todo[cols].to_dict("records")]
        chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
        total = len(items)
        t_start = time.perf_counter()
        inv = None
        executed = n_ok = n_failed = 0
        run_wall = 0.0
        interrupted = False
        error: str | None = None  # what stopped the invocation, when not an interruption
        buf: list[dict[str, Any]] = []
        buf_ts: list[pd.DataFrame] = []
        last_flush = [time.monotonic()]
        bar = RunProgress(
            total, f"{spec.name} [{backend}]", enabled=progress, console=console, counts=True
        )

        def flush(timed: bool = False) -> None:
            if timed and time.monotonic() - last_flush[0] < ex.flush_seconds:
                return
            if buf:
                ts = pd.concat(buf_ts, ignore_index=True) if buf_ts else None
                try:
                    store.write_shard(buf, schema, ts, shard_meta)
                except OSError as exc:
                    raise StoreError(
                        f"cannot write a results shard in {store.results_dir} "
                        f"({exc.strerror or exc}); the {len(buf)} run(s) finished since the "
                        "last shard are lost: fix the folder (space, permissions) and rerun to "
                        "redo them"
                    ) from None
                buf.clear()
                buf_ts.clear()
            last_flush[0] = time.monotonic()

        be: Backend | None = None
        try:
            be = open_backend(backend, workers, address, ex.retries)
            inv = _start_invocation(
                store,
                "run",
                spec_hash=h,
                backend=backend,
                workers=be.workers,
                backend_description=be.description,
                address=address,
                planned=planned,
                todo=total,
                status="running",
            )
            commit = (store.read_provenance()["invocations"][inv].get("git") or {}).get("commit")
            shard_meta["ree.git_commit"] = commit or "unknown"
            for chunk, res in execute(
                be,
                run_chunk,
                chunks,
                lambda c: (_task_payload(spec, c),),
                idle=lambda: flush(timed=True),
            ):
                records = (
                    _lost_records(chunk, res, spec, param_values)
                    if isinstance(res, BaseException)
                    else res["records"]
                )
                k_ok = k_f = 0
                for rec in records:
                    rec.update(param_values[rec["run_id"]])
                    buf.append(rec)
                    if rec["status"] == "ok":
                        k_ok += 1
                    else:
                        k_f += 1
                    run_wall += float(rec["wall_s"] or 0.0)
                    if on_result is not None:
                        on_result(rec)
                if not isinstance(res, BaseException) and res.get("timeseries") is not None:
                    buf_ts.append(res["timeseries"])
                n_ok += k_ok
                n_failed += k_f
                executed += k_ok + k_f
                bar.advance(k_ok + k_f, ok=k_ok, failed=k_f)
                if len(buf) >= ex.flush_every:
                    flush()
                else:
                    flush(timed=True)
            flush()
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C, SIGTERM (Terminated) or exit()
            interrupted = True
            flush()
            raise
        except BaseException as exc:  # recorded as failed, never as completed
            error = f"{type(exc).__name__}: {exc}"[:2000]
            raise
        finally:
            bar.close()
            if be is not None:
                be.close(cancel=interrupted)
            wall = time.perf_counter() - t_start
            ok_ids, failed_ids = store.finished_ids()
            ids = set(uniq["run_id"])
            tot_ok, tot_f = len(ok_ids & ids), len(failed_ids & ids)
            if inv is not None:
                _end_invocation(
                    store,
                    inv,
                    status="interrupted" if interrupted else "failed" if error else "completed",
                    executed=executed,
                    ok=n_ok,
                    failed=n_failed,
                    total_ok=tot_ok,
                    total_failed=tot_f,
                    wall_s=wall,
                    **({"error": error} if error else {}),
                )
        remaining = planned - tot_ok - tot_f
        msg = (
            f"ran {executed} of {planned} runs ({n_ok} ok, {n_failed} failed) in {wall:.1f} s "
            f"on {backend} x{be.workers if be else workers}; {remaining} remain"
        )
        return RunSummary(
            str(store.root),
            backend,
            be.workers if be else (workers or 1),
            planned,
            planned - total,
            executed,
            n_ok,
            n_failed,
            tot_ok,
            tot_f,
            remaining,
            wall,
            run_wall,
            False,
            interrupted,
            msg,
        )


def _lost_records(
    chunk: list[tuple],
    exc: BaseException,
    spec: ExperimentSpec,
    param_values: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Failed records of the runs of a task the backend could not finish (e.g. Dask's
    ``KilledWorker``: the run killed ``retries`` + 1 workers): the error is the backend's."""
    fields = failure_fields(exc)
    fields["error"] = f"the backend could not run it: {fields['error']}"[:2000]
    return [
        {
            "run_id": run_id,
            "design_row": drow,
            "rep": rep,
            **fields,
            "wall_s": float("nan"),
            "host": None,
            "pid": None,
            "attempt": attempt,
            "finished_at": now_iso(),
            **param_values[run_id],
            **{o: float("nan") for o in spec.outcomes},
        }
        for run_id, drow, rep, _key, _ov, attempt in chunk
    ]


# ----------------------------------------------------------------------------- status
def _invocation_state(inv: dict[str, Any]) -> str:
    """``completed``/``interrupted`` as recorded, or, for one recorded as running: ``running``
    while its process lives, ``interrupted (...)`` when the process is gone (killed or crashed
    before it could record its end), and a hedged ``running`` for another host."""
    state = str(inv.get("status") or ("completed" if inv.get("end") else "running"))
    if state != "running":
        return state
    pid, host = inv.get("pid"), inv.get("host")
    if host and host != socket.gethostname():
        return f"running on {host} (pid {pid}), or stopped there without recording its end"
    try:
        if pid:
            os.kill(int(pid), 0)
    except ProcessLookupError:
        return "interrupted (the process is gone: killed or crashed before recording its end)"
    except (OSError, ValueError, TypeError, OverflowError):
        pass  # exists but belongs to someone else, or no usable pid
    return "running"


def status(
    spec_path: str | Path | None = None,
    out: str | Path | None = None,
    *,
    store_dir: str | Path | None = None,
) -> StatusSummary:
    """Summarise a store (from the spec's name and ``out``, or ``store_dir`` directly).

    Raises:
        SpecError: invalid spec.
        FileNotFoundError: the sweep has not been planned yet.
        StoreError: a store file is missing or damaged, or the store folder is a file.
    """
    matches = None
    if store_dir is None:
        if spec_path is None:
            raise ValueError("give spec_path or store_dir")
        spec, _handle, digest = load_spec(spec_path)
        store = RunStore(Path(out or DEFAULT_OUT) / spec.name)
        if store.exists():
            matches = store.stored_hash() == spec.spec_hash(digest)
    else:
        store = RunStore(store_dir)
    store.check_folder()
    if not store.exists():
        raise FileNotFoundError(f"no sweep planned in {store.root}; run `ree sweep plan` first")
    design = store.read_design()
    ids = set(design["run_id"])
    res = store.read_results(
        columns=["run_id", "status", "wall_s", "error_type", "error", "finished_at"]
    )
    res = res[res["run_id"].isin(ids)]
    ok = int((res["status"] == "ok").sum())
    failed = int((res["status"] != "ok").sum())
    mean = float(res.loc[res["status"] == "ok", "wall_s"].mean()) if ok else None
    bad = res[res["status"] != "ok"].sort_values("finished_at", kind="stable")
    failures = bad["error_type"].fillna("?").value_counts().to_dict()
    examples: dict[str, str] = {}  # the first message of each error type
    for t, e in zip(bad["error_type"].fillna("?"), bad["error"].fillna(""), strict=True):
        examples.setdefault(str(t), str(e))
    prov = store.read_provenance()
    invs = prov.get("invocations", [])
    commits = sorted(
        {
            str((i.get("git") if isinstance(i.get("git"), dict) else {}).get("commit") or "unknown")
            for i in invs
            if i.get("command") == "run"
        }
    )
    return StatusSummary(
        str(store.root),
        store.stored_hash(),
        matches,
        len(ids),
        ok,
        failed,
        len(ids) - ok - failed,
        mean,
        {str(k): int(v) for k, v in failures.items()},
        len(invs),
        invs[-1] if invs else None,
        commits,
        _invocation_state(invs[-1]) if invs else None,
        examples,
    )
