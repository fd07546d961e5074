"""Run tasks on a backend with a bounded in-flight window; the one loop behind ``ree sweep
run`` (:func:`experiments.sweep.runner.run`) and ``ree reproduce``
(:func:`experiments.reproduce.runner.run_variants`).

:func:`execute` submits ``fn(*args)`` for each task, at most ``window`` at a time (default: one
per worker, so a worker that dies takes only its own task with it) and yields ``(task,
outcome)`` as each finishes, in completion order. ``outcome`` is what ``fn`` returned, or an
exception: a :class:`TaskError` for anything ``fn`` raised (model errors are data, never
retried), or what the backend raised (Dask's ``KilledWorker`` after a task killed
``allowed-failures`` + 1 workers, ``CancelledError``, a lost scheduler).

Stopping: a ``KeyboardInterrupt`` or ``SystemExit`` raised by ``fn`` on a Dask worker is that
task's :class:`TaskError`; the user's Ctrl-C or SIGTERM (:mod:`experiments.interrupts`) reaches
only the driver's main thread and propagates from :func:`execute` (with the sequential backend
the task runs in that thread, so there a ``KeyboardInterrupt`` or ``Terminated`` is the user's
stop). Closing the generator cancels the tasks still in flight.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

from ..interrupts import Terminated
from .backends import Backend

__all__ = ["TaskError", "execute", "user_stop"]

T = TypeVar("T")


class TaskError(Exception):
    """What a task raised, carried back as text (any exception, picklable or not).

    Attributes:
        error_type: the exception's class name (``ValueError``, ``KeyboardInterrupt``, ...).
        message: its message.
        traceback_text: its formatted traceback (from the process that ran it).
    """

    def __init__(self, error_type: str, message: str, traceback_text: str):
        super().__init__(error_type, message, traceback_text)
        self.error_type, self.message, self.traceback_text = error_type, message, traceback_text

    def __str__(self) -> str:
        return self.message


def user_stop(exc: BaseException) -> bool:
    """True when ``exc`` is the user stopping the command: a ``KeyboardInterrupt`` or
    :class:`~experiments.interrupts.Terminated` in the main thread (signals reach only the
    main thread; a Dask worker runs tasks in other threads, so there it came from the task)."""
    return (
        isinstance(exc, KeyboardInterrupt | Terminated)
        and threading.current_thread() is threading.main_thread()
    )


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with any exception returned as a :class:`TaskError` (the user's stop
    propagates, see :func:`user_stop`)."""
    try:
        return fn(*args)
    except BaseException as exc:
        if user_stop(exc):
            raise
        return TaskError(type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)))


def _outcome(fut: Future) -> Any:
    try:
        return fut.result()
    except Exception as exc:  # the backend's: KilledWorker, CancelledError, lost scheduler
        return exc


def execute(
    backend: Backend,
    fn: Callable[..., Any],
    tasks: Iterable[T],
    args: Callable[[T], tuple],
    *,
    window: int | None = None,
    idle: Callable[[], None] | None = None,
    poll_s: float = 0.25,
) -> Iterator[tuple[T, Any]]:
    """Run ``fn(*args(task))`` for every task on ``backend``; yield ``(task, outcome)``.

    Args:
        backend: an opened :class:`~experiments.sweep.backends.Backend`.
        fn: a module-level function (Dask pickles it by reference).
        tasks: submitted in this order, lazily.
        args: the arguments of a task's call.
        window: tasks in flight at most (default ``backend.workers``).
        idle: called after each wait of at most ``poll_s`` seconds (e.g. a timed flush).

    Yields:
        ``(task, outcome)``: ``fn``'s return value, or an ``Exception`` (see the module
        docstring); completion order.
    """
    window = max(1, window or backend.workers)
    pending = iter(tasks)
    inflight: dict[Future, T] = {}
    more = True
    try:
        while True:
            while more and len(inflight) < window:
                task = next(pending, _END)
                if task is _END:
                    more = False
                    break
                try:
                    inflight[backend.executor.submit(_call, fn, *args(task))] = task
                except Exception as exc:  # the backend refused it (e.g. a closed client)
                    yield task, exc
            if not inflight:
                return
            done, _ = wait(list(inflight), timeout=poll_s, return_when=FIRST_COMPLETED)
            for fut in done:
                task = inflight.pop(fut)
                out = _outcome(fut)
                yield task, out
            if idle is not None:
                idle()
    finally:
        for fut in inflight:
            fut.cancel()


_END: Any = object()
