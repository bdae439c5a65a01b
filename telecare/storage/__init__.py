"""Storage: the SQLAlchemy base, engines for SQLite and PostgreSQL, and Alembic migrations."""
from .base import Base, UTCDateTime
from .engine import default_database_url, make_engine, make_session_factory
from .migrate import upgrade

__all__ = ["Base", "UTCDateTime", "default_database_url", "make_engine", "make_session_factory", "upgrade"]
