"""Experiments on the rare-earth model: scenarios, runs, sweeps, reproduction and the CLI."""
