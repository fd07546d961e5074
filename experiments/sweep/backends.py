"""The two execution backends behind one ``concurrent.futures.Executor`` interface.

=============  ===========================================================================
backend        executor
=============  ===========================================================================
dask           ``distributed.Client(...).get_executor(pure=False, retries=...)`` on a
               ``LocalCluster`` of single-threaded worker processes bound to 127.0.0.1 (no
               dashboard), or on the running scheduler at ``address``
sequential     :class:`SequentialExecutor`: runs each task in the calling process at submit
=============  ===========================================================================

Tasks run through :func:`experiments.sweep.execute.execute`, whose worker-side wrapper turns
whatever a task raises into a result, so a model error is never retried. Dask's ``retries``
cover a task that errs outside the model (e.g. its arguments cannot be loaded on the worker);
a worker that dies (``os._exit``, a segfault, the OOM killer) makes the scheduler reschedule
the run it held, and after ``distributed.scheduler.allowed-failures`` lost workers (set to
``retries`` on the local cluster; a running scheduler keeps its own setting) the run ends as
``KilledWorker``. The local cluster's workers hold one run each
(``distributed.scheduler.worker-saturation`` 1.0), so a worker's death is pinned to its run.
The local cluster's worker processes exit when the driver's process ends, SIGKILL included
(Dask's nanny pipe), and ignore Ctrl-C (:func:`ignore_ctrl_c_plugin`): a terminal's Ctrl-C reaches
every process of its group, and the driver alone stops the sweep and closes the cluster.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from .spec import check_backend

__all__ = [
    "SchedulerUnreachable",
    "require_scheduler",
    "scheduler_unreachable",
    "LOCAL_CLUSTER_CONFIG",
    "Backend",
    "SequentialExecutor",
    "default_workers",
    "ignore_ctrl_c_plugin",
    "local_cluster_config",
    "open_backend",
]

#: Dask settings of the local cluster besides ``allowed-failures``: one task per worker
#: (``worker-saturation`` 1.0, see the module docstring), and the periodic work of an idle
#: cluster cut from about 15% of a core to 2% (measured on the 2-core VM with two workers):
#: no statistical profiler sampling the task thread every 10 ms, event-loop health ticks
#: every second instead of 20 ms, system and memory monitors every 2 s and 1 s.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.tick.limit": "30s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def local_cluster_config(retries: int) -> dict[str, Any]:
    """The ``dask.config`` of a local cluster: :data:`LOCAL_CLUSTER_CONFIG` and
    ``distributed.scheduler.allowed-failures`` = ``retries``."""
    return {**LOCAL_CLUSTER_CONFIG, "distributed.scheduler.allowed-failures": retries}


def ignore_ctrl_c_plugin() -> Any:
    """A Dask ``WorkerPlugin``: the worker process ignores SIGINT (set in its main thread,
    where the worker runs; a worker the nanny restarts gets it again). Defined here, so
    importing this module does not import ``distributed``."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class IgnoreCtrlC(WorkerPlugin):
        name = "ree-ignore-ctrl-c"

        def setup(self, worker: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreCtrlC()


class SequentialExecutor(Executor):
    """Runs every submitted call immediately in this process; returns a finished Future.

    ``KeyboardInterrupt`` propagates (the user's Ctrl-C); any other exception is set on the
    Future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def default_workers() -> int:
    """CPUs available to this process (sched affinity where supported)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Backend:
    """An opened backend: ``executor`` plus what the runner needs to drive it.

    Attributes:
        name: ``dask`` or ``sequential``.
        workers: parallel task slots (worker threads of the cluster; 1 for sequential); the
            in-flight window of :func:`experiments.sweep.execute.execute`.
        executor: the ``concurrent.futures.Executor``.
        description: human-readable summary (e.g. the Dask scheduler address).
        address: the scheduler's address given (None: a local cluster or sequential).
        retries: Dask's per-task retries.
    """

    name: str
    workers: int
    executor: Executor
    description: str = ""
    address: str | None = None
    retries: int = 2
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self, cancel: bool = False) -> None:
        """Shut the executor (and any cluster this backend started) down; ``cancel`` drops
        the tasks not finished yet."""
        try:
            self.executor.shutdown(wait=not cancel)
        except Exception:
            pass
        for c in reversed(self._closers):
            try:
                c()
            except Exception:
                pass
        self._closers.clear()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)


class SchedulerUnreachable(ValueError):
    """No Dask scheduler answers at the address given (bad input: one line for the user)."""


def require_scheduler(address: str, where: str = "--address") -> None:
    """Check, before any work is written, that a Dask scheduler answers at ``address``.

    Args:
        where: how the message names the address's origin (``--address`` or the spec's
            ``execution.address``).

    Raises:
        SchedulerUnreachable: ``<where>: <why>; start the scheduler first, or give another
            address or none`` (:func:`scheduler_unreachable`).
    """
    if why := scheduler_unreachable(address):
        raise SchedulerUnreachable(
            f"{where}: {why}; start the scheduler first, or give another address or none"
        )


def scheduler_unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why no Dask scheduler answers at ``address`` (``tcp://host:port`` or ``host:port``),
    or None when a TCP connection opens within ``timeout`` seconds. A fast check made before
    a sweep writes anything: ``distributed.Client`` retries a refused connection until its
    own timeout (30 s)."""
    import socket
    from urllib.parse import urlsplit

    target = address.strip()
    parts = urlsplit(target if "://" in target else f"tcp://{target}")
    if parts.scheme not in ("tcp", "tls"):
        return f"'{address}': only tcp:// and tls:// scheduler addresses are checked"
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        return f"'{address}': {exc}"
    if not host or port is None:
        return f"'{address}' has no host and port (write tcp://host:8786)"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"no Dask scheduler answers at {address} ({exc.strerror or exc})"


def open_backend(
    name: str,
    workers: int | None = None,
    address: str | None = None,
    retries: int = 2,
    connect_timeout: float = 30.0,
) -> Backend:
    """Open a backend by name.

    Args:
        name: ``dask`` | ``sequential``.
        workers: worker processes of a local cluster (default: available CPUs; sequential:
            1). Ignored with an ``address`` (the cluster's worker threads are counted).
        address: a running Dask scheduler (``tcp://host:8786``); None starts a LocalCluster.
        retries: Dask's per-task retries; on a local cluster also its ``allowed-failures``.
        connect_timeout: seconds to wait for the scheduler at ``address``.

    Raises:
        SpecError: unknown or removed backend (one line naming the allowed values).
        OSError/TimeoutError: the scheduler at ``address`` cannot be reached.
    """
    check_backend(name)
    if name == "sequential":
        return Backend("sequential", 1, SequentialExecutor(), "in-process", retries=retries)
    import dask
    from distributed import Client, LocalCluster

    closers: list[Callable[[], None]] = []
    if address:
        client = Client(address, timeout=f"{connect_timeout}s")
        closers.append(client.close)
        nthreads = client.nthreads()
        n = max(1, sum(nthreads.values())) if nthreads else (workers or 1)
        desc = f"dask scheduler {address}, {n} worker threads"
    else:
        n = workers or default_workers()
        with dask.config.set(local_cluster_config(retries)):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                # no dashboard; the scheduler's health routes on a free port of 127.0.0.1
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )
        client = Client(cluster)
        closers += [cluster.close, client.close]
        client.register_plugin(ignore_ctrl_c_plugin())
        desc = f"dask LocalCluster {cluster.scheduler_address}, {n} workers"
    ex = client.get_executor(pure=False, retries=retries)
    return Backend("dask", n, ex, desc, address=address, retries=retries, _closers=closers)
