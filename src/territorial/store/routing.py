"""Routing tables and their keyword-only data-access functions.

* ``routing_rule_sets``: every uploaded rules file (versions), one of them active;
* ``routing_decisions``: the append-only audit log of routing decisions with their
  why-trace (UPDATE and DELETE are refused by database triggers);
* ``routing_batches`` and ``routing_batch_traces``: one row per routed batch and the
  why-traces of its decisions (each with its record), zstd-compressed JSON in chunks
  instead of one JSON text per decision row; append-only like the decisions;
* ``routing_pool_state``: round-robin credit and counters per territory pool member;
* ``routing_absences``: reps out of office (skipped by pools);
* ``routing_overrides``: manual overrides with a reason and an expiry date;
* ``routing_outbox``: alerts to deliver (webhook or e-mail), written in the same
  transaction as the decision that raised them.

Every function takes an open ``Connection``: the caller owns the transaction, so a
decision, its pool state and its alerts commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from itertools import chain, repeat
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)

from territorial.errors import ConflictError, NotFoundError
from territorial.routing.pools import Absence, MemberState
from territorial.routing.rules import Override
from territorial.store.tables import ID, metadata

rule_sets = Table(
    "routing_rule_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("source", Text, nullable=False, doc="the YAML text as uploaded"),
    Column("digest", String(64), nullable=False, doc="sha256 of source"),
    Column("status", String(16), nullable=False, doc="'draft', 'active' or 'retired'"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128)),
    Column("activated_at", DateTime(timezone=True)),
    Column("summary", JSON, nullable=False, doc="territory and rule counts"),
)

decisions = Table(
    "routing_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("rule_set_id", Integer, ForeignKey("routing_rule_sets.id")),
    Column("batch_id", String(36)),
    Column("record_kind", String(16), nullable=False),
    Column("record_id", String(255)),
    Column("account_id", ID),
    Column("territory_id", ID),
    Column("owner_id", ID),
    Column("reason", Text, nullable=False),
    Column(
        "trace",
        JSON,
        nullable=False,
        doc="the why-trace; for a batch decision with a batch_index, a marker: its "
        "trace is in routing_batch_traces (read back in its place)",
    ),
    Column(
        "batch_index",
        Integer,
        doc="position of the decision in its batch (routing_batch_traces); null for "
        "single decisions and for batch decisions logged before 0005_routing_batches",
    ),
)
Index(None, decisions.c.record_id)
# Only decisions logged before 0005_routing_batches are found by batch id through an
# index; a newer batch's decisions are the id range its routing_batches row names
# (an index entry per decision was a sixth of the time of logging a batch).
Index(
    "ix_routing_decisions_legacy_batch_id",
    decisions.c.batch_id,
    sqlite_where=and_(decisions.c.batch_id.is_not(None), decisions.c.batch_index.is_(None)),
    postgresql_where=and_(decisions.c.batch_id.is_not(None), decisions.c.batch_index.is_(None)),
)

batches = Table(
    "routing_batches",
    metadata,
    Column("id", String(36), primary_key=True, doc="the batch id of its decisions"),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("rule_set_id", Integer, ForeignKey("routing_rule_sets.id")),
    Column("record_kind", String(16), nullable=False),
    Column("size", Integer, nullable=False, doc="decisions (and records) in the batch"),
    Column("chunk_size", Integer, nullable=False, doc="traces per routing_batch_traces row"),
    Column("first_decision_id", Integer, nullable=False, doc="lowest id of its decisions"),
    Column("last_decision_id", Integer, nullable=False, doc="highest id of its decisions"),
)

batch_traces = Table(
    "routing_batch_traces",
    metadata,
    Column("batch_id", String(36), ForeignKey("routing_batches.id"), primary_key=True),
    Column("chunk", Integer, primary_key=True, doc="decisions chunk*chunk_size onwards"),
    Column(
        "traces",
        LargeBinary,
        nullable=False,
        doc="JSON array of the decisions' why-traces (each with its record), as one zstd "
        "frame (RFC 8878)",
    ),
    Column("traces_bytes", Integer, nullable=False, doc="length of the JSON, uncompressed"),
)

pool_state = Table(
    "routing_pool_state",
    metadata,
    Column("territory_id", ID, primary_key=True),
    Column("rep_id", ID, primary_key=True),
    Column("credit", Float, nullable=False),
    Column("assigned_total", Integer, nullable=False),
    Column("period_start", Date),
    Column("assigned_in_period", Integer, nullable=False),
    Column("last_assigned_at", DateTime(timezone=True)),
)

absences = Table(
    "routing_absences",
    metadata,
    Column("rep_id", ID, primary_key=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("note", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

overrides = Table(
    "routing_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", ID, nullable=False),
    Column("territory_id", ID),
    Column("owner_id", ID),
    Column("reason", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128)),
    Column("revoked_at", DateTime(timezone=True)),
)
Index(None, overrides.c.account_id)

outbox = Table(
    "routing_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decision_id", Integer, ForeignKey("routing_decisions.id")),
    Column("alert", String(255), nullable=False),
    Column("channel", String(16), nullable=False, doc="'webhook' or 'email'"),
    Column("target", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, doc="'pending', 'delivered' or 'failed'"),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
)
Index(None, outbox.c.status, outbox.c.next_attempt_at)

ROUTING_TABLES = (
    rule_sets,
    decisions,
    batches,
    batch_traces,
    pool_state,
    absences,
    overrides,
    outbox,
)


def _aware(row: Any) -> dict[str, Any]:
    """A row as a dict with every timestamp in UTC (SQLite hands back naive ones)."""
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            out[key] = value.replace(tzinfo=UTC)
    return out


# --------------------------------------------------------------------------- rule sets


def add_rule_set(
    conn: Connection,
    *,
    name: str,
    source: str,
    digest: str,
    summary: Mapping[str, Any],
    now: datetime,
    created_by: str | None = None,
) -> int:
    """Store a new (draft) version of the rules; returns its id."""
    result = conn.execute(
        insert(rule_sets).values(
            name=name,
            source=source,
            digest=digest,
            status="draft",
            created_at=now,
            created_by=created_by,
            summary=dict(summary),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_rule_set(conn: Connection, *, rule_set_id: int) -> dict[str, Any]:
    row = conn.execute(select(rule_sets).where(rule_sets.c.id == rule_set_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"rule set {rule_set_id} does not exist")
    return _aware(row)


def list_rule_sets(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    cols = [c for c in rule_sets.c if c.name != "source"]
    rows = conn.execute(select(*cols).order_by(rule_sets.c.id.desc()).limit(limit)).mappings()
    return [_aware(r) for r in rows]


def active_rule_set(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(rule_sets).where(rule_sets.c.status == "active")).mappings().first()
    return None if row is None else _aware(row)


def active_rule_set_id(conn: Connection) -> int | None:
    return conn.execute(
        select(rule_sets.c.id).where(rule_sets.c.status == "active")
    ).scalar_one_or_none()


def activate_rule_set(conn: Connection, *, rule_set_id: int, now: datetime) -> dict[str, Any]:
    """Make ``rule_set_id`` the active version (the previous one is retired)."""
    target = get_rule_set(conn, rule_set_id=rule_set_id)
    if target["status"] == "active":
        raise ConflictError(f"rule set {rule_set_id} is already active")
    conn.execute(update(rule_sets).where(rule_sets.c.status == "active").values(status="retired"))
    conn.execute(
        update(rule_sets)
        .where(rule_sets.c.id == rule_set_id)
        .values(status="active", activated_at=now)
    )
    return get_rule_set(conn, rule_set_id=rule_set_id)


# --------------------------------------------------------------------------- decisions


def _json_text(value: Any) -> str:
    """JSON text for a JSON column (what SQLAlchemy's ``JSON`` type would store)."""
    return orjson.dumps(
        value, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    ).decode()


_DECISION_COLUMNS = (
    "decided_at",
    "rule_set_id",
    "batch_id",
    "record_kind",
    "record_id",
    "account_id",
    "territory_id",
    "owner_id",
    "reason",
    "trace",
    "batch_index",
)


#: Decisions per ``INSERT`` statement of a batch on SQLite (990 parameters: under the
#: 999 older SQLite builds allow). Fewer, longer statements: about a tenth less time.
SQLITE_ROWS_PER_INSERT = 90


def _insert_sql(conn: Connection, rows: int = 1, *, with_id: bool = False) -> str:
    names = ("id", *_DECISION_COLUMNS) if with_id else _DECISION_COLUMNS
    if conn.dialect.paramstyle == "qmark":
        marks = ", ".join("?" for _ in names)
    else:  # psycopg: format; the JSON column takes the text with a cast
        marks = ", ".join("%s::json" if n == "trace" else "%s" for n in names)
    values = ", ".join([f"({marks})"] * rows)
    return f"INSERT INTO {decisions.name} ({', '.join(names)}) VALUES {values}"


def _insert_decision_driver(conn: Connection, row: Mapping[str, Any]) -> int:
    """One decision through the driver (orjson trace, no statement building); its id."""
    dialect = conn.dialect
    values = []
    for name in _DECISION_COLUMNS:
        value = row.get(name)
        if name == "trace":
            value = _json_text(value)
        elif value is not None:
            proc = decisions.c[name].type._cached_bind_processor(dialect)
            if proc is not None:
                value = proc(value)
        values.append(value)
    if dialect.name == "sqlite":
        result = conn.exec_driver_sql(_insert_sql(conn), tuple(values))
        return int(result.lastrowid)
    result = conn.exec_driver_sql(_insert_sql(conn) + " RETURNING id", tuple(values))
    return int(result.scalar_one())


#: Traces per ``routing_batch_traces`` row: reading one decision decompresses and
#: parses one chunk (a few milliseconds), not the whole batch.
BATCH_CHUNK_RECORDS = 1000

#: zstd level of the batch traces. Level 1 compresses the benchmark's lead traces about
#: 16 to 1 at about 0.3 µs per decision (zlib's fastest level: 11 to 1 at 0.9 µs).
BATCH_TRACES_ZSTD_LEVEL = 1

#: The ``trace`` column of a decision whose trace is in ``routing_batch_traces``.
BATCH_TRACE_MARKER = '{"in":"routing_batch_traces"}'


def add_decision_batch(
    conn: Connection,
    *,
    decided_at: datetime,
    rule_set_id: int | None,
    batch_id: str,
    record_kind: str,
    record_ids: Sequence[str | None],
    account_ids: Sequence[str | None],
    territory_ids: Sequence[str | None],
    owner_ids: Sequence[str | None],
    reasons: Sequence[str],
    traces: Sequence[Mapping[str, Any]],
) -> list[int]:
    """Append one batch of decisions to the audit log; returns their ids in order.

    A row per decision (time, rule set, batch id and index, record, account,
    territory, owner and reason); the batch's why-traces, which repeat a lot, are
    stored together: ``routing_batch_traces``, JSON arrays of
    :data:`BATCH_CHUNK_RECORDS` traces, zstd-compressed. A decision row's ``trace`` is
    :data:`BATCH_TRACE_MARKER`; :func:`get_decision` and :func:`list_decisions` read
    the trace back in its place, exactly as written. The ``routing_batches`` row names
    the batch's id range, which is how its decisions are found (no batch id index entry
    per decision). About a third of the bytes and time per decision of a row holding
    its whole trace.

    Column-wise: the time, rule set, batch id and record kind are shared by the batch
    and converted once; the rest are parallel sequences, one item per decision (of
    equal length). One ``executemany`` of plain tuples at the driver level (on SQLite,
    of statements inserting :data:`SQLITE_ROWS_PER_INSERT` rows each). Runs inside
    the caller's transaction.
    """
    n = len(record_ids)
    if not n:
        return []
    if len(traces) != n:
        raise ValueError(f"{len(traces)} traces for {n} decisions")
    ids = _reserve_ids(conn, n)
    _insert_rows(
        conn,
        head=(decided_at, rule_set_id, batch_id, record_kind),
        record_ids=record_ids,
        account_ids=account_ids,
        territory_ids=territory_ids,
        owner_ids=owner_ids,
        reasons=reasons,
        texts=repeat(BATCH_TRACE_MARKER, n),
        batch_indexes=range(n),
        ids=ids,
    )
    if ids is None:
        ids = _last_ids(conn, batch_id=batch_id, count=n)
    conn.execute(
        insert(batches).values(
            id=batch_id,
            decided_at=decided_at,
            rule_set_id=rule_set_id,
            record_kind=record_kind,
            size=n,
            chunk_size=BATCH_CHUNK_RECORDS,
            first_decision_id=ids[0],
            last_decision_id=ids[-1],
        )
    )
    # (Compressing on a worker thread while the rows go in gained nothing measurable
    # on a loaded 2-core machine.)
    conn.execute(insert(batch_traces), _trace_chunks(batch_id, traces))
    return ids


@cache
def _zstd(level: int) -> Any:
    """Arrow's zstd codec (pyarrow is a dependency; its wheels ship zstd)."""
    import pyarrow

    return pyarrow.Codec("zstd", compression_level=level)


def _trace_chunks(batch_id: str, traces: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``routing_batch_traces`` rows of a batch: JSON as a whole-trace row has it."""
    dumps, option = orjson.dumps, orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    codec, size = _zstd(BATCH_TRACES_ZSTD_LEVEL), BATCH_CHUNK_RECORDS
    rows = []
    for start in range(0, len(traces), size):
        text = dumps(traces[start : start + size], default=str, option=option)
        rows.append(
            {
                "batch_id": batch_id,
                "chunk": start // size,
                "traces": codec.compress(text, asbytes=True),
                "traces_bytes": len(text),
            }
        )
    return rows


def _reserve_ids(conn: Connection, count: int) -> list[int] | None:
    """On PostgreSQL, ``count`` decision ids taken from the sequence (in order); else None.

    Concurrent writers may take ids in between, so they are taken first and the rows
    inserted with them. SQLite has one writer at a time: see :func:`_last_ids`.
    """
    if conn.dialect.name != "postgresql":
        return None
    values = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (decisions.name, count),
    ).scalars()
    return sorted(int(v) for v in values)


def _last_ids(conn: Connection, *, batch_id: str, count: int) -> list[int]:
    """Ids of the ``count`` decisions just inserted on SQLite, in order.

    The transaction holds SQLite's write lock from its first insert on, and
    ``AUTOINCREMENT`` gives each row the next id, so they are the last ``count`` ids;
    checked on the first and last of them (their batch and index in it).
    """
    high = int(conn.execute(select(func.max(decisions.c.id))).scalar_one())
    low = high - count + 1
    ends = conn.execute(
        select(decisions.c.batch_id, decisions.c.batch_index)
        .where(decisions.c.id.in_([low, high]))
        .order_by(decisions.c.id)
    ).all()
    if [tuple(r) for r in ends] != [(batch_id, 0), (batch_id, count - 1)][: 2 if count > 1 else 1]:
        raise RuntimeError(f"batch {batch_id}: its {count} decisions are not ids {low}..{high}")
    return list(range(low, high + 1))


def _insert_rows(
    conn: Connection,
    *,
    head: tuple[datetime, int | None, str | None, str],
    record_ids: Sequence[str | None],
    account_ids: Sequence[str | None],
    territory_ids: Sequence[str | None],
    owner_ids: Sequence[str | None],
    reasons: Sequence[str],
    texts: Iterable[str],
    batch_indexes: Iterable[int | None],
    ids: Sequence[int] | None = None,
) -> None:
    """Decision rows sharing ``(decided_at, rule_set_id, batch_id, record_kind)``, in order.

    With ``ids``, each row gets its id from there. The time goes through the column
    type's own bind processor, so what is stored is exactly what ``insert(decisions)``
    stores.
    """
    n = len(record_ids)
    proc = decisions.c.decided_at.type._cached_bind_processor(conn.dialect)
    decided_at, *rest = head
    shared = (proc(decided_at) if proc is not None else decided_at, *rest)
    # Rows built in C: zip gives each row (the shared values repeated, then the
    # per-decision ones; strict: the columns must be of equal length), flattened into
    # one list of values, then cut into statements of ``per`` rows by zip again.
    columns: list[Iterable[Any]] = [ids] if ids is not None else []
    columns += [repeat(v, n) for v in shared]
    values = list(
        chain.from_iterable(
            zip(
                *columns,
                record_ids,
                account_ids,
                territory_ids,
                owner_ids,
                reasons,
                texts,
                batch_indexes,
                strict=True,
            )
        )
    )
    width = len(values) // n
    with_id = ids is not None
    per = SQLITE_ROWS_PER_INSERT if conn.dialect.name == "sqlite" and not with_id else 1
    if per > 1:
        # Rows keep their order: statement after statement, row after row within one.
        statements = list(zip(*[iter(values)] * (per * width), strict=False))  # whole ones
        if statements:
            conn.exec_driver_sql(_insert_sql(conn, per), statements)
        values = values[len(statements) * per * width :]
    if values:
        rows = list(zip(*[iter(values)] * width, strict=True))
        conn.exec_driver_sql(_insert_sql(conn, with_id=with_id), rows)


def _batch_ids(conn: Connection, *, batch_id: str, expected: int) -> list[int]:
    """Ids of a batch's decisions logged with whole traces (:func:`add_decisions`), in order.

    Usually one unbroken range, read as ``min``, ``max`` and ``count``; when another
    writer interleaved (PostgreSQL sequences), they are read.
    """
    legacy = and_(decisions.c.batch_id == batch_id, decisions.c.batch_index.is_(None))
    low, high, count = conn.execute(
        select(func.min(decisions.c.id), func.max(decisions.c.id), func.count()).where(legacy)
    ).one()
    if count == expected and high - low + 1 == expected:
        return list(range(int(low), int(high) + 1))
    ids = conn.execute(select(decisions.c.id).where(legacy).order_by(decisions.c.id)).scalars()
    return [int(i) for i in ids]


def add_decisions(conn: Connection, *, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append decisions, each with its whole trace, to the audit log; their ids in order.

    Rows of one batch (same time, rule set, batch id and kind) go in with one bulk
    insert; other rows one at a time. (Routed batches go through
    :func:`add_decision_batch`, which stores their traces together.)
    """
    if not rows:
        return []
    first = rows[0]
    shared = first.get("batch_id") is not None and all(
        r.get(name) == first.get(name)
        for r in rows
        for name in ("decided_at", "rule_set_id", "batch_id", "record_kind")
    )
    if len(rows) == 1 or not shared:
        return [_insert_decision_driver(conn, r) for r in rows]
    batch_id = first["batch_id"]
    _insert_rows(
        conn,
        head=(first["decided_at"], first.get("rule_set_id"), batch_id, first["record_kind"]),
        record_ids=[r.get("record_id") for r in rows],
        account_ids=[r.get("account_id") for r in rows],
        territory_ids=[r.get("territory_id") for r in rows],
        owner_ids=[r.get("owner_id") for r in rows],
        reasons=[r["reason"] for r in rows],
        texts=[_json_text(r["trace"]) for r in rows],
        batch_indexes=repeat(None, len(rows)),
    )
    return _batch_ids(conn, batch_id=batch_id, expected=len(rows))


def batch_traces_chunk(conn: Connection, *, batch_id: str, chunk: int) -> list[dict[str, Any]]:
    """The why-traces of one stored chunk of a batch (see :func:`add_decision_batch`)."""
    row = conn.execute(
        select(batch_traces.c.traces, batch_traces.c.traces_bytes).where(
            batch_traces.c.batch_id == batch_id, batch_traces.c.chunk == chunk
        )
    ).first()
    if row is None:
        raise NotFoundError(f"traces chunk {chunk} of routing batch {batch_id} does not exist")
    text = _zstd(BATCH_TRACES_ZSTD_LEVEL).decompress(
        row.traces, decompressed_size=row.traces_bytes, asbytes=True
    )
    traces: list[dict[str, Any]] = orjson.loads(text)
    return traces


def _with_traces(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each batch decision's trace read back in its place (one read per chunk)."""
    wanted = [r for r in rows if r.get("batch_index") is not None and "trace" in r]
    if not wanted:
        return rows
    sizes = dict(
        conn.execute(
            select(batches.c.id, batches.c.chunk_size).where(
                batches.c.id.in_({r["batch_id"] for r in wanted})
            )
        ).all()
    )
    chunks: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in wanted:
        chunk, offset = divmod(row["batch_index"], sizes[row["batch_id"]])
        key = (row["batch_id"], chunk)
        if key not in chunks:
            chunks[key] = batch_traces_chunk(conn, batch_id=key[0], chunk=chunk)
        row["trace"] = chunks[key][offset]
    return rows


def get_decision(conn: Connection, *, decision_id: int) -> dict[str, Any]:
    """One decision with its whole trace (a batch decision's read from its batch)."""
    row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"routing decision {decision_id} does not exist")
    return _with_traces(conn, [_aware(row)])[0]


def list_decisions(
    conn: Connection,
    *,
    record_id: str | None = None,
    batch_id: str | None = None,
    limit: int = 100,
    with_trace: bool = False,
) -> list[dict[str, Any]]:
    """The newest decisions first, optionally for one record or one batch."""
    cols = list(decisions.c) if with_trace else [c for c in decisions.c if c.name != "trace"]
    query = select(*cols).order_by(decisions.c.id.desc()).limit(limit)
    if record_id is not None:
        query = query.where(decisions.c.record_id == record_id)
    if batch_id is not None:
        query = query.where(decisions.c.batch_id == batch_id)
        span = conn.execute(
            select(batches.c.first_decision_id, batches.c.last_decision_id).where(
                batches.c.id == batch_id
            )
        ).first()
        if span is None:  # logged before 0005_routing_batches: the batch id index
            query = query.where(decisions.c.batch_index.is_(None))
        else:
            query = query.where(decisions.c.id.between(*span))
    rows = [_aware(r) for r in conn.execute(query).mappings()]
    return _with_traces(conn, rows) if with_trace else rows


#: Keys a lead record may carry its source under (compared lower-case, without ``_``,
#: ``-`` and spaces): ``lead_source``, ``LeadSource``, ``Lead Source``, ``source``.
LEAD_SOURCE_KEYS = ("leadsource", "source")


def _record_field(record: Mapping[str, Any], names: Sequence[str]) -> Any:
    folded = {
        str(k).lower().replace("_", "").replace("-", "").replace(" ", ""): v
        for k, v in record.items()
    }
    for name in names:
        value = folded.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def lead_decisions(
    conn: Connection, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """The newest routing decision of every lead decided in ``[since, until)``, oldest
    first: ``id, decided_at, record_id, account_id, territory_id, owner_id``, and from
    the routed record ``lead_source`` (``None`` when it has none), ``state``, ``segment``.

    A lead routed twice (same ``record_id``) counts once, with its newest decision;
    leads without a record id each count. Batch traces are read one chunk at a time.
    """
    cols = [c for c in decisions.c if c.name != "trace"] + [decisions.c.trace]
    query = select(*cols).where(decisions.c.record_kind == "lead").order_by(decisions.c.id)
    if since is not None:
        query = query.where(decisions.c.decided_at >= since)
    if until is not None:
        query = query.where(decisions.c.decided_at < until)
    rows = _with_traces(conn, [_aware(r) for r in conn.execute(query).mappings()])
    newest: dict[Any, dict[str, Any]] = {}
    for row in rows:
        trace = row.get("trace") or {}
        record = trace.get("record") if isinstance(trace, Mapping) else None
        record = record if isinstance(record, Mapping) else {}
        key = row["record_id"] if row["record_id"] is not None else ("#", row["id"])
        newest[key] = {
            "id": row["id"],
            "decided_at": row["decided_at"],
            "record_id": row["record_id"],
            "account_id": row["account_id"],
            "territory_id": row["territory_id"],
            "owner_id": row["owner_id"],
            "lead_source": _record_field(record, LEAD_SOURCE_KEYS),
            "state": _record_field(record, ("state",)),
            "segment": _record_field(record, ("segment",)),
        }
    return sorted(newest.values(), key=lambda r: r["id"])


# --------------------------------------------------------------------------- pools


def load_pool_states(conn: Connection, *, territory_id: str) -> dict[str, MemberState]:
    query = select(pool_state).where(pool_state.c.territory_id == territory_id)
    if conn.dialect.name == "postgresql":
        # Another server process routing into the same pool waits for this transaction.
        query = query.with_for_update()
    rows = conn.execute(query)
    return {
        r.rep_id: MemberState(
            credit=r.credit,
            assigned_total=r.assigned_total,
            period_start=r.period_start,
            assigned_in_period=r.assigned_in_period,
            last_assigned_at=r.last_assigned_at,
        )
        for r in rows
    }


def save_pool_states(
    conn: Connection, *, territory_id: str, states: Mapping[str, MemberState]
) -> None:
    """Write the members' new states (insert or update)."""
    if not states:
        return
    existing = set(
        conn.execute(
            select(pool_state.c.rep_id).where(
                pool_state.c.territory_id == territory_id,
                pool_state.c.rep_id.in_(list(states)),
            )
        ).scalars()
    )
    for rep, s in states.items():
        values = {
            "credit": s.credit,
            "assigned_total": s.assigned_total,
            "period_start": s.period_start,
            "assigned_in_period": s.assigned_in_period,
            "last_assigned_at": s.last_assigned_at,
        }
        if rep in existing:
            conn.execute(
                update(pool_state)
                .where(pool_state.c.territory_id == territory_id, pool_state.c.rep_id == rep)
                .values(**values)
            )
        else:
            conn.execute(insert(pool_state).values(territory_id=territory_id, rep_id=rep, **values))


def set_absence(
    conn: Connection, *, rep_id: str, start: date, end: date, note: str | None, now: datetime
) -> None:
    """Record that ``rep_id`` is out of office from ``start`` to ``end`` (inclusive)."""
    values = {"start_date": start, "end_date": end, "note": note, "updated_at": now}
    done = conn.execute(update(absences).where(absences.c.rep_id == rep_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(absences).values(rep_id=rep_id, **values))


def clear_absence(conn: Connection, *, rep_id: str) -> None:
    conn.execute(absences.delete().where(absences.c.rep_id == rep_id))


def load_absences(conn: Connection, *, rep_ids: Iterable[str] | None = None) -> dict[str, Absence]:
    query = select(absences)
    if rep_ids is not None:
        query = query.where(absences.c.rep_id.in_(list(rep_ids)))
    return {r.rep_id: Absence(r.start_date, r.end_date, r.note or "") for r in conn.execute(query)}


# --------------------------------------------------------------------------- overrides


def add_override(
    conn: Connection,
    *,
    account_id: str,
    reason: str,
    expires_on: date,
    now: datetime,
    territory_id: str | None = None,
    owner_id: str | None = None,
    created_by: str | None = None,
) -> int:
    result = conn.execute(
        insert(overrides).values(
            account_id=account_id,
            territory_id=territory_id,
            owner_id=owner_id,
            reason=reason,
            expires_on=expires_on,
            created_at=now,
            created_by=created_by,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_override(conn: Connection, *, override_id: int) -> dict[str, Any]:
    row = conn.execute(select(overrides).where(overrides.c.id == override_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"override {override_id} does not exist")
    return _aware(row)


def revoke_override(conn: Connection, *, override_id: int, now: datetime) -> dict[str, Any]:
    row = get_override(conn, override_id=override_id)
    if row["revoked_at"] is not None:
        raise ConflictError(f"override {override_id} was already revoked")
    conn.execute(update(overrides).where(overrides.c.id == override_id).values(revoked_at=now))
    return get_override(conn, override_id=override_id)


def list_overrides(
    conn: Connection, *, include_inactive: bool = False, today: date | None = None
) -> list[dict[str, Any]]:
    query = select(overrides).order_by(overrides.c.id.desc())
    if not include_inactive:
        query = query.where(overrides.c.revoked_at.is_(None))
        if today is not None:
            query = query.where(overrides.c.expires_on >= today)
    return [_aware(r) for r in conn.execute(query).mappings()]


def _as_override(row: Any) -> Override:
    return Override(
        account=row.account_id,
        reason=row.reason,
        expires=row.expires_on,
        territory=row.territory_id,
        owner=row.owner_id,
        id=row.id,
    )


def overrides_for(
    conn: Connection, *, account_ids: Iterable[str] | None = None
) -> dict[str, Override]:
    """Unrevoked overrides by upper-cased account id (the newest wins; expiry checked later)."""
    query = select(overrides).where(overrides.c.revoked_at.is_(None)).order_by(overrides.c.id)
    if account_ids is not None:
        ids = list(account_ids)
        if not ids:
            return {}
        query = query.where(
            or_(overrides.c.account_id.in_(ids), func.upper(overrides.c.account_id).in_(ids))
        )
    return {r.account_id.upper(): _as_override(r) for r in conn.execute(query)}


# --------------------------------------------------------------------------- outbox


def enqueue_alerts(conn: Connection, *, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Add alerts to the outbox (same transaction as the decisions that raised them)."""
    if not rows:
        return
    conn.execute(
        insert(outbox),
        [
            {
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "last_error": None,
                "delivered_at": None,
                **r,
            }
            for r in rows
        ],
    )


def due_alerts(conn: Connection, *, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Pending alerts whose next attempt is due, oldest first (rows locked on PostgreSQL)."""
    query = (
        select(outbox)
        .where(and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_aware(r) for r in conn.execute(query).mappings()]


def mark_alert(
    conn: Connection,
    *,
    outbox_id: int,
    status: str,
    attempts: int,
    now: datetime,
    next_attempt_at: datetime | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": error}
    if status == "delivered":
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def list_alerts(
    conn: Connection, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(outbox.c.status == status)
    return [_aware(r) for r in conn.execute(query).mappings()]
