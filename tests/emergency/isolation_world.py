"""A small network whose segments and isolation plans are known by inspection.

::

    R1 ==P1== J1 --P2-- J2 --P3-- J3 --P4-- J4 --P5-- J5
               \\        /
                P6-J6-P7

Valves (link @ node)::

    V1 P2@J1   V2 P2@J2   V3 P3@J3   V4 P4@J4   V5 P6@J1   V6 P7@J2

Segments, read off the drawing:

    A = {R1, J1, P1}   the source
    B = {P2}           a pipe between two valves, no node
    C = {J2, P3}       boundary valves V2, V3, V6
    D = {J6, P6, P7}   boundary valves V5, V6
    E = {J3, P4}       boundary valves V3, V4
    F = {J4, J5, P5}   boundary valve V4

Isolating P3 (segment C) closes V2, V3, V6 and cuts E and F off from the reservoir: J3, J4
and J5 lose water although nothing is wrong with them (the unintended isolation).
"""

from __future__ import annotations

from pathlib import Path

from waterops.model.utility import CriticalUser, CriticalUserKind, Customer, CustomerKind
from waterops.model.valve_layer import ValveLayer, valve_layer_of

DEMANDS_LS = {"J1": 0.5, "J2": 1.0, "J3": 2.0, "J4": 3.0, "J5": 4.0, "J6": 5.0}

INP = """[TITLE]
isolation test network

[JUNCTIONS]
;ID  Elev  Demand
J1   0     0.5
J2   0     1.0
J3   0     2.0
J4   0     3.0
J5   0     4.0
J6   0     5.0

[RESERVOIRS]
R1   50

[PIPES]
;ID  Node1  Node2  Length  Diameter  Roughness  MinorLoss  Status
P1   R1     J1     100     300       120        0          Open
P2   J1     J2     100     200       120        0          Open
P3   J2     J3     100     200       120        0          Open
P4   J3     J4     100     150       120        0          Open
P5   J4     J5     100     100       120        0          Open
P6   J1     J6     100     200       120        0          Open
P7   J6     J2     100     200       120        0          Open

[OPTIONS]
Units  LPS
Headloss  H-W

[TIMES]
Duration  0

[COORDINATES]
R1  0    0
J1  100  0
J2  200  0
J3  300  0
J4  400  0
J5  500  0
J6  150  -80

[END]
"""

VALVES_CSV = """# valves of the isolation test network
valve_id,link,node
V1,P2,J1
V2,P2,J2
V3,P3,J3
V4,P4,J4
V5,P6,J1
V6,P7,J2
"""

LAYER: ValveLayer = valve_layer_of([
    ("V1", "P2", "J1"), ("V2", "P2", "J2"), ("V3", "P3", "J3"), ("V4", "P4", "J4"),
    ("V5", "P6", "J1"), ("V6", "P7", "J2"),
])

CUSTOMERS = (
    Customer("H1", CustomerKind.HOUSEHOLD, "Household 1", "J2", "M1", 0.5),
    Customer("H2", CustomerKind.HOUSEHOLD, "Household 2", "J3", "M2", 0.5),
    Customer("E1", CustomerKind.ENTERPRISE, "Factory", "J4", "M3", 1.0),
    Customer("H3", CustomerKind.HOUSEHOLD, "Household 3", "J6", "M4", 0.5),
)
CRITICAL = (CriticalUser("HOS-1", CriticalUserKind.HOSPITAL, "Hospital", "J5"),)


def write_world(folder: Path) -> tuple[Path, Path]:
    """Write the network and its valve layer into ``folder``: (inp path, csv path)."""
    inp = folder / "isolation.inp"
    csv = folder / "isolation_valves.csv"
    inp.write_text(INP, encoding="utf-8")
    csv.write_text(VALVES_CSV, encoding="utf-8")
    return inp, csv
