"""Generate a realistic sample company: accounts, reps, opportunities and activities.

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order and
is vectorised: strings are built by indexing word pools with integer arrays and joining
them with Arrow compute kernels, so a million accounts take seconds, not hours. The
distributions (and the planted win model) are described in ``docs/sample.md``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.spatial import cKDTree

from territorial.domain.model import CHANNELS, INDUSTRIES, SEGMENTS
from territorial.errors import ConfigError
from territorial.geometry import EARTH_RADIUS_KM, great_circle_km
from territorial.sample import vocabulary as vocab
from territorial.sample.leads import (
    LEAD_SOURCES,
    LEADS_STREAM,
    SampleOpportunities,
    draw_lead_sources,
    make_leads,
)
from territorial.sample.reference import Gazetteer, load_gazetteer, unit_vectors
from territorial.sample.win_model import win_logit_arrays

logger = logging.getLogger(__name__)

#: Default "today" of the sample: history ends on this date.
DEFAULT_AS_OF = date(2026, 10, 31)

#: Concave exponent applied to place populations: big metros dominate, small towns remain.
PLACE_WEIGHT_EXPONENT = 0.9

#: Opportunities per account per year before segment and interest multipliers.
OPPORTUNITIES_PER_ACCOUNT_YEAR = 0.5
OPPORTUNITY_SEGMENT_RATE = {"Enterprise": 2.0, "Mid-Market": 1.3, "SMB": 0.8}

STAGES_OPEN: tuple[str, ...] = ("Prospecting", "Qualification", "Proposal", "Negotiation")
STAGES: tuple[str, ...] = (*STAGES_OPEN, "Closed Won", "Closed Lost")

#: Column order of each file; the names are the store's canonical column names.
ACCOUNT_COLUMNS: tuple[str, ...] = (
    "id", "name", "domain", "street", "postal_code", "city", "state", "country", "latitude",
    "longitude", "industry", "employees", "annual_revenue", "currency", "segment", "owner_id",
    "technology", "web_visits_30d", "hiring", "new_executive",
)  # fmt: skip
REP_COLUMNS: tuple[str, ...] = (
    "id", "name", "email", "role", "home_city", "home_state", "home_postal_code",
    "home_latitude", "home_longitude", "specialties", "capacity_hours", "max_accounts",
    "start_date", "active", "manager_id",
)  # fmt: skip
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "id", "account_id", "owner_id", "amount", "currency", "stage", "created_date",
    "close_date", "is_closed", "is_won", "product", "lead_source",
)  # fmt: skip
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "id",
    "account_id",
    "rep_id",
    "channel",
    "occurred_at",
    "duration_minutes",
)

Step = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class SampleCompany:
    """A generated company: one pandas DataFrame per importable entity.

    Columns carry the canonical store names (see ``ACCOUNT_COLUMNS`` etc.); dates are
    ``datetime64`` columns (midnight for date-only fields), strings are
    ``string[pyarrow]``. ``as_of`` is the day the history ends.
    """

    accounts: pd.DataFrame
    reps: pd.DataFrame
    opportunities: pd.DataFrame
    activities: pd.DataFrame
    as_of: date
    seed: int
    #: The leads file (``LEAD_COLUMNS``): routed with ``territorial route``, not imported.
    leads: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four importable tables by entity name, in import order (not the leads)."""
        return {
            "accounts": self.accounts,
            "reps": self.reps,
            "opportunities": self.opportunities,
            "activities": self.activities,
        }


# --------------------------------------------------------------------------- helpers


def _pool(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def _take(values: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    pool = values if isinstance(values, pa.Array) else _pool(values)
    return pool.take(pa.array(index, type=pa.int64()))


def _join(*parts: pa.Array | str, sep: str = " ") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _categorical(
    rng: np.random.Generator, shares: Sequence[float] | np.ndarray, size: int
) -> np.ndarray:
    """Indices drawn with the given (unnormalised) shares."""
    cum = np.cumsum(np.asarray(shares, dtype=np.float64))
    return np.searchsorted(cum, rng.random(size) * cum[-1], side="right").clip(0, len(cum) - 1)


def _categorical_rows(
    rng: np.random.Generator, shares: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """One draw per element from the share row of its group (groups x categories).

    Rows are normalised and laid end to end as ``group + cumulative share``, so one
    ``searchsorted`` serves every group without a groups x elements matrix.
    """
    shares = np.asarray(shares, dtype=np.float64)
    groups, categories = shares.shape
    cum = np.cumsum(shares, axis=1)
    cum = cum / cum[:, -1:]
    flat = (np.arange(groups, dtype=np.float64)[:, None] + cum).ravel()
    position = group + rng.random(len(group))
    index = np.searchsorted(flat, position, side="right") - group * categories
    return index.clip(0, categories - 1)


def _ids(prefix: str, count: int) -> pa.Array:
    """``prefix`` + zero-padded sequence numbers starting at 1 (at least 6 digits)."""
    width = max(6, len(str(count)))
    numbers = np.arange(1, count + 1, dtype=np.int64)
    low = _take([f"{i:04d}" for i in range(10_000)], numbers % 10_000)
    high_count = int(numbers[-1] // 10_000) + 1 if count else 1
    high = _take([f"{i:0{width - 4}d}" for i in range(high_count)], numbers // 10_000)
    return _join(prefix, high, low, sep="")


def _days(value: date) -> int:
    return (value - date(1970, 1, 1)).days


def _month_start_days(months: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the first day of months counted from January 1970."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _rank_within(groups: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """0-based rank of each element inside its group, ordered by ``priority`` (high first)."""
    order = np.lexsort((-priority, groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    rank_sorted = np.arange(len(groups)) - np.repeat(starts, sizes)
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


def _industry_shares(gaz: Gazetteer) -> np.ndarray:
    """Industry shares per place (places x industries), regional tilts applied."""
    shares = np.tile(
        np.array([vocab.INDUSTRY_BASE_SHARE[name] for name in INDUSTRIES]), (gaz.n_places, 1)
    )
    column = {name: i for i, name in enumerate(INDUSTRIES)}
    for industry, states, factor in vocab.STATE_TILTS:
        rows = np.isin(gaz.place_state, states)
        shares[rows, column[industry]] *= factor
    lower = 0
    for upper, tilts in vocab.PLACE_SIZE_TILTS:
        rows = (gaz.place_population >= lower) & (gaz.place_population < upper)
        for industry, factor in tilts.items():
            shares[rows, column[industry]] *= factor
        lower = upper
    return shares


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, eq=False)
class _AccountArrays:
    latitude: np.ndarray
    longitude: np.ndarray
    industry: np.ndarray
    segment: np.ndarray
    employees: np.ndarray
    technology: np.ndarray
    web_visits: np.ndarray
    hiring: np.ndarray
    new_executive: np.ndarray
    interest: np.ndarray


def _place_weights(gaz: Gazetteer) -> np.ndarray:
    weights = gaz.place_population.astype(np.float64) ** PLACE_WEIGHT_EXPONENT
    return weights / weights.sum()


def _draw_places(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.searchsorted(cum, rng.random(size) * cum[-1], side="right").clip(0, len(cum) - 1)


def _domain_fragments(pool: pa.Array) -> pa.Array:
    """Lower-case ASCII letters and digits of each string ("Lone Star" -> "lonestar")."""
    return pc.replace_substring_regex(pc.utf8_lower(pool), r"[^a-z0-9]", "")


@functools.lru_cache(maxsize=2)
def _lead_pools(place_names: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
    """First words of company names (words, "Surname & Surname" pairs, city names) and
    their domain fragments, built once per set of places."""
    surnames = vocab.LAST_NAMES
    leads = [
        *vocab.NAME_WORDS,
        *(f"{a} & {b}" for a in surnames for b in surnames),
        *place_names,
    ]
    pool = _pool(leads)
    return pool, _domain_fragments(pool)


def _company_names(
    rng: np.random.Generator, industry: np.ndarray, place: np.ndarray, place_names: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """Company names ("Granite Ridge Logistics LLC") and unique web domains.

    A name is lead + optional middle + industry word + legal suffix. The lead is a
    landscape word or family name, a pair of family names ("Baker & Shah") or the
    account's city; each part indexes a small pool, and domains join the same parts'
    lower-case letters and digits.
    """
    n = len(industry)
    words, surnames = vocab.NAME_WORDS, vocab.LAST_NAMES
    leads, lead_fragments = _lead_pools(tuple(place_names.tolist()))
    style = rng.random(n)
    lead_index = np.select(
        [style < 0.08, style < 0.16],
        [
            len(words)
            + rng.integers(0, len(surnames), n) * len(surnames)
            + rng.integers(0, len(surnames), n),
            len(words) + len(surnames) ** 2 + place,
        ],
        default=rng.integers(0, len(words), n),
    )
    middles = ("", *vocab.NAME_MIDDLES)
    middle_index = np.where(rng.random(n) < 0.25, rng.integers(1, len(middles), n), 0)
    per_industry = len(vocab.INDUSTRY_WORDS[INDUSTRIES[0]])
    industry_words = [w for name in INDUSTRIES for w in vocab.INDUSTRY_WORDS[name]]
    assert len(industry_words) == per_industry * len(INDUSTRIES)
    word_index = industry * per_industry + rng.integers(0, per_industry, n)
    suffix_index = _categorical(rng, vocab.LEGAL_SUFFIX_SHARE, n)

    name = _join(
        leads.take(pa.array(lead_index)),
        _take([f" {m}" if m else "" for m in middles], middle_index),
        _take([f" {w}" for w in industry_words], word_index),
        _take([f" {x}" if x else "" for x in vocab.LEGAL_SUFFIXES], suffix_index),
        sep="",
    )
    stem = _join(
        lead_fragments.take(pa.array(lead_index)),
        _domain_fragments(_pool(middles)).take(pa.array(middle_index)),
        _domain_fragments(_pool(industry_words)).take(pa.array(word_index)),
        sep="",
    )
    tld = _take(vocab.TLDS, _categorical(rng, vocab.TLD_SHARE, n))
    codes = np.asarray(pc.dictionary_encode(_join(stem, tld, sep="")).indices, dtype=np.int64)
    duplicate = _rank_within(codes, -np.arange(n, dtype=np.int64))
    numbers = ["", *(str(i + 1) for i in range(1, int(duplicate.max(initial=0)) + 1))]
    domain = _join(stem, _take(numbers, duplicate), tld, sep="")
    return name, domain


def _streets(rng: np.random.Generator, employees: np.ndarray) -> pa.Array:
    """Street addresses: log-uniform house numbers, common street names, suites for offices."""
    n = len(employees)
    number = np.exp(rng.uniform(0.0, np.log(20_000), n)).astype(np.int64).clip(1, 19_999)
    suites = ["", *(f", Suite {s}" for s in range(100, 2500, 10))]
    has_suite = (employees >= 50) & (rng.random(n) < 0.45)
    suite = np.where(has_suite, rng.integers(1, len(suites), n), 0)
    return _join(
        _take([f"{i} " for i in range(20_000)], number),
        _take(vocab.STREET_NAMES, rng.integers(0, len(vocab.STREET_NAMES), n)),
        _take([f" {t}" for t in vocab.STREET_TYPES], _categorical(rng, vocab.STREET_TYPE_SHARE, n)),
        _take(suites, suite),
        sep="",
    )


def _make_accounts(
    rng: np.random.Generator, gaz: Gazetteer, n: int
) -> tuple[dict[str, pa.Array], _AccountArrays]:
    weights = _place_weights(gaz)
    place = _draw_places(rng, weights, n)
    population = gaz.place_population[place]
    latitude, longitude, postal = gaz.locate(rng, place)

    industry = _categorical_rows(rng, _industry_shares(gaz), place)

    # Heavy-tailed size: log-normal around an industry median, a little larger in big cities.
    median = np.array([vocab.MEDIAN_EMPLOYEES[name] for name in INDUSTRIES])[industry]
    city_factor = np.clip(1.0 + 0.1 * np.log10(np.maximum(population, 1) / 10_000.0), 0.85, 1.4)
    employees = np.rint(
        median * city_factor * np.exp(vocab.EMPLOYEE_SIGMA * rng.standard_normal(n))
    )
    employees = employees.clip(1, vocab.MAX_EMPLOYEES).astype(np.int64)
    segment = np.where(employees >= 1000, 0, np.where(employees >= 100, 1, 2))  # SEGMENTS order

    per_employee = np.array([vocab.REVENUE_PER_EMPLOYEE[name] for name in INDUSTRIES])[industry]
    revenue = employees * per_employee * np.exp(0.4 * rng.standard_normal(n))
    revenue = np.maximum(np.round(revenue / 1000.0) * 1000.0, 1000.0)

    technology = _categorical_rows(
        rng, np.array([vocab.TECHNOLOGY_SHARE_BY_SEGMENT[name] for name in SEGMENTS]), segment
    )

    # Intent signals: a latent interest drives web visits (and, later, deal flow).
    interest = rng.standard_normal(n)
    visit_rate = np.exp(0.3 + 0.25 * np.log10(employees) + 0.9 * interest)
    web_visits = rng.poisson(visit_rate).clip(0, 5000).astype(np.int64)
    hiring = rng.random(n) < np.array([0.40, 0.25, 0.12])[segment]
    new_executive = rng.random(n) < np.array([0.12, 0.09, 0.06])[segment]

    city = _take(pa.array(gaz.place_name, type=pa.string()), place)
    name, domain = _company_names(rng, industry, place, gaz.place_name)
    street = _streets(rng, employees)

    columns: dict[str, pa.Array] = {
        "id": _ids("A", n),
        "name": name,
        "domain": domain,
        "street": street,
        "postal_code": _take(pa.array(gaz.zip_code, type=pa.string()), postal),
        "city": city,
        "state": _take(pa.array(gaz.place_state, type=pa.string()), place),
        "country": _take(["US"], np.zeros(n, dtype=np.int64)),
        "latitude": pa.array(latitude),
        "longitude": pa.array(longitude),
        "industry": _take(INDUSTRIES, industry),
        "employees": pa.array(employees),
        "annual_revenue": pa.array(revenue),
        "currency": _take(["USD"], np.zeros(n, dtype=np.int64)),
        "segment": _take(SEGMENTS, segment),
        # owner_id is filled in once reps exist
        "technology": _take(vocab.TECHNOLOGIES, technology),
        "web_visits_30d": pa.array(web_visits),
        "hiring": pa.array(hiring),
        "new_executive": pa.array(new_executive),
    }
    arrays = _AccountArrays(
        latitude=latitude,
        longitude=longitude,
        industry=industry,
        segment=segment,
        employees=employees,
        technology=technology,
        web_visits=web_visits,
        hiring=hiring,
        new_executive=new_executive,
        interest=interest,
    )
    return columns, arrays


# --------------------------------------------------------------------------- reps

_ROLE_AE, _ROLE_SENIOR, _ROLE_SDR, _ROLE_MANAGER = range(4)

#: Accounts one seller (AE or Senior AE) carries. Calibrated on the default scoring
#: configuration: a sample account needs about 27 hours a year (visits, calls and travel
#: from a nearby rep) and a seller gives 40 h/week x 46 weeks x 0.6 utilisation = 1,104
#: hours, so 30 accounts load a territory to 65-80% of a rep's hours and the ±10%
#: band of a balanced plan stays within the capacity of a 35-hour rep.
ACCOUNTS_PER_SELLER = 30
#: Share of the head count that carries a territory (active AEs and Senior AEs; the rest
#: are managers, SDRs and people on leave), from :func:`_role_counts`.
SELLER_SHARE = 0.68


def default_reps(accounts: int) -> int:
    """The sample's head count for ``accounts``: enough sellers for the workload model
    (``ACCOUNTS_PER_SELLER``), plus managers and SDRs; at least 5."""
    return max(5, math.ceil(accounts / ACCOUNTS_PER_SELLER / SELLER_SHARE))


@dataclass(frozen=True, eq=False)
class _RepArrays:
    latitude: np.ndarray
    longitude: np.ndarray
    role: np.ndarray
    active: np.ndarray
    specialty_mask: np.ndarray  # bit i: INDUSTRIES[i]; bit 14+j: SEGMENTS[j]
    max_accounts: np.ndarray
    manager: np.ndarray  # index of the manager, -1 for none
    start_day: np.ndarray  # days since 1970-01-01


def _role_counts(r: int) -> tuple[int, int, int]:
    managers = r // 8 if r >= 4 else 0
    sdrs = round(0.15 * r) if r >= 5 else 0
    seniors = round(0.25 * r) if r >= 3 else 0
    return managers, sdrs, seniors


def _make_reps(
    rng: np.random.Generator, gaz: Gazetteer, r: int, as_of: date
) -> tuple[dict[str, pa.Array], _RepArrays]:
    # Homes: real cities of 50,000+ people, weighted like accounts (population^0.9).
    big = np.flatnonzero(gaz.place_population >= 50_000)
    weights = gaz.place_population[big].astype(np.float64) ** PLACE_WEIGHT_EXPONENT
    place = big[_draw_places(rng, weights / weights.sum(), r)]
    latitude, longitude, postal = gaz.locate(rng, place, spread=1.5)

    managers, sdrs, seniors = _role_counts(r)
    role = np.full(r, _ROLE_AE, dtype=np.int64)
    role[:managers] = _ROLE_MANAGER
    role[managers : managers + sdrs] = _ROLE_SDR
    role[managers + sdrs : managers + sdrs + seniors] = _ROLE_SENIOR
    role = rng.permutation(role)
    active = (rng.random(r) >= 0.05) | (role == _ROLE_MANAGER)
    sellers = (role == _ROLE_AE) | (role == _ROLE_SENIOR)
    if sellers.any() and not (sellers & active).any():
        active[np.flatnonzero(sellers)[0]] = True

    # Specialties: some industries (weighted by how common they are) and a segment focus.
    industry_share = np.array([vocab.INDUSTRY_BASE_SHARE[name] for name in INDUSTRIES])
    first_industry = _categorical(rng, industry_share, r)
    second_industry = _categorical(rng, industry_share, r)
    industry_draw = rng.random(r)
    has_first = (industry_draw < 0.6) & (role != _ROLE_MANAGER)
    has_second = has_first & (industry_draw < 0.15) & (second_industry != first_industry)
    segment_draw = rng.random(r)
    segment_focus = np.where(
        role == _ROLE_SENIOR,
        np.where(segment_draw < 0.7, 0, 1),
        np.where(role == _ROLE_SDR, 2, np.where(segment_draw < 0.5, 1, 2)),
    )
    has_segment = (rng.random(r) < 0.4) & (role != _ROLE_MANAGER)
    mask = np.zeros(r, dtype=np.int64)
    mask |= np.where(has_first, 1 << first_industry, 0)
    mask |= np.where(has_second, 1 << second_industry, 0)
    mask |= np.where(has_segment, 1 << (len(INDUSTRIES) + segment_focus), 0)
    labels = (*INDUSTRIES, *SEGMENTS)
    specialties = [
        "|".join(label for bit, label in enumerate(labels) if m >> bit & 1) for m in mask.tolist()
    ]  # one short loop per rep (not per account)

    first = _take(vocab.FIRST_NAMES, rng.integers(0, len(vocab.FIRST_NAMES), r))
    last = _take(vocab.LAST_NAMES, rng.integers(0, len(vocab.LAST_NAMES), r))
    name = _join(first, last)
    handle = pc.replace_substring_regex(pc.utf8_lower(_join(first, last, sep=".")), r"[^a-z.]", "")
    codes = np.asarray(pc.dictionary_encode(handle).indices, dtype=np.int64)
    duplicate = _rank_within(codes, -np.arange(r, dtype=np.int64))
    numbers = ["", *(str(i + 1) for i in range(1, int(duplicate.max(initial=0)) + 1))]
    email = _join(handle, _take(numbers, duplicate), "@sales.example.com", sep="")

    capacity = np.where(
        role == _ROLE_MANAGER,
        np.clip(rng.normal(20.0, 2.5, r), 15.0, 25.0),
        np.clip(rng.normal(40.0, 2.5, r), 35.0, 45.0),
    )
    capacity = np.round(capacity * 2.0) / 2.0
    # books sized to the workload model (ACCOUNTS_PER_SELLER on average), with headroom
    # for territories of many small accounts; managers and SDRs carry none
    max_accounts = np.select(
        [role == _ROLE_AE, role == _ROLE_SENIOR],
        [rng.integers(20, 31, r) * 5, rng.integers(16, 25, r) * 5],
        default=0,
    ).astype(np.int64)

    tenure_days = rng.exponential(3.5 * 365.25, r) + 30 + np.where(role == _ROLE_MANAGER, 730, 0)
    start_day = np.maximum(_days(as_of) - tenure_days.astype(np.int64), _days(date(2008, 1, 7)))

    manager = np.full(r, -1, dtype=np.int64)
    manager_index = np.flatnonzero(role == _ROLE_MANAGER)
    if len(manager_index):
        tree = cKDTree(unit_vectors(latitude[manager_index], longitude[manager_index]))
        nearest = tree.query(unit_vectors(latitude, longitude), k=1)[1]
        manager = np.where(role == _ROLE_MANAGER, -1, manager_index[nearest])

    ids = _ids("R", r)
    columns: dict[str, pa.Array] = {
        "id": ids,
        "name": name,
        "email": email,
        "role": _take(vocab.ROLES, role),
        "home_city": _take(pa.array(gaz.place_name, type=pa.string()), place),
        "home_state": _take(pa.array(gaz.place_state, type=pa.string()), place),
        "home_postal_code": _take(pa.array(gaz.zip_code, type=pa.string()), postal),
        "home_latitude": pa.array(latitude),
        "home_longitude": pa.array(longitude),
        "specialties": pa.array([text or None for text in specialties], type=pa.string()),
        "capacity_hours": pa.array(capacity),
        "max_accounts": pa.array(max_accounts),
        "start_date": pa.array(start_day.astype(np.int32), type=pa.date32()),
        "active": pa.array(active),
        "manager_id": _nullable_take(ids, manager),
    }
    arrays = _RepArrays(
        latitude=latitude,
        longitude=longitude,
        role=role,
        active=active,
        specialty_mask=mask,
        max_accounts=max_accounts,
        manager=manager,
        start_day=start_day,
    )
    return columns, arrays


def _nullable_take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]`` with nulls where ``index`` is negative."""
    return values.take(pa.array(index, mask=index < 0, type=pa.int64()))


# --------------------------------------------------------------------------- ownership


def _assign_owners(
    rng: np.random.Generator, accounts: _AccountArrays, reps: _RepArrays
) -> tuple[np.ndarray, np.ndarray]:
    """Current owner of each account (-1: unowned) and the nearest active seller.

    A nearby active AE or Senior AE, preferring specialists and Senior AEs for
    Enterprise; ~7% whitespace, books capped at ``max_accounts`` (reps keep their
    largest accounts), then ~2% messy owners: any rep, even far away or inactive.
    """
    n = len(accounts.latitude)
    owner = np.full(n, -1, dtype=np.int64)
    nearest = np.full(n, -1, dtype=np.int64)
    sellers = np.flatnonzero(((reps.role == _ROLE_AE) | (reps.role == _ROLE_SENIOR)) & reps.active)
    if len(sellers) == 0 or n == 0:
        return owner, nearest
    k = min(6, len(sellers))
    tree = cKDTree(unit_vectors(reps.latitude[sellers], reps.longitude[sellers]))
    chord, candidates = tree.query(
        unit_vectors(accounts.latitude, accounts.longitude), k=k, workers=2
    )
    chord = chord.reshape(n, k)
    candidates = sellers[candidates.reshape(n, k)]
    nearest = candidates[:, 0]
    account_mask = (1 << accounts.industry) | (1 << (len(INDUSTRIES) + accounts.segment))
    specialist = (reps.specialty_mask[candidates] & account_mask[:, None]) != 0
    senior_fit = (reps.role[candidates] == _ROLE_SENIOR) == (accounts.segment == 0)[:, None]
    score = (
        -chord * (EARTH_RADIUS_KM / 75.0)  # chord ~ great-circle distance at this range
        + 0.8 * specialist
        + 0.5 * senior_fit
        + 0.5 * rng.gumbel(size=(n, k))
    )
    owner = candidates[np.arange(n), score.argmax(axis=1)]
    owner[rng.random(n) < 0.07] = -1
    owned = np.flatnonzero(owner >= 0)
    rank = _rank_within(owner[owned], accounts.employees[owned] + rng.random(len(owned)))
    owner[owned[rank >= reps.max_accounts[owner[owned]]]] = -1
    messy = rng.random(n) < 0.02
    owner = np.where(messy, rng.integers(0, len(reps.role), n), owner)
    return owner, nearest


# --------------------------------------------------------------------------- history


def _rep_win_effect(
    skill_rng: np.random.Generator, reps: _RepArrays, opp_owner: np.ndarray
) -> np.ndarray:
    """Log-odds each rep adds to a deal's chance: skill, and a load penalty.

    Reps differ (skill: sd 0.2 in log-odds), and a rep carrying more open
    deals than the median rep converts less (−0.5 × log of the load ratio), so the
    sample's attainment spreads across reps and follows their capacity.
    """
    n_reps = len(reps.start_day)
    skill = 0.2 * skill_rng.standard_normal(n_reps)
    owned = opp_owner[opp_owner >= 0]
    deals = np.bincount(owned, minlength=n_reps).astype(float)
    median = float(np.median(deals[deals > 0])) if (deals > 0).any() else 1.0
    load = np.maximum(deals / max(median, 1.0), 1.0)
    effect = skill - 0.5 * np.log(load)
    # Centred over the deals: the company's win rate (and the planted model) stay put.
    return effect - float(np.average(effect, weights=np.maximum(deals, 1e-9)))


def _make_opportunities(
    rng: np.random.Generator,
    accounts: _AccountArrays,
    owner: np.ndarray,
    nearest: np.ndarray,
    *,
    years: int,
    as_of: date,
    reps: _RepArrays | None = None,
    skill_rng: np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Opportunity arrays (unsorted) and the number per account.

    With ``reps``, a deal's win chance also depends on its owner (:func:`_rep_win_effect`)
    and a rep in their first 90 days wins less (ramp); ``skill_rng`` draws the reps'
    skill without disturbing ``rng``'s stream.
    """
    n = len(accounts.employees)
    rate = np.array([OPPORTUNITY_SEGMENT_RATE[name] for name in SEGMENTS])[accounts.segment]
    lam = (
        OPPORTUNITIES_PER_ACCOUNT_YEAR
        * years
        * rate
        * np.exp(0.4 * accounts.interest - 0.08)
        * np.where(owner >= 0, 1.0, 0.7)
    )
    per_account = rng.poisson(lam).astype(np.int64)
    account = np.repeat(np.arange(n, dtype=np.int64), per_account)
    m = len(account)
    segment = accounts.segment[account]

    # Close month: seasonal by segment, with 15%/year growth; 3 months of future pipeline.
    as_of_day = _days(as_of)
    as_of_month = (as_of.year - 1970) * 12 + as_of.month - 1
    first_month = as_of_month - 12 * years + 1
    months = np.arange(first_month, as_of_month + 4, dtype=np.int64)
    month_of_year = months % 12
    growth = np.exp(0.15 * (months - first_month) / 12.0)
    close_month = np.empty(m, dtype=np.int64)
    u = rng.random(m)
    for s, name in enumerate(SEGMENTS):
        rows = segment == s
        cum = np.cumsum(np.array(vocab.CLOSE_SEASONALITY[name])[month_of_year] * growth)
        close_month[rows] = months[
            np.searchsorted(cum, u[rows] * cum[-1], side="right").clip(0, len(cum) - 1)
        ]
    month_start = _month_start_days(close_month)
    month_days = _month_start_days(close_month + 1) - month_start
    quarter_end = close_month % 3 == 2
    day_draw = rng.random(m) ** np.where(quarter_end, 0.6, 1.0)  # deals slip to quarter-end
    close_day = month_start + np.minimum((day_draw * month_days).astype(np.int64), month_days - 1)

    median_cycle = np.array([vocab.SALES_CYCLE_DAYS[name] for name in SEGMENTS])[segment]
    cycle = np.rint(median_cycle * np.exp(0.5 * rng.standard_normal(m))).clip(3, 540)
    created_day = close_day - cycle.astype(np.int64)
    window_start = int(_month_start_days(np.array([first_month]))[0])
    early = created_day < window_start
    created_day = np.where(
        early,
        window_start + (rng.random(m) * np.maximum(close_day - window_start, 1)).astype(np.int64),
        created_day,
    )
    late = created_day > as_of_day
    created_day = np.where(late, as_of_day - rng.integers(0, 45, m), created_day)
    created_day = np.minimum(created_day, close_day)

    is_closed = close_day <= as_of_day
    win_p = 1.0 / (
        1.0
        + np.exp(
            -win_logit_arrays(
                industry=accounts.industry,
                segment=accounts.segment,
                technology=accounts.technology,
                web_visits_30d=accounts.web_visits,
                hiring=accounts.hiring,
                new_executive=accounts.new_executive,
            )
        )
    )
    opp_owner = np.where(owner[account] >= 0, owner[account], nearest[account])
    deal_p = win_p[account]
    if reps is not None and len(reps.start_day):
        effect = _rep_win_effect(skill_rng or np.random.default_rng(0), reps, opp_owner)
        has_owner = opp_owner >= 0
        safe = np.maximum(opp_owner, 0)
        ramping = has_owner & (close_day < reps.start_day[safe] + 90)
        logit = np.log(deal_p / (1 - deal_p)) + np.where(has_owner, effect[safe], 0.0)
        logit = logit - np.where(ramping, 0.7, 0.0)
        deal_p = 1.0 / (1.0 + np.exp(-logit))
    is_won = is_closed & (rng.random(m) < deal_p)
    progress = (as_of_day - created_day) / np.maximum(close_day - created_day, 1)
    open_stage = np.clip((progress * 4).astype(np.int64), 0, 3)
    stage = np.where(is_closed, np.where(is_won, 4, 5), open_stage)

    product = _categorical_rows(
        rng, np.array([vocab.PRODUCT_SHARE_BY_SEGMENT[name] for name in SEGMENTS]), segment
    )
    list_factor = np.array(list(vocab.PRODUCTS.values()))[product]
    size = accounts.employees[account] ** 0.55
    amount = list_factor * size * np.exp(0.35 * rng.standard_normal(m))
    amount = np.maximum(np.round(amount / 100.0) * 100.0, 500.0)

    return (
        {
            "account": account,
            "owner": opp_owner,
            "amount": amount,
            "stage": stage,
            "created_day": created_day,
            "close_day": close_day,
            "is_closed": is_closed,
            "is_won": is_won,
            "product": product,
        },
        per_account,
    )


def _make_activities(
    rng: np.random.Generator,
    accounts: _AccountArrays,
    reps: _RepArrays,
    owner: np.ndarray,
    nearest: np.ndarray,
    opportunities: dict[str, np.ndarray],
    per_account: np.ndarray,
    *,
    years: int,
    as_of: date,
) -> dict[str, np.ndarray]:
    n = len(accounts.employees)
    won = np.bincount(
        opportunities["account"], weights=opportunities["is_won"], minlength=n
    ).astype(np.float64)
    mu = (
        (1.5 + 1.2 * per_account + 2.0 * won + 0.5 * np.log1p(accounts.web_visits))
        * np.where(owner >= 0, 1.0, 0.8)
        * years
        / 3.0
    )
    count = rng.poisson(mu).astype(np.int64)
    account = np.repeat(np.arange(n, dtype=np.int64), count)
    m = len(account)

    # About 70% of touches belong to one of the account's deals, the rest are spread out.
    first_opp = np.r_[0, np.cumsum(per_account)[:-1]]
    opp_count = per_account[account]
    linked = (opp_count > 0) & (rng.random(m) < 0.7)
    opp = first_opp[account] + (rng.random(m) * np.maximum(opp_count, 1)).astype(np.int64)
    # Index len(opps) is a padding slot, so unlinked touches (and empty histories) are safe.
    opp = np.where(linked, opp, len(opportunities["account"]))

    def opp_field(key: str) -> np.ndarray:
        values = opportunities[key]
        return np.append(values, np.zeros(1, dtype=values.dtype))[opp]

    as_of_day = _days(as_of)
    as_of_month = (as_of.year - 1970) * 12 + as_of.month - 1
    window_start = int(_month_start_days(np.array([as_of_month - 12 * years + 1]))[0])
    created = np.where(linked, opp_field("created_day"), window_start)
    until = np.where(linked, np.minimum(opp_field("close_day"), as_of_day), as_of_day)
    day = created + (rng.random(m) * (until - created + 1)).astype(np.int64)
    # Weekend touches move to a weekday of the same week (1970-01-01 was a Thursday).
    weekday = (day + 3) % 7
    weekday_draw = rng.integers(0, 5, m)
    day = np.where(weekday >= 5, day - weekday + weekday_draw, day)
    day = np.where(day > as_of_day, day - 7, day)
    day = np.where(day < window_start, day + 7, day)

    rep = np.where(linked, opp_field("owner"), owner[account])
    rep = np.where(rep >= 0, rep, nearest[account])
    # Someone else covered the account before a rep's start date: their manager.
    has_rep = rep >= 0
    before_start = has_rep & (day < reps.start_day[np.maximum(rep, 0)])
    rep = np.where(before_start, reps.manager[np.maximum(rep, 0)], rep)

    segment = accounts.segment[account]
    channel = _categorical_rows(
        rng, np.array([vocab.CHANNEL_SHARE_BY_SEGMENT[name] for name in SEGMENTS]), segment
    )
    visit = CHANNELS.index("visit")
    meeting = CHANNELS.index("meeting")
    # Reps only visit accounts within 150 km of home; farther "visits" become meetings.
    visits = np.flatnonzero(channel == visit)
    visit_rep = rep[visits]
    distance = great_circle_km(
        accounts.latitude[account[visits]],
        accounts.longitude[account[visits]],
        reps.latitude[np.maximum(visit_rep, 0)],
        reps.longitude[np.maximum(visit_rep, 0)],
    )
    channel[visits[(distance > 150.0) | (visit_rep < 0)]] = meeting

    hour = rng.integers(8, 18, m)
    minute = rng.integers(0, 60, m)
    in_person = (channel == visit) | (channel == meeting)
    minute = np.where(in_person, minute // 15 * 15, minute)
    seconds = day * 86_400 + hour * 3_600 + minute * 60

    noise = rng.standard_normal(m)
    durations = np.select(
        [channel == CHANNELS.index("call"), channel == CHANNELS.index("email"), channel == meeting],
        [
            np.clip(np.rint(10.0 * np.exp(0.6 * noise)), 1, 90),
            np.clip(np.rint(5.0 * np.exp(0.4 * noise)), 1, 30),
            np.array([15.0, 30.0, 30.0, 45.0, 60.0, 60.0, 90.0])[rng.integers(0, 7, m)],
        ],
        default=np.array([60.0, 90.0, 90.0, 120.0, 180.0])[rng.integers(0, 5, m)],
    )
    return {
        "account": account,
        "rep": rep,
        "channel": channel,
        "seconds": seconds,
        "duration": durations.astype(np.float64),
    }


# --------------------------------------------------------------------------- assembly


def _validate(accounts: int, reps: int, years: int) -> None:
    if accounts < 1:
        raise ConfigError(f"--accounts must be at least 1, got {accounts}")
    if reps < 1:
        raise ConfigError(f"--reps must be at least 1, got {reps}")
    if not 1 <= years <= 10:
        raise ConfigError(f"--years must be between 1 and 10, got {years}")


def generate_tables(
    *,
    accounts: int,
    reps: int,
    seed: int = 0,
    years: int = 3,
    as_of: date = DEFAULT_AS_OF,
    on_step: Step | None = None,
    leads: bool = True,
) -> dict[str, pa.Table]:
    """The sample company as Arrow tables (``accounts``, ``reps``, ``opportunities``,
    ``activities`` and, unless ``leads`` is false, ``leads``); :func:`generate_company`
    wraps them in pandas. Opportunities carry their ``lead_source`` either way.

    Opportunities' ``lead_source`` and the leads come from a separate random stream
    (:mod:`territorial.sample.leads`): every other value is the same as without them.

    ``on_step`` is called with a short description before each stage (for progress).
    """
    _validate(accounts, reps, years)
    step = on_step or (lambda _message: None)
    rng = np.random.default_rng(seed)

    step("loading US places and ZIP codes")
    gaz = load_gazetteer()

    step("drawing accounts")
    account_columns, account_arrays = _make_accounts(rng, gaz, accounts)

    step("hiring reps")
    rep_columns, rep_arrays = _make_reps(rng, gaz, reps, as_of)

    step("assigning owners")
    owner, nearest = _assign_owners(rng, account_arrays, rep_arrays)
    rep_ids = rep_columns["id"]
    account_columns["owner_id"] = _nullable_take(rep_ids, owner)

    step("writing opportunity history")
    opps, per_account = _make_opportunities(
        rng, account_arrays, owner, nearest, years=years, as_of=as_of, reps=rep_arrays,
        skill_rng=np.random.default_rng([seed, 12]),
    )  # fmt: skip

    step("logging activities")
    acts = _make_activities(
        rng, account_arrays, rep_arrays, owner, nearest, opps, per_account,
        years=years, as_of=as_of,
    )  # fmt: skip

    step("assembling tables")
    account_ids = account_columns["id"]
    opp_order = np.lexsort((opps["account"], opps["created_day"]))
    opp_count = len(opp_order)
    o = {key: value[opp_order] for key, value in opps.items()}
    opportunity_columns: dict[str, pa.Array] = {
        "id": _ids("O", opp_count),
        "account_id": account_ids.take(pa.array(o["account"])),
        "owner_id": _nullable_take(rep_ids, o["owner"]),
        "amount": pa.array(o["amount"]),
        "currency": _take(["USD"], np.zeros(opp_count, dtype=np.int64)),
        "stage": _take(STAGES, o["stage"]),
        "created_date": pa.array(o["created_day"].astype(np.int32), type=pa.date32()),
        "close_date": pa.array(o["close_day"].astype(np.int32), type=pa.date32()),
        "is_closed": pa.array(o["is_closed"]),
        "is_won": pa.array(o["is_won"]),
        "product": _take(tuple(vocab.PRODUCTS), o["product"]),
    }
    step("drawing lead sources and leads" if leads else "drawing lead sources")
    lead_rng = np.random.default_rng([seed, LEADS_STREAM])
    sample_opps = SampleOpportunities(
        ids=opportunity_columns["id"],
        account=o["account"],
        segment=account_arrays.segment[o["account"]],
        created_day=o["created_day"],
        is_closed=o["is_closed"],
        is_won=o["is_won"],
    )
    source = draw_lead_sources(lead_rng, sample_opps)
    opportunity_columns["lead_source"] = _take(LEAD_SOURCES, source)
    as_of_month = (as_of.year - 1970) * 12 + as_of.month - 1
    lead_table = None
    if leads:
        lead_table = make_leads(
            lead_rng, gaz, account_columns, sample_opps, source,
            first_day=int(_month_start_days(np.array([as_of_month - 12 * years + 1]))[0]),
            as_of_day=_days(as_of),
        )  # fmt: skip
    act_order = np.lexsort((acts["account"], acts["seconds"]))
    act_count = len(act_order)
    a = {key: value[act_order] for key, value in acts.items()}
    activity_columns: dict[str, pa.Array] = {
        "id": _ids("T", act_count),
        "account_id": account_ids.take(pa.array(a["account"])),
        "rep_id": _nullable_take(rep_ids, a["rep"]),
        "channel": _take(CHANNELS, a["channel"]),
        "occurred_at": pa.array(a["seconds"], type=pa.timestamp("s")),
        "duration_minutes": pa.array(a["duration"]),
    }
    tables = {
        "accounts": pa.table({name: account_columns[name] for name in ACCOUNT_COLUMNS}),
        "reps": pa.table({name: rep_columns[name] for name in REP_COLUMNS}),
        "opportunities": pa.table(
            {name: opportunity_columns[name] for name in OPPORTUNITY_COLUMNS}
        ),
        "activities": pa.table({name: activity_columns[name] for name in ACTIVITY_COLUMNS}),
    }
    if lead_table is not None:
        tables["leads"] = lead_table
    return tables


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(
        types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get, date_as_object=False
    )


def generate_company(
    *,
    accounts: int,
    reps: int,
    seed: int = 0,
    years: int = 3,
    as_of: date = DEFAULT_AS_OF,
    on_step: Step | None = None,
    leads: bool = True,
) -> SampleCompany:
    """Generate a realistic sample company.

    ``accounts`` companies at real US places (population-weighted), ``reps`` sellers
    and managers living in real cities, ``years`` of opportunity history and
    activities ending at ``as_of``, and (unless ``leads`` is false) the leads file. The
    same ``seed`` always gives the same company.
    """
    tables = generate_tables(
        accounts=accounts, reps=reps, seed=seed, years=years, as_of=as_of, on_step=on_step,
        leads=leads,
    )  # fmt: skip
    return SampleCompany(
        accounts=_to_pandas(tables["accounts"]),
        reps=_to_pandas(tables["reps"]),
        opportunities=_to_pandas(tables["opportunities"]),
        activities=_to_pandas(tables["activities"]),
        as_of=as_of,
        seed=seed,
        leads=_to_pandas(tables["leads"]) if "leads" in tables else None,
    )
