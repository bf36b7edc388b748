"""Personal data detection: by column name first, then by what the values look like.

A detected column is never modelled: its values come from a Faker provider.
Names are matched on normalised tokens (``billing_postal_code`` -> postal, code)
so that ``name`` alone (a genre's name) is not mistaken for a person's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

_VALUE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"), "email"),
    (re.compile(r"^(\d{1,3}\.){3}\d{1,3}$"), "ipv4"),
    (re.compile(r"^\+?[\d\s().-]{7,20}$"), "phone_number"),
)
_VALUE_SHARE = 0.8   # share of non-null sampled values that must match a pattern


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
    for pattern, provider in _VALUE_RULES:
        share = sample.map(lambda v: bool(pattern.match(v.strip()))).mean()
        if share >= _VALUE_SHARE and (provider != "phone_number" or _digits_vary(sample)):
            return PiiMatch(provider, "values")
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
