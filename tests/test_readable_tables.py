"""Numbers of the terminal and Markdown tables: each target in its own format with its
unit (ree reproduce), thousands separators instead of scientific notation (REPORT.md),
one readable format in ree compare."""

import pandas as pd

from experiments.cli import target_rows
from experiments.reproduce.tables import _markdown


def _targets(**over):
    row = {
        "id": "dy_peak_multiple",
        "median": 12.3456,
        "p5": 9.04,
        "p95": 20.96,
        "lo": 8.0,
        "hi": 30.0,
        "unit": "x",
        "status": "PASS",
    }
    row.update(over)
    return pd.DataFrame([row])


def test_reproduce_terminal_rows_use_each_targets_format_and_unit():
    # dy_peak_multiple's format is {:.1f}, its unit 'x'
    assert target_rows(_targets()) == [
        ("dy_peak_multiple", "12.3", "9.0 - 21.0", "8.0 - 30.0", "x", "PASS")
    ]
    # an unknown id falls back to 2 decimals; a missing value is n/a
    rows = target_rows(_targets(id="zz", median=0.02318, p5=float("nan"), unit="share/yr"))
    assert rows == [("zz", "0.02", "n/a - 20.96", "8.00 - 30.00", "share/yr", "PASS")]


def test_reproduce_terminal_rows_of_every_shipped_target_use_its_fmt():
    from experiments.reproduce.targets import TARGETS

    df = pd.DataFrame(
        [
            {
                "id": t.id,
                "median": 13600.123,
                "p5": t.lo,
                "p95": t.hi,
                "lo": t.lo,
                "hi": t.hi,
                "unit": t.unit,
                "status": "FAIL",
            }
            for t in TARGETS
        ]
    )
    for t, row in zip(TARGETS, target_rows(df), strict=True):
        assert row[1] == t.fmt.format(13600.123)
        assert row[3] == f"{t.fmt.format(t.lo)} - {t.fmt.format(t.hi)}"
        assert row[4] == t.unit


def test_markdown_numbers_have_thousands_separators_not_scientific_notation():
    df = pd.DataFrame({"quantity": ["a", "b", "c"], "episode_median": [13600.0, 7200.0, 0.02318]})
    md = _markdown(df)
    assert "| a | 13,600 |" in md and "| b | 7,200 |" in md and "| c | 0.0232 |" in md
    assert "e+" not in md


def test_compare_numbers_one_readable_format():
    from experiments.labels import number_text

    cases = {
        4.991e-06: "<0.001",
        -1.71e-08: ">-0.001",
        1.00035: "1.00",
        0.003428: "0.00343",
        0.001: "0.00100",
        12.345: "12.3",
        -123.4: "-123",
        999.7: "1,000",
        13612.4: "13,612",
        -2500000.0: "-2,500,000",
        0.0: "0",
        float("nan"): "-",
    }
    assert {v: number_text(v) for v in cases} == cases
