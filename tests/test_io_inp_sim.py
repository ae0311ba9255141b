"""Helpers (no tests): run an EPANET file with the raw toolkit, no waterops code in between."""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
NETWORKS = Path(__file__).parent / "networks"
DEMO_CITY = REPO / "src" / "waterops" / "data" / "networks" / "demo_city.inp"
NET6 = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "wntr" / "library" / "networks" \
    / "Net6.inp"

# EPANET's own unit factors (types.h of EPANET 2.2/2.3), written out here so that the tests
# do not lean on the converter they check.
EPANET_PER_CFS = {"CFS": 1.0, "GPM": 448.831, "MGD": 0.64632, "IMGD": 0.5382, "AFD": 1.9837,
                  "LPS": 28.317, "LPM": 1699.0, "MLD": 2.4466, "CMH": 101.94, "CMD": 2446.6}
EXACT_M3S = {"CFS": 0.3048**3, "GPM": 3.785411784e-3 / 60, "LPS": 1e-3, "CMH": 1 / 3600,
             "CMD": 1 / 86400, "LPM": 1e-3 / 60, "MGD": 3.785411784e3 / 86400}
US = {"CFS", "GPM", "MGD", "IMGD", "AFD"}


def large_network() -> Path:
    """The bundled demo network when it exists, else WNTR's Net6 (3,000+ nodes)."""
    return DEMO_CITY if DEMO_CITY.exists() else NET6


def m3s_per_flow_unit(written: str, basis: str) -> float:
    """m³/s per flow unit of a file written in ``written`` from a network read in ``basis``.

    EPANET turns flows to cfs with its rounded factors; the same internal flow reads
    F_basis in the original file and F_written in the copy.
    """
    return EXACT_M3S[basis] * EPANET_PER_CFS[basis] / EPANET_PER_CFS[written]


def m_per_pressure_unit(flow_units: str) -> float:
    """m of head per reported pressure unit (psi with EPANET's 0.4333 psi/ft, or m)."""
    return 0.3048 / 0.4333 if flow_units in US else 1.0


@dataclass
class Run:
    """Results at each report time: arrays (time, element) in the file's units."""

    times_s: list[int]
    pressure: npt.NDArray[np.float64]
    flow: npt.NDArray[np.float64]
    quality: npt.NDArray[np.float64]
    node_ids: list[str]
    link_ids: list[str]


def _values(getter: object, ph: object, prop: int, count: int) -> npt.NDArray[np.float64]:
    buffer = tk.doubleArray(max(count, 1))
    getter(ph, prop, buffer)  # type: ignore[operator]
    return np.array([buffer[i] for i in range(count)])


def simulate(path: Path, *, quality: bool = False) -> Run:
    """Hydraulics (and water quality) of ``path`` at every report time."""
    with tempfile.TemporaryDirectory(prefix="waterops-sim-") as tmp, warnings.catch_warnings():
        # EPANET's own warnings about the network (pumps beyond their curve, negative
        # pressures) come as Python warnings; both runs of a comparison see the same ones
        warnings.simplefilter("ignore")
        return _simulate(path, Path(tmp) / "report.rpt", quality)


def _simulate(path: Path, report: Path, quality: bool) -> Run:
    ph = tk.createproject()
    tk.open(ph, str(path), str(report), "")
    try:
        n_nodes = tk.getcount(ph, tk.NODECOUNT)
        n_links = tk.getcount(ph, tk.LINKCOUNT)
        step = tk.gettimeparam(ph, tk.REPORTSTEP)
        start = tk.gettimeparam(ph, tk.REPORTSTART)
        times, pressure, flow, qual = [], [], [], []
        tk.openH(ph)
        tk.initH(ph, 0)
        while True:
            t = tk.runH(ph)
            if t >= start and (t - start) % step == 0:
                times.append(t)
                pressure.append(_values(tk.getnodevalues, ph, tk.PRESSURE, n_nodes))
                flow.append(_values(tk.getlinkvalues, ph, tk.FLOW, n_links))
            if tk.nextH(ph) <= 0:
                break
        tk.closeH(ph)
        if quality:
            tk.solveH(ph)
            tk.openQ(ph)
            tk.initQ(ph, 0)
            while True:
                t = tk.runQ(ph)
                if t >= start and (t - start) % step == 0:
                    qual.append(_values(tk.getnodevalues, ph, tk.QUALITY, n_nodes))
                if tk.nextQ(ph) <= 0:
                    break
            tk.closeQ(ph)
        node_ids = [tk.getnodeid(ph, i) for i in range(1, n_nodes + 1)]
        link_ids = [tk.getlinkid(ph, i) for i in range(1, n_links + 1)]
    finally:
        tk.close(ph)
        tk.deleteproject(ph)
    return Run(times, np.array(pressure), np.array(flow), np.array(qual), node_ids, link_ids)
