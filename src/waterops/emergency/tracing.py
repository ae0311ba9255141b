"""Backward source tracing of a contamination: which node, starting when, explains what the
quality sensors saw (detections and non-detections), over an ensemble of demand scenarios.

Method (the adjoint of plug-flow transport, "backtracking" of flow paths):

1. One hydraulic run per ensemble member (demand multipliers with noise, member 0 = the model
   as it is) through :func:`waterops.hydraulics.batch.run_batch`, so members run in this
   process, in worker processes or on a Dask cluster (``WATEROPS_DASK_ADDRESS``). Each run's
   summary is computed in the worker (the reduce), only a small table comes back.
2. In the worker, for each condensed sensor sample (sensor node, time), the water in the
   sample is followed back in time on a grid of ``time_step_s``: at a junction it splits over
   the links flowing in, in proportion to their flows; along a pipe it goes back by the travel
   time length / velocity (rounded to the grid); pumps and valves pass it without delay;
   reservoirs end the path. A filling tank passes its inflow on without delay and a draining
   tank ends the path (its mixing is not modelled: a tank sample is traced to what flows in).
   This gives ``X[b, n]`` = share of the sample's water that
   left node ``n`` during time step ``b``. Transport of a non-reacting substance is linear, so
   a set-point injection of ``C0`` at node ``c`` from step ``b0`` on predicts the sample's
   concentration ``C0 x sum(X[b0:, c])``: one backtrack per sample answers for every candidate
   node and start time at once (instead of one forward run per candidate and start).
3. For each candidate node and start time, ``C0`` is fitted by least squares to the readings;
   the readings' Gaussian log-likelihood is computed with a standard deviation of the
   detection threshold (the analyser) plus 20 % of the larger of reading and prediction
   (transport and demand error, ``model_error``); the most likely start per node is kept.
   A sample also counts as explained when prediction and reading agree on detection (at
   the threshold): the share explained is reported beside the likelihood.
4. Ranking over the ensemble: mean log-likelihood (a node a member does not see upstream
   scores that member's "no contamination" likelihood), then the mean share explained.

Readings are condensed per sensor before backtracking: a sensor that detected gives its first
detection, the last clean reading before it and its last reading; a sensor that never detected
gives its last reading (with an injection that lasts, a sensor clean at the end was clean
before). Flows are those at the report times of the run, held constant in between.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from waterops.errors import ConfigError, ScenarioError
from waterops.hydraulics.batch import RunOptions, run_batch
from waterops.hydraulics.scenarios import DemandMultiplier, Scenario

if TYPE_CHECKING:
    from waterops.hydraulics.results import SimulationResults
    from waterops.model.network import Network

DEFAULT_TIME_STEP_S = 300
"""Grid of the backtracking [s] (the demo network's quality step)."""


@dataclass(frozen=True)
class SensorReading:
    """One quality reading: sensor node, time since the start of the simulation [s] and the
    contaminant concentration above background [mg/L] (0 = clean)."""

    node_id: str
    time_s: int
    concentration_mg_l: float


@dataclass(frozen=True)
class TraceCandidate:
    """A node that may be the injection point, with its best start time.

    Attributes
    ----------
    node_id : candidate injection node
    start_s : most consistent start time [s] (median over the members)
    consistency : mean share of samples explained over the members [0-1]
    members_consistent : share of members where every sample is explained [0-1]
    residual : mean relative residual of the fitted concentrations [-]
    concentration_mg_l : fitted injected concentration (median over the members) [mg/L]
    log_likelihood : mean Gaussian log-likelihood of the readings over the members (up to a
        constant; higher is better, differences of a few units matter)
    """

    node_id: str
    start_s: int
    consistency: float
    members_consistent: float
    residual: float
    concentration_mg_l: float
    log_likelihood: float = 0.0


@dataclass(frozen=True)
class TransportGraph:
    """What backtracking needs of a network, in the engine's element order.

    ``node_ids`` and the link arrays follow the toolkit's numbering (the columns of a
    simulation's results); ``area_m2`` is 0 for pumps and valves (no travel time).
    """

    node_ids: tuple[str, ...]
    node1: npt.NDArray[np.int64]
    node2: npt.NDArray[np.int64]
    length_m: npt.NDArray[np.float64]
    area_m2: npt.NDArray[np.float64]
    is_reservoir: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, net: Network, node_ids: Sequence[str], link_ids: Sequence[str]) -> TransportGraph:
        """Build from a network model and the engine's node and link order."""
        pos = {n: i for i, n in enumerate(node_ids)}
        n1, n2, length, area = [], [], [], []
        pipes = net.pipes.to_dict("index")
        others = net.pumps.to_dict("index") | net.valves.to_dict("index")
        for link in link_ids:
            row = pipes.get(link)
            if row is not None:
                length.append(float(row["length_m"]))
                area.append(math.pi * float(row["diameter_m"]) ** 2 / 4.0)
            else:
                row = others[link]
                length.append(0.0)
                area.append(0.0)
            n1.append(pos[str(row["node1"])])
            n2.append(pos[str(row["node2"])])
        storage = set(net.reservoirs.index)
        return cls(tuple(node_ids), np.asarray(n1, dtype=np.int64),
                   np.asarray(n2, dtype=np.int64), np.asarray(length, dtype=float),
                   np.asarray(area, dtype=float),
                   np.asarray([n in storage for n in node_ids], dtype=bool))


@dataclass(frozen=True)
class _Period:
    """Backtracking operators for one flow field: zero-delay links as a sparse matrix
    (downstream share -> upstream node), delayed links as flat arrays."""

    zero: sp.csr_matrix
    up: npt.NDArray[np.int64]
    down: npt.NDArray[np.int64]
    share: npt.NDArray[np.float64]
    delay: npt.NDArray[np.int64]


def _period(graph: TransportGraph, flow_m3s: npt.NDArray[np.float64], step_s: int,
            min_flow_m3s: float) -> _Period:
    moving = np.abs(flow_m3s) > min_flow_m3s
    forward = flow_m3s > 0
    up = np.where(forward, graph.node1, graph.node2)[moving]
    down = np.where(forward, graph.node2, graph.node1)[moving]
    q = np.abs(flow_m3s)[moving]
    inflow = np.bincount(down, weights=q, minlength=len(graph.node_ids))
    share = q / inflow[down]
    share[graph.is_reservoir[down]] = 0.0  # paths end at reservoirs
    area = graph.area_m2[moving]
    with np.errstate(divide="ignore", invalid="ignore"):
        travel_s = np.where(area > 0, graph.length_m[moving] * area / q, 0.0)
    delay = np.rint(travel_s / step_s).astype(np.int64)
    n = len(graph.node_ids)
    now = delay == 0
    zero = sp.csr_matrix((share[now], (up[now], down[now])), shape=(n, n))
    later = ~now & (share > 0)
    return _Period(zero, up[later], down[later], share[later], delay[later])


def backtrack(graph: TransportGraph, periods: Sequence[_Period], period_of_step: Sequence[int],
              node: int, step: int, lookback_steps: int) -> npt.NDArray[np.float64]:
    """``X[b, n]``: share of the water at ``node`` at grid step ``step`` that left node ``n``
    during step ``b`` (rows ``0 … step``; older than ``lookback_steps`` is not followed)."""
    n = len(graph.node_ids)
    x = np.zeros((step + 1, n))
    x[step, node] = 1.0
    flat = x.reshape(-1)
    oldest = max(0, step - lookback_steps)
    for b in range(step, oldest - 1, -1):
        row = x[b]
        if not row.any():
            continue
        p = periods[period_of_step[b]]
        delta = row
        for _ in range(n):  # zero-delay links form a DAG: at most n passes
            delta = p.zero @ delta
            if not delta.any():
                break
            row += delta
        carried = row[p.down] * p.share
        target = b - p.delay
        keep = (carried > 1e-9) & (target >= oldest)
        np.add.at(flat, target[keep] * n + p.up[keep], carried[keep])
    return x


@dataclass(frozen=True)
class _Sample:
    node: int
    step: int
    concentration_mg_l: float
    detected: bool


def condense(readings: Sequence[SensorReading], threshold_mg_l: float) -> list[SensorReading]:
    """The readings that carry the information (see the module docstring), per sensor."""
    by_node: dict[str, list[SensorReading]] = {}
    for r in readings:
        by_node.setdefault(r.node_id, []).append(r)
    kept: list[SensorReading] = []
    for rows in by_node.values():
        rows.sort(key=lambda r: r.time_s)
        hits = [i for i, r in enumerate(rows) if r.concentration_mg_l >= threshold_mg_l]
        chosen = {len(rows) - 1}
        if hits:
            chosen.add(hits[0])
            if hits[0] > 0:
                chosen.add(hits[0] - 1)
        kept += [rows[i] for i in sorted(chosen)]
    return kept


@dataclass(frozen=True)
class MemberScores:
    """What one ensemble member says of the candidates.

    ``null_log_likelihood`` is that of "no contamination anywhere" (every prediction 0): the
    score of a node this member does not see upstream of the detections. ``nodes`` maps a
    candidate to (share of samples explained, relative residual, best start [s], fitted
    concentration [mg/L], log-likelihood at that start).
    """

    null_log_likelihood: float
    nodes: dict[str, tuple[float, float, int, float, float]]


@dataclass(frozen=True)
class TraceReduce:
    """The per-member work of a tracing ensemble (runs in the batch's workers).

    Called with a member's simulation results, returns ``{node_id: (consistency, residual,
    start_s, concentration_mg_l)}`` for every candidate node.
    """

    graph: TransportGraph
    readings: tuple[SensorReading, ...]
    threshold_mg_l: float
    time_step_s: int = DEFAULT_TIME_STEP_S
    lookback_s: int = 86_400
    injection_mg_l: float | None = None
    min_share: float = 1e-3
    min_flow_m3s: float = 1e-7
    model_error: float = 0.2
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions",
                           {n: i for i, n in enumerate(self.graph.node_ids)})

    def __call__(self, scenario: Scenario, results: SimulationResults) -> MemberScores:
        flows = results.link["flowrate"]
        times = np.asarray(flows.index, dtype=np.int64)
        return self.score(times, flows.to_numpy())

    def score(self, report_times_s: npt.NDArray[np.int64],
              flow_m3s: npt.NDArray[np.float64]) -> MemberScores:
        """Score every candidate against the readings for one flow history (report times x
        links, flows held constant from one report time to the next)."""
        step = self.time_step_s
        samples = [_Sample(self._positions[r.node_id], r.time_s // step, r.concentration_mg_l,
                           r.concentration_mg_l >= self.threshold_mg_l) for r in self.readings]
        last = max(s.step for s in samples)
        periods = [_period(self.graph, f, step, self.min_flow_m3s) for f in flow_m3s]
        period_of_step = np.clip(
            np.searchsorted(report_times_s, np.arange(last + 1) * step, side="right") - 1,
            0, len(periods) - 1)
        lookback = self.lookback_s // step
        xs = [backtrack(self.graph, periods, list(period_of_step), s.node, s.step, lookback)
              for s in samples]
        candidates = self._candidates(samples, xs)
        if candidates.size == 0:
            return MemberScores(self._log_likelihood(samples, np.zeros((len(samples), 1, 1))
                                                     )[0, 0], {})
        # R[i, b0, c]: response of sample i to a lasting unit injection at c from step b0
        response = np.zeros((len(samples), last + 1, candidates.size))
        for i, x in enumerate(xs):
            part = x[:, candidates]
            response[i, :part.shape[0]] = np.cumsum(part[::-1], axis=0)[::-1]
        return self._best_starts(samples, response, candidates)

    def _candidates(self, samples: Sequence[_Sample],
                    xs: Sequence[npt.NDArray[np.float64]]) -> npt.NDArray[np.int64]:
        """Nodes upstream of every detecting sample (of any, if none is upstream of all)."""
        upstream = [x.sum(axis=0) >= self.min_share for s, x in zip(samples, xs, strict=True)
                    if s.detected]
        if not upstream:
            return np.zeros(0, dtype=np.int64)
        every = np.logical_and.reduce(upstream)
        return np.flatnonzero(every if every.any() else np.logical_or.reduce(upstream))

    def _log_likelihood(self, samples: Sequence[_Sample],
                        predicted: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Gaussian log-likelihood (up to a constant) of the readings, per start and node.

        The standard deviation of a reading about the prediction is the detection threshold
        (the analyser near zero) plus ``model_error`` times the larger of reading and
        prediction (travel times and dilution are uncertain with demand: a front one grid
        step early or late, a few per cent more dilution)."""
        observed = np.array([s.concentration_mg_l for s in samples])[:, None, None]
        sigma = self.threshold_mg_l + self.model_error * np.maximum(observed, predicted)
        return np.asarray(-0.5 * (((predicted - observed) / sigma) ** 2).sum(axis=0))

    def _best_starts(self, samples: Sequence[_Sample], response: npt.NDArray[np.float64],
                     candidates: npt.NDArray[np.int64]) -> MemberScores:
        observed = np.array([s.concentration_mg_l for s in samples])
        detected = np.array([s.detected for s in samples])
        if self.injection_mg_l is not None:
            c0 = np.full(response.shape[1:], self.injection_mg_l)
        else:
            num = np.einsum("i,ibc->bc", observed, response)
            den = np.einsum("ibc,ibc->bc", response, response)
            with np.errstate(divide="ignore", invalid="ignore"):
                c0 = np.where(den > 0, num / den, 0.0)
        predicted = c0[None] * response
        explained = ((predicted >= self.threshold_mg_l) == detected[:, None, None]).mean(axis=0)
        scale = max(float(observed.max()), self.threshold_mg_l)
        residual = np.sqrt(((predicted - observed[:, None, None]) ** 2).mean(axis=0)) / scale
        loglik = self._log_likelihood(samples, predicted)
        # best start per candidate: the most likely, then the most samples explained
        order = np.lexsort((-explained, -loglik), axis=0)[0]
        cols = np.arange(candidates.size)
        out = {}
        for col, b0 in zip(cols, order, strict=True):
            out[self.graph.node_ids[int(candidates[col])]] = (
                float(explained[b0, col]), float(residual[b0, col]),
                int(b0) * self.time_step_s, float(c0[b0, col]), float(loglik[b0, col]))
        null = float(self._log_likelihood(samples, np.zeros((len(samples), 1, 1)))[0, 0])
        return MemberScores(null, out)


def demand_ensemble(base: Network | Path | str, members: int, *, noise: float = 0.1,
                    zones: Sequence[frozenset[str]] = (), seed: int = 0) -> list[Scenario]:
    """``members`` demand scenarios: member 0 is the model as it is; the others multiply all
    demands by a log-normal factor (sigma ``noise``) and, per zone, by another one."""
    if members < 1:
        raise ConfigError(f"an ensemble needs at least one member, not {members}")
    if not 0 <= noise < 1:
        raise ConfigError(f"demand noise must be in [0, 1), not {noise}")
    rng = np.random.default_rng(seed)
    out = [Scenario(base, (), name="member-0")]
    for m in range(1, members):
        changes: list[DemandMultiplier] = [
            DemandMultiplier(float(np.exp(rng.normal(0.0, noise))))]
        changes += [DemandMultiplier(float(np.exp(rng.normal(0.0, noise))), nodes=zone)
                    for zone in zones]
        out.append(Scenario(base, tuple(changes), name=f"member-{m}"))
    return out


def rank_candidates(per_member: Sequence[MemberScores]) -> list[TraceCandidate]:
    """Combine the members' scores into one ranking, best first: by mean log-likelihood over
    the members, then mean share of samples explained; a node a member does not see counts
    there as explaining nothing (the member's "no contamination" likelihood)."""
    members = len(per_member)
    nodes = sorted({n for m in per_member for n in m.nodes})
    ranked = []
    for node in nodes:
        rows = [m.nodes[node] for m in per_member if node in m.nodes]
        loglik = sum(m.nodes[node][4] if node in m.nodes else m.null_log_likelihood
                     for m in per_member) / members
        consistency = sum(r[0] for r in rows) / members
        full = sum(r[0] >= 1.0 for r in rows) / members
        residual = float(np.mean([r[1] for r in rows]))
        ranked.append(TraceCandidate(node, int(np.median([r[2] for r in rows])),
                                     consistency, full, residual,
                                     float(np.median([r[3] for r in rows])), loglik))
    ranked.sort(key=lambda c: (-c.log_likelihood, -c.consistency, c.residual, c.node_id))
    return ranked


def trace_sources(network_path: Path | str, net: Network, readings: Sequence[SensorReading], *,
                  threshold_mg_l: float, members: int = 1, noise: float = 0.1,
                  zones: Sequence[frozenset[str]] = (), seed: int = 0,
                  time_step_s: int = DEFAULT_TIME_STEP_S, lookback_s: int = 86_400,
                  injection_mg_l: float | None = None, workers: int = 1,
                  dask_address: str | None = None) -> list[TraceCandidate]:
    """Rank candidate injection nodes and start times that explain ``readings``.

    Parameters
    ----------
    network_path : the network file (the ensemble's base)
    net : the same network, read (for pipe lengths and diameters)
    readings : sensor readings, detections and non-detections, times since the start of the
        simulation [s]
    threshold_mg_l : concentration at which a reading counts as a detection [mg/L]
    members, noise, zones, seed : the demand ensemble (see :func:`demand_ensemble`)
    time_step_s : backtracking grid [s]
    lookback_s : how far back from a reading paths are followed [s]
    injection_mg_l : the injected concentration if known [mg/L]; ``None`` = fitted
    workers, dask_address : where the members run (see :func:`run_batch`)

    Raises
    ------
    ConfigError
        for no detection among the readings, or bad parameters.
    UnknownElementError
        for a reading at a node that is not in the network.
    ScenarioError
        when a member's hydraulics fail.
    """
    if not any(r.concentration_mg_l >= threshold_mg_l for r in readings):
        raise ConfigError("source tracing needs at least one reading at or above the "
                          f"threshold {threshold_mg_l} mg/L")
    if time_step_s <= 0 or lookback_s <= 0:
        raise ConfigError("time step and look-back must be > 0 s")
    from waterops.hydraulics.epanet import EpanetEngine

    with EpanetEngine.open(network_path) as engine:
        for r in readings:
            engine.node_index(r.node_id)  # typed error naming an unknown node
        graph = TransportGraph.of(net, engine.node_ids, engine.link_ids)
    kept = condense(readings, threshold_mg_l)
    reduce = TraceReduce(graph, tuple(kept), threshold_mg_l, time_step_s, lookback_s,
                         injection_mg_l)
    duration = max(r.time_s for r in kept)
    scenarios = demand_ensemble(network_path, members, noise=noise, zones=zones, seed=seed)
    results = run_batch(network_path, scenarios, reduce=reduce, workers=workers,
                        dask_address=dask_address, options=RunOptions(duration_s=duration))
    scores = [r for r in results if isinstance(r, MemberScores)]
    if not scores:  # pragma: no cover - on_error="raise" raises first
        raise ScenarioError("every member of the tracing ensemble failed")
    return rank_candidates(scores)
