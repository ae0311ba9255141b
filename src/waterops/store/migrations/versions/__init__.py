"""Revisions of the store's schema, oldest first (``0001_…``, ``0002_…``)."""
