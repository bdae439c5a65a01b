"""The wellbeing watch: virtual sensors computed from raw activity events (bed absence,
the front door at night, daytime inactivity). See docs/architecture.md, "Wellbeing watch"."""
