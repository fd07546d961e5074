"""Canonical JSON: the one serialisation behind every content hash (a scenario's content
hash, a sweep's scenario digest, spec hash and run ids).

Keys sorted, compact separators, Python's shortest float repr. The options a hash was
created with are part of its definition and stay as they were when stored results depend
on them: ``ascii`` escapes non-ASCII text (scenario content hashes, scenario digests),
``strict`` refuses NaN and infinity (spec hashes), ``default`` turns other objects into
text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

__all__ = ["canonical_json", "sha256_hex"]


def canonical_json(
    obj: Any,
    *,
    ascii: bool = False,
    strict: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """Deterministic JSON text of ``obj``.

    Raises:
        ValueError: ``strict`` and a NaN or infinite float in ``obj``.
        TypeError: an object JSON cannot encode and no ``default``.
    """
    return json.dumps(
        obj,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=ascii,
        allow_nan=not strict,
        default=default,
    )


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), 64 hex characters."""
    return hashlib.sha256(text.encode()).hexdigest()
