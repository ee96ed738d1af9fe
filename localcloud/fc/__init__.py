"""The local FC runtime: functions from ``s.yaml`` run in worker processes, fed by triggers."""
