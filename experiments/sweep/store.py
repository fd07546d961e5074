"""On-disk result store of one experiment.

Layout (``<out>/<spec name>/``)::

    spec.json                  resolved spec, spec hash, scenario digest (written after validation)
    design.parquet             the run table (run_id, design_row, rep, seed_int, params, u:params)
    results/part-<h>.parquet   one row per finished run: run_id, design_row, rep, status,
                               error_type, error, traceback, wall_s, host, pid, attempt,
                               finished_at, params, outcomes (float64)
    timeseries/part-<h>.parquet  optional tidy time series (run_id + the model's long columns)
    provenance.json            spec, hash, and one record per invocation (git, versions, host,
                               times)
    analysis/                  tables and charts written by ``analyze``

Every file is written to a hidden temporary name in its directory and published with
``os.replace``, so readers (and a resumed sweep) never see half-written files. A time-series
shard is published before the results shard of the same name; results shards are the commit
record, and time-series shards without a results twin (a crash in between) are removed on the
next run. A missing or damaged ``design.parquet``, ``spec.json``, ``provenance.json`` or results
shard, or a file where the store folder belongs, raises :class:`StoreError` naming the file and
what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "LOCK_NAME",
    "RunStore",
    "SpecChangedError",
    "StoreBusyError",
    "StoreError",
    "atomic_write_bytes",
    "atomic_write_parquet",
]

try:  # POSIX; elsewhere a store is not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Lock file in the store held (``flock``) by the one driver (``plan``/``run``) using it.
LOCK_NAME = ".driver.lock"

META_COLUMNS = [
    "run_id",
    "design_row",
    "rep",
    "status",
    "error_type",
    "error",
    "traceback",
    "wall_s",
    "host",
    "pid",
    "attempt",
    "finished_at",
]
_META_TYPES = {
    "run_id": pa.string(),
    "design_row": pa.int64(),
    "rep": pa.int64(),
    "status": pa.string(),
    "error_type": pa.string(),
    "error": pa.string(),
    "traceback": pa.string(),
    "wall_s": pa.float64(),
    "host": pa.string(),
    "pid": pa.int64(),
    "attempt": pa.int64(),
    "finished_at": pa.string(),
}


class SpecChangedError(ValueError):
    """The store was made by a different spec; rerun with ``fresh=True`` to discard it."""


class StoreError(RuntimeError):
    """A file or folder of the store is missing, damaged or a file where a folder belongs; the
    message names it, says what is wrong and what to do."""


class StoreBusyError(StoreError):
    """Another driver holds the store's lock; the message names its pid, host and start."""


_REPLAN = "run `ree sweep plan` on the same spec to write it again (finished runs are kept)"


_JSON_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


def _read_json(
    path: Path, what: str, fix: str, shape: str = "an object {...}", lists: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`StoreError` naming the file when it is not valid
    UTF-8 JSON, not an object, or when a key in ``lists`` holds anything but a list of
    objects."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path} is not valid JSON ({exc}); it {what}: {fix}") from None
    except OSError as exc:
        raise StoreError(f"{path} cannot be read ({exc.strerror}); it {what}: {fix}") from None
    bad = None
    if not isinstance(doc, dict):
        bad = f"holds {_JSON_NAMES.get(type(doc), type(doc).__name__)}, not {shape}"
    else:
        for key in lists:
            v = doc.get(key, [])
            if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
                bad = f"has {key!r} that is not a list of objects"
                break
    if bad:
        raise StoreError(f"{path} is JSON of the wrong shape (it {bad}); it {what}: {fix}")
    return doc


def _read_parquet(path: Path, what: str, fix: str, **kw: Any) -> pa.Table:
    """``pq.read_table`` with a :class:`StoreError` naming ``path`` when it is missing or
    damaged (``fix``: what to do about a damaged file; "delete it" for a missing one is left
    out)."""
    try:
        return pq.read_table(path, **kw)
    except (pa.ArrowInvalid, OSError) as exc:
        if not path.exists():
            raise StoreError(
                f"{path} is missing; it {what}: {fix.removeprefix('delete it and ')}"
            ) from None
        raise StoreError(
            f"{path} is not a readable Parquet file ({type(exc).__name__}); it {what}: {fix}"
        ) from None


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def atomic_write_parquet(
    path: Path, table: pa.Table, metadata: dict[str, str] | None = None
) -> None:
    """Write an Arrow table to ``path`` (zstd Parquet) via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if metadata:
        meta = dict(table.schema.metadata or {})
        meta.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(meta)
    tmp = _tmp_name(path)
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _diff_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            p = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(p)
            else:
                out += _diff_paths(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _diff_paths(x, y, f"{prefix}[{i}]")
        return out
    return [] if a == b else [prefix or "spec"]


class RunStore:
    """The store directory of one experiment (see the module docstring).

    Args:
        root: the store directory, usually ``<out>/<spec name>``.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.spec_path = self.root / "spec.json"
        self.design_path = self.root / "design.parquet"
        self.results_dir = self.root / "results"
        self.timeseries_dir = self.root / "timeseries"
        self.provenance_path = self.root / "provenance.json"
        self.analysis_dir = self.root / "analysis"

    # -- spec and design -------------------------------------------------------------------
    def check_folder(self) -> None:
        """Raise :class:`StoreError` when the store folder, or a folder above it, is a file, or
        when one of the store's folders (``results/``, ``timeseries/``, ``analysis/``) is a
        file or one of its files (``spec.json``, ``design.parquet``, ``provenance.json``) is a
        folder; called before any run, so nothing runs that could not be stored."""
        for p in (self.root, *self.root.parents):
            if p.is_dir():
                break
            if p.exists():
                where = (
                    "in a folder of that name" if p == self.root else f"in the folder {self.root}"
                )
                raise StoreError(
                    f"{p} is a file, not a folder; the results of this sweep go "
                    f"{where}: move or rename the file, or choose another --out"
                )
        for d in (self.results_dir, self.timeseries_dir, self.analysis_dir):
            if d.exists() and not d.is_dir():
                raise StoreError(
                    f"{d} is a file, not a folder; the sweep stores its "
                    f"{d.name} there: move or rename the file (nothing was run)"
                )
        for f in (self.spec_path, self.design_path, self.provenance_path):
            if f.exists() and not f.is_file():
                raise StoreError(
                    f"{f} is a folder, not a file; the sweep writes its "
                    f"{f.name} there: move or rename the folder (nothing was run)"
                )

    def check_not_foreign(self) -> None:
        """Raise :class:`StoreError` when the store folder exists, is not a store yet (no
        ``spec.json``) and holds anything but the store's own names (its files and folders,
        the lock file, temporary ``.*.tmp`` files): ``plan`` and ``run`` would otherwise
        write a sweep among a user's files. Files a user adds to an existing store are left
        alone (:meth:`wipe` removes only the store's own)."""
        if not self.root.is_dir() or self.spec_path.exists():
            return
        own = {
            p.name
            for p in (
                self.spec_path,
                self.design_path,
                self.provenance_path,
                self.results_dir,
                self.timeseries_dir,
                self.analysis_dir,
            )
        }
        own.add(LOCK_NAME)
        foreign = sorted(
            p.name
            for p in self.root.iterdir()
            if p.name not in own and not (p.name.startswith(".") and p.name.endswith(".tmp"))
        )
        if foreign:
            shown = ", ".join(foreign[:5]) + (
                f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            )
            raise StoreError(
                f"{self.root} holds files that are not a sweep's ({shown}); the "
                "sweep would be written among them: choose another --out (the "
                "store is --out/<spec name>) or move them (nothing was written)"
            )

    @contextmanager
    def driver_lock(self, command: str) -> Iterator[None]:
        """Hold the store's lock (``flock`` on :data:`LOCK_NAME`, created with the store
        folder) for the block: one driver per store at a time. The operating system releases
        the lock when its holder exits or is killed, so a successor of a dead driver takes the
        store over; the file is left in place and says who holds it (pid, host, command, start).

        Raises:
            StoreBusyError: another process holds the lock (the message names it).
        """
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(os.read(fd, 4096).decode() or "{}")
            except (ValueError, UnicodeDecodeError):
                holder = {}
            os.close(fd)
            who = (
                f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, `ree sweep "
                f"{holder.get('command', '?')}` since {holder.get('since', '?')}"
                if isinstance(holder, dict)
                else "another process"
            )
            raise StoreBusyError(
                f"the store {self.root} is in use by another driver ({who}); wait for it to "
                "finish or stop it, then rerun (a killed driver releases the store by itself)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(
                fd,
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "command": command,
                        "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                ).encode(),
                0,
            )
            yield
        finally:
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # releases the lock

    def exists(self) -> bool:
        """True when a spec has been planned into this store."""
        return self.spec_path.is_file()

    def read_spec(self) -> dict[str, Any]:
        """The stored ``spec.json`` document (:class:`StoreError` when it is not valid JSON, not
        an object, or its ``spec_hash`` is not a string)."""
        doc = _read_json(
            self.spec_path,
            "records which spec made this store",
            "delete it and " + _REPLAN,
            shape='an object {"spec_hash": ...}',
        )
        if not isinstance(doc.get("spec_hash"), str):
            raise StoreError(
                f"{self.spec_path} is JSON of the wrong shape (its 'spec_hash' is "
                f"not a string); it records which spec made this store: delete "
                f"it and {_REPLAN}"
            )
        return doc

    def stored_hash(self) -> str | None:
        return self.read_spec().get("spec_hash") if self.exists() else None

    def check_spec(self, spec_doc: dict[str, Any], spec_hash: str) -> bool:
        """Compare with the stored spec.

        Returns:
            True if the store holds this exact spec, False if the store is empty.

        Raises:
            SpecChangedError: naming the changed fields and how many results would be discarded.
        """
        if not self.exists():
            return False
        old = self.read_spec()
        if old.get("spec_hash") == spec_hash:
            return True
        changed = _diff_paths(old.get("hashed", {}), spec_doc.get("hashed", {}))
        shown = ", ".join(changed[:8]) + (
            f" (+{len(changed) - 8} more)" if len(changed) > 8 else ""
        )
        n = self.count_results()
        raise SpecChangedError(
            f"the store {self.root} was made by a different spec "
            f"(stored hash {old.get('spec_hash', '?')[:12]}, this spec {spec_hash[:12]}); "
            f"changed: {shown or 'unknown'}. Refusing to mix results. Rerun with --fresh to "
            f"discard the {n} stored result(s) and start again, or use another --out or name."
        )

    def wipe(self) -> None:
        """Delete this store's known files (spec, design, results, time series, provenance,
        analysis). Other files in the directory are left alone."""
        for p in (self.spec_path, self.design_path, self.provenance_path):
            if p.exists():
                p.unlink()
        for d in (self.results_dir, self.timeseries_dir, self.analysis_dir):
            if d.exists():
                shutil.rmtree(d)

    def write_spec(self, spec_doc: dict[str, Any]) -> None:
        atomic_write_bytes(
            self.spec_path, (json.dumps(spec_doc, indent=2, sort_keys=True) + "\n").encode()
        )

    def write_design(self, design: pd.DataFrame, metadata: dict[str, str] | None = None) -> None:
        atomic_write_parquet(
            self.design_path, pa.Table.from_pandas(design, preserve_index=False), metadata
        )

    def read_design(self) -> pd.DataFrame:
        """The stored run table, ordered by (design_row, rep) (:class:`StoreError` when
        ``design.parquet`` is missing or damaged)."""
        table = _read_parquet(
            self.design_path, "is the table of planned runs", "delete it and " + _REPLAN
        )
        missing = [c for c in ("run_id", "design_row", "rep") if c not in table.column_names]
        if missing:
            raise StoreError(
                f"{self.design_path} lacks the column(s) {missing}, so it is not a "
                f"table of planned runs: delete it and {_REPLAN}"
            )
        return table.to_pandas()

    # -- results ---------------------------------------------------------------------------
    def results_schema(
        self, design: pd.DataFrame, param_names: list[str], outcomes: list[str]
    ) -> pa.Schema:
        """Arrow schema of result shards: meta columns, parameters (design dtypes), outcomes."""
        dschema = (
            pa.Schema.from_pandas(design[param_names], preserve_index=False)
            if param_names
            else pa.schema([])
        )
        fields = [pa.field(c, _META_TYPES[c]) for c in META_COLUMNS]
        fields += [pa.field(f.name, f.type) for f in dschema]
        fields += [pa.field(o, pa.float64()) for o in outcomes]
        return pa.schema(fields)

    def shard_files(self) -> list[Path]:
        if not self.results_dir.is_dir():
            return []
        return sorted(p for p in self.results_dir.glob("part-*.parquet"))

    def write_shard(
        self,
        records: list[dict[str, Any]],
        schema: pa.Schema,
        timeseries: pd.DataFrame | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Path:
        """Publish one results shard (and its time-series twin first, if any).

        The shard name is a hash of its run ids and attempt numbers, so rewriting the same
        records is idempotent.

        Returns:
            the path of the results shard.
        """
        h = hashlib.sha256(
            "\n".join(
                f"{r['run_id']}:{r.get('attempt', 1)}:{r.get('finished_at', '')}" for r in records
            ).encode()
        ).hexdigest()[:20]
        name = f"part-{h}.parquet"
        if timeseries is not None and len(timeseries):
            atomic_write_parquet(
                self.timeseries_dir / name,
                pa.Table.from_pandas(timeseries, preserve_index=False),
                metadata,
            )
        cols = {f.name: [r.get(f.name) for r in records] for f in schema}
        table = pa.Table.from_pydict(cols, schema=schema)
        path = self.results_dir / name
        atomic_write_parquet(path, table, metadata)
        return path

    def remove_orphans(self) -> int:
        """Delete time-series shards without a results twin and stale temp files.

        Returns the number of files removed.
        """
        n = 0
        results = {p.name for p in self.shard_files()}
        if self.timeseries_dir.is_dir():
            for p in self.timeseries_dir.glob("part-*.parquet"):
                if p.name not in results:
                    p.unlink()
                    n += 1
        for d in (self.results_dir, self.timeseries_dir, self.root):
            if d.is_dir():
                for p in d.glob(".*.tmp"):
                    p.unlink()
                    n += 1
        return n

    def read_results(
        self, columns: Iterable[str] | None = None, dedupe: bool = True
    ) -> pd.DataFrame:
        """All result rows (one per run id when ``dedupe``: the latest, preferring ``ok``).

        Returns an empty DataFrame (with ``columns`` if given) when nothing is stored.
        """
        files = self.shard_files()
        cols = list(columns) if columns is not None else None
        if cols is not None and dedupe:
            cols = list(dict.fromkeys(cols + ["run_id", "status", "finished_at"]))
        if not files:
            return pd.DataFrame(columns=cols or META_COLUMNS)
        fix = "delete it (the other shards are kept) and the next `ree sweep run` redoes its runs"
        tables = [_read_parquet(f, "is a shard of finished runs", fix, columns=cols) for f in files]
        df = pa.concat_tables(tables, promote_options="default").to_pandas()
        if dedupe and len(df):
            df = (
                df.assign(_ok=(df["status"] == "ok"))
                .sort_values(["_ok", "finished_at"], kind="stable")
                .drop_duplicates("run_id", keep="last")
                .drop(columns="_ok")
            )
        if columns is not None:
            df = df[list(columns)]
        return df.reset_index(drop=True)

    def count_results(self) -> int:
        return len(self.read_results(columns=["run_id"])) if self.shard_files() else 0

    def finished_ids(self) -> tuple[set[str], set[str]]:
        """(ids with status ok, ids whose latest status is failed)."""
        df = self.read_results(columns=["run_id", "status"])
        ok = set(df.loc[df["status"] == "ok", "run_id"])
        failed = set(df.loc[df["status"] != "ok", "run_id"])
        return ok, failed

    def read_timeseries(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Stored time series (tidy long), optionally only for ``run_ids``.

        Only shards with a results twin are read, and each run's rows come from one shard.
        """
        results = {p.name for p in self.shard_files()}
        files = (
            sorted(p for p in self.timeseries_dir.glob("part-*.parquet") if p.name in results)
            if self.timeseries_dir.is_dir()
            else []
        )
        if not files:
            return pd.DataFrame()
        frames = []
        seen: set[str] = set()
        wanted = None if run_ids is None else set(run_ids)
        for f in files:
            df = pq.read_table(f).to_pandas()
            ids = set(df["run_id"].unique())
            keep = ids - seen
            if wanted is not None:
                keep &= wanted
            if keep:
                frames.append(df[df["run_id"].isin(keep)])
                seen |= keep
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # -- provenance ------------------------------------------------------------------------
    def read_provenance(self) -> dict[str, Any]:
        """The ``provenance.json`` document, {} when absent (:class:`StoreError` when it is not
        valid JSON)."""
        if not self.provenance_path.is_file():
            return {}
        return _read_json(
            self.provenance_path,
            "holds only the history of invocations",
            "delete it (the results are kept, the history is lost) and rerun",
            shape='an object {"invocations": [...], ...}',
            lists=("invocations",),
        )

    def write_provenance(self, doc: dict[str, Any]) -> None:
        atomic_write_bytes(
            self.provenance_path,
            (json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n").encode(),
        )
