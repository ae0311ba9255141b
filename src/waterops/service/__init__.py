"""Use cases: twin, alarms, incidents, connections, complaints, planning."""
