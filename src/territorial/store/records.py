"""Data access for imported records: accounts, reps, opportunities and activities.

Keyword-only functions over an engine from :func:`territorial.store.open_store`.
Reads return pandas frames with the canonical column names of
``territorial.store.tables`` and stable dtypes (see :func:`read_accounts`), built
straight from DBAPI cursors so a million rows read in seconds.

Writes go through :func:`write_import`: every table of one import is written in a
single transaction (SQLite: ``executemany`` on the raw connection; PostgreSQL:
``COPY``), so an import is either entirely stored or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON, Boolean, Date, DateTime, Float, Integer

from territorial.errors import NotFoundError, Problem, ValidationError
from territorial.store.tables import ENTITY_TABLES, imports

log = logging.getLogger(__name__)

#: Rows per ``executemany``/``COPY`` chunk: bounds the memory of a million-row write.
CHUNK_ROWS = 50_000

#: Detailed warnings kept in the ``imports`` table; the rest are counted.
MAX_STORED_WARNINGS = 1_000

#: Called with (what is happening, rows done, rows in total).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class EntityBatch:
    """Validated rows of one entity from one file, ready to write.

    ``frame`` has canonical column names (``id`` first) and typed values: text as
    ``str``, numbers as floats or nullable integers, dates and times as
    ``datetime64``, booleans, JSON columns (``attributes``, ``specialties``) as JSON
    text. Only the columns present are written on upsert: columns the file did not
    have keep their stored values.
    """

    entity: str
    frame: pd.DataFrame
    label: str = ""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one :func:`write_import` changed, per entity (row counts)."""

    import_id: int
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int]
    inserted: dict[str, int]
    updated: dict[str, int]
    deleted: dict[str, int]


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One row of the ``imports`` table."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    source: str
    status: str
    counts: dict[str, int]
    warnings: list[dict[str, Any]] = field(default_factory=list)


# --- writing ---------------------------------------------------------------------------


def write_import(
    engine: Engine,
    *,
    batch: Sequence[EntityBatch],
    source: str,
    replace: Collection[str] = (),
    warnings: Sequence[Problem] = (),
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Write validated rows in ONE transaction and record the import.

    Rows are upserted by ``id``: new ids are inserted, known ids get the columns
    the batch carries (others keep their stored values; account ``attributes`` are
    merged key by key). For each entity named in ``replace`` the rows are replaced
    wholesale: columns the batch lacks become NULL and stored rows whose id is not
    in the batch are deleted. Nothing is written if anything fails; a foreign-key
    clash (deleting an account stored opportunities still point at) raises
    :class:`ValidationError`.
    """
    unknown = {b.entity for b in batch} - set(ENTITY_TABLES)
    unknown |= set(replace) - set(ENTITY_TABLES)
    if unknown:
        raise ValueError(f"unknown entities {sorted(unknown)}; known: {list(ENTITY_TABLES)}")
    order = list(ENTITY_TABLES)
    ordered = sorted(batch, key=lambda b: order.index(b.entity))
    total = sum(len(b.frame) for b in ordered)
    started = datetime.now(UTC)
    counts = {e: 0 for e in order if any(b.entity == e for b in ordered) or e in replace}
    inserted = dict.fromkeys(counts, 0)
    updated = dict.fromkeys(counts, 0)
    deleted = dict.fromkeys(counts, 0)
    stored_warnings = [w.to_dict() for w in warnings[:MAX_STORED_WARNINGS]]
    if len(warnings) > MAX_STORED_WARNINGS:
        stored_warnings.append(
            {"reason": f"{len(warnings) - MAX_STORED_WARNINGS} more warnings not stored"}
        )
    done = 0
    try:
        with engine.begin() as conn:
            import_id = int(
                conn.execute(
                    insert(imports)
                    .values(
                        started_at=started,
                        source=source,
                        status="succeeded",
                        counts={},
                        warnings=stored_warnings,
                    )
                    .returning(imports.c.id)
                ).scalar_one()
            )
            writer = _Writer(conn, import_id)
            for entity in [e for e in order if e in replace]:
                writer.create_keep(entity)
            for item in ordered:

                def step(rows: int, item: EntityBatch = item, offset: int = done) -> None:
                    if progress is not None:
                        progress(f"writing {item.label or item.entity}", offset + rows, total)

                new, changed = writer.upsert(item, replace=item.entity in replace, step=step)
                done += len(item.frame)
                counts[item.entity] += len(item.frame)
                inserted[item.entity] += new
                updated[item.entity] += changed
            for entity in reversed([e for e in order if e in replace]):
                deleted[entity] = writer.delete_missing(entity)
            writer.drop_temporary()
            finished = datetime.now(UTC)
            conn.execute(
                update(imports)
                .where(imports.c.id == import_id)
                .values(finished_at=finished, counts=counts)
            )
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        raise ValidationError(
            "the import clashes with stored data and was not written (nothing changed)",
            [Problem(file=source, row=None, column=None, value=None, reason=reason)],
        ) from exc
    if progress is not None:
        progress("written", total, total)
    return ImportSummary(
        import_id=import_id,
        started_at=started,
        finished_at=finished,
        counts=counts,
        inserted=inserted,
        updated=updated,
        deleted=deleted,
    )


class _Writer:
    """Stages each batch in a temporary table and upserts from it (one connection)."""

    def __init__(self, conn: Connection, import_id: int) -> None:
        self.conn = conn
        self.import_id = import_id
        self.dbapi = conn.connection.driver_connection
        self.postgres = conn.dialect.name == "postgresql"
        self.temporary: list[str] = []

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.dbapi.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall() if cursor.description else None
        finally:
            cursor.close()

    def create_keep(self, entity: str) -> None:
        name = f"_territorial_keep_{entity}"
        self._exec(f"DROP TABLE IF EXISTS {name}")
        self._exec(f"CREATE TEMPORARY TABLE {name} (id VARCHAR(128) PRIMARY KEY)")
        self.temporary.append(name)

    def upsert(
        self, item: EntityBatch, *, replace: bool, step: Callable[[int], None]
    ) -> tuple[int, int]:
        table = ENTITY_TABLES[item.entity]
        frame = item.frame
        columns = [c for c in frame.columns if c in table.c and c != "import_id"]
        if "id" not in columns:
            raise ValueError(f"{item.entity} batch has no id column")
        if not self._exec(f"SELECT 1 FROM {table.name} LIMIT 1"):
            # Nothing stored yet (a first import): load straight into the table; an
            # upsert into an empty table is an insert, and staging would double the work.
            self._load(table.name, frame[columns].assign(import_id=self.import_id), table, step)
            if replace:
                self._exec(
                    f"INSERT INTO _territorial_keep_{item.entity} (id) SELECT id FROM {table.name}"
                )
            return len(frame), 0
        stage = f"_territorial_stage_{item.entity}"
        listed = ", ".join(columns)
        self._exec(f"DROP TABLE IF EXISTS {stage}")
        self._exec(
            f"CREATE TEMPORARY TABLE {stage} AS SELECT {listed} FROM {table.name} WHERE 1 = 0"
        )
        self.temporary.append(stage)
        self._load(stage, frame[columns], table, step)
        joined = f"SELECT count(*) FROM {stage} s JOIN {table.name} t ON t.id = s.id"
        existing = self._exec(joined)[0][0]
        # Upsert: the same SQL on both databases apart from JSON merging.
        all_columns = [c.name for c in table.c if c.name not in ("id", "import_id")]
        target = [*columns, "import_id"]
        selected = [self._select_expr(table.name, c) for c in columns] + [str(self.import_id)]
        if replace:
            missing = [c for c in all_columns if c not in columns]
            target += missing
            selected += ["NULL"] * len(missing)
            sets = [f"{c} = excluded.{c}" for c in all_columns] + ["import_id = excluded.import_id"]
        else:
            sets = [self._merge_expr(table.name, c) for c in columns if c != "id"]
            sets.append("import_id = excluded.import_id")
        sql = (
            f"INSERT INTO {table.name} ({', '.join(target)}) "
            f"SELECT {', '.join(selected)} FROM {stage} WHERE 1 = 1 "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(sets)}"
        )
        self._exec(sql)
        if replace:
            self._exec(f"INSERT INTO _territorial_keep_{item.entity} (id) SELECT id FROM {stage}")
        self._exec(f"DROP TABLE {stage}")
        self.temporary.remove(stage)
        return len(frame) - int(existing), int(existing)

    def _select_expr(self, table: str, column: str) -> str:
        if column != "attributes":
            return column
        # Empty cells in extra columns do not become JSON nulls.
        if self.postgres:
            return "CAST(jsonb_strip_nulls(CAST(attributes AS jsonb)) AS json)"
        return "json_patch('{}', attributes)"

    def _merge_expr(self, table: str, column: str) -> str:
        if column != "attributes":
            return f"{column} = excluded.{column}"
        if self.postgres:
            return (
                "attributes = CAST(COALESCE(CAST(accounts.attributes AS jsonb), '{}'::jsonb) "
                "|| COALESCE(CAST(excluded.attributes AS jsonb), '{}'::jsonb) AS json)"
            )
        return (
            "attributes = json_patch(COALESCE(accounts.attributes, '{}'), "
            "COALESCE(excluded.attributes, '{}'))"
        )

    def _load(
        self, stage: str, frame: pd.DataFrame, table: Any, step: Callable[[int], None]
    ) -> None:
        columns = list(frame.columns)
        kinds = {c: table.c[c].type for c in columns}
        cursor = self.dbapi.cursor()  # type: ignore[union-attr]
        try:
            if self.postgres:
                sql = f"COPY {stage} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
                with cursor.copy(sql) as copy:
                    for start in range(0, len(frame), CHUNK_ROWS):
                        chunk = frame.iloc[start : start + CHUNK_ROWS]
                        copy.write(_csv_chunk(chunk, kinds))
                        step(min(start + CHUNK_ROWS, len(frame)))
            else:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {stage} ({', '.join(columns)}) VALUES ({marks})"
                for start in range(0, len(frame), CHUNK_ROWS):
                    chunk = frame.iloc[start : start + CHUNK_ROWS]
                    values = [_python_values(chunk[c], kinds[c]) for c in columns]
                    cursor.executemany(sql, zip(*values, strict=True))
                    step(min(start + CHUNK_ROWS, len(frame)))
        finally:
            cursor.close()

    def delete_missing(self, entity: str) -> int:
        table = ENTITY_TABLES[entity].name
        keep = f"_territorial_keep_{entity}"
        gone = self._exec(f"SELECT count(*) FROM {table} WHERE id NOT IN (SELECT id FROM {keep})")
        self._exec(f"DELETE FROM {table} WHERE id NOT IN (SELECT id FROM {keep})")
        return int(gone[0][0])

    def drop_temporary(self) -> None:
        for name in self.temporary:
            self._exec(f"DROP TABLE IF EXISTS {name}")
        self.temporary.clear()


def _text_values(series: pd.Series, kind: Any) -> pd.Series:
    """Dates and times as the text SQLAlchemy itself stores in SQLite."""
    if isinstance(kind, Date):
        return pd.to_datetime(series).dt.strftime("%Y-%m-%d")
    values = pd.to_datetime(series).to_numpy(dtype="datetime64[us]")
    text = pd.Series(np.datetime_as_string(values, unit="us"), index=series.index, dtype="str")
    return text.str.replace("T", " ", regex=False).where(~np.isnat(values))


def _json_text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v if v is None or isinstance(v, str) else json.dumps(v))


def _python_values(series: pd.Series, kind: Any) -> list[Any]:
    if isinstance(kind, Date | DateTime):
        series = _text_values(series, kind)
    elif isinstance(kind, JSON):
        series = _json_text(series.astype(object).where(series.notna(), None))
    elif isinstance(kind, Boolean):
        series = series.astype("boolean")
    elif isinstance(kind, Integer):
        series = series.astype("Int64")
    elif isinstance(kind, Float):
        series = series.astype("float64")
    return series.to_numpy(dtype=object, na_value=None).tolist()


def _csv_chunk(chunk: pd.DataFrame, kinds: Mapping[str, Any]) -> str:
    out = {}
    for column in chunk.columns:
        kind = kinds[column]
        series = chunk[column]
        if isinstance(kind, Date | DateTime):
            series = _text_values(series, kind)
        elif isinstance(kind, JSON):
            series = _json_text(series.astype(object).where(series.notna(), None))
        elif isinstance(kind, Integer):
            series = series.astype("Int64")
        elif isinstance(kind, Boolean):
            series = series.astype("boolean")
        out[column] = series
    buffer = io.StringIO()
    pd.DataFrame(out).to_csv(buffer, header=False, index=False, quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------

_DEFAULT_EXCLUDED = ("import_id",)


def _read_entity(engine: Engine, entity: str, columns: Sequence[str] | None) -> pd.DataFrame:
    table = ENTITY_TABLES[entity]
    names = (
        list(columns)
        if columns is not None
        else [c.name for c in table.c if c.name not in _DEFAULT_EXCLUDED]
    )
    unknown = [c for c in names if c not in table.c]
    if unknown:
        raise NotFoundError(
            f"{entity} has no column(s) {', '.join(unknown)}; "
            f"columns: {', '.join(c.name for c in table.c)}"
        )
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(f"SELECT {', '.join(names)} FROM {table.name} ORDER BY id")
            rows = cursor.fetchall()
        finally:
            cursor.close()
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    for name in names:
        frame[name] = _typed(frame[name], table.c[name].type)
    return frame


def _decode_json(values: pd.Series) -> pd.Series:
    """JSON column values as Python objects (dicts, lists); SQL NULL stays ``None``.

    SQLite hands back text: all rows are parsed with ONE ``json.loads`` of a JSON
    array, several times faster than a call per row. PostgreSQL's driver already
    decodes ``json`` columns.
    """
    items = values.tolist()
    if any(isinstance(v, bytes) for v in items):
        items = [v.decode() if isinstance(v, bytes) else v for v in items]
    if all(v is None or isinstance(v, str) for v in items):
        decoded = json.loads("[" + ",".join("null" if v is None else v for v in items) + "]")
    else:
        decoded = [json.loads(v) if isinstance(v, str) else v for v in items]
    return pd.Series(decoded, index=values.index, dtype=object)


def _typed(series: pd.Series, kind: Any) -> pd.Series:
    if isinstance(kind, JSON):
        return _decode_json(series)
    if isinstance(kind, Boolean):
        return series.astype("boolean")
    if isinstance(kind, Integer):
        return pd.to_numeric(series).astype("Int64")
    if isinstance(kind, Float):
        return pd.to_numeric(series).astype("float64")
    if isinstance(kind, Date | DateTime):
        out = pd.to_datetime(series, utc=True if getattr(kind, "timezone", False) else None)
        return out.astype(
            "datetime64[us, UTC]" if getattr(kind, "timezone", False) else "datetime64[us]"
        )
    return series.astype("str")


def read_accounts(engine: Engine, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All accounts, ordered by id, one row each.

    Columns: ``id, name, domain, street, postal_code, city, state, country,
    latitude, longitude`` (degrees, ``NaN`` when unlocated), ``geocode_source``
    (``'input'``, ``'postal_code'`` or missing), ``industry``, ``employees``
    (``Int64``), ``annual_revenue`` (in ``currency`` units), ``currency``,
    ``segment``, ``owner_id`` (rep id) and ``attributes`` (dict of the export's extra
    columns, or ``None``). Text columns have dtype ``str`` with ``NaN`` for missing.
    ``columns`` picks a subset (any column of ``accounts``, including ``import_id``).
    """
    return _read_entity(engine, "accounts", columns)


def read_reps(engine: Engine, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All reps, ordered by id: ``home_latitude``/``home_longitude`` in degrees,
    ``specialties`` a list of str (or ``None``), ``capacity_hours`` selling hours per
    week, ``max_accounts`` (``Int64``), ``start_date`` (``datetime64``), ``active``
    (``boolean``), ``manager_id`` (rep id)."""
    return _read_entity(engine, "reps", columns)


def read_opportunities(engine: Engine, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All opportunities, ordered by id: ``amount`` in ``currency`` units,
    ``created_date``/``close_date`` as ``datetime64`` (midnight), ``is_closed`` and
    ``is_won`` (``boolean``), ``account_id`` and ``owner_id``."""
    return _read_entity(engine, "opportunities", columns)


def read_activities(engine: Engine, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All activities, ordered by id: ``channel`` (one of ``domain.CHANNELS``),
    ``occurred_at`` (``datetime64``, UTC without zone), ``duration_minutes``."""
    return _read_entity(engine, "activities", columns)


def stored_ids(engine: Engine, *, entity: str) -> pd.Index:
    """The ids of one entity's stored rows (unordered), for membership checks."""
    table = ENTITY_TABLES[entity]
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(f"SELECT id FROM {table.name}")
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return pd.Index([r[0] for r in rows], dtype="str")


def referenced_account_ids(engine: Engine, *, entity: str) -> pd.Index:
    """Distinct ``account_id`` values stored ``opportunities`` or ``activities`` point at."""
    if entity not in ("opportunities", "activities"):
        raise ValueError(f"{entity} has no account_id")
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(f"SELECT DISTINCT account_id FROM {entity}")
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return pd.Index([r[0] for r in rows], dtype="str")


def entity_counts(engine: Engine) -> dict[str, int]:
    """Stored rows per entity: ``{"accounts": n, "reps": n, "opportunities": n, ...}``."""
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in ENTITY_TABLES.items()
        }


def last_import(engine: Engine) -> ImportRecord | None:
    """The most recent recorded import, or ``None`` when nothing was imported yet."""
    with engine.connect() as conn:
        row = conn.execute(select(imports).order_by(imports.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return ImportRecord(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        source=row.source,
        status=row.status,
        counts=dict(row.counts or {}),
        warnings=list(row.warnings or []),
    )


def schema_version(engine: Engine) -> tuple[str, ...]:
    """The Alembic revisions the store is at (one per migration branch), sorted."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


__all__ = [
    "EntityBatch",
    "ImportRecord",
    "ImportSummary",
    "entity_counts",
    "last_import",
    "read_accounts",
    "read_activities",
    "read_opportunities",
    "read_reps",
    "referenced_account_ids",
    "schema_version",
    "stored_ids",
    "write_import",
]
