"""Agent-based model of the global rare-earth supply chain under export controls and tariffs.

Public entry points:

* :class:`abm.model.RareEarthModel` -- the Mesa model (build, ``step()``, ``run()``, tables).
* :func:`abm.scenario.load_scenario` -- load and validate a scenario TOML.
* :func:`abm.outcomes.evaluate` -- run a scenario and return scalar outcomes (for sweeps).
"""

__version__ = "0.1.0"
