"""Progress reporting as a tiny injectable interface: the library reports, the CLI draws.

The library never prints; it calls a Progress. The default is silent; the CLI
passes a rich-based one when stdout is a terminal.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int) -> None: ...

    def advance(self, detail: str = "", rows: int = 0) -> None: ...

    def done(self) -> None: ...


class SilentProgress:
    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, detail: str = "", rows: int = 0) -> None:
        pass

    def done(self) -> None:
        pass


@contextmanager
def stage(progress: Progress, name: str, total: int) -> Iterator[Progress]:
    progress.stage(name, total)
    try:
        yield progress
    finally:
        progress.done()
