"""Execution backends behind one ``concurrent.futures.Executor`` interface.

=============  ===========================================================================
backend        executor
=============  ===========================================================================
sequential     :class:`SequentialExecutor`: runs each task in the calling process at submit
process        ``ProcessPoolExecutor`` (forkserver start method on Linux, spawn elsewhere);
               its workers and forkserver end with the driver, SIGKILL included
               (:mod:`experiments.parentwatch`)
dask           ``distributed.Client(...).get_executor(pure=False, retries=...)`` on a
               ``LocalCluster`` bound to 127.0.0.1, or on the scheduler at ``address``
ray            :class:`RayExecutor` (optional extra ``ree-abm[ray]``): ``ray.remote`` tasks
               whose ``ObjectRef.future()`` are standard futures
=============  ===========================================================================

The sweep's task function never raises for a model error (failures are data), so executor
retries only matter for infrastructure problems. Dask reschedules the tasks of a lost worker by
itself (``distributed.scheduler.allowed-failures``, default 3) and Ray retries tasks of a dead
worker (``max_retries``); for the process pool, the runner restarts a broken pool and resubmits
the runs that were in flight (see :mod:`experiments.sweep.runner`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..parentwatch import DRIVER_ENV, driver_token, watch_driver
from .spec import check_backend

__all__ = ["Backend", "RayExecutor", "SequentialExecutor", "default_workers", "open_backend"]


class SequentialExecutor(Executor):
    """Runs every submitted call immediately in this process; returns a finished Future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def _ray_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class RayExecutor(Executor):
    """Minimal ``Executor`` over Ray tasks (needs ``pip install 'ree-abm[ray]'``).

    Args:
        address: a running cluster's address (``"auto"`` or ``"ray://host:10001"``); None starts
            a local Ray on 127.0.0.1 with ``workers`` CPUs, no dashboard, no usage stats.
        workers: CPUs for a local Ray.
        retries: ``max_retries`` of each task (worker crashes).

    Raises:
        ImportError: ray is not installed.
    """

    def __init__(self, address: str | None, workers: int, retries: int):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray  # optional extra
        except ImportError as exc:
            raise ImportError(
                "the ray backend needs Ray: pip install 'ree-abm[ray]' (or use --backend dask)"
            ) from exc

        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                    log_to_driver=False,
                )
        self._remote = ray.remote(max_retries=retries)(_ray_call)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._remote.remote(fn, *args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()

    def total_cpus(self) -> int:
        return int(self._ray.cluster_resources().get("CPU", 1))


def default_workers() -> int:
    """CPUs available to this process (sched affinity where supported)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver on Linux (its preload arms the parent-death guard when this is the main
    thread, see :mod:`experiments.parentwatch`), spawn elsewhere."""
    if sys.platform.startswith("linux"):
        from multiprocessing import forkserver

        ctx = multiprocessing.get_context("forkserver")
        if threading.current_thread() is threading.main_thread():
            # PR_SET_PDEATHSIG fires when the *thread* that started the forkserver ends, so
            # the guard is armed only in a forkserver started here, by the main thread
            os.environ[DRIVER_ENV] = driver_token()
            ctx.set_forkserver_preload(["__main__", "experiments._forkserver_guard"])
            forkserver.ensure_running()
        else:  # a forkserver started by this thread goes without (the workers still watch)
            ctx.set_forkserver_preload(["__main__"])
        return ctx
    return multiprocessing.get_context("spawn")


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end when this driver ends, SIGKILL included."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=watch_driver, initargs=(driver_token(),))


@dataclass
class Backend:
    """An opened backend: ``executor`` plus what the runner needs to drive it.

    Attributes:
        name: backend name.
        workers: parallel task slots (for the in-flight window and efficiency figures).
        executor: the ``concurrent.futures.Executor``.
        description: human-readable summary (e.g. the Dask scheduler address).
    """

    name: str
    workers: int
    executor: Executor
    description: str = ""
    address: str | None = None
    retries: int = 2
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def restart(self) -> None:
        """Replace a broken process pool with a fresh one (process backend only)."""
        if self.name != "process":
            return
        try:
            self.executor.shutdown(wait=False, cancel_futures=True)
        except Exception:
            pass
        self.executor = _process_pool(self.workers)

    def close(self, cancel: bool = False) -> None:
        """Shut the executor (and any cluster this backend started) down."""
        try:
            if isinstance(self.executor, ProcessPoolExecutor):
                self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
            else:
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


def open_backend(
    name: str, workers: int | None = None, address: str | None = None, retries: int = 2,
    connect_timeout: float = 30.0,
) -> Backend:
    """Open a backend by name.

    Args:
        name: ``sequential`` | ``process`` | ``dask`` | ``ray``.
        workers: worker processes (default: available CPUs; sequential: 1). Ignored with an
            ``address`` (the cluster's size is used).
        address: Dask scheduler (``tcp://host:8786``) or Ray cluster address.
        retries: per-task retries handed to Dask/Ray.
        connect_timeout: seconds to wait for the scheduler at ``address``.

    Raises:
        SpecError: unknown backend (message names the allowed values).
        ImportError: the backend's package is missing (dask: ``dask[distributed]``; ray:
            ``ree-abm[ray]``).
        OSError/TimeoutError: the scheduler at ``address`` cannot be reached.
    """
    check_backend(name)
    if name == "sequential":
        return Backend("sequential", 1, SequentialExecutor(), "in-process", retries=retries)
    n = workers or default_workers()
    if name == "process":
        ex = _process_pool(n)
        return Backend("process", n, ex, f"process pool, {n} workers", retries=retries)
    if name == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ImportError("the dask backend needs dask[distributed]") from exc

        closers: list[Callable[[], None]] = []
        if address:
            client = Client(address, timeout=f"{connect_timeout}s")
            closers.append(client.close)
            nthreads = client.nthreads()
            n = max(1, sum(nthreads.values())) if nthreads else (workers or 1)
            desc = f"dask scheduler {address}, {n} worker threads"
        else:
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
            )
            client = Client(cluster)
            closers += [cluster.close, client.close]
            desc = f"dask LocalCluster {cluster.scheduler_address}, {n} workers"
        ex = client.get_executor(pure=False, retries=retries)
        return Backend("dask", n, ex, desc, address=address, retries=retries, _closers=closers)
    # ray
    ex = RayExecutor(address, n, retries)
    if address:
        n = ex.total_cpus()
    return Backend("ray", n, ex, f"ray {'cluster ' + address if address else 'local'}, {n} CPUs",
                   address=address, retries=retries, _closers=[ex.shutdown])
