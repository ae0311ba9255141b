"""Connection applications (用水报装): apply, advance, pause, follow, SLA clocks, breach report.

Every change is a transition of the application's declared state machine
(:mod:`waterops.model.connections`), written in one transaction with its timeline line and,
when staff made it, its audit line. After the commit the applicant is notified through the
:class:`Notifier` port and a :class:`ConnectionApplicationChanged` event goes on the bus.

Who sees what: a customer sees and acts on their own applications only (asking for another's
gives "not found", so ids do not leak); staff see all, and move them if their role allows.

SLA clocks are read from the timeline: a stage's clock starts when the application entered
it, stops while paused (waiting on the applicant), and ends when the application leaves it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from waterops.errors import ConnectionApplicationError, RecordNotFoundError
from waterops.model.accounts import CUSTOMER_ROLES, Permission, User, has_permission
from waterops.model.connections import (
    FINAL_STATES,
    ConnectionAction,
    ConnectionState,
    check_new_application,
    next_state,
    template,
)
from waterops.model.workdays import HolidayCalendar, Pause, SlaState, SlaStatus, sla_status
from waterops.service.auth import Clock, require, utc_now
from waterops.service.events import Event, EventBus
from waterops.store.connections_store import (
    SUBMIT_ACTION,
    ConnectionApplication,
    ConnectionsStore,
    TimelineEntry,
)

log = logging.getLogger(__name__)


# -- notifications -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """A message to one user about one record."""

    recipient_id: int
    subject: str
    body: str
    at: datetime
    record_kind: str
    record_id: int


class Notifier(Protocol):
    """The notification port: adapters send through log, e-mail, SMS or an outbox."""

    def send(self, notification: Notification) -> None:
        """Deliver (or queue) ``notification``."""


class LogNotifier:
    """The log adapter: every notification is one INFO line of ``waterops.notifications``."""

    def __init__(self) -> None:
        self._log = logging.getLogger("waterops.notifications")

    def send(self, notification: Notification) -> None:
        """Write the notification to the log."""
        self._log.info(
            "to user %d about %s %d: %s — %s",
            notification.recipient_id,
            notification.record_kind,
            notification.record_id,
            notification.subject,
            notification.body,
        )


@dataclass(frozen=True, slots=True)
class ConnectionApplicationChanged(Event):
    """A connection application was submitted or moved (``action``) by ``actor``."""

    application: ConnectionApplication
    action: str
    before: ConnectionState | None
    actor: str


STATE_TITLES = {
    ConnectionState.APPLICATION: "application received",
    ConnectionState.ACCEPTANCE_SURVEY: "accepted; site survey",
    ConnectionState.DESIGN_QUOTE: "design and quote",
    ConnectionState.CONSTRUCTION: "construction of the external works",
    ConnectionState.METER_INSTALLATION: "meter installation",
    ConnectionState.WATER_ON: "water on",
    ConnectionState.PAUSED: "waiting for you",
    ConnectionState.REJECTED: "rejected",
    ConnectionState.WITHDRAWN: "withdrawn",
}


# -- clocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageClock:
    """The SLA clock of one stage an application went through (or is in)."""

    stage: ConnectionState
    started_at: datetime
    status: SlaStatus


@dataclass(frozen=True)
class ApplicationSla:
    """Every clock of one application, read at one instant."""

    application: ConnectionApplication
    stages: tuple[StageClock, ...]
    end_to_end: SlaStatus

    @property
    def current(self) -> StageClock | None:
        """The clock of the stage the application is in (None once final)."""
        if self.application.state in FINAL_STATES or not self.stages:
            return None
        return self.stages[-1]

    @property
    def breached(self) -> bool:
        """Whether any promise (a stage, or end to end) was broken."""
        return self.end_to_end.state == SlaState.BREACHED or any(
            c.status.state == SlaState.BREACHED for c in self.stages
        )

    @property
    def warning(self) -> bool:
        """Whether a running promise is about to be broken."""
        current = self.current
        return self.end_to_end.state == SlaState.WARNING or (
            current is not None and current.status.state == SlaState.WARNING
        )


def _pauses(timeline: list[TimelineEntry], since: datetime, until: datetime | None) -> list[Pause]:
    pauses: list[Pause] = []
    for entry in timeline:
        if until is not None and entry.at > until:
            break
        if entry.action == ConnectionAction.PAUSE and entry.at >= since:
            pauses.append(Pause(entry.at))
        elif (
            entry.action in (ConnectionAction.RESUME, ConnectionAction.WITHDRAW)
            and pauses
            and pauses[-1].end is None
        ):
            pauses[-1] = Pause(pauses[-1].start, entry.at)
    return pauses


def application_sla(
    app: ConnectionApplication,
    timeline: list[TimelineEntry],
    now: datetime,
    calendar: HolidayCalendar,
) -> ApplicationSla:
    """Read every clock of ``app`` from its ``timeline`` at ``now``."""
    tpl = template(app.template)
    entries: list[tuple[ConnectionState, datetime]] = []
    for entry in timeline:
        entered = entry.state_after
        if entry.action != ConnectionAction.RESUME and entered in tpl.stage_sla_days:
            entries.append((entered, entry.at))
    final_at = next((e.at for e in timeline if e.state_after in FINAL_STATES), None)
    clocks = []
    for i, (stage, started) in enumerate(entries):
        stopped = entries[i + 1][1] if i + 1 < len(entries) else final_at
        status = sla_status(
            started,
            tpl.stage_sla_days[stage],
            now,
            calendar,
            pauses=_pauses(timeline, started, stopped),
            stopped_at=stopped,
        )
        clocks.append(StageClock(stage, started, status))
    end_to_end = sla_status(
        app.created_at,
        tpl.end_to_end_sla_days,
        now,
        calendar,
        pauses=_pauses(timeline, app.created_at, final_at),
        stopped_at=final_at,
    )
    return ApplicationSla(app, tuple(clocks), end_to_end)


# -- use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationForm:
    """What an applicant fills in online (with one uploaded document).

    ``meter_size_mm`` is the nominal meter size asked for (DN15 for a flat) [mm].
    """

    template: str
    address: str
    contact_phone: str
    meter_size_mm: int
    document_id: int
    external_works: bool = False
    park_id: str | None = None


class ConnectionService:
    """The connection-application use cases.

    Parameters
    ----------
    store : the repository
    calendar : working days and holidays for SLA clocks
    clock : the current time (injected in tests)
    notifier : the notification port
    bus : the event bus (optional)
    """

    def __init__(
        self,
        store: ConnectionsStore,
        calendar: HolidayCalendar,
        *,
        clock: Clock = utc_now,
        notifier: Notifier | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.clock = clock
        self.notifier: Notifier = notifier or LogNotifier()
        self.bus = bus

    def apply(self, applicant: User, form: ApplicationForm) -> ConnectionApplication:
        """Step 1 of the applicant: the online form and one document."""
        require(applicant, Permission.CONNECTIONS_APPLY, "connection applications")
        tpl = template(form.template)
        check_new_application(tpl, form.external_works, form.park_id)
        if applicant.role not in CUSTOMER_ROLES:
            raise ConnectionApplicationError("an application is made by the customer's account")
        now = self.clock()
        with self.store.transaction() as tx:
            document = tx.document(form.document_id)
            if document.owner_id != applicant.id:
                raise RecordNotFoundError("document", form.document_id)
            app_id = tx.insert_application(
                {
                    "applicant_id": applicant.id,
                    "template": tpl.name.value,
                    "external_works": form.external_works,
                    "address": form.address,
                    "contact_phone": form.contact_phone,
                    "park_id": form.park_id,
                    "meter_size_mm": form.meter_size_mm,
                    "document_id": form.document_id,
                },
                now,
            )
            tx.add_event(app_id, now, SUBMIT_ACTION, None, ConnectionState.APPLICATION, applicant)
            app = tx.application(app_id)
        self._announce(app, SUBMIT_ACTION, None, applicant)
        return app

    def act(
        self, user: User, application_id: int, action: ConnectionAction, note: str = ""
    ) -> ConnectionApplication:
        """Move an application by ``action`` (staff: advance, pause …; applicant: accept the
        quote, withdraw)."""
        self.get(user, application_id)  # "not found" for a customer's foreign application
        by_applicant = not user.is_staff
        require(
            user,
            Permission.CONNECTIONS_ACT_AS_APPLICANT
            if by_applicant
            else Permission.CONNECTIONS_ADVANCE,
            f"connection application {application_id}",
        )
        now = self.clock()
        with self.store.transaction() as tx:
            before = tx.application(application_id)
            target = next_state(
                template(before.template),
                before.state,
                action,
                external_works=before.external_works,
                paused_from=before.paused_from,
                by_applicant=by_applicant,
                application_id=application_id,
            )
            paused_from = before.state if action == ConnectionAction.PAUSE else None
            tx.set_state(application_id, target, paused_from, now)
            tx.add_event(application_id, now, action, before.state, target, user, note)
            if user.is_staff:
                tx.add_audit(
                    now,
                    user,
                    f"connection_{action.value}",
                    "connection",
                    application_id,
                    before={"state": before.state.value},
                    after={"state": target.value, "note": note},
                )
            after = tx.application(application_id)
        self._announce(after, action.value, before.state, user)
        return after

    def get(self, user: User, application_id: int) -> ConnectionApplication:
        """An application ``user`` may see (a foreign one is "not found")."""
        app = self.store.application(application_id)
        if has_permission(user.role, Permission.CONNECTIONS_READ_ALL) and user.active:
            return app
        if (
            app.applicant_id == user.id
            and has_permission(user.role, Permission.CONNECTIONS_READ_OWN)
            and user.active
        ):
            return app
        raise RecordNotFoundError("connection application", application_id)

    def visible(
        self, user: User, *, limit: int, offset: int, state: ConnectionState | None = None
    ) -> tuple[list[ConnectionApplication], int]:
        """A page of the applications ``user`` may see (in ``state`` if given), and their total."""
        states = () if state is None else (state,)
        if has_permission(user.role, Permission.CONNECTIONS_READ_ALL):
            return self.store.applications(states=states, limit=limit, offset=offset)
        require(user, Permission.CONNECTIONS_READ_OWN, "connection applications")
        return self.store.applications(
            applicant_id=user.id, states=states, limit=limit, offset=offset
        )

    def timeline(self, user: User, application_id: int) -> list[TimelineEntry]:
        """The live timeline of an application ``user`` may see."""
        self.get(user, application_id)
        return self.store.timeline(application_id)

    def sla(self, user: User, application_id: int) -> ApplicationSla:
        """Every SLA clock of an application ``user`` may see, read now."""
        app = self.get(user, application_id)
        return application_sla(
            app, self.store.timeline(application_id), self.clock(), self.calendar
        )

    def sla_report(self, user: User) -> list[ApplicationSla]:
        """Applications with a broken promise or one about to break (staff)."""
        require(user, Permission.CONNECTIONS_SLA_REPORT, "the SLA report")
        apps, _ = self.store.applications()
        timelines = self.store.timelines()  # one query, not one per application
        now = self.clock()
        report = []
        for app in apps:
            sla = application_sla(app, timelines.get(app.id, []), now, self.calendar)
            if sla.breached or sla.warning:
                report.append(sla)
        return report

    def _announce(
        self, app: ConnectionApplication, action: str, before: ConnectionState | None, actor: User
    ) -> None:
        title = STATE_TITLES[app.state]
        try:
            self.notifier.send(
                Notification(
                    app.applicant_id,
                    f"Connection application {app.id}: {title}",
                    f"Your connection application at {app.address} is now: {title}.",
                    app.updated_at,
                    "connection application",
                    app.id,
                )
            )
        except Exception:  # the change is committed; a broken adapter must not undo it
            log.exception("notification of connection application %d failed", app.id)
        if self.bus is not None:
            self.bus.publish(ConnectionApplicationChanged(app, action, before, actor.username))
