"""Build the demo network's isolation-valve layer ``src/waterops/data/networks/demo_valves.csv``.

The demo network, like most EPANET models, has no isolation (gate/butterfly) valves. This
script places them by the "N-1" rule of strategic valve placement (Walski 1993; WNTR's
``generate_valve_layer(placement_type="strategic", n=1)``): at every node with N links, a valve
on all but one of them, the link left without a valve being the widest (then the smallest
id), so the result is deterministic (WNTR picks at random). On the 2 km segments of the
raw-water trunk main this gives a valve at every intermediate junction, i.e. every 2 km; the
spacing is *our assumption*, not a figure quoted from a standard. Pumps and control valves
always get valves on both sides where their end node has another link (a station is built
with isolation valves).

A utility replaces this file with its own valve layer (same CSV columns, read by
:func:`waterops.io.valve_layer.read_valve_layer`).

Usage::

    .venv/bin/python tools/build_valve_layer.py              # rewrite the shipped file
    .venv/bin/python tools/build_valve_layer.py --output /tmp/valves.csv
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from waterops.data import demo_network_path, demo_valve_layer_path
from waterops.io.inp import read_inp
from waterops.io.valve_layer import write_valve_layer
from waterops.model.valve_layer import strategic_valve_layer

HEADER = """Isolation-valve layer of demo_city.inp: one valve per row, on `link` next to `node`.
Built by tools/build_valve_layer.py (N-1 strategic placement, widest link left unvalved);
do not edit by hand."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=demo_valve_layer_path(must_exist=False))
    args = parser.parse_args(argv)
    layer = strategic_valve_layer(read_inp(demo_network_path()), unvalved_per_node=1)
    write_valve_layer(layer, args.output, comment=HEADER)
    print(f"{len(layer)} valves -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
