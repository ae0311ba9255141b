"""Forward spread of a contamination: which nodes it reaches, when, and how strongly.

The transport is EPANET's own (Lagrangian, the quality solver of the toolkit): the network's
hydraulics are solved once (``solveH``), then the quality solver steps through the horizon one
quality step at a time (``runQ``/``stepQ``) with the contaminant as a conservative chemical
(or one with first-order decay). The injection is a source at the node whose strength is set
when the quality clock reaches its start and zeroed at its end, so start and duration need not
fall on pattern or hydraulic steps. The file's own quality sources (e.g. the chlorine set-point
at the clear-water tank) and initial qualities are zeroed for the run and put back after.

Concentrations are read every ``sample_step_s`` (default the 5-min quality step of the demo
network): first arrival and peak times are known to that resolution.

Injection kinds (EPANET source types, manual section 3.1 "Water quality sources"):

- ``concentration_mg_l``: a SETPOINT source — water leaving the node has that concentration
  (how :mod:`waterops.service.incidents` injects its tracer);
- ``mass_rate_mg_s``: a MASS booster — that many mg/s added to the flow leaving the node.
"""

from __future__ import annotations

import ctypes
import math
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

from waterops.errors import ConfigError, ScenarioError, SimulationError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.model.utility import Customer, CustomerKind

DEFAULT_THRESHOLD_MG_L = 0.01
"""Concentration above which a node counts as reached [mg/L] (configurable: the right value
depends on the substance; 1 % of a 1 mg/L tracer)."""
EXPOSURE_WINDOWS_H = (1, 6, 24)
"""Hours after the start of the injection for which exposure is counted (issue 9)."""


@dataclass(frozen=True)
class Injection:
    """A contaminant entering the network at a node.

    Attributes
    ----------
    node_id : the node where it enters
    start_s : when it starts, since the start of the simulation [s]
    duration_s : how long it lasts [s]; ``None`` = to the end of the horizon
    concentration_mg_l : concentration of the water leaving the node [mg/L] (SETPOINT)
    mass_rate_mg_s : mass added per second [mg/s] (MASS); give one of the two
    """

    node_id: str
    start_s: int = 0
    duration_s: int | None = None
    concentration_mg_l: float | None = None
    mass_rate_mg_s: float | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.concentration_mg_l, self.mass_rate_mg_s) if v is not None]
        if len(given) != 1:
            raise ScenarioError(f"injection at {self.node_id!r}: give either a concentration "
                                "[mg/L] or a mass rate [mg/s], not both or neither")
        if not (math.isfinite(given[0]) and given[0] > 0):
            raise ScenarioError(f"injection at {self.node_id!r}: strength must be a positive "
                                f"number, not {given[0]!r}")
        if self.start_s < 0:
            raise ScenarioError(f"injection at {self.node_id!r}: start {self.start_s} s < 0")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ScenarioError(f"injection at {self.node_id!r}: duration must be > 0 s, "
                                f"not {self.duration_s}")

    @property
    def end_s(self) -> float:
        """When it stops [s] (``inf`` when it lasts)."""
        return math.inf if self.duration_s is None else float(self.start_s + self.duration_s)

    def _toolkit_source(self) -> tuple[int, float]:
        """(EPANET source type, strength in toolkit units: mg/L, or mg/min for MASS)."""
        if self.mass_rate_mg_s is not None:
            return tk.MASS, self.mass_rate_mg_s * 60.0
        return tk.SETPOINT, float(self.concentration_mg_l or 0.0)


@dataclass(frozen=True)
class SpreadResult:
    """Concentrations after an injection, sampled every ``sample_step_s``.

    Attributes
    ----------
    injection : what was injected
    threshold_mg_l : concentration at which a node counts as reached [mg/L]
    time_s : sample times since the start of the simulation [s]
    node_ids : node ids in column order
    concentration_mg_l : samples x nodes [mg/L]
    """

    injection: Injection
    threshold_mg_l: float
    time_s: npt.NDArray[np.int64]
    node_ids: list[str]
    concentration_mg_l: npt.NDArray[np.float64]

    @property
    def reached(self) -> npt.NDArray[np.bool_]:
        """Per node: the concentration reached the threshold at some sample."""
        return np.asarray((self.concentration_mg_l >= self.threshold_mg_l).any(axis=0))

    @property
    def first_arrival_s(self) -> npt.NDArray[np.float64]:
        """Per node: first sample time at or above the threshold, since the injection started
        [s]; ``nan`` for nodes never reached."""
        above = self.concentration_mg_l >= self.threshold_mg_l
        first = np.argmax(above, axis=0)
        times = self.time_s[first].astype(float) - self.injection.start_s
        return np.where(above.any(axis=0), times, np.nan)

    @property
    def peak_mg_l(self) -> npt.NDArray[np.float64]:
        """Per node: highest sampled concentration [mg/L]."""
        return np.asarray(self.concentration_mg_l.max(axis=0))

    @property
    def peak_time_s(self) -> npt.NDArray[np.float64]:
        """Per node: sample time of the peak, since the injection started [s] (``nan`` when
        never reached)."""
        times = self.time_s[np.argmax(self.concentration_mg_l, axis=0)].astype(float)
        return np.where(self.reached, times - self.injection.start_s, np.nan)

    def nodes_reached_within(self, within_s: float) -> list[str]:
        """Nodes reached at most ``within_s`` after the injection started, earliest first."""
        arrival = self.first_arrival_s
        hit = np.flatnonzero(arrival <= within_s)
        order = hit[np.argsort(arrival[hit], kind="stable")]
        return [self.node_ids[i] for i in order]


@dataclass(frozen=True)
class Exposure:
    """What a contamination reaches within ``within_h`` hours of its start."""

    within_h: float
    nodes: int
    customers: int
    households: int
    enterprises: int


def exposure(spread: SpreadResult, customers: Sequence[Customer],
             windows_h: Sequence[float] = EXPOSURE_WINDOWS_H) -> list[Exposure]:
    """Nodes, customer accounts and households reached within each window [h]."""
    out = []
    for hours in windows_h:
        nodes = set(spread.nodes_reached_within(hours * 3600.0))
        mine = [c for c in customers if c.node in nodes]
        households = sum(c.kind is CustomerKind.HOUSEHOLD for c in mine)
        out.append(Exposure(float(hours), len(nodes), len(mine), households,
                            len(mine) - households))
    return out


def simulate_spread(engine: EpanetEngine, injection: Injection, *, horizon_s: int = 86_400,
                    sample_step_s: int | None = None,
                    threshold_mg_l: float = DEFAULT_THRESHOLD_MG_L,
                    bulk_coeff_per_day: float = 0.0) -> SpreadResult:
    """Simulate ``injection`` on the opened network for ``horizon_s`` after it starts.

    Parameters
    ----------
    engine : an opened network (left as it was found)
    injection : node, start, duration and strength
    horizon_s : how long after the start of the injection to follow it [s]
    sample_step_s : time between two samples [s]; ``None`` = the file's quality step
    threshold_mg_l : concentration at which a node counts as reached [mg/L]
    bulk_coeff_per_day : first-order bulk decay [1/day] (negative = decay; 0 = conservative)

    Raises
    ------
    UnknownElementError
        when the injection node is not in the network.
    ConfigError
        for a non-positive horizon, sample step or threshold.
    SimulationError
        when EPANET cannot solve the hydraulics or the quality.
    """
    if horizon_s <= 0:
        raise ConfigError(f"the horizon must be > 0 s, not {horizon_s}")
    if not threshold_mg_l > 0:
        raise ConfigError(f"the threshold must be > 0 mg/L, not {threshold_mg_l}")
    ph = engine.handle
    index = engine.node_index(injection.node_id)
    duration = injection.start_s + horizon_s
    with ExitStack() as restore:
        prepare_chemical_run(restore, engine, bulk_coeff_per_day, duration)
        step = sample_step_s or int(tk.gettimeparam(ph, tk.QUALSTEP))
        if step <= 0:
            raise ConfigError(f"the sample step must be > 0 s, not {step}")
        kind, strength = injection._toolkit_source()
        tk.setnodevalue(ph, index, tk.SOURCETYPE, kind)
        tk.setnodevalue(ph, index, tk.SOURCEPAT, 0)

        def on_time(t: int) -> None:
            active = injection.start_s <= t < injection.end_s
            tk.setnodevalue(ph, index, tk.SOURCEQUAL, strength if active else 0.0)

        times, values = quality_loop(engine, duration, step, on_time)
    keep = times >= injection.start_s
    return SpreadResult(injection, threshold_mg_l, times[keep], engine.node_ids, values[keep])


def prepare_chemical_run(restore: ExitStack, engine: EpanetEngine, bulk_coeff_per_day: float,
                      duration_s: int) -> None:
    """Switch the project to a clean chemical run: no other sources, zero initial quality,
    the given bulk decay, no wall reaction; everything is put back by ``restore``."""
    ph = engine.handle
    n_nodes = len(engine.node_ids)
    qual = tk.getqualinfo(ph)
    trace_id = engine.node_ids[qual[3] - 1] if qual[3] > 0 else ""
    restore.callback(tk.setqualtype, ph, qual[0], qual[1], qual[2], trace_id)
    tk.setqualtype(ph, tk.CHEM, "contaminant", "mg/L", "")
    restore.callback(tk.settimeparam, ph, tk.DURATION, tk.gettimeparam(ph, tk.DURATION))
    tk.settimeparam(ph, tk.DURATION, int(duration_s))
    for i in range(1, n_nodes + 1):
        init = tk.getnodevalue(ph, i, tk.INITQUAL)
        if init != 0.0:
            restore.callback(tk.setnodevalue, ph, i, tk.INITQUAL, init)
            tk.setnodevalue(ph, i, tk.INITQUAL, 0.0)
        try:
            old = [tk.getnodevalue(ph, i, p) for p in (tk.SOURCETYPE, tk.SOURCEPAT,
                                                       tk.SOURCEQUAL)]
        except Exception:  # EPANET error 240: no source at this node
            continue
        for prop, value in zip((tk.SOURCEQUAL, tk.SOURCEPAT, tk.SOURCETYPE), old[::-1],
                               strict=True):
            restore.callback(tk.setnodevalue, ph, i, prop, value)
        tk.setnodevalue(ph, i, tk.SOURCEQUAL, 0.0)
    pipes = [i for i in range(1, len(engine.link_ids) + 1)
             if tk.getlinktype(ph, i) in (tk.PIPE, tk.CVPIPE)]
    tanks = [i for i in range(1, n_nodes + 1) if tk.getnodetype(ph, i) == tk.TANK]
    for get, put, items, prop, value in (
        (tk.getlinkvalue, tk.setlinkvalue, pipes, tk.KBULK, bulk_coeff_per_day),
        (tk.getlinkvalue, tk.setlinkvalue, pipes, tk.KWALL, 0.0),
        (tk.getnodevalue, tk.setnodevalue, tanks, tk.TANK_KBULK, bulk_coeff_per_day),
    ):
        old_values = [get(ph, i, prop) for i in items]
        restore.callback(_put_all, put, ph, items, prop, old_values)
        for i in items:
            put(ph, i, prop, value)
    if bulk_coeff_per_day != 0.0:  # first order in the bulk, whatever the file says
        restore.callback(tk.setoption, ph, tk.BULKORDER, tk.getoption(ph, tk.BULKORDER))
        tk.setoption(ph, tk.BULKORDER, 1.0)


def _put_all(put: Callable[..., object], ph: object, items: list[int], prop: int,
             values: list[float]) -> None:
    for i, v in zip(items, values, strict=True):
        put(ph, i, prop, v)


def quality_loop(engine: EpanetEngine, duration_s: int, sample_step_s: int,
                 on_time: Callable[[int], None] | None = None,
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Solve hydraulics, then step the quality solver and read node quality every
    ``sample_step_s`` (the toolkit's own sequence: ``solveH``, ``openQ``/``initQ``,
    ``runQ``/``stepQ``). ``on_time(t)`` is called before each quality step (to switch sources).

    Returns (sample times [s], samples x nodes quality in the project's quality units).

    Raises
    ------
    SimulationError
        naming the phase and EPANET's reason.
    """
    ph = engine.handle
    n = len(engine.node_ids)
    rows = duration_s // sample_step_s + 1
    out = np.zeros((rows, n))
    times: list[int] = []
    buffer = tk.doubleArray(max(n, 1))
    view = np.ctypeslib.as_array((ctypes.c_double * max(n, 1)).from_address(
        int(buffer.cast())))[:n]
    phase = "hydraulics"
    with warnings.catch_warnings():
        # owa-epanet echoes EPANET warnings (negative pressures …) as Python warnings
        warnings.simplefilter("ignore", Warning)
        try:
            tk.solveH(ph)
            phase = "water quality"
            tk.openQ(ph)
            try:
                tk.initQ(ph, tk.NOSAVE)
                while True:
                    t = int(tk.runQ(ph))
                    if on_time is not None:
                        on_time(t)
                    if t % sample_step_s == 0 and len(times) < rows:
                        tk.getnodevalues(ph, tk.QUALITY, buffer)
                        out[len(times)] = view
                        times.append(t)
                    if int(tk.stepQ(ph)) <= 0:
                        break
                last = times[-1] if times else -1
                if duration_s % sample_step_s == 0 and last < duration_s and len(times) < rows:
                    tk.getnodevalues(ph, tk.QUALITY, buffer)  # the state at the end
                    out[len(times)] = view
                    times.append(duration_s)
            finally:
                tk.closeQ(ph)
        except Exception as exc:
            if isinstance(exc, SimulationError):
                raise
            raise SimulationError(None, f"{phase}: {exc}", engine.path) from None
    return np.asarray(times, dtype=np.int64), out[:len(times)]

