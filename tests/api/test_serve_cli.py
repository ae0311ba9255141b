"""``waterops users create-admin`` and ``waterops serve``: the first administrator from the
command line (password from stdin or the environment, never a default), then the API served by
uvicorn in a child process and used over real HTTP."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from waterops.cli.main import main
from waterops.store.accounts_store import AccountsStore

PASSWORD = "a long admin password"


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", url)
    return url


def test_create_admin_from_the_environment(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEROPS_ADMIN_PASSWORD", PASSWORD)
    assert main(["users", "create-admin", "chief"]) == 0
    assert "administrator 'chief' created" in capsys.readouterr().out
    store = AccountsStore.open(database)
    try:
        found = store.credentials("chief")
        assert found is not None and found[0].role == "administrator"
        assert found[1].startswith("$argon2id$")
    finally:
        store.close()
    # a second one with the same name: one line, exit code 2
    assert main(["users", "create-admin", "chief"]) == 2
    assert "taken" in capsys.readouterr().err


def test_create_admin_from_stdin_and_refusals(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WATEROPS_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "create-admin", "chief"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["users", "create-admin", "deputy"]) == 2
    assert "no password" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["users", "create-admin", "deputy"]) == 2
    assert "10-256 characters" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture()
def served(database: str, tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "WATEROPS_ADMIN_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "waterops", "users", "create-admin", "chief"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "waterops", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # until it listens (bounded; not a timing assertion)
            try:
                httpx.get(f"{base}/openapi.json", timeout=1.0)
                break
            except httpx.TransportError:
                if child.poll() is not None:
                    break
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)
        log.close()


def test_serve_answers_over_http(served: str) -> None:
    spec = httpx.get(f"{served}/openapi.json", timeout=10.0).json()
    assert "/api/v1/connections" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]
    login = httpx.post(
        f"{served}/api/v1/auth/login",
        timeout=10.0,
        json={"username": "chief", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    me = httpx.get(
        f"{served}/api/v1/auth/me", timeout=10.0, headers={"Authorization": f"Bearer {token}"}
    )
    assert me.json()["role"] == "administrator"
    missing = httpx.get(f"{served}/api/v1/nothing-here", timeout=10.0)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_serve_with_a_bad_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEROPS_DATABASE_URL", "mysql://nobody@127.0.0.1/none")
    assert main(["serve", "--port", "1"]) == 2
    assert "unsupported database" in capsys.readouterr().err
