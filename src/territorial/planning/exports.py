"""Write-back files for the CRM: a version of the territory model as the CRM loads it.

* :func:`salesforce_files` — Data Loader-ready CSVs for Salesforce Enterprise Territory
  Management: ``Territory2Model.csv``, ``Territory2.csv``,
  ``UserTerritory2Association.csv``, ``ObjectTerritory2Association.csv`` and
  ``AccountOwners.csv`` (``Id``, ``OwnerId``: the CRM ids as imported), plus a
  ``README.txt`` with the load order.
* :func:`hubspot_files` — a companies import that updates each company's owner
  (``Record ID``, ``Company owner``) and a ``Territory`` property.
* :func:`plan_csv` — one row per account: ``account_id``, ``territory``, ``owner``,
  ``reason``.

Only versions that have been decided may leave Territorial: a draft or a submitted plan
is refused (approve it first). Files are UTF-8 with a byte-order mark so that Excel opens
them with accents intact, and are written to a temporary name then renamed, so a failed
export leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from territorial.errors import ConfigError, ConflictError
from territorial.planning.lifecycle import get_version
from territorial.planning.ownership import territory_reps
from territorial.store.planning import plan_territories, query_frame
from territorial.store.tables import accounts, plan_assignments, reps

#: Versions whose territories may be written back to the CRM.
EXPORTABLE: frozenset[str] = frozenset({"approved", "scheduled", "active", "superseded"})

#: Salesforce ``RoleInTerritory2`` for each Territorial member role.
SALESFORCE_ROLES: dict[str, str] = {
    "owner": "Owner",
    "overlay": "Overlay",
    "sdr": "Sales Development",
}

SALESFORCE_FILES = (
    "Territory2Model.csv",
    "Territory2.csv",
    "UserTerritory2Association.csv",
    "ObjectTerritory2Association.csv",
    "AccountOwners.csv",
)


@dataclass(frozen=True)
class ExportResult:
    """Files written (paths) and rows per file."""

    files: tuple[Path, ...]
    rows: dict[str, int]


def _exportable(engine: Engine, plan_id: int) -> dict[str, Any]:
    version = get_version(engine, plan_id=plan_id)
    if version["status"] not in EXPORTABLE:
        raise ConflictError(
            f"plan {plan_id} is {version['status']}; only an approved (or scheduled, active, "
            "superseded) plan can be exported to the CRM: submit it and have it approved"
        )
    return version


def developer_name(text: str, *, prefix: str = "T") -> str:
    """A Salesforce API name: letters, digits and single underscores, starting with a
    letter, no trailing underscore, at most 80 characters."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name or not name[0].isalpha():
        name = f"{prefix}_{name}" if name else prefix
    return name[:80].rstrip("_")


def _assignments(engine: Engine, plan_id: int) -> pd.DataFrame:
    with engine.connect() as conn:
        return query_frame(
            conn,
            select(
                plan_assignments.c.account_id,
                plan_assignments.c.territory_id,
                plan_assignments.c.reason,
            )
            .where(plan_assignments.c.plan_id == plan_id)
            .order_by(plan_assignments.c.account_id),
        )


def _territory_names(members: pd.DataFrame) -> dict[str, str]:
    first = members.drop_duplicates("territory_id")
    return dict(first[["territory_id", "territory_name"]].to_numpy())


def _unique_developer_names(territory_ids: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    taken: set[str] = set()
    for tid in sorted(territory_ids):
        base = developer_name(tid)
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"_{n}"
            name = base[: 80 - len(suffix)] + suffix
            n += 1
        taken.add(name.lower())
        out[tid] = name
    return out


def salesforce_files(engine: Engine, *, plan_id: int, out_dir: Path) -> ExportResult:
    """Write the Salesforce Data Loader files of a version into ``out_dir``."""
    version = _exportable(engine, plan_id)
    members = territory_reps(engine, plan_id=plan_id)
    assigned = _assignments(engine, plan_id)
    names = _territory_names(members)
    territory_ids = sorted(set(assigned["territory_id"]) | set(members["territory_id"]))
    dev = _unique_developer_names(territory_ids)
    model_dev = developer_name(f"Territorial_{plan_id}_{version['name']}", prefix="M")
    with engine.connect() as conn:
        parents = {
            r.territory_id: r.parent_id
            for r in conn.execute(
                select(plan_territories.c.territory_id, plan_territories.c.parent_id).where(
                    plan_territories.c.plan_id == plan_id
                )
            )
        }
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    owner_of = dict(owners.drop_duplicates("territory_id")[["territory_id", "rep_id"]].to_numpy())
    description = f"Territorial plan {plan_id} ({version['status']})"
    account_ids = assigned["account_id"].tolist()
    territory_of_account = assigned["territory_id"].tolist()
    tables: dict[str, tuple[list[str], list[Sequence[Any]]]] = {
        "Territory2Model.csv": (
            ["DeveloperName", "Name", "Description"],
            [[model_dev, str(version["name"])[:80], description]],
        ),
        "Territory2.csv": (
            [
                "DeveloperName",
                "Name",
                "ParentTerritory2DeveloperName",
                "Territory2ModelDeveloperName",
                "Territory2TypeDeveloperName",
                "AccountAccessLevel",
                "OpportunityAccessLevel",
                "CaseAccessLevel",
                "ContactAccessLevel",
                "Description",
            ],
            [
                [
                    dev[t],
                    str(names.get(t, t))[:80],
                    dev.get(str(parents.get(t)), "") if parents.get(t) else "",
                    model_dev,
                    "Territorial",
                    "Edit",
                    "Edit",
                    "Edit",
                    "Edit",
                    f"Territorial territory {t}",
                ]
                for t in _parents_first(territory_ids, parents)
            ],
        ),
        "UserTerritory2Association.csv": (
            ["UserId", "Territory2DeveloperName", "RoleInTerritory2"],
            [
                [r.rep_id, dev[r.territory_id], SALESFORCE_ROLES.get(str(r.role), str(r.role))]
                for r in members.dropna(subset=["rep_id"]).itertuples(index=False)
            ],
        ),
        "ObjectTerritory2Association.csv": (
            ["ObjectId", "Territory2DeveloperName", "AssociationCause"],
            [
                [a, dev[t], "Territory2Manual"]
                for a, t in zip(account_ids, territory_of_account, strict=True)
            ],
        ),
        "AccountOwners.csv": (
            ["Id", "OwnerId"],
            [
                [a, owner_of[t]]
                for a, t in zip(account_ids, territory_of_account, strict=True)
                if t in owner_of
            ],
        ),
    }
    readme = _salesforce_readme(plan_id, version, model_dev)
    return _write_all(out_dir, tables, extra={"README.txt": readme})


def _parents_first(territory_ids: Sequence[str], parents: Mapping[str, Any]) -> list[str]:
    """Territories ordered so that a parent row comes before its children."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(t: str, depth: int = 0) -> None:
        if t in seen or depth > len(territory_ids):
            return
        parent = parents.get(t)
        if parent and parent in territory_ids:
            visit(str(parent), depth + 1)
        seen.add(t)
        done.append(t)

    for t in territory_ids:
        visit(t)
    return done


def _salesforce_readme(plan_id: int, version: Mapping[str, Any], model_dev: str) -> str:
    return f"""Territorial plan {plan_id}: {version["name"]} ({version["status"]})
Salesforce Enterprise Territory Management, Data Loader files.

Load in this order (Data Loader > Insert, or Upsert where noted):
1. Territory2Model.csv  -> Territory2Model (creates model {model_dev} in Planning state).
2. Territory2.csv       -> Territory2. Create a Territory2Type with DeveloperName
   "Territorial" first. Map Territory2ModelId and ParentTerritory2Id by looking up the
   DeveloperName columns (rows are ordered parents first).
3. UserTerritory2Association.csv -> UserTerritory2Association (UserId are the user ids
   as imported; Territory2Id by DeveloperName). RoleInTerritory2 values must exist in
   the picklist (Owner, Overlay, Sales Development).
4. ObjectTerritory2Association.csv -> ObjectTerritory2Association (ObjectId = account
   id as imported; Territory2Id by DeveloperName; AssociationCause Territory2Manual).
5. Activate the model in Setup > Territory Models, then
6. AccountOwners.csv -> Account (Update): Id, OwnerId.
"""


def hubspot_files(engine: Engine, *, plan_id: int, out_dir: Path) -> ExportResult:
    """Write ``companies-owner-update.csv`` (HubSpot companies import, update by Record
    ID): ``Record ID``, ``Company name``, ``Company owner`` (the rep's e-mail, which
    HubSpot matches to an owner; the rep id when no e-mail is known), ``Territory``."""
    _exportable(engine, plan_id)
    members = territory_reps(engine, plan_id=plan_id)
    assigned = _assignments(engine, plan_id)
    names = _territory_names(members)
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    owner_of = dict(owners.drop_duplicates("territory_id")[["territory_id", "rep_id"]].to_numpy())
    with engine.connect() as conn:
        emails = {r.id: r.email for r in conn.execute(select(reps.c.id, reps.c.email)) if r.email}
        company = {r.id: r.name for r in conn.execute(select(accounts.c.id, accounts.c.name))}
    rows = []
    for a, t in zip(
        assigned["account_id"].tolist(), assigned["territory_id"].tolist(), strict=True
    ):
        rep = owner_of.get(t)
        rows.append(
            [a, company.get(a, ""), "" if rep is None else emails.get(rep, rep), names.get(t, t)]
        )
    tables = {
        "companies-owner-update.csv": (
            ["Record ID", "Company name", "Company owner", "Territory"],
            rows,
        )
    }
    return _write_all(out_dir, tables)


def plan_csv(engine: Engine, *, plan_id: int, out_file: Path) -> ExportResult:
    """Write one row per account: ``account_id``, ``territory``, ``territory_name``,
    ``owner``, ``reason``."""
    _exportable(engine, plan_id)
    members = territory_reps(engine, plan_id=plan_id)
    assigned = _assignments(engine, plan_id)
    names = _territory_names(members)
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    owner_of = dict(owners.drop_duplicates("territory_id")[["territory_id", "rep_id"]].to_numpy())
    rows = [
        [a, t, names.get(t, t), owner_of.get(t, ""), r or ""]
        for a, t, r in zip(
            assigned["account_id"].tolist(),
            assigned["territory_id"].tolist(),
            assigned["reason"].tolist(),
            strict=True,
        )
    ]
    header = ["account_id", "territory", "territory_name", "owner", "reason"]
    if out_file.suffix.lower() not in ("", ".csv"):
        raise ConfigError(f"--out {out_file} must be a .csv file")
    _atomic_write(out_file, _csv_bytes(header, rows))
    return ExportResult(files=(out_file,), rows={out_file.name: len(rows)})


def zip_bytes(result: ExportResult) -> bytes:
    """The files of an export as one ZIP archive (for downloads)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in result.files:
            archive.write(path, arcname=path.name)
    return buffer.getvalue()


# --- writing ----------------------------------------------------------------------------------
def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_all(
    out_dir: Path,
    tables: Mapping[str, tuple[list[str], Sequence[Sequence[Any]]]],
    *,
    extra: Mapping[str, str] | None = None,
) -> ExportResult:
    """Build every file in memory first, then write each atomically."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} exists and is not a folder")
    payloads = {name: _csv_bytes(header, rows) for name, (header, rows) in tables.items()}
    for name, body in (extra or {}).items():
        payloads[name] = body.encode("utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, data in payloads.items():
        _atomic_write(out_dir / name, data)
        files.append(out_dir / name)
    return ExportResult(
        files=tuple(files), rows={name: len(rows) for name, (_, rows) in tables.items()}
    )


__all__ = [
    "EXPORTABLE",
    "SALESFORCE_FILES",
    "ExportResult",
    "developer_name",
    "hubspot_files",
    "plan_csv",
    "salesforce_files",
    "zip_bytes",
]
