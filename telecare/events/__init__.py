"""Device events: the catalogue of types, payload validation, storage and dead letters."""
