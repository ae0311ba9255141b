"""What a running waterops process has live: the layout, the network, the twin's latest state,
the demo simulator (to inject incidents) and the event bus.

One :class:`Live` is built by ``waterops demo`` and handed to the web application
(``app.state.live``); under ``waterops serve`` there is none, and the routes that need a
twin or a simulator answer 409 with :class:`~waterops.errors.LiveSystemError`.

Live updates travel on the :class:`~waterops.service.events.EventBus`: besides the alarm
events of :mod:`waterops.service.events`, this module defines :class:`ReadingsIngested`
(every ingest path publishes it after the readings are committed: the in-process simulator
through :class:`BusPublisher`, the MQTT and HTTP ingests through :class:`NotifyingStore`) and
:class:`TwinUpdated` (a new twin state).

The simulator is not thread-safe: its runner thread steps it while a request may inject an
incident. Both go through :attr:`Live.lock` (:func:`run_paced` steps under it).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from waterops.errors import ConfigError, LiveSystemError
from waterops.model.accounts import Role
from waterops.model.network import Network
from waterops.model.telemetry import Quantity, Reading
from waterops.model.utility import Incident, UtilityLayout
from waterops.service.auth import AuthService
from waterops.service.events import Event, EventBus
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import SensorFrame, UtilityStatus, VirtualUtility
from waterops.service.twin import TwinState

TWIN_HISTORY = 2000
"""Twin updates kept per sensor for "measured against the twin" charts (about 20 days at one
update per 15 min of simulated time)."""


@dataclass(frozen=True, slots=True)
class ReadingsIngested(Event):
    """Readings were committed to the telemetry store (any ingest path).

    ``sensor_ids``, ``times`` (UTC) and ``values`` (SI) are aligned; ``source`` names the
    path (``simulator``, ``http``, ``mqtt``).
    """

    sensor_ids: tuple[str, ...]
    times: tuple[datetime, ...]
    values: tuple[float, ...]
    source: str = ""

    @classmethod
    def of(cls, readings: Iterable[Reading], source: str) -> ReadingsIngested:
        """The event of a list of readings."""
        rows = list(readings)
        return cls(tuple(r.sensor_id for r in rows), tuple(r.time for r in rows),
                   tuple(float(r.value) for r in rows), source)


@dataclass(frozen=True, slots=True)
class TwinUpdated(Event):
    """The twin has a new state, for utility time ``time`` (UTC)."""

    state: TwinState
    time: datetime


class BusPublisher:
    """A simulator publisher (after the store's): tells the bus what each frame stored."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def prepare(self, layout: UtilityLayout) -> None:
        """Nothing to register."""

    def publish(self, frame: SensorFrame) -> None:
        arrived = ~np.isnan(frame.values)
        if not arrived.any():
            return
        ids = tuple(s for s, ok in zip(frame.sensor_ids, arrived.tolist(), strict=True) if ok)
        values = tuple(frame.values[arrived].tolist())
        self.bus.publish(ReadingsIngested(ids, (frame.time,) * len(ids), values, "simulator"))

    def close(self) -> None:
        """Nothing buffered."""


class NotifyingStore:
    """A telemetry store that publishes :class:`ReadingsIngested` after each committed write.

    Wraps the store handed to the MQTT ingest or the HTTP batch ingest; everything else is
    passed through to the wrapped store.
    """

    def __init__(self, store: Any, bus: EventBus, source: str) -> None:
        self._store = store
        self.bus = bus
        self.source = source

    def write_readings(self, readings: Sequence[Reading]) -> int:
        """Write, then publish (only what was committed is announced)."""
        stored = int(self._store.write_readings(readings))
        if readings:
            self.bus.publish(ReadingsIngested.of(readings, self.source))
        return stored

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Live:
    """What the running process has: layout, network, event bus, twin state, simulator.

    Parameters
    ----------
    layout : the utility's layout
    network : its network model (read once: the map and element details come from it)
    bus : the process's event bus
    simulator : the demo's virtual utility, if one runs (incidents can then be injected)
    """

    def __init__(self, layout: UtilityLayout, network: Network, bus: EventBus | None = None,
                 *, simulator: VirtualUtility | None = None) -> None:
        self.layout = layout
        self.network = network
        self.bus = bus or EventBus()
        self.simulator = simulator
        self.lock = threading.RLock()
        self.twin_running = False
        self._twin_state: TwinState | None = None
        self._twin_time: datetime | None = None
        self._twin_history: dict[str, deque[tuple[datetime, float]]] = {}
        self.source_input_m3 = 0.0
        """Water the sources sent since the simulator started [m³] (the model's flows)."""
        self._storage_in_m3 = 0.0  # the tanks' net inflow, summed like the sources' input
        self._tank_positions: npt.NDArray[np.intp] | None = None  # in the simulator's model
        self.source_meters = source_meter_ids(layout)
        """Flow sensors of what enters the system."""

    # -- twin ----------------------------------------------------------------------------------
    @property
    def twin_state(self) -> TwinState | None:
        """The twin's latest state, or ``None`` before its first update."""
        return self._twin_state

    @property
    def twin_time(self) -> datetime | None:
        """UTC time of :attr:`twin_state`."""
        return self._twin_time

    def require_twin(self) -> tuple[TwinState, datetime]:
        """The twin's latest state and its time, or :class:`LiveSystemError`."""
        state, at = self._twin_state, self._twin_time
        if state is None or at is None:
            why = "it has not computed its first state yet" if self.twin_running else (
                "this process runs no twin (start `waterops demo`, with the twin on)")
            raise LiveSystemError(f"no twin is running: {why}")
        return state, at

    def set_twin_state(self, state: TwinState, at: datetime) -> None:
        """Keep the twin's new state and its modelled sensor values; publish it."""
        with self.lock:
            self._twin_state, self._twin_time = state, at
            if "model" in state.residuals:
                for sensor_id, value in state.residuals["model"].items():
                    if value == value:
                        history = self._twin_history.setdefault(
                            str(sensor_id), deque(maxlen=TWIN_HISTORY))
                        history.append((at, float(value)))
        self.bus.publish(TwinUpdated(state, at))

    def twin_series(self, sensor_id: str, start: datetime,
                    end: datetime) -> list[tuple[datetime, float]]:
        """The twin's modelled values of ``sensor_id`` in [start, end)."""
        with self.lock:
            history = list(self._twin_history.get(sensor_id, ()))
        return [(t, v) for t, v in history if start <= t < end]

    # -- simulator -----------------------------------------------------------------------------
    def require_simulator(self) -> VirtualUtility:
        """The simulator, or :class:`LiveSystemError`."""
        if self.simulator is None:
            raise LiveSystemError("no simulator is running in this process (`waterops demo` "
                                  "runs one; `waterops serve` serves real data only)")
        return self.simulator

    def inject(self, request: IncidentRequest) -> Incident:
        """Start an incident in the running simulator at its next step."""
        sim = self.require_simulator()
        with self.lock:
            return sim.inject(request)

    def injected_incidents(self) -> list[Incident]:
        """The simulator's ground truth so far (injected and random incidents)."""
        sim = self.require_simulator()
        with self.lock:
            return list(sim.book.incidents)

    def status(self) -> UtilityStatus:
        """The simulator's key figures now."""
        sim = self.require_simulator()
        with self.lock:
            return sim.status()

    def now(self) -> datetime:
        """The utility's clock: the simulator's time in the demo, else the wall clock (UTC)."""
        sim = self.simulator
        if sim is None:
            return datetime.now(UTC)
        with self.lock:
            return sim.clock(max(sim.time_s, 0))

    def storage_change_m3(self) -> float:
        """Water put into the tanks since the simulator's first frame [m³].

        Summed from the tanks' net inflow at each frame, exactly as :attr:`source_input_m3`
        and the simulator's delivered volume are summed: the model balances sources, outflows
        and tank inflow at every solution, so input − storage − delivered is what leaked,
        never below zero. (The tanks' level difference since the start is exact, but against
        the frame sums of the flows it made the demo's NRW slightly negative in its first
        hours.)"""
        return self._storage_in_m3

    def account_frame(self, frame: SensorFrame, step_s: int) -> None:
        """Add the sources' inflow and the tanks' net inflow over the step to
        :attr:`source_input_m3` and :meth:`storage_change_m3` (NRW estimate)."""
        if frame.time_s <= 0:
            return
        flows = self.status().source_flows_m3s.values()
        sim = self.require_simulator()
        with self.lock:
            main = sim.models.main
            if self._tank_positions is None:
                self._tank_positions = main.node_indices(list(self.network.tanks.index))
            tank_inflow = main.node_values("demand")[self._tank_positions]
        self.source_input_m3 += sum(max(q, 0.0) for q in flows) * step_s
        self._storage_in_m3 += float(tank_inflow.sum()) * step_s


def source_meter_ids(layout: UtilityLayout) -> frozenset[str]:
    """Flow sensors on the first link out of each source (what enters the system)."""
    links = {s.outlet_links[0] for s in layout.sources if s.outlet_links}
    return frozenset(s.id for s in layout.sensors
                     if s.quantity is Quantity.FLOW and s.element_kind == "link"
                     and s.element_id in links)


def run_paced(live: Live, speed: float, stop: threading.Event, *,
              duration_s: int | None = None,
              on_frame: Callable[[SensorFrame], None] | None = None) -> None:
    """Step ``live``'s simulator at ``speed`` x real time until ``stop`` (or ``duration_s``
    of simulated time), each step under :attr:`Live.lock`; ``on_frame`` runs outside it."""
    sim = live.require_simulator()
    if speed <= 0:
        raise ConfigError(f"speed must be > 0, not {speed}")
    begin_wall = time.monotonic()
    begin_sim = max(sim.time_s, 0)
    while not stop.is_set():
        if duration_s is not None and sim.time_s >= begin_sim + duration_s:
            break
        with live.lock:
            frame = sim.step()
        live.account_frame(frame, sim.config.step_s)
        if on_frame is not None:
            on_frame(frame)
        due = begin_wall + (frame.time_s - begin_sim) / speed
        stop.wait(max(0.0, due - time.monotonic()))


DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = (
    ("demo-admin", Role.ADMINISTRATOR),
    ("demo-dispatcher", Role.DISPATCHER),
    ("demo-quality", Role.WATER_QUALITY_ENGINEER),
    ("demo-agent", Role.SERVICE_AGENT),
    ("demo-crew", Role.FIELD_CREW),
    ("demo-planner", Role.PLANNER),
    ("demo-household", Role.HOUSEHOLD_CUSTOMER),
    ("demo-enterprise", Role.ENTERPRISE_CUSTOMER),
)
"""One demo account per role (user name, role)."""


def ensure_demo_accounts(auth: AuthService) -> list[tuple[str, Role, str]]:
    """Create the demo accounts, or give existing ones a new password.

    Passwords are drawn now (``secrets``), stored hashed and returned to be printed once:
    nothing secret is in the repository, and a restarted demo invalidates the old ones.

    Returns
    -------
    (user name, role, password) of every demo account.
    """
    accounts = auth.accounts
    out: list[tuple[str, Role, str]] = []
    for username, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        found = accounts.credentials(username)
        if found is None:
            accounts.create_user(username, auth.hasher.hash(password), role,
                                 display_name=f"Demo {role.value.replace('_', ' ')}",
                                 at=auth.clock(), created_by=None)
        else:
            user, _hash = found
            if user.role is not role:
                raise ConfigError(f"account {username!r} exists with role {user.role.value}, "
                                  f"not the demo's {role.value}; rename it or use another "
                                  "database")
            accounts.set_password_hash(user.id, auth.hasher.hash(password))
        out.append((username, role, password))
    return out


def day_start(at: datetime, utc_offset_s: int) -> datetime:
    """The local midnight (fixed UTC offset) at or before ``at``, in UTC."""
    local = at.astimezone(UTC) + timedelta(seconds=utc_offset_s)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(seconds=utc_offset_s)
