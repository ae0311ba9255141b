"""Property tests of the CSV reader (no database): what is written is what is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.errors import PayloadError
from waterops.telemetry.csv_ingest import iter_chunks, read_header

_values = st.one_of(
    st.none(),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-1000, max_value=1000),
)


@st.composite
def _wide_files(draw: st.DrawFn) -> tuple[list[str], list[int], list[list[float | int | None]]]:
    sensors = draw(st.lists(st.from_regex(r"[A-Z]{1,3}-[0-9]{1,3}", fullmatch=True),
                            min_size=1, max_size=5, unique=True))
    rows = draw(st.integers(1, 40))
    minutes = sorted(draw(st.lists(st.integers(0, 10**6), min_size=rows, max_size=rows)))
    cells = [[draw(_values) for _ in sensors] for _ in range(rows)]
    return sensors, minutes, cells


def _cell(value: float | int | None) -> str:
    return "" if value is None else repr(value)


@settings(max_examples=60, deadline=None)
@given(data=_wide_files(), chunk_rows=st.integers(1, 50), offset_h=st.integers(-12, 14))
def test_wide_file_reads_back_every_cell(
    tmp_path_factory: pytest.TempPathFactory,
    data: tuple[list[str], list[int], list[list[float | int | None]]],
    chunk_rows: int,
    offset_h: int,
) -> None:
    sensors, minutes, cells = data
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    times = [t0 + pd.Timedelta(minutes=m) for m in minutes]
    sign = "+" if offset_h >= 0 else "-"
    suffix = f"{sign}{abs(offset_h):02d}:00"
    lines = ["Timestamp," + ",".join(sensors)]
    for time, row in zip(times, cells, strict=True):
        local = (time + pd.Timedelta(hours=offset_h)).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(f"{local}{suffix}," + ",".join(_cell(v) for v in row))
    path = Path(tmp_path_factory.mktemp("csv")) / "wide.csv"
    path.write_text("\n".join(lines) + "\n")

    got = {s: ([], []) for s in sensors}
    for chunk in iter_chunks(read_header(path), chunk_rows=chunk_rows):
        for code, t, v in zip(chunk.codes, chunk.times_us, chunk.values, strict=True):
            got[chunk.sensor_ids[code]][0].append(int(t))
            got[chunk.sensor_ids[code]][1].append(float(v))
    for j, sensor in enumerate(sensors):
        expected = [(times[i], float(row[j])) for i, row in enumerate(cells) if row[j] is not None]
        assert got[sensor][0] == [int(t.value // 1000) for t, _ in expected]
        assert got[sensor][1] == [v for _, v in expected]


@settings(max_examples=60, deadline=None)
@given(
    good_rows=st.integers(0, 30),
    junk=st.sampled_from(["abc", "NaN", "inf", "-inf", "1e999", "1,5", "--1", "0x10", "TRUE1"]),
    chunk_rows=st.integers(1, 40),
)
def test_a_bad_cell_is_named_wherever_it_is(
    tmp_path_factory: pytest.TempPathFactory, good_rows: int, junk: str, chunk_rows: int
) -> None:
    rows = [f"2024-01-01 00:{i % 60:02d}:00,{i}.5" for i in range(good_rows)]
    text = "Timestamp,P1\n" + "\n".join([*rows, f"2024-01-02 00:00,{junk}"]) + "\n"
    if junk == "1,5":  # a decimal comma splits the row into one cell too many
        text = text.replace("1,5", '"1,5"')
    path = Path(tmp_path_factory.mktemp("csv")) / "bad.csv"
    path.write_text(text)
    with pytest.raises(PayloadError) as info:
        for _ in iter_chunks(read_header(path), chunk_rows=chunk_rows):
            pass
    assert str(info.value).startswith(f"{path}:{good_rows + 2}:2: ")


def test_long_file_with_distinct_units_per_row(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        "sensor,time,value,unit\n"
        "P1,2024-01-01 00:00,100,kPa\nP1,2024-01-01 00:01,1,bar\nP1,2024-01-01 00:02,10,\n"
        "P1,2024-01-01 00:03,0.1,MPa\nP1,2024-01-01 00:04,10,mH2O\n"
    )
    (chunk,) = list(iter_chunks(read_header(path)))
    np.testing.assert_allclose(chunk.values, [100 / 9.80665, 100 / 9.80665, 10, 100 / 9.80665, 10])
