"""Personal data detection: by column name first, then by what the values look like.

A detected column is never modelled: its values come from a Faker provider.
Names are matched on normalised tokens (``billing_postal_code`` -> postal, code)
so that ``name`` alone (a genre's name) is not mistaken for a person's name.

By values (reason "values"), when at least `_VALUE_SHARE` of a sample of the
non-null values is, in this order: an e-mail address; an IBAN passing its
mod-97 check; a card number (13-19 digits, spaces or dashes allowed) passing
the Luhn check; a US social security number (ddd-dd-dddd, without the never
issued 000/666/9xx areas, 00 groups and 0000 serials); an IPv4 or IPv6 address
(parsed by `ipaddress`); a phone number. Checksums keep random digit strings
(order numbers, references) from being taken for accounts or cards: only one in
ten random numbers passes Luhn, one in 97 passes mod-97.

Free text that carries e-mail addresses (a comment column where at least
`_TEXT_EMAIL_SHARE` of the values hold one with other words around it; bare
addresses are the e-mail rule's, which needs `_VALUE_SHARE`) is personal data too; since
dbsynth has no codec yet that rewrites the addresses inside a text and keeps
the rest, the whole column is faked with the "word" provider.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from dbsynth.schema.model import Column


@dataclass(frozen=True)
class PiiMatch:
    provider: str             # a dbsynth.codecs.fake provider
    reason: str               # "name", "values" or "config", shown by `dbsynth inspect`
    locale: str = "en_US"     # Faker locale of the fake values


# (regex over the normalised column name, provider); first match wins.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)(e_?mail|email_address)($|_)", "email"),
    (r"(^|_)(first_?name|given_?name|forename)($|_)", "first_name"),
    (r"(^|_)(last_?name|surname|family_?name)($|_)", "last_name"),
    (r"(^|_)(full_?name|person_?name|contact_?name|customer_?name)($|_)", "name"),
    (r"(^|_)(phone|fax|mobile|telephone|tel|cell)(_?(number|no|num))?$", "phone_number"),
    (r"(^|_)(ip|ip_?address)($|_)", "ipv4"),
    (r"(^|_)(address|street|address_?line\d?|addr)($|_)", "street_address"),
    (r"(^|_)(postal_?code|post_?code|zip|zip_?code|postcode)($|_)", "postcode"),
    (r"(^|_)(company|company_?name|employer)($|_)", "company"),
    (r"(^|_)(user_?name|login)($|_)", "user_name"),
    (r"(^|_)(ssn|social_?security|national_?id|passport)($|_)", "ssn"),
    (r"(^|_)(iban)($|_)", "iban"),
    (r"(^|_)(card_?number|credit_?card|cc_?number|pan)($|_)", "credit_card_number"),
)

_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
_EMAIL_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_CARD = re.compile(r"^\d(?:[ -]?\d){12,18}$")
_SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
_VALUE_SHARE = 0.8        # share of non-null sampled values that must match a pattern
_TEXT_EMAIL_SHARE = 0.2   # share of free-text values containing an e-mail address
_FREE_TEXT_PROVIDER = "word"


def is_iban(value: str) -> bool:
    """An IBAN (spaces allowed) whose check digits pass ISO 13616's mod-97 test."""
    v = value.replace(" ", "").upper()
    if not _IBAN.match(v):
        return False
    digits = "".join(str(int(ch, 36)) for ch in v[4:] + v[:4])
    return int(digits) % 97 == 1


def is_card_number(value: str) -> bool:
    """13 to 19 digits (spaces or dashes between them allowed) passing the Luhn check."""
    if not _CARD.match(value):
        return False
    digits = [int(ch) for ch in value if ch.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _email_in_text(value: str) -> bool:
    """An e-mail address with other words around it (a bare address is the "email" rule's)."""
    found = _EMAIL_IN_TEXT.search(value)
    return found is not None and found.group(0) != value


def is_ssn(value: str) -> bool:
    return bool(_SSN.match(value))


def _ip_version(value: str) -> int | None:
    try:
        return ipaddress.ip_address(value).version
    except ValueError:
        return None


def _ipv6_provider() -> str:
    """"ipv6" once dbsynth.codecs.fake offers it; until then IPv6 columns get IPv4 fakes."""
    from dbsynth.codecs.fake import PROVIDERS  # lazy: the codecs import this module

    return "ipv6" if "ipv6" in PROVIDERS else "ipv4"


# (test of one stripped value, provider); first rule met by enough of the sample wins.
_VALUE_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda v: bool(_EMAIL.match(v)), "email"),
    (is_iban, "iban"),
    (is_card_number, "credit_card_number"),
    (is_ssn, "ssn"),
    (lambda v: _ip_version(v) == 4, "ipv4"),
    (lambda v: _ip_version(v) == 6, "ipv6"),
    (lambda v: bool(_PHONE.match(v)), "phone_number"),
)


def normalise(name: str) -> str:
    """camelCase / spaces / dashes -> snake_case lower."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def detect(column: Column, values: pd.Series | None) -> PiiMatch | None:
    """The provider for a personal-data column, or None."""
    if column.type.kind not in ("text", "other"):
        return None
    norm = normalise(column.name)
    for pattern, provider in _NAME_RULES:
        if re.search(pattern, norm):
            return PiiMatch(provider, "name")
    if values is None:
        return None
    sample = values.dropna().astype(str).head(500)
    if sample.empty:
        return None
    stripped = sample.str.strip()
    for test, provider in _VALUE_RULES:
        share = stripped.map(test).mean()
        if share >= _VALUE_SHARE and (provider != "phone_number" or _digits_vary(sample)):
            return PiiMatch(_ipv6_provider() if provider == "ipv6" else provider, "values")
    if stripped.map(_email_in_text).mean() >= _TEXT_EMAIL_SHARE:
        return PiiMatch(_FREE_TEXT_PROVIDER, "values")
    return None


def _digits_vary(sample: pd.Series) -> bool:
    """Phone-looking strings that are really plain numbers (amounts, codes) are not phones."""
    has_punct = sample.str.contains(r"[\s()+-]", regex=True).mean()  # a dot alone is an amount or an IP
    return bool(has_punct >= 0.5)


_SEMANTIC_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)(city|town)($|_)", "city"),
    (r"(^|_)(state|province|region)($|_)", "state"),
    (r"(^|_)(country|country_?name)($|_)", "country"),
)


def semantic_provider(column: Column) -> str | None:
    """A Faker provider for values that are not personal but have a real-world domain.

    Such columns are modelled as categories; their rare values (a city seen once)
    are replaced by fresh values of the same kind instead of random words.
    """
    norm = normalise(column.name)
    for pattern, provider in _SEMANTIC_RULES:
        if re.search(pattern, norm):
            return provider
    return None
