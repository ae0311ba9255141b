"""Field work orders (工单): created from incidents, alarms and complaints, dispatched to crews,
moved from the field, closed with cause and materials, every step audited.

- **Create**: by hand (:meth:`WorkOrderService.create`), from an alarm
  (:meth:`~WorkOrderService.create_from_alarm`: kind and priority from the alarm's kind, the
  SLA clock from the alarm's raise time, linked to the alarm and its incident), from an
  incident (:meth:`~WorkOrderService.create_from_incident`: from its most severe alarm, the
  clock from its opening, linked to it and all its alarms) or from a
  complaint (:meth:`~WorkOrderService.create_from_complaint`: the complaint's node, received
  time and incident). Due times are fixed when the order is made, from the
  :class:`~waterops.model.work_orders.SlaPolicy` of the service (a later policy change does not
  rewrite past promises).
- **Dispatch**: assign to a field-crew account (the crew leader) with a crew name; re-assign
  before the crew is on site; cancel; close.
- **From the field**: depart, arrive, repair (cause and materials). A field crew sees and moves
  only the orders assigned to it (another crew's order is "not found", so ids do not leak).
- **Links** to alarms, incidents, complaints and outage notices (checked to exist).

Every action is one transaction: the order, its history line, materials, links and the audit
line of the staff member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from waterops.errors import (
    AlarmError,
    PermissionDeniedError,
    RecordNotFoundError,
    WorkOrderError,
)
from waterops.model.accounts import Role, User
from waterops.model.alarms import Alarm, Cause, parse_cause
from waterops.model.work_orders import (
    ALARM_KIND_TO_ORDER,
    FIELD_ACTIONS,
    OPEN_STATES,
    Ability,
    LinkKind,
    Material,
    Priority,
    SlaClock,
    SlaPolicy,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
    can,
    due_times,
    next_state,
    sla_clock,
)
from waterops.service.auth import Clock, utc_now
from waterops.store.accounts_store import AccountsStore, to_us
from waterops.store.alarms_store import AlarmStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.notices_store import NoticesStore
from waterops.store.work_orders_store import (
    CREATE_ACTION,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderFilter,
    WorkOrdersStore,
)

TITLE_MAX = 200
TRUNK_MAIN_SOURCE_PREFIX = "trunk_main:"
"""Alarm sources of the trunk main's detector (their orders are of kind ``trunk_main``)."""


@dataclass(frozen=True)
class WorkOrderDraft:
    """What a new order says. ``reported_at`` (default: now) starts the SLA clock;
    ``diameter_mm`` is the nominal diameter of the pipe concerned [mm] (the DN100 rule)."""

    kind: WorkOrderKind
    title: str
    priority: Priority = Priority.URGENT
    description: str = ""
    node_id: str | None = None
    link_id: str | None = None
    diameter_mm: float | None = None
    location_text: str = ""
    reported_at: datetime | None = None
    links: tuple[tuple[LinkKind, int], ...] = field(default=())


class WorkOrderService:
    """Work orders over one database.

    Parameters
    ----------
    engine : the store's engine (migrated to head): work orders, accounts, alarms, complaints,
        notices share it
    policy : the SLA targets
    clock : now (timezone-aware UTC)
    """

    def __init__(self, engine: sa.Engine, policy: SlaPolicy | None = None,
                 clock: Clock = utc_now) -> None:
        self.store = WorkOrdersStore(engine)
        self.accounts = AccountsStore(engine)
        self.alarms = AlarmStore(engine)
        self.complaints = ComplaintsStore(engine)
        self.notices = NoticesStore(engine)
        self.policy = policy or SlaPolicy()
        self.clock = clock

    # -- checks ----------------------------------------------------------------------------------

    @staticmethod
    def _require(user: User, ability: Ability, resource: str | None = None) -> None:
        if not user.active or not can(user.role, ability):
            raise PermissionDeniedError(user.username, ability.value, resource)

    @staticmethod
    def _sees(user: User, order: WorkOrder) -> bool:
        if not user.active:
            return False
        if can(user.role, Ability.READ_ALL):
            return True
        return user.role is Role.FIELD_CREW and order.assignee_id == user.id

    def _visible(self, user: User, order: WorkOrder) -> WorkOrder:
        if not self._sees(user, order):
            raise RecordNotFoundError("work order", order.id)
        return order

    def _check_link(self, kind: LinkKind, target_id: int) -> None:
        try:
            if kind is LinkKind.ALARM:
                self.alarms.alarm(target_id)
            elif kind is LinkKind.INCIDENT:
                self.alarms.incident(target_id)
            elif kind is LinkKind.COMPLAINT:
                self.complaints.complaint(target_id)
            elif kind is LinkKind.NOTICE:
                self.notices.notice(target_id)
        except (AlarmError, RecordNotFoundError):
            raise WorkOrderError(f"cannot link to {kind.value} {target_id}: there is no such "
                                 "record") from None

    # -- create ----------------------------------------------------------------------------------

    def create(self, user: User, draft: WorkOrderDraft) -> WorkOrder:
        """A new order in state ``created``, its due times from the SLA policy."""
        self._require(user, Ability.CREATE, "work orders")
        title = draft.title.strip()
        if not title or len(title) > TITLE_MAX:
            raise WorkOrderError(f"a work order needs a title of 1-{TITLE_MAX} characters")
        if draft.diameter_mm is not None and not 0 < draft.diameter_mm < 10_000:
            raise WorkOrderError(f"pipe diameter {draft.diameter_mm} mm is not a nominal "
                                 "diameter (0-10,000 mm)")
        now = self.clock()
        reported = draft.reported_at or now
        if reported > now:
            raise WorkOrderError(f"reported at {reported.isoformat()} is in the future")
        target = self.policy.target(draft.kind, draft.priority, draft.diameter_mm)
        on_site_due, fixed_due = due_times(reported, target)
        for kind, target_id in draft.links:
            self._check_link(kind, target_id)
        with self.store.transaction() as tx:
            new_id = tx.insert_order({
                "kind": draft.kind.value, "priority": draft.priority.value, "title": title,
                "description": draft.description, "node_id": draft.node_id,
                "link_id": draft.link_id, "diameter_mm": draft.diameter_mm,
                "location_text": draft.location_text, "created_by": user.username[:64],
                "reported_at_us": to_us(reported), "created_at_us": to_us(now),
                "updated_at_us": to_us(now), "on_site_due_us": to_us(on_site_due),
                "fixed_due_us": None if fixed_due is None else to_us(fixed_due),
                "sla_basis": target.basis,
            })
            for kind, target_id in draft.links:
                tx.add_link(new_id, kind, target_id)
            tx.add_event(new_id, now, CREATE_ACTION, None, WorkOrderState.CREATED,
                         user.username, title)
            tx.add_audit(now, user, "work_order_create", new_id, None,
                         {"kind": draft.kind.value, "priority": draft.priority.value,
                          "title": title, "links": [f"{k.value}:{i}" for k, i in draft.links]})
            return tx.order(new_id)

    def create_from_alarm(self, user: User, alarm_id: int, *, title: str | None = None,
                          diameter_mm: float | None = None) -> WorkOrder:
        """An order for an alarm: kind and priority from the alarm's kind, the SLA clock from
        its raise time, linked to the alarm and its incident."""
        self._require(user, Ability.CREATE, "work orders")
        try:
            alarm = self.alarms.alarm(alarm_id)
        except AlarmError:
            raise RecordNotFoundError("alarm", alarm_id) from None
        kind, priority = self._order_kind(alarm)
        links: list[tuple[LinkKind, int]] = [(LinkKind.ALARM, alarm.id)]
        if alarm.incident_id is not None:
            links.append((LinkKind.INCIDENT, alarm.incident_id))
        element = alarm.source
        return self.create(user, WorkOrderDraft(
            kind=kind, priority=priority,
            title=title or f"{alarm.kind.replace('_', ' ')} at {element}"[:TITLE_MAX],
            description=alarm.message, location_text=element, diameter_mm=diameter_mm,
            reported_at=min(alarm.raised_at, self.clock()), links=tuple(links)))

    def create_from_incident(self, user: User, incident_id: int, *, title: str | None = None,
                             diameter_mm: float | None = None) -> WorkOrder:
        """An order for an alarm incident (alarms of one cause, worked as one job): kind and
        priority from its most severe alarm (the earliest among equals), the SLA clock from
        the incident's opening, linked to the incident and every alarm in it."""
        self._require(user, Ability.CREATE, "work orders")
        try:
            incident = self.alarms.incident(incident_id)
            members = [self.alarms.alarm(a) for a in incident.alarm_ids]
        except AlarmError:
            raise RecordNotFoundError("incident", incident_id) from None
        if not members:
            raise WorkOrderError(f"incident {incident_id} has no alarms to work on")
        lead = min(members, key=lambda a: (a.severity.rank, a.raised_at, a.id))
        kind, priority = self._order_kind(lead)
        links = [(LinkKind.INCIDENT, incident.id), *((LinkKind.ALARM, a.id) for a in members)]
        return self.create(user, WorkOrderDraft(
            kind=kind, priority=priority,
            title=title or f"{incident.title}"[:TITLE_MAX] or f"incident {incident.id}",
            description=lead.message, location_text=incident.group_key,
            diameter_mm=diameter_mm, reported_at=min(incident.opened_at, self.clock()),
            links=tuple(links)))

    @staticmethod
    def _order_kind(alarm: Alarm) -> tuple[WorkOrderKind, Priority]:
        kind, priority = ALARM_KIND_TO_ORDER.get(alarm.kind, (WorkOrderKind.OTHER,
                                                              Priority.URGENT))
        if alarm.source.startswith(TRUNK_MAIN_SOURCE_PREFIX):
            kind = WorkOrderKind.TRUNK_MAIN
        return kind, priority

    def create_from_complaint(self, user: User, complaint_id: int, *,
                              kind: WorkOrderKind = WorkOrderKind.OTHER,
                              priority: Priority = Priority.URGENT,
                              title: str | None = None) -> WorkOrder:
        """An order for a complaint (a repair request): at its node, the SLA clock from its
        arrival, linked to it and to the alarm incident it was joined to."""
        self._require(user, Ability.CREATE, "work orders")
        complaint = self.complaints.complaint(complaint_id)
        links: list[tuple[LinkKind, int]] = [(LinkKind.COMPLAINT, complaint.id)]
        if complaint.alarm_incident_id is not None:
            links.append((LinkKind.INCIDENT, complaint.alarm_incident_id))
        if complaint.pump_room_id is not None and kind is WorkOrderKind.OTHER:
            kind = WorkOrderKind.PUMP_ROOM
        return self.create(user, WorkOrderDraft(
            kind=kind, priority=priority,
            title=title or f"{complaint.category.value.replace('_', ' ')} reported by complaint "
                           f"{complaint.id}",
            description=complaint.description, node_id=complaint.node_id,
            location_text=complaint.location_text, reported_at=complaint.received_at,
            links=tuple(links)))

    # -- dispatch --------------------------------------------------------------------------------

    def assign(self, user: User, order_id: int, assignee_id: int, crew: str = "",
               note: str = "") -> WorkOrder:
        """Assign (or re-assign) the order to a field-crew account; ``crew`` names the crew."""
        self._require(user, Ability.DISPATCH, f"work order {order_id}")
        try:
            assignee = self.accounts.user(assignee_id)
        except RecordNotFoundError:
            raise WorkOrderError(f"no user {assignee_id} to assign work order {order_id} to"
                                 ) from None
        if assignee.role is not Role.FIELD_CREW or not assignee.active:
            raise WorkOrderError(f"user {assignee.username!r} is not an active field crew "
                                 "account; work orders go to field crews")
        crew_name = (crew.strip() or assignee.display_name or assignee.username)[:64]
        return self._act(user, order_id, WorkOrderAction.ASSIGN, note,
                         assignee_id=assignee.id, crew=crew_name)

    def cancel(self, user: User, order_id: int, reason: str) -> WorkOrder:
        """Cancel an order not yet worked on site (a duplicate, a false alarm); a reason is
        required."""
        self._require(user, Ability.DISPATCH, f"work order {order_id}")
        if not reason.strip():
            raise WorkOrderError("cancelling a work order needs a reason")
        return self._act(user, order_id, WorkOrderAction.CANCEL, reason,
                         closure_note=reason.strip())

    def close(self, user: User, order_id: int, *, cause: Cause | str | None = None,
              materials: Sequence[Material] = (), note: str = "") -> WorkOrder:
        """Close the job (dispatch centre) with its cause (required unless the crew gave one
        at repair) and any further materials."""
        self._require(user, Ability.DISPATCH, f"work order {order_id}")
        order = self.store.order(order_id)
        code = self._cause(cause) if cause is not None else order.cause
        if code is None:
            raise WorkOrderError(f"work order {order_id}: give the cause to close it "
                                 f"(one of: {', '.join(c.value for c in Cause)})")
        return self._act(user, order_id, WorkOrderAction.CLOSE, note, materials=materials,
                         cause=code, closure_note=note.strip() or order.closure_note)

    # -- from the field --------------------------------------------------------------------------

    def update_status(self, user: User, order_id: int, action: WorkOrderAction,
                      note: str = "") -> WorkOrder:
        """``depart`` or ``arrive``: the crew's status from the field."""
        if action not in FIELD_ACTIONS or action is WorkOrderAction.REPAIR:
            raise WorkOrderError(f"{action.value!r} is not a status update from the field; use "
                                 "depart or arrive (repair: with cause and materials)")
        return self._act(user, order_id, action, note)

    def repair(self, user: User, order_id: int, cause: Cause | str,
               materials: Sequence[Material] = (), note: str = "") -> WorkOrder:
        """The crew has repaired: the cause found and the materials used."""
        return self._act(user, order_id, WorkOrderAction.REPAIR, note, materials=materials,
                         cause=self._cause(cause), closure_note=note.strip())

    @staticmethod
    def _cause(cause: Cause | str) -> str:
        if isinstance(cause, Cause):
            return cause.value
        try:
            return parse_cause(cause).value
        except AlarmError as exc:  # the same codes as alarms and incidents, for one report
            raise WorkOrderError(str(exc)) from None

    def _act(self, user: User, order_id: int, action: WorkOrderAction, note: str,
             materials: Sequence[Material] = (), **values: object) -> WorkOrder:
        field_action = action in FIELD_ACTIONS
        if field_action and not (can(user.role, Ability.FIELD) and user.active):
            raise PermissionDeniedError(user.username, Ability.FIELD.value,
                                        f"work order {order_id}")
        now = self.clock()
        with self.store.transaction() as tx:
            order = tx.order(order_id)
            # a crew moves only its own orders; others' are not found (ids do not leak)
            if (field_action and not can(user.role, Ability.DISPATCH)
                    and order.assignee_id != user.id):
                raise RecordNotFoundError("work order", order_id)
            after = next_state(order_id, order.state, action)
            tx.move(order_id, now, after, **values)
            tx.add_materials(order_id, materials)
            tx.add_event(order_id, now, action.value, order.state, after, user.username, note)
            changed = {k: v for k, v in values.items() if v is not None}
            if materials:
                changed["materials"] = [f"{m.quantity:g} {m.unit} {m.name}" for m in materials]
            tx.add_audit(now, user, f"work_order_{action.value}", order_id,
                         {"state": order.state.value}, {"state": after.value, **changed})
            return tx.order(order_id)

    def link(self, user: User, order_id: int, kind: LinkKind, target_id: int) -> WorkOrder:
        """Link the order to an alarm, incident, complaint or notice (audited)."""
        self._require(user, Ability.DISPATCH, f"work order {order_id}")
        self._check_link(kind, target_id)
        now = self.clock()
        with self.store.transaction() as tx:
            order = tx.order(order_id)
            if tx.add_link(order_id, kind, target_id):
                tx.add_event(order_id, now, "link", order.state, order.state, user.username,
                             f"{kind.value} {target_id}")
                tx.add_audit(now, user, "work_order_link", order_id, None,
                             {"link": f"{kind.value}:{target_id}"})
            return tx.order(order_id)

    # -- read ------------------------------------------------------------------------------------

    def get(self, user: User, order_id: int) -> WorkOrder:
        """One order (a crew: its own only)."""
        if not can(user.role, Ability.READ_ALL) and user.role is not Role.FIELD_CREW:
            raise PermissionDeniedError(user.username, Ability.READ_ALL.value, "work orders")
        return self._visible(user, self.store.order(order_id))

    def visible(self, user: User, where: WorkOrderFilter | None = None, *,
                limit: int | None = None, offset: int = 0) -> tuple[list[WorkOrder], int]:
        """A page of the orders ``user`` may see (a crew: its own), newest first, and the
        total."""
        f = where or WorkOrderFilter()
        if not can(user.role, Ability.READ_ALL):
            if user.role is not Role.FIELD_CREW or not user.active:
                raise PermissionDeniedError(user.username, Ability.READ_ALL.value,
                                            "work orders")
            f = WorkOrderFilter(f.state, f.states, f.kind, user.id, f.link)
        return self.store.orders(f, limit=limit, offset=offset)

    def history(self, user: User, order_id: int) -> list[WorkOrderEvent]:
        """The order's history, oldest first."""
        self.get(user, order_id)
        return self.store.events(order_id)

    def sla(self, order: WorkOrder, now: datetime | None = None) -> SlaClock:
        """The order's SLA clock at ``now`` (default: the service's clock)."""
        return sla_clock(order.reported_at, order.on_site_due, order.fixed_due,
                         now or self.clock(), on_site_at=order.on_site_at,
                         fixed_at=order.repaired_at or (order.closed_at if order.state is
                                                        WorkOrderState.CLOSED else None),
                         cancelled=order.state is WorkOrderState.CANCELLED)

    def overdue(self, user: User) -> list[tuple[WorkOrder, SlaClock]]:
        """Open orders whose SLA is breached now, the most overdue first."""
        orders, _ = self.visible(user, WorkOrderFilter(states=frozenset(OPEN_STATES)))
        now = self.clock()
        out = [(o, c) for o in orders if (c := self.sla(o, now)).breached]
        return sorted(out, key=lambda oc: oc[1].on_site_due)
