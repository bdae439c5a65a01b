"""Daily check-in calls: schedules in the resident's local time, the call or SMS and its
retries, the answers (fine, not so good, help, a chat), replies on a resident's behalf,
drift over the weeks, and the Betty pattern. See docs/architecture.md, "Check-ins"."""
