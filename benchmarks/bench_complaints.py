"""Complaint intake on the demo utility: time to a diagnosis, and to a stored, replied complaint.

Run: ``.venv/bin/python -m benchmarks.bench_complaints [--complaints 60] [--hours 24]
[--database URL]`` (default: SQLite in a temporary directory).

Set-up (not timed): the demo utility's 599 sensors with ``--hours`` of 5-minute readings each
in the store, a booster trip in pump room PR03 in the last 20 minutes, a live pump-room alarm
with its incident on PR02, and a planned-works notice on a DMA.

Timed, per complaint, in this process: :meth:`ComplaintService.file` — locate (node, account,
or nearest junction to coordinates), diagnose (pump-room readings of the last 3 h through the
pump-room detector, live alarms, notices at the node, latest pressure of the loggers near it),
and the one transaction writing the complaint, its history, callback task and group join.
The complaints rotate over pump-room high zones, account ids, DMA junctions and coordinates.

The **raw** baseline, interleaved in the same process, per complaint: the database reads the
diagnosis cannot do without — for a pump-room address the room's sensor readings over 3 h (one
query per sensor), and for every complaint the latest values of the DMA's pressure loggers —
with no detector, no text and no write.
Target (issue 7): the diagnosis ready "within seconds", the callback task logged at once.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from waterops.data import demo_network_path
from waterops.detection.pump_rooms import pump_room_sensors
from waterops.io.inp import read_inp
from waterops.model.accounts import Role
from waterops.model.alarms import AlarmSignal, Severity
from waterops.model.complaints import Channel, ComplaintCategory
from waterops.model.notices import NoticeKind
from waterops.model.telemetry import Quantity, Reading
from waterops.service.alarms import AlarmService
from waterops.service.complaints import ComplaintForm, ComplaintService, Diagnoser, NetworkLocator
from waterops.service.notices import NoticeRequest, NoticeService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.accounts_store import AccountsStore
from waterops.store.alarms_store import AlarmStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.engine import resolve_url
from waterops.store.notices_store import NoticesStore
from waterops.store.telemetry_store import TelemetryStore

NOW = datetime(2026, 11, 23, 2, 20, tzinfo=UTC)
STEP_S = 300


def _fill(telemetry: TelemetryStore, sensors: list[str], hours: int) -> int:
    naive = NOW.replace(tzinfo=None)  # numpy datetime64 is UTC by convention
    times = np.arange(np.datetime64(naive - timedelta(hours=hours), "s"),
                      np.datetime64(naive, "s") + 1, STEP_S).astype("datetime64[us]")
    rng = np.random.default_rng(1)
    n = 0
    for sensor_id in sensors:
        values = 30.0 + rng.normal(0.0, 0.3, len(times))
        n += telemetry.write_reading_arrays(sensor_id, times, values)
    return n


def _trip(telemetry: TelemetryStore, room_sensors: list[str], building: str) -> None:
    batch = []
    t = NOW - timedelta(minutes=20)
    while t <= NOW:
        for s in room_sensors:
            value = 4.0 if s == building else (0.0 if s.startswith(("S-", "Q-")) else 2.5)
            batch.append(Reading(s, t, value))
        t += timedelta(minutes=1)
    telemetry.write_readings(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=60)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--database", default=None,
                        help="PostgreSQL URL (default: SQLite in a temporary directory); a "
                             "schema of its own is created and dropped")
    args = parser.parse_args()
    if args.database:
        schema = f"bench_complaints_{os.getpid()}"
        try:
            run(args.database, args.complaints, args.hours, schema)
        finally:
            engine = sa.create_engine(resolve_url(args.database))
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            engine.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.complaints, args.hours)


def run(url: str, count: int, hours: int, schema: str | None = None) -> None:
    layout = build_demo_utility()
    xy = read_inp(demo_network_path()).coordinates
    accounts = AccountsStore.open(url, schema=schema)
    engine = accounts.engine
    telemetry = TelemetryStore(engine, schema=schema)
    telemetry.upsert_systems(layout.systems)
    telemetry.upsert_sites(layout.sites)
    telemetry.upsert_sensors(layout.sensors)
    written = _fill(telemetry, [s.id for s in layout.sensors], hours)
    rooms = {r.room_id: r for r in pump_room_sensors(layout)}
    pr03 = rooms["PR03"]
    _trip(telemetry, list(pr03.all_sensors), pr03.building_pressure)
    alarms = AlarmStore(engine)
    AlarmService(alarms).report(AlarmSignal(
        "pump_room_low_pressure", "PR02", "pressure>=14.3", True, NOW - timedelta(minutes=9),
        Severity.MAJOR, group_key="pump_room:PR02", value=3.0, unit="m",
        message="Booster of pump room 2 stopped at 10:11", message_zh="2号泵房增压泵10:11停机"))
    notices_store = NoticesStore(engine)
    dma = layout.dmas[3]
    clock = lambda: NOW  # noqa: E731 - the instant the data were written for
    NoticeService(notices_store, layout, clock=clock).issue(
        accounts.create_user("bench.disp", "x", Role.DISPATCHER, at=NOW),
        NoticeRequest(NoticeKind.UNPLANNED, dma.id, "burst", NOW - timedelta(minutes=30),
                      NOW + timedelta(hours=2), dmas=(dma.id,)))
    service = ComplaintService(
        ComplaintsStore(engine), NetworkLocator(layout, xy),
        Diagnoser(layout, telemetry=telemetry, alarms=alarms, notices=notices_store),
        notices=notices_store, clock=clock)
    agent = accounts.create_user("bench.agent", "x", Role.SERVICE_AGENT, at=NOW)
    forms = _forms(layout, xy)

    served = {r.served_node: r.id for r in layout.pump_rooms}

    def raw(form: ComplaintForm) -> None:
        room = served.get(form.node_id or "")
        if room is not None:
            for s in rooms[room].all_sensors:
                telemetry.readings(s, NOW - timedelta(hours=3), NOW)
        near = [s.id for s in layout.sensors if s.quantity is Quantity.PRESSURE
                and s.element_id in (dma.pressure_node, dma.critical_node)]
        telemetry.latest(near)

    diag_s, file_s, raw_s = [], [], []
    for i in range(count):
        t = time.perf_counter()
        raw(forms[i % len(forms)])
        raw_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        complaint = service.file(agent, forms[i % len(forms)])
        file_s.append(time.perf_counter() - t)
        diag_s.append(complaint.diagnosis_s or 0.0)
    accounts.close()

    def row(name: str, xs: list[float]) -> str:
        p95 = sorted(xs)[max(0, int(0.95 * len(xs)) - 1)]
        return (f"{name:<40}{1000 * statistics.median(xs):>10.1f}{1000 * p95:>10.1f}"
                f"{statistics.median(xs) / statistics.median(raw_s):>8.1f}")

    backend = url.split(":", 1)[0]
    print(f"demo utility: {len(layout.sensors)} sensors, {written} readings ({hours} h at "
          f"5 min) in {backend}; {count} complaints")
    print(f"{'what':<40}{'median ms':>10}{'p95 ms':>10}{'x raw':>8}")
    print(row("raw reads (room 3 h + loggers latest)", raw_s))
    print(row("diagnosis (locate excluded)", diag_s))
    print(row("complaint filed (locate+diagnose+write)", file_s))
    worst = max(file_s)
    print(f"slowest complaint filed: {1000 * worst:.0f} ms; target: diagnosis within "
          f"seconds, callback task at once -> {'met' if worst < 5 else 'NOT met'}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")


def _forms(layout: object, xy: object) -> list[ComplaintForm]:
    from waterops.model.utility import UtilityLayout

    assert isinstance(layout, UtilityLayout)
    lp = ComplaintCategory.LOW_PRESSURE
    forms = [ComplaintForm(Channel.PHONE, lp, node_id=r.served_node) for r in layout.pump_rooms]
    forms += [ComplaintForm(Channel.PHONE, ComplaintCategory.NO_WATER, account_id=c.account_id)
              for c in layout.customers[::700]]
    forms += [ComplaintForm(Channel.PHONE, lp, node_id=d.critical_node) for d in layout.dmas]
    coords = xy.loc[[d.pressure_node for d in layout.dmas[:4]]]  # type: ignore[attr-defined]
    forms += [ComplaintForm(Channel.PHONE, lp, x_m=float(x) + 3.0, y_m=float(y) - 2.0)
              for x, y in zip(coords["x"], coords["y"], strict=True)]
    return forms


if __name__ == "__main__":
    main()
