"""Imported once in the process backend's forkserver (``set_forkserver_preload``): the
forkserver dies with the driver that started it (see :mod:`experiments.parentwatch`)."""

from experiments.parentwatch import guard_forkserver

guard_forkserver()
