"""Pydantic models at the HTTP edge, in families ``XBase / XCreate / XUpdate / XPublic``."""
