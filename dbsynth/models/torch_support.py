"""What the torch generators (neural, gan) share: a lazy import, device choice, CPU threads.

torch is imported on first use, never at `import dbsynth`: the default Bayesian
network must not pay several seconds of torch import.
"""

from __future__ import annotations

import base64
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np


def torch_module() -> Any:
    import torch as module  # deferred on purpose, see the module docstring
    return module


def pick_device(setting: str) -> Any:
    """`auto` takes a GPU when torch sees one; `cpu` and `cuda` are taken as given."""
    torch = torch_module()
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(setting)


@contextmanager
def cpu_threads(threads: int) -> Iterator[None]:
    """Run with `threads` intra-op CPU threads (0: leave torch's choice), restored afterwards.

    A model this small gains nothing from more threads and loses much when cores are
    shared: on 2 busy cores a training step took 23 ms with 2 threads, 5 ms with 1.
    """
    torch = torch_module()
    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def column_offsets(cards: Sequence[int]) -> Any:
    """Each column's first row in an embedding table over all (column, state) pairs, then a bias row."""
    torch = torch_module()
    return torch.as_tensor(np.concatenate([[0], np.cumsum(cards)]), dtype=torch.long)


def weights_to_json(modules: Any) -> dict[str, Any]:
    """A module's weights as JSON: shape and base64 of little-endian float32 (never pickle)."""
    return {key: {"shape": list(t.shape),
                  "float32": base64.b64encode(t.detach().cpu().numpy().astype("<f4").tobytes()).decode("ascii")}
            for key, t in modules.state_dict().items()}


def weights_from_json(modules: Any, weights: dict[str, Any]) -> None:
    """Load `weights_to_json` output into `modules` (integer counters such as BatchNorm's stay integers)."""
    torch = torch_module()
    state = {}
    for key, w in weights.items():
        tensor = torch.from_numpy(np.frombuffer(base64.b64decode(w["float32"]), dtype="<f4")
                                  .reshape(w["shape"]).copy())
        state[key] = tensor.long() if key.endswith("num_batches_tracked") else tensor
    modules.load_state_dict(state)
