"""The relational store: schema, engine, migrations and data-access functions."""

from territorial.store import access as _access  # noqa: F401  (API tokens, log-in attempts)
from territorial.store import goals as _goals  # noqa: F401  (quota sets, goals)
from territorial.store import imports as _imports  # noqa: F401  (row versions, undo)
from territorial.store import planning as _planning  # noqa: F401  (territory model)
from territorial.store import routing as _routing  # noqa: F401  (rules, decisions, outbox)
from territorial.store import scores as _scores  # noqa: F401  (account_scores)
from territorial.store import workspace as _workspace  # noqa: F401  (users, sessions, audit)
from territorial.store.engine import describe_url, migrate, open_store
from territorial.store.tables import metadata

__all__ = ["describe_url", "metadata", "migrate", "open_store"]
