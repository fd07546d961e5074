"""Browser UI: watch decoupling emerge month by month (Solara).

Start it with ``ree app`` or ``solara run app.py --host 127.0.0.1`` (``app.py`` next to this
package is the entry point) and open http://127.0.0.1:8765. Pick a scenario and a seed, move
the policy levers, press Reset to build a model with them, then Play or Step. Charts: oxide
prices in China and outside it, China-origin share of magnet supply over the last 12 months,
trade flows (Sankey), capacity by country and stage, lost output, export licences, and the
event log.

Modules:

* :mod:`app.settings`: :class:`~app.settings.Settings` (scenario, seed, levers) and the sidebar
  controls, both generated from :class:`abm.scenario.Levers` (a new lever appears without
  editing the UI);
* :mod:`app.session`: :class:`~app.session.Session`, one model per browser session, stepped
  under a lock, with the per-month series read incrementally from what the model recorded;
* :mod:`app.charts`: the six chart options and the event log, from a session's series;
* :mod:`app.widget`: :class:`~app.widget.EChart`, an ECharts widget (template ``echart.vue``)
  like ``solara.FigureEcharts`` that also keeps the user's legend selection across updates,
  formats tooltip values with their unit and resizes with its container;
* :mod:`app.page`: play controls, dashboard and :func:`~app.page.Page`; CSS in ``style.css``.

Design notes: nothing model-related lives at module level, so sessions never share a model;
telemetry is off (set here, before Solara is imported); there is no Python console; the server
binds where ``solara run`` is told (``ree app`` and the README use 127.0.0.1).
"""

from __future__ import annotations

import os

os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"  # before solara is imported

import logging  # noqa: E402

try:  # `solara run` imported solara before this package: switch its telemetry off too
    import solara.server.settings as _solara_settings

    _solara_settings.telemetry.mixpanel_enable = False
except ImportError:  # pragma: no cover - solara-server not installed (headless use)
    pass

log = logging.getLogger("ree.app")
if os.environ.get("SERVER_NAME", "localhost") not in ("localhost", "127.0.0.1", "::1"):
    # `solara run --host X` sets SERVER_NAME; the app has no authentication
    log.warning(
        "serving on %s: anyone who can reach it can run models; use --host 127.0.0.1",
        os.environ["SERVER_NAME"],
    )

from app.page import DEFAULT_SPEED, SPEEDS, Page  # noqa: E402
from app.session import Session, lever_events  # noqa: E402
from app.settings import CONTROLS, DEFAULT_SCENARIO, Settings  # noqa: E402
from app.widget import EChart  # noqa: E402

__all__ = [
    "CONTROLS",
    "DEFAULT_SCENARIO",
    "DEFAULT_SPEED",
    "SPEEDS",
    "EChart",
    "Page",
    "Session",
    "Settings",
    "lever_events",
]
