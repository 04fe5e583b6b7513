"""Lead-to-account matching by domain, e-mail domain and normalised company name."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territorial.routing.matching import AccountMatcher, normalize_company, normalize_domain

ACCOUNTS = pd.DataFrame(
    [
        {"id": "A1", "name": "Acme, Inc.", "domain": "acme.com", "state": "CA", "city": "Oakland"},
        {
            "id": "A2",
            "name": "Globex Corporation",
            "domain": "https://www.globex.io/",
            "state": "NY",
            "city": "New York",
        },
        {"id": "A3", "name": "Initech LLC", "domain": None, "state": "TX", "city": "Austin"},
        {"id": "A4", "name": "Initech Ltd", "domain": None, "state": "CA", "city": "Fresno"},
        {"id": "A5", "name": "Umbrella Group", "domain": "umbrella.com", "state": "WA"},
        {"id": "A6", "name": "Umbrella East", "domain": "umbrella.com", "state": "MA"},
        {"id": "A7", "name": "The Group", "domain": None, "state": "OR"},  # only legal words
    ]
)
MATCHER = AccountMatcher(ACCOUNTS, threshold=0.7)


@pytest.mark.parametrize(
    ("lead", "account", "method", "min_confidence"),
    [
        ({"website": "http://WWW.acme.com/pricing"}, "A1", "web domain", 0.95),
        ({"email": "jane@globex.io"}, "A2", "e-mail domain", 0.9),
        (
            {"email": "jane@gmail.com", "company": "ACME incorporated", "state": "CA"},
            "A1",
            "company name",
            0.85,
        ),
        (
            {"company": "Initech, L.L.C.", "state": "TX", "city": "Austin"},
            "A3",
            "company name",
            0.9,
        ),
        ({"company": "initech", "state": "CA"}, "A4", "company name", 0.85),
        ({"email": "bob@umbrella.com", "state": "MA"}, "A6", "e-mail domain", 0.85),
        ({"email": "bob@hotmail.com"}, None, "none", 0.0),
        ({"company": "Initech"}, None, "none", 0.0),  # two Initechs, no location: not sure
        ({"company": "Hooli"}, None, "none", 0.0),
    ],
)
def test_lead_matching(lead: dict, account: str | None, method: str, min_confidence: float) -> None:
    match = MATCHER.match(lead)
    assert (match.account_id, match.method) == (account, method), match
    assert match.confidence >= min_confidence


def test_free_mail_is_noted_in_the_trace() -> None:
    match = MATCHER.match({"email": "x@gmail.com"})
    assert "gmail.com is a free-mail domain; ignored" in match.notes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME, Inc.", "acme"),
        ("The Home Depot", "home depot"),
        ("Müller GmbH & Co. KG", "muller and kg"),
        ("Procter & Gamble Co", "procter and gamble"),
        ("Inc.", "inc"),
    ],
)
def test_normalize_company(raw: str, expected: str) -> None:
    assert normalize_company(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("jane@Sub.Example.org", "sub.example.org"),
        ("acme", None),
        ("", None),
    ],
)
def test_normalize_domain(raw: str, expected: str | None) -> None:
    assert normalize_domain(raw) == expected


# Text that exercises every branch of the normalisations: case, schemes, paths, ports,
# www., dots, "@", whitespace of several kinds, punctuation, accents and legal suffixes.
_TRICKY = st.lists(
    st.sampled_from([*"abcxyzACMEw09-._@/?:& ,'\t\n\x1cé", "www.", "http://", "Inc", " ltd", "ß"]),
    max_size=15,
).map("".join)


# Addresses and URLs nearly in canonical form, where a wrong shortcut would show.
_ADDRESSES = st.from_regex(
    r"[ \t]?([a-zA-Z0-9._%+ -]{0,6}@)?(https?://)?([wW]{3}\.)?"
    r"([a-zA-Z0-9-]{0,5}\.){1,3}[a-zA-Z0-9-]{0,4}(/[a-z]{0,3}|:80|\?q)?[ .\n]?",
    fullmatch=True,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_TRICKY, _ADDRESSES))
def test_domain_fast_path_agrees_with_the_general_rules(text: str) -> None:
    from territorial.routing.matching import _normalize_domain_text

    assert normalize_domain(text) == _normalize_domain_text(text)


@settings(max_examples=400, deadline=None)
@given(_TRICKY)
def test_company_fast_path_agrees_with_the_general_rules(text: str) -> None:
    # The general rules, spelled out: NFKD accents off, lower, & -> and, punctuation to
    # spaces, legal suffixes dropped unless nothing else is left.
    import re
    import unicodedata

    from territorial.routing.matching import LEGAL_SUFFIXES

    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = re.sub(r"[^\w\s]", " ", plain.lower().replace("&", " and ")).split()
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    assert normalize_company(text) == (" ".join(kept or words) or None)


LEADS = [
    {"website": "http://WWW.acme.com/pricing"},
    {"email": "jane@globex.io"},
    {"email": "jane@gmail.com", "company": "ACME incorporated", "state": "CA"},
    {"company": "Initech, L.L.C.", "state": "TX", "city": "Austin"},
    {"company": "initech", "state": "CA"},
    {"email": "bob@umbrella.com", "state": "MA"},
    {"email": "bob@umbrella.com"},
    {"email": "bob@hotmail.com"},
    {"company": "Initech"},
    {"company": "Hooli", "email": "x@hooli.com", "website": ""},
    {"domain": "acme.com", "email": "a@globex.io"},
    {"name": "Umbrella Group", "state": "WA"},
    {"company": "Acme", "state": "NY"},  # the name matches but the place differs
    {"company": "the GROUP"},
    {},
]


_TEXT_OR_NOT = st.one_of(
    _TRICKY,
    _ADDRESSES,
    st.sampled_from(
        ["acme.com", "Globex.io", "globex.io", "umbrella.com", "Umbrella Group", "The Group"]
    ),
    st.sampled_from([None, 12, 3.5, float("nan"), True, "x\ud800@acme.com"]),
)
_GENERATED = st.fixed_dictionaries(
    {},
    optional={
        "website": _TEXT_OR_NOT,
        "domain": _TEXT_OR_NOT,
        "email": _TEXT_OR_NOT,
        "company": _TEXT_OR_NOT,
        "name": _TEXT_OR_NOT,
        "state": st.sampled_from(["CA", "NY", "TX", "MA"]),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LEADS), _GENERATED), min_size=1, max_size=30))
def test_batch_matching_decides_like_one_lead_at_a_time(leads: list[dict]) -> None:
    many = MATCHER.match_many(leads)
    one = [MATCHER.match(lead) for lead in leads]
    assert [(m.account_id, m.confidence, m.method) for m in many] == [
        (m.account_id, m.confidence, m.method) for m in one
    ]
