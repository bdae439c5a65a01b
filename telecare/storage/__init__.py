"""Storage: the SQLAlchemy base, engines for SQLite and PostgreSQL, and Alembic migrations."""

from .base import Base, UTCDateTime
from .engine import make_engine, make_session_factory, normalise_url
from .migrate import upgrade

__all__ = ["Base", "UTCDateTime", "make_engine", "make_session_factory", "normalise_url", "upgrade"]
