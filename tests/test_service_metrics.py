"""Service metrics add up on SQLite and PostgreSQL: applications with known stage durations,
complaints with known callback times and surveys, enterprise problems; CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from waterops.errors import PermissionDeniedError
from waterops.model.accounts import Role, User
from waterops.model.connections import ConnectionAction as A
from waterops.model.enterprises import ProblemAction
from waterops.model.workdays import HolidayCalendar
from waterops.service.auth import AuthService
from waterops.service.connections import ApplicationForm, ConnectionService
from waterops.service.documents import DocumentService
from waterops.service.enterprise_service import EnterpriseDraft, EnterpriseService, ProblemDraft
from waterops.service.service_metrics import ServiceMetricsService
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.enterprises_store import EnterprisesStore

T0 = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # Monday 09:00 Beijing time
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PASSWORD = "correct horse battery"
WATER_ON_PATH = (A.ACCEPT, A.SURVEY_DONE, A.ACCEPT_QUOTE, A.CONSTRUCTION_DONE, A.TURN_WATER_ON)


class ManualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    clock: ManualClock
    auth: AuthService
    connections: ConnectionService
    documents: DocumentService
    complaints: ComplaintsStore
    enterprises: EnterpriseService
    metrics: ServiceMetricsService
    telemetry: TelemetryStore


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        telemetry = TelemetryStore.open(f"sqlite:///{tmp_path / 'metrics.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        telemetry = TelemetryStore.open(url, schema=schema)
    engine = telemetry.engine
    clock = ManualClock(T0)
    calendar = HolidayCalendar.china()
    connections_store = ConnectionsStore(engine)
    complaints = ComplaintsStore(engine)
    enterprises = EnterprisesStore(engine)
    yield World(
        clock,
        AuthService(AccountsStore(engine), clock=clock,
                    hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)),
        ConnectionService(connections_store, calendar, clock=clock),
        DocumentService(connections_store, tmp_path / "documents", clock=clock),
        complaints,
        EnterpriseService(enterprises, telemetry, clock=clock),
        ServiceMetricsService(connections_store, complaints, enterprises, calendar, clock=clock),
        telemetry,
    )
    telemetry.close()


def apply(w: World, user: User) -> int:
    doc = w.documents.upload(user, "id-card.pdf", io.BytesIO(PDF))
    return w.connections.apply(user, ApplicationForm(
        "standard", "12 Riverside Road", "+86 138 0000 0000", 15, doc.id, True)).id


def complaint(w: World, agent: User, category: str, callback_after_s: float | None,
              score: int | None) -> None:
    received = w.clock.now
    with w.complaints.transaction() as tx:
        cid = tx.insert_complaint({"channel": "phone", "category": category}, received)
        tx.add_callback(cid, received, received + timedelta(minutes=2))
        if callback_after_s is not None:
            tx.complete_callback(cid, received + timedelta(seconds=callback_after_s), agent,
                                 "customer informed")
        if score is not None:
            tx.add_survey(cid, received + timedelta(hours=1), score, "")


def test_metrics_add_up_and_export_as_csv(world: World) -> None:
    w = world
    admin = w.auth.create_administrator("admin", PASSWORD)
    agent = w.auth.create_staff(admin, "agent", PASSWORD, Role.SERVICE_AGENT)
    alice = w.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)

    stalled = apply(w, alice)                        # never moves: breaches its clocks
    for step_h in (5.0, 8.0, 12.0):                  # 25 h, 40 h and 60 h to water on
        app_id = apply(w, alice)
        for action in WATER_ON_PATH:
            w.clock.now += timedelta(hours=step_h)
            who = alice if action == A.ACCEPT_QUOTE else agent
            w.connections.act(who, app_id, action)
    w.clock.now = T0 + timedelta(days=40)
    fresh = apply(w, alice)
    w.connections.act(agent, fresh, A.ACCEPT)

    complaint(w, agent, "low_pressure", 60.0, 5)
    complaint(w, agent, "low_pressure", 100.0, None)
    complaint(w, agent, "leak", 200.0, 3)
    complaint(w, agent, "billing", None, None)

    ent = w.enterprises.register(agent, EnterpriseDraft("E1", "Plant", "electronics"))
    done = w.enterprises.raise_problem(agent, ent.id, ProblemDraft("pressure"))
    w.enterprises.raise_problem(agent, ent.id, ProblemDraft("billing"))
    for action in (ProblemAction.START, ProblemAction.RECTIFY):
        w.enterprises.act_on_problem(agent, done.id, action)
    w.enterprises.act_on_problem(agent, done.id, ProblemAction.VERIFY, satisfaction=4)

    m = w.metrics.metrics(agent)
    assert m.value("applications_per_stage", "water_on") == 3
    assert m.value("applications_per_stage", "application") == 1
    assert m.value("applications_per_stage", "acceptance_survey") == 1
    assert m.value("applications_per_stage", "design_quote") == 0
    assert m.value("median_days_to_water_on") == pytest.approx(40 / 24)
    assert m.value("sla_breached_applications") == 1
    assert m.value("sla_breached_stages", "application") == 1
    assert m.value("complaints_per_category", "low_pressure") == 2
    assert m.value("complaints_per_category", "leak") == 1
    assert m.value("complaints_per_category", "no_water") == 0
    assert m.value("median_time_to_callback") == pytest.approx(100.0)
    assert m.value("callbacks_logged") == 3
    assert m.value("complaint_satisfaction_rate") == pytest.approx(0.5)
    assert m.value("enterprise_rectification_rate") == pytest.approx(0.5)
    assert m.value("enterprise_satisfaction_rate") == 1.0
    assert stalled != fresh

    rows = list(csv.DictReader(io.StringIO(m.to_csv())))
    assert len(rows) == len(m.rows)
    assert {"metric": "median_time_to_callback", "key": "", "value": "100",
            "unit": "s"} in rows

    later = w.metrics.metrics(admin, start=T0 + timedelta(days=30))
    assert later.value("applications_per_stage", "acceptance_survey") == 1
    assert later.value("applications_per_stage", "water_on") == 0
    assert later.value("median_days_to_water_on") is None
    assert later.value("enterprise_rectification_rate") == pytest.approx(0.5)
    with pytest.raises(PermissionDeniedError):
        w.metrics.metrics(alice)
