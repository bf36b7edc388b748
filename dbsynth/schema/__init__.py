"""Introspection: the source's schema as plain, frozen dataclasses."""

from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import (
    CheckConstraint, Column, ForeignKey, Identity, Index, PrimaryKey, Schema, SqlType, Table,
    UniqueConstraint,
)

__all__ = [
    "CheckConstraint", "Column", "ForeignKey", "Identity", "Index", "PrimaryKey", "Schema",
    "SqlType", "Table", "UniqueConstraint", "introspect",
]
