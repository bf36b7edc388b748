"""Values made unique stay valid for their column's type (smallint range, uuid, inet, cidr)."""

from __future__ import annotations

import ipaddress
import uuid

import numpy as np
import pandas as pd

from dbsynth.relational.unique import enforce_unique
from dbsynth.schema.model import Column, SqlType, Table, UniqueConstraint


def test_duplicates_become_distinct_valid_values() -> None:
    table = Table("t", (Column("a", SqlType("integer", size=16)), Column("u", SqlType("uuid")),
                        Column("ip", SqlType("network", "INET")), Column("net", SqlType("network", "CIDR"))),
                  unique_constraints=tuple(UniqueConstraint((c,)) for c in ("a", "u", "ip", "net")))
    n = 40
    frame = pd.DataFrame({"a": [32767] * n, "u": [str(uuid.UUID(int=7))] * n, "ip": ["10.0.0.1"] * n,
                          "net": ["10.1.0.0/16"] * n})
    keep = enforce_unique(frame, table, set(), {}, np.random.default_rng(0))
    assert keep.all()
    for col in ("a", "u", "ip", "net"):
        assert frame[col].nunique() == n, col
    assert all(-32768 <= int(v) <= 32767 for v in frame["a"])
    assert all(uuid.UUID(v) for v in frame["u"])
    assert all(ipaddress.ip_address(v) for v in frame["ip"])
    assert all(ipaddress.ip_network(v, strict=True).prefixlen == 16 for v in frame["net"])
