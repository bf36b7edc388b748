"""A Dask client for --dask ADDRESS|local: we use Dask's scheduler rather than writing one."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from dbsynth.errors import ConnectionFailed

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["dask_client"]


@contextmanager
def dask_client(address: str, workers: int) -> Iterator["Client"]:
    """A client of the scheduler at `address`, or of a LocalCluster of `workers` processes ("local")."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    try:
        if address == "local":
            quiet = not logging.getLogger("dbsynth").isEnabledFor(logging.DEBUG)  # --debug shows the workers' logs
            # No dashboard; its HTTP server still starts, on a free port: 8787 may be another run's.
            cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                   silence_logs=logging.CRITICAL if quiet else logging.WARNING)
            client = Client(cluster)
        else:
            client = Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ConnectionFailed(f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
                               f"or use --dask local") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
