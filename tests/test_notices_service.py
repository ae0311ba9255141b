"""Outage notices on SQLite and PostgreSQL: affected customers, the outbox written with the
notice, delivery by e-mail (a local SMTP server) and SMS (a local HTTP gateway) with retries,
and no message lost when the process dies between writing and sending."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from complaints_world import T0, World, open_world
from waterops.errors import NoticeRuleError, PermissionDeniedError, RecordNotFoundError
from waterops.model.accounts import Role
from waterops.model.notices import NoticeKind
from waterops.service.notices import PUBLIC_POSTING, NoticeRequest
from waterops.service.notifications import (
    EMAIL,
    LOG,
    SMS,
    LogChannel,
    OutboxSender,
    SmsGatewayChannel,
    SmtpChannel,
)
from waterops.store import migrate
from waterops.store.notices_store import Contact


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    w = open_world(request, str(tmp_path / "notices.db"))
    yield w
    w.accounts.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, str]]
    fail_next: list[int]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.fail_next:
            self.send_response(self.fail_next.pop())
            self.end_headers()
            return
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def sms_gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {"received": [], "fail_next": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms/send", handler
    server.shutdown()
    server.server_close()


def planned(nodes: tuple[str, ...] = ("JUNCTION-534",), lead_h: float = 30,
            hours: float = 4, dmas: tuple[str, ...] = ()) -> NoticeRequest:
    start = T0 + timedelta(hours=lead_h)
    return NoticeRequest(NoticeKind.PLANNED, "Jinhua Road", "main replacement", start,
                         start + timedelta(hours=hours), nodes, dmas)


def test_affected_customers_and_outbox_written_with_the_notice(world: World) -> None:
    dispatcher = world.user("disp.li", Role.DISPATCHER)
    node = "PR01-HIGHZONE"
    layout_accounts = sorted(c.account_id for c in world.layout.customers if c.node == node)
    world.notices_store.upsert_contacts([
        Contact(layout_accounts[0], node, None, "a@example.org", "13900000001"),
        Contact("X000001", node, None, None, "13900000002"),
    ])
    notice = world.notices.issue(dispatcher, planned((node,)))
    targets = world.notices_store.targets(notice.id)
    assert sorted(a for a, _ in targets) == sorted([*layout_accounts, "X000001"])
    assert notice.target_count == len(targets)
    messages = world.notices_store.messages(notice_id=notice.id)
    by_channel = sorted((m.channel, m.address) for m in messages)
    assert by_channel == [(EMAIL, "a@example.org"), (LOG, PUBLIC_POSTING),
                          (SMS, "13900000001"), (SMS, "13900000002")]
    posting = next(m for m in messages if m.channel == LOG)
    assert f"posted for {len(layout_accounts) - 1} accounts" in posting.body
    assert all(m.sent_at is None for m in messages)
    audit = world.accounts.audit_lines(target_kind="notice", target_id=notice.id)
    assert audit[0]["action"] == "issue_notice"


def test_rules_and_roles(world: World) -> None:
    dispatcher = world.user("disp.li", Role.DISPATCHER)
    agent = world.user("agent.li", Role.SERVICE_AGENT)
    with pytest.raises(PermissionDeniedError):
        world.notices.issue(agent, planned())
    with pytest.raises(NoticeRuleError, match="48 h ahead"):
        world.notices.issue(dispatcher, planned(lead_h=30, hours=13))
    with pytest.raises(NoticeRuleError, match="unknown node"):
        world.notices.issue(dispatcher, planned(("NOPE",)))
    with pytest.raises(NoticeRuleError, match="unknown DMA"):
        world.notices.issue(dispatcher, planned((), dmas=("DMA-99",)))
    # nothing half-written by the refusals
    assert world.notices_store.notices() == ([], 0)
    assert world.notices_store.messages() == []
    whole_dma = world.notices.issue(dispatcher, planned((), lead_h=49, hours=13,
                                                        dmas=("DMA-04",)))
    dma = next(d for d in world.layout.dmas if d.id == "DMA-04")
    assert set(whole_dma.nodes) == set(dma.junctions)


def test_customer_sees_the_notices_for_their_address(world: World) -> None:
    dispatcher = world.user("disp.li", Role.DISPATCHER)
    a = world.user("cust.a", Role.HOUSEHOLD_CUSTOMER)
    b = world.user("cust.b", Role.HOUSEHOLD_CUSTOMER)
    world.notices_store.upsert_contacts([Contact("H002873", "PR03-HIGHZONE", a.id),
                                         Contact("H002869", "PR01-HIGHZONE", b.id)])
    notice = world.notices.issue(dispatcher, planned(("PR03-HIGHZONE",)))
    assert world.notices.get(a, notice.id).id == notice.id
    assert [n.id for n in world.notices.visible(a)[0]] == [notice.id]
    assert world.notices.visible(b) == ([], 0)
    with pytest.raises(RecordNotFoundError):
        world.notices.get(b, notice.id)


def test_delivery_by_email_and_sms_with_retries(
        world: World, smtp_server: tuple[int, _Inbox],
        sms_gateway: tuple[str, type[_Gateway]]) -> None:
    port, inbox = smtp_server
    url, gateway = sms_gateway
    dispatcher = world.user("disp.li", Role.DISPATCHER)
    world.notices_store.upsert_contacts([
        Contact("H002873", "PR03-HIGHZONE", None, "resident@example.org", "13900000003")])
    notice = world.notices.issue(dispatcher, planned(("PR03-HIGHZONE",)))
    gateway.fail_next.append(503)  # the gateway is busy once
    log_channel = LogChannel()
    sender = OutboxSender(world.notices_store, {
        EMAIL: SmtpChannel("127.0.0.1", port, "notices@waterops.invalid"),
        SMS: SmsGatewayChannel(url), LOG: log_channel,
    }, clock=world.clock, first_retry_s=30)
    first = sender.drain()
    assert (first.sent, first.retried, first.failed) == (1, 1, 0)
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "resident@example.org"
    assert "停水" in mail.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    sms = next(m for m in world.notices_store.messages(notice_id=notice.id)
               if m.channel == SMS)
    assert "503" in sms.last_error and sms.attempts == 1
    assert sender.drain().attempted == 0  # not due before its retry time
    world.clock.advance(seconds=31)
    assert sender.drain().sent == 1
    assert gateway.received[0]["to"] == "13900000003" and "停水" in gateway.received[0]["text"]
    assert all(m.sent_at is not None for m in world.notices_store.messages(notice_id=notice.id)
               if m.channel != LOG)


def test_gives_up_after_max_attempts_and_says_why(world: World) -> None:
    dispatcher = world.user("disp.li", Role.DISPATCHER)
    world.notices_store.upsert_contacts([
        Contact("H002873", "PR03-HIGHZONE", None, "resident@example.org", None)])
    world.notices.issue(dispatcher, planned(("PR03-HIGHZONE",)))
    dead_port = _free_port()  # nobody listens there
    sender = OutboxSender(world.notices_store, {
        EMAIL: SmtpChannel("127.0.0.1", dead_port, "n@waterops.invalid", timeout_s=2),
        LOG: LogChannel()}, clock=world.clock, max_attempts=2, first_retry_s=10)
    assert sender.drain().retried == 1
    world.clock.advance(seconds=11)
    assert sender.drain().failed == 1
    mail = next(m for m in world.notices_store.messages() if m.channel == EMAIL)
    assert mail.failed_at is not None and mail.sent_at is None and mail.attempts == 2
    assert f"SMTP 127.0.0.1:{dead_port}" in mail.last_error


def test_a_crash_between_writing_and_sending_loses_nothing(
        request: pytest.FixtureRequest, tmp_path: Path,
        sms_gateway: tuple[str, type[_Gateway]]) -> None:
    """A separate process issues a notice and dies (os._exit) before any sending; a new
    sender started afterwards delivers every message once."""
    url, gateway = sms_gateway
    db = tmp_path / "crash.db"
    world = open_world(_Param(request, "sqlite"), str(db))
    world.notices_store.upsert_contacts([
        Contact(f"C{i:05d}", "JUNCTION-534", None, None, f"1390000{i:04d}") for i in range(5)])
    world.user("disp.li", Role.DISPATCHER)
    world.accounts.close()
    script = f"""
import os
from datetime import datetime, timedelta, timezone
from waterops.model.notices import NoticeKind
from waterops.service.notices import NoticeRequest, NoticeService
from waterops.store.accounts_store import AccountsStore
from waterops.store.notices_store import NoticesStore
from waterops.model.utility import UtilityLayout
accounts = AccountsStore.open("sqlite:///{db}")
user, _ = accounts.credentials("disp.li")
layout = UtilityLayout("x", "x", None, (), (), None, (), (), (), (), ())  # no layout customers
start = datetime.now(timezone.utc) + timedelta(hours=30)
NoticeService(NoticesStore(accounts.engine), layout).issue(user, NoticeRequest(
    NoticeKind.PLANNED, "Jinhua Road", "valve works", start, start + timedelta(hours=2),
    ("JUNCTION-534",)))
os._exit(9)  # the process dies before the outbox is drained
"""
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    reopened = open_world(_Param(request, "sqlite"), str(db))
    store = reopened.notices_store
    pending = store.messages(pending=True)
    assert len(pending) == 5
    sender = OutboxSender(store, {SMS: SmsGatewayChannel(url)}, clock=reopened.clock)
    reopened.clock.now = datetime.now(UTC)  # the notice was written at the real time
    assert sender.drain().sent == 5
    assert sorted(m["to"] for m in gateway.received) == [f"1390000{i:04d}" for i in range(5)]
    assert store.messages(pending=True) == []
    assert sender.drain().attempted == 0  # sent once, not again
    reopened.accounts.close()


class _Param:
    """A stand-in for ``request`` choosing the backend of :func:`open_world`."""

    def __init__(self, request: pytest.FixtureRequest, param: str) -> None:
        self.param = param
        self.getfixturevalue = request.getfixturevalue


def test_one_migration_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate._config()).get_heads()
    assert heads == [migrate.head_revision()] and len(heads) == 1


MY_TABLES = {"complaints", "complaint_events", "complaint_callbacks", "complaint_surveys",
             "customer_contacts", "notices", "notice_targets", "outbox"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0005_down_and_up_again(backend: str, request: pytest.FixtureRequest,
                                tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command

    from waterops.store.engine import create_store_engine

    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'r0005.db'}", None
    else:
        url, schema = request.getfixturevalue("postgres_schema")
    engine = create_store_engine(url, schema=schema)
    try:
        migrate.upgrade(engine, schema, "0005")
        assert set(sa.inspect(engine).get_table_names(schema=schema)) >= MY_TABLES
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn, schema), "0004")
        tables = set(sa.inspect(engine).get_table_names(schema=schema))
        assert not MY_TABLES & tables and "users" in tables
        migrate.upgrade(engine, schema, "0005")
        assert set(sa.inspect(engine).get_table_names(schema=schema)) >= MY_TABLES
    finally:
        engine.dispose()


def test_complaint_replies_through_the_outbox_reach_the_mailbox(
        world: World, smtp_server: tuple[int, _Inbox]) -> None:
    """The port's outbox adapter: the reply to a complaint is queued, then e-mailed."""
    from waterops.model.complaints import Channel, ComplaintCategory
    from waterops.service.complaints import ComplaintForm
    from waterops.service.notifications import OutboxNotifier

    port, inbox = smtp_server
    world.complaints.notifier = OutboxNotifier(world.notices_store, world.accounts)
    customer = world.user("mail.customer", Role.HOUSEHOLD_CUSTOMER)
    complaint = world.complaints.file(customer, ComplaintForm(
        Channel.WEB, ComplaintCategory.LEAK, node_id="JUNCTION-534"))
    queued = world.notices_store.messages(pending=True)
    assert [(m.channel, m.address, m.notice_id) for m in queued] == [
        (EMAIL, "mail.customer@example.org", None)]
    sender = OutboxSender(world.notices_store, {
        EMAIL: SmtpChannel("127.0.0.1", port, "service@waterops.invalid")}, clock=world.clock)
    assert sender.drain().sent == 1
    assert inbox.messages[0]["Subject"] == f"Complaint {complaint.id} received"
