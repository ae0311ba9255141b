"""Outage notices (停水通知): issue planned-works and unplanned-outage notices to the customers
of the network nodes involved, through the outbox.

A dispatcher names the nodes (or whole DMAs) that lose water; the affected customers are the
accounts attached to those nodes — from the utility's layout and from the customer contacts
registered in the store (valve isolation, which would find the nodes from the valves closed,
comes later). The notice is checked against the lead-time rules
(:mod:`waterops.model.notices`), then the notice, its targets and one outbox message per
contact (e-mail and/or SMS) are written in one transaction; accounts without a contact are
covered by one public posting (a log-channel message naming how many). Delivery is the
:class:`~waterops.service.notifications.OutboxSender`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from waterops.errors import NoticeRuleError, PermissionDeniedError, RecordNotFoundError
from waterops.model.accounts import CUSTOMER_ROLES, User
from waterops.model.complaints import Ability, can
from waterops.model.notices import NoticeKind, NoticeRules, OutagePlan, check_plan, notice_text
from waterops.model.utility import UtilityLayout
from waterops.service.auth import Clock, utc_now
from waterops.service.notifications import EMAIL, LOG, SMS
from waterops.store.accounts_store import to_us
from waterops.store.notices_store import Contact, NewMessage, Notice, NoticesStore

PUBLIC_POSTING = "public-posting"
"""Address of the log-channel message standing for the notice board / website posting."""


@dataclass(frozen=True)
class NoticeRequest:
    """What a dispatcher asks to announce (times aware, UTC inside)."""

    kind: NoticeKind
    area: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    nodes: tuple[str, ...] = ()
    dmas: tuple[str, ...] = ()


class NoticeService:
    """The notice use cases.

    Parameters
    ----------
    store : notices, targets, contacts, outbox
    layout : the utility's layout (customers attached to nodes, DMAs)
    known_nodes : node ids of the network model (a notice naming another is refused)
    rules : the lead-time rules
    clock : the current time
    timezone : the utility's clock for the text of notices
    """

    def __init__(self, store: NoticesStore, layout: UtilityLayout, *,
                 known_nodes: frozenset[str] | None = None, rules: NoticeRules | None = None,
                 clock: Clock = utc_now, timezone: str = "Asia/Shanghai") -> None:
        self.store = store
        self.layout = layout
        self.known_nodes = known_nodes
        self.rules = rules or NoticeRules()
        self.clock = clock
        self.timezone = timezone
        self._account_nodes = {c.account_id: c.node for c in layout.customers}

    def affected_nodes(self, request: NoticeRequest) -> tuple[str, ...]:
        """The nodes of the request, DMAs expanded to their junctions, each once."""
        nodes = list(request.nodes)
        for dma_id in request.dmas:
            dma = next((d for d in self.layout.dmas if d.id == dma_id), None)
            if dma is None:
                raise NoticeRuleError("a notice names DMAs of the utility",
                                      f"unknown DMA {dma_id!r}")
            nodes += dma.junctions
        if not nodes:
            raise NoticeRuleError("a notice names the nodes or DMAs that lose water",
                                  "none given")
        if self.known_nodes is not None:
            unknown = [n for n in nodes if n not in self.known_nodes]
            if unknown:
                raise NoticeRuleError("a notice names nodes of the network model",
                                      f"unknown node(s) {', '.join(unknown[:5])}")
        return tuple(dict.fromkeys(nodes))

    def issue(self, user: User, request: NoticeRequest) -> Notice:
        """Check, store and queue a notice to every affected customer."""
        if not user.active or not can(user.role, Ability.ISSUE_NOTICES):
            raise PermissionDeniedError(user.username, Ability.ISSUE_NOTICES.value)
        now = self.clock()
        plan = OutagePlan(request.kind, request.starts_at, request.ends_at, now)
        check_plan(plan, self.rules)
        nodes = self.affected_nodes(request)
        subject, body_en, body_zh = notice_text(plan, request.area, request.reason,
                                                self.timezone)
        node_set = set(nodes)
        targets = {c.account_id: c.node for c in self.layout.customers if c.node in node_set}
        contacts = self.store.contacts(nodes=nodes)
        targets.update({c.account_id: c.node_id for c in contacts})
        body = f"{body_zh}\n{body_en}"
        messages = []
        for contact in contacts:
            if contact.phone:
                messages.append(NewMessage(SMS, contact.phone, subject, body_zh))
            if contact.email:
                messages.append(NewMessage(EMAIL, contact.email, subject, body))
        reached = {c.account_id for c in contacts if c.phone or c.email}
        unreached = len(set(targets) - reached)
        if unreached:
            messages.append(NewMessage(LOG, PUBLIC_POSTING, subject,
                                       f"{body} [posted for {unreached} accounts without "
                                       "a contact]"))
        return self.store.insert_notice({
            "kind": request.kind.value, "area": request.area, "reason": request.reason,
            "starts_at_us": to_us(request.starts_at), "ends_at_us": to_us(request.ends_at),
            "issued_by": user.username, "nodes": json.dumps(list(nodes)),
            "subject": subject, "body_en": body_en, "body_zh": body_zh,
        }, sorted(targets.items()), messages, now, user)

    def register_contact(self, user: User, account_id: str, *, customer_id: int | None = None,
                         email: str | None = None, phone: str | None = None) -> Contact:
        """Record how to reach the holder of a customer account, and which user it is (an
        agent does this after checking the bill: a customer cannot claim an account alone).
        The account's node comes from the layout."""
        if not user.active or not can(user.role, Ability.HANDLE):
            raise PermissionDeniedError(user.username, "contacts:register")
        node = self._account_nodes.get(account_id)
        if node is None:
            raise RecordNotFoundError("customer account", account_id)
        contact = Contact(account_id, node, customer_id, email, phone)
        self.store.upsert_contacts([contact], at=self.clock(), actor=user)
        return contact

    def contacts_of(self, user: User) -> list[Contact]:
        """The customer accounts registered to ``user``."""
        return self.store.contacts(user_id=user.id)

    def get(self, user: User, notice_id: int) -> Notice:
        """A notice ``user`` may see (a customer: one reaching their account)."""
        notice = self.store.notice(notice_id)
        if self._reads_all(user):
            return notice
        mine = {c.account_id for c in self.store.contacts(user_id=user.id)}
        if user.active and mine & {a for a, _ in self.store.targets(notice_id)}:
            return notice
        raise RecordNotFoundError("notice", notice_id)

    def visible(self, user: User, *, limit: int = 50, offset: int = 0
                ) -> tuple[list[Notice], int]:
        """A page of the notices ``user`` may see (a customer: those for their address)."""
        if self._reads_all(user):
            return self.store.notices(limit=limit, offset=offset)
        if user.role not in CUSTOMER_ROLES or not user.active:
            raise PermissionDeniedError(user.username, Ability.READ_NOTICES.value)
        mine = [c.account_id for c in self.store.contacts(user_id=user.id)]
        return self.store.notices(account_ids=mine, limit=limit, offset=offset)

    @staticmethod
    def _reads_all(user: User) -> bool:
        return user.active and can(user.role, Ability.READ_NOTICES)
