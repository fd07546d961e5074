"""Provenance of a sweep invocation: code version, environment, host, times.

The record is plain JSON (see :func:`invocation_record`) and is appended to the store's
``provenance.json`` at the start of every ``plan``/``run`` invocation and updated at its end.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["git_info", "invocation_record", "now_iso", "package_versions"]

PACKAGES = (
    "ree-abm",
    "mesa",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "SALib",
    "dask",
    "distributed",
    "ema-workbench",
    "typer",
    "rich",
)


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """{distribution name: installed version or None if absent} (a new dict each call; the
    versions are read once per process: each lookup scans the installed distributions'
    metadata, about 20 ms, and a run writes them in several records)."""
    return dict(_versions(tuple(names)))


@functools.cache
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    out = []
    for n in names:
        try:
            out.append((n, md.version(n)))
        except md.PackageNotFoundError:
            out.append((n, None))
    return tuple(out)


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def git_info(cwd: str | Path | None = None) -> dict[str, Any]:
    """{"commit": sha or None, "dirty": bool or None, "branch": name or None}.

    Never raises: outside a git checkout, or without git, the values are None.
    """
    cwd = Path(cwd) if cwd else _repo_root()
    info: dict[str, Any] = {"commit": None, "dirty": None, "branch": None}

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    info["commit"] = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    info["dirty"] = None if status is None else bool(status)
    info["branch"] = git("rev-parse", "--abbrev-ref", "HEAD")
    return info


def invocation_record(command: str, **extra: Any) -> dict[str, Any]:
    """A provenance record for one invocation (``end`` and counts are filled in later)."""
    return {
        "command": command,
        "argv": list(sys.argv),
        "start": now_iso(),
        "end": None,
        "git": git_info(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        **extra,
    }
