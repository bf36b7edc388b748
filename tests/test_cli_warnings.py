"""Alike warnings fold into one line on the terminal; different ones stay as they are."""

from __future__ import annotations

from dbsynth.cli_warnings import folded


def test_alike_warnings_fold_with_count_and_first_names() -> None:
    warnings = [f"column t{i}.at has a time zone, which SQLite cannot store: values are written in UTC"
                for i in range(215)]
    warnings.insert(1, "table big is partitioned by LIST (k) in the source (2 partitions)")
    lines = folded(warnings)
    assert lines == [
        "215 columns (t0.at, t1.at, t2.at and 212 more): column … has a time zone, which SQLite cannot store: "
        "values are written in UTC",
        "table big is partitioned by LIST (k) in the source (2 partitions)",
    ]


def test_signatures_and_tables_are_part_of_the_name() -> None:
    refused = [f"function s.f{i}(kind s.tag, id integer) was not recreated: PL/pgSQL" for i in range(5)]
    triggers = [f"trigger upd on table s.t{i} was not recreated: PL/pgSQL" for i in range(2)]
    lines = folded(refused + triggers + ["something else entirely"])
    assert lines[0] == ("5 functions (s.f0(kind s.tag, id integer), s.f1(kind s.tag, id integer), "
                        "s.f2(kind s.tag, id integer) and 2 more): function … was not recreated: PL/pgSQL")
    assert lines[1:] == triggers + ["something else entirely"]   # fewer than four alike: one line each
