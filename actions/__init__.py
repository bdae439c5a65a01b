"""Rasa custom actions: thin calls into ``telecare`` (built with the assistant issue)."""
