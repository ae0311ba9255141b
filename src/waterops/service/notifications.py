"""The notification port's delivery channels and the outbox sender.

:mod:`waterops.service.connections` declares the port (:class:`Notifier`, one
:class:`Notification` to one user) and its log adapter. This module adds what sends
messages to *addresses* — a :class:`Channel` per medium:

- :class:`LogChannel` writes a line to the ``waterops.notifications`` log;
- :class:`SmtpChannel` sends an e-mail through an SMTP server (:mod:`smtplib`);
- :class:`SmsGatewayChannel` posts to an SMS gateway over HTTP (JSON ``{"to", "text"}``,
  the shape of most Chinese SMS platforms' simple APIs; the URL is a setting);

and the :class:`OutboxSender`, which drains the outbox table
(:mod:`waterops.store.notices_store`) with retries and exponential back-off: a message is sent
at least once, or, after ``max_attempts`` failures, marked failed with the last error so an
operator sees it. Messages are written to the outbox in the transaction of what caused them
(a notice), so a crash between writing and sending loses nothing.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import httpx

from waterops.errors import ConfigError, NotificationError
from waterops.service.auth import Clock, utc_now
from waterops.service.connections import Notification
from waterops.store.accounts_store import AccountsStore
from waterops.store.notices_store import NewMessage, NoticesStore, OutboxMessage

log = logging.getLogger(__name__)

LOG, EMAIL, SMS = "log", "email", "sms"
"""Channel names, as stored in the outbox."""


class Channel(Protocol):
    """One way of delivering a message to an address."""

    def deliver(self, address: str, subject: str, body: str) -> None:
        """Deliver, or raise :class:`NotificationError` (the outbox retries)."""


class LogChannel:
    """Messages as INFO lines of ``waterops.notifications`` (a utility without e-mail/SMS)."""

    def __init__(self) -> None:
        self._log = logging.getLogger("waterops.notifications")
        self.delivered = 0

    def deliver(self, address: str, subject: str, body: str) -> None:
        """Write the message to the log."""
        self._log.info("to %s: %s — %s", address, subject, body)
        self.delivered += 1


class SmtpChannel:
    """E-mail through an SMTP server.

    Parameters
    ----------
    host, port : the SMTP server
    sender : the From address
    timeout_s : connection and command timeout [s]
    starttls : upgrade the connection with STARTTLS before sending
    username, password : SMTP login, if the server asks for one
    """

    def __init__(self, host: str, port: int, sender: str, *, timeout_s: float = 10.0,
                 starttls: bool = False, username: str | None = None,
                 password: str | None = None) -> None:
        if not host or not 0 < port < 65536:
            raise ConfigError(f"SMTP server {host!r}:{port} is not a host and port")
        self.host, self.port, self.sender = host, port, sender
        self.timeout_s = timeout_s
        self.starttls = starttls
        self.username, self.password = username, password

    def deliver(self, address: str, subject: str, body: str) -> None:
        """Send one e-mail (UTF-8, so zh-CN text arrives intact)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(EMAIL, address,
                                    f"SMTP {self.host}:{self.port}: {exc}") from exc


class SmsGatewayChannel:
    """SMS through an HTTP gateway: ``POST url`` with JSON ``{"to": phone, "text": …}``.

    Parameters
    ----------
    url : the gateway's send endpoint
    token : bearer token of the gateway account, if any
    timeout_s : request timeout [s]
    max_chars : longest text sent [characters] (longer ones are cut: the gateway splits
        messages of 70 Chinese characters into parts, billed each)
    """

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 10.0,
                 max_chars: int = 300) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"SMS gateway URL {url!r} must start with http:// or https://")
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.max_chars = max_chars

    def deliver(self, address: str, subject: str, body: str) -> None:
        """Post one SMS; a status other than 2xx is a failure."""
        headers = {} if self.token is None else {"Authorization": f"Bearer {self.token}"}
        text = f"【{subject}】{body}"[: self.max_chars]
        try:
            response = httpx.post(self.url, json={"to": address, "text": text},
                                  headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise NotificationError(SMS, address, f"gateway {self.url}: {exc}") from exc
        if not response.is_success:
            raise NotificationError(SMS, address, f"gateway {self.url} answered "
                                                  f"{response.status_code}: {response.text[:200]}")


class OutboxNotifier:
    """The notification port's outbox adapter: a :class:`Notification` to a user becomes an
    outbox message — e-mail to the account's address, else a log line — sent by the
    :class:`OutboxSender` with retries, so a failing SMTP server delays it but loses nothing.

    The message is queued right after the change it reports was committed (the port is called
    after the commit), in a transaction of its own.
    """

    def __init__(self, store: NoticesStore, accounts: AccountsStore) -> None:
        self.store = store
        self.accounts = accounts

    def send(self, notification: Notification) -> None:
        """Queue ``notification`` in the outbox."""
        email = self.accounts.user(notification.recipient_id).email
        channel, address = (EMAIL, email) if email else (LOG, f"user:{notification.recipient_id}")
        self.store.enqueue([NewMessage(channel, address, notification.subject,
                                       notification.body)], notification.at)


@dataclass(frozen=True)
class DrainReport:
    """What one pass over the outbox did."""

    sent: int
    retried: int
    failed: int

    @property
    def attempted(self) -> int:
        """Messages tried in this pass."""
        return self.sent + self.retried + self.failed


class OutboxSender:
    """Drains the outbox: claims due messages, delivers each through its channel, marks it.

    Parameters
    ----------
    store : the notices store holding the outbox
    channels : channel name (``log``, ``email``, ``sms``) -> channel
    clock : the current time
    max_attempts : failures after which a message is marked failed
    first_retry_s : wait after the first failure [s]; doubled after each further one
    lease_s : how long a claimed message is hidden from other drainers [s]
    """

    def __init__(self, store: NoticesStore, channels: Mapping[str, Channel], *,
                 clock: Clock = utc_now, max_attempts: int = 5, first_retry_s: float = 30.0,
                 lease_s: float = 300.0) -> None:
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be >= 1, not {max_attempts}")
        self.store = store
        self.channels = dict(channels)
        self.clock = clock
        self.max_attempts = max_attempts
        self.first_retry_s = first_retry_s
        self.lease_s = lease_s

    def drain(self, limit: int = 500) -> DrainReport:
        """Send every due message (up to ``limit``) once; failures are scheduled for retry."""
        now = self.clock()
        sent = retried = failed = 0
        # a message of a channel this sender lacks waits for a sender that has it
        lease = now + timedelta(seconds=self.lease_s)
        for message in self.store.claim(now, lease, limit, self.channels):
            outcome = self._send(message)
            if outcome == "sent":
                sent += 1
            elif outcome == "retry":
                retried += 1
            else:
                failed += 1
        return DrainReport(sent, retried, failed)

    def _send(self, message: OutboxMessage) -> str:
        channel = self.channels.get(message.channel)
        try:
            if channel is None:
                raise NotificationError(message.channel, message.address,
                                        "no such channel is configured")
            channel.deliver(message.address, message.subject, message.body)
        except NotificationError as exc:
            now = self.clock()
            give_up = message.attempts >= self.max_attempts
            retry_at = None if give_up else self._retry_at(now, message.attempts)
            self.store.mark_failed(message.id, str(exc), retry_at, now)
            log.warning("outbox message %d (attempt %d): %s", message.id, message.attempts, exc)
            return "failed" if give_up else "retry"
        self.store.mark_sent(message.id, self.clock())
        return "sent"

    def _retry_at(self, now: datetime, attempts: int) -> datetime:
        return now + timedelta(seconds=self.first_retry_s * 2 ** max(0, attempts - 1))
