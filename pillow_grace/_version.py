"""Single source of the package version (read by pyproject and strategies)."""

__version__ = "0.1.0"
