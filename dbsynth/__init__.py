"""dbsynth: clone a relational database into a synthetic twin.

The public API is small and pinned by a test; see ``__all__``.
"""

from dbsynth.api import CloneResult, Inspection, clone, inspect
from dbsynth.errors import (
    ConfigError, ConnectionFailed, DbsynthError, SchemaError, TargetNotEmpty, UnsupportedType,
)

__version__ = "0.1.0"

__all__ = [
    "CloneResult",
    "ConfigError",
    "ConnectionFailed",
    "DbsynthError",
    "Inspection",
    "SchemaError",
    "TargetNotEmpty",
    "UnsupportedType",
    "__version__",
    "clone",
    "inspect",
]
