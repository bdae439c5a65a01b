"""Notifications (every outbound message or call) and replies (every inbound answer)."""
