"""dbsynth: clone a relational database into a synthetic twin.

The public API is small and pinned by a test; see ``__all__``.
"""

from dbsynth.api import CloneResult, Inspection, TrainResult, clone, generate, inspect, refresh, train
from dbsynth.errors import (
    ConfigError, ConnectionFailed, DbsynthError, RefreshBusy, SchemaError, TargetNotEmpty, UnsupportedType,
)
from dbsynth.refreshing import RefreshResult

__version__ = "0.1.0"

__all__ = [
    "CloneResult",
    "ConfigError",
    "ConnectionFailed",
    "DbsynthError",
    "Inspection",
    "RefreshBusy",
    "RefreshResult",
    "SchemaError",
    "TargetNotEmpty",
    "TrainResult",
    "UnsupportedType",
    "__version__",
    "clone",
    "generate",
    "inspect",
    "refresh",
    "train",
]
