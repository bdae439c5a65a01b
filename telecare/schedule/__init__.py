"""Schedules: rota shifts and time windows in local time (midnight, weekends, clock changes)."""
