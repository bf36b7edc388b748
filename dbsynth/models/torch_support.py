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


DEVICES = ("auto", "cpu", "cuda")
TORCH_MODELS = frozenset({"neural", "gan"})   # the generators that take a `device` setting


def with_device(name: str, settings: dict[str, Any], device: str) -> dict[str, Any]:
    """`settings` plus `device` when generator `name` runs on torch (the others take no device)."""
    return {**settings, "device": device} if name in TORCH_MODELS else dict(settings)


def check_device_setting(setting: str) -> str:
    """`setting` if it is one of DEVICES, else a ValueError (a bad value in code, not from a user)."""
    if setting not in DEVICES:
        raise ValueError(f"device must be auto, cpu or cuda, not {setting!r}")
    return setting


def pick_device(setting: str) -> Any:
    """`auto` takes a GPU when torch sees one, `cpu` the CPU; `cuda` without a GPU is a ConfigError."""
    torch = torch_module()
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    elif setting == "cuda" and not torch.cuda.is_available():
        from dbsynth.errors import ConfigError
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(f"--device cuda: torch {torch.__version__} ({build}) sees no CUDA GPU; "
                          f"use --device auto or cpu, or install a CUDA build of torch")
    return torch.device(setting)


def loaded_device(setting: str) -> Any:
    """Where a model read from a file goes: its own setting, but the CPU when that was `cuda` and there
    is no GPU here (a model trained on a GPU machine must still load on a laptop; `generate --device`
    places it explicitly afterwards)."""
    torch = torch_module()
    if setting == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return pick_device(setting)


def require_device(setting: str) -> None:
    """Refuse `cuda` up front, before any data is read, when torch sees no GPU (torch imported only then)."""
    check_device_setting(setting)
    if setting == "cuda":
        pick_device(setting)


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


class Segments:
    """Softmax, log-softmax and one-hots over the columns of a flat (n, sum(cards)) logit matrix.

    The heads of all generated columns side by side, handled in a fixed handful of tensor
    operations whatever the number of columns (a Python loop over 20 heads cost more than
    the network itself at our sizes). Each segment's max is subtracted first (no overflow).
    """

    def __init__(self, cards: Sequence[int], device: Any) -> None:
        torch = torch_module()
        self.cards = [int(c) for c in cards]
        self.width = sum(self.cards)
        self.column_of = torch.repeat_interleave(torch.arange(len(self.cards)),
                                                 torch.as_tensor(self.cards)).to(device)
        self.offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(self.cards)[:-1]]),
                                       dtype=torch.long).to(device)

    def _shifted(self, logits: Any) -> Any:
        torch = torch_module()
        with torch.no_grad():   # a per-segment constant: softmax does not depend on it
            index = self.column_of.expand(len(logits), -1)
            peak = torch.full((len(logits), len(self.cards)), -torch.inf, device=logits.device,
                              dtype=logits.dtype).scatter_reduce(1, index, logits, "amax")
        return logits - peak[:, self.column_of]

    def log_softmax(self, logits: Any) -> Any:
        torch = torch_module()
        shifted = self._shifted(logits)
        sums = torch.zeros((len(logits), len(self.cards)), device=logits.device,
                           dtype=logits.dtype).index_add(1, self.column_of, shifted.exp())
        return shifted - sums.log()[:, self.column_of]

    def softmax(self, logits: Any) -> Any:
        return self.log_softmax(logits).exp()

    def one_hot(self, states: Any) -> Any:
        """(n, columns) states -> (n, width) one-hots."""
        torch = torch_module()
        out = torch.zeros((len(states), self.width), device=states.device)
        return out.scatter_(1, states + self.offsets, 1.0)


class TorchGenerator:
    """What the torch generators (VAE, GAN) share: where they run, and CPU threads while they fit.

    Subclasses hold `settings` (with "device" and "threads") and `network`, and implement `_fit`.
    """

    settings: dict[str, Any]
    network: Any

    def place(self, device: str) -> None:
        """Train or sample on `device` from now on (auto, cpu or cuda); moves fitted weights there."""
        self.settings["device"] = check_device_setting(device)
        if self.network is not None:
            self.network.to(pick_device(device))

    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None:
        with cpu_threads(self.settings["threads"]):
            self._fit(np.asarray(data, dtype=np.int64), cardinalities, n_conditions, rng)

    def _fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
             rng: np.random.Generator) -> None:
        raise NotImplementedError
