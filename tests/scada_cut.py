"""Cut a BattLeDIM-layout SCADA folder at a time: the causality tests of ``detect leaks``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from waterops.service.leak_detection import SCADA_FILES


def write_cut(dataset: Path, part_dir: Path, cut: pd.Timestamp) -> None:
    """Write the SCADA files of ``dataset`` into ``part_dir`` with only the rows stamped up to
    ``cut`` (the network file is not copied)."""
    for name in SCADA_FILES:
        table = pd.read_csv(dataset / f"{name}.csv", dtype={"Timestamp": str})
        keep = pd.to_datetime(table["Timestamp"]) <= cut
        table[keep].to_csv(part_dir / f"{name}.csv", index=False)
