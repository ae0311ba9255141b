"""``/alarms`` and ``/incidents``: the alarm list and an operator's actions on it (staff),
the alarm service's incidents, and the demo simulator's incidents (ground truth, injection).

Every operator action is written to the alarm's history and the audit log in the same
transaction (:class:`~waterops.service.alarms.AlarmService`) and published on the event bus
(the live stream's ``alarm`` events). A refused transition is a 409 naming the actions the
alarm's state allows.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from waterops.api.deps import PageParams, ServicesDep, requires
from waterops.api.operations import AlarmActor, OpsDep, OpsReader, RunningLive
from waterops.api.schemas.alarms import (
    AlarmAcknowledge,
    AlarmAssign,
    AlarmPublic,
    AlarmResolve,
    IncidentPublic,
    InjectedIncidentCreate,
    InjectedIncidentPublic,
)
from waterops.api.schemas.common import Page, RecordId
from waterops.errors import AlarmError, RecordNotFoundError
from waterops.model.accounts import Permission, User
from waterops.model.alarms import (
    Alarm,
    AlarmState,
    Incident,
    IncidentState,
    Severity,
    allowed_actions,
)
from waterops.model.utility import Incident as InjectedIncident
from waterops.service.incidents import IncidentRequest
from waterops.service.live import Live
from waterops.store.accounts_store import insert_audit

router = APIRouter(tags=["alarms and incidents"])

AlarmId = Annotated[RecordId, Path(description="alarm id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}}
Injector = Annotated[User, Depends(requires(Permission.INCIDENTS_INJECT))]


def alarm_public(alarm: Alarm) -> AlarmPublic:
    """The public form of an alarm."""
    data = asdict(alarm)
    data["allowed_actions"] = [a.value for a in allowed_actions(alarm.state)
                               if a.value in ("acknowledge", "assign", "resolve")]
    return AlarmPublic.model_validate(data)


def _existing(ops: OpsDep, alarm_id: int) -> Alarm:
    try:
        return ops.alarm_store.alarm(alarm_id)
    except AlarmError:
        raise RecordNotFoundError("alarm", alarm_id) from None


@router.get("/alarms", responses=_ERRORS)
def list_alarms(
    _user: OpsReader, ops: OpsDep, page: PageParams,
    state: Annotated[list[AlarmState] | None, Query(description="only these states")] = None,
    severity: Annotated[list[Severity] | None, Query(description="only these severities")]
    = None,
) -> Page[AlarmPublic]:
    """Alarms, newest first, filtered by state and severity (staff)."""
    alarms = ops.alarm_store.alarms(state)
    if severity:
        alarms = [a for a in alarms if a.severity in severity]
    items = alarms[page.offset:page.offset + page.limit]
    return Page(items=[alarm_public(a) for a in items], total=len(alarms), limit=page.limit,
                offset=page.offset)


@router.get("/alarms/{alarm_id}", responses={**_ERRORS, 404: {}})
def get_alarm(alarm_id: AlarmId, _user: OpsReader, ops: OpsDep) -> AlarmPublic:
    """One alarm (staff)."""
    return alarm_public(_existing(ops, alarm_id))


@router.post("/alarms/{alarm_id}/acknowledge", responses={**_ERRORS, 404: {}, 409: {}})
def acknowledge(alarm_id: AlarmId, body: AlarmAcknowledge, user: AlarmActor,
                ops: OpsDep) -> AlarmPublic:
    """The operator has seen the alarm (audited)."""
    _existing(ops, alarm_id)
    return alarm_public(ops.alarms.acknowledge(alarm_id, user.username, note=body.note))


@router.post("/alarms/{alarm_id}/assign", responses={**_ERRORS, 404: {}, 409: {}})
def assign(alarm_id: AlarmId, body: AlarmAssign, user: AlarmActor, ops: OpsDep) -> AlarmPublic:
    """Give the alarm to a person or crew, or hand it over (audited)."""
    _existing(ops, alarm_id)
    return alarm_public(ops.alarms.assign(alarm_id, body.assignee, user.username,
                                          note=body.note))


@router.post("/alarms/{alarm_id}/resolve", responses={**_ERRORS, 404: {}, 409: {}})
def resolve(alarm_id: AlarmId, body: AlarmResolve, user: AlarmActor,
            ops: OpsDep) -> AlarmPublic:
    """Close the alarm with its cause; its incident too if it was the last one (audited)."""
    _existing(ops, alarm_id)
    return alarm_public(ops.alarms.resolve(alarm_id, body.cause, user.username,
                                           note=body.note))


def incident_public(incident: Incident) -> IncidentPublic:
    """The public form of an alarm incident."""
    return IncidentPublic.model_validate(asdict(incident))


@router.get("/incidents", responses=_ERRORS)
def list_incidents(
    _user: OpsReader, ops: OpsDep, page: PageParams,
    state: Annotated[IncidentState | None, Query(description="only this state")] = None,
) -> Page[IncidentPublic]:
    """The alarm service's incidents (alarms grouped by cause), newest first (staff)."""
    incidents = ops.alarm_store.incidents(state)
    items = incidents[page.offset:page.offset + page.limit]
    return Page(items=[incident_public(i) for i in items], total=len(incidents),
                limit=page.limit, offset=page.offset)


def injected_public(live: Live, incident: InjectedIncident) -> InjectedIncidentPublic:
    """The public form of a simulator incident (times in UTC)."""
    sim = live.require_simulator()
    now_s = sim.time_s
    return InjectedIncidentPublic(
        id=incident.id, type=incident.type, element=incident.element, size=incident.size,
        size_unit=incident.size_unit, start=sim.epoch + timedelta(seconds=incident.start_s),
        end=None if incident.end_s is None else sim.epoch + timedelta(seconds=incident.end_s),
        active=incident.active_at(now_s), parameters=dict(incident.parameters))


@router.get("/incidents/injected", responses={**_ERRORS, 409: {}})
def list_injected(_user: OpsReader, live: RunningLive,
                  page: PageParams) -> Page[InjectedIncidentPublic]:
    """The demo simulator's incidents so far (ground truth: injected and random), newest
    first (staff; 409 when no simulator runs)."""
    incidents = list(reversed(live.injected_incidents()))
    items = incidents[page.offset:page.offset + page.limit]
    return Page(items=[injected_public(live, i) for i in items], total=len(incidents),
                limit=page.limit, offset=page.offset)


@router.post("/incidents", status_code=201, responses={**_ERRORS, 409: {}, 422: {}})
def inject(body: InjectedIncidentCreate, user: Injector, live: RunningLive,
           services: ServicesDep) -> InjectedIncidentPublic:
    """Start an incident in the running demo simulator at its next step (dispatcher,
    administrator; audited). 422 when the element does not fit the type or is busy."""
    duration = None if body.duration_s is None else round(body.duration_s)
    incident = live.inject(IncidentRequest(body.type, body.element, body.size, duration))
    with services.accounts.writing("audit an injected incident") as conn:
        insert_audit(conn, services.auth.clock(), user, "inject_incident", "sim_incident",
                     int(incident.id.rsplit("-", 1)[-1]),
                     after={"id": incident.id, "type": incident.type.value,
                            "element": incident.element, "size": incident.size})
    return injected_public(live, incident)
