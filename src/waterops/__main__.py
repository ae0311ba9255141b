"""``python -m waterops``."""

from waterops.cli.main import entry

entry()
