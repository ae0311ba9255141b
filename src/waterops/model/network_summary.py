"""Figures that describe a network: element counts, pipe length by diameter and by material.

Pure functions on a :class:`~waterops.model.network.Network`; the CLI and the web show them.
"""

from __future__ import annotations

import re

import pandas as pd

from waterops.model.network import Network

UNTAGGED = "(untagged)"
_TAG_WITH_YEAR = re.compile(r"^(?P<material>.+?)[-_ ](?P<year>(18|19|20)\d\d)$")


def element_counts(net: Network) -> dict[str, int]:
    """Number of each kind of element, pattern, curve and control."""
    return {
        "junctions": len(net.junctions),
        "reservoirs": len(net.reservoirs),
        "tanks": len(net.tanks),
        "pipes": len(net.pipes),
        "pumps": len(net.pumps),
        "valves": len(net.valves),
        "extra demand categories": len(net.demands),
        "quality sources": len(net.sources),
        "patterns": len(net.patterns),
        "curves": len(net.curves),
        "controls": len(net.controls),
        "rules": len(net.rules),
    }


def pipe_length_by_diameter(net: Network) -> pd.DataFrame:
    """Pipes and total length per diameter.

    Returns
    -------
    DataFrame
        index ``diameter_mm`` [mm] (rounded to 0.1 mm), columns ``pipes`` and
        ``length_km`` [km], smallest diameter first
    """
    pipes = net.pipes
    diameter_mm = (pipes["diameter_m"] * 1e3).round(1).rename("diameter_mm")
    grouped = pipes.groupby(diameter_mm)["length_m"].agg(["count", "sum"])
    return pd.DataFrame({"pipes": grouped["count"].astype(int),
                         "length_km": grouped["sum"] / 1e3}).sort_index()


def pipe_material(tag: str) -> str:
    """The material in a pipe tag: ``"DI-1998"`` -> ``"DI"``; other tags are kept whole."""
    match = _TAG_WITH_YEAR.match(tag)
    return match.group("material") if match else tag


def pipe_length_by_material(net: Network) -> pd.DataFrame:
    """Pipes and total length per material, read from the pipes' [TAGS].

    Tags such as ``DI-1998`` (material and year laid) count under their material (``DI``);
    pipes without a tag count under :data:`UNTAGGED`.

    Returns
    -------
    DataFrame
        index ``material``, columns ``pipes`` and ``length_km`` [km], longest first
    """
    link_tags = net.tags[net.tags["kind"] == "LINK"]
    tag_of = dict(zip(link_tags["element"].tolist(), link_tags["tag"].tolist(), strict=True))
    material = pd.Series(
        [pipe_material(tag_of[p]) if p in tag_of else UNTAGGED for p in net.pipes.index],
        index=net.pipes.index, name="material", dtype=object)
    grouped = net.pipes.groupby(material)["length_m"].agg(["count", "sum"])
    table = pd.DataFrame({"pipes": grouped["count"].astype(int),
                          "length_km": grouped["sum"] / 1e3})
    return table.sort_values("length_km", ascending=False)
