"""Request and response bodies of the JSON API, one module per area (DESIGN.md, "HTTP API"):
alerts (alerts, notifications, sandbox replies), site (devices, settings, dead letters, health),
checkins (check-ins and the watch), helpline (the directory of services and the helpline's records)."""
