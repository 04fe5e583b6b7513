"""The sample's lead sources and leads file.

Every sample opportunity came from a lead: its ``lead_source`` (web, paid search,
referral, event, partner, outbound) is drawn per segment, and conditioned on the deal's
outcome so that sources win at different rates (referrals and partners best, outbound and
paid search worst). The leads file holds one converted lead per opportunity (created a
few days before the opportunity, at its account, pointing at it) plus the leads that did
not convert: per opportunity of a source, Poisson(1 / conversion - 1) more, at the same
time of year, a third of them other people at existing accounts, the rest at net-new
companies at real US places (a quarter with a free-mail address).

Everything here is drawn from its own stream, ``numpy.random.default_rng([seed,
LEADS_STREAM])``, after the rest of the company: the accounts, reps, opportunities and
activities of a seed are the same with or without it. See ``docs/sample.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territorial.domain.model import INDUSTRIES, SEGMENTS
from territorial.sample import vocabulary as vocab
from territorial.sample.reference import Gazetteer

#: The leads' random stream: ``numpy.random.default_rng([seed, LEADS_STREAM])``.
LEADS_STREAM = 0x1EAD

LEAD_SOURCES: tuple[str, ...] = ("web", "paid search", "referral", "event", "partner", "outbound")
#: Share of opportunities by source in each segment (order of ``LEAD_SOURCES``).
SOURCE_SHARE_BY_SEGMENT: dict[str, tuple[float, ...]] = {
    "Enterprise": (0.12, 0.05, 0.15, 0.20, 0.18, 0.30),
    "Mid-Market": (0.25, 0.15, 0.15, 0.12, 0.13, 0.20),
    "SMB": (0.35, 0.25, 0.12, 0.05, 0.08, 0.15),
}
#: Odds of winning a closed deal relative to the segment's average, by source.
SOURCE_WIN_ODDS: tuple[float, ...] = (1.0, 0.75, 1.8, 0.9, 1.4, 0.7)
#: Share of a source's leads that become an opportunity.
SOURCE_CONVERSION: tuple[float, ...] = (0.12, 0.06, 0.40, 0.10, 0.30, 0.15)
#: Days from a lead's creation to its conversion (mean of an exponential), by source.
SOURCE_CONVERSION_DAYS: tuple[float, ...] = (12.0, 9.0, 6.0, 20.0, 10.0, 25.0)
#: Share of unconverted leads who work at an existing account.
KNOWN_ACCOUNT_SHARE = 1 / 3
#: Share of net-new leads writing from a free-mail address.
FREE_MAIL_SHARE = 0.25
FREE_MAIL: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com")
#: Unconverted leads younger than this are still ``Open``.
OPEN_DAYS = 30

LEAD_COLUMNS: tuple[str, ...] = (
    "id", "created_date", "first_name", "last_name", "email", "company", "website", "city",
    "state", "postal_code", "lead_source", "status", "converted_date", "converted_account_id",
    "converted_opportunity_id",
)  # fmt: skip
LEAD_STATUSES: tuple[str, ...] = ("Converted", "Open", "Nurturing", "Disqualified")


@dataclass(frozen=True, eq=False)
class SampleOpportunities:
    """The opportunities in file order, as the leads need them."""

    ids: pa.Array
    account: np.ndarray  # index into the accounts
    segment: np.ndarray
    created_day: np.ndarray  # days since 1970-01-01
    is_closed: np.ndarray
    is_won: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def source_win_probabilities(shares: np.ndarray, base: float) -> np.ndarray:
    """Win probability per source: odds ``SOURCE_WIN_ODDS`` times a common factor chosen
    (by bisection) so the share-weighted mean is ``base``."""
    shares = shares / shares.sum()
    log_odds = np.log(np.asarray(SOURCE_WIN_ODDS))
    base = float(np.clip(base, 0.01, 0.99))
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if float(shares @ _sigmoid(log_odds + mid)) < base:
            low = mid
        else:
            high = mid
    return _sigmoid(log_odds + (low + high) / 2)


def draw_lead_sources(rng: np.random.Generator, opps: SampleOpportunities) -> np.ndarray:
    """A source index per opportunity: P(source | segment, outcome) by Bayes from the
    segment's source shares and the sources' win probabilities, so the deals' outcomes
    (already drawn) stay as they are."""
    from territorial.sample.generate import _categorical_rows

    rows = []
    for s, name in enumerate(SEGMENTS):
        shares = np.asarray(SOURCE_SHARE_BY_SEGMENT[name], dtype=np.float64)
        closed = opps.is_closed & (opps.segment == s)
        base = float(opps.is_won[closed].mean()) if closed.any() else 0.3
        p = source_win_probabilities(shares, base)
        rows += [shares * p, shares * (1.0 - p), shares]
    outcome = np.where(opps.is_closed, np.where(opps.is_won, 0, 1), 2)
    return _categorical_rows(rng, np.array(rows), opps.segment * 3 + outcome)


def _lower_ascii(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_lower(values), r"[^a-z0-9]", "")


def make_leads(
    rng: np.random.Generator,
    gaz: Gazetteer,
    accounts: dict[str, pa.Array],
    opps: SampleOpportunities,
    source: np.ndarray,
    *,
    first_day: int,
    as_of_day: int,
) -> pa.Table:
    """The leads table (``LEAD_COLUMNS``), oldest first; ``source`` per opportunity from
    :func:`draw_lead_sources`, ``first_day``/``as_of_day`` the history's first and last day."""
    from territorial.sample.generate import (
        _categorical,
        _company_names,
        _draw_places,
        _ids,
        _join,
        _place_weights,
        _take,
    )

    m = len(opps.account)
    conversion = np.asarray(SOURCE_CONVERSION)
    lag_mean = np.asarray(SOURCE_CONVERSION_DAYS)

    # Converted leads: one per opportunity, a few days before it.
    conv_created = opps.created_day - rng.exponential(lag_mean[source]).astype(np.int64)
    conv_created = np.maximum(conv_created, first_day)

    # Unconverted leads: Poisson(1/conversion - 1) per opportunity of the source, near its date.
    extra = rng.poisson(1.0 / conversion[source] - 1.0)
    template = np.repeat(np.arange(m, dtype=np.int64), extra)
    k = len(template)
    lost_created = np.clip(
        opps.created_day[template] + rng.integers(-45, 46, k), first_day, as_of_day
    )
    known = rng.random(k) < KNOWN_ACCOUNT_SHARE
    new = np.flatnonzero(~known)
    place = _draw_places(rng, _place_weights(gaz), len(new))
    _lat, _lon, zip_index = gaz.locate(rng, place)
    industry = _categorical(rng, [vocab.INDUSTRY_BASE_SHARE[name] for name in INDUSTRIES], len(new))
    new_name, new_domain = _company_names(rng, industry, place, gaz.place_name)
    free_mail = rng.random(len(new)) < FREE_MAIL_SHARE
    age = as_of_day - lost_created
    status = np.where(age < OPEN_DAYS, 1, np.where(rng.random(k) < 0.6, 3, 2))

    # One row per lead: converted first, then the rest; sorted by date below.
    n = m + k
    account = np.r_[opps.account, np.where(known, opps.account[template], -1)]
    at_account = account >= 0
    company_rows = np.flatnonzero(at_account)
    new_rows = m + new

    def column(known_values: pa.Array, new_values: pa.Array) -> pa.Array:
        """Account values where the lead is at an account, net-new values elsewhere."""
        index = np.full(n, -1, dtype=np.int64)
        index[company_rows] = account[company_rows]
        taken = known_values.take(pa.array(index, mask=index < 0, type=pa.int64()))
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[new_rows] = np.arange(len(new))
        others = new_values.take(pa.array(new_index, mask=new_index < 0, type=pa.int64()))
        return pc.coalesce(taken, others)

    company = column(accounts["name"], new_name)
    domain = column(accounts["domain"], new_domain)
    city = column(
        accounts["city"], pa.array(gaz.place_name, type=pa.string()).take(pa.array(place))
    )
    state = column(
        accounts["state"], pa.array(gaz.place_state, type=pa.string()).take(pa.array(place))
    )
    postal = column(
        accounts["postal_code"], pa.array(gaz.zip_code, type=pa.string()).take(pa.array(zip_index))
    )
    first = _take(vocab.FIRST_NAMES, rng.integers(0, len(vocab.FIRST_NAMES), n))
    last = _take(vocab.LAST_NAMES, rng.integers(0, len(vocab.LAST_NAMES), n))
    free = np.full(n, None, dtype=object)
    free[new_rows[free_mail]] = np.asarray(FREE_MAIL, dtype=object)[
        rng.integers(0, len(FREE_MAIL), int(free_mail.sum()))
    ]
    mail_domain = pc.coalesce(pa.array(free, type=pa.string()), domain)
    email = _join(_join(_lower_ascii(first), _lower_ascii(last), sep="."), mail_domain, sep="@")
    # Companies leave a website on two leads in three (matching then uses it first).
    has_site = rng.random(n) < 2 / 3
    website = pc.if_else(pa.array(has_site), domain, pa.scalar(None, pa.string()))

    created = np.r_[conv_created, lost_created]
    source_all = np.r_[source, source[template]]
    status_all = np.r_[np.zeros(m, dtype=np.int64), status]
    converted = np.r_[np.ones(m, dtype=bool), np.zeros(k, dtype=bool)]
    opp_index = np.where(converted, np.r_[np.arange(m), np.zeros(k, dtype=np.int64)], -1)
    converted_day = np.where(converted, np.r_[opps.created_day, np.zeros(k, np.int64)], 0)

    order = np.lexsort((np.arange(n), created))
    idx = pa.array(order)
    opp_sorted = opp_index[order]
    opp_mask = opp_sorted < 0
    columns: dict[str, pa.Array] = {
        "id": _ids("L", n),
        "created_date": pa.array(created[order].astype(np.int32), type=pa.date32()),
        "first_name": first.take(idx),
        "last_name": last.take(idx),
        "email": email.take(idx),
        "company": company.take(idx),
        "website": website.take(idx),
        "city": city.take(idx),
        "state": state.take(idx),
        "postal_code": postal.take(idx),
        "lead_source": _take(LEAD_SOURCES, source_all[order]),
        "status": _take(LEAD_STATUSES, status_all[order]),
        "converted_date": pa.array(
            converted_day[order].astype(np.int32), mask=opp_mask, type=pa.date32()
        ),
        "converted_account_id": accounts["id"].take(
            pa.array(np.where(opp_mask, 0, opps.account[np.maximum(opp_sorted, 0)]), mask=opp_mask)
        ),
        "converted_opportunity_id": opps.ids.take(
            pa.array(np.maximum(opp_sorted, 0), mask=opp_mask)
        ),
    }
    return pa.table({name: columns[name] for name in LEAD_COLUMNS})


@dataclass(frozen=True, slots=True)
class RoutedLeads:
    """What :func:`route_sample_leads` did: leads read, routed to a territory, matched to
    an account, and the routing batches (one per month)."""

    leads: int
    routed: int
    matched: int
    batches: int


def route_sample_leads(engine: Any, path: Path, *, as_of: date) -> RoutedLeads:
    """Route a sample leads file through the store's active rules, as if each lead had
    been routed when it came in: one batch per month of ``created_date``, decided at
    17:00 UTC on the month's last day (``as_of`` at most), each through
    :meth:`RoutingService.route_batch <territorial.routing.service.RoutingService.route_batch>`
    (what ``territorial route FILE`` calls), so every decision is in the audit log."""
    import pandas as pd

    from territorial.errors import ConfigError
    from territorial.routing.files import frame_records, read_table
    from territorial.routing.service import RoutingService

    frame = read_table(Path(path))
    if "created_date" not in frame.columns:
        raise ConfigError(f"{path}: no created_date column; is it a sample leads file?")
    created = pd.to_datetime(frame["created_date"], errors="coerce")
    if created.isna().any():
        row = int(created.isna().to_numpy().argmax())
        raise ConfigError(
            f"{path}: row {row + 2}, column created_date: "
            f"{frame['created_date'].iloc[row]!r} is not a date"
        )
    month_end = (created + pd.offsets.MonthEnd(0)).dt.date
    decided = {"at": datetime.now(UTC)}
    service = RoutingService(engine, clock=lambda: decided["at"])
    routed = matched = batches = 0
    for day, rows in frame.groupby(month_end, sort=True):
        last = min(day, as_of)
        decided["at"] = datetime(last.year, last.month, last.day, 17, tzinfo=UTC)
        _, decisions = service.route_batch(frame_records(rows), kind="lead")
        routed += sum(d.territory_id is not None for d in decisions)
        matched += sum(d.account_id is not None for d in decisions)
        batches += 1
    return RoutedLeads(leads=len(frame), routed=routed, matched=matched, batches=batches)
