"""Telemetry: parse, validate and ingest readings (HTTP, CSV, MQTT); quality flags."""
