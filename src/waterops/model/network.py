"""The network model: typed tables of nodes and links, SI units inside.

A :class:`Network` is a set of pandas DataFrames indexed by element id (str), in the style
of pandapower, plus the patterns, curves, controls and settings of an EPANET model. Values
are SI: lengths, elevations, heads and pressures in m, flows in m³/s, volumes in m³, power
in kW, times in s, concentrations in mg/L. A missing optional id (pattern, curve) is NA.

Tables (columns, [unit]):

- ``junctions``: elevation_m [m], base_demand_m3s [m³/s], demand_pattern, demand_category,
  emitter_coeff [m³/s per m^N, N = emitter exponent], initial_quality [mg/L, h or %]
- ``demands``: further demand categories of junctions (range index): node,
  base_demand_m3s [m³/s], pattern, category. The primary demand stays in ``junctions``.
- ``reservoirs``: head_m [m], head_pattern, initial_quality
- ``tanks``: elevation_m, init_level_m, min_level_m, max_level_m, diameter_m [m],
  min_volume_m3 [m³], volume_curve, overflow (bool), initial_quality
- ``pipes``: node1, node2, length_m [m], diameter_m [m], roughness (Hazen-Williams C,
  Chezy-Manning n, or Darcy-Weisbach absolute roughness [m]), minor_loss [-],
  status (OPEN, CLOSED, CV)
- ``pumps``: node1, node2, head_curve, power_kw [kW], speed [-], pattern
- ``valves``: node1, node2, diameter_m [m], valve_type (PRV, PSV, PBV, FCV, TCV, GPV, PCV),
  setting (PRV/PSV/PBV pressure [m], FCV flow [m³/s], TCV loss coefficient [-],
  PCV opening [%]; NA for GPV), curve (GPV head-loss curve, PCV valve curve), minor_loss [-]
- ``initial_status``: link -> status (OPEN, CLOSED, ACTIVE or NA), setting (SI, as valves)
- ``leakage`` (EPANET 2.3 [LEAKAGE]): pipe -> leak_area_mm2_per_100m [mm² per 100 m of pipe],
  leak_expansion_mm2_per_100m [mm² per 100 m of pipe per m of head]; a US file's values
  (per 100 ft) are scaled by 1/0.3048 for both, as EPANET 2.3 scales them (checked by
  simulation in tests/test_io_inp_parse.py)
- ``sources``: node -> source_type (CONCEN, MASS, FLOWPACED, SETPOINT), strength
  [mg/L, or mg/min for MASS], pattern
- ``mixing``: tank -> model (MIXED, 2COMP, FIFO, LIFO), fraction [-]
- ``coordinates``: node -> x, y (in the file's own coordinate system)
- ``vertices``: link, x, y (in order along each link)
- ``labels``: x, y, text, anchor (node id or NA)
- ``tags``: kind (NODE or LINK), element, tag
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import NetworkModelError
from waterops.model.network_parts import (
    Control,
    Curve,
    Energy,
    Options,
    Reactions,
    Rule,
    Times,
)

NodeKind = Literal["junction", "reservoir", "tank"]
LinkKind = Literal["pipe", "pump", "valve"]

_STR = "object"
_FLOAT = "float64"

TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "junctions": {
        "elevation_m": _FLOAT, "base_demand_m3s": _FLOAT, "demand_pattern": _STR,
        "demand_category": _STR, "emitter_coeff": _FLOAT, "initial_quality": _FLOAT,
    },
    "demands": {"node": _STR, "base_demand_m3s": _FLOAT, "pattern": _STR, "category": _STR},
    "reservoirs": {"head_m": _FLOAT, "head_pattern": _STR, "initial_quality": _FLOAT},
    "tanks": {
        "elevation_m": _FLOAT, "init_level_m": _FLOAT, "min_level_m": _FLOAT,
        "max_level_m": _FLOAT, "diameter_m": _FLOAT, "min_volume_m3": _FLOAT,
        "volume_curve": _STR, "overflow": "bool", "initial_quality": _FLOAT,
    },
    "pipes": {
        "node1": _STR, "node2": _STR, "length_m": _FLOAT, "diameter_m": _FLOAT,
        "roughness": _FLOAT, "minor_loss": _FLOAT, "status": _STR,
    },
    "pumps": {
        "node1": _STR, "node2": _STR, "head_curve": _STR, "power_kw": _FLOAT,
        "speed": _FLOAT, "pattern": _STR,
    },
    "valves": {
        "node1": _STR, "node2": _STR, "diameter_m": _FLOAT, "valve_type": _STR,
        "setting": _FLOAT, "curve": _STR, "minor_loss": _FLOAT,
    },
    "initial_status": {"status": _STR, "setting": _FLOAT},
    "leakage": {"leak_area_mm2_per_100m": _FLOAT, "leak_expansion_mm2_per_100m": _FLOAT},
    "sources": {"source_type": _STR, "strength": _FLOAT, "pattern": _STR},
    "mixing": {"model": _STR, "fraction": _FLOAT},
    "coordinates": {"x": _FLOAT, "y": _FLOAT},
    "vertices": {"link": _STR, "x": _FLOAT, "y": _FLOAT},
    "labels": {"x": _FLOAT, "y": _FLOAT, "text": _STR, "anchor": _STR},
    "tags": {"kind": _STR, "element": _STR, "tag": _STR},
}
"""Columns and dtypes of every table of a :class:`Network`."""

INDEXED_BY_ID = frozenset({
    "junctions", "reservoirs", "tanks", "pipes", "pumps", "valves", "initial_status",
    "leakage", "sources", "mixing", "coordinates",
})
"""Tables indexed by element id; the others have a plain range index."""


_EMPTY: dict[str, pd.DataFrame] = {}


def empty_table(name: str) -> pd.DataFrame:
    """An empty table ``name`` with its columns and dtypes (see :data:`TABLE_COLUMNS`)."""
    if name not in _EMPTY:  # building a frame costs ~1 ms; a network has 14 of them
        columns = TABLE_COLUMNS[name]
        frame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
        if name in INDEXED_BY_ID:
            frame.index = pd.Index([], dtype=_STR, name="id")
        _EMPTY[name] = frame
    return _EMPTY[name].copy()


def build_table(name: str, ids: list[str] | None, rows: dict[str, list[object]]) -> pd.DataFrame:
    """Build table ``name`` at once from column lists (fast; no per-row appends).

    Parameters
    ----------
    name : table name, a key of :data:`TABLE_COLUMNS`
    ids : element ids (the index) for tables indexed by id, else ``None``
    rows : column name -> list of values, all of the same length
    """
    columns = TABLE_COLUMNS[name]
    frame = pd.DataFrame({col: pd.Series(rows[col], dtype=dtype) for col, dtype in columns.items()})
    if name in INDEXED_BY_ID:
        frame.index = pd.Index(ids if ids is not None else [], dtype=_STR, name="id")
    return frame


@dataclass
class Network:
    """A water distribution network: element tables, patterns, curves, controls, settings.

    Build one with :func:`waterops.io.inp.read_inp`, or fill the tables in code (columns in
    :data:`TABLE_COLUMNS`; a network built in code is written in LPS by default).
    """

    title: list[str] = field(default_factory=list)
    junctions: pd.DataFrame = field(default_factory=lambda: empty_table("junctions"))
    demands: pd.DataFrame = field(default_factory=lambda: empty_table("demands"))
    reservoirs: pd.DataFrame = field(default_factory=lambda: empty_table("reservoirs"))
    tanks: pd.DataFrame = field(default_factory=lambda: empty_table("tanks"))
    pipes: pd.DataFrame = field(default_factory=lambda: empty_table("pipes"))
    pumps: pd.DataFrame = field(default_factory=lambda: empty_table("pumps"))
    valves: pd.DataFrame = field(default_factory=lambda: empty_table("valves"))
    initial_status: pd.DataFrame = field(default_factory=lambda: empty_table("initial_status"))
    leakage: pd.DataFrame = field(default_factory=lambda: empty_table("leakage"))
    sources: pd.DataFrame = field(default_factory=lambda: empty_table("sources"))
    mixing: pd.DataFrame = field(default_factory=lambda: empty_table("mixing"))
    coordinates: pd.DataFrame = field(default_factory=lambda: empty_table("coordinates"))
    vertices: pd.DataFrame = field(default_factory=lambda: empty_table("vertices"))
    labels: pd.DataFrame = field(default_factory=lambda: empty_table("labels"))
    tags: pd.DataFrame = field(default_factory=lambda: empty_table("tags"))
    patterns: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    curves: dict[str, Curve] = field(default_factory=dict)
    controls: list[Control] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    times: Times = field(default_factory=Times)
    energy: Energy = field(default_factory=Energy)
    reactions: Reactions = field(default_factory=Reactions)
    report: list[str] = field(default_factory=list)
    """[REPORT] lines as written (they shape EPANET's text report, not the simulation)."""
    backdrop: list[str] = field(default_factory=list)
    """[BACKDROP] lines as written."""

    @property
    def flow_units(self) -> str:
        """EPANET flow-unit keyword the network was read in (``"GPM"``, ``"LPS"`` …)."""
        return self.options.flow_units

    @property
    def headloss(self) -> str:
        """Head-loss formula: ``"H-W"``, ``"D-W"`` or ``"C-M"``."""
        return self.options.headloss

    def node_ids(self) -> list[str]:
        """Ids of all nodes: junctions, then reservoirs, then tanks (EPANET's order)."""
        return [*self.junctions.index, *self.reservoirs.index, *self.tanks.index]

    def link_ids(self) -> list[str]:
        """Ids of all links: pipes, then pumps, then valves (EPANET's order)."""
        return [*self.pipes.index, *self.pumps.index, *self.valves.index]

    def node_kind(self, node_id: str) -> NodeKind:
        """``"junction"``, ``"reservoir"`` or ``"tank"``.

        Raises
        ------
        NetworkModelError
            if no node has this id.
        """
        if node_id in self.junctions.index:
            return "junction"
        if node_id in self.reservoirs.index:
            return "reservoir"
        if node_id in self.tanks.index:
            return "tank"
        raise NetworkModelError(f"no node {node_id!r} in the network")

    def link_kind(self, link_id: str) -> LinkKind:
        """``"pipe"``, ``"pump"`` or ``"valve"``.

        Raises
        ------
        NetworkModelError
            if no link has this id.
        """
        if link_id in self.pipes.index:
            return "pipe"
        if link_id in self.pumps.index:
            return "pump"
        if link_id in self.valves.index:
            return "valve"
        raise NetworkModelError(f"no link {link_id!r} in the network")

    def link_table(self) -> pd.DataFrame:
        """All links with their end nodes: index link id, columns kind, node1, node2."""
        parts = [
            pd.DataFrame({"kind": kind, "node1": table["node1"], "node2": table["node2"]})
            for kind, table in (("pipe", self.pipes), ("pump", self.pumps),
                                ("valve", self.valves))
            if len(table)
        ]
        if not parts:
            return pd.DataFrame({"kind": [], "node1": [], "node2": []}, dtype=_STR)
        return pd.concat(parts)

    def copy(self) -> Network:
        """A deep, independent copy (tables, patterns, curves, controls, settings)."""
        return _copy.deepcopy(self)
