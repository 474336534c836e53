"""The whole schema: every table module, registered on one MetaData (for migrations and
tests that create or compare all of it)."""

from appointments.adapters.sqlalchemy import calendar_tables, feed_tables
from appointments.adapters.sqlalchemy.tables import metadata

__all__ = ["calendar_tables", "feed_tables", "metadata"]
