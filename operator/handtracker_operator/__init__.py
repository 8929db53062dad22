"""The HandTracker operator (kopf): `handtracker-operator` or `python -m handtracker_operator`."""

from importlib.metadata import version

# From the installed distribution's metadata, so pyproject.toml is the one place it is written.
__version__ = version("handtracker")
