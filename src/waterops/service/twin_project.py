"""One EPANET project that the digital twin steps forward in utility time.

The twin never re-runs from t = 0. It opens the network once, keeps EPANET's hydraulic (and
quality) solver open, and at each update:

1. :meth:`TwinProject.advance_to` integrates tank levels (and water quality) from the last
   update to the new time, with the boundary conditions of the last update;
2. the caller overwrites what was measured (:meth:`set_tank_level`, :meth:`set_link_open`,
   :meth:`set_pump_speed`, :meth:`set_valve_setting`, :meth:`scale_demands`);
3. :meth:`solve` solves the single period at that time (it can be called again after a
   change, e.g. new demand multipliers), and :meth:`finish` hands the final solution to the
   quality solver.

The toolkit calls that set a tank level, a link status or a base demand *during* a run are
made here on :attr:`EpanetEngine.handle` (the hydraulics package steps whole runs only).
Measured links are taken out of the file's controls and rules (:meth:`release_links`), so a
measured pump state is never overridden by the model's own logic; unmeasured links keep it.

EPANET's warnings (a period it could not balance, negative pressures, a disconnected node, a
pump beyond its curve) are kept with the utility time of the solve that gave them
(:meth:`take_warnings`); :func:`converged` says whether a list of them leaves the hydraulics
balanced. The report file is read only when EPANET warned, so a sound period costs nothing.
"""

from __future__ import annotations

import ctypes
import re
import warnings
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

from waterops.errors import SimulationError
from waterops.hydraulics import EpanetEngine, PressureDriven, Trace, WaterAge
from waterops.hydraulics.epanet import FLOW_UNITS
from waterops.hydraulics.results import SimulationWarning
from waterops.units import FT_M, US_FLOW_UNITS, flow_factor

FloatArray = npt.NDArray[np.float64]

RUN_HORIZON_S = 10 * 365 * 86400
"""EPANET needs a duration; the twin's run is open-ended, so it gets ten years."""

CLOSED_FLOW_M3S = 1e-4
"""A flow-control valve measured below this flow [m³/s] is taken as closed."""

UNBALANCED = "unbalanced"
"""Kind of the warning of a period EPANET could not balance within its trials (and the ten
extra ones the twin allows): its heads and flows do not satisfy the network's equations."""
UNSTABLE = "unstable"
"""Kind of the warning of a period balanced only after the trials ran out and EPANET froze
the links' status ("System may be unstable"): a check valve, pump or valve may sit in the
wrong state."""
NOT_CONVERGED = frozenset({UNBALANCED, UNSTABLE})
"""Warning kinds after which a period's hydraulics do not count as converged."""


def converged(found: Iterable[SimulationWarning]) -> bool:
    """Whether hydraulics that gave these warnings converged (none of :data:`NOT_CONVERGED`)."""
    return not any(w.kind in NOT_CONVERGED for w in found)


_EPANET_TIME_RE = re.compile(r"\s+at \d+:\d\d:\d\d hrs")
"""EPANET's elapsed time in a warning ("at 0:05:00 hrs"): the twin gives utility time."""

_NODE_PROPS = {
    "pressure": tk.PRESSURE,
    "head": tk.HEAD,
    "demand": tk.DEMAND,
    "consumer_demand": tk.DEMANDFLOW,
    "quality": tk.QUALITY,
}
_LINK_PROPS = {"flow": tk.FLOW, "status": tk.STATUS, "setting": tk.SETTING}


class _Vector:
    """A toolkit ``double[]`` buffer with a numpy view on the same memory."""

    def __init__(self, size: int) -> None:
        self.buffer = tk.doubleArray(max(size, 1))
        c_array = (ctypes.c_double * max(size, 1)).from_address(int(self.buffer.cast()))
        self.view: FloatArray = np.ctypeslib.as_array(c_array)[:size]


class TwinProject:
    """An opened network, solved one period at a time on the utility's clock.

    Parameters
    ----------
    path : EPANET input file of the network
    quality : ``None`` (hydraulics only), :class:`WaterAge` or :class:`Trace`
    pressure_driven : solve with pressure-driven demand, or ``None`` for the file's model
    read_warnings : read EPANET's report when it warns and keep what it says
        (:meth:`take_warnings`); ``False`` only empties the report (a second project solving
        the same hydraulics need not pay for the same words twice)

    Attributes
    ----------
    last_solve_warned : whether EPANET warned during the last :meth:`solve`
    """

    def __init__(
        self,
        path: str | Path,
        quality: WaterAge | Trace | None = None,
        pressure_driven: PressureDriven | None = None,
        read_warnings: bool = True,
    ) -> None:
        self.engine = EpanetEngine.open(path)
        self.read_warnings = read_warnings
        self.last_solve_warned = False
        self._call_warned = False
        self._warnings: list[SimulationWarning] = []
        self.quality = quality
        self.pressure_driven = pressure_driven
        ph = self.engine.handle
        self._ph = ph
        self.node_ids = self.engine.node_ids
        self.link_ids = self.engine.link_ids
        units = FLOW_UNITS[tk.getflowunits(ph)]
        self._flow_m3s = flow_factor(units)  # file flow unit -> m³/s
        self._length_m = FT_M if units in US_FLOW_UNITS else 1.0
        self._node_buf = _Vector(len(self.node_ids))
        self._link_buf = _Vector(len(self.link_ids))
        self.n_junctions = len(self.node_ids) - tk.getcount(ph, tk.TANKCOUNT)
        self._base_demands = self._read_base_demands()
        self._started = False
        self._solved = False
        self._quality_step_s = 300
        self._step_s = 300
        self.time_s = 0  # utility time of the current solution [s]
        self._offset_s = 0  # utility time of EPANET's t = 0 [s]

    # ------------------------------------------------------------------ set-up
    def _read_base_demands(self) -> list[list[float]]:
        """Base demand of each demand category of each junction, as in the file."""
        ph = self._ph
        return [
            [tk.getbasedemand(ph, j, k) for k in range(1, tk.getnumdemands(ph, j) + 1)]
            for j in range(1, self.n_junctions + 1)
        ]

    def start(
        self,
        start_s: int,
        step_s: int,
        initial_share: float = 0.0,
        other_sources: Iterable[int] = (),
    ) -> None:
        """Open the solvers with utility time ``start_s`` [s] at EPANET's t = 0.

        Patterns and clock-time rules are read at the utility time (EPANET's pattern start
        and start clock are shifted by ``start_s``). ``step_s`` [s] is the longest step the
        solver takes between two updates (tank levels are integrated at that step).
        For a :class:`Trace`, ``initial_share`` [0-1] is the share of the traced source's
        water in the network at the start, and ``other_sources`` the 1-based indices of the
        other source nodes (they send none of it).
        """
        ph = self._ph
        tk.setoption(ph, tk.PRESS_UNITS, tk.METERS)
        # A file's UNBALANCED STOP halts EPANET at the first period it cannot balance, which
        # would end the open-ended twin for good (an unmodelled leak can do it); the twin goes
        # on with 10 extra trials instead, as EPANET's CONTINUE 10 does (EPANET manual, [OPTIONS]).
        tk.setoption(ph, tk.UNBALANCED, 10)
        if self.pressure_driven is not None:  # pressures in m: the unit was switched above
            pda = self.pressure_driven
            tk.setdemandmodel(
                ph, tk.PDA, pda.minimum_pressure_m, pda.required_pressure_m, pda.exponent
            )
        tk.settimeparam(ph, tk.DURATION, RUN_HORIZON_S)
        tk.settimeparam(ph, tk.REPORTSTEP, RUN_HORIZON_S)  # report times would cut steps
        tk.settimeparam(ph, tk.HYDSTEP, int(step_s))
        self._step_s = int(step_s)
        self._quality_step_s = min(int(tk.gettimeparam(ph, tk.QUALSTEP)), int(step_s))
        tk.settimeparam(ph, tk.QUALSTEP, self._quality_step_s)
        clock_s = int(tk.gettimeparam(ph, tk.STARTTIME))
        tk.settimeparam(ph, tk.PATTERNSTART, int(start_s))
        tk.settimeparam(ph, tk.STARTTIME, (clock_s + int(start_s)) % 86400)
        if isinstance(self.quality, WaterAge):
            tk.setqualtype(ph, tk.AGE, "", "", "")
        elif isinstance(self.quality, Trace):
            self._conservative_tracer(self.quality.node_id, initial_share, other_sources)
        else:
            tk.setqualtype(ph, tk.NONE, "", "", "")
        self._call(tk.openH, "open hydraulics")
        self._call(tk.initH, "initialise hydraulics", tk.NOSAVE)
        if self.quality is not None:
            self._call(tk.openQ, "open water quality")
            self._call(tk.initQ, "initialise water quality", tk.NOSAVE)
        self._offset_s = int(start_s)
        self.time_s = int(start_s)
        self._started = True
        self._solved = False

    def _conservative_tracer(
        self, source_id: str, initial_share: float, other_sources: Iterable[int]
    ) -> None:
        """Trace a source as a conservative chemical in [%].

        EPANET's own trace starts every node at 0 %, and the demo city's trunk main alone
        takes two days to flush; a chemical that does not react, 100 % at the source, can
        start at the share the network holds. The file's reactions and quality sources
        (the plant's chlorine dosing) are neutralised in this project.
        """
        ph = self._ph
        source = self.engine.node_index(source_id)  # typed error for an unknown node
        tk.setqualtype(ph, tk.CHEM, "trace", "%", "")
        for link in range(1, len(self.link_ids) + 1):
            if tk.getlinktype(ph, link) in (tk.PIPE, tk.CVPIPE):
                tk.setlinkvalue(ph, link, tk.KBULK, 0.0)
                tk.setlinkvalue(ph, link, tk.KWALL, 0.0)
        others = set(other_sources)
        for node in range(1, len(self.node_ids) + 1):
            if node > self.n_junctions:
                tk.setnodevalue(ph, node, tk.TANK_KBULK, 0.0)
            with suppress(Exception):  # EPANET error 240: the node has no quality source
                tk.getnodevalue(ph, node, tk.SOURCEQUAL)
                tk.setnodevalue(ph, node, tk.SOURCETYPE, tk.MASS)  # a zero mass booster
                tk.setnodevalue(ph, node, tk.SOURCEQUAL, 0.0)
            share = 1.0 if node == source else 0.0 if node in others else initial_share
            tk.setnodevalue(ph, node, tk.INITQUAL, 100.0 * share)

    def release_links(self, link_indices: Iterable[int]) -> list[str]:
        """Disable the file's controls and rules that act on these links.

        Returns the ids of the disabled controls (``"control 12"``) and rules, so the twin
        can say why the model no longer switches them.
        """
        ph = self._ph
        wanted = set(link_indices)
        released = []
        for i in range(1, tk.getcount(ph, tk.CONTROLCOUNT) + 1):
            if int(tk.getcontrol(ph, i)[1]) in wanted:
                tk.setcontrolenabled(ph, i, 0)
                released.append(f"control {i}")
        for i in range(1, tk.getcount(ph, tk.RULECOUNT) + 1):
            _, n_then, n_else, _ = tk.getrule(ph, i)
            actions = [tk.getthenaction(ph, i, k)[0] for k in range(1, n_then + 1)]
            actions += [tk.getelseaction(ph, i, k)[0] for k in range(1, n_else + 1)]
            if wanted.intersection(int(a) for a in actions):
                tk.setruleenabled(ph, i, 0)
                released.append(f"rule {tk.getruleID(ph, i)}")
        return released

    # ------------------------------------------------------------------ stepping
    def advance_to(self, time_s: int) -> None:
        """Integrate from the current solution to utility time ``time_s`` [s].

        EPANET may stop on the way (a tank filling, a pattern or control time); each stop is
        solved with the boundary conditions in force, as a real system would run.
        """
        if not self._started:
            raise SimulationError(None, "the twin's project was not started", self.engine.path)
        if time_s < self.time_s:
            raise SimulationError(
                None,
                f"time goes backwards: update at {time_s} s after {self.time_s} s",
                self.engine.path,
            )
        ph = self._ph
        if not self._solved:
            self.solve()
            self.finish()
        while self.time_s < time_s:
            remaining_s = min(int(time_s - self.time_s), self._step_s)
            tk.settimeparam(ph, tk.HYDSTEP, remaining_s)
            # EPANET shrinks the quality step with the hydraulic step and never grows it back
            tk.settimeparam(ph, tk.QUALSTEP, min(self._quality_step_s, remaining_s))
            step = self._call(tk.nextH, "advance hydraulics")
            if self.quality is not None:
                self._call(tk.nextQ, "advance water quality")
            if step <= 0:
                raise SimulationError(None, "EPANET ended the run", self.engine.path)
            self.time_s += step
            self._solved = False
            if self.time_s < time_s:
                self.solve()
                self.finish()

    def solve(self) -> None:
        """Solve the hydraulics at the current time (again, after a change).

        Whether EPANET warned is :attr:`last_solve_warned`; what it said joins
        :meth:`take_warnings`.
        """
        self._call(tk.runH, "solve hydraulics")
        self.last_solve_warned = self._call_warned
        self._solved = True

    def take_warnings(self) -> list[SimulationWarning]:
        """EPANET's warnings since the last call, first first, each with the utility time
        [s] of the solve that gave it (empty when ``read_warnings`` is off)."""
        found, self._warnings = self._warnings, []
        return found

    def finish(self) -> None:
        """Hand the final hydraulic solution of this time to the quality solver."""
        if self.quality is not None:
            self._call(tk.runQ, "solve water quality")

    def _call(self, fn: Callable[..., Any], what: str, *args: int) -> int:
        """Call a toolkit function; its result as an int. Whether EPANET warned is
        ``_call_warned``."""
        # owa-epanet echoes each EPANET warning as a bare Python warning ("WARNING", no code);
        # it only says the report file (kind, element) is worth reading
        with warnings.catch_warnings(record=True) as echoed:
            warnings.simplefilter("always")
            try:
                result = int(fn(self._ph, *args) or 0)
            except Exception as exc:
                raise SimulationError(
                    None, f"{what} at utility time {self.time_s} s: {exc}", self.engine.path
                ) from None
        self._call_warned = bool(echoed)
        if echoed:
            self._keep_warnings()
        return result

    def _keep_warnings(self) -> None:
        """Read what EPANET wrote into its report (if wanted), then empty the report: the
        next warning is then the only one in it, and the file does not grow for ever."""
        if self.read_warnings:
            for w in self.engine._read_warnings():
                kind = w.kind
                if kind == UNBALANCED and "unbalanced" not in w.message.lower():
                    kind = UNSTABLE  # "Maximum trials exceeded … System may be unstable"
                message = _EPANET_TIME_RE.sub("", w.message)
                self._warnings.append(replace(w, kind=kind, time_s=self.time_s, message=message))
        tk.clearreport(self._ph)

    # ------------------------------------------------------------------ boundary conditions
    def set_tank_level(self, node_index: int, level_m: float) -> float:
        """Set a tank's water level [m above its bottom]; returns the level used.

        A level outside the tank's limits is clipped to them (EPANET refuses it otherwise).
        """
        ph = self._ph
        low = tk.getnodevalue(ph, node_index, tk.MINLEVEL) * self._length_m
        high = tk.getnodevalue(ph, node_index, tk.MAXLEVEL) * self._length_m
        used = float(min(max(level_m, low), high))
        tk.setnodevalue(ph, node_index, tk.TANKLEVEL, used / self._length_m)
        return used

    def set_reservoir_head(self, node_index: int, head_m: float) -> None:
        """Set a reservoir's water surface [m above datum]."""
        tk.setnodevalue(self._ph, node_index, tk.TANKLEVEL, head_m / self._length_m)

    def set_link_open(self, link_index: int, is_open: bool) -> None:
        """Open or close a link (a pump running or stopped)."""
        tk.setlinkvalue(self._ph, link_index, tk.STATUS, tk.OPEN if is_open else tk.CLOSED)

    def set_pump_speed(self, link_index: int, speed: float) -> None:
        """Set a pump's relative speed (1.0 = nominal); 0 stops it."""
        tk.setlinkvalue(self._ph, link_index, tk.SETTING, float(speed))

    def set_valve_flow(self, link_index: int, flow_m3s: float) -> None:
        """Set a flow-control valve to pass ``flow_m3s`` [m³/s]; below 0.1 L/s it is closed
        (an FCV set to zero flow would leave EPANET an ill-conditioned system)."""
        if flow_m3s < CLOSED_FLOW_M3S:
            tk.setlinkvalue(self._ph, link_index, tk.STATUS, tk.CLOSED)
        else:  # a new setting also makes a closed valve active again
            tk.setlinkvalue(self._ph, link_index, tk.SETTING, flow_m3s / self._flow_m3s)

    def scale_demands(self, junction_indices: Iterable[int], multiplier: float) -> None:
        """Scale the file's base demands of these junctions by ``multiplier``."""
        ph = self._ph
        for j in junction_indices:
            for k, base in enumerate(self._base_demands[j - 1], start=1):
                tk.setbasedemand(ph, j, k, base * multiplier)

    # ------------------------------------------------------------------ results
    def node_values(self, name: str) -> FloatArray:
        """A node property at the current solution, in SI: ``pressure`` [m], ``head`` [m],
        ``demand`` (all outflow: consumers, emitters, leaks) / ``consumer_demand`` (what
        consumers get, less than asked under pressure-driven demand) [m³/s], ``quality``
        (age [s] or trace fraction)."""
        tk.getnodevalues(self._ph, _NODE_PROPS[name], self._node_buf.buffer)
        values = self._node_buf.view.copy()
        if name == "head":
            values *= self._length_m
        elif name in ("demand", "consumer_demand"):
            values *= self._flow_m3s
        elif name == "quality":
            values *= 3600.0 if isinstance(self.quality, WaterAge) else 0.01  # h -> s, % -> 1
        return values

    def link_values(self, name: str) -> FloatArray:
        """A link property at the current solution: ``flow`` [m³/s], ``status`` (EPANET
        code), ``setting``."""
        tk.getlinkvalues(self._ph, _LINK_PROPS[name], self._link_buf.buffer)
        values = self._link_buf.view.copy()
        if name == "flow":
            values *= self._flow_m3s
        return values

    def tank_levels(self, node_indices: list[int]) -> FloatArray:
        """Water level [m above bottom] of these tanks at the current solution."""
        ph = self._ph
        return np.array(
            [
                (tk.getnodevalue(ph, i, tk.HEAD) - tk.getnodevalue(ph, i, tk.ELEVATION))
                * self._length_m
                for i in node_indices
            ]
        )

    def close(self) -> None:
        """Close the solvers and the project."""
        if self._started:
            ph = self._ph
            if self.quality is not None:
                tk.closeQ(ph)
            tk.closeH(ph)
            self._started = False
        self.engine.close()
