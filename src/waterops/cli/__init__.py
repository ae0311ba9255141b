"""The ``waterops`` command line (thin: parse, call, print)."""
