"""Lead-to-account matching by domain, e-mail domain and normalised company name."""

from __future__ import annotations

import pandas as pd
import pytest

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
