"""What the portal's browser tests share: a customer logged in on the page (with the account's
id), staff acting through the HTTP API as the operations centre would, a small PDF made here,
and the low-pressure telemetry of a pump room whose booster tripped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from waterops.model.accounts import Role
from web.conftest import WebServer, log_in

LOW_PRESSURE_ROOM = "PR04"
"""The demo utility's pump room whose booster trips in the complaint test."""


@dataclass(frozen=True)
class Customer:
    """A customer account logged in on a page."""

    username: str
    password: str
    user_id: int


def user_id(web_server: WebServer, username: str) -> int:
    found = web_server.services.accounts.credentials(username)
    assert found is not None, username
    return int(found[0].id)


def portal_login(page: Any, web_server: WebServer, role: Role | str = Role.HOUSEHOLD_CUSTOMER,
                 *, lang: str = "en") -> Customer:
    """A new customer of ``role`` logged in through the log-in page, landed on the portal."""
    username, password = web_server.user(role)
    log_in(page, web_server.base_url, username, password, lang=lang)
    page.wait_for_url(re.compile(r"/portal"))
    page.wait_for_selector("html[data-i18n-ready]", state="attached")  # texts in place
    page.locator("#view h2").first.wait_for()
    return Customer(username, password, user_id(web_server, username))


@contextmanager
def staff(web_server: WebServer, role: Role | str) -> Iterator[httpx.Client]:
    """An HTTP client of the API logged in as a new staff member of ``role``."""
    username, password = web_server.user(role)
    with httpx.Client(base_url=f"{web_server.base_url}/api/v1", timeout=30) as client:
        answer = client.post("/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


@contextmanager
def customer_api(web_server: WebServer, customer: Customer) -> Iterator[httpx.Client]:
    """An HTTP client of the API logged in as ``customer`` (to set up records quickly)."""
    with httpx.Client(base_url=f"{web_server.base_url}/api/v1", timeout=30) as client:
        answer = client.post("/auth/login", json={"username": customer.username,
                                                   "password": customer.password})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


def small_pdf(title: str = "Property certificate") -> bytes:
    """A one-page PDF with ``title`` on it, with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def seed_booster_trip(web_server: WebServer, room_id: str = LOW_PRESSURE_ROOM) -> datetime:
    """Minute readings of ``room_id`` whose booster stopped 12 minutes ago (building pressure
    4 m, pumps off; city feed and neighbours normal), as the complaint diagnosis reads them.
    Answers the trip time (UTC)."""
    from complaints_world import demo, write_booster_trip
    from waterops.store.telemetry_store import TelemetryStore

    layout, _ = demo()
    telemetry = TelemetryStore(web_server.services.accounts.engine)
    telemetry.upsert_systems(layout.systems)
    telemetry.upsert_sites(layout.sites)
    telemetry.upsert_sensors(layout.sensors)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    trip_at = now - timedelta(minutes=12)
    write_booster_trip(telemetry, layout, room_id, trip_at, now)
    return trip_at
