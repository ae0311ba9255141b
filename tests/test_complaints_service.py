"""Complaint intake, automatic diagnosis, callback, grouping and survey on SQLite and
PostgreSQL, with real telemetry, alarms and notices in the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from complaints_world import T0, World, demo, open_world, write_booster_trip
from waterops.errors import (
    ComplaintError,
    ComplaintTransitionError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from waterops.model.accounts import Role
from waterops.model.alarms import AlarmSignal, Severity
from waterops.model.complaints import Channel, ComplaintAction, ComplaintCategory, ComplaintState
from waterops.model.notices import NoticeKind
from waterops.service.alarms import AlarmService
from waterops.service.complaints import ComplaintForm, time_to_callback_s
from waterops.service.notices import NoticeRequest
from waterops.store.notices_store import Contact


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    w = open_world(request, str(tmp_path / "complaints.db"))
    yield w
    w.accounts.close()


def low_pressure(node: str | None = None, **kw: object) -> ComplaintForm:
    return ComplaintForm(Channel.WEB, ComplaintCategory.LOW_PRESSURE, "tap barely runs",
                         node_id=node, **kw)  # type: ignore[arg-type]


def test_booster_trip_is_diagnosed_with_a_callback_due_in_2_minutes(world: World) -> None:
    write_booster_trip(world.telemetry, world.layout, "PR03", T0 - timedelta(minutes=18), T0)
    customer = world.user("li.wei", Role.HOUSEHOLD_CUSTOMER)
    complaint = world.complaints.file(customer, ComplaintForm(
        Channel.WEB, ComplaintCategory.LOW_PRESSURE, "no pressure on the 20th floor",
        account_id="H002873"))
    assert complaint.node_id == "PR03-HIGHZONE" and complaint.pump_room_id == "PR03"
    assert complaint.dma_id == "DMA-04"
    # 02:02 UTC is 10:02 in Beijing
    assert complaint.diagnosis_en.startswith("Booster of pump room 3 stopped at 10:02")
    assert complaint.diagnosis_zh.startswith("3号泵房增压泵10:02停机")
    assert complaint.cause_key == "pump_room:PR03"
    assert complaint.state is ComplaintState.REPLIED
    assert complaint.callback is not None
    assert complaint.callback.due_at - complaint.received_at == timedelta(minutes=2)
    assert complaint.diagnosis_s is not None and complaint.diagnosis_s >= 0
    sources = {f.source for f in complaint.findings}
    assert "telemetry" in sources
    reply = world.notifier.sent[-1]
    assert reply.recipient_id == customer.id and "call you back by 10:22" in reply.body
    history = [e.action for e in world.complaints.history(customer, complaint.id)]
    assert history == ["submit", "diagnose", "reply"]


def test_callback_logged_and_time_to_callback(world: World) -> None:
    customer = world.user("wang.fang", Role.HOUSEHOLD_CUSTOMER)
    agent = world.user("agent.zhao", Role.SERVICE_AGENT)
    complaint = world.complaints.file(customer, low_pressure("JUNCTION-534"))
    world.clock.advance(seconds=95)
    done = world.complaints.act(agent, complaint.id, ComplaintAction.LOG_CALLBACK, "explained")
    assert done.state is ComplaintState.CALLBACK_DONE
    assert time_to_callback_s(done) == 95.0
    assert done.callback is not None and done.callback.agent_id == agent.id
    audit = world.accounts.audit_lines(target_kind="complaint", target_id=complaint.id)
    assert [a["action"] for a in audit] == ["complaint_log_callback"]


def test_missing_data_is_said_honestly(world: World) -> None:
    customer = world.user("zhou.min", Role.HOUSEHOLD_CUSTOMER)
    complaint = world.complaints.file(customer, low_pressure("PR01-HIGHZONE"))
    assert "no readings from pump room 1" in " ".join(f.text for f in complaint.findings)
    assert complaint.diagnosis_en.startswith("No fault is known at PR01-HIGHZONE")
    nowhere = world.complaints.file(customer, low_pressure())
    assert nowhere.node_id is None and "could not place the address" in nowhere.diagnosis_en


def test_repeated_complaints_join_one_group(world: World) -> None:
    write_booster_trip(world.telemetry, world.layout, "PR03", T0 - timedelta(minutes=18), T0)
    a = world.user("resident.a", Role.HOUSEHOLD_CUSTOMER)
    b = world.user("resident.b", Role.HOUSEHOLD_CUSTOMER)
    agent = world.user("agent.qian", Role.SERVICE_AGENT)
    first = world.complaints.file(a, low_pressure("PR03-HIGHZONE"))
    world.clock.advance(minutes=3)
    second = world.complaints.file(b, low_pressure("PR03-HIGHZONE"))
    third = world.complaints.file(agent, ComplaintForm(
        Channel.PHONE, ComplaintCategory.NO_WATER, "caller on floor 18",
        node_id="PR03-HIGHZONE", contact_phone="13800000000"))
    assert first.state is ComplaintState.REPLIED and first.group_lead_id is None
    assert second.state is ComplaintState.MERGED and second.group_lead_id == first.id
    assert third.group_lead_id == first.id and third.taken_by_id == agent.id
    assert world.complaints.group(agent, second.id) == [first.id, second.id, third.id]
    # another cause is another group
    other = world.complaints.file(b, low_pressure("JUNCTION-1"))
    assert other.group_lead_id is None and other.cause_key != first.cause_key


def test_alarm_incident_and_notice_enter_the_diagnosis(world: World) -> None:
    AlarmService(world.alarms).report(AlarmSignal(
        "pump_room_low_pressure", "PR02", "pressure>=14.3", True, T0 - timedelta(minutes=9),
        Severity.MAJOR, group_key="pump_room:PR02", value=3.0, unit="m",
        message="Booster of pump room 2 stopped at 10:11; repair under way",
        message_zh="2号泵房增压泵10:11停机，抢修中", diagnosis="booster_fault"))
    dispatcher = world.user("disp.sun", Role.DISPATCHER)
    world.notices.issue(dispatcher, NoticeRequest(
        NoticeKind.UNPLANNED, "Pump room 2 building", "booster repair",
        T0 - timedelta(minutes=5), T0 + timedelta(hours=1, minutes=40),
        nodes=("PR02-HIGHZONE",)))
    customer = world.user("he.jun", Role.HOUSEHOLD_CUSTOMER)
    complaint = world.complaints.file(customer, low_pressure("PR02-HIGHZONE"))
    assert complaint.cause_key == "pump_room:PR02"
    assert complaint.alarm_incident_id is not None
    assert complaint.diagnosis_en == (
        "Booster of pump room 2 stopped at 10:11; repair under way; incident "
        f"{complaint.alarm_incident_id} is open; water back by 12:00")
    assert "预计12:00恢复供水" in complaint.diagnosis_zh


def test_location_by_coordinates_and_by_registered_contact(world: World) -> None:
    layout_xy = demo()[1]
    x, y = layout_xy.loc["JUNCTION-534", ["x", "y"]]
    customer = world.user("chen.li", Role.HOUSEHOLD_CUSTOMER)
    by_xy = world.complaints.file(customer, low_pressure(x_m=float(x) + 0.5, y_m=float(y)))
    assert by_xy.node_id == "JUNCTION-534"
    world.notices_store.upsert_contacts([Contact("H002871", "PR02-HIGHZONE", customer.id)])
    by_contact = world.complaints.file(customer, low_pressure())
    assert by_contact.node_id == "PR02-HIGHZONE" and by_contact.account_id == "H002871"
    with pytest.raises(ComplaintError, match="not in the network model"):
        world.complaints.file(customer, low_pressure("NO-SUCH-NODE"))
    with pytest.raises(ComplaintError, match="unknown account"):
        world.complaints.file(customer, ComplaintForm(
            Channel.WEB, ComplaintCategory.LEAK, account_id="H999999"))


def test_customers_see_only_their_own(world: World) -> None:
    a = world.user("cust.a", Role.HOUSEHOLD_CUSTOMER)
    b = world.user("cust.b", Role.ENTERPRISE_CUSTOMER)
    mine = world.complaints.file(a, low_pressure("JUNCTION-1"))
    with pytest.raises(RecordNotFoundError):
        world.complaints.get(b, mine.id)
    with pytest.raises(RecordNotFoundError):
        world.complaints.survey(b, mine.id, 5)
    with pytest.raises(RecordNotFoundError):
        world.complaints.act(b, mine.id, ComplaintAction.REOPEN)
    assert world.complaints.visible(b) == ([], 0)
    items, total = world.complaints.visible(a)
    assert total == 1 and items[0].id == mine.id
    with pytest.raises(ComplaintError, match="taken by a service agent"):
        world.complaints.file(a, ComplaintForm(Channel.PHONE, ComplaintCategory.LEAK))
    with pytest.raises(PermissionDeniedError):
        world.complaints.act(a, mine.id, ComplaintAction.CLOSE)
    crew = world.user("crew.ma", Role.FIELD_CREW)
    with pytest.raises(PermissionDeniedError):
        world.complaints.file(crew, low_pressure("JUNCTION-1"))


def test_close_survey_reopen(world: World) -> None:
    customer = world.user("lin.yu", Role.HOUSEHOLD_CUSTOMER)
    agent = world.user("agent.wu", Role.SERVICE_AGENT)
    c = world.complaints.file(customer, ComplaintForm(Channel.MESSAGING,
                                                      ComplaintCategory.BILLING, "bill high"))
    assert c.cause_key is None and "account team" in c.diagnosis_en
    with pytest.raises(ComplaintTransitionError, match="cannot close"):
        world.complaints.act(agent, c.id, ComplaintAction.CLOSE)
    with pytest.raises(ComplaintError, match="after it is closed"):
        world.complaints.survey(customer, c.id, 5)
    world.complaints.act(agent, c.id, ComplaintAction.LOG_CALLBACK)
    closed = world.complaints.act(agent, c.id, ComplaintAction.CLOSE)
    assert closed.state is ComplaintState.CLOSED and closed.closed_at == T0
    rated = world.complaints.survey(customer, c.id, 4, "quick answer")
    assert rated.survey is not None and rated.survey.score == 4
    with pytest.raises(ComplaintError, match="already answered"):
        world.complaints.survey(customer, c.id, 5)
    reopened = world.complaints.act(customer, c.id, ComplaintAction.REOPEN, "still wrong")
    assert reopened.state is ComplaintState.REOPENED
    again = world.complaints.act(agent, c.id, ComplaintAction.DIAGNOSE)
    assert again.state is ComplaintState.DIAGNOSED
    with pytest.raises(ComplaintError, match="merged by their diagnosis"):
        world.complaints.act(agent, c.id, ComplaintAction.MERGE)


def test_low_network_pressure_from_the_twin_groups_a_dma(world: World) -> None:
    dma = next(d for d in world.layout.dmas if d.id == "DMA-04")
    low = set(dma.junctions[:2])
    world.complaints.diagnoser.model_pressure = lambda node: 6.5 if node in low else 30.0
    a = world.user("dma.a", Role.HOUSEHOLD_CUSTOMER)
    b = world.user("dma.b", Role.HOUSEHOLD_CUSTOMER)
    first = world.complaints.file(a, low_pressure(dma.junctions[0]))
    second = world.complaints.file(b, low_pressure(dma.junctions[1]))
    assert first.cause_key == "dma:DMA-04"
    assert first.diagnosis_en.startswith("network pressure in DMA-04 is below the service")
    assert any(f.source == "twin" and f.value == 6.5 for f in first.findings)
    assert second.group_lead_id == first.id
    # outside the grouping window a new group starts
    world.clock.advance(hours=7)
    third = world.complaints.file(b, low_pressure(dma.junctions[0]))
    assert third.group_lead_id is None


def test_simultaneous_complaints_about_one_cause_make_one_group(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Eight callers at once (threads, each its own connection) about one pump room: one
    group head, the others join it — on PostgreSQL the cause is locked in the transaction."""
    import threading

    param = type("P", (), {"param": "postgresql", "getfixturevalue": request.getfixturevalue})
    w = open_world(param, str(tmp_path / "x.db"))  # type: ignore[arg-type]
    try:
        write_booster_trip(w.telemetry, w.layout, "PR03", T0 - timedelta(minutes=18), T0)
        users = [w.user(f"caller.{i}", Role.HOUSEHOLD_CUSTOMER) for i in range(8)]
        barrier = threading.Barrier(len(users))
        errors: list[BaseException] = []

        def call(u: object) -> None:
            try:
                barrier.wait()
                w.complaints.file(u, low_pressure("PR03-HIGHZONE"))  # type: ignore[arg-type]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        items, total = w.complaints_store.complaints()
        assert total == 8
        heads = [c for c in items if c.group_lead_id is None]
        assert len(heads) == 1
        assert all(c.group_lead_id == heads[0].id for c in items if c is not heads[0])
    finally:
        w.accounts.close()


def test_a_failing_data_source_is_reported_not_fatal(world: World, tmp_path: Path) -> None:
    from waterops.store.engine import create_store_engine
    from waterops.store.telemetry_store import TelemetryStore

    # a telemetry database without its tables: every read is a StoreError
    broken = create_store_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    world.complaints.diagnoser.telemetry = TelemetryStore(broken)
    try:
        customer = world.user("robust", Role.HOUSEHOLD_CUSTOMER)
        c = world.complaints.file(customer, low_pressure("PR03-HIGHZONE"))
    finally:
        broken.dispose()
    unavailable = [f for f in c.findings if "telemetry data unavailable" in f.text]
    assert len(unavailable) == 2 and c.state is ComplaintState.REPLIED
    assert c.callback is not None
