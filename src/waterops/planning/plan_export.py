"""Renewal plans out: CSV (one row per renewed pipe) and GeoJSON (the renewed pipes as lines,
for the map), and the per-road summary planners schedule works by."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from waterops.errors import RenewalPlanError
from waterops.io.geojson import network_to_geojson
from waterops.model.network import Network

CSV_COLUMNS = ("pipe_id", "road_id", "year", "length_m", "cost_yuan", "risk_reduction_yuan")
"""Columns of a plan's CSV file (SI: length in m; money in yuan)."""


def plan_csv_text(pipes: pd.DataFrame) -> str:
    """The plan's pipes as CSV text (:data:`CSV_COLUMNS`)."""
    missing = [c for c in CSV_COLUMNS if c not in pipes.columns]
    if missing:
        raise RenewalPlanError(f"the plan's pipes lack {', '.join(missing)}")
    buffer = io.StringIO()
    pipes.loc[:, list(CSV_COLUMNS)].to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def road_summary(pipes: pd.DataFrame) -> pd.DataFrame:
    """Works per road and year: pipes, length_m, cost_yuan, risk_reduction_yuan."""
    grouped = pipes.groupby(["year", "road_id"], sort=True)
    return grouped.agg(pipes=("pipe_id", "size"), length_m=("length_m", "sum"),
                       cost_yuan=("cost_yuan", "sum"),
                       risk_reduction_yuan=("risk_reduction_yuan", "sum")).reset_index()


def plan_geojson(pipes: pd.DataFrame, network: Network, *, source_crs: str | None = None,
                 name: str = "renewal plan") -> dict[str, Any]:
    """The renewed pipes as GeoJSON LineStrings with their plan year, road, cost and risk.

    Coordinates as :func:`waterops.io.geojson.network_to_geojson` gives them (WGS84 when
    ``source_crs`` is given). ``skipped`` counts plan pipes the network has no geometry for.

    Raises
    ------
    RenewalPlanError
        if no pipe of the plan is in the network (a plan of another system?).
    """
    collection = network_to_geojson(network, source_crs=source_crs)
    by_id = pipes.set_index(pipes["pipe_id"].astype(str))
    features = []
    for feature in collection["features"]:
        props = feature["properties"]
        if props.get("kind") != "pipe" or props.get("id") not in by_id.index:
            continue
        row = by_id.loc[props["id"]]
        features.append({
            "type": "Feature", "geometry": feature["geometry"],
            "properties": {
                "id": props["id"], "road_id": str(row["road_id"]), "year": int(row["year"]),
                "length_m": float(row["length_m"]), "cost_yuan": float(row["cost_yuan"]),
                "risk_reduction_yuan": float(row["risk_reduction_yuan"]),
                "diameter_m": props.get("diameter_m"), "tag": props.get("tag"),
            },
        })
    if len(pipes) and not features:
        raise RenewalPlanError("none of the plan's pipes is in the network; is it the plan "
                               "of another system?")
    result: dict[str, Any] = {"type": "FeatureCollection", "name": name, "features": features,
                              "skipped": len(pipes) - len(features)}
    if "coordinate_system" in collection:
        result["coordinate_system"] = collection["coordinate_system"]
    return result
