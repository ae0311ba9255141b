"""Data shipped with waterops: the demo utility's network.

The files are package data, found with :mod:`importlib.resources`, so they work from a source
checkout and from an installed wheel alike. Origins and licences are in
``waterops/data/networks/README.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from waterops.errors import NetworkFileError

DEMO_NETWORK_FILE = "demo_city.inp"
DEMO_VALVES_FILE = "demo_valves.csv"
DEMO_NETWORK_CRS = "EPSG:4547"
"""CRS of the demo network's coordinates: CGCS2000 / 3-degree Gauss-Kruger CM 114E (X easting,
Y northing, metres)."""


def networks_dir() -> Path:
    """Directory of the bundled network files."""
    return Path(str(resources.files(__package__) / "networks"))


def demo_network_path() -> Path:
    """Path of the demo city network, an EPANET 2.2 .inp file in SI units (flow in L/s).

    Returns
    -------
    Path
        The bundled ``demo_city.inp`` (3,473 nodes, coordinates in :data:`DEMO_NETWORK_CRS`).

    Raises
    ------
    NetworkFileError
        If the file is missing from the installation (a broken or partial install).
    """
    path = networks_dir() / DEMO_NETWORK_FILE
    if not path.is_file():
        raise NetworkFileError(
            path, None, "the bundled demo network is missing; reinstall waterops"
        )
    return path


def demo_valve_layer_path(*, must_exist: bool = True) -> Path:
    """Path of the demo network's isolation-valve layer (CSV, built by
    ``tools/build_valve_layer.py``; read it with :func:`waterops.io.valve_layer.read_valve_layer`).

    Raises
    ------
    NetworkFileError
        If the file is missing from the installation and ``must_exist``.
    """
    path = networks_dir() / DEMO_VALVES_FILE
    if must_exist and not path.is_file():
        raise NetworkFileError(
            path, None, "the bundled demo valve layer is missing; reinstall waterops"
        )
    return path
