"""The telemetry store: assets, sensors, readings, dead letters, rollups, in SQLite or PostgreSQL.

One :class:`TelemetryStore` per process, opened by URL::

    store = TelemetryStore.open()                      # WATEROPS_DATABASE_URL or the data dir
    store.upsert_systems([WaterSystem("city", "City network")])
    store.upsert_sensors([Sensor("P-101", "city", Quantity.PRESSURE, element_id="J-12")])
    store.write_readings([Reading("P-101", datetime(2026, 5, 1, tzinfo=UTC), 31.2)])
    store.resample("P-101", start, end, every_s=900)

Every write is one transaction: a batch is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

from waterops.errors import PayloadError, StoreError, UnknownSensorError
from waterops.model.telemetry import (
    SI_UNIT,
    QualityFlag,
    Quantity,
    Reading,
    Sensor,
    Site,
    SiteKind,
    WaterSystem,
)
from waterops.store import bulk, migrate, queries, retention
from waterops.store.engine import WRITE_OPTION, create_store_engine, resolve_url
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.tables import dead_letters, readings, rollups, sensors, sites, water_systems
from waterops.store.timecodes import US_PER_S, from_us, times_to_us, to_us, us_to_index

RESAMPLE_COLUMNS = ("time", "mean", "min", "max", "count")


class TelemetryStore:
    """Repository of telemetry: use :meth:`open`, then the methods below; :meth:`close` at the end.

    Parameters
    ----------
    engine : SQLAlchemy engine made by :func:`waterops.store.engine.create_store_engine`
    schema : PostgreSQL schema holding the tables (``None``: the default ``search_path``)
    """

    def __init__(self, engine: sa.Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._sensor_keys: dict[str, int] = {}  # stable id -> integer key; keys never change

    # -- life cycle ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str | None = None, *, schema: str | None = None, migrate_to_head: bool = True
    ) -> TelemetryStore:
        """Open the store at ``url`` (default: ``WATEROPS_DATABASE_URL`` or the data-dir file).

        Migrates the database to the newest schema unless ``migrate_to_head`` is false; then a
        database that is not at the newest revision is refused with a :class:`StoreError`.
        """
        engine = create_store_engine(resolve_url(url), schema=schema)
        try:
            if migrate_to_head:
                migrate.upgrade(engine, schema)
            else:
                current, head = migrate.current_revision(engine, schema), migrate.head_revision()
                if current != head:
                    raise StoreError(
                        f"the database {engine.url.render_as_string()} is at revision {current}, "
                        f"waterops needs {head}; run `waterops telemetry migrate`"
                    )
        except DATABASE_FAULTS as exc:
            engine.dispose()
            where = engine.url.render_as_string()
            raise StoreError(f"{where}: cannot open the store: {reason_of(exc)}") from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, schema=schema)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    # -- assets and sensors -------------------------------------------------------------------

    def _upsert(self, table: sa.Table, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(table)
        key = "id"
        update = {c: stmt.excluded[c] for c in rows[0] if c != key}
        stmt = stmt.on_conflict_do_update(index_elements=[table.c[key]], set_=update)
        with self._writer.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    @database_faults("store water systems")
    def upsert_systems(self, systems: Iterable[WaterSystem]) -> int:
        """Insert or update water systems (by id); returns how many were given."""
        return self._upsert(
            water_systems,
            [{"id": s.id, "name": s.name, "network_file": s.network_file} for s in systems],
        )

    @database_faults("store sites")
    def upsert_sites(self, site_list: Iterable[Site]) -> int:
        """Insert or update sites (by id); their water system must exist."""
        rows = [
            {"id": s.id, "system_id": s.system_id, "kind": SiteKind(s.kind).value,
             "name": s.name, "x": s.x, "y": s.y}
            for s in site_list
        ]
        try:
            return self._upsert(sites, rows)
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"cannot store sites: unknown water system ({exc.orig})") from exc

    @database_faults("store sensors")
    def upsert_sensors(self, sensor_list: Iterable[Sensor]) -> int:
        """Insert or update sensors (by stable id); a sensor keeps its key across updates."""
        rows = [
            {
                "id": s.id, "system_id": s.system_id, "quantity": Quantity(s.quantity).value,
                "unit": SI_UNIT[Quantity(s.quantity)], "site_id": s.site_id,
                "element_kind": s.element_kind, "element_id": s.element_id,
                "lower": s.lower, "upper": s.upper, "interval_s": s.interval_s,
                "name": s.name, "attributes": json.dumps(s.attributes, sort_keys=True),
            }
            for s in sensor_list
        ]
        try:
            return self._upsert(sensors, rows)
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"cannot store sensors: unknown water system or site ({exc.orig})"
            ) from exc

    @database_faults("read water systems")
    def systems(self) -> list[WaterSystem]:
        """All water systems, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(water_systems).order_by(water_systems.c.id)).all()
        return [WaterSystem(r.id, r.name, r.network_file) for r in rows]

    @database_faults("read sites")
    def sites(self, system_id: str | None = None) -> list[Site]:
        """Sites (of one water system, or all), by id."""
        query = sa.select(sites).order_by(sites.c.id)
        if system_id is not None:
            query = query.where(sites.c.system_id == system_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Site(r.id, r.system_id, SiteKind(r.kind), r.name, r.x, r.y) for r in rows]

    @database_faults("read sensors")
    def sensors(self, system_id: str | None = None) -> list[Sensor]:
        """Sensors (of one water system, or all), by id."""
        query = sa.select(sensors).order_by(sensors.c.id)
        if system_id is not None:
            query = query.where(sensors.c.system_id == system_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_sensor_from_row(r) for r in rows]

    @database_faults("read a sensor")
    def get_sensor(self, sensor_id: str) -> Sensor:
        """One sensor by its stable id; :class:`UnknownSensorError` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sensors).where(sensors.c.id == sensor_id)).first()
        if row is None:
            raise UnknownSensorError(sensor_id)
        return _sensor_from_row(row)

    def _keys_of(self, conn: sa.Connection, sensor_ids: Iterable[str]) -> dict[str, int]:
        """Integer keys of ``sensor_ids``; :class:`UnknownSensorError` naming an unknown one."""
        wanted = set(sensor_ids)
        missing = wanted.difference(self._sensor_keys)
        if missing:
            found = conn.execute(
                sa.select(sensors.c.id, sensors.c.key).where(sensors.c.id.in_(sorted(missing)))
            ).all()
            self._sensor_keys.update({r.id: int(r.key) for r in found})
            unknown = sorted(missing.difference(self._sensor_keys))
            if unknown:
                raise UnknownSensorError(unknown[0], len(unknown))
        return {s: self._sensor_keys[s] for s in wanted}

    # -- readings -----------------------------------------------------------------------------

    def write_readings(self, batch: Iterable[Reading]) -> int:
        """Store readings in one transaction; returns how many were new.

        A reading already stored (same sensor and time) is skipped, so re-sending a batch is
        harmless; order does not matter. An unknown sensor, a naive time or a non-finite value
        rejects the whole batch (nothing stored).
        """
        items = list(batch)
        return self.write_reading_arrays(
            np.array([r.sensor_id for r in items], dtype=object),
            np.array([to_us(r.time, what=f"reading of {r.sensor_id}") for r in items],
                     dtype=np.int64).astype("datetime64[us]"),
            np.array([r.value for r in items], dtype=np.float64),
            np.array([int(r.flags) for r in items], dtype=np.int64),
        )

    @database_faults("write readings")
    def write_reading_arrays(
        self,
        sensor_ids: str | Sequence[str] | npt.NDArray[Any] | pd.Series[Any],
        times: Any,
        values: Any,
        flags: Any = None,
    ) -> int:
        """Store columnar readings in one transaction; returns how many were new.

        Parameters
        ----------
        sensor_ids : one stable sensor id for all rows, or one per row
        times : datetime-like per row (numpy ``datetime64`` is taken as UTC)
        values : values in SI [unit of the sensor's quantity]
        flags : :class:`QualityFlag` bits per row (default: none)

        Raises
        ------
        UnknownSensorError
            naming the first unknown sensor; nothing is stored.
        PayloadError
            for arrays of different lengths, missing times or non-finite values.
        """
        times_us = times_to_us(times)
        value_arr = np.asarray(values, dtype=np.float64)
        n = len(times_us)
        flag_arr = np.zeros(n, dtype=np.int64) if flags is None else np.asarray(flags, np.int64)
        if isinstance(sensor_ids, str):
            id_arr = np.full(n, sensor_ids, dtype=object)
        else:
            id_arr = np.asarray(sensor_ids, dtype=object)
        if not (len(id_arr) == len(value_arr) == len(flag_arr) == n):
            raise PayloadError(
                "readings",
                f"arrays differ in length: {len(id_arr)} sensors, {n} times, "
                f"{len(value_arr)} values, {len(flag_arr)} flags",
            )
        _check_values(id_arr, times_us, value_arr, flag_arr)
        if n == 0:
            return 0
        with self._writer.begin() as conn:
            codes, uniques = pd.factorize(id_arr)
            keys_of = self._keys_of(conn, [str(u) for u in uniques])
            unique_keys = np.array([keys_of[str(u)] for u in uniques], dtype=np.int64)
            keys = unique_keys[codes]
            keys, times_us, value_arr, flag_arr = _sorted_first_of_each(
                keys, times_us, value_arr, flag_arr
            )
            return bulk.insert_readings(conn, keys, times_us, value_arr, flag_arr)

    @database_faults("read readings")
    def readings(
        self, sensor_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        """Raw readings of one sensor in [start, end): columns ``time``, ``value``, ``flags``."""
        with self.engine.connect() as conn:
            key = self._keys_of(conn, [sensor_id])[sensor_id]
            query = (
                sa.select(readings.c.time_us, readings.c.value, readings.c.flags)
                .where(readings.c.sensor_key == key)
                .order_by(readings.c.time_us)
            )
            if start is not None:
                query = query.where(readings.c.time_us >= to_us(start, what="start"))
            if end is not None:
                query = query.where(readings.c.time_us < to_us(end, what="end"))
            rows = conn.execute(query).all()
        arr = np.array([tuple(r) for r in rows], dtype=[("t", "i8"), ("v", "f8"), ("f", "i8")])
        return pd.DataFrame(
            {"time": us_to_index(arr["t"]), "value": arr["v"], "flags": arr["f"]}
        )

    @database_faults("set quality flags")
    def set_flags(self, sensor_id: str, times: Any, flags: Any) -> int:
        """Replace the quality flags of stored readings (the values are never touched).

        Returns the number of readings found and updated.
        """
        times_us = times_to_us(times)
        flag_arr = np.asarray(flags, dtype=np.int64)
        if len(flag_arr) != len(times_us):
            raise PayloadError(sensor_id, f"{len(times_us)} times but {len(flag_arr)} flags")
        with self._writer.begin() as conn:
            key = self._keys_of(conn, [sensor_id])[sensor_id]
            stmt = (
                sa.update(readings)
                .where(readings.c.sensor_key == sa.bindparam("k"))
                .where(readings.c.time_us == sa.bindparam("t"))
                .values(flags=sa.bindparam("f"))
            )
            params = [
                {"k": key, "t": t, "f": f}
                for t, f in zip(times_us.tolist(), flag_arr.tolist(), strict=True)
            ]
            if not params:
                return 0
            return max(conn.execute(stmt, params).rowcount, 0)

    # -- dead letters -------------------------------------------------------------------------

    @database_faults("keep dead letters")
    def add_dead_letters(
        self, letters: Iterable[tuple[str, str, str]], received_at: datetime | None = None
    ) -> int:
        """Keep rejected payloads: ``(source, payload text, reason)`` each; returns the count."""
        received_us = to_us(received_at or datetime.now(UTC), what="received_at")
        rows = [
            {"received_at_us": received_us, "source": s, "payload": p, "reason": r}
            for s, p, r in letters
        ]
        if rows:
            with self._writer.begin() as conn:
                conn.execute(sa.insert(dead_letters), rows)
        return len(rows)

    @database_faults("read dead letters")
    def dead_letters(self, limit: int | None = None) -> pd.DataFrame:
        """Dead letters, newest first: ``received_at``, ``source``, ``payload``, ``reason``."""
        query = sa.select(dead_letters).order_by(dead_letters.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(
            {
                "received_at": us_to_index([r.received_at_us for r in rows]),
                "source": [r.source for r in rows],
                "payload": [r.payload for r in rows],
                "reason": [r.reason for r in rows],
            }
        )

    @database_faults("count dead letters")
    def count_dead_letters(self) -> int:
        """How many payloads were rejected and kept."""
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(dead_letters)
            return int(conn.execute(query).scalar_one())

    # -- queries ------------------------------------------------------------------------------

    @database_faults("read latest values")
    def latest(self, sensor_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Latest reading per sensor: columns ``sensor_id``, ``time``, ``value``, ``flags``."""
        params: dict[str, Any] = {}
        if sensor_ids is not None:
            params["sensor_ids"] = list(sensor_ids)
            if not params["sensor_ids"]:
                params["sensor_ids"] = [""]
        with self.engine.connect() as conn:
            rows = conn.execute(queries.latest_query(sensor_ids is not None), params).all()
        return pd.DataFrame(
            {
                "sensor_id": [r.sensor_id for r in rows],
                "time": us_to_index([r.time_us for r in rows]),
                "value": np.array([r.value for r in rows], dtype=np.float64),
                "flags": np.array([r.flags for r in rows], dtype=np.int64),
            }
        )

    @database_faults("resample readings")
    def resample(
        self, sensor_id: str, start: datetime, end: datetime, every_s: int,
        *, utc_offset_s: int = 0,
    ) -> pd.DataFrame:
        """Mean, min, max and count per interval of one sensor in [start, end).

        Intervals are ``every_s`` long and aligned to UTC (a 15-minute interval starts at
        :00, :15, :30, :45; a day at 00:00 UTC), or to the local clock of a fixed
        ``utc_offset_s`` (28800 for Asia/Shanghai: days from 00:00 local time). Only
        intervals holding readings are returned. Where raw readings were purged by
        retention, the rollups stand in (at their resolution).

        Returns
        -------
        DataFrame with columns ``time`` (interval start, UTC), ``mean``, ``min``, ``max`` [SI]
        and ``count``.
        """
        if every_s <= 0 or int(every_s) != every_s:
            raise PayloadError("resample", f"interval {every_s} s is not a positive whole number")
        if int(utc_offset_s) != utc_offset_s or abs(utc_offset_s) > 18 * 3600:
            raise PayloadError("resample", f"UTC offset {utc_offset_s} s is not within ±18 h")
        start_us, end_us = to_us(start, what="start"), to_us(end, what="end")
        every_us = int(every_s) * US_PER_S
        offset_us = int(utc_offset_s) * US_PER_S
        with self.engine.connect() as conn:
            key = self._keys_of(conn, [sensor_id])[sensor_id]
            kept_from = retention.get_state(conn, retention.WATERMARK)
            bucket_s = queries.rollup_bucket_for(int(every_s), int(utc_offset_s))
            params = {"sensor_key": key, "start_us": start_us, "end_us": end_us}
            if kept_from is not None and kept_from > start_us and bucket_s is not None:
                query = queries.mixed_resample_query(every_us, bucket_s, offset_us)
                params["kept_from_us"] = kept_from
            else:
                query = queries.raw_resample_query(every_us, offset_us)
            rows = conn.execute(query, params).all()
        return _resample_frame(rows)

    def daily(
        self, sensor_id: str, start: datetime, end: datetime, *, utc_offset_s: int = 0
    ) -> pd.DataFrame:
        """Daily aggregates of one sensor (UTC days, or local days of a fixed UTC offset [s]).

        Where raw readings were purged, local days of an offset that is not whole days are
        built from the hourly (or 15-minute) rollups. See :meth:`resample`.
        """
        return self.resample(sensor_id, start, end, every_s=86_400, utc_offset_s=utc_offset_s)

    # -- rollups and retention ----------------------------------------------------------------

    @database_faults("roll up readings")
    def rollup(self, until: datetime, since: datetime | None = None) -> int:
        """Recompute the 15-min, hourly and daily rollups of buckets finished by ``until``.

        Safe to re-run. Returns the number of rollup rows written.
        """
        since_us = None if since is None else to_us(since, what="since")
        with self._writer.begin() as conn:
            return retention.rollup(conn, to_us(until, what="until"), since_us)

    @database_faults("apply retention")
    def apply_retention(
        self, raw_days: int, now: datetime | None = None
    ) -> retention.RetentionResult:
        """Keep ``raw_days`` whole UTC days of raw readings; older ones are rolled up, then deleted.

        One transaction; safe to re-run (a second run with the same ``now`` changes nothing).
        """
        if raw_days < 0:
            raise PayloadError("retention", f"raw_days must be 0 or more, not {raw_days}")
        now_us = to_us(now or datetime.now(UTC), what="now")
        with self._writer.begin() as conn:
            return retention.apply_retention(conn, raw_days, now_us)

    @database_faults("read rollups")
    def rollups(self, sensor_id: str, bucket_s: int) -> pd.DataFrame:
        """Stored rollups of one sensor and bucket size (900, 3600 or 86400 s), oldest first.

        Columns ``time`` (bucket start, UTC), ``mean``, ``min``, ``max``, ``count``.
        """
        with self.engine.connect() as conn:
            key = self._keys_of(conn, [sensor_id])[sensor_id]
            rows = conn.execute(
                sa.select(
                    rollups.c.start_us, rollups.c.sum / rollups.c.count, rollups.c.min,
                    rollups.c.max, rollups.c.count,
                )
                .where(rollups.c.sensor_key == key, rollups.c.bucket_s == int(bucket_s))
                .order_by(rollups.c.start_us)
            ).all()
        return _resample_frame(rows)

    @database_faults("read the retention state")
    def raw_kept_from(self) -> datetime | None:
        """Raw readings before this time were purged (``None`` if retention never ran)."""
        with self.engine.connect() as conn:
            value = retention.get_state(conn, retention.WATERMARK)
        return None if value is None else from_us(value)


def _sensor_from_row(row: sa.Row[Any]) -> Sensor:
    return Sensor(
        id=row.id, system_id=row.system_id, quantity=Quantity(row.quantity),
        site_id=row.site_id, element_kind=row.element_kind, element_id=row.element_id,
        lower=row.lower, upper=row.upper, interval_s=row.interval_s, name=row.name,
        attributes=json.loads(row.attributes),
    )


def _check_values(
    id_arr: npt.NDArray[Any],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> None:
    """Reject non-finite values and flags outside the known bits, naming the first culprit."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise PayloadError(
            f"sensor {id_arr[i]} at {from_us(int(times_us[i])).isoformat()}",
            f"value {values[i]} is not a finite number",
        )
    all_bits = int(max(QualityFlag)) * 2 - 1
    bad = (flags < 0) | (flags > all_bits)
    if bad.any():
        i = int(np.argmax(bad))
        raise PayloadError(
            f"sensor {id_arr[i]} at {from_us(int(times_us[i])).isoformat()}",
            f"quality flags {flags[i]} are not a combination of {[f.name for f in QualityFlag]}",
        )


def _sorted_first_of_each(
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
           npt.NDArray[np.int64]]:
    """Sort by (sensor, time) and keep the first of readings sharing both.

    Sorted, because B-tree inserts in key order touch each index page once instead of at
    random; the sort is stable, so "first one wins" holds inside a batch as across batches.
    """
    if len(keys) < 2:
        return keys, times_us, values, flags
    dk = np.diff(keys)
    in_order = bool(np.all((dk > 0) | ((dk == 0) & (np.diff(times_us) >= 0))))
    if not in_order:
        order = np.lexsort((times_us, keys))
        keys, times_us, values, flags = keys[order], times_us[order], values[order], flags[order]
    repeated = (keys[1:] == keys[:-1]) & (times_us[1:] == times_us[:-1])
    if repeated.any():
        keep = np.r_[True, ~repeated]
        keys, times_us, values, flags = keys[keep], times_us[keep], values[keep], flags[keep]
    return keys, times_us, values, flags


def _resample_frame(rows: Sequence[sa.Row[Any]]) -> pd.DataFrame:
    arr = np.array(
        [tuple(r) for r in rows],
        dtype=[("t", "i8"), ("mean", "f8"), ("min", "f8"), ("max", "f8"), ("count", "i8")],
    )
    return pd.DataFrame(
        {
            "time": us_to_index(arr["t"]),
            "mean": arr["mean"],
            "min": arr["min"],
            "max": arr["max"],
            "count": arr["count"],
        }
    )
