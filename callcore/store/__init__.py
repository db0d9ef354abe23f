"""The store: one SQLAlchemy 2 async engine and the declarative base every capability's models use."""

from callcore.store.base import Base, UTCDateTime, utcnow
from callcore.store.db import Database, DatabaseUnavailable

__all__ = ["Base", "Database", "DatabaseUnavailable", "UTCDateTime", "utcnow"]
