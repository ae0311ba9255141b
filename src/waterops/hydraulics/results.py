"""Results of one extended-period simulation, shaped like WNTR's.

``results.node["pressure"]`` is a DataFrame: index = time since the start of the simulation
[s] (report times only), columns = node ids, values in SI. Tables:

- node: ``pressure`` [m of water head above the node: head - elevation], ``head`` [m],
  ``demand`` [m³/s, delivered; negative = inflow from a source], and ``quality`` when a
  quality spec was run (age [s], chemical [mg/L], trace [fraction 0-1]).
- link: ``flowrate`` [m³/s, positive from start node to end node], ``velocity`` [m/s],
  ``status`` [1 = open, 0 = closed], and ``quality`` as for nodes.

The tables of one kind of element are views of one array (table x time x element) that the
engine filled in a single pass, so keeping one of them keeps the memory of all of that kind;
``table.copy()`` detaches one. Runs of the same network share their (immutable) row and
column label indexes, as pandas shares an Index between frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from waterops.hydraulics.quality import QualitySpec

NODE_TABLES = ("pressure", "head", "demand")
LINK_TABLES = ("flowrate", "velocity", "status")


@dataclass(frozen=True)
class SimulationWarning:
    """Something the engine warned about during a run.

    Parameters
    ----------
    kind : ``"negative_pressure"``, ``"disconnected"``, ``"pump_beyond_curve"``,
        ``"valve"``, ``"unbalanced"`` or ``"other"``
    element : id of the node or link concerned, or ``None`` for the whole system
    time_s : time since start [s] when it was first seen
    message : the engine's words (or ours, for per-node negative pressures)
    """

    kind: str
    element: str | None
    time_s: int
    message: str


@dataclass(frozen=True)
class LowestPressure:
    """Where and when the pressure was lowest.

    Parameters
    ----------
    node_id : junction id
    time_s : time since start [s]
    pressure_m : pressure [m of water head]
    """

    node_id: str
    time_s: int
    pressure_m: float


@dataclass
class SimulationResults:
    """Time series of one simulation, SI units, index = time since start [s].

    Parameters
    ----------
    node : tables ``pressure``, ``head``, ``demand`` (+ ``quality``), time x node id
    link : tables ``flowrate``, ``velocity``, ``status`` (+ ``quality``), time x link id
    node_types : ``"junction"``, ``"reservoir"`` or ``"tank"``, in the column order of the node
        tables (:attr:`node_type` gives them as a Series by node id)
    link_types : ``"pipe"``, ``"cvpipe"``, ``"pump"`` or a valve kind (``"prv"`` …), in the
        column order of the link tables (:attr:`link_type`: a Series by link id)
    flow_units : the EPANET flow units of the source file (``"GPM"``, ``"LPS"`` …)
    quality : the quality spec that was run, or ``None``
    warnings : what the engine warned about
    source : network file the run came from, if any
    """

    node: dict[str, pd.DataFrame]
    link: dict[str, pd.DataFrame]
    node_types: list[str]
    link_types: list[str]
    flow_units: str
    quality: QualitySpec | None = None
    warnings: list[SimulationWarning] = field(default_factory=list)
    source: str | None = None

    @cached_property
    def node_type(self) -> pd.Series:
        """Kind of each node (``"junction"``, ``"reservoir"``, ``"tank"``) by node id."""
        return pd.Series(self.node_types, index=self.node["pressure"].columns, name="node_type",
                         dtype=object)

    @cached_property
    def link_type(self) -> pd.Series:
        """Kind of each link (``"pipe"``, ``"pump"``, ``"prv"`` …) by link id."""
        return pd.Series(self.link_types, index=self.link["flowrate"].columns, name="link_type",
                         dtype=object)

    @property
    def time_s(self) -> pd.Index:
        """Report times, seconds since the start of the simulation."""
        return self.node["pressure"].index

    @property
    def junction_ids(self) -> list[str]:
        """Ids of the junctions (nodes that are neither tanks nor reservoirs)."""
        ids = self.node["pressure"].columns
        return [str(i) for i, kind in zip(ids, self.node_types, strict=True) if kind == "junction"]

    def lowest_pressure(self) -> LowestPressure | None:
        """The lowest junction pressure over all report times, or ``None`` without junctions."""
        junctions = self.node["pressure"][self.junction_ids]
        if junctions.empty:
            return None
        values = junctions.to_numpy()
        row, col = np.unravel_index(int(np.argmin(values)), values.shape)
        return LowestPressure(
            node_id=str(junctions.columns[int(col)]),
            time_s=int(junctions.index[int(row)]),
            pressure_m=float(values[row, col]),
        )

    def warnings_of(self, kind: str) -> list[SimulationWarning]:
        """The warnings of one kind (see :class:`SimulationWarning`)."""
        return [w for w in self.warnings if w.kind == kind]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by file-friendly name: ``node_pressure``, ``link_flowrate`` …"""
        named = {f"node_{k}": v for k, v in self.node.items()}
        named.update({f"link_{k}": v for k, v in self.link.items()})
        return named
