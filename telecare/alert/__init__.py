"""Alerts: opened by alarm events, joined, acknowledged, attended, resolved; every change on a timeline."""
