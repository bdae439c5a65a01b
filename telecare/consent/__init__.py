"""Consent as a record (issue 12): what a person agreed to (the wording shown), by whom, when, on which
channel, for which service; and its withdrawal (replying STOP to any Linkage SMS), with its time and
channel. ``opted_out`` is what the rest of the hub asks before texting or paging a number."""
