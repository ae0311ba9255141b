"""``waterops complaints`` and ``waterops notices``: complaints, callbacks due, outage notices
and the outbox sender from the server's command line.

``waterops notices send-pending`` drains the outbox once (run it from cron or a systemd timer
every minute): e-mail through ``--smtp-host``/``--smtp-port``, SMS through ``--sms-url``
(both also from the environment), everything else to the log. A message whose channel is not
configured stays in the outbox and is retried on the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from waterops.model.complaints import ComplaintState
from waterops.service.notifications import (
    EMAIL,
    LOG,
    SMS,
    Channel,
    LogChannel,
    OutboxSender,
    SmsGatewayChannel,
    SmtpChannel,
)
from waterops.store.accounts_store import AccountsStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.notices_store import NoticesStore

_DATABASE = typer.Option(
    None, "--database", help="database URL (default: WATEROPS_DATABASE_URL or the data dir)")


def register(app: typer.Typer) -> None:
    """Add the ``complaints`` and ``notices`` command groups to ``app``."""
    complaints = typer.Typer(help="Complaints and repair requests (投诉/报修).",
                             no_args_is_help=True)
    notices = typer.Typer(help="Outage notices (停水通知) and their outbox.",
                          no_args_is_help=True)

    @complaints.command("list")
    def list_complaints(
        state: ComplaintState | None = typer.Option(None, "--state", help="only this state"),
        limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="newest N"),
        database: str | None = _DATABASE,
    ) -> None:
        """Complaints, newest first: id, received (UTC), category, state, node, diagnosis."""
        accounts = AccountsStore.open(database)
        try:
            items, total = ComplaintsStore(accounts.engine).complaints(state=state, limit=limit)
        finally:
            accounts.close()
        for c in items:
            typer.echo(f"{c.id}\t{c.received_at:%Y-%m-%d %H:%M}\t{c.category.value}\t"
                       f"{c.state.value}\t{c.node_id or '-'}\t{c.diagnosis_en}")
        typer.echo(f"{len(items)} of {total} complaint{'s' if total != 1 else ''}")

    @complaints.command("callbacks")
    def callbacks(database: str | None = _DATABASE) -> None:
        """Callback tasks not done yet, the most urgent first (OVERDUE when past due)."""
        accounts = AccountsStore.open(database)
        try:
            tasks = ComplaintsStore(accounts.engine).open_callbacks()
        finally:
            accounts.close()
        now = datetime.now(UTC)
        for t in tasks:
            late = "OVERDUE" if t.due_at < now else "due"
            typer.echo(f"complaint {t.complaint_id}\t{late} {t.due_at:%Y-%m-%d %H:%M:%S} UTC")
        typer.echo(f"{len(tasks)} callback{'s' if len(tasks) != 1 else ''} open")

    @notices.command("send-pending")
    def send_pending(
        smtp_host: str | None = typer.Option(None, "--smtp-host", envvar="WATEROPS_SMTP_HOST",
                                             help="SMTP server for e-mail"),
        smtp_port: int = typer.Option(25, "--smtp-port", envvar="WATEROPS_SMTP_PORT",
                                      min=1, max=65535),
        smtp_from: str = typer.Option("notices@waterops.invalid", "--smtp-from",
                                      envvar="WATEROPS_SMTP_FROM", help="From address"),
        sms_url: str | None = typer.Option(None, "--sms-url", envvar="WATEROPS_SMS_URL",
                                           help="SMS gateway send URL"),
        limit: int = typer.Option(500, "--limit", min=1, max=100_000,
                                  help="messages at most in this run"),
        database: str | None = _DATABASE,
    ) -> None:
        """Send the due messages of the outbox once, with retries scheduled for failures."""
        channels: dict[str, Channel] = {LOG: LogChannel()}
        if smtp_host:
            channels[EMAIL] = SmtpChannel(smtp_host, smtp_port, smtp_from)
        if sms_url:
            channels[SMS] = SmsGatewayChannel(sms_url)
        accounts = AccountsStore.open(database)
        try:
            report = OutboxSender(NoticesStore(accounts.engine), channels).drain(limit)
        finally:
            accounts.close()
        typer.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}")

    @notices.command("list")
    def list_notices(
        limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="newest N"),
        database: str | None = _DATABASE,
    ) -> None:
        """Notices, latest stop first: id, kind, start and end (UTC), area, customers."""
        accounts = AccountsStore.open(database)
        try:
            items, total = NoticesStore(accounts.engine).notices(limit=limit)
        finally:
            accounts.close()
        for n in items:
            typer.echo(f"{n.id}\t{n.kind.value}\t{n.starts_at:%Y-%m-%d %H:%M}\t"
                       f"{n.ends_at:%Y-%m-%d %H:%M}\t{n.area}\t{n.target_count} customers")
        typer.echo(f"{len(items)} of {total} notice{'s' if total != 1 else ''}")

    app.add_typer(complaints, name="complaints")
    app.add_typer(notices, name="notices")
