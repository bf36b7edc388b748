"""Network addresses (PostgreSQL inet, cidr, macaddr, macaddr8): learn the form, never the address.

What is learned is the share of each *form* (IPv4 or IPv6, and the prefix
length: a /24 network, a host address); decoding writes fresh addresses of that
form from Faker, so every value is valid for its type: a cidr value is a
network address (host bits zero), a MAC address has six (macaddr8: eight) bytes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

SUBTYPES = ("inet", "cidr", "macaddr", "macaddr8")
MAX_FORMS = 16


def network_subtype(source_name: str) -> str:
    """inet, cidr, macaddr or macaddr8 from the source type's name (inet when unknown)."""
    name = (source_name or "").lower()
    for sub in ("macaddr8", "macaddr", "cidr"):
        if sub in name:
            return sub
    return "inet"


class NetworkCodec:
    kind = "network"

    def __init__(self, subtype: str, forms: list[list[int]], has_null: bool) -> None:
        self.subtype = subtype
        self.forms = [(int(v), int(p)) for v, p in forms]   # (IP version, prefix length); (0, 0) for MACs
        self.has_null = has_null
        self._index = {f: i for i, f in enumerate(self.forms)}
        self.n_states = len(self.forms) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, subtype: str = "inet") -> NetworkCodec:
        present = values.dropna()
        if subtype.startswith("macaddr"):
            forms = [(0, 0)]
        else:
            seen = pd.Series([_form(v) for v in present], dtype=object).value_counts()
            forms = sorted(seen.index.tolist(), key=lambda f: (-int(seen[f]), f))[:MAX_FORMS] or [(4, 32)]
        return cls(subtype, [list(f) for f in forms], bool(values.isna().any()))

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        states = np.zeros(len(values), dtype=np.int64)
        if not self.subtype.startswith("macaddr"):
            for row, v in enumerate(values):
                if not isnull[row]:
                    states[row] = self._nearest(_form(v))
        if self.has_null:
            states[isnull] = len(self.forms)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        fake = Faker()
        fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
        out = np.full(states.shape[0], None, dtype=object)
        for s, (version, prefix) in enumerate(self.forms):
            for row in np.flatnonzero(states == s):
                out[row] = self._address(fake, rng, version, prefix)
        return pd.Series(out, dtype=object)

    def _address(self, fake: Faker, rng: np.random.Generator, version: int, prefix: int) -> str:
        if self.subtype == "macaddr":
            return fake.mac_address()
        if self.subtype == "macaddr8":
            return ":".join(f"{b:02x}" for b in rng.bytes(8))
        address = fake.ipv4() if version == 4 else fake.ipv6()
        full = 32 if version == 4 else 128
        if self.subtype == "cidr":
            return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
        return address if prefix == full else f"{address}/{prefix}"

    def _nearest(self, form: tuple[int, int]) -> int:
        """The state of `form`, else the most frequent form of the same IP version, else the first."""
        if form in self._index:
            return self._index[form]
        same = [i for i, f in enumerate(self.forms) if f[0] == form[0]]
        return same[0] if same else 0

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "subtype": self.subtype, "forms": [list(f) for f in self.forms],
                "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> NetworkCodec:
        return cls(s["subtype"], s["forms"], s["has_null"])


def _form(value: Any) -> tuple[int, int]:
    """(version, prefix length) of an address, interface or network, given as an object or text."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value.version, value.max_prefixlen
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value.version, value.prefixlen
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value.version, value.network.prefixlen
    try:
        iface = ipaddress.ip_interface(str(value).strip())
    except ValueError:
        return 4, 32
    return iface.version, iface.network.prefixlen
