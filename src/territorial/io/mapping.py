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
#: ``geocode_source``, ``attributes``, activities' ``type`` and ``import_id`` are not read
#: from files).
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
        "type",
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
        "name",
        "type",
        "lead_source",
        "probability",
        "forecast_category",
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
#: the canonical name itself: Salesforce API names (Data Loader) and report labels,
#: HubSpot export labels and internal names, Microsoft Dynamics 365 names.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "id": (
            "Id",
            "Account ID",
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
            "Billing Zip/Postal Code",
            "Zip/Postal Code",
            "Postal Code",
            "Zip",
            "Zip Code",
            "Postcode",
            "address1_postalcode",
        ),
        "city": ("BillingCity", "address1_city"),
        "state": (
            "BillingState",
            "Billing State/Province",
            "State/Province",
            "State/Region",
            "address1_stateorprovince",
        ),
        "country": ("BillingCountry", "Country/Region", "address1_country"),
        "latitude": ("BillingLatitude", "Lat", "address1_latitude"),
        "longitude": ("BillingLongitude", "Lon", "Lng", "Long", "address1_longitude"),
        "industry": ("Industry", "industrycode"),
        "employees": (
            "NumberOfEmployees",
            "Number of Employees",
            "Employees",
            "numberofemployees",
            "Employee Count",
        ),
        "annual_revenue": ("AnnualRevenue", "Annual Revenue", "revenue"),
        "currency": ("CurrencyIsoCode", "Currency", "Account Currency"),
        "segment": ("Segment", "Customer Segment"),
        "owner_id": (
            "OwnerId",
            "Account Owner ID",
            "Account Owner",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "Company owner",
            "Owner ID",
            "Owner",
            "ownerid",
        ),
        "type": ("Account Type", "Company Type", "customertypecode"),
    },
    "reps": {
        "id": ("Id", "User ID", "UserId", "Owner ID", "Rep ID", "Record ID", "systemuserid"),
        "name": ("Name", "Full Name", "User", "Rep Name", "fullname"),
        "email": ("Email", "Email Address", "E-mail", "internalemailaddress"),
        "role": ("Title", "Role", "Job Title", "UserRole", "User Role", "jobtitle"),
        "home_city": ("City", "address1_city"),
        "home_state": ("State", "State/Province", "State/Region", "address1_stateorprovince"),
        "home_postal_code": (
            "PostalCode",
            "Zip/Postal Code",
            "Postal Code",
            "Zip",
            "Zip Code",
            "address1_postalcode",
        ),
        "home_latitude": ("Latitude", "address1_latitude"),
        "home_longitude": ("Longitude", "address1_longitude"),
        "specialties": ("Specialties", "Specialty"),
        "capacity_hours": ("Capacity Hours", "Capacity", "Weekly Hours"),
        "max_accounts": ("Max Accounts",),
        "start_date": ("Start Date", "Hire Date", "StartDate"),
        "active": ("IsActive", "Is Active", "Active", "isdisabled_inverse"),
        "manager_id": ("ManagerId", "Manager ID", "Manager", "parentsystemuserid"),
    },
    "opportunities": {
        "id": (
            "Id",
            "Opportunity ID",
            "OpportunityId",
            "Record ID",
            "Deal ID",
            "hs_object_id",
            "opportunityid",
        ),
        "account_id": (
            "AccountId",
            "Account ID",
            "Associated Company IDs",
            "Associated Company ID",
            "associatedcompanyid",
            "parentaccountid",
            "customerid",
            "Account Name",
            "Associated Company",
        ),
        "owner_id": (
            "OwnerId",
            "Opportunity Owner ID",
            "Opportunity Owner",
            "Deal owner",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "Owner ID",
            "Owner",
            "ownerid",
        ),
        "amount": ("Amount", "Deal Amount", "estimatedvalue", "actualvalue"),
        "currency": (
            "CurrencyIsoCode",
            "Opportunity Currency",
            "Currency",
            "deal_currency_code",
        ),
        "stage": ("StageName", "Stage", "Deal Stage", "dealstage", "stepname", "salesstage"),
        "created_date": ("CreatedDate", "Created Date", "Create Date", "createdate", "createdon"),
        "close_date": (
            "CloseDate",
            "Close Date",
            "closedate",
            "estimatedclosedate",
            "actualclosedate",
        ),
        "is_closed": ("IsClosed", "Is Closed", "Closed", "hs_is_closed"),
        "is_won": ("IsWon", "Is Won", "Won", "Is Closed Won", "hs_is_closed_won"),
        "product": ("Product", "Product Name", "Product Family", "Pipeline"),
        "name": ("Opportunity Name", "Deal Name", "dealname", "Name"),
        "type": ("Type", "Opportunity Type", "Deal Type", "dealtype", "opportunitytypecode"),
        "lead_source": (
            "LeadSource",
            "Lead Source",
            "Opportunity Source",
            "Original Source",
            "Original Source Type",
            "hs_analytics_source",
            "leadsourcecode",
        ),
        "probability": (
            "Probability",
            "Probability (%)",
            "Deal probability",
            "Deal Stage Probability",
            "hs_deal_stage_probability",
            "closeprobability",
        ),
        "forecast_category": (
            "ForecastCategoryName",
            "ForecastCategory",
            "Forecast Category",
            "hs_forecast_category",
        ),
    },
    "activities": {
        "id": (
            "Id",
            "Activity ID",
            "Task ID",
            "Event ID",
            "Record ID",
            "Engagement ID",
            "activityid",
        ),
        "account_id": (
            "AccountId",
            "WhatId",
            "Account ID",
            "Associated Company IDs",
            "Associated Company ID",
            "regardingobjectid",
            "Company / Account",
            "Account Name",
            "Associated Company",
        ),
        "rep_id": (
            "OwnerId",
            "Assigned To",
            "Assigned",
            "Activity assigned to",
            "HubSpot Owner ID",
            "hubspot_owner_id",
            "Owner ID",
            "Owner",
            "ownerid",
        ),
        "channel": (
            "TaskSubtype",
            "Task Subtype",
            "EventSubtype",
            "Event Subtype",
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
            "hs_timestamp",
            "actualstart",
            "scheduledstart",
            "Date",
            "Due Date",
            "CreatedDate",
            "Created Date",
            "createdon",
        ),
        "duration_minutes": (
            "DurationInMinutes",
            "Duration",
            "Duration Minutes",
            "CallDurationInSeconds",
            "actualdurationminutes",
            "scheduleddurationminutes",
        ),
    },
}

#: Source columns whose values are in another unit than the canonical column:
#: (entity, canonical column, normalised source name) -> factor to multiply by.
#: Salesforce's Probability is a percent (0-100); HubSpot's stage probability a fraction.
SCALES: dict[tuple[str, str, str], float] = {
    ("opportunities", "probability", "dealprobability"): 100.0,
    ("opportunities", "probability", "dealstageprobability"): 100.0,
    ("opportunities", "probability", "hsdealstageprobability"): 100.0,
    ("activities", "duration_minutes", "calldurationinseconds"): 1 / 60,
}

#: Columns that only one kind of export has, besides the aliases above: they help tell
#: what a file holds when its name does not say (normalised names, see ``normalize_name``).
SIGNATURES: dict[str, frozenset[str]] = {
    "accounts": frozenset({
        "accountnumber", "accountsource", "rating", "sic", "sicdesc", "ownership",
        "tickersymbol", "parentid", "parentaccount", "fax", "numberoflocations",
        "shippingstreet", "shippingcity", "shippingstate", "shippingpostalcode",
        "shippingcountry", "billingaddress", "lifecyclestage", "companydomainname",
        "yearfounded", "linkedincompanypage", "numberofassociatedcontacts", "totalrevenue",
    }),
    "reps": frozenset({
        "username", "alias", "profileid", "profile", "userroleid", "timezonesidkey",
        "localesidkey", "languagelocalekey", "emailencodingkey", "federationidentifier",
        "department", "division", "firstname", "lastname", "employeenumber",
        "lastlogindate", "usertype", "communitynickname", "quota",
    }),
    "opportunities": frozenset({
        "expectedrevenue", "nextstep", "fiscalperiod", "fiscalyear", "fiscalquarter",
        "hasopportunitylineitem", "pricebook2id", "campaignid", "pipeline", "age",
        "amountinhomecurrency", "dealname", "dealstage", "closedwonreason",
        "closedlostreason", "isprivate", "totalopportunityquantity",
    }),
    "activities": frozenset({
        "subject", "whoid", "whatid", "activitydate", "activitydatetime", "tasksubtype",
        "eventsubtype", "calltype", "calldurationinseconds", "calldisposition",
        "callobject", "priority", "isrecurrence", "durationinminutes", "startdatetime",
        "enddatetime", "location", "showas", "isalldayevent", "engagementtype",
        "activitytype", "hstimestamp", "callnotes", "notebody", "taskbody", "comments",
        "contact", "companyaccount", "task", "assigned",
    }),
}  # fmt: skip

_NOT_NAME = re.compile(r"[\s_\-./]+")


def normalize_name(name: object) -> str:
    """The key names are compared by: lower case without spaces, ``_``, ``-``, ``.``, ``/``."""
    return _NOT_NAME.sub("", str(name)).casefold()


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """How one file's columns map to an entity's canonical columns.

    ``source`` maps canonical column -> the file's column; ``extra`` lists the
    file's other columns (kept in each row's ``attributes``); ``missing_mapped``
    lists user-mapped columns the file does not have (canonical, source);
    ``alternates`` lists, per canonical column, further columns that could feed it
    (an activity export with both ``TaskSubtype`` and ``Type``); they are also extras.
    """

    source: dict[str, str]
    extra: tuple[str, ...]
    missing_mapped: tuple[tuple[str, str], ...] = field(default=())
    alternates: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
    alternates: dict[str, tuple[str, ...]] = {}
    if entity == "activities" and "channel" in source:
        others = [by_key.get(normalize_name(a)) for a in ALIASES[entity]["channel"]]
        more = tuple(dict.fromkeys(c for c in others if c is not None and c not in used))
        if more:
            # Read for the channel, and still kept in the attributes as written.
            alternates["channel"] = more
    extra = tuple(c for c in columns if c not in used)
    return ColumnMatch(
        source=source, extra=extra, missing_mapped=tuple(missing), alternates=alternates
    )


def scale_of(entity: str, canonical: str, source: str) -> float:
    """The factor a source column's values are multiplied by (1 unless in :data:`SCALES`)."""
    return SCALES.get((entity, canonical, normalize_name(source)), 1.0)


# --- which entity a file holds, from its columns -----------------------------------------


def _vocabulary(entity: str) -> frozenset[str]:
    names = {normalize_name(c) for c in CANONICAL[entity]}
    for aliases in ALIASES[entity].values():
        names.update(normalize_name(a) for a in aliases)
    return frozenset(names | SIGNATURES[entity])


_VOCABULARY: dict[str, frozenset[str]] = {e: _vocabulary(e) for e in ENTITIES}


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a file's columns say it holds.

    ``entity`` is the recognised entity (``None`` when the columns do not decide),
    ``evidence`` the file's columns that only that entity's exports have, and
    ``candidates`` every entity whose required columns the file has, each with its
    telling columns (for the message when the file is refused).
    """

    entity: str | None
    evidence: tuple[str, ...]
    candidates: dict[str, tuple[str, ...]]

    def describe(self) -> str:
        """``columns StageName, Amount, CloseDate`` or why nothing was recognised."""
        if self.entity is not None:
            shown = ", ".join(self.evidence[:6]) + (", ..." if len(self.evidence) > 6 else "")
            return f"columns {shown}"
        if not self.candidates:
            return "its columns match no entity's required columns"
        listed = "; ".join(
            f"{entity} ({', '.join(cols[:4]) or 'required columns only'})"
            for entity, cols in self.candidates.items()
        )
        return f"its columns fit several entities: {listed}"


def recognise_kind(
    columns: Sequence[str], *, mapping: Mapping[str, Mapping[str, str]] | None = None
) -> Recognition:
    """Tell accounts, reps, opportunities and activities apart by their columns.

    An entity is a candidate when the file has its required columns (after the
    user's mapping and the aliases). Among candidates, the one with the most columns
    that no other entity's exports use (``StageName``, ``Username``, ``TaskSubtype``,
    ``Billing Zip/Postal Code`` ...) wins, if it has strictly more than any other;
    otherwise the file is ambiguous and ``entity`` is ``None``.
    """
    keys = {normalize_name(c): c for c in reversed(list(columns))}
    candidates: dict[str, tuple[str, ...]] = {}
    required: dict[str, tuple[str, ...]] = {}
    for entity in ENTITIES:
        match = match_columns(entity, list(columns), user=(mapping or {}).get(entity))
        if any(c not in match.source for c in REQUIRED[entity]) or match.missing_mapped:
            continue
        required[entity] = tuple(match.source[c] for c in REQUIRED[entity])
        others = set().union(*(_VOCABULARY[e] for e in ENTITIES if e != entity))
        telling = tuple(keys[k] for k in keys if k in _VOCABULARY[entity] and k not in others)
        candidates[entity] = tuple(sorted(telling, key=list(columns).index))
    if not candidates:
        return Recognition(None, (), {})
    ranked = sorted(candidates.items(), key=lambda item: -len(item[1]))
    best, evidence = ranked[0]
    if len(ranked) == 1 or len(evidence) > len(ranked[1][1]):
        # A sole candidate may have no column of its own: its required columns tell.
        return Recognition(best, evidence or required[best], candidates)
    return Recognition(None, (), candidates)


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
