"""`hash` mode: the same salted pseudonym for the same value, in every table.

Joins on keys the schema does not declare (an e-mail used as a customer id in
two tables) keep working because equal values map to equal pseudonyms. The
salt is DBSYNTH_HASH_SALT when set (do set it to a secret: without it the salt
follows --seed, and a guessable salt lets anyone test candidate values).
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd

from dbsynth.schema.model import SqlType


def salt_for(seed: int) -> bytes:
    secret = os.environ.get("DBSYNTH_HASH_SALT")
    return secret.encode() if secret else f"dbsynth-seed-{seed}".encode()


def pseudonymise(values: pd.Series, sql_type: SqlType, salt: bytes) -> pd.Series:
    """Each non-NULL value replaced by a keyed hash that fits the column's type."""
    def one(value: object) -> object:
        digest = hmac.new(salt, str(value).encode(), hashlib.sha256).hexdigest()
        if sql_type.kind in ("integer", "decimal"):
            bits = min(sql_type.size or 32, 64) - 2
            return int(digest, 16) % (2**bits)
        text = "h" + digest
        return text[: sql_type.length] if sql_type.length else text[:17]

    return values.astype(object).map(lambda v: None if pd.isna(v) else one(v))
