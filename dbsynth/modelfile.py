"""The model file written by `dbsynth train` and read by `dbsynth generate`.

A zip archive of JSON documents: ``manifest.json`` (format version, what was
trained, a SHA-256 of every other member), ``schema.json``, ``order.json`` and
one ``tables/<n>.json`` per table. Loading only parses JSON, so a model file
can never run code; a changed, truncated or foreign file is refused with one
line before anything is generated.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbsynth.errors import DbsynthError
from dbsynth.relational.fit import FittedDatabase
from dbsynth.relational.state import fitted_from_state, fitted_to_state, order_from_state, order_to_state
from dbsynth.schema.model import Schema

FORMAT = "dbsynth-model"
VERSION = 1


class ModelFileError(DbsynthError):
    """A model file that cannot be used: missing, damaged, modified or of another version."""


def save_model(fitted: FittedDatabase, path: Path, *, info: dict[str, Any] | None = None) -> None:
    """Write atomically: a half-written file never replaces a good one."""
    members: dict[str, bytes] = {
        "schema.json": fitted.schema.to_json(indent=None).encode(),
        "order.json": _dump(order_to_state(fitted.order)),
    }
    names = {}
    for i, (name, table) in enumerate(fitted.tables.items()):
        member = f"tables/{i:04d}.json"
        names[name] = member
        members[member] = _dump(fitted_to_state(table))
    manifest = {
        "format": FORMAT, "version": VERSION, "seed": fitted.seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tables": names, "info": info or {},
        "privacy": fitted.privacy, "privacy_notes": fitted.privacy_notes,
        "sha256": {m: hashlib.sha256(data).hexdigest() for m, data in members.items()},
    }
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ModelFileError(f"folder {str(path.parent)!r} for the model file does not exist; create it first")
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _dump(manifest))
        for member, data in members.items():
            archive.writestr(member, data)
    partial.replace(path)


def load_model(path: Path) -> tuple[FittedDatabase, dict[str, Any]]:
    """The fitted database and the manifest; ModelFileError for anything wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist; write one with `dbsynth train`")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            _check_manifest(manifest, path)
            members = {m: archive.read(m) for m in manifest["sha256"]}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelFileError(f"{str(path)!r} is not a readable dbsynth model file ({exc}); retrain it") from None
    for member, data in members.items():
        if hashlib.sha256(data).hexdigest() != manifest["sha256"][member]:
            raise ModelFileError(f"model file {str(path)!r} was modified or damaged ({member} fails its "
                                 f"checksum); retrain it with `dbsynth train`")
    try:
        schema = Schema.from_json(members["schema.json"].decode())
        order = order_from_state(json.loads(members["order.json"]))
        tables = {name: fitted_from_state(json.loads(members[member]))
                  for name, member in manifest["tables"].items()}
        if set(tables) != set(order.tables) or set(order.tables) != set(schema.table_names):
            raise ValueError("tables do not match the schema")
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ModelFileError(f"model file {str(path)!r} is inconsistent ({type(exc).__name__}: {exc}); "
                             f"retrain it with `dbsynth train`") from None
    fitted = FittedDatabase(schema, order, tables, int(manifest.get("seed", 0)), privacy=manifest.get("privacy"),
                            privacy_notes=list(manifest.get("privacy_notes") or []))
    return fitted, manifest


def _check_manifest(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a dbsynth model file")
    if manifest.get("version") != VERSION:
        raise ModelFileError(f"model file {str(path)!r} has format version {manifest.get('version')}, this "
                             f"dbsynth reads version {VERSION}; retrain it with this version")
    if not isinstance(manifest.get("sha256"), dict) or not isinstance(manifest.get("tables"), dict):
        raise ModelFileError(f"model file {str(path)!r} has a damaged manifest; retrain it")


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=True).encode()
