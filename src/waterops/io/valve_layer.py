"""Read and write an isolation-valve layer as CSV.

The file has a header and one valve a row::

    # lines starting with # are comments
    valve_id,link,node
    V00001,P-12,J-7

``link`` is the id of the link (pipe, pump or EPANET valve) the valve sits on and ``node``
the end of that link it sits next to. Further columns (diameter, status, install year …) are
allowed and ignored. Every fault is a :class:`~waterops.errors.NetworkFileError` with the
file and the line number.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from waterops.errors import NetworkFileError, NetworkModelError
from waterops.model.network import Network
from waterops.model.valve_layer import IsolationValve, ValveLayer

COLUMNS = ("valve_id", "link", "node")
"""The columns a valve-layer file must have."""


def read_valve_layer(path: str | Path, net: Network | None = None) -> ValveLayer:
    """Read a valve-layer CSV file; with ``net``, also check every valve against it.

    Raises
    ------
    NetworkFileError
        missing file, missing column, empty id, a valve id or place given twice, and (with
        ``net``) a link the network does not have or a node not at an end of its link, each
        with the line it is on.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NetworkFileError(path, None, "no such valve-layer file") from None
    except UnicodeDecodeError as exc:
        raise NetworkFileError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise NetworkFileError(path, None, f"cannot read: {exc.strerror}") from None
    return parse_valve_layer(text, net, source=path)


def parse_valve_layer(text: str, net: Network | None = None,
                      source: str | Path | None = None) -> ValveLayer:
    """Parse the text of a valve-layer CSV (see :func:`read_valve_layer`)."""
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise NetworkFileError(source, None, "empty valve-layer file (no header)")
    header_line, header_text = lines[0]
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(header_text)))]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise NetworkFileError(source, header_line,
                               f"missing column(s) {', '.join(missing)}; the header must "
                               f"name {', '.join(COLUMNS)}")
    where = {c: header.index(c) for c in COLUMNS}
    ends_of: dict[str, tuple[str, str]] | None = None
    if net is not None:
        table = net.link_table()
        ends_of = {str(k): (str(a), str(b)) for k, a, b in
                   zip(table.index, table["node1"], table["node2"], strict=True)}
    valves: list[IsolationValve] = []
    seen_ids: dict[str, int] = {}
    seen_places: dict[tuple[str, str], int] = {}
    for number, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) < len(header):
            raise NetworkFileError(source, number,
                                   f"{len(cells)} values for {len(header)} columns")
        valve_id, link, node = (cells[where[c]].strip() for c in COLUMNS)
        for column, value in zip(COLUMNS, (valve_id, link, node), strict=True):
            if not value:
                raise NetworkFileError(source, number, f"empty {column}")
        if valve_id in seen_ids:
            raise NetworkFileError(source, number, f"valve id {valve_id!r} already on line "
                                                   f"{seen_ids[valve_id]}")
        if (link, node) in seen_places:
            raise NetworkFileError(source, number,
                                   f"a valve on link {link!r} at node {node!r} is already on "
                                   f"line {seen_places[link, node]}")
        if ends_of is not None:
            ends = ends_of.get(link)
            if ends is None:
                raise NetworkFileError(source, number,
                                       f"valve {valve_id!r}: the network has no link {link!r}")
            if node not in ends:
                raise NetworkFileError(
                    source, number, f"valve {valve_id!r}: node {node!r} is not an end of link "
                                    f"{link!r} ({ends[0]} - {ends[1]})")
        seen_ids[valve_id] = number
        seen_places[link, node] = number
        valves.append(IsolationValve(valve_id, link, node))
    try:
        return ValveLayer(tuple(valves))
    except NetworkModelError as exc:  # pragma: no cover - duplicates are caught above
        raise NetworkFileError(source, None, str(exc)) from None


def write_valve_layer(layer: ValveLayer, path: str | Path, comment: str = "") -> None:
    """Write ``layer`` as CSV (``comment`` lines first, each prefixed with ``# ``)."""
    out = io.StringIO()
    for line in comment.splitlines():
        out.write(f"# {line}\n".replace("#  ", "# ") if line else "#\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for valve in layer:
        writer.writerow((valve.valve_id, valve.link_id, valve.node_id))
    Path(path).write_text(out.getvalue(), encoding="utf-8")
