"""Stopping a command on purpose: Ctrl-C and SIGTERM (``kill``, ``timeout``, Slurm,
``docker stop``).

Ctrl-C raises ``KeyboardInterrupt``. :func:`sigterm_raises` turns SIGTERM into
:class:`Terminated` (a ``SystemExit`` with code 143 = 128 + 15) in the process that installed
it, so both unwind the same way: ``ree run`` and ``ree reproduce`` remove their staging folder
(``--out`` stays as it was), :func:`experiments.sweep.runner.run` writes the finished runs,
shuts the backend down and records the invocation as ``interrupted``; each CLI then prints one
line and exits with 130 or 143.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "sigterm_raises"]


class Terminated(SystemExit):
    """SIGTERM arrived (``code`` is 143)."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in this process (main thread only;
    elsewhere signal handlers cannot be set and the block runs unchanged). A child forked
    inside the block dies of SIGTERM as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != pid:  # a forked child: behave as without the handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
