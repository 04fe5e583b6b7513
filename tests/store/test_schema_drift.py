"""The migrations build exactly the schema the tables declare (no drift between the
``metadata`` the code uses and what Alembic creates), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from territorial.store import metadata, open_store


def _relevant(diff: object) -> bool:
    # Server defaults and comments are not declared on both sides; types and columns are.
    op = diff[0] if isinstance(diff, tuple) else diff[0][0]  # type: ignore[index]
    return op not in ("modify_default", "modify_comment")


def test_migrations_match_the_declared_tables(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_name": _include}
        )
        diffs = [d for d in compare_metadata(context, metadata) if _relevant(d)]
    assert diffs == [], diffs


def _include(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    return not (type_ == "table" and name == "alembic_version")
