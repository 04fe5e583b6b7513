"""Routing a file of records: read leads or accounts, route them, write owners and reasons.

Used by ``territorial route``. With a rules file the routing is offline (nothing is
written anywhere; pools start fresh); without one the store's active rule set is used
through the :class:`~territorial.routing.service.RoutingService` and every decision
lands in the audit log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from territorial.errors import ConfigError
from territorial.routing import decide
from territorial.routing.engine import compile_rules
from territorial.routing.matching import AccountMatcher
from territorial.routing.rules import RECORD_KINDS, RuleSet

OUTPUT_COLUMNS = (
    "record_id",
    "account_id",
    "territory_id",
    "territory",
    "owner_id",
    "reason",
    "alternatives",
)


def read_table(path: Path) -> pd.DataFrame:
    """CSV, JSON (list of objects), JSON Lines, Parquet or Excel, by extension."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ConfigError(f"file {path} does not exist")
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(
                path, dtype={"postal_code": str, "id": str, "account_id": str, "zip": str}
            )
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if suffix == ".json":
            return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype={"postal_code": str, "id": str})
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    raise ConfigError(
        f"{path}: unsupported file type {suffix!r}; use .csv, .json, .jsonl, .parquet or .xlsx"
    )


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts without missing values."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(
            {
                str(k): v
                for k, v in row.items()
                if v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA
            }
        )
    return out


def write_table(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".json":
        path.write_text(frame.to_json(orient="records", indent=1), encoding="utf-8")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        raise ConfigError(f"--out {path}: use .csv, .json, .jsonl, .parquet or .xlsx")


def route_file(
    path: Path,
    *,
    kind: str,
    rules: RuleSet | None = None,
    engine: Engine | None = None,
    accounts: pd.DataFrame | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Route every record of ``path``; one output row per record (``OUTPUT_COLUMNS``).

    Offline with ``rules`` (each record gets the full why-trace reason and the nearest
    alternatives; ``accounts`` enables lead-to-account matching). Otherwise ``engine``'s
    active rule set routes and records the batch.
    """
    if kind not in RECORD_KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(RECORD_KINDS)}, got {kind!r}")
    records = frame_records(read_table(path))
    now = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    if rules is not None:
        compiled = compile_rules(rules)
        matcher = None
        lookup: decide.AccountLookup = decide.no_accounts
        if accounts is not None and len(accounts):
            matcher = AccountMatcher(
                accounts,
                free_mail_domains=rules.options.free_mail_domains,
                threshold=rules.options.match_threshold,
            )
            by_id = accounts.assign(id=accounts["id"].astype(str)).set_index("id")

            def lookup(ids: Any) -> dict[str, Any]:
                found = by_id.index.intersection(list(ids))
                return {i: by_id.loc[i].to_dict() for i in found}

        pools = decide.PoolBook()
        for i, record in enumerate(records):
            d = decide.decide_one(
                compiled, record, kind=kind, now=now, matcher=matcher, lookup=lookup, pools=pools
            )
            rows.append(_row(d, " | ".join(d.trace.get("to_route_elsewhere", [])[:2])))
            if progress is not None and (i + 1) % 1000 == 0:
                progress(i + 1, len(records))
    else:
        if engine is None:
            raise ConfigError("route needs --rules RULES.yaml or a store with active rules")
        from territorial.routing.service import RoutingService

        _, decisions = RoutingService(engine).route_batch(records, kind=kind)
        rows = [_row(d, "") for d in decisions]
    if progress is not None:
        progress(len(records), len(records))
    return pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))


def _row(d: decide.Decision, alternatives: str) -> dict[str, Any]:
    return {
        "record_id": d.record_id,
        "account_id": d.account_id,
        "territory_id": d.territory_id,
        "territory": None if d.territory is None else d.territory.label,
        "owner_id": d.owner_id,
        "reason": d.reason,
        "alternatives": alternatives,
    }
