"""The chart widget: ECharts drawn by a Vue template (``echart.vue`` next to this file).

The ``echarts`` bundle comes from the CDN cache Solara serves (``scripts/fetch_solara_assets.py``
fills it for offline use).
"""

from __future__ import annotations

import json

import ipyvuetify as v
import solara
import traitlets


class EChart(v.VuetifyTemplate):
    """An ECharts chart; ``spec`` is the ECharts option (as in the ECharts docs) as JSON.

    Extras over ``solara.FigureEcharts``: a ``unit`` key in ``tooltip`` or a series'
    ``tooltip`` formats values with that unit; legend clicks survive option updates; the
    chart follows its container's size. The option travels as one JSON string because
    reacton walks nested props looking for elements, which costs more than the model step
    for a long run's series (~40 ms per redraw at 100 months).

    The template is ``echart.vue`` (ipyvue's ``template_file``: read when a chart is created;
    Solara keeps one template widget per browser session).
    """

    template_file = (__file__, "echart.vue")
    spec = traitlets.Unicode("{}").tag(sync=True)
    height = traitlets.Unicode("300px").tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self):
        import solara.settings

        return None if solara.settings.assets.proxy else solara.settings.assets.cdn


def to_json(option: dict) -> str:
    """Compact JSON of a chart option (NaN is not JSON: use :func:`app.charts._clean` for
    values). Raises ``ValueError`` on NaN or infinity."""
    return json.dumps(option, separators=(",", ":"), allow_nan=False)


@solara.component
def Chart(spec: str, height: str = "300px"):
    """An :class:`EChart` of ``spec`` (JSON text: pass strings, not dicts, as props)."""
    return EChart.element(spec=spec, height=height)
