"""Metabolism: the WAKE/FOCUS/DREAM/REST/CRISIS states, the ATP ledger, the scheduler and
the KV-cache snapshots that let SAGE live on a device for months."""
