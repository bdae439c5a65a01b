"""The audit trail: every change made by a person (console, API), with who and when."""
