"""read_*/write_*/parse_* for EPANET .inp, GeoJSON, CSV (files in, model out)."""
