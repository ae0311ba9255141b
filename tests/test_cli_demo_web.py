"""``waterops demo`` serves the operations centre: the simulator and the twin run in a thread,
uvicorn serves pages and API in the same process, the demo accounts are printed and the
enterprise customer has its enterprise; an incident injected over HTTP reaches the simulator's
ground truth."""

from __future__ import annotations

import csv
import os
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from waterops.cli.main import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_demo_serves_the_operations_centre_and_takes_incidents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(main(
        ["demo", "--for", "1h", "--speed", "600", "--port", str(port), "--seed", "3",
         "--incidents-per-day", "0"])))
    runner.start()
    out = ""
    deadline = time.monotonic() + 120
    while "Ctrl-C stops" not in out:
        assert runner.is_alive() and time.monotonic() < deadline, out
        out += capsys.readouterr().out
        time.sleep(0.2)
    assert f"http://127.0.0.1:{port}/" in out
    while True:  # uvicorn listens a moment after the banner
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    accounts = dict(re.findall(r"^\s+\w+\s+(demo-[a-z]+)\s+(\S+)$", out, flags=re.M))
    assert len(accounts) == 8 and len(set(accounts.values())) == 8
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={
            "username": "demo-dispatcher", "password": accounts["demo-dispatcher"]})
        assert login.status_code == 200, login.text
        staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert client.get("/ops").status_code == 200
        made = client.post("/api/v1/incidents", headers=staff,
                           json={"type": "pipe_burst", "element": "JUNCTION-75", "size": 0.002})
        assert made.status_code == 201, made.text
        customer = client.post("/api/v1/auth/login", json={
            "username": "demo-household", "password": accounts["demo-household"]}).json()
        assert client.get("/api/v1/alarms", headers={
            "Authorization": f"Bearer {customer['access_token']}"}).status_code == 403
        # the enterprise customer sees its park enterprise and advice from its meter's history
        assert "E00072" in out
        plant = client.post("/api/v1/auth/login", json={
            "username": "demo-enterprise", "password": accounts["demo-enterprise"]}).json()
        plant_auth = {"Authorization": f"Bearer {plant['access_token']}"}
        theirs = client.get("/api/v1/enterprises", headers=plant_auth).json()["items"]
        assert [e["account_id"] for e in theirs] == ["E00072"]
        advice = client.get(f"/api/v1/enterprises/{theirs[0]['id']}/advice", headers=plant_auth)
        assert advice.status_code == 200, advice.text
        assert advice.json()["items"]
        state = client.get("/api/v1/twin/state", headers=staff)
        while state.status_code == 409 and time.monotonic() < deadline:  # before its update
            time.sleep(0.1)
            state = client.get("/api/v1/twin/state", headers=staff)
        assert state.status_code == 200, state.text
    runner.join(timeout=120)
    assert codes == [0]
    truth = Path(os.environ["WATEROPS_DATA_DIR"]) / "demo" / "incidents.csv"
    with truth.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["type"], r["element"], r["size"]) for r in rows] == [
        ("pipe_burst", "JUNCTION-75", "0.002")]
