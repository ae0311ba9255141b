"""Synthetic pipe registers with a known break model, for the demo, tests and benchmarks.

The demo network has materials and install years (its [TAGS], ``CI-1978``, drawn by diameter
class and era in ``tools/build_demo_network.py``) but no roads and no failure history. This
module adds both, deterministically from a seed, so that everything downstream (fitting,
risk, plans) can be run and checked against the truth:

* **Roads**: pipes are grouped into road segments by walking the network from each pipe not
  yet grouped to its neighbours (pipes sharing a node, of the same diameter class) until the
  segment is 300-1,500 m long (drawn); a segment's road class follows its widest pipe
  (≥ 600 mm arterial, ≥ 300 mm secondary, ≥ 150 mm branch, else a community road; trunk
  mains outside the city, ``TM-``/``RW-``, expressway).
* **Failures**: drawn from the Shamir-Howard law ``N(age) = N0 · e^{A·age}`` per material
  with the parameters :data:`TRUE_LAWS` (orders of magnitude of published rates: grey cast
  iron and galvanised steel deteriorate fastest, ductile iron and PE slowest); 70 % are
  breaks, 30 % leaks; the day of the year is uniform.

:func:`synthetic_pipes` makes a register of any size without a network (benchmarks: 100,000
pipes on about 10,000 roads), with materials by era as above.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from waterops.errors import RegisterError
from waterops.planning.register import PipeRegister, make_register

if TYPE_CHECKING:
    from waterops.model.network import Network

TRUE_LAWS: dict[str, tuple[float, float]] = {
    "CI": (0.08, 0.035),
    "GS": (0.15, 0.045),
    "DI": (0.03, 0.020),
    "PE": (0.04, 0.015),
    "STEEL": (0.05, 0.025),
    "PCCP": (0.01, 0.030),
    "PVC": (0.06, 0.020),
    "AC": (0.10, 0.030),
}
"""Synthetic truth: (N0 [failures/km/year of a new pipe], A [1/year]) per material."""

DEFAULT_HISTORY = (2011, 2025)
"""Years of the synthetic failure history."""
BREAK_SHARE = 0.7
"""Share of failures that are breaks (the rest are leaks)."""
_DEFAULT_MATERIAL = ("DI", 2005)


def road_class_of(diameter_m: float, trunk: bool = False) -> str:
    """Road class of a segment by its widest pipe (see module)."""
    if trunk:
        return "expressway"
    if diameter_m >= 0.6:
        return "arterial"
    if diameter_m >= 0.3:
        return "secondary"
    if diameter_m >= 0.15:
        return "branch"
    return "community"


def _diameter_class(diameter_m: float) -> int:
    return int(np.searchsorted([0.15, 0.3, 0.6, 1.2], diameter_m, side="right"))


def _material_tags(network: Network) -> dict[str, tuple[str, int]]:
    tags = network.tags
    links = tags[tags["kind"].astype(str).str.upper() == "LINK"]
    found = {}
    for element, tag in zip(links["element"], links["tag"], strict=True):
        code, _, year = str(tag).rpartition("-")
        if code and year.isdigit():
            found[str(element)] = (code.upper(), int(year))
    return found


def group_roads(network: Network, seed: int = 7) -> pd.Series:
    """Road segment id of every pipe (see module), ``R0001`` … in order of discovery."""
    rng = np.random.default_rng(seed)
    pipes = network.pipes
    at_node: dict[str, list[str]] = defaultdict(list)
    for pipe_id, a, b in zip(pipes.index, pipes["node1"], pipes["node2"], strict=True):
        at_node[str(a)].append(str(pipe_id))
        at_node[str(b)].append(str(pipe_id))
    length = pipes["length_m"].astype(float).to_dict()
    cls = {p: _diameter_class(d) for p, d in pipes["diameter_m"].astype(float).items()}
    ends = {str(p): (str(a), str(b)) for p, a, b in
            zip(pipes.index, pipes["node1"], pipes["node2"], strict=True)}
    road_of: dict[str, str] = {}
    number = 0
    for start in map(str, pipes.index):
        if start in road_of:
            continue
        number += 1
        road = f"R{number:04d}"
        target_m = float(rng.uniform(300.0, 1500.0))
        run_m = 0.0
        queue = deque([start])
        while queue and run_m < target_m:
            pipe = queue.popleft()
            if pipe in road_of:
                continue
            road_of[pipe] = road
            run_m += length[pipe]
            for node in ends[pipe]:
                for nxt in at_node[node]:
                    if nxt not in road_of and cls[nxt] == cls[pipe]:
                        queue.append(nxt)
    return pd.Series(road_of, name="road_id").reindex(pipes.index.astype(str))


def draw_failures(pipes: pd.DataFrame, history_years: tuple[int, int], seed: int,
                  laws: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Failures drawn from the Shamir-Howard laws (default :data:`TRUE_LAWS`)."""
    laws = laws or TRUE_LAWS
    rng = np.random.default_rng(seed)
    first, last = history_years
    span = np.arange(first, last + 1)
    install = pipes["install_year"].to_numpy()
    km = pipes["length_m"].to_numpy(dtype=np.float64) / 1000.0
    n0 = pipes["material"].map({m: v[0] for m, v in laws.items()}).to_numpy(dtype=np.float64)
    ageing = pipes["material"].map({m: v[1] for m, v in laws.items()}).to_numpy(
        dtype=np.float64)
    if np.isnan(n0).any():
        missing = pipes["material"][np.isnan(n0)].iloc[0]
        raise RegisterError("synthetic register", f"no true law for material {missing!r}")
    age = span[None, :] - install[:, None]
    mean = np.where(age > 0, km[:, None] * n0[:, None] * np.exp(ageing[:, None] * age), 0.0)
    counts = rng.poisson(mean)
    pipe_pos, year_pos = np.nonzero(counts)
    repeats = counts[pipe_pos, year_pos]
    pipe_pos, year_pos = np.repeat(pipe_pos, repeats), np.repeat(year_pos, repeats)
    day = rng.integers(0, 365, size=pipe_pos.size)
    dates = (pd.to_datetime(span[year_pos].astype(str), format="%Y")
             + pd.to_timedelta(day, unit="D"))
    kind = np.where(rng.random(pipe_pos.size) < BREAK_SHARE, "break", "leak")
    return pd.DataFrame({"pipe_id": pipes.index.to_numpy()[pipe_pos],
                         "date": dates.astype("datetime64[s]"), "kind": kind})


def demo_register(network: Network, *, seed: int = 7, system: str = "demo",
                  history_years: tuple[int, int] = DEFAULT_HISTORY,
                  pressure_m: pd.Series | None = None) -> PipeRegister:
    """The register of a network: materials and years from its tags, synthetic roads and
    failures (see module). ``pressure_m`` (node → mean pressure [m]) fills the pipes' mean
    pressure (mean of their two end nodes)."""
    pipes = network.pipes
    tags = _material_tags(network)
    material = [tags.get(str(p), _DEFAULT_MATERIAL) for p in pipes.index]
    roads = group_roads(network, seed)
    road_diameter = pipes["diameter_m"].groupby(roads.to_numpy()).max()
    road_trunk = pd.Series(pipes.index.astype(str).str.match(r"^(TM|RW)-"),
                           index=pipes.index).groupby(roads.to_numpy()).all()
    road_class = {r: road_class_of(float(road_diameter[r]), bool(road_trunk[r]))
                  for r in road_diameter.index}
    table = pd.DataFrame({
        "system": system,
        "material": [m for m, _ in material],
        "diameter_m": pipes["diameter_m"].astype(float).to_numpy(),
        "install_year": [y for _, y in material],
        "length_m": pipes["length_m"].astype(float).to_numpy(),
        "road_id": roads.to_numpy(),
        "road_class": [road_class[r] for r in roads],
        "pressure_m": math.nan,
    }, index=pd.Index(pipes.index.astype(str), name="pipe_id"))
    if pressure_m is not None:
        ends = pipes[["node1", "node2"]].astype(str)
        table["pressure_m"] = ((ends["node1"].map(pressure_m) + ends["node2"].map(pressure_m))
                               / 2.0).to_numpy()
    table = table[table["install_year"] < history_years[1]]
    breaks = draw_failures(table, history_years, seed + 1)
    return make_register(table, breaks, history_years, source=f"demo register (seed {seed})")


# material by era: (material, first install year, last install year, weight) per size class
_ERAS: tuple[tuple[float, tuple[tuple[str, int, int, float], ...]], ...] = (
    (0.1, (("GS", 1975, 2000, 0.45), ("PE", 2005, 2023, 0.40), ("CI", 1965, 1995, 0.15))),
    (0.3, (("CI", 1960, 1995, 0.35), ("DI", 1995, 2023, 0.45), ("PE", 2005, 2023, 0.20))),
    (0.6, (("CI", 1960, 1995, 0.30), ("DI", 1995, 2023, 0.65), ("STEEL", 1980, 2010, 0.05))),
    (1.6, (("DI", 1998, 2023, 0.5), ("STEEL", 1980, 2015, 0.3), ("PCCP", 1990, 2015, 0.2))),
)
_DIAMETERS_M = (0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
_DIAMETER_WEIGHTS = (0.08, 0.1, 0.22, 0.2, 0.16, 0.1, 0.05, 0.04, 0.03, 0.015, 0.005)


def synthetic_pipes(n_pipes: int, *, pipes_per_road: float = 10.0, seed: int = 7,
                    history_years: tuple[int, int] = DEFAULT_HISTORY) -> PipeRegister:
    """A register of ``n_pipes`` pipes on about ``n_pipes / pipes_per_road`` roads, with
    failures from :data:`TRUE_LAWS` (no network; benchmarks and tests)."""
    if n_pipes < 1:
        raise RegisterError("synthetic register", f"needs at least one pipe, got {n_pipes}")
    rng = np.random.default_rng(seed)
    n_roads = max(1, round(n_pipes / pipes_per_road))
    road = np.sort(rng.integers(0, n_roads, size=n_pipes))
    # a road has one diameter class: its pipes share the road's size, mostly
    road_diameter = rng.choice(len(_DIAMETERS_M), size=n_roads,
                               p=np.asarray(_DIAMETER_WEIGHTS) / sum(_DIAMETER_WEIGHTS))
    diameter = np.asarray(_DIAMETERS_M)[road_diameter[road]]
    material = np.empty(n_pipes, dtype=object)
    year = np.empty(n_pipes, dtype=np.int64)
    upper = np.asarray([u for u, _ in _ERAS])
    size_class = np.minimum(np.searchsorted(upper, diameter, side="left"), len(_ERAS) - 1)
    for k, (_, choices) in enumerate(_ERAS):
        rows = np.flatnonzero(size_class == k)
        weights = np.asarray([w for *_, w in choices])
        pick = rng.choice(len(choices), size=rows.size, p=weights / weights.sum())
        for j, (code, first, last, _) in enumerate(choices):
            chosen = rows[pick == j]
            material[chosen] = code
            year[chosen] = rng.integers(first, last + 1, size=chosen.size)
    length = np.round(rng.lognormal(math.log(80.0), 0.6, size=n_pipes), 1) + 1.0
    road_ids = np.asarray([f"R{r:05d}" for r in range(n_roads)], dtype=object)
    table = pd.DataFrame({
        "system": "synthetic", "material": material, "diameter_m": diameter,
        "install_year": year, "length_m": length, "road_id": road_ids[road],
        "road_class": np.asarray([road_class_of(_DIAMETERS_M[k]) for k in road_diameter],
                                 dtype=object)[road],
        "pressure_m": np.round(rng.uniform(20.0, 50.0, size=n_pipes), 1),
    }, index=pd.Index([f"P{i:06d}" for i in range(n_pipes)], name="pipe_id"))
    breaks = draw_failures(table, history_years, seed + 1)
    return make_register(table, breaks, history_years, source=f"synthetic register "
                                                              f"(seed {seed})")
