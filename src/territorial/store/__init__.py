"""The relational store: schema, engine, migrations and data-access functions."""

from territorial.store.engine import describe_url, migrate, open_store
from territorial.store.tables import metadata

__all__ = ["describe_url", "metadata", "migrate", "open_store"]
