"""The quickstart notebook (docs/examples/quickstart.ipynb) runs from top to bottom in a
fresh kernel and shows what its text promises: a price chart, the comparison table of
`ree compare`, China's magnet exports by destination and month, and a two-run sweep.

Slow (about 40 s on a busy 2-core machine: five 18-month runs); run with `-m slow`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "examples" / "quickstart.ipynb"

#: appended to the notebook in memory: the values the assertions below read, as one JSON line
CHECK_CELL = """
import json
print(json.dumps({
    "work": str(WORK),
    "months": MONTHS,
    "comparison_columns": list(comparison.columns),
    "comparison_outcomes": comparison["outcome"].tolist(),
    "export_columns": list(c25.columns),
    "export_months": list(c25.index),
    "exports_apr_2025": effect.loc["2025-04"].tolist(),
    "sweep_levels": sweep_table["levers.approval_rate_allies"].tolist(),
    "sweep_status": sweep_table["status"].tolist(),
    "sweep_oem_lost_bn": sweep_table["oem_lost_output_usd [bn USD]"].tolist(),
}))
"""


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "no code cells"
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    # a fresh kernel, started in an empty folder; a failing cell raises CellExecutionError
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert list(tmp_path.iterdir()) == []  # nothing written to the cwd

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pngs = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(pngs) == 1  # the price chart
    last = nb.cells[-1].outputs[-1]
    got = json.loads(last.text.strip().splitlines()[-1])

    # outputs go to a temporary folder
    assert Path(got["work"]).parent == Path(tempfile.gettempdir())
    # (b) the comparison table of `ree compare`
    assert got["comparison_columns"] == [
        "outcome",
        "unit",
        "run_a",
        "run_b",
        "difference",
        "change_pct",
        "change_pp",
    ]
    assert "Dy price outside China, peak" in got["comparison_outcomes"]
    # (c) China's magnet exports by destination, one row per month of the run
    assert got["export_columns"] == ["US", "EU", "JP", "KR", "other", "total"]
    assert got["export_months"][0] == "2024-01" and len(got["export_months"]) == got["months"]
    nc, c25, change = got["exports_apr_2025"]
    assert c25 < nc and change == pytest.approx(100 * (c25 / nc - 1))  # licences cut exports
    # (d) the sweep: two levels, both finished; more approvals, less lost output
    assert got["sweep_levels"] == [0.1, 0.9]
    assert got["sweep_status"] == ["ok", "ok"]
    assert got["sweep_oem_lost_bn"][1] < got["sweep_oem_lost_bn"][0]
