"""The network, assets and customers as typed tables and dataclasses (no I/O)."""
