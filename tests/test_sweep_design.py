"""Design tables: row counts per method, value ranges and types, golden run ids, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sweep_toy_models import write_toy_spec

from experiments.sweep import build_design, expected_rows, load_spec, run_chunk
from experiments.sweep.runner import _param_names, _run_item, _task_payload
from experiments.sweep.seeds import make_seed_sequence, run_id, seed_int, spawn_key
from experiments.sweep.spec import parse_spec


def _design(tmp_path, design, replicates=1, **kw):
    spec, _, digest = load_spec(
        write_toy_spec(tmp_path / "s.toml", design=design, replicates=replicates, **kw)
    )
    return spec, build_design(spec, digest)


@pytest.mark.parametrize(
    "design, rows",
    [
        # D = 4 parameters (a real, k integer, mode categorical(3), flag bool)
        ('method = "factorial"\nlevels = 3', 3 * 3 * 3 * 2),  # k in 1..5 -> [1, 3, 5]
        ('method = "factorial"\nlevels = 5', 5 * 5 * 3 * 2),  # k -> 1..5
        ('method = "factorial"\nlevels = 2', 2 * 2 * 3 * 2),
        ('method = "lhs"\nn = 37', 37),
        ('method = "sobol"\nn = 32', 32),
        ('method = "halton"\nn = 20', 20),
        ('method = "saltelli"\nn = 16', 16 * (4 + 2)),  # N(D+2)
        ('method = "saltelli"\nn = 8\nsecond_order = true', 8 * (2 * 4 + 2)),  # N(2D+2)
        ('method = "morris"\nn = 10', 10 * (4 + 1)),  # N(D+1)
        ('method = "morris"\nn = 6\nnum_levels = 6', 6 * (4 + 1)),
        ('method = "fast"\nn = 65', 65 * 4),  # N*D
    ],
)
def test_row_counts(tmp_path, design, rows):
    spec, df = _design(tmp_path, design, replicates=3)
    assert expected_rows(spec) == rows
    assert len(df) == rows * 3
    assert df["design_row"].nunique() == rows
    assert all(tuple(v) == (0, 1, 2) for v in df.groupby("design_row")["rep"].apply(list))
    assert df["run_id"].is_unique  # independent seeds: every run distinct
    assert list(df.columns[:4]) == ["run_id", "design_row", "rep", "seed_int"]


def test_factorial_is_full_product_with_types(tmp_path):
    _spec, df = _design(tmp_path, 'method = "factorial"\nlevels = 3')
    combos = set(
        zip(
            df["parameters.a"],
            df["parameters.k"],
            df["levers.mode"],
            df["levers.flag"],
            strict=True,
        )
    )
    assert combos == {
        (a, k, m, f)
        for a in (0.0, 0.5, 1.0)
        for k in (1, 3, 5)
        for m in ("none", "tariff", "quota")
        for f in (False, True)
    }
    assert str(df["parameters.k"].dtype) == "int64"
    assert str(df["levers.flag"].dtype) == "bool"
    assert str(df["parameters.a"].dtype) == "float64"
    # first parameter varies slowest (itertools.product order)
    assert df["parameters.a"].iloc[0] == 0.0 and df["parameters.a"].iloc[-1] == 1.0


@pytest.mark.parametrize("method", ["lhs", "sobol", "halton", "saltelli", "morris"])
def test_sampled_values_in_range_and_reproducible(tmp_path, method):
    n = 16
    _spec, df = _design(tmp_path, f'method = "{method}"\nn = {n}')
    assert df["parameters.a"].between(0.0, 1.0).all()
    assert set(df["parameters.k"]) <= {1, 2, 3, 4, 5}
    assert set(df["levers.mode"]) <= {"none", "tariff", "quota"}
    assert set(df["levers.flag"]) <= {False, True}
    _, df2 = _design(tmp_path, f'method = "{method}"\nn = {n}')
    assert df.equals(df2)
    _, df3 = _design(tmp_path, f'method = "{method}"\nn = {n}\nseed = 7')
    assert not np.array_equal(df["parameters.a"].to_numpy(), df3["parameters.a"].to_numpy())


def test_lhs_is_stratified(tmp_path):
    _, df = _design(tmp_path, 'method = "lhs"\nn = 50')
    u = df["u:parameters.a"].to_numpy()
    # one point per 1/n stratum
    assert sorted(np.floor(u * 50).astype(int)) == list(range(50))


@settings(max_examples=25, deadline=None)
@given(
    lo=st.floats(-1e3, 1e3, allow_nan=False),
    width=st.floats(1e-3, 1e3, allow_nan=False),
    n=st.integers(1, 40),
)
def test_real_parameter_within_bounds(lo, width, n):
    hi = lo + width
    spec = parse_spec(
        {
            "name": "prop",
            "model": "sweep_toy_models:toy_evaluate",
            "outcomes": ["y"],
            "design": {"method": "lhs", "n": n},
            "uncertainties": [{"name": "x", "type": "real", "low": lo, "high": hi}],
        }
    )
    df = build_design(spec, "digest")
    assert len(df) == n
    assert df["x"].between(lo, hi).all()


GOLDEN_IDS = ["030abc799f3abe2a", "04a13581f1a1ac7f", "4e3746029d0356e3", "393e65acc21bb64b"]
GOLDEN_SEEDS = [
    7993770517160411898,
    14351987158862774181,
    16602594785676215480,
    14845226843314568174,
]


def test_golden_run_ids(tmp_path):
    _spec, df = _design(tmp_path, 'method = "factorial"\nlevels = 3', replicates=2)
    assert list(df["run_id"].iloc[:4]) == GOLDEN_IDS
    assert [int(x) for x in df["seed_int"].iloc[:4]] == GOLDEN_SEEDS
    rid = run_id(
        model="abm",
        scenario_digest="0123456789abcdef",
        months=12,
        outcomes=["b", "a"],
        keep_timeseries=False,
        overrides={"levers.x": 0.25, "parameters.n": 3},
        seed_root=20260101,
        key=(4, 1),
    )
    assert rid == "6b71e881d69a60cb"


def test_run_id_is_content_hash(tmp_path):
    base = {
        "model": "abm",
        "scenario_digest": "d",
        "months": 12,
        "outcomes": ["a", "b"],
        "keep_timeseries": False,
        "overrides": {"x": 1.0, "y": "z"},
        "seed_root": 1,
        "key": (0, 0),
    }
    ref = run_id(**base)
    assert run_id(**{**base, "outcomes": ["b", "a"]}) == ref  # order-insensitive
    assert run_id(**{**base, "overrides": {"y": "z", "x": 1.0}}) == ref
    for change in (
        {"months": 24},
        {"scenario_digest": "e"},
        {"key": (0, 1)},
        {"seed_root": 2},
        {"overrides": {"x": 1.0000001, "y": "z"}},
        {"keep_timeseries": True},
        {"model": "m:f"},
    ):
        assert run_id(**{**base, **change}) != ref, change
    assert run_id(**{**base, "overrides": {"x": np.float64(1.0), "y": "z"}}) == ref


def test_seed_sequences_match_numpy_spawning():
    root = 12345
    for r, k in [(0, 0), (3, 1), (17, 4)]:
        direct = make_seed_sequence(root, spawn_key("independent", r, k))
        spawned = np.random.SeedSequence(root).spawn(r + 1)[r].spawn(k + 1)[k]
        assert np.array_equal(direct.generate_state(4), spawned.generate_state(4))
    assert spawn_key("crn", 9, 2) == (2,)
    with pytest.raises(ValueError, match="allowed: independent, crn"):
        spawn_key("shared", 0, 0)


def test_crn_shares_streams_across_rows(tmp_path):
    _spec, df = _design(
        tmp_path, 'method = "factorial"\nlevels = 2', replicates=2, top='seed_scheme = "crn"'
    )
    for rep in (0, 1):
        assert df.loc[df["rep"] == rep, "seed_int"].nunique() == 1
    assert df["run_id"].is_unique  # rows differ in parameters


def test_results_do_not_depend_on_order_or_chunking(tmp_path):
    spec, df = _design(tmp_path, 'method = "lhs"\nn = 12', replicates=2)
    params = _param_names(df)
    items = [_run_item(spec, row, params, 1) for row in df.to_dict("records")]

    def outs(recs):
        return {r["run_id"]: (r["y"], r["noise"], r["loss"]) for r in recs}

    whole = outs(run_chunk(_task_payload(spec, items))["records"])
    rng = np.random.default_rng(0)
    shuffled = [items[i] for i in rng.permutation(len(items))]
    parts = []
    for i in range(0, len(shuffled), 5):
        parts += run_chunk(_task_payload(spec, shuffled[i : i + 5]))["records"]
    assert outs(parts) == whole
    assert len({v[1] for v in whole.values()}) == len(whole)  # distinct noise per run
    assert seed_int(spec.seed_root, (0, 0)) == int(df["seed_int"].iloc[0])
