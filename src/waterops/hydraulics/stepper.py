"""Incremental EPANET stepping: a simulation that advances step by step and can be changed
between steps (the engine behind the virtual utility and the digital twin).

:func:`waterops.hydraulics.simulate` runs a whole period at once. A real-time simulator or a
twin instead needs to *advance* the network a few minutes, look at it, change it (a burst, a
pump trip, new demand multipliers, a different source quality) and advance again, without
ever re-running from t = 0. :class:`NetworkStepper` does that on an opened
:class:`~waterops.hydraulics.epanet.EpanetEngine`::

    with EpanetEngine.open(path) as engine, NetworkStepper(engine, step_s=300) as stepper:
        stepper.advance_to(300)                 # solved at t = 300 s
        stepper.node_values("pressure")         # [m], toolkit node order
        stepper.set_link_status("PUMP-3830", open_=False)
        stepper.advance_to(600)                 # the pump is off from the next solve on

Semantics
---------
- :meth:`advance_to` leaves the network *solved at* the target time: hydraulics (``runH``)
  and water quality (``runQ``) at that instant, quality transported over the step before it.
  EPANET may insert intermediate solves (a tank filling, a control firing); they are solved
  and passed, as in a full run.
- A change made after ``advance_to(t)`` acts from the next solve after ``t``: the step from
  ``t`` onwards is integrated with the flows solved at ``t`` (what EPANET does with a control
  firing at ``t``).
- The hydraulic and report steps are set to ``step_s`` and the duration to ``horizon_s``
  (default one year), so EPANET never stops early and no extra report-time solves appear.
  With ``step_s`` equal to a full run's hydraulic and report step and nothing changed, the
  values at each step equal :func:`~waterops.hydraulics.simulate`'s to float64 precision
  (tests/test_stepper.py).
- Values are read with the toolkit's vector getters into numpy arrays and converted to SI:
  pressure and head [m], demand and flow [m³/s], velocity [m/s], chlorine [mg/L], water age
  [s], trace [fraction 0-1].

The toolkit's pressure unit is switched to metres while the stepper is open and switched back
on :meth:`close`; the time parameters and quality settings it changes are restored too, so
the engine can still :meth:`~waterops.hydraulics.epanet.EpanetEngine.run` afterwards.
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Literal, Self

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

from waterops.errors import EngineError, SimulationError
from waterops.hydraulics.engine import PressureDriven
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.quality import Chemical, QualitySpec, Trace, WaterAge
from waterops.units import FT_M, US_FLOW_UNITS, flow_factor

NodeQuantity = Literal[
    "pressure", "head", "demand", "consumer_demand", "quality", "level", "emitter_flow"
]
LinkQuantity = Literal["flow", "velocity", "status", "setting", "quality"]

SourceType = Literal["concen", "mass", "setpoint", "flowpaced"]

ONE_YEAR_S = 365 * 86_400
FLAT_PATTERN_ID = "waterops_flat"
"""Id of the all-ones pattern :meth:`NetworkStepper.clear_demand_patterns` adds."""
_SOURCE_TYPES: dict[str, int] = {
    "concen": tk.CONCEN, "mass": tk.MASS, "setpoint": tk.SETPOINT, "flowpaced": tk.FLOWPACED,
}

_NODE_PROPS: dict[str, int] = {
    "pressure": tk.PRESSURE, "head": tk.HEAD, "demand": tk.DEMAND, "quality": tk.QUALITY,
    "level": tk.TANKLEVEL, "emitter_flow": tk.EMITTERFLOW, "consumer_demand": tk.DEMANDFLOW,
}
_LINK_PROPS: dict[str, int] = {
    "flow": tk.FLOW, "velocity": tk.VELOCITY, "status": tk.STATUS, "setting": tk.SETTING,
    "quality": tk.LINKQUAL,
}


class _Buffer:
    """A toolkit ``double[]`` and a numpy view of its memory (read without a copy)."""

    def __init__(self, size: int) -> None:
        self.raw = tk.doubleArray(max(size, 1))
        c_array = (ctypes.c_double * max(size, 1)).from_address(int(self.raw.cast()))
        self.view: npt.NDArray[np.float64] = np.ctypeslib.as_array(c_array)[:size]


class NetworkStepper:
    """Step an opened EPANET project forward in time, changing it between steps.

    Parameters
    ----------
    engine : an opened :class:`EpanetEngine` (the stepper borrows its project)
    step_s : hydraulic (and report) step [s]; the times :meth:`advance_to` may target are
        multiples of it
    quality : ``"file"`` (the network file's own quality setting, e.g. the demo city's
        chlorine), ``None`` (hydraulics only), or a spec: :class:`WaterAge`, :class:`Trace`, or
        :class:`Chemical` (its coefficients set on every pipe and tank when given)
    horizon_s : the longest time the stepper may reach [s]
    pressure_driven : run a pressure-driven analysis with these pressures (a customer whose
        pressure falls gets less water, as in a real outage) instead of the file's demand model
    initial_quality : start every junction and tank at this quality (in the quality's unit,
        e.g. mg/L) instead of the file's initial qualities; reservoirs keep theirs
    keep_going_unbalanced : when EPANET cannot balance a step within its trials, continue with
        10 more trials and go on (``UNBALANCED CONTINUE 10``) instead of the file's ``STOP``

    Raises
    ------
    SimulationError
        when EPANET cannot initialise or solve the network.
    """

    def __init__(
        self,
        engine: EpanetEngine,
        *,
        step_s: int = 300,
        quality: QualitySpec | Literal["file"] | None = "file",
        horizon_s: int = ONE_YEAR_S,
        pressure_driven: PressureDriven | None = None,
        keep_going_unbalanced: bool = True,
        initial_quality: float | None = None,
    ) -> None:
        if step_s <= 0:
            raise SimulationError(None, f"step must be > 0 s, not {step_s}", engine.path)
        self.engine = engine
        self.step_s = int(step_s)
        self.horizon_s = int(horizon_s)
        self._ph = engine.handle
        self._restore = ExitStack()
        self._time_s: int | None = None  # None until the first solve
        flow_units = engine.flow_units
        self._length_m = FT_M if flow_units in US_FLOW_UNITS else 1.0
        self._flow_m3s = flow_factor(flow_units)
        self._n_nodes = len(engine.node_ids)
        self._n_links = len(engine.link_ids)
        self._initial_levels: dict[int, float] = {}  # tanks set by set_tank_level
        self._is_tank = np.array([tk.getnodetype(self._ph, i) == tk.TANK
                                  for i in range(1, self._n_nodes + 1)], dtype=bool)
        self._elevation_file = np.array([tk.getnodevalue(self._ph, i, tk.ELEVATION)
                                         for i in range(1, self._n_nodes + 1)])
        self._node_buf = _Buffer(self._n_nodes)
        self._link_buf = _Buffer(self._n_links)
        try:
            self._configure(quality)
            if keep_going_unbalanced:
                # a real utility keeps running through a hard step (a tank emptying in an
                # outage); EPANET's UNBALANCED STOP would end the whole simulation there
                old = tk.getoption(self._ph, tk.UNBALANCED)
                self._restore.callback(tk.setoption, self._ph, tk.UNBALANCED, old)
                tk.setoption(self._ph, tk.UNBALANCED, max(old, 10.0))
            if pressure_driven is not None:
                self._restore.callback(tk.setdemandmodel, self._ph, *tk.getdemandmodel(self._ph))
                tk.setdemandmodel(self._ph, tk.PDA, pressure_driven.minimum_pressure_m,
                                  pressure_driven.required_pressure_m, pressure_driven.exponent)
            if initial_quality is not None:
                self._set_initial_quality(initial_quality)
            # EPANET 2.3 leaves the last emitter flow of a node whose emitter is set to 0:
            # remember which nodes have one, so a removed leak reads 0
            self._has_emitter = np.array([
                tk.getnodetype(self._ph, i) == tk.JUNCTION
                and tk.getnodevalue(self._ph, i, tk.EMITTER) > 0
                for i in range(1, self._n_nodes + 1)
            ])
            self._open_solvers()
        except BaseException:
            self._restore.close()
            raise

    # ---------------------------------------------------------------- set-up
    def _configure(self, quality: QualitySpec | Literal["file"] | None) -> None:
        ph = self._ph
        old_units = tk.getoption(ph, tk.PRESS_UNITS)
        self._restore.callback(tk.setoption, ph, tk.PRESS_UNITS, old_units)
        tk.setoption(ph, tk.PRESS_UNITS, tk.METERS)
        # EPANET clips steps to each other: save all four, restore report step last
        for param in (tk.DURATION, tk.HYDSTEP, tk.QUALSTEP, tk.REPORTSTEP, tk.REPORTSTART):
            self._restore.callback(tk.settimeparam, ph, param, tk.gettimeparam(ph, param))
        tk.settimeparam(ph, tk.DURATION, self.horizon_s)
        tk.settimeparam(ph, tk.REPORTSTART, 0)
        tk.settimeparam(ph, tk.REPORTSTEP, self.step_s)
        tk.settimeparam(ph, tk.HYDSTEP, self.step_s)
        kind, name, units, trace = tk.getqualinfo(ph)
        trace_id = self.engine.node_ids[trace - 1] if trace > 0 else ""
        self._restore.callback(tk.setqualtype, ph, kind, name, units, trace_id)
        if quality is None:
            tk.setqualtype(ph, tk.NONE, "", "", "")
        elif isinstance(quality, WaterAge):
            tk.setqualtype(ph, tk.AGE, "", "", "")
        elif isinstance(quality, Trace):
            self.engine.node_index(quality.node_id)
            tk.setqualtype(ph, tk.TRACE, "", "", quality.node_id)
        elif isinstance(quality, Chemical):
            tk.setqualtype(ph, tk.CHEM, quality.name, quality.units, "")
            self._set_reactions(quality)
        kind = int(tk.getqualinfo(ph)[0])
        self.has_quality = kind != tk.NONE
        # factor from EPANET's quality to SI: age h -> s, trace % -> fraction, ug/L -> mg/L
        units = str(tk.getqualinfo(ph)[2]).lower()
        self._quality_factor = {tk.AGE: 3600.0, tk.TRACE: 0.01}.get(
            kind, 1e-3 if units.startswith("ug") else 1.0
        )

    def _set_reactions(self, chemical: Chemical) -> None:
        ph = self._ph
        pipes = [i for i in range(1, self._n_links + 1)
                 if tk.getlinktype(ph, i) in (tk.PIPE, tk.CVPIPE)]
        tanks = [i for i in range(1, self._n_nodes + 1) if tk.getnodetype(ph, i) == tk.TANK]
        settings: list[tuple[Any, Any, list[int], int, float]] = []
        if chemical.bulk_coeff_per_day is not None:
            settings.append((tk.getlinkvalue, tk.setlinkvalue, pipes, tk.KBULK,
                             chemical.bulk_coeff_per_day))
            settings.append((tk.getnodevalue, tk.setnodevalue, tanks, tk.TANK_KBULK,
                             chemical.bulk_coeff_per_day))
        if chemical.wall_coeff_per_day is not None:
            settings.append((tk.getlinkvalue, tk.setlinkvalue, pipes, tk.KWALL,
                             chemical.wall_coeff_per_day / self._length_m))
        for get, put, indices, prop, value in settings:
            old = [get(ph, i, prop) for i in indices]
            self._restore.callback(_put_all, put, ph, indices, prop, old)
            _put_all(put, ph, indices, prop, [value] * len(indices))

    def _set_initial_quality(self, value: float) -> None:
        ph = self._ph
        nodes = [i for i in range(1, self._n_nodes + 1)
                 if tk.getnodetype(ph, i) in (tk.JUNCTION, tk.TANK)]
        old = [tk.getnodevalue(ph, i, tk.INITQUAL) for i in nodes]
        self._restore.callback(_put_all, tk.setnodevalue, ph, nodes, tk.INITQUAL, old)
        _put_all(tk.setnodevalue, ph, nodes, tk.INITQUAL, [value] * len(nodes))

    def _open_solvers(self) -> None:
        ph = self._ph
        self._call(tk.openH, "opening hydraulics")
        self._restore.callback(tk.closeH, ph)
        self._call(tk.initH, "initialising hydraulics", tk.NOSAVE)
        if self.has_quality:
            self._call(tk.openQ, "opening water quality")
            self._restore.callback(tk.closeQ, ph)
            self._call(tk.initQ, "initialising water quality", tk.NOSAVE)

    def _call(self, fn: Any, what: str, *args: int) -> int:
        try:
            with warnings.catch_warnings():  # owa-epanet echoes EPANET warnings; not errors
                warnings.simplefilter("ignore")
                return int(fn(self._ph, *args) or 0)
        except Exception as exc:
            t = self._time_s or 0
            when = f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d} h (t = {t} s)"
            raise SimulationError(None, f"{what} at {when}: {exc}", self.engine.path) from None

    # ---------------------------------------------------------------- life cycle
    def close(self) -> None:
        """Close the solvers and give the engine back its settings."""
        self._restore.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- time
    @property
    def time_s(self) -> int | None:
        """Simulation time the network is solved at [s] (``None`` before the first solve)."""
        return self._time_s

    def _solve(self) -> None:
        t = self._call(tk.runH, "hydraulics")
        if self.has_quality:
            self._call(tk.runQ, "water quality")
        self._time_s = t

    def advance_to(self, target_s: int) -> int:
        """Advance until the network is solved at ``target_s`` [s]; returns the time reached.

        Raises
        ------
        SimulationError
            for a time before the current one or beyond the horizon, or when EPANET cannot
            solve a step (with the time it failed at).
        """
        if self._time_s is not None and target_s < self._time_s:
            raise SimulationError(
                None, f"cannot step back from t = {self._time_s} s to {target_s} s",
                self.engine.path,
            )
        if target_s > self.horizon_s:
            raise SimulationError(
                None, f"t = {target_s} s is beyond the stepper's horizon {self.horizon_s} s",
                self.engine.path,
            )
        if self._time_s is None:
            self._solve()
        while self._time_s is not None and self._time_s < target_s:
            step = self._call(tk.nextH, "hydraulics")
            if self.has_quality:
                self._call(tk.nextQ, "water quality")
            if step <= 0:
                raise SimulationError(
                    None, f"EPANET stopped the run after t = {self._time_s} s "
                    "(unbalanced hydraulics with UNBALANCED STOP)", self.engine.path)
            self._solve()
        return int(self._time_s or 0)

    def advance(self) -> int:
        """Advance one step (to the next multiple of ``step_s``); returns the time reached."""
        now = self._time_s
        if now is None:
            return self.advance_to(0)
        return self.advance_to((now // self.step_s + 1) * self.step_s)

    # ---------------------------------------------------------------- reading
    def node_values(self, quantity: NodeQuantity) -> npt.NDArray[np.float64]:
        """One value per node in toolkit order, SI (a new array).

        ``pressure`` and ``head`` [m], ``demand`` (all outflow: consumers, emitters, leaks;
        tanks: net inflow), ``consumer_demand`` (what consumers get) and ``emitter_flow``
        [m³/s], ``level`` [m] (tanks; junctions 0), ``quality`` [mg/L, s or fraction].
        """
        self._require_solved()
        # EN_TANKLEVEL reads a tank's *initial* level during a run: the level is the head
        # above the tank's bottom
        prop = tk.HEAD if quantity == "level" else _NODE_PROPS[quantity]
        tk.getnodevalues(self._ph, prop, self._node_buf.raw)
        values = self._node_buf.view.copy()
        if quantity == "level":
            values = np.where(self._is_tank, values - self._elevation_file, 0.0)
        if quantity in ("demand", "consumer_demand", "emitter_flow"):
            values *= self._flow_m3s
        if quantity == "emitter_flow":
            values[~self._has_emitter] = 0.0
        elif quantity in ("head", "level"):
            values *= self._length_m
        elif quantity == "quality":
            values *= self._quality_factor
        return values

    def link_values(self, quantity: LinkQuantity) -> npt.NDArray[np.float64]:
        """One value per link in toolkit order, SI (a new array).

        ``flow`` [m³/s, + from node 1 to node 2], ``velocity`` [m/s], ``status`` (0 closed,
        1 open), ``setting`` (pump speed, valve setting in file units), ``quality``.
        """
        self._require_solved()
        tk.getlinkvalues(self._ph, _LINK_PROPS[quantity], self._link_buf.raw)
        values = self._link_buf.view.copy()
        if quantity == "flow":
            values *= self._flow_m3s
        elif quantity == "velocity":
            values *= self._length_m
        elif quantity == "quality":
            values *= self._quality_factor
        return values

    def _require_solved(self) -> None:
        if self._time_s is None:
            raise EngineError(None, "the stepper has not solved yet; call advance_to first",
                              self.engine.path)

    # ---------------------------------------------------------------- changing
    def node_indices(self, node_ids: Sequence[str]) -> npt.NDArray[np.intp]:
        """0-based positions of ``node_ids`` in the value arrays (``UnknownElementError``)."""
        return np.array([self.engine.node_index(n) - 1 for n in node_ids], dtype=np.intp)

    def link_indices(self, link_ids: Sequence[str]) -> npt.NDArray[np.intp]:
        """0-based positions of ``link_ids`` in the value arrays (``UnknownElementError``)."""
        return np.array([self.engine.link_index(k) - 1 for k in link_ids], dtype=np.intp)

    def base_demands_m3s(self, positions: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """Primary base demand [m³/s] of the junctions at 0-based ``positions``."""
        ph = self._ph
        values = [tk.getbasedemand(ph, int(i) + 1, 1) for i in positions]
        return np.asarray(values, dtype=np.float64) * self._flow_m3s

    def set_base_demands(
        self, positions: npt.NDArray[np.intp], demand_m3s: npt.NDArray[np.float64]
    ) -> None:
        """Set the primary base demand [m³/s] of junctions (their patterns still apply).

        This is how per-area demand multipliers are applied: base x multiplier.
        """
        ph = self._ph
        values = np.asarray(demand_m3s, dtype=np.float64) / self._flow_m3s
        setter = tk.setbasedemand
        for i, value in zip(positions.tolist(), values.tolist(), strict=True):
            setter(ph, i + 1, 1, value)

    def clear_demand_patterns(self, positions: npt.NDArray[np.intp]) -> None:
        """Give junctions at 0-based ``positions`` a flat primary demand pattern: their base
        demand is then their demand (as when measured demands are set step by step).

        (No pattern would not do: EPANET gives a demand without one the default pattern.)
        The junctions' patterns are restored on :meth:`close`; the flat pattern
        ``FLAT_PATTERN_ID`` stays in the project.
        """
        ph = self._ph
        try:
            flat = tk.getpatternindex(ph, FLAT_PATTERN_ID)
        except Exception:  # EPANET error 205: no such pattern yet
            tk.addpattern(ph, FLAT_PATTERN_ID)
            flat = tk.getpatternindex(ph, FLAT_PATTERN_ID)
            tk.setpatternvalue(ph, flat, 1, 1.0)
        for i in positions.tolist():
            old = tk.getdemandpattern(ph, i + 1, 1)
            self._restore.callback(tk.setdemandpattern, ph, i + 1, 1, old)
            tk.setdemandpattern(ph, i + 1, 1, flat)

    def set_tank_level(self, tank_id: str, level_m: float) -> None:
        """Put a tank's water level [m above its bottom] to ``level_m`` now (a measured level
        forced onto the model; kept within the tank's minimum and maximum level): the next
        solve sees it moved by the flows of the step before. Its initial level is restored
        on :meth:`close`."""
        index = self.engine.node_index(tank_id)
        if tk.getnodetype(self._ph, index) != tk.TANK:
            raise SimulationError(None, f"{tank_id!r} is not a tank", self.engine.path)
        if index not in self._initial_levels:
            self._initial_levels[index] = float(tk.getnodevalue(self._ph, index, tk.TANKLEVEL))
            self._restore.callback(tk.setnodevalue, self._ph, index, tk.TANKLEVEL,
                                   self._initial_levels[index])
        low = tk.getnodevalue(self._ph, index, tk.MINLEVEL)
        high = tk.getnodevalue(self._ph, index, tk.MAXLEVEL)
        # a measured level may stray past the tank's limits by the sensor's noise
        level = min(max(level_m / self._length_m, low), high)
        tk.setnodevalue(self._ph, index, tk.TANKLEVEL, level)

    def set_emitter(self, node_id: str, coeff_si: float) -> None:
        """Emitter coefficient of a junction [m³/s per m^γ]; 0 removes the leak.

        Set emitters through this method (not the handle) so that ``emitter_flow`` of a
        removed leak reads 0.
        """
        # Q_file = C_file·p^γ with p in m (the stepper switched EPANET's pressure unit to
        # metres, which EPANET applies to emitters too) and Q = Q_file·f_flow
        coeff_file = coeff_si / self._flow_m3s
        index = self.engine.node_index(node_id)
        tk.setnodevalue(self._ph, index, tk.EMITTER, coeff_file)
        self._has_emitter[index - 1] = coeff_file > 0

    def emitter_coeff(self, node_id: str) -> float:
        """Emitter coefficient of a junction [m³/s per m^γ]."""
        value = tk.getnodevalue(self._ph, self.engine.node_index(node_id), tk.EMITTER)
        return float(value) * self._flow_m3s

    def set_link_status(self, link_id: str, *, open_: bool, hold: bool = True) -> None:
        """Open or close a pipe, pump or valve from the next solve on.

        With ``hold`` the link's simple controls are disabled (and rules naming it cannot be
        told apart, so they stay), so a tank-level control does not undo a trip; call
        :meth:`release_link` to give control back.
        """
        index = self.engine.link_index(link_id)
        if hold:
            self._set_controls_enabled(index, enabled=False)
        if open_ and tk.getlinktype(self._ph, index) == tk.PUMP:
            tk.setlinkvalue(self._ph, index, tk.SETTING, 1.0)  # a closed pump has speed 0
        tk.setlinkvalue(self._ph, index, tk.STATUS, tk.OPEN if open_ else tk.CLOSED)

    def release_link(self, link_id: str) -> None:
        """Give a link held by :meth:`set_link_status` back to its controls."""
        self._set_controls_enabled(self.engine.link_index(link_id), enabled=True)

    def _set_controls_enabled(self, link_index: int, *, enabled: bool) -> None:
        ph = self._ph
        for c in range(1, tk.getcount(ph, tk.CONTROLCOUNT) + 1):
            if tk.getcontrol(ph, c)[1] == link_index:
                tk.setcontrolenabled(ph, c, 1 if enabled else 0)

    def set_link_setting(self, link_id: str, setting: float) -> None:
        """Set a pump's relative speed or a valve's setting, in the file's units."""
        tk.setlinkvalue(self._ph, self.engine.link_index(link_id), tk.SETTING, setting)

    def link_status(self, link_id: str) -> float:
        """Current status of a link (0 closed, 1 open)."""
        return float(tk.getlinkvalue(self._ph, self.engine.link_index(link_id), tk.STATUS))

    def set_source_quality(self, node_id: str, concentration: float, *,
                           source_type: SourceType = "concen") -> None:
        """Quality of the water a node injects, from the next quality step on.

        ``concentration`` is in the quality's unit (mg/L for a chemical); ``source_type`` as
        in EPANET: ``"concen"`` (of a node's external inflow), ``"setpoint"`` (of all water
        leaving the node), ``"mass"`` [mg/min] or ``"flowpaced"``.
        """
        index = self.engine.node_index(node_id)
        tk.setnodevalue(self._ph, index, tk.SOURCEQUAL, concentration)
        tk.setnodevalue(self._ph, index, tk.SOURCETYPE, _SOURCE_TYPES[source_type])

    def source_quality(self, node_id: str) -> float:
        """Source strength of a node (0 when it has none)."""
        try:
            return float(tk.getnodevalue(self._ph, self.engine.node_index(node_id),
                                         tk.SOURCEQUAL))
        except Exception:  # EPANET error 240: the node has no source
            return 0.0


def _put_all(put: Any, ph: Any, indices: list[int], prop: int, values: list[float]) -> None:
    """Set one toolkit property on many elements."""
    for i, v in zip(indices, values, strict=True):
        put(ph, i, prop, v)
