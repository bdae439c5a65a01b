"""Retention: how long each kind of record is kept, and the daily run that removes or blanks what is
older (docs/data-protection.md). Periods are site settings (``retention:`` in the site file)."""
