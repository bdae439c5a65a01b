"""Escalation: who is told about an alert, how, and when the next person is tried."""
