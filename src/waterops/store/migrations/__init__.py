"""Alembic migrations of the telemetry store, run by :mod:`waterops.store.migrate`."""
