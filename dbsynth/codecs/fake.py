"""Values that must never be learned: personal data and opaque identifiers.

The codec learns only whether a value is present (so NULL patterns still
correlate with other columns); values come from Faker providers or from the
seeded random generator, never from the source.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

import numpy as np
import pandas as pd
from faker import Faker

POOL_SIZE = 4096  # distinct fake values drawn per column; rows sample from the pool


def _faker(rng: np.random.Generator, locale: str) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
    return fake


_PROVIDERS: dict[str, Callable[[Faker], str]] = {
    "first_name": lambda f: f.first_name(),
    "last_name": lambda f: f.last_name(),
    "name": lambda f: f.name(),
    "email": lambda f: f.email(),
    "phone_number": lambda f: f.phone_number(),
    "street_address": lambda f: f.street_address(),
    "postcode": lambda f: f.postcode(),
    "city": lambda f: f.city(),
    "state": lambda f: f.state(),
    "country": lambda f: f.country(),
    "company": lambda f: f.company(),
    "user_name": lambda f: f.user_name(),
    "ipv4": lambda f: f.ipv4(),
    "ipv6": lambda f: f.ipv6(),
    "iban": lambda f: f.iban(),
    "credit_card_number": lambda f: f.credit_card_number(),
    "ssn": lambda f: f.ssn(),
    "url": lambda f: f.url(),
    "word": lambda f: f.word().capitalize(),
}
PROVIDERS = tuple(sorted(_PROVIDERS)) + ("uuid", "bytes")


def fake_values(provider: str, n: int, rng: np.random.Generator, *, locale: str = "en_US",
                max_length: int | None = None) -> np.ndarray:
    """n fake values from `provider`, deterministic for a given rng state."""
    if n == 0:
        return np.empty(0, dtype=object)
    if provider == "uuid":
        raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        return np.array([str(uuid.UUID(bytes=bytes(r), version=4)) for r in raw], dtype=object)
    if provider == "bytes":
        return np.array([rng.bytes(int(k)) for k in rng.integers(1, 33, n)], dtype=object)
    fake = _faker(rng, locale)
    make = _PROVIDERS[provider]
    pool = np.array([make(fake) for _ in range(min(n, POOL_SIZE))], dtype=object)
    values = pool if n <= POOL_SIZE else pool[rng.integers(0, pool.size, n)]
    if max_length:
        values = np.array([v[:max_length] for v in values], dtype=object)
    return values


class FakeCodec:
    kind = "fake"

    def __init__(self, provider: str, has_null: bool, max_length: int | None = None,
                 locale: str = "en_US") -> None:
        self.provider = provider
        self.has_null = has_null
        self.max_length = max_length
        self.locale = locale
        self.n_states = 2 if has_null else 1

    @classmethod
    def fit(cls, values: pd.Series, provider: str, max_length: int | None = None,
            locale: str = "en_US") -> FakeCodec:
        return cls(provider, bool(values.isna().any()), max_length, locale)

    def encode(self, values: pd.Series) -> np.ndarray:
        return values.isna().to_numpy().astype(np.int64) if self.has_null else np.zeros(len(values), np.int64)

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        out = np.full(states.shape[0], None, dtype=object)
        present = np.flatnonzero(states == 0)
        out[present] = fake_values(self.provider, present.size, rng, locale=self.locale,
                                   max_length=self.max_length)
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "provider": self.provider, "has_null": self.has_null,
                "max_length": self.max_length, "locale": self.locale}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> FakeCodec:
        return cls(s["provider"], s["has_null"], s["max_length"], s["locale"])
