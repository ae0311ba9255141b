"""Leak detection on a network and a folder of SCADA readings (``waterops detect leaks``).

Reads the network and the SCADA folder (BattLeDIM layout: ``pressures.csv``, ``flows.csv``,
``levels.csv``, optional ``demands.csv``; a ``Timestamp`` column and one column per sensor
named by its element id), computes the leak signatures of every pipe on the hydraulic model
(a leak at each junction, simulated for a day in a :func:`~waterops.hydraulics.batch.run_batch`;
a pipe's signature is the mean of its end junctions'), runs the online detector of
:mod:`waterops.detection.leaks` (on the data-driven residuals, or with ``--method model`` on
residuals against the model fed smart-meter demands, :mod:`waterops.service.leak_model`; or
the minimum-night-flow baseline of :mod:`waterops.detection.leak_mnf`) and returns one row
per raised leak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from waterops.detection.leak_mnf import NightFlowSettings, detect_night_flow_leaks
from waterops.detection.leaks import (
    LeakDetectorSettings,
    LeakSignatures,
    boundary_features,
    detect_leaks,
)
from waterops.errors import ConfigError, TelemetryError
from waterops.hydraulics.batch import RunOptions, ScenarioFailure, run_batch
from waterops.hydraulics.results import SimulationResults
from waterops.hydraulics.scenarios import NodeLeak, Scenario
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.service.leak_model import (
    MIN_METERED_SHARE,
    MODELLED_PREFIX,
    model_residuals,
    time_of_day_features,
)
from waterops.units import to_si, unit_quantity

SCADA_FILES = ("pressures", "flows", "levels", "demands")
REQUIRED_FILES = ("pressures", "flows", "levels")
SIGNATURE_LEAK_M3S = 0.002
"""Size of the simulated leak behind each signature [m³/s] (signatures are per m³/s)."""
SIGNATURE_PRESSURE_M = 30.0
"""Pressure at which the signature leak's emitter gives SIGNATURE_LEAK_M3S [m]."""
SIGNATURE_DURATION_S = 86_400
"""Signatures are averaged over one simulated day [s]."""


@dataclass(frozen=True)
class ScadaUnits:
    """Units of the SCADA files (``m``, ``kPa``, ``psi`` …; ``m3/s``, ``m3/h``, ``l/s`` …)."""

    pressure: str = "m"
    flow: str = "m3/s"
    level: str = "m"

    def __post_init__(self) -> None:
        for name, wanted in (("pressure", ("pressure", "length")), ("flow", ("flow",)),
                             ("level", ("length",))):
            unit = getattr(self, name)
            if unit_quantity(unit) not in wanted:
                raise ConfigError(f"--{name}-unit {unit!r} is not a {name} unit")


@dataclass(frozen=True)
class Scada:
    """SCADA readings in SI, time (UTC) x sensor: pressure [m], flow [m³/s], level [m],
    demand [m³/s] (empty when not given)."""

    pressures_m: pd.DataFrame
    flows_m3s: pd.DataFrame
    levels_m: pd.DataFrame
    demands_m3s: pd.DataFrame


def read_scada_file(path: Path, factor: float) -> pd.DataFrame:
    """One SCADA CSV: ``Timestamp`` + numeric sensor columns, times as UTC, values x factor.

    Comma-separated with decimal points, or (as BattLeDIM's files) semicolon-separated with
    decimal commas.

    Raises
    ------
    TelemetryError
        naming the file (and the column or line) when it is missing or malformed.
    """
    if not path.is_file():
        raise TelemetryError(f"{path}: file not found")
    with path.open(encoding="utf-8-sig") as file:
        header = file.readline()
    # European exports (BattLeDIM's among them) separate with ';' and write decimal commas
    european = ";" in header and "," not in header
    table = pd.read_csv(path, dtype={"Timestamp": str}, encoding="utf-8-sig",
                        sep=";" if european else ",", decimal="," if european else ".")
    table.columns = [str(c).strip() for c in table.columns]
    if "Timestamp" not in table.columns:
        raise TelemetryError(f"{path}: no 'Timestamp' column (columns: "
                             f"{', '.join(table.columns[:5])} …)")
    times = pd.to_datetime(table.pop("Timestamp"), utc=True, errors="coerce", format="mixed")
    if times.isna().any():
        line = int(np.flatnonzero(times.isna().to_numpy())[0]) + 2
        raise TelemetryError(f"{path}, line {line}: time cannot be read")
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise TelemetryError(f"{path}, line {line}, column {column!r}: "
                                 f"{table[column].iloc[line - 2]!r} is not a number")
        table[column] = values * factor
    table.index = pd.DatetimeIndex(times)
    if not table.index.is_monotonic_increasing or table.index.has_duplicates:
        raise TelemetryError(f"{path}: times must increase from line to line")
    return table.astype(float)


def read_scada(folder: Path, units: ScadaUnits | None = None) -> Scada:
    """Read a SCADA folder; pressures, flows and levels are needed, demands optional.

    Raises
    ------
    TelemetryError
        when a required file is missing or a file is malformed.
    """
    units = units or ScadaUnits()
    if not folder.is_dir():
        raise TelemetryError(f"--scada {folder}: not a folder")
    factors = {"pressures": to_si(1.0, units.pressure), "flows": to_si(1.0, units.flow),
               "levels": to_si(1.0, units.level), "demands": to_si(1.0, units.flow)}
    tables = {}
    for name in SCADA_FILES:
        path = folder / f"{name}.csv"
        if name not in REQUIRED_FILES and not path.is_file():
            tables[name] = pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
            continue
        tables[name] = read_scada_file(path, factors[name])
    index = tables["pressures"].index
    for name in ("flows", "levels"):
        if not tables[name].index.equals(index):
            tables[name] = tables[name].reindex(index, method="ffill")
    return Scada(tables["pressures"], tables["flows"], tables["levels"], tables["demands"])


def check_sensors(net: Network, scada: Scada, folder: Path) -> None:
    """Every sensor column must name an element of the right kind in the network.

    Raises
    ------
    TelemetryError
        naming the file and the column.
    """
    nodes, links, tanks = set(net.node_ids()), set(net.link_ids()), set(net.tanks.index)
    checks = (("pressures", scada.pressures_m, nodes, "node"),
              ("flows", scada.flows_m3s, links, "link"),
              ("levels", scada.levels_m, tanks, "tank"),
              ("demands", scada.demands_m3s, nodes, "node"))
    for name, table, known, kind in checks:
        unknown = [c for c in table.columns if c not in known]
        if unknown:
            raise TelemetryError(f"{folder / (name + '.csv')}, column {unknown[0]!r}: no {kind} "
                                 "of that id in the network")
    if scada.pressures_m.shape[1] == 0:
        raise TelemetryError(f"{folder / 'pressures.csv'}: no pressure sensor column")


# ------------------------------------------------------------------ leak signatures


@dataclass(frozen=True)
class DayMeans:
    """Day means of one signature run: sensor pressures [m], boundary features, and the
    outflow [m³/s] of the leak junction (of every node for the leak-free run)."""

    pressure: npt.NDArray[np.float64]
    features: npt.NDArray[np.float64]
    feature_names: list[str]
    node_demand_m3s: dict[str, float]


@dataclass(frozen=True)
class SignatureReduce:
    """Batch reduce: day means of sensor pressures [m], boundary features and the emitter
    outflow of the leak junction [m³/s]."""

    pressure_ids: tuple[str, ...]
    flow_ids: tuple[str, ...]

    def __call__(self, scenario: Scenario, results: SimulationResults) -> DayMeans:
        features = boundary_features(results.link["flowrate"][list(self.flow_ids)])
        leak = scenario.changes[0] if scenario.changes else None
        # the leak junction's day-mean outflow: its consumers plus the emitter
        node = leak.node_id if isinstance(leak, NodeLeak) else None
        demand = results.node["demand"].mean()
        outflow = {str(k): float(v) for k, v in demand.to_dict().items()
                   if node is None or k == node}
        pressure = results.node["pressure"][list(self.pressure_ids)].mean()
        return DayMeans(pressure.to_numpy(dtype=float), features.mean().to_numpy(dtype=float),
                        [str(c) for c in features.columns], outflow)


def pipe_signatures(network: Path, net: Network, scada: Scada, *, workers: int = 1,
                    dask_address: str | None = None,
                    duration_s: int = SIGNATURE_DURATION_S) -> LeakSignatures:
    """Signatures of every pipe between junctions: residual changes per m³/s of leak.

    A leak of about SIGNATURE_LEAK_M3S is put at each junction in turn and the network run
    for a day with its own patterns; the change of the day-mean sensor pressures and boundary
    features from the leak-free run, divided by the leak's outflow, is the junction's
    signature. A pipe takes the mean of its end junctions' (a leak half-way along).
    ``duration_s`` [s] sets how long each run is (0: a single snapshot at the start, tanks at
    their initial levels).
    """
    junctions = list(net.junctions.index)
    coeff = SIGNATURE_LEAK_M3S / math.sqrt(SIGNATURE_PRESSURE_M)
    scenarios = [Scenario(network, (), name="base")] + [
        Scenario(network, (NodeLeak(j, emitter_coeff=coeff),), name=j) for j in junctions]
    reduce = SignatureReduce(tuple(scada.pressures_m.columns), tuple(scada.flows_m3s.columns))
    results = run_batch(network, scenarios, reduce=reduce, workers=workers, on_error="record",
                        dask_address=dask_address,
                        options=RunOptions(duration_s=duration_s))
    base = results[0]
    if isinstance(base, ScenarioFailure):
        raise ConfigError(f"{network}: the leak-free network does not simulate: {base}")
    node_pressure, node_features = {}, {}
    for junction, result in zip(junctions, results[1:], strict=True):
        if isinstance(result, ScenarioFailure):
            continue
        # outflow of the junction with the leak minus its consumers' share in the base run
        leak_m3s = result.node_demand_m3s[junction] - base.node_demand_m3s[junction]
        if leak_m3s <= 1e-6:
            continue  # no pressure, no leak: the junction cannot be told from the others
        node_pressure[junction] = (result.pressure - base.pressure) / leak_m3s
        node_features[junction] = (result.features - base.features) / leak_m3s
    pressure = pd.DataFrame(node_pressure, index=list(reduce.pressure_ids))
    features = pd.DataFrame(node_features, index=base.feature_names)
    pipes = net.pipes
    ok = pipes["node1"].isin(pressure.columns) | pipes["node2"].isin(pressure.columns)
    pipe_pressure, pipe_features = {}, {}
    for pipe_id, row in pipes[ok].iterrows():
        ends = [n for n in (row["node1"], row["node2"]) if n in pressure.columns]
        pipe_pressure[pipe_id] = pressure[ends].mean(axis=1)
        pipe_features[pipe_id] = features[ends].mean(axis=1)
    return LeakSignatures(pd.DataFrame(pipe_pressure), pd.DataFrame(pipe_features))


def pipe_distance_matrix(net: Network, pipe_ids: list[str]) -> npt.NDArray[np.float64]:
    """Distances along pipes [m] between the midpoints of ``pipe_ids`` (0 on the diagonal).

    Shortest paths on the network graph weighted by pipe length (pumps and valves count
    1 mm: they join their nodes).
    """
    links = net.link_table()
    nodes = {n: i for i, n in enumerate(net.node_ids())}
    lengths = pd.Series(1e-3, index=links.index)
    lengths[net.pipes.index] = net.pipes["length_m"].clip(lower=1e-3)
    rows = links["node1"].map(nodes).to_numpy()
    cols = links["node2"].map(nodes).to_numpy()
    graph = coo_matrix((lengths.to_numpy(), (rows, cols)), shape=(len(nodes), len(nodes)))
    ends = links.loc[pipe_ids, ["node1", "node2"]]
    a = ends["node1"].map(nodes).to_numpy()
    b = ends["node2"].map(nodes).to_numpy()
    used = np.unique(np.concatenate([a, b]))
    node_dist = dijkstra(graph.tocsr(), directed=False, indices=used)
    where = {n: k for k, n in enumerate(used.tolist())}
    ra = np.array([where[i] for i in a.tolist()])
    rb = np.array([where[i] for i in b.tolist()])
    between = np.minimum.reduce([node_dist[ra][:, a], node_dist[ra][:, b],
                                 node_dist[rb][:, a], node_dist[rb][:, b]])
    half = 0.5 * lengths.loc[pipe_ids].to_numpy()
    distance = between + half[:, None] + half[None, :]
    np.fill_diagonal(distance, 0.0)
    return np.asarray(distance, dtype=np.float64)


# ------------------------------------------------------------------ running a detector


def dma_inflow(net: Network, scada: Scada) -> pd.Series:
    """Consumption of the network as one DMA [m³/s]: metered outflow of reservoirs minus
    what tanks take in (metered link flows, or tank area x level change)."""
    links = net.link_table()
    flows = scada.flows_m3s.ffill()
    total = pd.Series(0.0, index=scada.pressures_m.index)
    for reservoir in net.reservoirs.index:
        touching = links[(links["node1"] == reservoir) | (links["node2"] == reservoir)]
        for link, row in touching.iterrows():
            if link in flows.columns:
                total += flows[link] * (1.0 if row["node1"] == reservoir else -1.0)
    for tank, tank_row in net.tanks.iterrows():
        touching = links[(links["node1"] == tank) | (links["node2"] == tank)]
        metered = [k for k in touching.index if k in flows.columns]
        if metered:
            for link in metered:
                total -= flows[link] * (1.0 if touching.at[link, "node2"] == tank else -1.0)
        elif tank in scada.levels_m.columns:
            area_m2 = math.pi * float(tank_row["diameter_m"]) ** 2 / 4.0
            level = scada.levels_m[tank].ffill()
            dt_s = level.index.to_series().diff().dt.total_seconds()
            total -= (area_m2 * level.diff() / dt_s).fillna(0.0)
    return total


def run_leak_detection(network: Path, scada_dir: Path, *, units: ScadaUnits | None = None,
                       method: str = "residual", settings: LeakDetectorSettings | None = None,
                       night: NightFlowSettings | None = None, workers: int = 1,
                       dask_address: str | None = None) -> pd.DataFrame:
    """Detect leaks in a SCADA folder; rows ``pipe_id, detected_at, score``.

    ``method``: ``"residual"`` (pressure residuals and leak signatures), ``"model"``
    (residuals measured − modelled with smart-meter demands from ``demands.csv``, see
    :mod:`waterops.service.leak_model`; same signatures and online detector) or ``"mnf"``
    (minimum night flow of the whole network as one DMA; no pipe: ``pipe_id`` is empty).

    Raises
    ------
    NetworkFileError, TelemetryError, ConfigError
        for an unreadable network, malformed SCADA files or a bad option.
    """
    net = read_inp(network)
    scada = read_scada(scada_dir, units)
    check_sensors(net, scada, scada_dir)
    if method == "mnf":
        alarms = detect_night_flow_leaks(dma_inflow(net, scada), night)
        return pd.DataFrame({"pipe_id": "", "detected_at": alarms["detected_at"],
                             "score": alarms["score"]})
    if method not in ("residual", "model"):
        raise ConfigError(f"--method {method!r}: use 'residual', 'model' or 'mnf'")
    # the model method's residuals see tanks at their measured levels: a leak's signature is
    # its instantaneous effect (tanks held), not a day's drain of the tanks
    signatures = pipe_signatures(network, net, scada, workers=workers, dask_address=dask_address,
                                 duration_s=0 if method == "model" else SIGNATURE_DURATION_S)
    distances = pipe_distance_matrix(net, [str(p) for p in signatures.pressure.columns])
    if method == "model":
        return _detect_with_model(network, net, scada, signatures, distances, settings,
                                  scada_dir)
    features = boundary_features(scada.flows_m3s)
    return detect_leaks(scada.pressures_m, features, signatures, settings, distances)


def _detect_with_model(network: Path, net: Network, scada: Scada, signatures: LeakSignatures,
                       distances: npt.NDArray[np.float64],
                       settings: LeakDetectorSettings | None, scada_dir: Path) -> pd.DataFrame:
    """``--method model``: the detector of the residual method run on the residuals
    *measured − modelled* (the model fed smart-meter demands and measured tank levels); its
    reference explains each logger's residual by the others', the boundary flows, the
    modelled logger pressures (which a leak does not move) and the time of day."""
    consumers = net.junctions.index[net.junctions["base_demand_m3s"] > 0]
    metered = scada.demands_m3s.columns.intersection(consumers)
    if len(metered) < MIN_METERED_SHARE * len(consumers):
        raise TelemetryError(
            f"{scada_dir / 'demands.csv'}: {len(metered)} of {len(consumers)} consumer "
            "junctions metered; --method model needs smart meters at most of them")
    residual, modelled = model_residuals(network, scada.pressures_m,
                                         scada.demands_m3s[metered], scada.levels_m)
    times = pd.DatetimeIndex(residual.index)
    flows = scada.flows_m3s.reindex(times, method="ffill")
    features = pd.concat([boundary_features(flows), modelled.add_prefix(MODELLED_PREFIX),
                          time_of_day_features(times)], axis=1)
    return detect_leaks(residual, features, signatures, settings, distances)


def format_detections(rows: pd.DataFrame) -> pd.DataFrame:
    """The output table of ``detect leaks``: ``pipe_id,detected_at,score``, times in UTC
    written ``YYYY-MM-DD HH:MM:SS``."""
    out = rows[["pipe_id", "detected_at", "score"]].copy()
    out["detected_at"] = pd.to_datetime(out["detected_at"], utc=True).dt.strftime(
        "%Y-%m-%d %H:%M:%S")
    out["score"] = out["score"].astype(float).round(3)
    return out
