"""Data access for imported records: accounts, reps, opportunities and activities.

Keyword-only functions over an engine from :func:`territorial.store.open_store`.
Reads return pandas frames with the canonical column names of
``territorial.store.tables`` and stable dtypes (see :func:`read_accounts`), built
straight from DBAPI cursors so a million rows read in seconds.

Writes go through :func:`write_import`: every table of one import is written in a
single transaction (SQLite: ``executemany`` on the raw connection; PostgreSQL:
``COPY``), so an import is either entirely stored or not at all. Every row an import
changes or deletes is first copied to ``import_row_versions``, so any import can be
undone (:func:`undo_import`) and nothing imported is ever lost.
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

from territorial.errors import ConflictError, NotFoundError, Problem, ValidationError
from territorial.store.imports import import_row_versions
from territorial.store.planning import owner_history
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
    """What one :func:`write_import` (or :func:`undo_import`) changed, per entity.

    ``inserted`` rows are new, ``updated`` rows existed and had a value changed,
    ``unchanged`` rows existed with the same values (left untouched), ``deleted`` rows
    were removed (``--replace``, or an undo); every updated or deleted row's previous
    version is kept in ``import_row_versions``.
    """

    import_id: int
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int]
    inserted: dict[str, int]
    updated: dict[str, int]
    deleted: dict[str, int]
    unchanged: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One row of the ``imports`` table.

    ``kind`` is ``import`` or ``undo``; ``undoes`` is the import an undo reversed,
    ``undone_by`` the undo that reversed this import (``None`` while it stands).
    ``details`` holds what was recognised and decided (files, readings) and the
    new/changed/unchanged/deleted counts.
    """

    id: int
    started_at: datetime
    finished_at: datetime | None
    source: str
    status: str
    counts: dict[str, int]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "import"
    undoes: int | None = None
    undone_by: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --- writing ---------------------------------------------------------------------------


def write_import(
    engine: Engine,
    *,
    batch: Sequence[EntityBatch],
    source: str,
    replace: Collection[str] = (),
    warnings: Sequence[Problem] = (),
    progress: ProgressCallback | None = None,
    details: Mapping[str, Any] | None = None,
    cascade: bool = False,
) -> ImportSummary:
    """Write validated rows in ONE transaction and record the import.

    Rows are upserted by ``id``: new ids are inserted, known ids get the columns
    the batch carries (others keep their stored values; ``attributes`` are merged
    key by key); rows whose values do not change are left untouched. For each
    entity named in ``replace`` the rows are replaced wholesale: columns the batch
    lacks become NULL and stored rows whose id is not in the batch are deleted. The
    previous version of every changed or deleted row is kept in
    ``import_row_versions`` (see :func:`undo_import`). ``details`` (JSON-ready) is
    stored with the import. Nothing is written if anything fails; a foreign-key
    clash (deleting an account stored opportunities still point at) raises
    :class:`ValidationError`, unless ``cascade``, which deletes (and keeps versions
    of) the opportunities and activities of deleted accounts too.
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
    unchanged = dict.fromkeys(counts, 0)
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
                        kind="import",
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

                new, changed, same = writer.upsert(item, replace=item.entity in replace, step=step)
                done += len(item.frame)
                counts[item.entity] += len(item.frame)
                inserted[item.entity] += new
                updated[item.entity] += changed
                unchanged[item.entity] += same
            for entity in reversed([e for e in order if e in replace]):
                for dependent, count in writer.delete_missing(entity, cascade=cascade).items():
                    deleted[dependent] = deleted.get(dependent, 0) + count
            writer.drop_temporary()
            finished = datetime.now(UTC)
            stored_details = dict(details or {})
            stored_details["changes"] = {
                "inserted": inserted, "updated": updated, "unchanged": unchanged,
                "deleted": deleted,
            }  # fmt: skip
            conn.execute(
                update(imports)
                .where(imports.c.id == import_id)
                .values(finished_at=finished, counts=counts, details=stored_details)
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
        unchanged=unchanged,
    )


class _Writer:
    """Stages each batch in a temporary table and upserts from it (one connection).

    Before a stored row is changed or deleted its whole previous version is copied
    into ``import_row_versions`` under this write's import id, in SQL, so keeping
    history costs one ``INSERT ... SELECT`` per table and no Python loop.
    """

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

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write and return how many rows it affected."""
        cursor = self.dbapi.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    # -- SQL fragments shared by both databases

    def row_json(self, table: str, alias: str) -> str:
        """SQL for the whole row ``alias`` of ``table`` as a JSON object."""
        if self.postgres:
            return f"CAST(to_jsonb({alias}) AS json)"
        parts = []
        for column in ENTITY_TABLES_BY_NAME[table].c:
            value = f"{alias}.{column.name}"
            if isinstance(column.type, JSON):
                value = f"json({value})"
            parts.append(f"'{column.name}', {value}")
        return f"json_object({', '.join(parts)})"

    def distinct(self, old: str, new: str, *, json_column: bool) -> str:
        """SQL that is true when ``old`` and ``new`` differ (NULLs compare as values)."""
        if self.postgres:
            if json_column:
                return f"CAST({old} AS jsonb) IS DISTINCT FROM CAST({new} AS jsonb)"
            return f"{old} IS DISTINCT FROM {new}"
        return f"{old} IS NOT {new}"

    def strip_nulls(self, value: str) -> str:
        """JSON attributes without null members (empty cells do not become keys)."""
        if self.postgres:
            return f"CAST(jsonb_strip_nulls(CAST({value} AS jsonb)) AS json)"
        return f"json_patch('{{}}', {value})"

    def merged(self, old: str, new: str) -> str:
        """Stored attributes with the new ones merged in key by key."""
        if self.postgres:
            return (
                f"CAST(COALESCE(CAST({old} AS jsonb), '{{}}'::jsonb) "
                f"|| COALESCE(CAST({new} AS jsonb), '{{}}'::jsonb) AS json)"
            )
        return f"json_patch(COALESCE({old}, '{{}}'), COALESCE({new}, '{{}}'))"

    def new_value(self, table: Any, column: str, old: str, staged: str, *, replace: bool,
                  given: Collection[str]) -> str:  # fmt: skip
        """SQL for the value ``column`` gets from a staged row (``staged`` alias)."""
        if column not in given:
            return "NULL"
        if column == "attributes":
            value = self.strip_nulls(f"{staged}.attributes")
            return value if replace else self.merged(old, value)
        return f"{staged}.{column}"

    def differs(self, table: Any, old_alias: str, staged: str, *, replace: bool,
                given: Collection[str]) -> str:  # fmt: skip
        """SQL true when writing the staged row would change the stored one."""
        compared = [
            c for c in table.c
            if c.name not in ("id", "import_id") and (replace or c.name in given)
        ]  # fmt: skip
        if not compared:
            return "1 = 0"
        return " OR ".join(
            self.distinct(
                f"{old_alias}.{c.name}",
                self.new_value(
                    table, c.name, f"{old_alias}.{c.name}", staged, replace=replace, given=given
                ),
                json_column=isinstance(c.type, JSON),
            )
            for c in compared
        )

    def log_owner_changes(self, select_sql: str) -> None:
        """Append to ``account_owner_history`` (source ``import``) the owner changes that
        ``select_sql`` yields as (account id, previous owner, new owner)."""
        mark = "%s" if self.postgres else "?"
        now = datetime.now(UTC)
        # SQLite: the text SQLAlchemy itself writes for a DateTime.
        stamp = now if self.postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
        self._exec(
            f"INSERT INTO {owner_history.name} (account_id, previous_owner_id, owner_id, "
            f"changed_at, effective_date, source) SELECT c.*, {mark}, {mark}, 'import' "
            f"FROM ({select_sql}) c",
            (stamp, now.date().isoformat() if not self.postgres else now.date()),
        )

    def keep_versions(self, table: str, entity: str, action: str, where: str,
                      *, join: str = "") -> int:  # fmt: skip
        """Copy the rows of ``table`` (alias ``t``) matching ``where`` into the versions."""
        return self._count(
            f"INSERT INTO {import_row_versions.name} "
            "(import_id, entity, row_id, action, data) "
            f"SELECT {self.import_id}, '{entity}', t.id, '{action}', {self.row_json(table, 't')} "
            f"FROM {table} t {join} WHERE {where}"
        )

    # -- writing

    def create_keep(self, entity: str) -> None:
        name = f"_territorial_keep_{entity}"
        self._exec(f"DROP TABLE IF EXISTS {name}")
        self._exec(f"CREATE TEMPORARY TABLE {name} (id VARCHAR(128) PRIMARY KEY)")
        self.temporary.append(name)

    def upsert(
        self, item: EntityBatch, *, replace: bool, step: Callable[[int], None]
    ) -> tuple[int, int, int]:
        """Insert new rows, update changed ones: (inserted, updated, unchanged)."""
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
            return len(frame), 0, 0
        stage = f"_territorial_stage_{item.entity}"
        listed = ", ".join(columns)
        self._exec(f"DROP TABLE IF EXISTS {stage}")
        self._exec(
            f"CREATE TEMPORARY TABLE {stage} AS SELECT {listed} FROM {table.name} WHERE 1 = 0"
        )
        self.temporary.append(stage)
        self._load(stage, frame[columns], table, step)
        joined = f"SELECT count(*) FROM {stage} s JOIN {table.name} t ON t.id = s.id"
        existing = int(self._exec(joined)[0][0])
        given = set(columns)
        if item.entity == "accounts" and ("owner_id" in given or replace):
            new_owner = "s.owner_id" if "owner_id" in given else "NULL"
            self.log_owner_changes(
                f"SELECT t.id, t.owner_id, {new_owner} FROM accounts t "
                f"JOIN {stage} s ON s.id = t.id "
                f"WHERE {self.distinct('t.owner_id', new_owner, json_column=False)}"
            )
        # The previous version of every row this write changes.
        changed = self.keep_versions(
            table.name, item.entity, "updated",
            self.differs(table, "t", "s", replace=replace, given=given),
            join=f"JOIN {stage} s ON s.id = t.id",
        )  # fmt: skip
        # Upsert: the same SQL on both databases apart from JSON handling; rows whose
        # values would not change are left alone (their import_id says who wrote them).
        all_columns = [c.name for c in table.c if c.name not in ("id", "import_id")]
        target = [*columns, "import_id"]
        selected = [self.strip_nulls(c) if c == "attributes" else c for c in columns] + [
            str(self.import_id)
        ]
        if replace:
            missing = [c for c in all_columns if c not in columns]
            target += missing
            selected += ["NULL"] * len(missing)
            sets = [f"{c} = excluded.{c}" for c in all_columns]
        else:
            sets = [
                f"{c} = "
                + (self.merged(f"{table.name}.{c}", f"excluded.{c}") if c == "attributes"
                   else f"excluded.{c}")
                for c in columns if c != "id"
            ]  # fmt: skip
        sets.append("import_id = excluded.import_id")
        condition = self.differs(table, table.name, "excluded", replace=replace, given=given)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(target)}) "
            f"SELECT {', '.join(selected)} FROM {stage} WHERE 1 = 1 "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(sets)} WHERE {condition}"
        )
        self._exec(sql)
        if replace:
            self._exec(f"INSERT INTO _territorial_keep_{item.entity} (id) SELECT id FROM {stage}")
        self._exec(f"DROP TABLE {stage}")
        self.temporary.remove(stage)
        return len(frame) - existing, changed, existing - changed

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

    def delete_where(self, entity: str, where: str) -> int:
        """Keep the versions of, then delete, the rows of ``entity`` matching ``where``."""
        table = ENTITY_TABLES[entity].name
        count = self.keep_versions(table, entity, "deleted", where)
        if count:
            self._exec(
                f"DELETE FROM {table} WHERE id IN (SELECT row_id FROM "
                f"{import_row_versions.name} WHERE import_id = {self.import_id} "
                f"AND entity = '{entity}' AND action = 'deleted')"
            )
        return count

    def delete_missing(self, entity: str, *, cascade: bool = False) -> dict[str, int]:
        """Delete the stored rows of a replaced entity that the batch does not have.

        With ``cascade``, deleting accounts also deletes the opportunities and
        activities that belong to them. Returns rows deleted per entity.
        """
        keep = f"_territorial_keep_{entity}"
        deleted: dict[str, int] = {}
        if cascade and entity == "accounts":
            for dependent in ("activities", "opportunities"):
                count = self.delete_where(dependent, f"t.account_id NOT IN (SELECT id FROM {keep})")
                if count:
                    deleted[dependent] = count
        deleted[entity] = self.delete_where(entity, f"t.id NOT IN (SELECT id FROM {keep})")
        return deleted

    def restore(self, table: Any, import_id: int) -> int:
        """Put back the rows as they were before write ``import_id``, exactly.

        A row's state before a write is its earliest version kept by that write
        (unless that version marks the row as inserted by it). Rows are restored with
        every column, their ``import_id`` included, so the table is what it was;
        this write keeps the versions it overwrites and marks the rows it re-inserts
        (``action = 'inserted'``), so it can be undone in turn.
        """
        versions = import_row_versions.name
        entity = _entity_of_table(table)
        earliest = (
            f"v.import_id = {import_id} AND v.entity = '{entity}' AND v.action <> 'inserted' "
            f"AND v.id = (SELECT min(w.id) FROM {versions} w WHERE w.import_id = {import_id} "
            f"AND w.entity = v.entity AND w.row_id = v.row_id)"
        )
        overwritten = f"t.id IN (SELECT v.row_id FROM {versions} v WHERE {earliest})"
        self.keep_versions(table.name, entity, "updated", overwritten)
        if entity == "accounts":
            if self.postgres:
                before = "(CAST(v.data AS jsonb) ->> 'owner_id')"
            else:
                before = "json_extract(v.data, '$.owner_id')"
            self.log_owner_changes(
                f"SELECT t.id, t.owner_id, {before} FROM accounts t JOIN {versions} v "
                f"ON v.row_id = t.id WHERE {earliest} "
                f"AND {self.distinct('t.owner_id', before, json_column=False)}"
            )
        self._exec(
            f"INSERT INTO {versions} (import_id, entity, row_id, action, data) "
            f"SELECT {self.import_id}, '{entity}', v.row_id, 'inserted', '{{}}' "
            f"FROM {versions} v WHERE {earliest} "
            f"AND v.row_id NOT IN (SELECT id FROM {table.name})"
        )
        columns = [c.name for c in table.c]
        if self.postgres:
            values = [f"r.{c}" for c in columns]
            source = (
                f"FROM {versions} v CROSS JOIN LATERAL "
                f"jsonb_populate_record(NULL::{table.name}, CAST(v.data AS jsonb)) AS r"
            )
        else:
            values = [f"json_extract(v.data, '$.{c}')" for c in columns]
            source = f"FROM {versions} v"
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        return self._count(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} {source} WHERE {earliest} "
            f"ON CONFLICT (id) DO UPDATE SET {sets}"
        )

    def drop_temporary(self) -> None:
        for name in self.temporary:
            self._exec(f"DROP TABLE IF EXISTS {name}")
        self.temporary.clear()


#: Imported tables by their SQL name.
ENTITY_TABLES_BY_NAME: dict[str, Any] = {t.name: t for t in ENTITY_TABLES.values()}


def _entity_of_table(table: Any) -> str:
    return next(e for e, t in ENTITY_TABLES.items() if t is table)


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


def _record(row: Any) -> ImportRecord:
    return ImportRecord(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        source=row.source,
        status=row.status,
        counts=dict(row.counts or {}),
        warnings=list(row.warnings or []),
        kind=row.kind or "import",
        undoes=row.undoes,
        undone_by=row.undone_by,
        details=dict(row.details or {}),
    )


def last_import(engine: Engine) -> ImportRecord | None:
    """The most recent recorded import (or undo), or ``None`` when nothing was imported."""
    with engine.connect() as conn:
        row = conn.execute(select(imports).order_by(imports.c.id.desc()).limit(1)).first()
    return None if row is None else _record(row)


def list_imports(engine: Engine, *, limit: int | None = 50) -> list[ImportRecord]:
    """Recorded imports and undos, newest first (at most ``limit``; ``None`` for all)."""
    query = select(imports).order_by(imports.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def import_record(engine: Engine, *, import_id: int) -> ImportRecord:
    """One recorded import; :class:`NotFoundError` when there is no such id."""
    with engine.connect() as conn:
        row = conn.execute(select(imports).where(imports.c.id == import_id)).first()
    if row is None:
        raise NotFoundError(f"there is no import #{import_id} (territorial imports list)")
    return _record(row)


def _inserted_by(import_id: int, entity: str, alias: str = "t") -> str:
    """SQL condition on ``alias`` for the rows write ``import_id`` inserted: written by it
    with no earlier version (an import), or marked as inserted (an undo)."""
    versions = import_row_versions.name
    t = alias
    return (
        f"(({t}.import_id = {import_id} AND {t}.id NOT IN (SELECT row_id FROM {versions} "
        f"WHERE import_id = {import_id} AND entity = '{entity}')) OR {t}.id IN (SELECT row_id "
        f"FROM {versions} WHERE import_id = {import_id} AND entity = '{entity}' "
        "AND action = 'inserted'))"
    )


def _in_effect(records: Mapping[int, ImportRecord], import_id: int) -> bool:
    """Whether a write still stands: not undone, or its undo was undone in turn."""
    record = records[import_id]
    return record.undone_by is None or not _in_effect(records, record.undone_by)


def undo_import(engine: Engine, *, import_id: int, force: bool = False) -> ImportSummary:
    """Put every table back exactly as it was before write ``import_id``, as a new write.

    Rows the import inserted are deleted and rows it changed or deleted get their
    previous versions back (every column, ``import_id`` included). The undo keeps
    the versions it replaces, so undoing the undo restores the import: nothing is
    ever lost. Imports are undone newest first: refused with :class:`ConflictError`
    when a later import still in effect changed rows this one wrote (or, for an
    undo, touched the same tables), re-added rows it deleted, or added
    opportunities or activities to accounts it added; and when the import is
    already undone. Rows of later imports owned by reps the undo removes are
    refused too unless ``force`` (their owner ids are then left as they are).
    """
    records = {r.id: r for r in list_imports(engine, limit=None)}
    if import_id not in records:
        raise NotFoundError(f"there is no import #{import_id} (territorial imports list)")
    record = records[import_id]
    if not _in_effect(records, import_id):
        raise ConflictError(
            f"import #{import_id} was already undone by #{record.undone_by}; "
            f"undo #{record.undone_by} to restore it"
        )
    if record.status != "succeeded" or record.finished_at is None:
        raise ConflictError(f"import #{import_id} did not complete; there is nothing to undo")
    started = datetime.now(UTC)
    with engine.begin() as conn:
        writer = _Writer(conn, 0)
        _check_undo(writer, records, import_id, force=force)
        source = (
            f"undo of undo #{import_id} (redo of import #{record.undoes})"
            if record.kind == "undo"
            else f"undo of import #{import_id}"
        )
        undo_id = int(
            conn.execute(
                insert(imports)
                .values(started_at=started, source=source, status="succeeded", kind="undo",
                        undoes=import_id, counts={}, warnings=[])
                .returning(imports.c.id)
            ).scalar_one()
        )  # fmt: skip
        writer.import_id = undo_id
        order = list(ENTITY_TABLES)
        deleted = {e: writer.delete_where(e, _inserted_by(import_id, e)) for e in reversed(order)}
        restored = {e: writer.restore(ENTITY_TABLES[e], import_id) for e in order}
        finished = datetime.now(UTC)
        counts = {e: deleted[e] + restored[e] for e in order if deleted[e] + restored[e]}
        changes = {"restored": restored, "deleted": deleted}
        conn.execute(
            update(imports)
            .where(imports.c.id == undo_id)
            .values(finished_at=finished, counts=counts,
                    details={"undoes": import_id, "changes": changes})
        )  # fmt: skip
        conn.execute(update(imports).where(imports.c.id == import_id).values(undone_by=undo_id))
    return ImportSummary(
        import_id=undo_id,
        started_at=started,
        finished_at=finished,
        counts=counts,
        inserted={},
        updated=restored,
        deleted=deleted,
    )


def _touched_entities(record: ImportRecord) -> set[str]:
    changes = record.details.get("changes", {})
    touched = {e for part in changes.values() for e, n in part.items() if n}
    return touched | {e for e, n in record.counts.items() if n}


def _check_undo(
    writer: _Writer, records: Mapping[int, ImportRecord], import_id: int, *, force: bool
) -> None:
    """Refuse an undo that would clobber later writes or break references."""
    versions = import_row_versions.name
    record = records[import_id]
    later_imports = [
        r for r in records.values()
        if r.id > import_id and r.kind == "import" and _in_effect(records, r.id)
    ]  # fmt: skip
    clashes: dict[int, int] = {}
    if record.kind == "undo":
        # An undo restored rows under their old writers' ids: compare tables touched.
        mine = _touched_entities(record)
        for later in later_imports:
            shared = mine & _touched_entities(later)
            if shared:
                clashes[later.id] = sum(later.counts.get(e, 0) for e in shared)
    else:
        if writer.postgres:
            previous = "CAST(CAST(v.data AS jsonb) ->> 'import_id' AS integer)"
        else:
            previous = "json_extract(v.data, '$.import_id')"
        effective = [r.id for r in later_imports]
        if effective:
            listed = ", ".join(map(str, effective))
            # Rows this import wrote that a later import changed or deleted.
            for other, count in writer._exec(
                f"SELECT v.import_id, count(*) FROM {versions} v WHERE v.import_id IN "
                f"({listed}) AND {previous} = {import_id} GROUP BY v.import_id"
            ):
                clashes[int(other)] = clashes.get(int(other), 0) + int(count)
        # Rows this import deleted that a later write added again.
        for entity, table in ENTITY_TABLES.items():
            for other, count in writer._exec(
                f"SELECT t.import_id, count(*) FROM {table.name} t JOIN {versions} v "
                f"ON v.row_id = t.id AND v.entity = '{entity}' AND v.import_id = {import_id} "
                f"AND v.action = 'deleted' WHERE t.import_id <> {import_id} "
                "GROUP BY t.import_id"
            ):
                clashes[int(other)] = clashes.get(int(other), 0) + int(count)
    if clashes:
        shown = ", ".join(f"#{i} ({n:,} rows)" for i, n in sorted(clashes.items()))
        raise ConflictError(
            f"cannot undo #{import_id}: later imports changed the same rows: {shown}; "
            "undo those first (newest first)"
        )
    # Opportunities and activities of accounts the undo removes, written by other imports.
    removed_accounts = f"SELECT t.id FROM accounts t WHERE {_inserted_by(import_id, 'accounts')}"
    for dependent in ("opportunities", "activities"):
        rows = writer._exec(
            f"SELECT d.import_id, count(*) FROM {dependent} d WHERE d.account_id IN "
            f"({removed_accounts}) AND NOT {_inserted_by(import_id, dependent, 'd')} "
            "GROUP BY d.import_id"
        )
        if rows:
            shown = ", ".join(f"#{i} ({n:,})" for i, n in rows)
            raise ConflictError(
                f"cannot undo #{import_id}: {dependent} written by {shown} belong to accounts "
                "it added; undo those imports first"
            )
    if force:
        return
    # Owners set after the import by a plan activation or a reassignment.
    touched_accounts = (
        f"SELECT t.id FROM accounts t WHERE {_inserted_by(import_id, 'accounts')} "
        f"UNION SELECT row_id FROM {versions} WHERE import_id = {import_id} "
        "AND entity = 'accounts'"
    )
    mark = "%s" if writer.postgres else "?"
    finished = record.finished_at
    assert finished is not None
    moved = writer._exec(
        f"SELECT count(DISTINCT h.account_id) FROM {owner_history.name} h "
        f"WHERE h.source <> 'import' AND h.changed_at > {mark} "
        f"AND h.account_id IN ({touched_accounts})",
        (finished if writer.postgres else finished.strftime("%Y-%m-%d %H:%M:%S.%f"),),
    )[0][0]
    if moved:
        raise ConflictError(
            f"the owners of {int(moved):,} accounts #{import_id} wrote were changed since "
            "(plan activation or reassignment); undoing it would overwrite them: activate "
            "the plan again afterwards, or pass --force"
        )
    removed_reps = f"SELECT t.id FROM reps t WHERE {_inserted_by(import_id, 'reps')}"
    dangling = []
    for entity, column in (("accounts", "owner_id"), ("opportunities", "owner_id"),
                           ("activities", "rep_id")):  # fmt: skip
        theirs = f"NOT {_inserted_by(import_id, entity, 'd')}"
        count = writer._exec(
            f"SELECT count(*) FROM {entity} d WHERE d.{column} IN ({removed_reps}) AND {theirs}"
        )[0][0]
        if count:
            dangling.append(f"{int(count):,} {entity}")
    if dangling:
        raise ConflictError(
            f"undoing #{import_id} would remove reps that {', '.join(dangling)} of other "
            "imports are owned by; undo those imports first, or pass --force"
        )


def read_entity_columns(engine: Engine, *, entity: str, columns: Sequence[str]) -> pd.DataFrame:
    """Some columns of one entity's stored rows (typed as in :func:`read_accounts`)."""
    return _read_entity(engine, entity, columns)


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
    "import_record",
    "last_import",
    "list_imports",
    "read_accounts",
    "read_activities",
    "read_entity_columns",
    "read_opportunities",
    "read_reps",
    "referenced_account_ids",
    "schema_version",
    "stored_ids",
    "undo_import",
    "write_import",
]
