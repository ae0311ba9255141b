"""Work orders through the service, on SQLite and PostgreSQL: create (by hand, from an alarm),
dispatch, field status of the crew's own orders only, close with cause and materials, SLA,
history and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from waterops.errors import (
    PermissionDeniedError,
    RecordNotFoundError,
    WorkOrderError,
    WorkOrderTransitionError,
)
from waterops.model.alarms import AlarmSignal, Cause, Severity
from waterops.model.work_orders import (
    LinkKind,
    Material,
    Priority,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
)
from waterops.service.alarms import AlarmService
from waterops.service.work_orders import WorkOrderDraft
from waterops.store.alarms_store import AlarmStore
from waterops.store.work_orders_store import WorkOrderFilter

from .conftest import T0, World

A = WorkOrderAction
DRAFT = WorkOrderDraft(WorkOrderKind.PIPE_BURST, "Burst on DN80 main, Jiefang Rd",
                       Priority.EMERGENCY, node_id="JUNCTION-75", diameter_mm=80)


def test_a_burst_from_report_to_closure(world: World) -> None:
    s, clock = world.service, world.clock
    order = s.create(world.dispatcher, DRAFT)
    assert order.state is WorkOrderState.CREATED
    assert order.on_site_due == T0 + timedelta(minutes=45)
    assert order.fixed_due == T0 + timedelta(hours=24)
    clock.advance(minutes=5)
    order = s.assign(world.dispatcher, order.id, world.crew_a.id, "Crew 3")
    assert (order.state, order.assignee_id, order.crew) == (WorkOrderState.ASSIGNED,
                                                            world.crew_a.id, "Crew 3")
    clock.advance(minutes=2)
    s.update_status(world.crew_a, order.id, A.DEPART)
    clock.advance(minutes=33)
    order = s.update_status(world.crew_a, order.id, A.ARRIVE, "valve V12 closed")
    assert order.on_site_at == T0 + timedelta(minutes=40)
    clock.advance(hours=3)
    order = s.repair(world.crew_a, order.id, "pipe_burst",
                     [Material("DN80 repair clamp", 1, "pcs"), Material("DI pipe DN80", 1.5, "m")],
                     "longitudinal crack, clamp fitted")
    assert order.state is WorkOrderState.REPAIRED and order.cause == "pipe_burst"
    clock.advance(minutes=20)
    order = s.close(world.dispatcher, order.id, materials=[Material("sand", 0.5, "m3")])
    assert order.state is WorkOrderState.CLOSED
    assert [m.name for m in order.materials] == ["DN80 repair clamp", "DI pipe DN80", "sand"]
    sla = s.sla(order, T0 + timedelta(days=5))
    assert not sla.breached  # on site at 40 min (< 45), repaired at 3 h 40 (< 24 h)
    history = s.history(world.dispatcher, order.id)
    assert [e.action for e in history] == ["create", "assign", "depart", "arrive", "repair",
                                           "close"]
    assert history[3].actor == "crew-a" and history[3].note == "valve V12 closed"
    audit = [a for a in world.accounts.audit_lines() if a["target_kind"] == "work_order"]
    assert [a["action"] for a in audit] == ["work_order_create", "work_order_assign",
                                         "work_order_depart", "work_order_arrive",
                                         "work_order_repair", "work_order_close"]
    assert {a["actor"] for a in audit} == {"disp1", "crew-a"}


def test_a_crew_sees_and_moves_only_its_own_orders(world: World) -> None:
    s = world.service
    mine = s.assign(world.dispatcher, s.create(world.dispatcher, DRAFT).id, world.crew_a.id)
    theirs = s.assign(world.dispatcher, s.create(world.dispatcher, DRAFT).id, world.crew_b.id)
    items, total = s.visible(world.crew_a)
    assert total == 1 and [o.id for o in items] == [mine.id]
    with pytest.raises(RecordNotFoundError):
        s.get(world.crew_a, theirs.id)
    with pytest.raises(RecordNotFoundError):
        s.update_status(world.crew_a, theirs.id, A.DEPART)
    with pytest.raises(PermissionDeniedError):  # a crew does not dispatch
        s.assign(world.crew_a, theirs.id, world.crew_a.id)
    with pytest.raises(PermissionDeniedError):
        s.create(world.crew_a, DRAFT)
    for outsider in (world.customer,):
        with pytest.raises(PermissionDeniedError):
            s.visible(outsider)
        with pytest.raises(PermissionDeniedError):
            s.get(outsider, mine.id)
    # nothing changed by the refused attempts
    assert s.get(world.dispatcher, theirs.id).state is WorkOrderState.ASSIGNED
    assert s.visible(world.planner)[1] == 2


def test_refusals_store_nothing(world: World) -> None:
    s = world.service
    order = s.create(world.dispatcher, DRAFT)
    with pytest.raises(WorkOrderTransitionError):
        s.close(world.dispatcher, order.id, cause="pipe_burst")
    with pytest.raises(WorkOrderError, match="not an active field crew"):
        s.assign(world.dispatcher, order.id, world.agent.id)
    s.assign(world.dispatcher, order.id, world.crew_a.id)
    s.update_status(world.crew_a, order.id, A.ARRIVE)
    with pytest.raises(WorkOrderError, match="give the cause"):
        s.close(world.dispatcher, order.id)
    with pytest.raises(WorkOrderError, match="unknown cause code"):
        s.repair(world.crew_a, order.id, "gremlins")
    with pytest.raises(WorkOrderError, match="cannot link to complaint 999"):
        s.link(world.dispatcher, order.id, LinkKind.COMPLAINT, 999)
    assert [e.action for e in s.history(world.dispatcher, order.id)] == ["create", "assign",
                                                                         "arrive"]
    assert s.get(world.dispatcher, order.id).materials == ()


def test_sla_breach_and_the_overdue_list(world: World) -> None:
    s, clock = world.service, world.clock
    late = s.create(world.dispatcher, DRAFT)
    room = s.create(world.agent, WorkOrderDraft(WorkOrderKind.PUMP_ROOM, "PR03 booster"))
    clock.advance(minutes=50)
    overdue = s.overdue(world.dispatcher)
    assert [o.id for o, _ in overdue] == [late.id]
    assert overdue[0][1].on_site_remaining_s == -300
    clock.advance(hours=1, minutes=11)  # 2 h 01 min after: the pump room is late too
    assert {o.id for o, _ in s.overdue(world.dispatcher)} == {late.id, room.id}
    s.cancel(world.dispatcher, room.id, f"duplicate of order {late.id}")
    assert [o.id for o, _ in s.overdue(world.dispatcher)] == [late.id]


def test_an_order_from_an_alarm_starts_its_clock_at_the_alarm(world: World) -> None:
    alarms = AlarmService(AlarmStore(world.accounts.engine), clock=world.clock)
    alarm = alarms.report(AlarmSignal(
        "burst", "trunk_main:SRC-SHUIKU", "inlet-outlet imbalance", True,
        T0 - timedelta(minutes=10), Severity.CRITICAL, group_key="trunk_main:SRC-SHUIKU",
        value=0.18, unit="m3/s", message="Trunk main burst suspected"))
    assert alarm is not None and alarm.incident_id is not None
    order = world.service.create_from_alarm(world.dispatcher, alarm.id)
    assert order.kind is WorkOrderKind.TRUNK_MAIN and order.priority is Priority.EMERGENCY
    assert order.reported_at == T0 - timedelta(minutes=10)
    assert order.on_site_due == T0 + timedelta(minutes=35)
    assert set(order.links) == {(LinkKind.ALARM, alarm.id),
                                (LinkKind.INCIDENT, alarm.incident_id)}
    found, total = world.service.visible(world.dispatcher,
                                         WorkOrderFilter(link=(LinkKind.ALARM, alarm.id)))
    assert total == 1 and found[0].id == order.id
    with pytest.raises(RecordNotFoundError):
        world.service.create_from_alarm(world.dispatcher, alarm.id + 100)
    # the alarm can be resolved with the order's cause afterwards
    assert alarms.resolve(alarm.id, Cause.PIPE_BURST, "disp1").cause is Cause.PIPE_BURST


def test_an_order_from_a_complaint_and_links_to_a_notice(world: World) -> None:
    """A leak reported by a customer at 01:40 local: the order sits at the complaint's node,
    its clock starts at the complaint's arrival, and the repair's outage notice is linked."""
    from waterops.store.complaints_store import ComplaintsStore
    from waterops.store.notices_store import NoticesStore

    received = T0 - timedelta(minutes=20)
    with ComplaintsStore(world.accounts.engine).transaction() as tx:
        cid = tx.insert_complaint({"channel": "phone", "category": "leak",
                                   "description": "water running in the street",
                                   "node_id": "JUNCTION-75", "location_text": "Jiefang Rd 8"},
                                  received)
    order = world.service.create_from_complaint(world.agent, cid, kind=WorkOrderKind.LEAK)
    assert (order.kind, order.node_id, order.reported_at) == (WorkOrderKind.LEAK,
                                                              "JUNCTION-75", received)
    assert order.on_site_due == received + timedelta(minutes=90)
    assert order.links == ((LinkKind.COMPLAINT, cid),)
    notice = NoticesStore(world.accounts.engine).insert_notice(
        {"kind": "unplanned", "area": "Jiefang Rd", "reason": "repair", "issued_by": "disp1",
         "starts_at_us": 0, "ends_at_us": 1, "nodes": "[]", "subject": "s", "body_en": "b",
         "body_zh": "b"}, [], [], T0, None)
    order = world.service.link(world.dispatcher, order.id, LinkKind.NOTICE, notice.id)
    assert set(order.links) == {(LinkKind.COMPLAINT, cid), (LinkKind.NOTICE, notice.id)}
    # linking twice changes nothing; a crew or an agent may not link
    again = world.service.link(world.dispatcher, order.id, LinkKind.NOTICE, notice.id)
    assert again.links == order.links
    with pytest.raises(PermissionDeniedError):
        world.service.link(world.agent, order.id, LinkKind.NOTICE, notice.id)
    found, total = world.service.visible(world.dispatcher,
                                         WorkOrderFilter(link=(LinkKind.COMPLAINT, cid)))
    assert total == 1 and found[0].id == order.id


def test_an_order_from_an_incident_takes_its_most_severe_alarm(world: World) -> None:
    """A DMA incident: a low-pressure alarm (major) at 01:50 local, then a burst (critical)
    at 01:55 in the same group: the order is an emergency burst, due on site 45 min after
    the incident opened (02:35), linked to the incident and both alarms."""
    alarms = AlarmService(AlarmStore(world.accounts.engine), clock=world.clock)
    low = alarms.report(AlarmSignal("low_pressure", "P-JUNCTION-75", "pressure>=14m", True,
                                    T0 - timedelta(minutes=10), Severity.MAJOR,
                                    group_key="dma:DMA-04", value=9.0, unit="m"))
    burst = alarms.report(AlarmSignal("burst", "dma:DMA-04", "twin innovation", True,
                                      T0 - timedelta(minutes=5), Severity.CRITICAL,
                                      group_key="dma:DMA-04", value=0.03, unit="m3/s",
                                      message="Burst suspected in DMA-04"))
    assert low is not None and burst is not None
    assert low.incident_id == burst.incident_id is not None
    order = world.service.create_from_incident(world.dispatcher, burst.incident_id)
    assert (order.kind, order.priority) == (WorkOrderKind.PIPE_BURST, Priority.EMERGENCY)
    assert order.reported_at == T0 - timedelta(minutes=10)
    assert order.on_site_due == T0 + timedelta(minutes=35)
    assert order.description == "Burst suspected in DMA-04"
    assert set(order.links) == {(LinkKind.INCIDENT, burst.incident_id),
                                (LinkKind.ALARM, low.id), (LinkKind.ALARM, burst.id)}
    with pytest.raises(RecordNotFoundError):
        world.service.create_from_incident(world.dispatcher, burst.incident_id + 50)
    with pytest.raises(PermissionDeniedError):
        world.service.create_from_incident(world.crew_a, burst.incident_id)
