"""No worker process outlives the driver that started it, even when the driver is killed with
SIGKILL (which no handler can catch).

The process backend of ``ree sweep run`` is a ``ProcessPoolExecutor`` whose workers are forked
by a forkserver (Linux); the forkserver, the workers and Python's resource tracker otherwise
stay alive after the driver is killed: the workers wait for tasks on a queue whose write end
they hold themselves, the forkserver waits until every worker has exited, and the resource
tracker until all of them have. Two mechanisms end them:

* Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ``ctypes``): the kernel kills the process
  when its parent dies. Set in the forkserver at start-up (:mod:`experiments._forkserver_guard`,
  imported through ``set_forkserver_preload``, parent: the driver) and in each worker
  (:func:`watch_driver`, parent: the forkserver), so killing the driver kills the forkserver,
  which kills the workers at once.
* A watchdog thread in each worker (:func:`watch_driver`, every platform) that exits the
  worker when the driver is gone (its pid no longer runs the process that started the pool)
  or the worker's parent changed; this also covers a forkserver started before the guard.

The resource tracker exits by itself once every process holding its pipe has exited.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["DRIVER_ENV", "POLL_S", "driver_token", "guard_forkserver", "process_start_time",
           "set_parent_death_signal", "watch_driver"]

#: Environment variable naming the driver's pid and start time (``"pid:start"``) for the
#: forkserver guard.
DRIVER_ENV = "REE_SWEEP_DRIVER"

#: Seconds between two checks of the watchdog thread (the longest a worker outlives its
#: driver where ``PR_SET_PDEATHSIG`` is unavailable).
POLL_S = 0.5

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent (thread) dies.

    Returns:
        True when set; False on other platforms or when ``prctl`` is unavailable.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - unusual libc
        return False


def process_start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux ``/proc``), or None
    when unknown; with the pid it identifies a process even after its pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now = process_start_time(pid)
        if now is not None and now != start:
            return False  # the pid now belongs to another process
    return True


def driver_token() -> str:
    """``"pid:start"`` of this process, handed to workers and the forkserver."""
    pid = os.getpid()
    return f"{pid}:{process_start_time(pid) or ''}"


def _parse(token: str) -> tuple[int, str | None]:
    pid, _, start = token.partition(":")
    return int(pid), (start or None)


def watch_driver(token: str, poll_s: float = POLL_S) -> None:
    """Pool initializer: end this worker when the driver ``token`` (:func:`driver_token`) is
    gone, at once through ``PR_SET_PDEATHSIG`` on Linux and within ``poll_s`` seconds through
    a watchdog thread everywhere. Never raises."""
    try:
        driver, start = _parse(token)
    except ValueError:
        return
    set_parent_death_signal()
    parent = os.getppid()
    if not _alive(driver, start):
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent or not _alive(driver, start):
                os._exit(0)

    threading.Thread(target=watch, name="ree-driver-watch", daemon=True).start()


def guard_forkserver() -> None:
    """In the forkserver (see :mod:`experiments._forkserver_guard`): die with the driver named
    in :data:`DRIVER_ENV`, if the forkserver's parent is that driver."""
    token = os.environ.get(DRIVER_ENV)
    if not token:
        return
    try:
        driver, start = _parse(token)
    except ValueError:
        return
    if os.getppid() != driver:
        return  # started by some other process that inherited the variable: leave it be
    if not set_parent_death_signal():
        return
    if not _alive(driver, start) or os.getppid() != driver:
        os._exit(0)  # the driver died before the signal was armed
    server = os.getpid()

    def child() -> None:  # each worker, right after the fork: before its (slow) imports
        set_parent_death_signal()
        if os.getppid() != server:
            os._exit(0)  # the forkserver died in between

    os.register_at_fork(after_in_child=child)
