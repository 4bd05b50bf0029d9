"""send_warehouse: the nightly SEND pipeline's Python package (extractors, landing, simulator, CLI)."""

__version__ = "0.1.0"
