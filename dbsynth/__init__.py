"""dbsynth: clone a relational database into a synthetic twin.

The public API is small and pinned by a test; see ``__all__``.
"""

from dbsynth.api import CloneResult, Inspection, TrainResult, clone, generate, inspect, train
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
    "TrainResult",
    "UnsupportedType",
    "__version__",
    "clone",
    "generate",
    "inspect",
    "train",
]
