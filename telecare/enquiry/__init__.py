"""The helpline's records: enquiries (one per conversation with the assistant), the
introductions made with consent and their follow-ups, call-back requests and requests for
daily check-in calls."""
