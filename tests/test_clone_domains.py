"""PostgreSQL domains whose DEFAULT or CHECK calls a function the target lacks (one in a schema that is not
cloned): the domain is created without that clause, a warning names the domain and the clause, and the
clone goes on. On MariaDB and SQLite the domains map to their base types as usual."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from tests.helpers import rows_of
from tests.test_clone_unseen import assert_integrity, run_sql, target_url

SOURCE = """
CREATE SCHEMA util;
CREATE FUNCTION util.is_sku(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t ~ '^[A-Z]{2}[0-9]{3}$' $$;
CREATE FUNCTION util.no_note() RETURNS text LANGUAGE sql AS $$ SELECT 'n/a' $$;
CREATE DOMAIN sku AS varchar(8) NOT NULL CONSTRAINT sku_format CHECK (util.is_sku(VALUE));
CREATE DOMAIN note AS text DEFAULT util.no_note() CONSTRAINT note_short CHECK (char_length(VALUE) < 40);
CREATE DOMAIN qty AS int CONSTRAINT qty_positive CHECK (VALUE > 0);
CREATE TABLE item (item_id serial PRIMARY KEY, sku sku, remark note, qty qty NOT NULL);
INSERT INTO item (sku, remark, qty) SELECT chr(65 + i % 26) || chr(65 + i % 7) || lpad((i % 1000)::text, 3, '0'),
  CASE WHEN i % 3 = 0 THEN 'remark ' || i END, 1 + i % 40 FROM generate_series(1, 300) i;
"""


def _domains(url: str) -> dict[str, tuple[object, list[str]]]:
    """Each domain of the target's public schema: its DEFAULT and the names of its CHECKs."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT t.typname, t.typdefault, array_remove(array_agg(c.conname ORDER BY c.conname), NULL) "
                "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "LEFT JOIN pg_constraint c ON c.contypid = t.oid "
                "WHERE t.typtype = 'd' AND n.nspname = 'public' GROUP BY t.typname, t.typdefault")).all()
    finally:
        engine.dispose()
    return {name: (default, list(checks)) for name, default, checks in rows}


@pytest.mark.parametrize("kind", ["postgresql", "mariadb", "sqlite"])
def test_domain_clauses_calling_missing_functions_are_left_out(kind: str, postgres_url: str,
                                                               request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    run_sql(postgres_url, SOURCE)
    target = target_url(kind, request, tmp_path)
    result = dbsynth.clone(postgres_url, target, seed=2, schemas="public")   # util (the functions) not cloned
    assert result.rows["item"] == 300
    assert_integrity(target)
    items = rows_of(target, "item", ["sku", "remark", "qty"])
    assert len(items) == 300 and all(q > 0 for _, _, q in items) and all(s is not None for s, _, _ in items)
    assert all(r is None or len(r) < 40 for _, r, _ in items)
    if kind != "postgresql":
        return
    assert _domains(target) == {"sku": (None, []), "note": (None, ["note_short"]), "qty": (None, ["qty_positive"])}
    assert any(w.startswith("domain sku: CHECK sku_format (util.is_sku(") and "rejected by the target (" in w
               and "left out" in w for w in result.warnings), result.warnings
    assert any(w.startswith("domain note: DEFAULT util.no_note() is rejected by the target (")
               and "left out" in w for w in result.warnings), result.warnings
    # the column CHECK standing for the domain's is tried on the rows with its type's collation after the cast
    assert not [w for w in result.warnings if "syntax error" in w], result.warnings
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:   # NOT NULL stayed on the domain
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.text("INSERT INTO item (item_id, sku, qty) VALUES (100000, NULL, 1)"))
    finally:
        engine.dispose()
