"""Logs without people, the assistant's half (docs/data-protection.md, "Logs"): a conversation by
REST and one by signed SMS, in which people give a name, a number, an address and say how they are,
leave none of it in the Rasa server's log nor in the hub's records (caplog at DEBUG)."""

from __future__ import annotations

import logging

from .test_channels import send_sms

SAID = ("Winifred Trelawney", "Trelawney", "3 Mill Row", "Mill Row", "since my husband died", "my hip hurts", "Ezekiel")
NUMBERS = ("07700 900 555", "07700900555", "+447700900555", "447700900555", "+447700900489", "447700900489")


def test_a_conversation_leaves_no_one_in_the_logs(assistant_stack, caplog):
    caplog.set_level(logging.DEBUG)
    log = assistant_stack.log_path
    mark = log.stat().st_size
    stack = assistant_stack
    assert stack.texts("logs-1", "Hello, I'm Winifred Trelawney of 3 Mill Row, I've been lonely since my husband died")
    stack.texts("logs-1", "yes please, my number is 07700 900 555")
    stack.texts("logs-1", "my hip hurts too")
    # a number below test_channels.new_number's 500-999, so no other test's conversation shares its tracker
    assert send_sms(stack, "+447700900489", "Hi it's Ezekiel, I feel lonely since my husband died")
    assert send_sms(stack, "+447700900489", "my hip hurts")

    written = log.read_bytes()[mark:].decode(errors="replace")
    records = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for text in (written, records):
        for word in SAID + NUMBERS:
            assert word not in text, word
