"""Export a network to GeoJSON: nodes as Points, links as LineStrings through their vertices.

Properties are SI with unit-suffixed names (``elevation_m``, ``diameter_m`` …), plus ``id``,
``kind`` and the element's ``tag``. Coordinates stay in the file's own system unless the
source CRS is given (e.g. ``"EPSG:4547"``); then they are reprojected to WGS84 with pyproj,
longitude first (RFC 7946). A top-level ``coordinate_system`` member says which it is.
Elements without coordinates (a node, or a link with an end node) are left out and counted.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from waterops.errors import CoordinateSystemError, NetworkFileError
from waterops.model.network import Network

WGS84 = "EPSG:4326"

_NODE_TABLES = (("junction", "junctions"), ("reservoir", "reservoirs"), ("tank", "tanks"))
_LINK_TABLES = (("pipe", "pipes"), ("pump", "pumps"), ("valve", "valves"))


def _plain(value: Any) -> Any:
    """A JSON-ready value: NaN/NA become null, numpy scalars Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if pd.isna(value) is True:
        return None
    return value.item() if hasattr(value, "item") else value


def _transformer(source_crs: str) -> Transformer:
    try:
        crs = CRS.from_user_input(source_crs)
    except CRSError as exc:
        raise CoordinateSystemError(
            f"unknown coordinate reference system {source_crs!r}: {exc}") from None
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def network_to_geojson(net: Network, *, source_crs: str | None = None) -> dict[str, Any]:
    """The network as a GeoJSON FeatureCollection (a dict ready for :func:`json.dump`).

    Parameters
    ----------
    net : the network
    source_crs : CRS of the network's coordinates (``"EPSG:4547"``, a PROJ string …);
        given, coordinates are reprojected to WGS84 (lon, lat) [degrees]; ``None`` keeps
        them as they are in the file

    Raises
    ------
    CoordinateSystemError
        if ``source_crs`` is not a known coordinate reference system.
    """
    coords = net.coordinates
    xs, ys = coords["x"].to_numpy(dtype=float), coords["y"].to_numpy(dtype=float)
    vx, vy = net.vertices["x"].to_numpy(dtype=float), net.vertices["y"].to_numpy(dtype=float)
    if source_crs is not None:
        transformer = _transformer(source_crs)
        xs, ys = transformer.transform(xs, ys)
        vx, vy = transformer.transform(vx, vy)
    position = {node: (float(x), float(y)) for node, x, y in zip(coords.index, xs, ys,
                                                                 strict=True)}
    bends: dict[str, list[tuple[float, float]]] = {}
    for link, x, y in zip(net.vertices["link"].tolist(), vx, vy, strict=True):
        bends.setdefault(link, []).append((float(x), float(y)))
    tags = {(kind, element): tag for kind, element, tag in zip(
        net.tags["kind"].tolist(), net.tags["element"].tolist(), net.tags["tag"].tolist(),
        strict=True)}

    features: list[dict[str, Any]] = []
    left_out = {"nodes": 0, "links": 0}
    for kind, name in _NODE_TABLES:
        table: pd.DataFrame = getattr(net, name)
        for node, row in zip(table.index, table.to_dict("records"), strict=True):
            if node not in position:
                left_out["nodes"] += 1
                continue
            props = {"id": node, "kind": kind, **{k: _plain(v) for k, v in row.items()},
                     "tag": tags.get(("NODE", node))}
            features.append({"type": "Feature", "id": f"node/{node}",
                             "geometry": {"type": "Point", "coordinates": list(position[node])},
                             "properties": props})
    for kind, name in _LINK_TABLES:
        table = getattr(net, name)
        for link, row in zip(table.index, table.to_dict("records"), strict=True):
            ends = (row["node1"], row["node2"])
            if ends[0] not in position or ends[1] not in position:
                left_out["links"] += 1
                continue
            line = [position[ends[0]], *bends.get(link, []), position[ends[1]]]
            props = {"id": link, "kind": kind, **{k: _plain(v) for k, v in row.items()},
                     "tag": tags.get(("LINK", link))}
            features.append({"type": "Feature", "id": f"link/{link}",
                             "geometry": {"type": "LineString",
                                          "coordinates": [list(p) for p in line]},
                             "properties": props})
    if source_crs is None:
        system = {"source_crs": None, "reprojected_to": None,
                  "note": "coordinates as in the network file (no CRS given, not reprojected)"}
    else:
        system = {"source_crs": source_crs, "reprojected_to": WGS84,
                  "note": "longitude, latitude in degrees (RFC 7946)"}
    return {"type": "FeatureCollection", "name": net.title[0] if net.title else "network",
            "coordinate_system": system, "left_out": left_out, "features": features}


def write_geojson(net: Network, path: str | Path, *, source_crs: str | None = None) -> None:
    """Write :func:`network_to_geojson` to ``path`` (replaced atomically).

    Raises
    ------
    CoordinateSystemError
        if ``source_crs`` is unknown
    NetworkFileError
        if the file cannot be written
    """
    document = network_to_geojson(net, source_crs=source_crs)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise NetworkFileError(target, None, f"cannot write the file: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, allow_nan=False)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NetworkFileError(target, None, f"cannot write the file: {exc.strerror}") from None
