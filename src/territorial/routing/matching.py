"""Lead-to-account matching: is this new lead one of our accounts?

In order: the lead's web domain, then its e-mail domain (free-mail domains such as
gmail.com are ignored), then its normalised company name (legal suffixes,
punctuation and case removed) checked against the account's location. Each match
carries a confidence in [0, 1]; below the rules file's ``match_threshold`` the lead
is routed by its own attributes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from territorial.routing.conditions import norm_text

#: Common free-mail and ISP domains: an address there says nothing about the company.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "rocketmail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "cox.net",
        "charter.net",
        "earthlink.net",
        "hey.com",
        "fastmail.com",
        "tutanota.com",
    ]
)

#: Legal-form words dropped when comparing company names.
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    [
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "l",
        "l",
        "c",
        "ltd",
        "limited",
        "plc",
        "lp",
        "llp",
        "pllc",
        "pc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "asa",
        "aps",
        "kk",
        "pty",
        "pte",
        "holdings",
        "holding",
        "group",
        "the",
    ]
)

_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalize_domain(value: Any) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; ``None`` when empty or not a domain."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    if "." not in text or " " in text:
        return None
    return text


def email_domain(email: Any) -> str | None:
    """Domain of an e-mail address, or ``None``."""
    if email is None or "@" not in str(email):
        return None
    return normalize_domain(str(email).rsplit("@", 1)[1])


def normalize_company(name: Any) -> str | None:
    """``"ACME, Inc."`` -> ``"acme"``: accents, punctuation, case and legal suffixes removed."""
    if name is None:
        return None
    text = str(name)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower()
    text = text.replace("&", " and ")
    text = _PUNCT.sub(" ", text)
    words = [w for w in _SPACES.split(text) if w]
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    out = " ".join(kept or words)
    return out or None


@dataclass(frozen=True, slots=True)
class AccountMatch:
    """The outcome of matching one lead: ``account_id`` is ``None`` when unmatched."""

    account_id: str | None
    confidence: float
    method: str
    detail: str
    candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "confidence": round(self.confidence, 3),
            "method": self.method,
            "detail": self.detail,
            "candidates": list(self.candidates),
            "notes": list(self.notes),
        }


class AccountMatcher:
    """Index of existing accounts by domain and normalised name.

    ``accounts`` needs ``id`` and ``name`` and may have ``domain``, ``state``,
    ``city``, ``postal_code`` and ``country`` (the store's canonical columns).
    """

    def __init__(
        self,
        accounts: pd.DataFrame,
        *,
        free_mail_domains: Iterable[str] = (),
        threshold: float = 0.7,
    ) -> None:
        self.threshold = threshold
        self.free_mail = FREE_MAIL_DOMAINS | {d.lower() for d in free_mail_domains}
        # Only what disambiguation needs, as tuples: (state, city, postal_code).
        self.places: dict[str, tuple[str | None, str | None, str | None]] = {}
        self.by_domain: dict[str, list[str]] = defaultdict(list)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        columns = [
            c
            for c in ("id", "name", "domain", "state", "city", "postal_code", "country")
            if c in accounts.columns
        ]
        for row in accounts[columns].itertuples(index=False, name=None):
            record = dict(zip(columns, row, strict=True))
            account_id = str(record["id"])
            self.places[account_id] = (
                norm_text(record.get("state")),
                norm_text(record.get("city")),
                norm_text(record.get("postal_code")),
            )
            domain = normalize_domain(record.get("domain"))
            if domain:
                self.by_domain[domain].append(account_id)
            name = normalize_company(record.get("name"))
            if name:
                self.by_name[name].append(account_id)

    def __len__(self) -> int:
        return len(self.places)

    def _same_place(self, lead: Mapping[str, Any], account_id: str) -> tuple[int, list[str]]:
        place = self.places[account_id]
        score, same = 0, []
        for name, b in zip(("state", "city", "postal_code"), place, strict=True):
            a = norm_text(lead.get(name))
            if a and b:
                if a == b:
                    score += 1
                    same.append(f"{name}={a}")
                else:
                    score -= 2
        return score, same

    def _pick(self, lead: Mapping[str, Any], ids: list[str]) -> tuple[str, int, list[str]]:
        scored = [(self._same_place(lead, i), i) for i in ids]
        scored.sort(key=lambda s: (-s[0][0], s[1]))
        (score, same), best = scored[0]
        return best, score, same

    def match(self, lead: Mapping[str, Any]) -> AccountMatch:
        """Match one lead (fields ``website``/``domain``, ``email``, ``company``/``name``...)."""
        notes: list[str] = []
        for method, raw, base in (
            ("web domain", lead.get("website") or lead.get("domain"), 0.97),
            ("e-mail domain", lead.get("email"), 0.93),
        ):
            domain = normalize_domain(raw)
            if not domain:
                continue
            if domain in self.free_mail:
                notes.append(f"{domain} is a free-mail domain; ignored")
                continue
            ids = self.by_domain.get(domain)
            if not ids:
                notes.append(f"no account has the domain {domain}")
                continue
            best, score, same = self._pick(lead, ids)
            confidence = base if len(ids) == 1 else (base - 0.05 if score > 0 else base - 0.12)
            detail = f"{method} {domain} belongs to account {best}"
            if len(ids) > 1:
                detail += f" ({len(ids)} accounts share it; picked by location {same or 'none'})"
            return AccountMatch(best, confidence, method, detail, tuple(ids), tuple(notes))
        name = normalize_company(lead.get("company") or lead.get("name"))
        if name:
            ids = self.by_name.get(name)
            if ids:
                best, score, same = self._pick(lead, ids)
                if score >= 2:
                    confidence = 0.9
                elif score == 1:
                    confidence = 0.85
                elif score == 0:
                    confidence = 0.75 if len(ids) == 1 else 0.6
                else:
                    confidence = 0.45
                detail = f"company name {name!r} matches account {best}" + (
                    f" with the same {', '.join(same)}" if same else ""
                )
                if score < 0:
                    detail += " but the location differs"
                if confidence >= self.threshold:
                    return AccountMatch(
                        best, confidence, "company name", detail, tuple(ids), tuple(notes)
                    )
                notes.append(f"{detail}; confidence {confidence:.2f} is below {self.threshold:.2f}")
                return AccountMatch(
                    None, confidence, "none", "no confident match", tuple(ids), tuple(notes)
                )
            notes.append(f"no account is named {name!r}")
        return AccountMatch(None, 0.0, "none", "no matching account", (), tuple(notes))
