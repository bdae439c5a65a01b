"""Custom Rasa graph components of the helpline assistant (loaded by config.yml by dotted path)."""
