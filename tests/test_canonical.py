"""One canonical JSON for every content hash (issue 14): the same text, so the same hashes,
as the four serialisations it replaced (stored sweeps keep their run ids)."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from abm.canonical import canonical_json, sha256_hex
from abm.scenario import load_scenario


def test_canonical_json_by_hand():
    obj = {"b": [1, 2.5], "a": "Dy é"}
    assert canonical_json(obj) == '{"a":"Dy é","b":[1,2.5]}'
    assert canonical_json(obj, ascii=True) == '{"a":"Dy \\u00e9","b":[1,2.5]}'
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan}, strict=True)
    assert canonical_json({"x": object()}, default=lambda o: "obj") == '{"x":"obj"}'


def test_the_scenario_content_hash_is_the_one_stored_before():
    sc = load_scenario("controls-2025")
    old = json.dumps(sc.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert sc.content_hash() == hashlib.sha256(old.encode()).hexdigest()
    assert sha256_hex("abc") == hashlib.sha256(b"abc").hexdigest()
