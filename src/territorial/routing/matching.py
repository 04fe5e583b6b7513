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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
#: A name of ASCII letters and digits in words separated by single spaces.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")


#: An address or bare domain already in canonical form (``buyer@acme.com``, ``acme.com``):
#: lower-case ASCII labels, no scheme, path, port, spaces or surrounding dots. Such a value
#: normalises to its domain part as is, so the general path below can be skipped.
_PLAIN_DOMAIN = re.compile(r"(?:[^@\s/?:]*@)?((?:[a-z0-9-]+\.)+[a-z0-9-]+)")


def normalize_domain(value: Any) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; ``None`` when empty or not a domain."""
    if value is None:
        return None
    if type(value) is str:
        plain = _PLAIN_DOMAIN.fullmatch(value)
        if plain is not None and not plain.group(1).startswith("www."):
            return plain.group(1)
    return _normalize_domain_text(value)


def _normalize_domain_text(value: Any) -> str | None:
    """The general case of :func:`normalize_domain` (any text, URL or address)."""
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
    if type(name) is str and _PLAIN_NAME.fullmatch(name):
        words = name.lower().split(" ")  # no punctuation, accents or runs of spaces
        kept = [w for w in words if w not in LEGAL_SUFFIXES]
        return " ".join(kept or words)
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
        self._domain_keys = pa.array(list(self.by_domain), type=pa.string())
        self._name_keys = pa.array(list(self.by_name), type=pa.string())

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
        return self._match(
            lead,
            normalize_domain(lead.get("website") or lead.get("domain")),
            normalize_domain(lead.get("email")),
            normalize_company(lead.get("company") or lead.get("name")),
            explain=True,
        )

    def match_many(self, leads: Sequence[Mapping[str, Any]]) -> list[AccountMatch]:
        """Match many leads: the account, confidence and method :meth:`match` gives each.

        Without the explanation texts (``detail`` and ``notes`` are empty): a batch keeps
        only the account, confidence and method and replays the rest on demand.

        Vectorised: the web and e-mail domains and company names already in canonical
        form (most of them) are normalised and looked up column-wise with Arrow string
        kernels; the rest go through :func:`normalize_domain` and
        :func:`normalize_company`. Only leads with a domain or name some account has are
        then matched one by one; every other lead gets :data:`NO_MATCH`, what
        :meth:`match` decides for a lead without a single hit.
        """
        n = len(leads)
        if n == 0:
            return []
        webs = [lead.get("website") or lead.get("domain") for lead in leads]
        mails = [lead.get("email") for lead in leads]
        names = [lead.get("company") or lead.get("name") for lead in leads]
        hit = _domain_hits(webs, self._domain_keys, self.by_domain)
        hit |= _domain_hits(mails, self._domain_keys, self.by_domain)
        hit |= _name_hits(names, self._name_keys, self.by_name)
        out = [NO_MATCH] * n
        for i in np.flatnonzero(hit).tolist():
            out[i] = self._match(
                leads[i],
                normalize_domain(webs[i]),
                normalize_domain(mails[i]),
                normalize_company(names[i]),
                explain=False,
            )
        return out

    def _match(
        self,
        lead: Mapping[str, Any],
        web: str | None,
        mail: str | None,
        name: str | None,
        *,
        explain: bool,
    ) -> AccountMatch:
        """Match a lead from its normalised web domain, e-mail domain and company name.

        ``explain=False`` skips the texts (detail, notes), not the decision.
        """
        notes: list[str] = []
        for method, domain, base in (("web domain", web, 0.97), ("e-mail domain", mail, 0.93)):
            if not domain:
                continue
            if domain in self.free_mail:
                if explain:
                    notes.append(f"{domain} is a free-mail domain; ignored")
                continue
            ids = self.by_domain.get(domain)
            if not ids:
                if explain:
                    notes.append(f"no account has the domain {domain}")
                continue
            best, score, same = self._pick(lead, ids)
            confidence = base if len(ids) == 1 else (base - 0.05 if score > 0 else base - 0.12)
            if not explain:
                return AccountMatch(best, confidence, method, "", tuple(ids))
            detail = f"{method} {domain} belongs to account {best}"
            if len(ids) > 1:
                detail += f" ({len(ids)} accounts share it; picked by location {same or 'none'})"
            return AccountMatch(best, confidence, method, detail, tuple(ids), tuple(notes))
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
                if not explain:
                    if confidence >= self.threshold:
                        return AccountMatch(best, confidence, "company name", "", tuple(ids))
                    return AccountMatch(None, confidence, "none", "", tuple(ids))
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
            if explain:
                notes.append(f"no account is named {name!r}")
        if not explain:
            return NO_MATCH
        return AccountMatch(None, 0.0, "none", "no matching account", (), tuple(notes))


#: The outcome of :meth:`AccountMatcher.match_many` for a lead that matches nothing.
NO_MATCH = AccountMatch(None, 0.0, "none", "")

#: Arrow (RE2) forms of the canonical shapes of ``_PLAIN_DOMAIN`` and ``_PLAIN_NAME``.
_PLAIN_DOMAIN_RE2 = r"^(?:[^@\s/?:]*@)?(?:[a-z0-9-]+\.)+[a-z0-9-]+$"
_PLAIN_NAME_RE2 = r"^[A-Za-z0-9]+(?: [A-Za-z0-9]+)*$"
_LEGAL_SUFFIXES_ARROW = pa.array(sorted(LEGAL_SUFFIXES), type=pa.string())


def _text_column(values: list[Any]) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """Text values as an Arrow column and the mask of values left to the Python rules.

    Those are values that are not text, or every value when one is not valid UTF-8
    (lone surrogates).
    """
    other = np.fromiter(
        (v is not None and type(v) is not str for v in values), dtype=bool, count=len(values)
    )
    if other.any():
        values = [None if o else v for v, o in zip(values, other.tolist(), strict=True)]
    try:
        return pa.array(values, type=pa.string()), other
    except (pa.ArrowException, UnicodeError):
        everything = np.array([v is not None for v in values], dtype=bool) | other
        return pa.nulls(len(values), type=pa.string()), everything


def _mask(array: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _fallback_hits(
    values: list[Any],
    rows: npt.NDArray[np.bool_],
    normalize: Callable[[Any], str | None],
    keys: Mapping[str, Any],
) -> npt.NDArray[np.bool_]:
    """Hits of the values the column-wise path does not cover, one by one."""
    hits = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(rows).tolist():
        hits[i] = normalize(values[i]) in keys
    return hits


def _domain_hits(
    values: list[Any], keys: pa.Array, index: Mapping[str, Any]
) -> npt.NDArray[np.bool_]:
    """Which values' :func:`normalize_domain` is a key of ``index`` (``keys`` in Arrow)."""
    column, other = _text_column(values)
    canonical = pc.match_substring_regex(column, _PLAIN_DOMAIN_RE2)
    domains = pc.replace_substring_regex(column, r"^[^@]*@", "")
    canonical = pc.and_(canonical, pc.invert(pc.starts_with(domains, "www.")))
    plain = _mask(canonical)
    hits = _mask(pc.is_in(domains, value_set=keys)) & plain
    rest = (_mask(pc.is_valid(column)) & ~plain) | other
    if rest.any():
        hits |= _fallback_hits(values, rest, normalize_domain, index)
    return hits


def _name_hits(
    values: list[Any], keys: pa.Array, index: Mapping[str, Any]
) -> npt.NDArray[np.bool_]:
    """Which values' :func:`normalize_company` is a key of ``index`` (``keys`` in Arrow)."""
    column, other = _text_column(values)
    plain = _mask(pc.match_substring_regex(column, _PLAIN_NAME_RE2))
    # Plain names: lower-case words, legal suffixes dropped unless nothing else is left.
    words = pc.split_pattern(pc.utf8_lower(pc.if_else(pa.array(plain), column, None)), " ")
    flat = pc.list_flatten(words)
    parent = np.asarray(pc.list_parent_indices(words).to_numpy(), dtype=np.int64)
    suffix = _mask(pc.is_in(flat, value_set=_LEGAL_SUFFIXES_ARROW))
    kept_count = np.bincount(parent[~suffix], minlength=len(values))
    keep = ~suffix | (kept_count[parent] == 0)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(parent[keep], minlength=len(values)))])
    kept = pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()), flat.filter(pa.array(keep)), mask=pa.array(~plain)
    )
    normalised = pc.binary_join(kept, " ")
    hits = _mask(pc.is_in(normalised, value_set=keys)) & plain
    rest = (_mask(pc.is_valid(column)) & ~plain) | other
    if rest.any():
        hits |= _fallback_hits(values, rest, normalize_company, index)
    return hits
