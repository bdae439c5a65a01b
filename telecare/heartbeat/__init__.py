"""Device supervision: a device that misses its heartbeat, or a home unit whose Last Will
says offline, raises ``device_offline``: the difference between "no alarm" and "no alarm possible"."""
