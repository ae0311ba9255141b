"""A small tree network whose contamination answers are known by inspection.

    R --P1--> J1 --P2--> J2 --P3--> J3 --P5--> S1   (S1 draws 10 L/s)
                          \\
                           `--P4--> J4 --P6--> S2   (S2 draws 10 L/s)

Every pipe is DN200 (area 0.031416 m²). P3..P6 carry 10 L/s (0.3183 m/s): 1,145.9 m takes
exactly 1 h. P1 and P2 carry 20 L/s (0.6366 m/s): 2,291.8 m takes 1 h. No loops, one source:
water at S1 and S2 is all water that passed J2, so a set-point injection of C at J2 arrives
undiluted at S1 and S2 two hours later, and never reaches J1.
"""

from __future__ import annotations

from pathlib import Path

ONE_HOUR_10LPS_M = 0.010 / (3.141592653589793 * 0.2**2 / 4) * 3600
ONE_HOUR_20LPS_M = 2 * ONE_HOUR_10LPS_M

TREE_INP = f"""[TITLE]
tree network for contamination tests

[JUNCTIONS]
;ID  Elev  Demand  Pattern
J1   0     0
J2   0     0
J3   0     0
J4   0     0
S1   0     10
S2   0     10

[RESERVOIRS]
R    60

[PIPES]
;ID  N1  N2  Length  Diam  Rough  Minor  Status
P1   R   J1  {ONE_HOUR_20LPS_M:.3f}  200  130  0  Open
P2   J1  J2  {ONE_HOUR_20LPS_M:.3f}  200  130  0  Open
P3   J2  J3  {ONE_HOUR_10LPS_M:.3f}  200  130  0  Open
P4   J2  J4  {ONE_HOUR_10LPS_M:.3f}  200  130  0  Open
P5   J3  S1  {ONE_HOUR_10LPS_M:.3f}  200  130  0  Open
P6   J4  S2  {ONE_HOUR_10LPS_M:.3f}  200  130  0  Open

[TIMES]
DURATION           24:00
HYDRAULIC TIMESTEP 1:00
QUALITY TIMESTEP   0:05
REPORT TIMESTEP    1:00

[OPTIONS]
UNITS    LPS
HEADLOSS H-W
QUALITY  NONE

[END]
"""


def write_tree(folder: Path) -> Path:
    """Write the tree network into ``folder`` and return its path."""
    path = folder / "tree.inp"
    path.write_text(TREE_INP)
    return path
