"""Small networks that EPANET cannot solve or warns about, shared by the engine and CLI tests."""

UNSOLVABLE = """\
[JUNCTIONS]
J1  50  2
J2  45  3.0
[RESERVOIRS]
R1  60
[PIPES]
P1  R1  J1  500   1e-12  100  0  Open
P2  J1  J2  500   200  100  0  Open
[OPTIONS]
Units LPS
[END]
"""

# J3 sits behind a closed pipe (disconnected); the pump cannot lift 20 L/s
TROUBLED = """\
[JUNCTIONS]
J1  50  20
J2  45  3.0
J3  40  1.0
[RESERVOIRS]
R1  60
[PUMPS]
PU1 R1 J1 HEAD C1
[CURVES]
C1  5  40
[PIPES]
P2  J1  J2  500   200  100  0  Open
P3  J2  J3  500   200  100  0  Closed
[OPTIONS]
Units LPS
[TIMES]
Duration 2:00
[END]
"""

# Demands jump a hundredfold every hour (pattern 1, 0.01, …); with one trial EPANET cannot
# follow the jump and balances only after freezing the link statuses ("may be unstable");
# at the high demand pressures are negative
DEMAND_JUMP = """\
[JUNCTIONS]
J1  50  100  PAT
J2  45  100  PAT
J3  40  100  PAT
J4  40  100  PAT
[RESERVOIRS]
R1  200
R2  180
[PIPES]
P1  R1  J1  500   300  100  0  Open
P2  J1  J2  500   50  100  0  Open
P3  J2  J3  500   50  100  0  Open
P4  J3  J4  500   50  100  0  Open
P5  J4  R2  500   300  100  0  Open
P6  J1  J3  800   40  100  0  Open
[PATTERNS]
PAT 1 0.01 1 0.01
[OPTIONS]
Units LPS
Trials 1
Unbalanced STOP
[TIMES]
Pattern Timestep 1:00
[END]
"""
