"""Pipe criticality: close every pipe in turn and see who loses water or pressure.

For each pipe (optionally also each valve) a scenario closes it for the whole run; the run
uses pressure-driven demand, so a junction cut off or starved of pressure really gets less
water, and the shortfall against the consumer demand asked for is the *unsupplied demand*
(EPANET 2.3's demand deficit; emitter outflow such as leakage is not demand).

Per closed link the result gives: unsupplied demand volume [m³] and its share of the total
demand [%], the number of junctions whose pressure falls below a threshold at any report time
(default 14 m, about 0.14 MPa, the end-of-network pressure commonly asked of Chinese utilities),
and the worst junction pressure [m] with where it happened.

Volumes integrate report-time values over the following report interval (demands in EPANET
are step functions of the pattern time step); the last report time closes the run and
carries no interval. A run of a single period (steady state) counts one second, so its
"volumes" are rates [m³/s].
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import ScenarioError
from waterops.hydraulics.batch import (
    BatchProgress,
    ReportArrays,
    RunOptions,
    ScenarioFailure,
    report_arrays,
    run_batch,
)
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.scenarios import (
    PressureDrivenDemand,
    ProjectUnits,
    Scenario,
    SetLinkStatus,
)

if TYPE_CHECKING:
    from waterops.model.network import Network

DEFAULT_THRESHOLD_M = 14.0
"""Pressure threshold [m]: about 0.14 MPa, the network end pressure commonly required."""
DEFAULT_DURATION_S = 24 * 3600
"""Simulated time [s] when the network file has no duration (a steady-state file)."""
_VALVES = (tk.PRV, tk.PSV, tk.PBV, tk.FCV, tk.TCV, tk.GPV, getattr(tk, "PCV", -1))

COLUMNS = (
    "link", "unsupplied_m3", "unsupplied_pct", "nodes_below_threshold", "worst_pressure_m",
    "worst_node", "error",
)
"""Columns of the criticality table, in order."""


@dataclass(frozen=True)
class Criticality:
    """What closing one link does.

    Attributes
    ----------
    link_id : the closed link (``""`` for the base network)
    unsupplied_m3 : demand not delivered over the run [m³]
    unsupplied_pct : the same as a share of the full demand over the run [%]
    nodes_below_threshold : junctions below the pressure threshold at some report time
    worst_pressure_m : lowest junction pressure over the run [m]
    worst_node : the junction where it happened
    """

    link_id: str
    unsupplied_m3: float
    unsupplied_pct: float
    nodes_below_threshold: int
    worst_pressure_m: float
    worst_node: str


@dataclass(frozen=True)
class CriticalityReduce:
    """Reduce one run to a :class:`Criticality` (picklable: it travels to the workers).

    Attributes
    ----------
    junction_ids : junction ids
    junction_columns : their positions among the engine's nodes
    threshold_m : pressure threshold [m]
    """

    node_tables: ClassVar[tuple[str, ...]] = ("pressure", "full_demand", "demand_deficit")
    junction_ids: tuple[str, ...]
    junction_columns: npt.NDArray[np.intp]
    threshold_m: float

    def __call__(self, scenario: Scenario, arrays: ReportArrays) -> Criticality:
        columns = self.junction_columns
        pressure = arrays.node["pressure"][:, columns]
        weights_s = report_weights_s(arrays.time_s)
        # EPANET's own split of consumer demand: asked for, and not delivered under PDA
        # (emitter outflow, such as leaks, is neither)
        unsupplied = float(arrays.node["demand_deficit"][:, columns].sum(axis=1) @ weights_s)
        total = float(arrays.node["full_demand"][:, columns].sum(axis=1) @ weights_s)
        worst = np.unravel_index(int(np.argmin(pressure)), pressure.shape)
        return Criticality(
            link_id=_closed_link(scenario),
            unsupplied_m3=unsupplied,
            unsupplied_pct=100.0 * unsupplied / total if total > 0 else 0.0,
            nodes_below_threshold=int((pressure < self.threshold_m).any(axis=0).sum()),
            worst_pressure_m=float(pressure[worst]),
            worst_node=self.junction_ids[int(worst[1])],
        )


def build_reduce(engine: EpanetEngine, threshold_m: float) -> CriticalityReduce:
    """The criticality reduce of an opened network (its junctions, in engine order)."""
    ph = engine.handle
    columns = [i for i in range(len(engine.node_ids))
               if int(tk.getnodetype(ph, i + 1)) == tk.JUNCTION]
    return CriticalityReduce(
        junction_ids=tuple(engine.node_ids[i] for i in columns),
        junction_columns=np.asarray(columns, dtype=np.intp),
        threshold_m=threshold_m,
    )


def _closed_link(scenario: Scenario) -> str:
    closed = [c.link_id for c in scenario.changes if isinstance(c, SetLinkStatus)]
    return closed[0] if closed else ""


def report_weights_s(times_s: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Seconds each report time stands for: up to the next one; the last one none.

    A single report time (steady state) stands for one second.
    """
    times = np.asarray(times_s, dtype=np.float64)
    if times.size <= 1:
        return np.ones(times.size)
    return np.append(np.diff(times), 0.0)


@contextmanager
def _opened(network: Network | Path | str) -> Iterator[EpanetEngine]:
    if isinstance(network, str | Path):
        with EpanetEngine.open(network) as engine:
            yield engine
        return
    from waterops.io.inp import write_inp

    with tempfile.TemporaryDirectory(prefix="waterops-criticality-") as folder:
        path = Path(folder) / "network.inp"
        write_inp(network, path)
        with EpanetEngine.open(path) as engine:
            yield engine


def criticality(
    network: Network | Path | str,
    *,
    threshold_m: float = DEFAULT_THRESHOLD_M,
    required_pressure_m: float | None = None,
    duration_s: int | None = None,
    include_valves: bool = False,
    min_diameter_m: float | None = None,
    links: list[str] | None = None,
    workers: int = 1,
    dask_address: str | None = None,
    progress: BatchProgress | None = None,
) -> pd.DataFrame:
    """Close each pipe (and valve, if asked) in turn; return what it does, one row per link.

    Parameters
    ----------
    network : the network (a Network or an .inp file)
    threshold_m : pressure threshold [m] for counting junctions with too little pressure
    required_pressure_m : pressure-driven demand's pressure for full delivery [m]
        (default: ``threshold_m``); nothing is delivered at 0 m or below
    duration_s : simulated time [s] (default: the file's, or 24 h for a steady-state file)
    include_valves : also close each valve in turn
    min_diameter_m : close only links at least this wide [m] (the mains of a large network:
        every pipe of a city model takes long)
    links : close exactly these links instead (ids)
    workers, dask_address, progress : as for :func:`~waterops.hydraulics.batch.run_batch`

    Returns
    -------
    pandas.DataFrame
        columns :data:`COLUMNS`, one row per closed link in network order; ``error`` holds
        the engine's message for a link whose closure could not be simulated (its figures
        are NaN). ``df.attrs["base"]`` holds the same figures for the base network, and
        ``df.attrs["threshold_m"]``, ``df.attrs["duration_s"]`` the settings used.

    Raises
    ------
    ScenarioError
        if ``links`` names a link the network does not have.
    NetworkFileError
        if the network file is missing or invalid.
    """
    if not threshold_m > 0:
        raise ScenarioError(f"the pressure threshold must be positive, got {threshold_m!r} m")
    if duration_s is not None and duration_s < 0:
        raise ScenarioError(f"the duration must not be negative, got {duration_s} s")
    pda = PressureDrivenDemand(0.0, required_pressure_m or threshold_m, 0.5)
    with _opened(network) as engine:
        if duration_s is None:
            duration_s = int(tk.gettimeparam(engine.handle, tk.DURATION)) or DEFAULT_DURATION_S
        targets = _links_to_close(engine, include_valves, links, min_diameter_m)
        reduce = build_reduce(engine, threshold_m)
        base_scenario = Scenario(network, (), name="base")
        undo = pda.apply(engine)
        try:
            base_run = report_arrays(engine, reduce.node_tables, duration_s=duration_s)
        finally:
            undo()
        base = reduce(base_scenario, base_run)
    scenarios = [Scenario(network, (SetLinkStatus(link, open=False),), name=link)
                 for link in targets]
    rows = run_batch(network, scenarios, reduce=reduce, workers=workers,
                     dask_address=dask_address, setup=(pda,),
                     options=RunOptions(duration_s=duration_s), on_error="record",
                     progress=progress)
    table = pd.DataFrame([_row(s, r) for s, r in zip(scenarios, rows, strict=True)],
                         columns=list(COLUMNS))
    table.attrs["base"] = _row(base_scenario, base)
    table.attrs["threshold_m"] = threshold_m
    table.attrs["duration_s"] = duration_s
    return table


def _links_to_close(engine: EpanetEngine, include_valves: bool, links: list[str] | None,
                    min_diameter_m: float | None) -> list[str]:
    ph = engine.handle
    if links is not None:
        for link in links:
            engine.link_index(link)  # UnknownElementError (a ScenarioError) if unknown
        return list(links)
    kinds = (tk.PIPE, tk.CVPIPE) + (_VALVES if include_valves else ())
    chosen = [(i, link) for i, link in enumerate(engine.link_ids, start=1)
              if int(tk.getlinktype(ph, i)) in kinds]
    if min_diameter_m is not None:
        # the toolkit gives diameters in mm (SI files) or inches (US files)
        per_unit_m = ProjectUnits.of(ph).length_m / (12.0 if _us_units(ph) else 1000.0)
        chosen = [(i, link) for i, link in chosen
                  if tk.getlinkvalue(ph, i, tk.DIAMETER) * per_unit_m >= min_diameter_m - 1e-9]
    return [link for _, link in chosen]


def _us_units(ph: Any) -> bool:
    return ProjectUnits.of(ph).length_m != 1.0


def _row(scenario: Scenario, result: Criticality | ScenarioFailure) -> dict[str, object]:
    if isinstance(result, ScenarioFailure):
        return {"link": _closed_link(scenario), "unsupplied_m3": np.nan,
                "unsupplied_pct": np.nan, "nodes_below_threshold": pd.NA,
                "worst_pressure_m": np.nan, "worst_node": None, "error": result.message}
    return {"link": result.link_id, "unsupplied_m3": result.unsupplied_m3,
            "unsupplied_pct": result.unsupplied_pct,
            "nodes_below_threshold": result.nodes_below_threshold,
            "worst_pressure_m": result.worst_pressure_m, "worst_node": result.worst_node,
            "error": None}
