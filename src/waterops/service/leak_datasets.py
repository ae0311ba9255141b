"""Labelled leak data sets: SCADA-like readings of a network with known leaks (BattLeDIM layout).

:func:`generate_leak_dataset` simulates a network for weeks or months with
:class:`~waterops.hydraulics.stepper.NetworkStepper` and writes, into a folder:

- ``pressures.csv``, ``flows.csv``, ``levels.csv``, ``demands.csv``: a ``Timestamp`` column
  (UTC, ``YYYY-MM-DD HH:MM``) and one column per sensor named by its network element id
  (junction for pressures and demands, link for flows, tank for levels), SI units: pressure
  and level [m], flow and demand [m³/s];
- ``leaks.csv``: the ground truth, one row per leak: ``pipe_id, start, peak, end,
  peak_flow_m3s, type`` (``abrupt``: full size at ``start``; ``incipient``: growing linearly
  from 0 at ``start`` to full size at ``peak``); the leak stops at ``end`` (repaired, or the
  end of the period);
- ``network.inp``: the network the readings come from, as given (without the leaks).

With ``ami`` (a utility with smart meters at every customer, :attr:`LeakDatasetSpec.ami`),
``demands.csv`` holds every consumer junction's demand as its meters give it (the mean over
each read interval, written at the interval's end, quantised to ``ami_resolution_m3`` per read
and with a relative meter noise), and ``network.inp`` is the network as the utility's model
knows it: each pipe's roughness off by up to ``roughness_error`` (the model is not the truth,
as BattLeDIM's given model was not). The readings and the ground truth are those of the same
seed without ``ami`` (the meters and the model error draw from their own random stream).

How the readings are made (the choices of the BattLeDIM 2020 data set, Vrachimis et al.):

- every leak is an orifice half-way along its pipe (the pipe is split by a leak junction
  carrying an emitter, as :class:`~waterops.hydraulics.scenarios.PipeLeak` does); its
  emitter coefficient is sized so that it gives ``peak_flow_m3s`` at the junction's mean
  pressure, so the actual flow follows the pressure like a real leak;
- consumer demand is the file's patterns times a day-to-day factor common to the network
  (weather, weekdays) times a per-junction AR(1) noise (household randomness);
- sensors add Gaussian noise: pressure and level [m], flows and demands relative.

The first ``leak_free_days`` have no leak, so a detector can learn normal behaviour from
them (as BattLeDIM gives a year of historical data).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from waterops.errors import ConfigError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.stepper import NetworkStepper
from waterops.io.inp import read_inp, write_inp
from waterops.model.network import Network
from waterops.model.topology import network_graph

TIME_FORMAT = "%Y-%m-%d %H:%M"
"""How times are written in the data set's CSV files (UTC)."""
LEAK_SUFFIX = "_leak"
"""Suffix of the junction that splits a leaking pipe (as in PipeLeak)."""
MAX_ID_CHARS = 31
"""EPANET's longest element id."""


@dataclass(frozen=True)
class LeakDatasetSpec:
    """What to generate.

    Attributes
    ----------
    duration_days : simulated period [day]
    step_s : time between readings [s] (also the hydraulic step)
    leak_count : number of leaks
    leak_free_days : days at the start without any leak [day]
    min_flow_m3s, max_flow_m3s : range of leak peak flows [m³/s], drawn log-uniform
    incipient_share : share of leaks that grow linearly (the others are abrupt bursts)
    repaired_share : share of leaks repaired before the end of the period
    pressure_sensors : number of pressure loggers, spread over the network
    demand_sensors : number of junctions with a metered (AMR) demand
    demand_noise : standard deviation of the per-junction demand factor [-]
    daily_noise : standard deviation of the network-wide day factor [-]
    pressure_noise_m : pressure and level sensor noise [m]
    flow_noise : relative noise of flow and demand meters [-]
    start : time of the first reading (UTC)
    ami : meter every consumer junction (smart meters) and perturb the written model's
        roughness (see the module's docstring)
    ami_interval_s : smart-meter read interval [s] (a multiple of ``step_s``)
    ami_resolution_m3 : volume resolution of one smart-meter read [m³]
    ami_noise : relative noise of a smart-meter read [-]
    roughness_error : largest relative roughness error of the written model per pipe [-]
        (drawn uniformly in ±roughness_error); only with ``ami``
    """

    duration_days: float = 180.0
    step_s: int = 900
    leak_count: int = 20
    leak_free_days: float = 14.0
    min_flow_m3s: float = 0.0005
    max_flow_m3s: float = 0.008
    incipient_share: float = 0.4
    repaired_share: float = 0.7
    pressure_sensors: int = 25
    demand_sensors: int = 10
    demand_noise: float = 0.10
    daily_noise: float = 0.03
    pressure_noise_m: float = 0.02
    flow_noise: float = 0.005
    start: str = "2025-01-01 00:00"
    ami: bool = False
    ami_interval_s: int = 900
    ami_resolution_m3: float = 0.001
    ami_noise: float = 0.02
    roughness_error: float = 0.10

    def __post_init__(self) -> None:
        if self.ami_interval_s <= 0 or self.ami_interval_s % self.step_s:
            raise ConfigError(f"smart-meter read interval {self.ami_interval_s} s must be a "
                              f"multiple of the step {self.step_s} s")


@dataclass(frozen=True)
class PlannedLeak:
    """One leak of the ground truth (times in seconds since the first reading)."""

    pipe_id: str
    start_s: int
    peak_s: int
    end_s: int
    peak_flow_m3s: float
    kind: str

    def size_at(self, time_s: int) -> float:
        """Share of the full size [0-1] the leak has at ``time_s`` [s]."""
        if time_s < self.start_s or time_s >= self.end_s:
            return 0.0
        if time_s >= self.peak_s or self.peak_s == self.start_s:
            return 1.0
        return (time_s - self.start_s) / (self.peak_s - self.start_s)


def leak_candidate_pipes(net: Network) -> list[str]:
    """Pipes that can carry a generated leak: open pipes between two junctions."""
    pipes = net.pipes
    junctions = set(net.junctions.index)
    status = pipes["status"].fillna("OPEN").astype(str).str.upper()
    ok = (pipes["node1"].isin(junctions) & pipes["node2"].isin(junctions)
          & (status != "CLOSED"))
    ids = [p for p in pipes.index[ok] if len(p) + len(LEAK_SUFFIX) + 2 <= MAX_ID_CHARS]
    return ids


def plan_leaks(net: Network, spec: LeakDatasetSpec, rng: np.random.Generator) -> list[PlannedLeak]:
    """Draw the leaks: pipes (distinct), sizes, shapes, start, peak and end times."""
    candidates = leak_candidate_pipes(net)
    if len(candidates) < spec.leak_count:
        raise ConfigError(f"the network has {len(candidates)} pipes that can leak, "
                          f"fewer than the {spec.leak_count} leaks asked for")
    pipes = rng.choice(candidates, size=spec.leak_count, replace=False)
    end_of_period = int(spec.duration_days * 86_400)
    first = int(spec.leak_free_days * 86_400)
    last = end_of_period - 3 * 86_400  # every leak has at least 3 days to be seen
    if last <= first:
        raise ConfigError("the period is too short for leaks after the leak-free days")
    leaks = []
    for pipe in pipes:
        start = _on_step(int(rng.uniform(first, last)), spec.step_s)
        flow = float(math.exp(rng.uniform(math.log(spec.min_flow_m3s),
                                          math.log(spec.max_flow_m3s))))
        incipient = rng.random() < spec.incipient_share
        growth = _on_step(int(rng.uniform(2, 10) * 86_400), spec.step_s) if incipient else 0
        peak = min(start + growth, end_of_period)
        end = end_of_period
        if rng.random() < spec.repaired_share:
            end = min(end_of_period, peak + _on_step(int(rng.uniform(3, 20) * 86_400),
                                                      spec.step_s))
        leaks.append(PlannedLeak(str(pipe), start, peak, end, flow,
                                 "incipient" if incipient else "abrupt"))
    return sorted(leaks, key=lambda leak: leak.start_s)


def _on_step(time_s: int, step_s: int) -> int:
    return (time_s // step_s) * step_s


def split_leak_pipes(net: Network, pipe_ids: list[str]) -> Network:
    """A copy of ``net`` where each pipe of ``pipe_ids`` is split half-way by a junction
    ``<pipe>_leak`` (no demand, no emitter yet); the far half is ``<pipe>_leak_b``."""
    out = net.copy()
    junctions, pipes, coords = out.junctions, out.pipes, out.coordinates
    new_junctions: dict[str, dict[str, object]] = {}
    new_pipes: dict[str, dict[str, object]] = {}
    new_coords: dict[str, dict[str, float]] = {}
    for pipe_id in pipe_ids:
        row: dict[str, Any] = {str(k): v for k, v in pipes.loc[pipe_id].to_dict().items()}
        a, b = str(row["node1"]), str(row["node2"])
        half_m = 0.5 * _num(row["length_m"])
        leak_node = f"{pipe_id}{LEAK_SUFFIX}"
        junction: dict[str, object] = {str(k): v for k, v in junctions.loc[a].to_dict().items()}
        junction["elevation_m"] = 0.5 * (_num(junctions.at[a, "elevation_m"])
                                         + _num(junctions.at[b, "elevation_m"]))
        junction["base_demand_m3s"] = 0.0
        junction["emitter_coeff"] = 0.0
        new_junctions[leak_node] = junction
        new_pipes[f"{pipe_id}{LEAK_SUFFIX}_b"] = {**row, "node1": leak_node, "node2": b,
                                                   "length_m": half_m}
        pipes.at[pipe_id, "node2"] = leak_node
        pipes.at[pipe_id, "length_m"] = half_m
        if a in coords.index and b in coords.index:
            new_coords[leak_node] = {str(c): 0.5 * (_num(coords.at[a, c]) + _num(coords.at[b, c]))
                                     for c in coords.columns}
    out.junctions = _appended(junctions, new_junctions)
    out.pipes = _appended(pipes, new_pipes)
    if new_coords:
        out.coordinates = _appended(coords, new_coords)
    return out


def _num(value: Any) -> float:
    """A table cell as a float (pandas' typing does not know the column's dtype)."""
    return float(value)


def _appended(table: pd.DataFrame, rows: dict[str, dict[str, object]] | dict[str, dict[str, float]]
              ) -> pd.DataFrame:
    """``table`` with ``rows`` (id -> column values) added, dtypes kept."""
    extra = pd.DataFrame.from_dict(rows, orient="index")[list(table.columns)]
    return pd.concat([table, extra]).astype(table.dtypes.to_dict())


def spread_sensors(net: Network, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` junctions spread over the network: farthest-point sampling on the pipe
    graph (distance along pipes), starting from a random junction."""
    graph = _length_graph(net)
    junctions = [j for j in net.junctions.index if j in graph]
    count = min(count, len(junctions))
    chosen = [str(rng.choice(junctions))]
    nearest = pd.Series(np.inf, index=junctions)
    while len(chosen) < count:
        dist = nx.single_source_dijkstra_path_length(graph, chosen[-1], weight="length_m")
        nearest = nearest.combine(pd.Series(dist).reindex(junctions).fillna(np.inf), min)
        finite = nearest[np.isfinite(nearest)]
        chosen.append(str(finite.idxmax()))
    return chosen


def _length_graph(net: Network) -> nx.Graph:
    """Simple graph of the network weighted by pipe length [m] (pumps and valves: 0 m)."""
    graph = nx.Graph()
    graph.add_nodes_from(net.node_ids())
    for u, v, link in network_graph(net).edges(keys=True):
        length = _num(net.pipes.at[link, "length_m"]) if link in net.pipes.index else 0.0
        if not graph.has_edge(u, v) or graph[u][v]["length_m"] > length:
            graph.add_edge(u, v, length_m=length)
    return graph


def boundary_links(net: Network) -> list[str]:
    """Links whose flow a utility meters: those touching a reservoir or a tank, and pumps."""
    ends = set(net.reservoirs.index) | set(net.tanks.index)
    links = net.link_table()
    touching = links.index[links["node1"].isin(ends) | links["node2"].isin(ends)]
    return list(dict.fromkeys([*touching.tolist(), *net.pumps.index.tolist()]))


def generate_leak_dataset(network: Path, out_dir: Path, *, seed: int,
                          spec: LeakDatasetSpec | None = None) -> pd.DataFrame:
    """Simulate ``network`` with leaks and write the data set into ``out_dir``.

    Parameters
    ----------
    network : EPANET .inp file
    out_dir : folder to write (created; must not hold a data set already)
    seed : seed of every random draw (same seed, same data set)
    spec : what to generate (default :class:`LeakDatasetSpec`)

    Returns
    -------
    The ground truth written to ``leaks.csv``.

    Raises
    ------
    ConfigError
        when ``out_dir`` already holds files, or the network has too few pipes.
    NetworkFileError, SimulationError
        from reading or simulating the network.
    """
    spec = spec or LeakDatasetSpec()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"--out {out_dir}: folder is not empty")
    rng = np.random.default_rng(seed)
    net = read_inp(network)
    leaks = plan_leaks(net, spec, rng)
    pressure_ids = spread_sensors(net, spec.pressure_sensors, rng)
    demand_pool = net.junctions.index[net.junctions["base_demand_m3s"] > 0]
    demand_ids = sorted(rng.choice(demand_pool, size=min(spec.demand_sensors, len(demand_pool)),
                                   replace=False).tolist())
    # smart meters and the model error draw from their own stream: the readings and leaks of
    # a seed are the same with and without them
    ami_rng = np.random.default_rng([seed, AMI_STREAM])
    if spec.ami:
        demand_ids = sorted(str(j) for j in demand_pool)
    flow_ids = boundary_links(net)
    level_ids = list(net.tanks.index)
    leaky = split_leak_pipes(net, [leak.pipe_id for leak in leaks])
    with tempfile.TemporaryDirectory(prefix="waterops-leaks-") as tmp:
        path = Path(tmp) / "network_with_leaks.inp"
        write_inp(leaky, path)
        readings = _simulate(path, leaks, spec, rng, list(leaky.junctions.index),
                             {"pressures": pressure_ids, "flows": flow_ids, "levels": level_ids,
                              "demands": demand_ids})
    truth = _truth_table(leaks, spec)
    model = network.read_bytes()
    if spec.ami:
        readings["demands"] = smart_meter_reads(readings["demands"], spec, ami_rng)
        model = _with_roughness_error(net, spec.roughness_error, ami_rng)
    _write_all(out_dir, model, readings, truth)
    return truth


AMI_STREAM = 7_0001
"""Second seed word of the random stream of smart meters and model error."""


def smart_meter_reads(demand_m3s: pd.DataFrame, spec: LeakDatasetSpec,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Smart-meter readings of true demands [m³/s] (time x junction, one row per step).

    Each read is the mean over its interval, stamped at the interval's end (a meter reports
    what has passed), its volume quantised to ``ami_resolution_m3`` after a relative noise of
    ``ami_noise``; returned as a mean flow [m³/s]. The noise of ``demand_m3s`` itself (the
    sparse meters' noise) is not wanted here: pass noise-free demands.
    """
    per = spec.ami_interval_s // spec.step_s
    values = demand_m3s.to_numpy(dtype=float)
    reads = len(values[1:]) // per  # the interval [t, t + step) holds the demand solved at t
    means = values[: reads * per].reshape(reads, per, -1).mean(axis=1)
    volume_m3 = means * spec.ami_interval_s * (1 + spec.ami_noise * rng.standard_normal(
        means.shape))
    volume_m3 = np.round(np.maximum(volume_m3, 0.0) / spec.ami_resolution_m3
                         ) * spec.ami_resolution_m3
    times = demand_m3s.index[per::per][:reads]
    return pd.DataFrame(volume_m3 / spec.ami_interval_s, index=times,
                        columns=demand_m3s.columns)


def _with_roughness_error(net: Network, error: float, rng: np.random.Generator) -> bytes:
    """The network file with each pipe's roughness times a factor drawn in 1 ± ``error``."""
    model = net.copy()
    factor = 1.0 + rng.uniform(-error, error, size=len(model.pipes))
    model.pipes["roughness"] = model.pipes["roughness"].to_numpy(dtype=float) * factor
    with tempfile.TemporaryDirectory(prefix="waterops-model-") as tmp:
        path = Path(tmp) / "network.inp"
        write_inp(model, path)
        return path.read_bytes()


def _simulate(path: Path, leaks: list[PlannedLeak], spec: LeakDatasetSpec,
              rng: np.random.Generator, junction_ids: list[str],
              ids: dict[str, list[str]]) -> dict[str, pd.DataFrame]:
    """Step the leaky network through the period; noisy readings per sensor kind."""
    steps = int(spec.duration_days * 86_400) // spec.step_s + 1
    with EpanetEngine.open(path) as engine, NetworkStepper(
        engine, step_s=spec.step_s, quality=None, horizon_s=steps * spec.step_s
    ) as stepper:
        junction_pos = stepper.node_indices(junction_ids)
        base = stepper.base_demands_m3s(junction_pos)
        consumers = base > 0
        positions, base = junction_pos[consumers], base[consumers]
        leak_nodes = [f"{leak.pipe_id}{LEAK_SUFFIX}" for leak in leaks]
        coeff = _emitter_coefficients(stepper, leaks, leak_nodes, spec)
        p_pos = stepper.node_indices(ids["pressures"])
        l_pos = stepper.node_indices(ids["levels"])
        d_pos = stepper.node_indices(ids["demands"])
        f_pos = stepper.link_indices(ids["flows"])
        out = {k: np.empty((steps, n)) for k, n in (
            ("pressures", len(p_pos)), ("flows", len(f_pos)), ("levels", len(l_pos)),
            ("demands", len(d_pos)))}
        ar = np.zeros(len(base))
        rho = math.exp(-spec.step_s / 3600.0)  # household randomness decorrelates in ~1 h
        day_factor = 1.0
        for k in range(steps):
            t = k * spec.step_s
            if t % 86_400 == 0:
                day_factor = 1.0 + spec.daily_noise * rng.standard_normal()
            ar = rho * ar + math.sqrt(1 - rho**2) * spec.demand_noise * rng.standard_normal(
                len(ar))
            stepper.set_base_demands(positions, base * day_factor * np.clip(1.0 + ar, 0.0, None))
            for node, leak, c in zip(leak_nodes, leaks, coeff, strict=True):
                stepper.set_emitter(node, c * leak.size_at(t))
            stepper.advance_to(t)
            out["pressures"][k] = stepper.node_values("pressure")[p_pos]
            out["levels"][k] = stepper.node_values("level")[l_pos]
            out["demands"][k] = stepper.node_values("demand")[d_pos]
            out["flows"][k] = stepper.link_values("flow")[f_pos]
    times = pd.date_range(pd.Timestamp(spec.start), periods=steps, freq=f"{spec.step_s}s")
    noise = {
        "pressures": lambda a: a + spec.pressure_noise_m * rng.standard_normal(a.shape),
        "levels": lambda a: a + spec.pressure_noise_m * rng.standard_normal(a.shape),
        "flows": lambda a: a * (1 + spec.flow_noise * rng.standard_normal(a.shape)),
        # smart meters (ami) add their own noise to the true demands later
        "demands": (lambda a: a) if spec.ami else (
            lambda a: a * (1 + spec.flow_noise * rng.standard_normal(a.shape))),
    }
    return {kind: pd.DataFrame(noise[kind](values), index=times, columns=ids[kind])
            for kind, values in out.items()}


def _emitter_coefficients(stepper: NetworkStepper, leaks: list[PlannedLeak],
                          leak_nodes: list[str], spec: LeakDatasetSpec) -> list[float]:
    """Emitter coefficient [m³/s per m^0.5] giving each leak's peak flow at its junction's
    pressure at the start (read from the first solve, before any leak)."""
    stepper.advance_to(0)
    pressure = stepper.node_values("pressure")[stepper.node_indices(leak_nodes)]
    return [leak.peak_flow_m3s / math.sqrt(max(p, 1.0))
            for leak, p in zip(leaks, pressure.tolist(), strict=True)]


def _truth_table(leaks: list[PlannedLeak], spec: LeakDatasetSpec) -> pd.DataFrame:
    t0 = pd.Timestamp(spec.start)

    def at(seconds: int) -> str:
        return (t0 + pd.Timedelta(seconds=seconds)).strftime(TIME_FORMAT)

    return pd.DataFrame({
        "pipe_id": [leak.pipe_id for leak in leaks],
        "start": [at(leak.start_s) for leak in leaks],
        "peak": [at(leak.peak_s) for leak in leaks],
        "end": [at(leak.end_s) for leak in leaks],
        "peak_flow_m3s": [leak.peak_flow_m3s for leak in leaks],
        "type": [leak.kind for leak in leaks],
    })


def _write_all(out_dir: Path, network: bytes, readings: dict[str, pd.DataFrame],
               truth: pd.DataFrame) -> None:
    """Write every file into a staging folder, then move it into place (nothing half-written)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".leaks-", dir=out_dir.parent) as tmp:
        stage = Path(tmp) / "data"
        stage.mkdir()
        for kind, table in readings.items():
            table.index = pd.DatetimeIndex(table.index).strftime(TIME_FORMAT)
            table.index.name = "Timestamp"
            table.to_csv(stage / f"{kind}.csv", float_format="%.6g")
        truth.to_csv(stage / "leaks.csv", index=False, float_format="%.6g")
        (stage / "network.inp").write_bytes(network)
        if out_dir.exists():
            out_dir.rmdir()
        stage.rename(out_dir)
