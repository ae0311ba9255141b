"""The EPANET 2.3 toolkit (owa-epanet) behind the :class:`~waterops.hydraulics.engine.Engine`
protocol.

Why results equal EPANET's own to float64 precision:

- hydraulics and quality run in one pass (``openH/initH/openQ/initQ``, ``runH/runQ``,
  ``nextH/nextQ``), and only report times (``report start + k x report step``) are kept;
- values are read with the toolkit's vector getters straight into numpy (no element-by-element
  calls, no single-precision binary output file, no rewritten input file);
- pressure is read with EPANET's pressure unit switched to metres for the run, so EPANET itself
  converts its internal feet (``pressure = (head - elevation) x 0.3048``); the unit is switched
  back afterwards. Heads, flows and velocities are converted with exact factors
  (:mod:`waterops.units`).

The toolkit writes warnings and errors into its report file; the adapter gives it one in a
temporary directory and reads it back (never the working directory). One such directory serves
the whole process (see :func:`scratch_dir`): making and removing a directory for every run cost
more than the whole simulation of a small network on this machine's file system.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import itertools
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import (
    ConfigError,
    EngineError,
    NetworkFileError,
    SimulationError,
    UnknownElementError,
)
from waterops.hydraulics.engine import DemandModel as DemandModel  # re-exported for callers
from waterops.hydraulics.engine import PressureDriven as PressureDriven
from waterops.hydraulics.engine import ProgressCallback
from waterops.hydraulics.quality import Chemical, QualitySpec, Trace, WaterAge
from waterops.hydraulics.results import (
    LINK_TABLES,
    NODE_TABLES,
    SimulationResults,
    SimulationWarning,
)
from waterops.hydraulics.tables import float_table
from waterops.units import FT_M, US_FLOW_UNITS, flow_factor

FLOW_UNITS = ("CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS")
"""EPANET flow-unit keywords by toolkit code (EN_CFS = 0 … EN_CMS = 10)."""
NODE_TYPES = ("junction", "reservoir", "tank")
LINK_TYPES = ("cvpipe", "pipe", "pump", "prv", "psv", "pbv", "fcv", "tcv", "gpv", "pcv")

# The compiled functions behind owa-epanet's ``epanet.toolkit`` (same names and arguments):
# the adapter calls them directly, without the module's pure-Python trampolines (one frame per
# call: about 200 calls per day of hourly reports, one or two per element at opening, some 30
# more around a run, each dearer right after a garbage collection); any other build of the
# bindings: the module itself. Constants (``tk.PRESSURE`` …) and ``doubleArray`` come from it.
_TOOLKIT_FUNCTIONS = (
    "clearreport", "close", "closeH", "closeQ", "copyreport", "createproject",
    "deleteproject", "getcount", "getdemandmodel", "getflowunits", "getlinkid",
    "getlinktype", "getlinkvalue", "getlinkvalues", "getnodeid", "getnodetype",
    "getnodevalue", "getnodevalues", "getoption", "getqualinfo", "gettimeparam", "initH",
    "initQ", "nextH", "nextQ", "open", "openH", "openQ", "runH", "runQ", "setdemandmodel",
    "setlinkvalue", "setnodevalue", "setoption", "setqualtype", "setstatusreport",
    "settimeparam",
)
_FAST: Any = getattr(tk, "_toolkit", tk)
if not all(hasattr(_FAST, f) for f in _TOOLKIT_FUNCTIONS):  # pragma: no cover
    _FAST = tk

_NODE_PROPS = (tk.PRESSURE, tk.HEAD, tk.DEMAND)
_LINK_PROPS = (tk.FLOW, tk.VELOCITY, tk.STATUS)
"""Toolkit properties read into the tables named by NODE_TABLES and LINK_TABLES, in order
(``_results`` pairs them with ``strict=True``)."""

_ERROR_RE = re.compile(r"Error (\d+):\s*(.*)")
_SECTION_LINE_RE = re.compile(r"in \[(\w+)\] section:?\s*$", re.IGNORECASE)
_ILL_CONDITIONED_RE = re.compile(r"ill-conditioned at node (\S+)", re.IGNORECASE)
_WARNING_RE = re.compile(r"WARNING:\s*(.*?)\s*(?:at (\d+):(\d\d):(\d\d) hrs)?\.?\s*$")


class _Vector:
    """A toolkit ``double[]`` buffer and a numpy view of the same memory (no copy per read)."""

    __slots__ = ("buffer", "size", "view")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer = tk.doubleArray(max(size, 1))
        address = int(self.buffer.cast())
        c_array = (ctypes.c_double * max(size, 1)).from_address(address)
        self.view: npt.NDArray[np.float64] = np.ctypeslib.as_array(c_array)[:size]

    @classmethod
    def take(cls, size: int) -> _Vector:
        """A buffer of ``size`` doubles: one a closed engine gave back, else a new one."""
        spare = _SPARE_VECTORS.get(size)
        if spare:
            with suppress(IndexError):  # another thread took the last one
                return spare.pop()
        return cls(size)

    def give_back(self) -> None:
        """Offer the buffer to the next engine of the same size (its contents are scratch)."""
        spare = _SPARE_VECTORS.setdefault(self.size, [])
        if len(spare) < 4 and len(_SPARE_VECTORS) <= 64:
            spare.append(self)


_SPARE_VECTORS: dict[int, list[_Vector]] = {}
"""Getter buffers of closed engines by size, for the next engine of that size: making the two
(a SWIG ``double[]`` and its numpy view through ctypes) was a tenth of a small network's
``simulate``. A buffer is used by one engine at a time (``list.pop``/``append`` are atomic)."""


def _toolkit_error(exc: Exception) -> tuple[int | None, str]:
    """(code, reason) from an owa-epanet exception such as ``Error 110: cannot solve …``."""
    match = _ERROR_RE.search(str(exc))
    if match:
        return int(match.group(1)), match.group(2).strip()
    return None, str(exc)


def _locate_line(path: Path, section: str, text: str) -> int | None:
    """1-based number of the line ``text`` inside ``[section]`` of the file, or ``None``."""
    wanted = text.split()
    current = ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[]").upper()
            continue
        if current == section.upper() and stripped.split() == wanted:
            return number
    return None


def _element_line(path: Path, element_id: str, sections: tuple[str, ...]) -> int | None:
    """1-based line where ``element_id`` is defined in one of ``sections``, or ``None``."""
    current = ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, start=1):
        fields = line.split(";", 1)[0].split()
        if fields and fields[0].startswith("["):
            current = fields[0].strip("[]").upper()
        elif current in sections and fields and fields[0] == element_id:
            return number
    return None


def _file_errors(report: str, path: Path) -> list[tuple[int | None, str]]:
    """The input errors EPANET wrote into its report: [(line number, reason)], first first."""
    found: list[tuple[int | None, str]] = []
    lines = report.splitlines()
    for i, line in enumerate(lines):
        match = _ERROR_RE.search(line)
        if not match or int(match.group(1)) == 200:  # 200 only says "there were errors"
            continue
        reason = match.group(2).strip().rstrip(":")
        section = _SECTION_LINE_RE.search(match.group(2))
        number = None
        if section and i + 1 < len(lines):
            offending = lines[i + 1].strip()
            number = _locate_line(path, section.group(1), offending)
            reason = f"{reason.rstrip(':')}: {offending}" if offending else reason
        found.append((number, f"EPANET error {match.group(1)}: {reason}"))
    return found


def _seconds(h: str | None, m: str | None, s: str | None) -> int:
    return 0 if h is None else int(h) * 3600 + int(m or 0) * 60 + int(s or 0)


def parse_report_warnings(report: str) -> list[SimulationWarning]:
    """Structured warnings from the ``WARNING:`` lines of an EPANET report."""
    found: list[SimulationWarning] = []
    seen: set[tuple[str, str | None, str]] = set()
    for line in report.splitlines():
        match = _WARNING_RE.search(line)
        if not match:
            continue
        text = match.group(1)
        time_s = _seconds(match.group(2), match.group(3), match.group(4))
        kind, element = "other", None
        if m := re.match(r"Pump (\S+)", text):
            kind, element = "pump_beyond_curve", m.group(1)
        elif m := re.match(r"Node (\S+) disconnected|.*disconnected because of Link (\S+)", text):
            kind, element = "disconnected", m.group(1) or m.group(2)
        elif "disconnected" in text:
            kind = "disconnected"
        elif m := re.match(r"Valve (\S+)", text):
            kind, element = "valve", m.group(1)
        elif "negative pressure" in text.lower():
            kind = "negative_pressure"
        elif "unbalanced" in text.lower() or "unstable" in text.lower():
            kind = "unbalanced"
        if (kind, element, text) not in seen:  # EPANET repeats them at every step
            seen.add((kind, element, text))
            found.append(SimulationWarning(kind, element, time_s, f"WARNING: {text}"))
    return found


def _report_times(start_s: int, step_s: int, duration_s: int) -> int:
    """How many report times EPANET has: start, start + step, … up to the duration."""
    if duration_s < start_s:
        return 0
    return (duration_s - start_s) // max(step_s, 1) + 1


_SCRATCH: Path | None = None
_REPORT_NUMBERS = itertools.count()


def scratch_dir(*, check: bool = True) -> Path:
    """The process's temporary directory for EPANET report files (made on first use, removed
    at exit). Files in it get unique names, so forked worker processes may share it.
    ``check=False`` skips asking the file system whether it still exists (opening a network
    asks again only when EPANET cannot write its report there)."""
    global _SCRATCH
    if _SCRATCH is None or (check and not _SCRATCH.is_dir()):
        _SCRATCH = Path(tempfile.mkdtemp(prefix="waterops-epanet-"))
        atexit.register(shutil.rmtree, str(_SCRATCH), True)
    return _SCRATCH


def _open_project(path: str) -> tuple[Any, str]:
    """A toolkit project with ``path`` read, and its report file's path.

    The scratch directory is not looked for beforehand (a visible share of a small network's
    run): only when EPANET cannot write its report (code 303: the scratch directory was
    removed under us) is the directory made again and the file opened once more. Other
    failures raise :class:`_OpenFailed`, the project closed, its report left to be read."""
    for attempt in (1, 2):
        name = f"{os.getpid()}-{next(_REPORT_NUMBERS)}.rpt"
        report = os.path.join(scratch_dir(check=attempt == 2), name)
        handle = _FAST.createproject()
        try:
            _FAST.open(handle, path, report, "")
        except Exception as exc:
            _close_quietly(handle)
            if attempt == 1 and _toolkit_error(exc)[0] == 303:
                continue
            raise _OpenFailed(exc, report) from None
        return handle, report
    raise AssertionError("unreachable")  # pragma: no cover


class _OpenFailed(Exception):
    """EPANET refused a file: the toolkit's exception and the report file it wrote."""

    def __init__(self, exc: Exception, report: str) -> None:
        super().__init__(str(exc))
        self.exc, self.report = exc, report


class EpanetEngine:
    """An EPANET project opened from a network file, simulated with the toolkit.

    Use :meth:`open` (a context manager); :meth:`run` can be called many times, and other
    code may change the project through :attr:`handle` between runs (scenarios do).
    """

    def __init__(self, handle: Any, path: str | Path, report_path: str | Path) -> None:
        self._handle = handle
        self._path = path
        self._report_path = os.fspath(report_path)
        self._copy_path = self._report_path.removesuffix(".rpt") + ".copy.rpt"
        self._copied = False  # the copy exists only once a report was read
        self._closed = False
        self._report_dirty = False
        self._buffers: tuple[_Vector, ...] = ()
        self._read_elements()
        self._flow_units = FLOW_UNITS[_FAST.getflowunits(handle)]
        self._us_units = self._flow_units in US_FLOW_UNITS

    def _read_elements(self) -> None:
        """Ids, types and table columns of nodes and links, read once (and again only if the
        number of elements changes): they cost one toolkit call per element."""
        ph = self._handle
        n_nodes = _FAST.getcount(ph, tk.NODECOUNT)
        n_links = _FAST.getcount(ph, tk.LINKCOUNT)
        node_id, link_id, link_type = _FAST.getnodeid, _FAST.getlinkid, _FAST.getlinktype
        self._node_ids = [node_id(ph, i) for i in range(1, n_nodes + 1)]
        self._link_ids = [link_id(ph, i) for i in range(1, n_links + 1)]
        self._node_pos: dict[str, int] | None = None  # built on the first lookup
        self._link_pos: dict[str, int] | None = None
        self._node_key, self._link_key = tuple(self._node_ids), tuple(self._link_ids)
        # EPANET numbers junctions first, then reservoirs and tanks: only those need asking
        n_junctions = n_nodes - _FAST.getcount(ph, tk.TANKCOUNT)
        node_codes = [tk.JUNCTION] * n_junctions + [
            _FAST.getnodetype(ph, i) for i in range(n_junctions + 1, n_nodes + 1)
        ]
        link_codes = [link_type(ph, i) for i in range(1, n_links + 1)]
        self._node_types = [NODE_TYPES[c] for c in node_codes]
        self._link_types = [LINK_TYPES[c] for c in link_codes]
        self._n_junctions = n_junctions  # node columns [0, n_junctions) are the junctions
        for old in self._buffers:  # read again: the element counts changed
            old.give_back()
        self._node_buf, self._link_buf = _Vector.take(n_nodes), _Vector.take(n_links)
        self._buffers = (self._node_buf, self._link_buf)

    # ------------------------------------------------------------------ opening, closing
    @classmethod
    def open(cls, path: str | Path) -> EpanetEngine:
        """Open an EPANET input file.

        Raises
        ------
        NetworkFileError
            when the file is missing or EPANET rejects it (with the line and EPANET's reason).
        EngineError
            when the toolkit fails for another reason.
        """
        path = os.fspath(path)  # a str all the way to the toolkit; a Path only for errors
        try:
            handle, report_file = _open_project(path)
        except _OpenFailed as failed:
            report_path = Path(failed.report)
            report = report_path.read_text(errors="replace") if report_path.exists() else ""
            report_path.unlink(missing_ok=True)
            if not os.path.isfile(path):
                raise NetworkFileError(path, None, "file not found") from None
            code, reason = _toolkit_error(failed.exc)
            details = _file_errors(report, Path(path))
            if details:
                line, first = details[0]
                more = f" (and {len(details) - 1} more errors)" if len(details) > 1 else ""
                raise NetworkFileError(path, line, first + more) from None
            if code is not None and 200 <= code < 310:
                raise NetworkFileError(path, None, f"EPANET error {code}: {reason}") from None
            raise EngineError(code, reason, path) from None
        # EPANET reads a folder as an empty network: asked only then (a stat before every open
        # was a visible share of a small network's run)
        if _FAST.getcount(handle, tk.NODECOUNT) == 0 and not os.path.isfile(path):
            _close_quietly(handle)
            with suppress(OSError):
                os.unlink(report_file)
            raise NetworkFileError(path, None, "file not found")
        # Status lines cost time on every step and nobody reads them; warnings still come.
        _FAST.setstatusreport(handle, tk.NO_REPORT)
        return cls(handle, path, report_file)

    def close(self) -> None:
        """Free the project and its temporary report file."""
        if not self._closed:
            self._closed = True
            _close_quietly(self._handle)
            for buffer in self._buffers:  # the engine reads no more values
                buffer.give_back()
            self._buffers = ()
            with suppress(OSError):
                os.unlink(self._report_path)
            if self._copied:
                with suppress(OSError):
                    os.unlink(self._copy_path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ identity
    @property
    def handle(self) -> Any:
        """The owa-epanet project handle."""
        return self._handle

    @property
    def path(self) -> str:
        """The network file."""
        return str(self._path)

    @property
    def node_ids(self) -> list[str]:
        """Node ids in toolkit order (``node_ids[i]`` has index ``i + 1``)."""
        return list(self._node_ids)

    @property
    def link_ids(self) -> list[str]:
        """Link ids in toolkit order (``link_ids[i]`` has index ``i + 1``)."""
        return list(self._link_ids)

    @property
    def flow_units(self) -> str:
        """EPANET flow units of the file (``"GPM"``, ``"LPS"`` …)."""
        return self._flow_units

    def node_index(self, node_id: str) -> int:
        """1-based toolkit index of ``node_id``."""
        try:
            if self._node_pos is None:
                self._node_pos = {node_id: i + 1 for i, node_id in enumerate(self._node_ids)}
            return self._node_pos[node_id]
        except KeyError:
            raise UnknownElementError("node", node_id, self._path) from None

    def link_index(self, link_id: str) -> int:
        """1-based toolkit index of ``link_id``."""
        try:
            if self._link_pos is None:
                self._link_pos = {link_id: i + 1 for i, link_id in enumerate(self._link_ids)}
            return self._link_pos[link_id]
        except KeyError:
            raise UnknownElementError("link", link_id, self._path) from None

    # ------------------------------------------------------------------ simulation
    def run(
        self,
        *,
        duration_s: int | None = None,
        hydraulic_step_s: int | None = None,
        quality: QualitySpec | None = None,
        demand_model: DemandModel = None,
        report_step_s: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SimulationResults:
        """Simulate the project as it is now, from t = 0.

        Parameters
        ----------
        duration_s : simulated duration [s]; ``None`` = the file's
        hydraulic_step_s : hydraulic time step [s]; ``None`` = the file's
        report_step_s : time between two result rows [s]; ``None`` = the file's
        quality : water-quality spec, or ``None`` for hydraulics only
        demand_model : see :data:`DemandModel`
        progress : called with (time reached [s], duration [s]) after each hydraulic step

        Raises
        ------
        SimulationError
            when EPANET cannot solve the system (naming the file, time and EPANET's reason).
        """
        if self._closed:
            raise EngineError(None, "the project is closed", self._path)
        ph = self._handle
        if (_FAST.getcount(ph, tk.NODECOUNT), _FAST.getcount(ph, tk.LINKCOUNT)) != (
            len(self._node_ids),
            len(self._link_ids),
        ):
            self._read_elements()  # someone added or deleted elements through the handle
        with _Restore() as restore:
            if demand_model is not None:
                # saved and restored in the file's pressure units, so it comes back bit-exact
                restore.callback(
                    _FAST.setdemandmodel, self._handle, *_FAST.getdemandmodel(self._handle)
                )
            old_units = _FAST.getoption(self._handle, tk.PRESS_UNITS)
            restore.callback(_FAST.setoption, self._handle, tk.PRESS_UNITS, old_units)
            _FAST.setoption(self._handle, tk.PRESS_UNITS, tk.METERS)
            self._set_times(restore, duration_s, hydraulic_step_s, report_step_s)
            self._set_demand_model(demand_model)
            if quality is not None:
                self._set_quality(restore, quality)
            if self._report_dirty:  # warnings of an earlier run must not be read again
                _FAST.clearreport(self._handle)
            self._report_dirty = True  # until this run ends without EPANET warnings
            node, link, times, warned = self._step_through(quality is not None, progress)
            # the report is read only when EPANET signalled a warning: it costs a file copy
            engine_warnings = self._read_warnings() if warned else []
            self._report_dirty = warned
        return self._results(node, link, times, quality, engine_warnings)

    def _set_times(
        self,
        restore: _Restore,
        duration_s: int | None,
        hydraulic_step_s: int | None,
        report_step_s: int | None,
    ) -> None:
        ph = self._handle
        # EPANET clips the hydraulic step to the report step and the quality step to the
        # hydraulic step: when a step changes, save all four and restore them in reverse order
        # (report step first); the duration alone touches nothing else.
        if hydraulic_step_s is None and report_step_s is None:
            if duration_s is None:
                return
            changed: tuple[int, ...] = (tk.DURATION,)
        else:
            changed = (tk.DURATION, tk.HYDSTEP, tk.QUALSTEP, tk.REPORTSTEP)
        for param in changed:
            restore.callback(_FAST.settimeparam, ph, param, _FAST.gettimeparam(ph, param))
        wanted = (
            (tk.DURATION, duration_s),
            (tk.REPORTSTEP, report_step_s),
            (tk.HYDSTEP, hydraulic_step_s),
        )
        for param, value in wanted:
            if value is None:
                continue
            if value < 0 or (value == 0 and param != tk.DURATION):
                label = {tk.DURATION: "duration", tk.REPORTSTEP: "report step"}.get(
                    param, "hydraulic step"
                )
                raise SimulationError(None, f"{label} must be > 0 s, not {value}", self._path)
            _FAST.settimeparam(ph, param, int(value))

    def _set_demand_model(self, demand_model: DemandModel) -> None:
        if demand_model is None:
            return
        ph = self._handle
        kind, pmin, preq, pexp = _FAST.getdemandmodel(ph)  # pressures in m: unit switched above
        if isinstance(demand_model, str):
            demand_model = demand_model.upper()
        if demand_model == "DDA":
            _FAST.setdemandmodel(ph, tk.DDA, pmin, preq, pexp)
            return
        if demand_model == "PDA":
            file_pda = kind == tk.PDA and preq > pmin
            demand_model = PressureDriven(pmin, preq, pexp) if file_pda else PressureDriven()
        if not isinstance(demand_model, PressureDriven):
            raise ConfigError(f"unknown demand model {demand_model!r}; use DDA or PDA")
        _FAST.setdemandmodel(
            ph,
            tk.PDA,
            demand_model.minimum_pressure_m,
            demand_model.required_pressure_m,
            demand_model.exponent,
        )

    def _set_quality(self, restore: _Restore, quality: QualitySpec) -> None:
        ph = self._handle
        kind, chem_name, chem_units, trace_index = _FAST.getqualinfo(ph)
        trace_id = self._node_ids[trace_index - 1] if trace_index > 0 else ""
        restore.callback(_FAST.setqualtype, ph, kind, chem_name, chem_units, trace_id)
        if isinstance(quality, WaterAge):
            _FAST.setqualtype(ph, tk.AGE, "", "", "")
        elif isinstance(quality, Trace):
            self.node_index(quality.node_id)  # typed error for an unknown node
            _FAST.setqualtype(ph, tk.TRACE, "", "", quality.node_id)
        elif isinstance(quality, Chemical):
            _FAST.setqualtype(ph, tk.CHEM, quality.name, quality.units, "")
            self._set_reactions(restore, quality)
        else:  # pragma: no cover - guarded by the type
            raise SimulationError(None, f"unknown quality spec {quality!r}", self._path)

    def _set_reactions(self, restore: _Restore, chemical: Chemical) -> None:
        ph = self._handle
        pipes = [
            i
            for i in range(1, len(self._link_ids) + 1)
            if _FAST.getlinktype(ph, i) in (tk.PIPE, tk.CVPIPE)
        ]
        tanks = [
            i for i in range(1, len(self._node_ids) + 1) if _FAST.getnodetype(ph, i) == tk.TANK
        ]
        if chemical.bulk_coeff_per_day is not None:
            _set_values(
                restore,
                _FAST.getlinkvalue,
                _FAST.setlinkvalue,
                ph,
                pipes,
                tk.KBULK,
                chemical.bulk_coeff_per_day,
            )
            _set_values(
                restore,
                _FAST.getnodevalue,
                _FAST.setnodevalue,
                ph,
                tanks,
                tk.TANK_KBULK,
                chemical.bulk_coeff_per_day,
            )
        if chemical.wall_coeff_per_day is not None:
            # The toolkit takes the wall coefficient in the file's length unit per day.
            wall = chemical.wall_coeff_per_day / (FT_M if self._us_units else 1.0)
            _set_values(restore, _FAST.getlinkvalue, _FAST.setlinkvalue, ph, pipes, tk.KWALL, wall)
        if chemical.source_node is not None:
            index = self.node_index(chemical.source_node)
            concentration = chemical.source_mg_per_l * _mg_l_to_chemical_units(chemical)
            self._set_source(restore, index, concentration)

    def _set_source(self, restore: _Restore, index: int, concentration: float) -> None:
        ph = self._handle
        try:
            old = [_FAST.getnodevalue(ph, index, p) for p in (tk.SOURCETYPE, tk.SOURCEQUAL)]
        except Exception:  # error 240: the node has no source yet
            old = [float(tk.CONCEN), 0.0]  # a zero source injects nothing
        restore.callback(_FAST.setnodevalue, ph, index, tk.SOURCETYPE, old[0])
        restore.callback(_FAST.setnodevalue, ph, index, tk.SOURCEQUAL, old[1])
        _FAST.setnodevalue(ph, index, tk.SOURCEQUAL, concentration)
        _FAST.setnodevalue(ph, index, tk.SOURCETYPE, tk.CONCEN)

    def _step_through(
        self, with_quality: bool, progress: ProgressCallback | None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[int], bool]:
        """The hydraulic (and quality) time loop: raw toolkit values at report times, and
        whether EPANET signalled any warning. Values come as one array per kind of element:
        table x time x element, the tables in the order of :data:`NODE_TABLES` and
        :data:`LINK_TABLES` (then ``quality`` when it was run)."""
        ph = self._handle
        n_nodes, n_links = len(self._node_ids), len(self._link_ids)
        duration = int(_FAST.gettimeparam(ph, tk.DURATION))
        report_start = int(_FAST.gettimeparam(ph, tk.REPORTSTART))
        report_step = max(int(_FAST.gettimeparam(ph, tk.REPORTSTEP)), 1)
        rows = _report_times(report_start, report_step, duration)
        node_props: tuple[int, ...] = _NODE_PROPS
        link_props: tuple[int, ...] = _LINK_PROPS
        if with_quality:
            node_props, link_props = (*node_props, tk.QUALITY), (*link_props, tk.LINKQUAL)
        # one array per kind of element (table x time x element): the unit conversion of a
        # kind's tables is then one numpy operation (see _results)
        node_stack = np.empty((len(node_props), rows, n_nodes))
        link_stack = np.empty((len(link_props), rows, n_links))
        node_buf, link_buf = self._node_buf, self._link_buf
        reads: list[tuple[Callable[..., Any], int, Any, npt.NDArray[np.float64], Any]] = [
            (_FAST.getnodevalues, prop, node_buf.buffer, node_buf.view, out)
            for prop, out in zip(node_props, node_stack, strict=True)
        ] + [
            (_FAST.getlinkvalues, prop, link_buf.buffer, link_buf.view, out)
            for prop, out in zip(link_props, link_stack, strict=True)
        ]
        times: list[int] = []
        run_h, next_h, run_q, next_q = _FAST.runH, _FAST.nextH, _FAST.runQ, _FAST.nextQ
        phase, t = "hydraulics", 0
        # owa-epanet echoes each EPANET warning code as a bare Python warning; they are caught
        # here only to know that the report file (with element and time) is worth reading.
        self._open_solvers(with_quality)
        with _CloseSolvers(ph, with_quality), warnings.catch_warnings(record=True) as echoed:
            warnings.simplefilter("always")
            try:  # one handler for the whole loop: a try per toolkit call costs on long runs
                while True:
                    phase = "hydraulics"
                    t = run_h(ph)
                    if with_quality:
                        phase = "water quality"
                        run_q(ph)
                    at_report = t >= report_start and (t - report_start) % report_step == 0
                    if at_report and len(times) < rows:
                        row = len(times)
                        for getter, prop, buffer, view, out in reads:
                            getter(ph, prop, buffer)
                            out[row] = view
                        times.append(t)
                    phase = "hydraulics"
                    step = next_h(ph)
                    if with_quality:
                        phase = "water quality"
                        next_q(ph)
                    if progress is not None:
                        progress(t + step, duration)
                    if step <= 0:
                        break
            except Exception as exc:
                raise self._step_error(exc, phase, t) from None
        used = len(times)
        if used < rows:  # EPANET ended early: keep the rows it reported
            node_stack, link_stack = node_stack[:, :used], link_stack[:, :used]
        return node_stack, link_stack, times, bool(echoed)

    def _open_solvers(self, with_quality: bool) -> None:
        """Open and initialise the hydraulic (and quality) solver; on failure close what was
        opened and raise a SimulationError (:class:`_CloseSolvers` closes them after a run)."""
        ph = self._handle
        phase, opened = "hydraulics", []
        try:
            _FAST.openH(ph)
            opened.append(_FAST.closeH)
            _FAST.initH(ph, tk.NOSAVE)
            if with_quality:
                phase = "water quality"
                _FAST.openQ(ph)
                opened.append(_FAST.closeQ)
                _FAST.initQ(ph, tk.NOSAVE)
        except Exception as exc:
            for close in reversed(opened):
                with suppress(Exception):
                    close(ph)
            raise self._step_error(exc, phase, 0) from None

    def _step_error(self, exc: Exception, what: str, time_s: int) -> SimulationError:
        """A toolkit error during the run, as a SimulationError naming file, time and cause."""
        code, reason = _toolkit_error(exc)
        hours = f"{time_s // 3600}:{time_s % 3600 // 60:02d}:{time_s % 60:02d}"
        details = [f"{what} at {hours} h (t = {time_s} s)", *self._failure_details()]
        return SimulationError(code, f"{reason}; {'; '.join(details)}", self._path)

    def _failure_details(self) -> list[str]:
        """What the report says about a failed step: the ill-conditioned node (with its line in
        the file) and the first warnings."""
        report = self._report_text()
        details = []
        for match in _ILL_CONDITIONED_RE.finditer(report):
            node_id = match.group(1)
            line = _element_line(Path(self._path), node_id, ("JUNCTIONS", "RESERVOIRS", "TANKS"))
            where = f" (line {line})" if line else ""
            details.append(f"system ill-conditioned at node {node_id}{where}")
        details += [w.message for w in parse_report_warnings(report)[:3]]
        return details

    def _report_text(self) -> str:
        copy = self._copy_path
        self._copied = True
        try:
            _FAST.copyreport(self._handle, copy)
            with open(copy, encoding="utf-8", errors="replace") as text:
                return text.read()
        except Exception:  # a report that cannot be copied leaves only our own checks
            return ""

    def _read_warnings(self) -> list[SimulationWarning]:
        return parse_report_warnings(self._report_text())

    # ------------------------------------------------------------------ results
    def _results(
        self,
        node: npt.NDArray[np.float64],
        link: npt.NDArray[np.float64],
        times: list[int],
        quality: QualitySpec | None,
        engine_warnings: list[SimulationWarning],
    ) -> SimulationResults:
        """SI tables from the loop's arrays (table x time x element, see _step_through)."""
        length = FT_M if self._us_units else 1.0
        flow = flow_factor(self._flow_units)
        # pressure is already in m (EPANET converted it), status needs none: x 1.0 is exact
        node_factors, link_factors = [1.0, length, flow], [flow, length, 1.0]
        node_names: tuple[str, ...] = NODE_TABLES
        link_names: tuple[str, ...] = LINK_TABLES
        if quality is not None:
            node_factors.append(_quality_factor(quality))
            link_factors.append(node_factors[-1])
            node_names, link_names = (*NODE_TABLES, "quality"), (*LINK_TABLES, "quality")
        node *= _factors(tuple(node_factors))  # in place, one operation per kind of element
        link *= _factors(tuple(link_factors))
        index = _time_index(tuple(times))
        node_cols, link_cols = _labels("node", self._node_key), _labels("link", self._link_key)
        node_frames = {
            k: float_table(v, index, node_cols) for k, v in zip(node_names, node, strict=True)
        }
        link_frames = {
            k: float_table(v, index, link_cols) for k, v in zip(link_names, link, strict=True)
        }
        per_node = _negative_pressures(node[0], times, self._node_ids, self._n_junctions)
        return SimulationResults(
            node=node_frames,
            link=link_frames,
            node_types=self._node_types,
            link_types=self._link_types,
            flow_units=self._flow_units,
            quality=quality,
            warnings=engine_warnings + per_node,
            source=str(self._path),
        )


@functools.lru_cache(maxsize=32)
def _factors(factors: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """Unit factors per table, shaped to scale a table x time x element array (read-only)."""
    array = np.array(factors, dtype=np.float64).reshape(-1, 1, 1)
    array.flags.writeable = False
    return array


def _labels(name: str, ids: tuple[str, ...]) -> pd.Index:
    """Column labels for element ``ids`` (object dtype, as in WNTR: pandas' arrow strings cost
    5x more to build). Remembered by content: the runs of one network read the same ids from
    the toolkit and share one Index, as pandas itself shares an Index between frames (its
    values are immutable), instead of building it again (a tenth of a small network's run) or
    viewing it (a twentieth). Its name is the one thing a caller can change in place: if
    someone renamed a shared index, a new one is made."""
    index = _built_labels(name, ids)
    if index.name != name:
        _built_labels.cache_clear()
        index = _built_labels(name, ids)
    return index


@functools.lru_cache(maxsize=32)
def _built_labels(name: str, ids: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(ids), name=name, dtype=object)


def _time_index(times_s: tuple[int, ...]) -> pd.Index:
    """The ``time_s`` row labels of a run's report times (remembered like :func:`_labels`)."""
    index = _built_time_index(times_s)
    if index.name != "time_s":
        _built_time_index.cache_clear()
        index = _built_time_index(times_s)
    return index


@functools.lru_cache(maxsize=32)
def _built_time_index(times_s: tuple[int, ...]) -> pd.Index:
    return pd.Index(np.array(times_s, dtype=np.int64), name="time_s")


class _Restore:
    """Calls that put the project back as it was before a run, made in reverse order when the
    block ends, as :class:`contextlib.ExitStack` would (its closures and deque were a visible
    share of a small network's run). Every call is made even if one fails; the first failure
    is raised once all were made (after the block's own exception, which it then chains)."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def callback(self, call: Callable[..., Any], *args: Any) -> None:
        """Make ``call(*args)`` when the block ends."""
        self._calls.append((call, args))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        calls, first = self._calls, None
        while calls:
            call, args = calls.pop()
            try:
                call(*args)
            except Exception as failure:  # the others must still be restored
                first = first or failure
        if first is not None:
            raise first


class _CloseSolvers:
    """Close the quality (if open) and hydraulic solvers of ``ph`` when the block ends."""

    __slots__ = ("_ph", "_with_quality")

    def __init__(self, ph: Any, with_quality: bool) -> None:
        self._ph, self._with_quality = ph, with_quality

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        try:
            if self._with_quality:
                _FAST.closeQ(self._ph)
        finally:
            _FAST.closeH(self._ph)


def _set_values(
    restore: _Restore,
    get: Callable[[Any, int, int], float],
    put: Callable[[Any, int, int, float], Any],
    ph: Any,
    indices: list[int],
    prop: int,
    value: float,
) -> None:
    """Set one property on many elements, registering the old values for restoring."""
    old = [get(ph, i, prop) for i in indices]

    def undo() -> None:
        for i, v in zip(indices, old, strict=True):
            put(ph, i, prop, v)

    restore.callback(undo)
    for i in indices:
        put(ph, i, prop, value)


def _mg_l_to_chemical_units(chemical: Chemical) -> float:
    """Factor from mg/L to the chemical's own units (mg/L or ug/L)."""
    return 1.0 if chemical.units.lower() == "mg/l" else 1e3


def _quality_factor(quality: QualitySpec) -> float:
    """Factor from EPANET's reported quality to waterops units."""
    if isinstance(quality, WaterAge):
        return 3600.0  # hours -> s
    if isinstance(quality, Trace):
        return 0.01  # percent -> fraction
    return 1.0 if quality.units.lower() == "mg/l" else 1e-3  # ug/L -> mg/L


def _negative_pressures(
    pressure_m: npt.NDArray[np.float64],
    times: list[int],
    node_ids: list[str],
    n_junctions: int,
) -> list[SimulationWarning]:
    """One warning per junction whose pressure went below zero at a report time (junctions
    are the first ``n_junctions`` columns: EPANET numbers them before tanks and reservoirs)."""
    junctions = pressure_m[:, :n_junctions]
    if junctions.size == 0:
        return []
    # One numpy reduction (the lowest of each junction), the rest in plain Python: any
    # further numpy function (argmax, nonzero …) cost more, the first time in a run, than
    # these loops over a few thousand junctions.
    lowest_m = junctions.min(axis=0).tolist()
    found = []
    for col in [col for col, lowest in enumerate(lowest_m) if lowest < 0.0]:  # usually none
        lowest = lowest_m[col]
        first = next(row for row, value in enumerate(junctions[:, col].tolist()) if value < 0.0)
        node_id = node_ids[col]
        found.append(
            SimulationWarning(
                "negative_pressure",
                node_id,
                times[first],
                f"negative pressure at junction {node_id} (lowest {lowest:.2f} m)",
            )
        )
    return found


def _close_quietly(handle: Any) -> None:
    """Close and delete a toolkit project, ignoring 'not open' complaints."""
    for step in (_FAST.close, _FAST.deleteproject):
        with suppress(Exception):  # closing a half-opened project is best effort
            step(handle)
