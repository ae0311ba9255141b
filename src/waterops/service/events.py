"""The in-process event bus: typed events, subscribe/unsubscribe, publish (synchronous).

Parts of waterops tell each other what happened through one :class:`EventBus` (in the spirit
of Home Assistant's bus): the alarm service publishes :class:`AlarmRaised` and friends, the
web's live view and the notifier subscribe. No broker: handlers run in the publisher's
thread, in the order they subscribed, before :meth:`EventBus.publish` returns.

A handler subscribes to an event class and receives that class and its subclasses; subscribe
to :class:`Event` to receive everything. The bus is thread-safe: subscribing, unsubscribing
and publishing may happen from any thread; a handler added or removed during a publish takes
effect from the next publish. A handler that raises does not stop the others nor the
publisher (an alarm must not be lost because a dashboard socket broke): its error is logged
and counted in :attr:`EventBus.handler_errors`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from waterops.model.alarms import Alarm, AlarmAction, AlarmState, Incident

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event on the bus."""


@dataclass(frozen=True, slots=True)
class AlarmEvent(Event):
    """Something happened to an alarm; ``alarm`` is the alarm after it."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class AlarmRaised(AlarmEvent):
    """A new alarm (or a cleared one whose condition came back: ``reopened``)."""

    reopened: bool = False


@dataclass(frozen=True, slots=True)
class AlarmUpdated(AlarmEvent):
    """A detector repeated an open alarm's condition (new value, count, diagnosis)."""


@dataclass(frozen=True, slots=True)
class AlarmStateChanged(AlarmEvent):
    """An alarm changed state by ``action`` of ``actor`` (an operator or ``"waterops"``)."""

    before: AlarmState
    action: AlarmAction
    actor: str


@dataclass(frozen=True, slots=True)
class IncidentEvent(Event):
    """Something happened to an incident; ``incident`` is the incident after it."""

    incident: Incident


@dataclass(frozen=True, slots=True)
class IncidentOpened(IncidentEvent):
    """A first alarm with a new cause opened an incident."""


@dataclass(frozen=True, slots=True)
class IncidentUpdated(IncidentEvent):
    """An incident took another alarm, changed severity, or was resolved."""


E = TypeVar("E", bound=Event)
Handler = Callable[[E], None]


class EventBus:
    """Synchronous, thread-safe publish/subscribe of typed :class:`Event` objects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[tuple[type[Event], Callable[[Event], None]]] = []
        self.handler_errors = 0

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` with every published event of ``event_type`` (or a subclass).

        Returns
        -------
        A function that unsubscribes this handler (calling it twice is harmless).
        """
        entry: tuple[type[Event], Callable[[Event], None]] = (event_type, handler)  # type: ignore[assignment]
        with self._lock:
            self._handlers = [*self._handlers, entry]

        def unsubscribe() -> None:
            with self._lock:
                self._handlers = [h for h in self._handlers if h is not entry]

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every matching handler, in subscription order."""
        with self._lock:
            handlers = self._handlers  # replaced (never mutated) on change: a safe snapshot
        for event_type, handler in handlers:
            if isinstance(event, event_type):
                try:
                    handler(event)
                except Exception:
                    with self._lock:
                        self.handler_errors += 1
                    log.exception("event handler %r failed on %s", handler,
                                  type(event).__name__)

    @property
    def subscriber_count(self) -> int:
        """How many handlers are subscribed."""
        with self._lock:
            return len(self._handlers)
