"""EPANET input files (``.inp``): read, parse and write a :class:`~waterops.model.network.Network`.

- :func:`read_inp` reads a file, :func:`parse_inp` the text of one;
- :func:`write_inp` writes a network in the units it was read in, or in the flow units asked
  for (a US file can be written in SI and the other way round).

Every section of EPANET 2.2 is supported. Faults are :class:`~waterops.errors.NetworkFileError`
naming the file, the line and the reason.
"""

from __future__ import annotations

from waterops.io.inp_read import parse_inp, read_inp
from waterops.io.inp_write import format_inp, write_inp

__all__ = ["format_inp", "parse_inp", "read_inp", "write_inp"]
