"""Which source column feeds which canonical column.

Every entity has canonical columns (the column names of its table in
``territorial.store.tables``). CRM exports name them differently; :data:`ALIASES`
lists the names Territorial recognises out of the box (Salesforce, HubSpot and
Microsoft Dynamics 365 exports), and a user mapping file (``--mapping FILE.yaml``)
overrides them per entity::

    accounts:
      id: Account Number        # canonical column: source column
      name: Company
    opportunities:
      account_id: Company Ref

Names match case-, space-, underscore-, dash- and dot-insensitively: ``Billing
Postal Code``, ``billing_postal_code`` and ``BillingPostalCode`` are the same.
``docs/import.md`` prints the full table (kept in sync by a test).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from territorial.errors import ConfigError

#: Entities a user can import, in the order they are written (foreign keys).
ENTITIES: tuple[str, ...] = ("accounts", "reps", "opportunities", "activities")

#: Canonical columns per entity, as in ``store/tables.py`` (computed columns such as
#: ``geocode_source``, ``attributes`` and ``import_id`` are not read from files).
CANONICAL: dict[str, tuple[str, ...]] = {
    "accounts": (
        "id",
        "name",
        "domain",
        "street",
        "postal_code",
        "city",
        "state",
        "country",
        "latitude",
        "longitude",
        "industry",
        "employees",
        "annual_revenue",
        "currency",
        "segment",
        "owner_id",
    ),
    "reps": (
        "id",
        "name",
        "email",
        "role",
        "home_city",
        "home_state",
        "home_postal_code",
        "home_latitude",
        "home_longitude",
        "specialties",
        "capacity_hours",
        "max_accounts",
        "start_date",
        "active",
        "manager_id",
    ),
    "opportunities": (
        "id",
        "account_id",
        "owner_id",
        "amount",
        "currency",
        "stage",
        "created_date",
        "close_date",
        "is_closed",
        "is_won",
        "product",
    ),
    "activities": ("id", "account_id", "rep_id", "channel", "occurred_at", "duration_minutes"),
}

#: Columns a file must have (after mapping) for its rows to be importable.
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "name"),
    "reps": ("id", "name"),
    "opportunities": ("id", "account_id", "amount", "stage", "created_date"),
    "activities": ("id", "account_id", "channel", "occurred_at"),
}

#: Built-in aliases: canonical column -> accepted source names, tried in order after
#: the canonical name itself. (SF = Salesforce, HS = HubSpot, D = Dynamics 365.)
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "id": (
            "Id",
            "Account Id",
            "AccountId",
            "Record ID",
            "Company ID",
            "hs_object_id",
            "accountid",
        ),
        "name": ("Name", "Account Name", "Company name", "Company"),
        "domain": ("Website", "Company Domain Name", "Website URL", "websiteurl", "Domain"),
        "street": ("BillingStreet", "Street Address", "Address", "address1_line1"),
        "postal_code": (
            "BillingPostalCode",
            "Postal Code",
            "Zip",
            "Zip Code",
            "ZIP",
            "address1_postalcode",
        ),
        "city": ("BillingCity", "address1_city"),
        "state": ("BillingState", "State/Region", "State Region", "address1_stateorprovince"),
        "country": ("BillingCountry", "Country/Region", "Country Region", "address1_country"),
        "latitude": ("BillingLatitude", "Lat", "address1_latitude"),
        "longitude": ("BillingLongitude", "Lon", "Lng", "Long", "address1_longitude"),
        "industry": ("Industry", "industrycode"),
        "employees": (
            "NumberOfEmployees",
            "Number of Employees",
            "numberofemployees",
            "Employee Count",
        ),
        "annual_revenue": ("AnnualRevenue", "Annual Revenue", "revenue"),
        "currency": ("CurrencyIsoCode", "Currency"),
        "segment": ("Segment", "Customer Segment"),
        "owner_id": (
            "OwnerId",
            "Account Owner Id",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "Company owner",
            "ownerid",
        ),
    },
    "reps": {
        "id": ("Id", "User Id", "UserId", "Owner ID", "Record ID", "systemuserid"),
        "name": ("Name", "Full Name", "fullname"),
        "email": ("Email", "Email Address", "internalemailaddress"),
        "role": ("Title", "Role", "Job Title", "UserRole", "jobtitle"),
        "home_city": ("City", "address1_city"),
        "home_state": ("State", "State/Region", "address1_stateorprovince"),
        "home_postal_code": ("PostalCode", "Postal Code", "Zip", "Zip Code", "address1_postalcode"),
        "home_latitude": ("Latitude", "address1_latitude"),
        "home_longitude": ("Longitude", "address1_longitude"),
        "specialties": ("Specialties", "Specialty"),
        "capacity_hours": ("Capacity Hours", "Capacity", "Weekly Hours"),
        "max_accounts": ("Max Accounts",),
        "start_date": ("Start Date", "Hire Date", "StartDate"),
        "active": ("IsActive", "Is Active", "Active", "isdisabled_inverse"),
        "manager_id": ("ManagerId", "Manager Id", "parentsystemuserid"),
    },
    "opportunities": {
        "id": (
            "Id",
            "Opportunity Id",
            "OpportunityId",
            "Record ID",
            "Deal ID",
            "hs_object_id",
            "opportunityid",
        ),
        "account_id": (
            "AccountId",
            "Account Id",
            "Associated Company IDs",
            "Associated Company ID",
            "associatedcompanyid",
            "parentaccountid",
            "customerid",
        ),
        "owner_id": (
            "OwnerId",
            "Opportunity Owner Id",
            "Deal owner",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "ownerid",
        ),
        "amount": ("Amount", "estimatedvalue", "actualvalue"),
        "currency": ("CurrencyIsoCode", "Currency", "deal_currency_code"),
        "stage": ("StageName", "Stage", "Deal Stage", "dealstage", "stepname", "salesstage"),
        "created_date": ("CreatedDate", "Create Date", "createdate", "createdon"),
        "close_date": (
            "CloseDate",
            "Close Date",
            "closedate",
            "estimatedclosedate",
            "actualclosedate",
        ),
        "is_closed": ("IsClosed", "Is Closed", "hs_is_closed"),
        "is_won": ("IsWon", "Is Won", "Is Closed Won", "hs_is_closed_won"),
        "product": ("Product", "Product Name", "Product Family", "Pipeline"),
    },
    "activities": {
        "id": (
            "Id",
            "Activity Id",
            "Task Id",
            "Event Id",
            "Record ID",
            "Engagement ID",
            "activityid",
        ),
        "account_id": (
            "AccountId",
            "WhatId",
            "Account Id",
            "Associated Company IDs",
            "Associated Company ID",
            "regardingobjectid",
        ),
        "rep_id": (
            "OwnerId",
            "Assigned To",
            "Activity assigned to",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "ownerid",
        ),
        "channel": (
            "TaskSubtype",
            "EventSubtype",
            "Type",
            "Activity Type",
            "Engagement Type",
            "activitytypecode",
        ),
        "occurred_at": (
            "ActivityDateTime",
            "ActivityDate",
            "Activity Date",
            "StartDateTime",
            "Timestamp",
            "actualstart",
            "scheduledstart",
            "CreatedDate",
            "createdon",
        ),
        "duration_minutes": (
            "DurationInMinutes",
            "Duration",
            "Duration Minutes",
            "actualdurationminutes",
            "scheduleddurationminutes",
        ),
    },
}

_NOT_NAME = re.compile(r"[\s_\-./]+")


def normalize_name(name: object) -> str:
    """The key names are compared by: lower case without spaces, ``_``, ``-``, ``.``, ``/``."""
    return _NOT_NAME.sub("", str(name)).casefold()


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """How one file's columns map to an entity's canonical columns.

    ``source`` maps canonical column -> the file's column; ``extra`` lists the
    file's other columns (accounts keep them in ``attributes``); ``missing_mapped``
    lists user-mapped columns the file does not have (canonical, source).
    """

    source: dict[str, str]
    extra: tuple[str, ...]
    missing_mapped: tuple[tuple[str, str], ...] = field(default=())


def match_columns(
    entity: str, columns: Sequence[str], *, user: Mapping[str, str] | None = None
) -> ColumnMatch:
    """Map a file's ``columns`` for ``entity``: user mapping, then canonical names, then aliases."""
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(normalize_name(column), column)
    source: dict[str, str] = {}
    used: set[str] = set()
    missing: list[tuple[str, str]] = []
    for canonical, wanted in (user or {}).items():
        found = by_key.get(normalize_name(wanted))
        if found is None:
            missing.append((canonical, wanted))
        else:
            source[canonical] = found
            used.add(found)
    # Exact canonical names win over aliases (a file with "id" and "AccountId" keeps "id").
    for canonical in CANONICAL[entity]:
        found = by_key.get(normalize_name(canonical))
        if canonical not in source and found is not None and found not in used:
            source[canonical] = found
            used.add(found)
    for canonical in CANONICAL[entity]:
        if canonical in source:
            continue
        for alias in ALIASES[entity].get(canonical, ()):
            found = by_key.get(normalize_name(alias))
            if found is not None and found not in used:
                source[canonical] = found
                used.add(found)
                break
    extra = tuple(c for c in columns if c not in used)
    return ColumnMatch(source=source, extra=extra, missing_mapped=tuple(missing))


def load_mapping(path: Path | str) -> dict[str, dict[str, str]]:
    """Read a user mapping YAML file: ``{entity: {canonical column: source column}}``.

    Raises :class:`ConfigError` naming the file and the bad key when the file is not
    valid YAML or names an unknown entity or canonical column.
    """
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"mapping file {path} does not exist") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping file {path} is not valid YAML: {exc}") from exc
    return validate_mapping(loaded or {}, origin=str(path))


def validate_mapping(mapping: object, *, origin: str = "mapping") -> dict[str, dict[str, str]]:
    """Check a mapping given as data (e.g. from a notebook) and return it normalised."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{origin}: expected entity names at the top level, got {mapping!r}")
    out: dict[str, dict[str, str]] = {}
    for entity, columns in mapping.items():
        if entity not in CANONICAL:
            raise ConfigError(f"{origin}: unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
        if not isinstance(columns, Mapping):
            raise ConfigError(
                f"{origin}: {entity} must map canonical column -> source column, got {columns!r}"
            )
        out[entity] = {}
        for canonical, source in columns.items():
            if canonical not in CANONICAL[entity]:
                raise ConfigError(
                    f"{origin}: {entity} has no column {canonical!r}; "
                    f"canonical columns: {', '.join(CANONICAL[entity])}"
                )
            if not isinstance(source, str | int) or str(source).strip() == "":
                raise ConfigError(
                    f"{origin}: {entity}.{canonical} must name a source column, got {source!r}"
                )
            out[entity][canonical] = str(source)
    return out


# --- which entity a file holds, from its name ------------------------------------------

_KIND_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("accounts", ("accounts", "account", "companies", "company")),
    ("reps", ("reps", "users", "user", "owners", "owner")),
    ("opportunities", ("opportunities", "opportunity", "opps", "opp", "deals", "deal")),
    (
        "activities",
        ("activities", "activity", "tasks", "task", "events", "event", "engagements", "engagement"),
    ),
)


def kind_from_name(path: Path | str) -> str | None:
    """The entity a file holds judging by its name (``accounts_2024.csv`` -> ``accounts``).

    ``rep`` must be a whole word (``rep.csv``, ``rep_list.csv``) so ``reports.csv`` is
    not taken for reps. ``None`` when the name says nothing.
    """
    stem = Path(path).name.split(".")[0].casefold()
    if stem == "rep" or re.match(r"rep[^a-z]", stem):
        return "reps"
    for kind, prefixes in _KIND_PREFIXES:
        if stem.startswith(prefixes):
            return kind
    return None
