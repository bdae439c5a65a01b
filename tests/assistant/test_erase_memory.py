"""``linkage person erase`` clears the assistant's memory of a conversation: the Rasa server keeps its
trackers in memory, and the hub replaces a conversation's events through Rasa's HTTP API with the
API token (hub/assistant_memory.py). Against the session's real Rasa server."""

from __future__ import annotations

from sqlalchemy import select

from hub import assistant_memory
from telecare.enquiry.models import Enquiry


def test_erasure_clears_the_conversation_from_the_assistants_memory(assistant_stack):
    stack = assistant_stack
    stack.say("erase-me-please", "I'm lonely since my husband died, I live in AV1 2AB")
    with stack.sessions() as s:
        cid = s.scalar(select(Enquiry.conversation_id).where(Enquiry.conversation_id == "rest:erase-me-please"))
    assert cid == "rest:erase-me-please"
    said = [e for e in stack.tracker(cid)["events"] if e.get("event") == "user"]
    assert said and "husband" in said[0]["text"]

    wrong = assistant_memory.clear([cid], base_url=stack.rasa_url, token="not-the-token")
    assert wrong.cleared == 0 and wrong.failed and "LINKAGE_RASA_TOKEN" in wrong.failed[0]
    done = assistant_memory.clear([cid], base_url=stack.rasa_url, token=stack.rasa_token)
    assert done.cleared == 1 and not done.failed and not done.unreachable
    events = stack.tracker(cid)["events"]
    assert not [e for e in events if e.get("event") == "user"]
    assert "husband" not in str(events)
