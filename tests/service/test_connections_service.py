"""Connection applications through the service layer, on SQLite and PostgreSQL.

A customer applies with one document, staff move the application stage by stage, the
applicant follows the timeline and is notified at each change; SLA clocks count working days
across China's holidays and stop while paused; every staff action is in the audit trail.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from waterops.errors import (
    ConnectionApplicationError,
    ConnectionTransitionError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from waterops.model.accounts import Role, User
from waterops.model.connections import ConnectionAction as A
from waterops.model.connections import ConnectionState as S
from waterops.model.workdays import SlaState
from waterops.service.connections import ApplicationForm, ConnectionApplicationChanged

from .conftest import PDF, T0, World

PASSWORD = "correct horse battery"


def customer(world: World, name: str, role: Role = Role.HOUSEHOLD_CUSTOMER) -> User:
    return world.auth.register_customer(name, PASSWORD, role)


def staff(world: World, name: str, role: Role) -> User:
    admin = world.auth.create_administrator(f"admin-{name}", PASSWORD)
    return world.auth.create_staff(admin, name, PASSWORD, role)


def apply(
    world: World,
    user: User,
    template: str = "standard",
    *,
    external_works: bool = False,
    park_id: str | None = None,
) -> int:
    doc = world.documents.upload(user, "id-card.pdf", io.BytesIO(PDF))
    form = ApplicationForm(
        template,
        "12 Riverside Road, flat 301",
        "+86 138 0000 0000",
        15,
        doc.id,
        external_works,
        park_id,
    )
    return world.connections.apply(user, form).id


def test_standard_path_with_external_works_to_water_on(world: World) -> None:
    alice = customer(world, "alice")
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    app_id = apply(world, alice, external_works=True)
    assert world.connections.get(alice, app_id).state == S.APPLICATION

    steps = [
        (agent, A.ACCEPT, S.ACCEPTANCE_SURVEY),
        (agent, A.SURVEY_DONE, S.DESIGN_QUOTE),
        (alice, A.ACCEPT_QUOTE, S.CONSTRUCTION),
        (agent, A.CONSTRUCTION_DONE, S.METER_INSTALLATION),
        (agent, A.TURN_WATER_ON, S.WATER_ON),
    ]
    for who, action, expected in steps:
        world.clock.advance(hours=5)
        assert world.connections.act(who, app_id, action).state == expected

    app = world.connections.get(alice, app_id)
    assert app.water_on_at == world.clock.now
    timeline = world.connections.timeline(alice, app_id)
    assert [e.state_after for e in timeline] == [S.APPLICATION] + [s[2] for s in steps]
    assert [e.action for e in timeline] == ["submit"] + [s[1].value for s in steps]
    # the applicant acted twice (apply, accept the quote): the "2 steps" of the standard process
    assert [e.actor_id for e in timeline].count(alice.id) == 2
    # notified at each change, and each change went on the bus
    assert [n.recipient_id for n in world.notifier.sent] == [alice.id] * 6
    assert "water on" in world.notifier.sent[-1].subject
    changes = [e for e in world.events if isinstance(e, ConnectionApplicationChanged)]
    assert [c.application.state for c in changes] == [e.state_after for e in timeline]
    # every staff action is in the audit trail; the applicant's are not staff actions
    audit = world.accounts.audit_lines(target_kind="connection", target_id=app_id)
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("agent1", "connection_accept"),
        ("agent1", "connection_survey_done"),
        ("agent1", "connection_construction_done"),
        ("agent1", "connection_turn_water_on"),
    ]
    assert audit[0]["before"] == {"state": "application"}


def test_no_external_works_skips_construction(world: World) -> None:
    bob = customer(world, "bob")
    crew = staff(world, "crew1", Role.FIELD_CREW)
    app_id = apply(world, bob)
    world.connections.act(crew, app_id, A.ACCEPT)
    world.connections.act(crew, app_id, A.SURVEY_DONE)
    assert world.connections.act(bob, app_id, A.ACCEPT_QUOTE).state == S.METER_INSTALLATION


def test_invalid_moves_are_refused_and_change_nothing(world: World) -> None:
    alice = customer(world, "alice")
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    app_id = apply(world, alice)
    with pytest.raises(ConnectionTransitionError, match="is application: cannot turn_water_on"):
        world.connections.act(agent, app_id, A.TURN_WATER_ON)
    # the applicant cannot accept their own application, staff cannot accept a quote for them
    with pytest.raises(ConnectionTransitionError):
        world.connections.act(alice, app_id, A.ACCEPT)
    world.connections.act(agent, app_id, A.ACCEPT)
    world.connections.act(agent, app_id, A.SURVEY_DONE)
    with pytest.raises(ConnectionTransitionError):
        world.connections.act(agent, app_id, A.ACCEPT_QUOTE)
    assert world.connections.get(alice, app_id).state == S.DESIGN_QUOTE
    assert len(world.connections.timeline(alice, app_id)) == 3
    # a dispatcher may read but not move
    dispatcher = staff(world, "disp1", Role.DISPATCHER)
    assert world.connections.get(dispatcher, app_id).id == app_id
    with pytest.raises(PermissionDeniedError):
        world.connections.act(dispatcher, app_id, A.PAUSE)


def test_customer_cannot_see_or_move_another_customers_application(world: World) -> None:
    alice, bob = customer(world, "alice"), customer(world, "bob")
    app_id = apply(world, alice)
    for attempt in (
        lambda: world.connections.get(bob, app_id),
        lambda: world.connections.timeline(bob, app_id),
        lambda: world.connections.sla(bob, app_id),
        lambda: world.connections.act(bob, app_id, A.WITHDRAW),
    ):
        with pytest.raises(RecordNotFoundError):
            attempt()
    assert world.connections.visible(bob, limit=10, offset=0) == ([], 0)
    assert world.connections.visible(alice, limit=10, offset=0)[1] == 1
    # nor apply with alice's document
    doc_id = world.connections.get(alice, app_id).document_id
    with pytest.raises(RecordNotFoundError, match="document"):
        world.connections.apply(bob, ApplicationForm("standard", "x", "+86 1", 15, doc_id))
    assert world.connections.get(alice, app_id).state == S.APPLICATION


def test_templates_refuse_what_they_cannot_carry(world: World) -> None:
    alice = customer(world, "alice")
    with pytest.raises(ConnectionApplicationError, match="without external works"):
        apply(world, alice, "express", external_works=True)
    firm = customer(world, "firm", Role.ENTERPRISE_CUSTOMER)
    with pytest.raises(ConnectionApplicationError, match="industrial park"):
        apply(world, firm, "enterprise_park")
    app_id = apply(world, firm, "enterprise_park", park_id="north-industrial-park")
    assert world.connections.get(firm, app_id).park_id == "north-industrial-park"


def test_express_applied_today_water_tomorrow(world: World) -> None:
    alice = customer(world, "alice")
    crew = staff(world, "crew1", Role.FIELD_CREW)
    world.clock.set(datetime(2026, 9, 28, 7, 0, tzinfo=UTC))  # Monday 15:00 local
    app_id = apply(world, alice, "express")
    world.clock.advance(hours=1)
    world.connections.act(crew, app_id, A.ACCEPT)
    world.clock.advance(hours=1)
    world.connections.act(crew, app_id, A.SURVEY_DONE)
    world.clock.set(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))  # Tuesday 10:00 local
    world.connections.act(crew, app_id, A.TURN_WATER_ON)
    sla = world.connections.sla(alice, app_id)
    assert sla.end_to_end.state == SlaState.MET
    assert sla.end_to_end.used_days == pytest.approx(19 / 24)
    assert [c.stage for c in sla.stages] == [
        S.APPLICATION,
        S.ACCEPTANCE_SURVEY,
        S.METER_INSTALLATION,
    ]


def test_stage_clock_runs_over_the_national_day_holiday(world: World) -> None:
    alice = customer(world, "alice")
    world.clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # Wednesday 10:00 local
    app_id = apply(world, alice)
    sla = world.connections.sla(alice, app_id)
    # 1 working day: 14 h of 30 September, then 1-7 October are off, 10 h of 8 October
    assert sla.current is not None
    assert sla.current.status.due_at == datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
    assert sla.current.status.state == SlaState.ON_TRACK
    world.clock.set(datetime(2026, 10, 7, 12, 0, tzinfo=UTC))  # still the holiday
    during = world.connections.sla(alice, app_id).current
    assert during is not None
    assert during.status.used_days == pytest.approx(14 / 24)  # the holiday does not count
    assert during.status.state == SlaState.WARNING  # 10 h left: under half a day
    world.clock.set(datetime(2026, 10, 8, 3, 0, tzinfo=UTC))
    assert world.connections.sla(alice, app_id).current.status.state == SlaState.BREACHED


def test_pause_stops_the_clock_and_the_report_names_breaches(world: World) -> None:
    alice, bob = customer(world, "alice"), customer(world, "bob")
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    late = apply(world, alice)  # Monday 09:00 local, 1 working day to accept
    waiting = apply(world, bob)
    world.clock.advance(hours=2)
    assert world.connections.act(agent, waiting, A.PAUSE, "ID card unreadable").state == S.PAUSED
    assert world.connections.sla(bob, waiting).end_to_end.paused
    world.clock.advance(hours=30)  # Tuesday 17:00 local: alice's promise is broken
    report = world.connections.sla_report(agent)
    assert [s.application.id for s in report] == [late]
    assert report[0].breached
    resumed = world.connections.act(agent, waiting, A.RESUME)
    assert resumed.state == S.APPLICATION and resumed.paused_from is None
    sla = world.connections.sla(bob, waiting)
    assert sla.current is not None
    assert sla.current.status.used_days == pytest.approx(2 / 24)  # the 30 h paused not counted
    assert sla.current.status.state == SlaState.ON_TRACK
    world.clock.advance(hours=11)  # 13 h used: under half of the one day left
    assert world.connections.sla(bob, waiting).current.status.state == SlaState.WARNING
    assert {s.application.id for s in world.connections.sla_report(agent)} == {late, waiting}
    with pytest.raises(PermissionDeniedError):
        world.connections.sla_report(alice)


def test_applicant_withdraws_while_paused(world: World) -> None:
    alice = customer(world, "alice")
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    app_id = apply(world, alice)
    world.connections.act(agent, app_id, A.PAUSE)
    assert world.connections.act(alice, app_id, A.WITHDRAW).state == S.WITHDRAWN
    with pytest.raises(ConnectionTransitionError, match="closed for good"):
        world.connections.act(agent, app_id, A.RESUME)
    sla = world.connections.sla(alice, app_id)
    assert sla.current is None and not sla.end_to_end.paused


def test_staff_cannot_apply_and_the_start_time_is_the_clock(world: World) -> None:
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    doc = world.documents.upload(agent, "scan.pdf", io.BytesIO(PDF))
    with pytest.raises(PermissionDeniedError, match="connections:apply"):
        world.connections.apply(agent, ApplicationForm("standard", "x", "+86 1", 15, doc.id))
    alice = customer(world, "alice")
    app = world.connections.get(alice, apply(world, alice))
    assert app.created_at == T0


def test_the_log_adapter_writes_one_line_per_change(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from waterops.service.connections import LogNotifier

    world.connections.notifier = LogNotifier()
    alice = customer(world, "alice")
    with caplog.at_level("INFO", logger="waterops.notifications"):
        app_id = apply(world, alice)
    lines = [r.getMessage() for r in caplog.records if r.name == "waterops.notifications"]
    assert lines == [
        f"to user {alice.id} about connection application {app_id}: "
        f"Connection application {app_id}: application received — Your connection "
        "application at 12 Riverside Road, flat 301 is now: application received."
    ]


def test_a_broken_notifier_does_not_undo_the_change(world: World) -> None:
    class Broken:
        def send(self, notification: object) -> None:
            raise ConnectionError("SMS gateway down")

    world.connections.notifier = Broken()
    alice = customer(world, "alice")
    agent = staff(world, "agent1", Role.SERVICE_AGENT)
    app_id = apply(world, alice)
    assert world.connections.act(agent, app_id, A.ACCEPT).state == S.ACCEPTANCE_SURVEY
    assert world.connections.get(alice, app_id).state == S.ACCEPTANCE_SURVEY
