"""The warnings of SALib and scipy's samplers, as one line each for the user.

SALib and ``scipy.stats.qmc`` warn about designs and results that may not support the
indices drawn from them (a Sobol' sample size that is not a power of two, an odd number of
Morris levels, unreliable FAST confidence intervals, a constant output). Those warnings are
about the user's experiment, so they are never silenced: :func:`captured` records them and
turns each into one line (whitespace collapsed, each distinct line once), which
:mod:`experiments.sweep.design` logs on the ``ree.sweep`` logger and
:mod:`experiments.sweep.analysis` returns among its warnings; ``ree sweep`` prints both as
``warning: ...`` lines. Only import noise that says nothing about the experiment is
dropped: the messages matching :data:`IMPORT_NOISE`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: logger of the sweep machinery; ``ree sweep`` prints its warnings as ``warning: ...`` lines
#: (without a handler, Python prints the bare message on stderr)
log = logging.getLogger("ree.sweep")

#: messages (regular expressions, matched at the start) of import-time warnings that say
#: nothing about the experiment: ema-workbench's notice that its optional ipyparallel
#: evaluator is unavailable ("ipyparallel not installed - IpyparalleEvaluator not available")
IMPORT_NOISE = (r"ipyparallel not installed",)


def ignore_import_noise() -> None:
    """Add ``ignore`` filters for exactly the :data:`IMPORT_NOISE` messages (call it inside
    a ``warnings.catch_warnings()`` block)."""
    for pattern in IMPORT_NOISE:
        warnings.filterwarnings("ignore", message=pattern)


def one_line(message: Warning | str, source: str) -> str:
    """``"<source>: <message>"`` with the message's whitespace (SALib's messages span
    several indented lines) collapsed to single spaces."""
    return f"{source}: {' '.join(str(message).split())}"


#: categories about libraries' own APIs (pandas deprecations raised inside ema-workbench, ...)
#: rather than the experiment: :func:`captured` hands them back to Python's warning filters
LIBRARY_API = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextmanager
def captured(source: str) -> Iterator[list[str]]:
    """Record the warnings raised inside the block as one-line strings.

    Every warning is recorded each time it is raised (``always``), except the
    :data:`IMPORT_NOISE` messages (dropped) and the :data:`LIBRARY_API` categories, which are
    re-issued after the block to Python's filters as if never caught (a ``FutureWarning``
    shows, a ``DeprecationWarning`` from library code does not). The yielded list is filled
    when the block ends, with each distinct line once, in order, prefixed with ``source``
    (e.g. ``"SALib sobol.sample"``). Nothing is printed: the caller logs or returns the lines.
    """
    lines: list[str] = []
    api: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            ignore_import_noise()
            try:
                yield lines
            finally:
                for w in rec:
                    if issubclass(w.category, LIBRARY_API):
                        api.append(w)
                    elif (line := one_line(w.message, source)) not in lines:
                        lines.append(line)
    finally:
        for w in api:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno or 0)


@contextmanager
def logged(source: str) -> Iterator[None]:
    """Like :func:`captured`, but log each line as a warning on :data:`log` when the block
    ends."""
    with captured(source) as lines:
        yield
    for line in lines:
        log.warning(line)
