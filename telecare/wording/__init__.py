"""What residents and their contacts read and hear from the hub, one module per channel.

- ``sms``: texts (alert SMS, access notes, replies to answers, check-in and follow-up texts);
- ``voice``: what calls say (the alert call, the check-in call, the follow-up call, TwiML goodbyes);
- ``phrases``: the pieces both channels share (what an alert type is called, first names, times).

A leaf: it imports nothing from the rest of ``telecare``, so every domain package and the hub's
TwiML can use it without an import cycle (tests/test_package_cycles.py). Functions take plain
values (or any object with the attributes named in ``phrases``' protocols); which words to use
(the decision) stays with the domain, the words themselves live here. The Rasa assistant keeps
its own responses (assistant/domain.yml, telecare/assistant).
"""
