"""float_table: the result tables equal pandas' general constructor's, share the values and
behave as ordinary DataFrames (the fast path uses pandas internals, so this is its guard)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.hydraulics import tables
from waterops.hydraulics.tables import float_table


def _labels(n_rows: int, n_cols: int) -> tuple[pd.Index, pd.Index]:
    index = pd.Index(np.arange(n_rows, dtype=np.int64) * 3600, name="time_s")
    columns = pd.Index([f"J{i}" for i in range(n_cols)], name="node", dtype=object)
    return index, columns


@pytest.mark.parametrize("builder", ["chosen", "public", "general"])
@pytest.mark.parametrize(("n_rows", "n_cols"), [(25, 11), (1, 1), (0, 3), (4, 0)])
def test_equals_general_constructor(builder: str, n_rows: int, n_cols: int) -> None:
    values = np.random.default_rng(1).normal(size=(n_rows, n_cols))
    index, columns = _labels(n_rows, n_cols)
    build = {
        "chosen": float_table,
        "public": tables._public_blocks() or tables._general,
        "general": tables._general,
    }[builder]
    got = build(values, index, columns)
    pd.testing.assert_frame_equal(got, pd.DataFrame(values.copy(), index=index, columns=columns))
    assert got.index is index and got.columns is columns


def test_the_internal_path_is_used_with_this_pandas() -> None:
    """With the pandas the project installs, the fast path is taken (a silent fall-back would
    only show as a slower benchmark)."""
    assert tables._BUILD is not tables._general
    assert tables._internal_blocks() is not None


def test_table_is_a_view_and_behaves() -> None:
    values = np.arange(12, dtype=np.float64).reshape(4, 3)
    index, columns = _labels(4, 3)
    frame = float_table(values, index, columns)
    assert np.shares_memory(frame.to_numpy(), values)
    # ordinary DataFrame behaviour: column access, arithmetic, a new column, copy-on-write
    assert frame["J1"].tolist() == [1.0, 4.0, 7.0, 10.0]
    assert (frame * 2).iloc[3, 2] == 22.0
    frame["J9"] = 1.0
    assert list(frame.columns) == ["J0", "J1", "J2", "J9"]
    copy = frame.copy()
    copy.iloc[0, 0] = -1.0
    assert frame.iloc[0, 0] == 0.0
    assert frame.loc[3600].tolist() == [3.0, 4.0, 5.0, 1.0]
    assert frame.min().min() == 0.0


def test_wrong_shape_is_named_by_pandas() -> None:
    index, columns = _labels(3, 2)
    with pytest.raises(ValueError, match="Shape of passed values"):
        float_table(np.zeros((3, 5)), index, columns)
