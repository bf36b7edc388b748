"""PostgreSQL enum types that no column uses, read so that the functions naming them can be recreated.

An application's function may take or return an enum no table column has (MusicBrainz's
`taggable_entity_type`); without the type the function, and every trigger calling it, is refused.
Enums that columns use travel with the columns' types.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from dbsynth.schema.model import EnumType, Table


def unused_enums(inspector: sa.Inspector, namespaces: Iterable[str | None], tables: Iterable[Table]) -> list[EnumType]:
    """The enum types of `namespaces` (None: the default one) that no column of `tables` uses."""
    if inspector.dialect.name != "postgresql":
        return []
    used = {t.enum_name for table in tables for c in table.columns for t in (c.type, c.type.item) if t is not None
            and t.enum_name}
    found = []
    for namespace in namespaces:
        for enum in inspector.get_enums(schema=namespace or inspector.default_schema_name):
            if enum["name"] in used or f"{namespace}.{enum['name']}" in used:
                continue
            name = f"{namespace}.{enum['name']}" if namespace else enum["name"]
            found.append(EnumType(name, namespace, tuple(enum["labels"])))
    return found
