"""Browser UI entry point: ``ree app`` or ``solara run app.py --host 127.0.0.1``.

The UI is the package ``app/`` next to this file (settings generated from the levers, session,
charts, chart widget, page); this file only hands its :func:`~app.page.Page` to Solara.
``import app`` finds the package, not this file: a directory package wins over a module of the
same name on the same path entry, and ``solara run app.py`` puts this directory on the path.
"""

from app import Page

__all__ = ["Page"]
