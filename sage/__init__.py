"""SAGE: an offline voice daemon for edge hosts."""

__version__ = "0.1.0"
