"""Dependencies of the operations routes (network, telemetry, alarms, twin, KPIs, stream).

The operations services sit beside the application's :class:`~waterops.api.deps.Services`,
built on first use over the same database (:func:`operations`): the telemetry and alarm
stores, the alarm service (publishing on the process's event bus), the sensor registry of
the HTTP ingest. What the process runs live (:class:`waterops.service.live.Live`: layout,
twin, simulator, bus) is ``app.state.live``, ``None`` under ``waterops serve``; the event bus
is then ``app.state.bus``.

The network is the live layout's; without one, the file named by the ``WATEROPS_NETWORK``
setting (read once); without that, :class:`~waterops.errors.LiveSystemError` (409).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from waterops.api.deps import ServicesDep, requires
from waterops.errors import AuthenticationError, LiveSystemError
from waterops.io.inp import read_inp
from waterops.model.accounts import Permission, User
from waterops.model.network import Network
from waterops.model.utility import UtilityLayout
from waterops.service.alarms import AlarmService
from waterops.service.auth import require
from waterops.service.events import EventBus
from waterops.service.live import Live, NotifyingStore
from waterops.service.network_view import NetworkMap, network_map
from waterops.store.alarms_store import AlarmStore
from waterops.store.telemetry_store import TelemetryStore
from waterops.telemetry.http_ingest import QualityFlagger, SensorRegistry

_BUILD_LOCK = threading.Lock()


@dataclass
class Operations:
    """The operations services of one application."""

    telemetry: TelemetryStore
    alarm_store: AlarmStore
    alarms: AlarmService
    bus: EventBus
    ingest_store: NotifyingStore
    registry: SensorRegistry
    flagger: QualityFlagger
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    kpi_cache: tuple[float, Any] | None = None
    """(monotonic time, figures) of the last ``/kpis`` computation."""


@dataclass
class NetworkContext:
    """The network the routes show, its layout (if known) and its map (built once)."""

    name: str
    network: Network
    layout: UtilityLayout | None
    map: NetworkMap
    map_json: bytes | None = None
    """The map's JSON body, encoded on first use (it never changes)."""


def get_live(request: Request) -> Live | None:
    """What the process runs live, or ``None`` (``waterops serve``)."""
    live: Live | None = getattr(request.app.state, "live", None)
    return live


LiveDep = Annotated[Live | None, Depends(get_live)]


def require_live(live: LiveDep) -> Live:
    """The live holder, or 409: no twin or simulator runs in this process."""
    if live is None:
        raise LiveSystemError("no twin is running: this server runs without the demo's "
                              "simulator and twin (`waterops serve`); `waterops demo` runs them")
    return live


RunningLive = Annotated[Live, Depends(require_live)]


def get_bus(request: Request) -> EventBus:
    """The process's event bus (the live holder's, else the application's own)."""
    live = get_live(request)
    if live is not None:
        return live.bus
    bus: EventBus = request.app.state.bus
    return bus


def operations(request: Request, services: ServicesDep) -> Operations:
    """The application's operations services (built once, on first use)."""
    ops: Operations | None = getattr(request.app.state, "operations", None)
    if ops is not None:
        return ops
    with _BUILD_LOCK:
        ops = getattr(request.app.state, "operations", None)
        if ops is None:
            engine = services.accounts.engine
            telemetry = TelemetryStore(engine)
            bus = get_bus(request)
            store = AlarmStore(engine)
            ingest = NotifyingStore(telemetry, bus, "http")
            ops = Operations(telemetry, store, AlarmService(store, bus), bus, ingest,
                             SensorRegistry(telemetry), QualityFlagger(telemetry))
            request.app.state.operations = ops
    return ops


OpsDep = Annotated[Operations, Depends(operations)]


def network_context(request: Request, live: LiveDep, ops: OpsDep) -> NetworkContext:
    """The network of this process (built once), or 409 when none is configured."""
    ctx: NetworkContext | None = getattr(request.app.state, "network_context", None)
    if ctx is not None:
        return ctx
    with _BUILD_LOCK:
        built: NetworkContext | None = getattr(request.app.state, "network_context", None)
        if built is not None:
            return built
        if live is not None:
            ctx = NetworkContext(live.layout.name, live.network, live.layout,
                                 network_map(live.network, live.layout))
        else:
            settings: Any = getattr(request.app.state, "settings", None)
            path = getattr(settings, "network_file", None)
            if path is None:
                raise LiveSystemError("no network is configured: set WATEROPS_NETWORK to the "
                                      "utility's EPANET .inp file and restart `waterops serve`")
            net = read_inp(path)
            ctx = NetworkContext(str(path), net, None,
                                 network_map(net, None, ops.telemetry.sensors()))
        request.app.state.network_context = ctx
    return ctx


NetworkDep = Annotated[NetworkContext, Depends(network_context)]


OpsReader = Annotated[User, Depends(requires(Permission.OPERATIONS_READ))]
"""A staff member who may look at the operations centre."""
AlarmActor = Annotated[User, Depends(requires(Permission.ALARMS_ACT))]
"""A staff member who may acknowledge, assign and resolve alarms."""


def stream_user(
    request: Request,
    services: ServicesDep,
    token: Annotated[str | None, Query(description="bearer token (EventSource cannot send "
                                       "headers)", max_length=512)] = None,
) -> User:
    """The user of a stream: bearer header or ``?token=``; needs operations:read."""
    if token is None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthenticationError("no token: send Authorization: Bearer … or ?token=")
        token = credentials.strip()
    user = services.auth.authenticate(token)
    require(user, Permission.OPERATIONS_READ, "the live stream")
    return user

