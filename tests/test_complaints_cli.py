"""``waterops complaints`` and ``waterops notices`` on a real SQLite store: list, callbacks due,
and the outbox drained to a local SMS gateway; a bad gateway URL is one line and exit code 2."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from complaints_world import World, open_world
from waterops.cli.main import main
from waterops.model.accounts import Role
from waterops.model.complaints import Channel, ComplaintCategory
from waterops.model.notices import NoticeKind
from waterops.service.complaints import ComplaintForm
from waterops.service.notices import NoticeRequest
from waterops.store.notices_store import Contact


class _Param:
    param = "sqlite"


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[tuple[World, str]]:
    db = tmp_path / "cli.db"
    w = open_world(_Param(), str(db))  # type: ignore[arg-type]
    w.clock.now = datetime.now(UTC)  # the CLI reads the real clock
    yield w, f"sqlite:///{db}"
    w.accounts.close()


@pytest.fixture()
def gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/send", received
    server.shutdown()
    server.server_close()


def test_list_and_callbacks(world: tuple[World, str], capsys: pytest.CaptureFixture[str]
                            ) -> None:
    w, url = world
    customer = w.user("cli.customer", Role.HOUSEHOLD_CUSTOMER)
    c = w.complaints.file(customer, ComplaintForm(Channel.WEB, ComplaintCategory.NO_WATER,
                                                  node_id="JUNCTION-1"))
    assert main(["complaints", "list", "--database", url]) == 0
    out = capsys.readouterr().out
    assert f"{c.id}\t" in out and "no_water\treplied\tJUNCTION-1" in out
    assert out.strip().endswith("1 of 1 complaint")
    assert main(["complaints", "callbacks", "--database", url]) == 0
    assert f"complaint {c.id}\t" in capsys.readouterr().out


def test_send_pending_drains_the_outbox(world: tuple[World, str],
                                        gateway: tuple[str, list[dict[str, Any]]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    w, url = world
    sms_url, received = gateway
    w.notices_store.upsert_contacts([Contact("H1", "JUNCTION-534", None, None, "13900000009")])
    start = w.clock() + timedelta(hours=25)
    w.notices.issue(w.user("cli.disp", Role.DISPATCHER), NoticeRequest(
        NoticeKind.PLANNED, "Jinhua Road", "valve works", start, start + timedelta(hours=2),
        ("JUNCTION-534",)))
    assert main(["notices", "send-pending", "--database", url]) == 0
    assert "sent 1, to retry 0" in capsys.readouterr().out  # the public posting (log)
    assert w.notices_store.messages(pending=True)[0].channel == "sms"  # waits for a gateway
    assert main(["notices", "send-pending", "--sms-url", sms_url, "--database", url]) == 0
    assert "sent 1, to retry 0, failed 0" in capsys.readouterr().out
    assert received[0]["to"] == "13900000009"
    assert main(["notices", "list", "--database", url]) == 0
    assert "planned" in capsys.readouterr().out
    assert main(["notices", "send-pending", "--sms-url", "ftp://x", "--database", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["waterops: error: SMS gateway URL 'ftp://x' must start with http:// or "
                   "https://"]
