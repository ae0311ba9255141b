"""Emergencies and source safety: valve isolation, contamination spread and tracing, source
switching (engineering on top of the hydraulic engine; no web, no database)."""
