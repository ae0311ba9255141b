"""Enterprise service on SQLite and PostgreSQL: visits, problems to closure, rates, isolation,
consumption analysis from synthetic meter series in the telemetry store, savings advice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from waterops.errors import (
    EnterpriseError,
    PermissionDeniedError,
    ProblemTransitionError,
    RecordNotFoundError,
)
from waterops.model.accounts import Role, User
from waterops.model.enterprises import Enterprise, ProblemAction, ProblemState
from waterops.model.telemetry import Quantity, Sensor, Site, SiteKind, WaterSystem
from waterops.service.enterprise_service import (
    AdviceMessage,
    EnterpriseDraft,
    EnterpriseService,
    ProblemDraft,
    VisitDraft,
)
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.enterprises_store import EnterprisesStore

T0 = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # Monday 09:00 Beijing time
WEEK_START = datetime(2026, 9, 27, 16, 0, tzinfo=UTC)  # Monday 2026-09-28 00:00 local
WEEK_END = WEEK_START + timedelta(days=7)


class ManualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    service: EnterpriseService
    accounts: AccountsStore
    telemetry: TelemetryStore
    clock: ManualClock
    users: dict[str, User]


def open_world(url: str, schema: str | None) -> World:
    telemetry = TelemetryStore.open(url, schema=schema)
    accounts = AccountsStore(telemetry.engine)
    clock = ManualClock(T0)
    users = {
        name: accounts.create_user(name, "not-a-login-hash", role, at=T0)
        for name, role in (("agent1", Role.SERVICE_AGENT), ("agent2", Role.SERVICE_AGENT),
                           ("admin", Role.ADMINISTRATOR), ("dispatch", Role.DISPATCHER),
                           ("custA", Role.ENTERPRISE_CUSTOMER),
                           ("custB", Role.ENTERPRISE_CUSTOMER),
                           ("house", Role.HOUSEHOLD_CUSTOMER))
    }
    service = EnterpriseService(EnterprisesStore(telemetry.engine), telemetry, clock=clock)
    return World(service, accounts, telemetry, clock, users)


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        w = open_world(f"sqlite:///{tmp_path / 'enterprises.db'}", None)
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        w = open_world(url, schema)
    yield w
    w.telemetry.close()


def day_night_meter(store: TelemetryStore, sensor_id: str, day_m3s: float, night_m3s: float,
                    leak_m3s: float = 0.0) -> None:
    """A week of 15-minute readings: ``day_m3s`` 06:00-22:00 local, ``night_m3s`` otherwise,
    plus a constant leak."""
    store.upsert_sensors([Sensor(sensor_id, "city", Quantity.FLOW, None, "node", sensor_id,
                                 interval_s=900.0)])
    times = np.arange(np.datetime64(WEEK_START.replace(tzinfo=None), "s"),
                      np.datetime64(WEEK_END.replace(tzinfo=None), "s"), np.timedelta64(900, "s"))
    local_hour = ((times.astype("int64") // 3600) + 8) % 24
    values = np.where((local_hour >= 6) & (local_hour < 22), day_m3s, night_m3s) + leak_m3s
    store.write_reading_arrays(sensor_id, times, values)


def register(w: World, account: str, *, manager: str = "agent1", park: str = "P1",
             customer: str | None = None, meters: tuple[str, ...] = (),
             employees: int | None = None, tariff: str | None = None,
             industry: str = "electronics") -> Enterprise:
    return w.service.register(w.users["agent1"], EnterpriseDraft(
        account_id=account, name=f"Enterprise {account}", industry=industry, park_id=park,
        manager_id=w.users[manager].id,
        customer_user_id=None if customer is None else w.users[customer].id,
        tariff_name=tariff, meter_sensor_ids=meters, employees=employees,
    ))


def test_visit_problems_to_closure_with_history_and_audit(world: World) -> None:
    agent = world.users["agent1"]
    ent = register(world, "E00001", customer="custA")
    visit, problems = world.service.record_visit(agent, ent.id, VisitDraft(
        date(2026, 9, 28), ("water saving", "tariff"), "met the plant manager",
        (ProblemDraft("low pressure at workshop 3"), ProblemDraft("meter reading disputed"))))
    assert visit.topics == ("water saving", "tariff")
    assert [p.state for p in problems] == [ProblemState.OPEN] * 2
    first = problems[0].id
    world.clock.now += timedelta(days=1)
    for action in (ProblemAction.START, ProblemAction.RECTIFY):
        world.service.act_on_problem(agent, first, action)
    closed = world.service.act_on_problem(agent, first, ProblemAction.VERIFY, satisfaction=5)
    assert closed.state == ProblemState.CLOSED and closed.satisfaction == 5
    assert closed.rectified_at == closed.closed_at == T0 + timedelta(days=1)
    shown, history = world.service.problem(world.users["custA"], first)
    assert shown.state == ProblemState.CLOSED
    assert [e.action for e in history] == ["raise", "start", "rectify", "verify"]
    actions = [line["action"] for line in world.accounts.audit_lines(actor="agent1")]
    assert actions[0] == "enterprise_register" and "enterprise_visit" in actions
    assert "enterprise_problem_verify" in actions


def test_invalid_transition_is_refused_and_nothing_written(world: World) -> None:
    agent = world.users["agent1"]
    ent = register(world, "E00002")
    problem = world.service.raise_problem(agent, ent.id, ProblemDraft("leak in the yard"))
    with pytest.raises(ProblemTransitionError, match="is open: cannot verify"):
        world.service.act_on_problem(agent, problem.id, ProblemAction.VERIFY)
    with pytest.raises(EnterpriseError, match="needs a reason"):
        world.service.act_on_problem(agent, problem.id, ProblemAction.DECLARE_NOT_RECTIFIABLE)
    after, history = world.service.problem(agent, problem.id)
    assert after.state == ProblemState.OPEN and [e.action for e in history] == ["raise"]
    gone = world.service.act_on_problem(agent, problem.id,
                                        ProblemAction.DECLARE_NOT_RECTIFIABLE,
                                        note="pipe under a listed building")
    assert gone.state == ProblemState.NOT_RECTIFIABLE and gone.reason.startswith("pipe")


def test_rates_add_up_per_manager_park_and_period(world: World) -> None:
    agent = world.users["agent1"]
    a = register(world, "A", manager="agent1", park="P1")
    b = register(world, "B", manager="agent1", park="P1")
    c = register(world, "C", manager="agent2", park="P2")

    def problem(ent: Enterprise, *actions: ProblemAction, score: int | None = None) -> None:
        p = world.service.raise_problem(agent, ent.id, ProblemDraft("a problem"))
        for action in actions:
            world.service.act_on_problem(
                agent, p.id, action, note="no owner" if "not" in action.value else "",
                satisfaction=score if action == ProblemAction.VERIFY else None)

    s, r, v = ProblemAction.START, ProblemAction.RECTIFY, ProblemAction.VERIFY
    problem(a, s, r, v, score=5)
    problem(a, s, r)
    problem(a, ProblemAction.DECLARE_NOT_RECTIFIABLE)
    problem(b)
    problem(b, s)
    world.clock.now = T0 + timedelta(days=40)
    problem(c, s, r, v, score=3)
    problem(c, s, r, v, score=4)

    admin = world.users["admin"]
    everyone = world.service.rates(admin)
    assert (everyone.problems_raised, everyone.problems_rectified) == (7, 4)
    assert (everyone.problems_rated, everyone.problems_satisfied) == (3, 2)
    m1 = world.service.rates(admin, manager_id=world.users["agent1"].id)
    assert m1.rectification_rate == pytest.approx(2 / 5) and m1.satisfaction_rate == 1.0
    p2 = world.service.rates(admin, park_id="P2")
    assert p2.rectification_rate == 1.0 and p2.satisfaction_rate == pytest.approx(0.5)
    september = world.service.rates(admin, start=T0 - timedelta(days=1),
                                    end=T0 + timedelta(days=30))
    assert september.problems_raised == 5
    with pytest.raises(PermissionDeniedError):
        world.service.rates(world.users["custA"])


def test_a_customer_sees_only_their_own_enterprise(world: World) -> None:
    a = register(world, "EA", customer="custA")
    b = register(world, "EB", customer="custB")
    cust_a = world.users["custA"]
    assert world.service.get(cust_a, a.id).account_id == "EA"
    with pytest.raises(RecordNotFoundError):
        world.service.get(cust_a, b.id)
    with pytest.raises(RecordNotFoundError):
        world.service.visits(cust_a, b.id)
    with pytest.raises(RecordNotFoundError):
        world.service.by_account(cust_a, "EB")
    assert [e.account_id for e in world.service.visible(cust_a)[0]] == ["EA"]
    with pytest.raises(PermissionDeniedError):
        world.service.record_visit(cust_a, a.id, VisitDraft(date(2026, 9, 28), ("x",)))
    with pytest.raises(PermissionDeniedError):
        world.service.visible(world.users["house"])
    problem = world.service.raise_problem(world.users["agent1"], b.id, ProblemDraft("p"))
    with pytest.raises(RecordNotFoundError):
        world.service.problem(cust_a, problem.id)


def test_customer_rates_a_closed_problem_once(world: World) -> None:
    agent, cust = world.users["agent1"], world.users["custA"]
    ent = register(world, "ER", customer="custA")
    p = world.service.raise_problem(agent, ent.id, ProblemDraft("p"))
    with pytest.raises(EnterpriseError, match="rated once closed"):
        world.service.rate_problem(cust, p.id, 4)
    for action in (ProblemAction.START, ProblemAction.RECTIFY, ProblemAction.VERIFY):
        world.service.act_on_problem(agent, p.id, action)
    assert world.service.rate_problem(cust, p.id, 4).satisfaction == 4
    with pytest.raises(EnterpriseError, match="rated already"):
        world.service.rate_problem(cust, p.id, 5)
    with pytest.raises(RecordNotFoundError):
        world.service.rate_problem(world.users["custB"], p.id, 1)


def test_night_flow_finds_a_leak_and_peers_rank_it(world: World) -> None:
    world.telemetry.upsert_systems([WaterSystem("city", "city")])
    world.telemetry.upsert_sites([Site("s", "city", SiteKind.MONITORING_POINT, "s")])
    day_night_meter(world.telemetry, "D-A", 3.0e-3, 0.1e-3, leak_m3s=1.0e-3)
    day_night_meter(world.telemetry, "D-B", 3.0e-3, 0.1e-3)
    day_night_meter(world.telemetry, "D-C", 3.0e-3, 0.1e-3)
    a = register(world, "LA", customer="custA", meters=("D-A",), employees=100,
                 tariff="non-household-flat")
    register(world, "LB", meters=("D-B",), employees=50, tariff="non-household")
    register(world, "LC", meters=("D-C",), employees=200)
    register(world, "LX", meters=("D-A",), employees=10, industry="food")  # not a peer

    analysis = world.service.consumption(world.users["custA"], a.id, WEEK_START, WEEK_END)
    # day 16 h at 4 L/s, night 8 h at 1.1 L/s: average (64 + 8.8) / 24 L/s
    assert analysis.average_flow_m3s == pytest.approx(72.8 / 24 * 1e-3)
    assert analysis.night_flow_m3s == pytest.approx(1.1e-3)
    assert analysis.leak_hint and "possible leak" in analysis.leak_reasoning
    assert analysis.hourly_profile_m3s[3] == pytest.approx(1.1e-3)
    assert analysis.hourly_profile_m3s[12] == pytest.approx(4.0e-3)
    assert len(analysis.daily) == 7 and all(d.hours == 24 for d in analysis.daily)
    assert analysis.daily[0].day == date(2026, 9, 28)
    assert analysis.daily[0].volume_m3 == pytest.approx(72.8 / 24 * 86.4)  # 262.08 m³
    # per employee: A 2.6208, B 175.68 / 50 = 3.5136, C 175.68 / 200 = 0.8784 m³/day
    assert analysis.peers.basis == "employee" and analysis.peers.peers == 2
    assert analysis.peers.percentile == pytest.approx(50.0)
    assert analysis.peers.peer_median_m3_per_unit == pytest.approx((3.5136 + 0.8784) / 2)

    advice = world.service.advice(world.users["agent1"], a.id, WEEK_START, WEEK_END)
    leak, reuse, shifting = advice.items
    # 1.1 L/s all year at 3.50 + 0.60 + 1.40 = 5.50 yuan/m³ (bills rounded per month line)
    assert leak.volume_m3_per_year == pytest.approx(1.1e-3 * 86400 * 365)
    assert leak.yuan_per_year == pytest.approx(1.1e-3 * 86400 * 365 * 5.5, abs=1.0)
    # 10 % of the 167.04 m³/day left after the leak is fixed
    assert reuse.volume_m3_per_year == pytest.approx(16.704 * 365)
    assert reuse.yuan_per_year == pytest.approx(16.704 * 365 * 5.5, abs=1.0)
    assert shifting.yuan_per_year == 0.0 and "no time-of-day bands" in shifting.reasoning
    assert advice.total_yuan_per_year == pytest.approx(leak.yuan_per_year + reuse.yuan_per_year)


def test_no_leak_and_a_quota_surcharge_to_avoid(world: World) -> None:
    world.telemetry.upsert_systems([WaterSystem("city", "city")])
    day_night_meter(world.telemetry, "D-B", 3.0e-3, 0.1e-3)
    b = register(world, "QB", meters=("D-B",), tariff="non-household")
    advice = world.service.advice(world.users["agent1"], b.id, WEEK_START, WEEK_END,
                                  reuse_share=0.0)
    assert not advice.analysis.leak_hint
    assert advice.analysis.peers.basis == "day" and advice.analysis.peers.percentile is None
    leak, reuse, shifting = advice.items
    assert leak.yuan_per_year == 0.0 and reuse.yuan_per_year == 0.0
    # 175.68 m³/day: 5343.6 m³ a month, 343.6 m³ above the 5000 m³ quota at +0.5 × 3.50
    assert shifting.volume_m3_per_year == pytest.approx(343.6 * 12)
    assert shifting.yuan_per_year == pytest.approx(12 * 601.30)
    # the same as facts for the portal's words
    assert (leak.message, reuse.message) == (AdviceMessage.LEAK_NONE, AdviceMessage.REUSE)
    assert shifting.message == AdviceMessage.SHIFTING_OVER_QUOTA
    assert shifting.figures == pytest.approx({
        "period": "month", "period_volume_m3": 5343.6, "quota_m3": 5000.0, "excess_m3": 343.6,
        "excess_ratio": 343.6 / 5000, "surcharge_yuan_per_year": 12 * 601.30})


def test_consumption_needs_meters_and_readings(world: World) -> None:
    bare = register(world, "NM")
    with pytest.raises(EnterpriseError, match="has no meters"):
        world.service.consumption(world.users["agent1"], bare.id, WEEK_START, WEEK_END)
    ghost = register(world, "GM", meters=("no-such-meter",))
    with pytest.raises(EnterpriseError, match="no-such-meter"):
        world.service.consumption(world.users["agent1"], ghost.id, WEEK_START, WEEK_END)
    with pytest.raises(EnterpriseError, match="exists already"):
        register(world, "NM")


def test_update_changes_the_record_with_an_audit_line(world: World) -> None:
    agent = world.users["agent1"]
    ent = register(world, "EU", meters=("D-1",))
    changed = world.service.update(agent, ent.id, {
        "manager_id": world.users["agent2"].id, "tariff_name": "non-household-flat",
        "meter_sensor_ids": ("D-2", "D-3"), "justified_night_flow_m3s": 2.0e-4})
    assert changed.manager_id == world.users["agent2"].id
    assert changed.meter_sensor_ids == ("D-2", "D-3") and changed.account_id == "EU"
    assert world.service.get(agent, ent.id) == changed
    line = world.accounts.audit_lines(target_kind="enterprise", target_id=ent.id)[-1]
    assert line["action"] == "enterprise_update"
    assert line["before"]["meter_sensor_ids"] == ["D-1"]
    assert line["after"]["justified_night_flow_m3s"] == 2.0e-4
    with pytest.raises(EnterpriseError, match="cannot change account_id"):
        world.service.update(agent, ent.id, {"account_id": "X"})
    with pytest.raises(EnterpriseError, match="name cannot be empty"):
        world.service.update(agent, ent.id, {"name": None})
    with pytest.raises(EnterpriseError, match="not an enterprise customer"):
        world.service.update(agent, ent.id, {"customer_user_id": agent.id})
    with pytest.raises(PermissionDeniedError):
        world.service.update(world.users["custA"], ent.id, {"name": "mine"})
    assert world.service.get(agent, ent.id) == changed  # nothing half-written
