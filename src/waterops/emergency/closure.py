"""The hydraulic effect of closing links: who loses water and where pressure falls.

Closing the valves of an isolation plan (or any set of pipes, pumps or valves, for the
scenario page) is simulated with pressure-driven demand (EPANET 2.3's PDA, Wagner's relation:
full demand at the required pressure, none at 0 m), so that a junction cut off or starved of
pressure really gets less water. The run is compared with the same run without the closure:

- *unsupplied demand*: consumer demand not delivered beyond what the base run already misses
  (EPANET's demand deficit), as a volume over the run [m³] and a mean rate [m³/s];
- *pressure drop* per junction: the largest fall of its pressure at any report time [m];
- *newly low*: junctions below the service threshold at a report time when they were not in
  the base run. The default threshold, 14 m (about 0.14 MPa), is the network end pressure
  commonly asked of Chinese utilities (the project's glossary marks the figure for checking
  against the local rule; it is a setting, like in :mod:`waterops.hydraulics.criticality`).

:class:`ClosureSimulator` opens the network once, runs the base once, and then answers each
closure with one run of the EPANET toolkit (about 0.9 s for 24 h of the demo network).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

from waterops.errors import ScenarioError
from waterops.hydraulics.batch import ReportArrays, report_arrays
from waterops.hydraulics.criticality import DEFAULT_THRESHOLD_M, report_weights_s
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.scenarios import (
    Change,
    PressureDrivenDemand,
    SetLinkStatus,
    apply_changes,
)
from waterops.model.network import Network

_TABLES = ("pressure", "demand", "full_demand", "demand_deficit")


@dataclass(frozen=True)
class ClosureEffect:
    """What closing some links does, compared with the base run (junctions only).

    Attributes
    ----------
    closed_links : the links closed
    duration_s : simulated time [s] (0: one steady state; volumes are then rates)
    threshold_m : the service pressure threshold [m]
    junction_ids : the junctions, in the order of the arrays
    pressure_drop_m : per junction, the largest fall of pressure at a report time [m]
    lowest_pressure_m : per junction, the lowest pressure over the run [m]
    base_lowest_pressure_m : the same without the closure [m]
    unsupplied_node_m3 : per junction, demand not delivered beyond the base run's [m³]
    unsupplied_m3 : the sum of it [m³]
    unsupplied_m3s : the mean rate of it over the run [m³/s]
    newly_low : junctions below the threshold at a time the base run had them above it
    emitter_outflow_change_m3 : change of the water lost through emitters (leaks, bursts)
        over the run [m³]; negative when the closure stops a leak
    """

    closed_links: tuple[str, ...]
    duration_s: int
    threshold_m: float
    junction_ids: tuple[str, ...]
    pressure_drop_m: npt.NDArray[np.float64]
    lowest_pressure_m: npt.NDArray[np.float64]
    base_lowest_pressure_m: npt.NDArray[np.float64]
    unsupplied_node_m3: npt.NDArray[np.float64]
    unsupplied_m3: float
    unsupplied_m3s: float
    newly_low: tuple[str, ...]
    emitter_outflow_change_m3: float = 0.0

    def lowest(self, count: int = 10) -> list[tuple[str, float]]:
        """The ``count`` junctions of lowest pressure: (id, lowest pressure [m]), lowest first."""
        order = np.argsort(self.lowest_pressure_m, kind="stable")[:count]
        return [(self.junction_ids[i], float(self.lowest_pressure_m[i])) for i in order]

    def drops(self, min_drop_m: float = 0.5) -> dict[str, float]:
        """Junctions whose pressure falls by at least ``min_drop_m`` [m]: id -> drop [m]."""
        picked = np.flatnonzero(self.pressure_drop_m >= min_drop_m)
        return {self.junction_ids[i]: float(self.pressure_drop_m[i]) for i in picked}

    def unsupplied_nodes(self, min_m3: float = 1e-6) -> dict[str, float]:
        """Junctions missing at least ``min_m3`` of demand [m³]: id -> volume [m³]."""
        picked = np.flatnonzero(self.unsupplied_node_m3 >= min_m3)
        return {self.junction_ids[i]: float(self.unsupplied_node_m3[i]) for i in picked}


class ClosureSimulator:
    """Closures of links on one network, each run against one base run.

    Parameters
    ----------
    network : an EPANET .inp file, or a Network (written to a private temporary folder)
    threshold_m : service pressure threshold [m]
    required_pressure_m : PDA pressure for full delivery [m] (default: ``threshold_m``)
    duration_s : simulated time [s] (default: the network's own)
    setup : changes made for the base run and every closure (e.g. the burst being isolated,
        :class:`~waterops.hydraulics.scenarios.NodeLeak`)

    Raises
    ------
    NetworkFileError
        if the file is missing or invalid.
    SimulationError
        if EPANET cannot solve the base network.

    One run at a time goes through the opened project (a lock guards it); close it when done
    (or use it as a context manager).
    """

    def __init__(self, network: Network | str | Path, *,
                 threshold_m: float = DEFAULT_THRESHOLD_M,
                 required_pressure_m: float | None = None,
                 duration_s: int | None = None, setup: Sequence[Change] = ()) -> None:
        if not threshold_m > 0:
            raise ScenarioError(f"the pressure threshold must be positive, got {threshold_m} m")
        if duration_s is not None and duration_s < 0:
            raise ScenarioError(f"the duration must not be negative, got {duration_s} s")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if isinstance(network, Network):
            from waterops.io.inp import write_inp

            self._tmp = tempfile.TemporaryDirectory(prefix="waterops-closure-")
            path = Path(self._tmp.name) / "network.inp"
            write_inp(network, path)
        else:
            path = Path(network)
        self.threshold_m = threshold_m
        self._lock = threading.Lock()
        try:
            self._engine = EpanetEngine.open(path)
            ph = self._engine.handle
            PressureDrivenDemand(0.0, required_pressure_m or threshold_m, 0.5).apply(
                self._engine)
            apply_changes(self._engine, setup)  # kept for the life of the opened project
            self.duration_s = (int(tk.gettimeparam(ph, tk.DURATION)) if duration_s is None
                               else int(duration_s))
            self._columns = np.asarray(
                [i for i in range(len(self._engine.node_ids))
                 if int(tk.getnodetype(ph, i + 1)) == tk.JUNCTION], dtype=np.intp)
            self.junction_ids = tuple(self._engine.node_ids[i] for i in self._columns)
            self._base = self._run()
        except BaseException:
            self.close()
            raise
        self._weights_s = report_weights_s(self._base.time_s)

    def _run(self) -> ReportArrays:
        return report_arrays(self._engine, _TABLES, duration_s=self.duration_s)

    def link_ids(self) -> list[str]:
        """Ids of the network's links."""
        return list(self._engine.link_ids)

    def effect(self, link_ids: Iterable[str]) -> ClosureEffect:
        """Close ``link_ids`` for the whole run and compare with the base run.

        Raises
        ------
        ScenarioError
            for an unknown link, or an empty list.
        SimulationError
            if EPANET cannot solve the network with the links closed.
        """
        closed = tuple(dict.fromkeys(link_ids))
        if not closed:
            raise ScenarioError("close at least one link")
        changes = [SetLinkStatus(link, open=False) for link in closed]
        with self._lock:
            undo = apply_changes(self._engine, changes)
            try:
                run = self._run()
            finally:
                undo()
        return self._compare(closed, run)

    def _compare(self, closed: tuple[str, ...], run: ReportArrays) -> ClosureEffect:
        cols, base = self._columns, self._base
        rows = min(len(run.time_s), len(base.time_s))  # a closure may stop a run early
        weights = report_weights_s(run.time_s[:rows])
        p = run.node["pressure"][:rows, cols]
        p0 = base.node["pressure"][:rows, cols]
        deficit = run.node["demand_deficit"][:rows, cols] - base.node["demand_deficit"][:rows,
                                                                                         cols]
        node_m3 = np.clip(weights @ deficit, 0.0, None)
        total = float(node_m3.sum())
        low = (p < self.threshold_m) & (p0 >= self.threshold_m)
        newly_low = tuple(self.junction_ids[i] for i in np.flatnonzero(low.any(axis=0)))
        span = float(weights.sum())

        def emitted(arrays: ReportArrays) -> float:
            node = arrays.node
            delivered = node["full_demand"][:rows, cols] - node["demand_deficit"][:rows, cols]
            return float(weights @ (node["demand"][:rows, cols] - delivered).sum(axis=1))

        return ClosureEffect(
            closed_links=closed,
            duration_s=self.duration_s,
            threshold_m=self.threshold_m,
            junction_ids=self.junction_ids,
            pressure_drop_m=np.clip((p0 - p).max(axis=0), 0.0, None),
            lowest_pressure_m=p.min(axis=0),
            base_lowest_pressure_m=p0.min(axis=0),
            unsupplied_node_m3=node_m3,
            unsupplied_m3=total,
            unsupplied_m3s=total / span if span > 0 else total,
            newly_low=newly_low,
            emitter_outflow_change_m3=emitted(run) - emitted(base),
        )

    def close(self) -> None:
        """Close the project and remove the temporary copy, if any."""
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.close()
            self._engine = None  # type: ignore[assignment]
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ClosureSimulator:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
