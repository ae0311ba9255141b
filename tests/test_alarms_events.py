"""The event bus: typed subscriptions (class and subclasses), order, unsubscribe, threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from waterops.model.alarms import Alarm, AlarmAction, AlarmState, Severity
from waterops.service.events import (
    AlarmEvent,
    AlarmRaised,
    AlarmStateChanged,
    Event,
    EventBus,
    IncidentOpened,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALARM = Alarm(1, "k", "s", "c", Severity.MINOR, AlarmState.RAISED, T0, T0)


def test_handlers_get_their_class_and_subclasses_in_subscription_order() -> None:
    bus = EventBus()
    got: list[str] = []
    bus.subscribe(AlarmEvent, lambda e: got.append(f"alarm:{type(e).__name__}"))
    bus.subscribe(Event, lambda e: got.append(f"any:{type(e).__name__}"))
    bus.subscribe(AlarmRaised, lambda e: got.append("raised"))
    bus.publish(AlarmRaised(ALARM))
    bus.publish(AlarmStateChanged(ALARM, AlarmState.RAISED, AlarmAction.ACKNOWLEDGE, "Wang"))
    assert got == ["alarm:AlarmRaised", "any:AlarmRaised", "raised",
                   "alarm:AlarmStateChanged", "any:AlarmStateChanged"]


def test_a_handler_may_unsubscribe_itself_while_being_called() -> None:
    bus = EventBus()
    got: list[Event] = []
    unsubscribe = None

    def once(event: Event) -> None:
        got.append(event)
        assert unsubscribe is not None
        unsubscribe()

    unsubscribe = bus.subscribe(Event, once)
    bus.publish(AlarmRaised(ALARM))
    bus.publish(AlarmRaised(ALARM))
    assert len(got) == 1 and bus.subscriber_count == 0


def test_publishing_and_subscribing_from_many_threads() -> None:
    bus = EventBus()
    counts = {"all": 0}
    lock = threading.Lock()

    def count(_: Event) -> None:
        with lock:
            counts["all"] += 1

    bus.subscribe(Event, count)
    start = threading.Barrier(8)

    def publisher() -> None:
        start.wait()
        for _ in range(500):
            bus.publish(AlarmRaised(ALARM))

    def churner() -> None:
        start.wait()
        for _ in range(500):
            bus.subscribe(IncidentOpened, lambda e: None)()  # subscribe, unsubscribe at once

    threads = [threading.Thread(target=publisher) for _ in range(4)]
    threads += [threading.Thread(target=churner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert counts["all"] == 4 * 500  # the steady subscriber saw every event exactly once
    assert bus.subscriber_count == 1 and bus.handler_errors == 0
