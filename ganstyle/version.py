"""The package version (one place: pyproject.toml reads it, evaluation records it)."""

__version__ = "0.1.0"
