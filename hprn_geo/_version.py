"""The package version, in a leaf module that imports nothing (the front doors print it)."""

__version__ = "0.1.0"
