"""Labelled float tables (time x element) over arrays the engine has already filled.

A run of a small network (Net1-Net3: 11-97 nodes, 25 report times) takes about 1-3 ms, and
pandas' general ``DataFrame`` constructor (type inference, consolidation, checks) cost a
tenth of that for the six result tables. :func:`float_table` builds each table as the one
float64 block it is:

1. with pandas' block-manager pieces directly (``new_block_2d`` on a remembered
   ``BlockPlacement``, ``BlockManager(verify_integrity=False)``, ``DataFrame._from_mgr``):
   half the cost of (2). These are pandas internals, so they are looked up once at import
   and any mismatch (a renamed module or signature in a later pandas) falls back to (2);
   ``tests/test_hydraulics_tables.py`` checks the tables equal the general constructor's;
2. else with the documented low-level constructor
   ``pandas.api.internals.create_dataframe_from_blocks`` (pandas >= 3.0);
3. else with ``pd.DataFrame(values, index, columns, copy=False)``.

The values are never copied: the table is a view of ``values`` (time x element).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

TableBuilder = Callable[[npt.NDArray[np.float64], pd.Index, pd.Index], pd.DataFrame]


def _general(values: npt.NDArray[np.float64], index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(values, index=index, columns=columns, copy=False)


def _public_blocks() -> TableBuilder | None:
    try:  # pandas >= 3.0: the documented constructor for arrays already in block form
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pragma: no cover - pandas 2.x
        return None

    def build(
        values: npt.NDArray[np.float64], index: pd.Index, columns: pd.Index
    ) -> pd.DataFrame:
        frame: pd.DataFrame = create_dataframe_from_blocks(
            [(values.T, np.arange(values.shape[1]))], index=index, columns=columns
        )
        return frame

    return build


def _internal_blocks() -> TableBuilder | None:
    try:
        from pandas._libs.internals import BlockPlacement
        from pandas.core.internals.blocks import new_block_2d
        from pandas.core.internals.managers import BlockManager

        from_mgr: Any = pd.DataFrame._from_mgr  # type: ignore[attr-defined]
    except (ImportError, AttributeError):  # pragma: no cover - another pandas layout
        return None

    @functools.lru_cache(maxsize=64)
    def placement(n_columns: int) -> Any:
        return BlockPlacement(slice(0, n_columns))

    def build(
        values: npt.NDArray[np.float64], index: pd.Index, columns: pd.Index
    ) -> pd.DataFrame:
        block = new_block_2d(values.T, placement(values.shape[1]))
        manager = BlockManager((block,), [columns, index], verify_integrity=False)
        frame: pd.DataFrame = from_mgr(manager, manager.axes)
        return frame

    try:  # the pieces must still fit together as they did: else the documented way
        probe = np.arange(6, dtype=np.float64).reshape(3, 2)
        got = build(probe, pd.RangeIndex(3), pd.Index(["a", "b"], dtype=object))
        pd.testing.assert_frame_equal(
            got, pd.DataFrame(probe, columns=pd.Index(["a", "b"], dtype=object))
        )
    except Exception:  # pragma: no cover - another pandas layout
        return None
    return build


_BUILD: TableBuilder = _internal_blocks() or _public_blocks() or _general


def float_table(
    values: npt.NDArray[np.float64], index: pd.Index, columns: pd.Index
) -> pd.DataFrame:
    """A DataFrame over ``values`` (rows x columns, float64, not copied) labelled by
    ``index`` and ``columns``; equal to ``pd.DataFrame(values, index, columns)``."""
    if values.ndim != 2 or values.shape != (len(index), len(columns)):
        return _general(values, index, columns)  # pandas names the mismatch
    return _BUILD(values, index, columns)
