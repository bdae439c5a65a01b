"""Rasa custom actions: thin calls into ``telecare``.

The hub serves them (POST /assistant/actions/webhook) with rasa_sdk's executor, after
``actions.context.configure`` has given them the hub's database sessions and clock.
"""
