"""The sales world as plain values.

Identifiers are strings (CRM ids such as ``0015g00000AbCdE`` are not numbers), money
always carries its currency, and every object is frozen: a change makes a new value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

#: The industry taxonomy Territorial knows; other values import with a warning.
INDUSTRIES: tuple[str, ...] = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Education",
    "Government",
    "Energy",
    "Transportation & Logistics",
    "Professional Services",
    "Media & Telecom",
    "Construction & Real Estate",
    "Hospitality",
    "Agriculture",
)

#: Customer segments by company size, largest first.
SEGMENTS: tuple[str, ...] = ("Enterprise", "Mid-Market", "SMB")

#: Activity channels.
CHANNELS: tuple[str, ...] = ("call", "email", "meeting", "visit")


def segment_for_employees(employees: int | None) -> str | None:
    """The usual size segment: Enterprise at 1,000+ employees, Mid-Market at 100+, else SMB."""
    if employees is None:
        return None
    if employees >= 1000:
        return "Enterprise"
    if employees >= 100:
        return "Mid-Market"
    return "SMB"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency (ISO 4217 code); amounts are in the currency's units."""

    amount: float
    currency: str = "USD"

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO code, got {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.upper())

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


def _frozen_mapping(value: dict[str, Any] | None) -> MappingProxyType[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class Account:
    """A customer or prospect company."""

    id: str
    name: str
    domain: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = "US"
    latitude: float | None = None
    longitude: float | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Money | None = None
    segment: str | None = None
    owner_id: str | None = None
    attributes: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen_mapping(None))

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an account needs a non-empty id")
        if not isinstance(self.attributes, MappingProxyType):
            object.__setattr__(self, "attributes", _frozen_mapping(dict(self.attributes)))

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True, slots=True)
class Rep:
    """A salesperson (or other seller role) who can own territories and accounts.

    ``capacity_hours`` is selling time per week in hours; ``max_accounts`` caps the
    book size. ``specialties`` lists industries or segments the rep is matched to.
    """

    id: str
    name: str
    email: str | None = None
    role: str = "Account Executive"
    home_city: str | None = None
    home_state: str | None = None
    home_postal_code: str | None = None
    home_latitude: float | None = None
    home_longitude: float | None = None
    specialties: tuple[str, ...] = ()
    capacity_hours: float | None = None
    max_accounts: int | None = None
    start_date: date | None = None
    active: bool = True
    manager_id: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a rep needs a non-empty id")
        object.__setattr__(self, "specialties", tuple(self.specialties))


@dataclass(frozen=True, slots=True)
class Territory:
    """A named book of business, optionally inside a parent (region > segment > territory)."""

    id: str
    name: str
    parent_id: str | None = None
    segment: str | None = None
    owner_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a territory needs a non-empty id")
        object.__setattr__(self, "owner_ids", tuple(self.owner_ids))


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A deal with an account. ``is_closed`` and ``is_won`` follow CRM semantics."""

    id: str
    account_id: str
    amount: Money
    stage: str
    created_date: date
    close_date: date | None = None
    owner_id: str | None = None
    is_closed: bool = False
    is_won: bool = False
    product: str | None = None

    def __post_init__(self) -> None:
        if self.is_won and not self.is_closed:
            raise ValueError(f"opportunity {self.id!r} is won but not closed")


@dataclass(frozen=True, slots=True)
class Activity:
    """A touch on an account: a call, e-mail, meeting or visit, lasting ``duration_minutes``."""

    id: str
    account_id: str
    channel: str
    occurred_at: datetime
    rep_id: str | None = None
    duration_minutes: float = 0.0

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {self.channel!r}")
