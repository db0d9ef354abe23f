"""The store: one SQLAlchemy 2 async engine and the declarative base every capability's models use."""

from callcore.store.base import Base, UTCDateTime, utcnow
from callcore.store.db import Database

__all__ = ["Base", "Database", "UTCDateTime", "utcnow"]
