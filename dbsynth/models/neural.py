"""Conditional variational autoencoder over discrete states (torch).

Encoder: one-hot of the row (conditions and generated columns) -> MLP -> mean and
log-variance of a latent z. Decoder: z and the one-hot of the conditions -> MLP
-> one softmax head per generated column. Loss: the heads' cross-entropy plus
``beta`` times the KL divergence to N(0, I). Sampling draws z ~ N(0, I), decodes
with the evidence and draws each column from its softmax (temperature 1).

The first layer of each MLP is written as a sum of embeddings, one row per
(column, state): the same function as a linear layer on the concatenated
one-hot vectors, without building them, so a column of 500 states costs a
lookup, not a 500-wide input.

Determinism: torch is seeded from the caller's rng (inside ``fork_rng``, so the
process-wide torch RNG is left as it was); minibatch order and every sampling
draw (z and the categorical draws) come from the numpy rng, so samples do not
depend on torch's RNG streams or on the device. Training stops at ``epochs``,
at early stopping on a validation split (``patience`` epochs without
improvement; the best weights are kept), or when ``time_budget`` seconds are
spent. The time budget is a safety net: when it binds, the result depends on
the machine's speed. Weights persist as base64 of little-endian float32 bytes
with their shapes: JSON, no pickle.

Differential privacy (``epsilon`` and ``delta`` given): DP-SGD
(`dbsynth.privacy.dpsgd`): Poisson-sampled batches of expected size
``batch_size``, per-row gradients clipped to ``max_grad_norm``, Gaussian noise
calibrated by the RDP accountant so that the planned steps spend exactly the
budget. Training then runs a fixed ``min(epochs, DP_EPOCHS)`` epochs over all
rows: no validation split and no early stopping, which would look at private
rows outside the accountant. Stopping early on the time budget only spends less.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from dbsynth.models.base import check_evidence, register
from dbsynth.models.torch_support import (
    TorchGenerator,
    check_device_setting, column_offsets, cpu_threads, loaded_device, pick_device, torch_module, weights_from_json,
    weights_to_json,
)

if TYPE_CHECKING:
    import torch
    from torch import Tensor

MIN_VALIDATION_ROWS = 200     # below this, early stopping watches the training loss
SAMPLE_BATCH = 65_536
TIME_BUDGET = 20.0            # seconds of training at most, by default
DP_EPOCHS = 20                # under DP: more epochs need more noise per step


class _Network:
    """The CVAE: torch modules in one ModuleDict (what is persisted) and the functions over them.

    A plain class over a ModuleDict rather than an nn.Module subclass, so that torch is
    imported on first use: registering this model must not make every `create("bayesnet")`
    pay torch's import (seconds). Each MLP's first layer is an embedding table with one
    row per (column, state) plus a last row that every input switches on (the bias).
    """

    def __init__(self, cond_cards: Sequence[int], gen_cards: Sequence[int], latent: int, hidden: int) -> None:
        torch = _torch()
        nn = torch.nn
        self.n_conditions = len(cond_cards)
        self.gen_cards = list(gen_cards)
        all_cards = list(cond_cards) + list(gen_cards)
        self.modules = nn.ModuleDict({
            "encoder_in": nn.Embedding(sum(all_cards) + 1, hidden),
            "encoder": nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent)),
            "decoder_in": nn.Embedding(sum(cond_cards) + 1, hidden),
            "decoder_z": nn.Linear(latent, hidden, bias=False),
            "decoder": nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, sum(gen_cards))),
        })
        self.encoder_offsets = _offsets(all_cards)
        self.decoder_offsets = _offsets(cond_cards)

    def to(self, device: torch.device) -> _Network:
        self.modules.to(device)
        self.encoder_offsets = self.encoder_offsets.to(device)
        self.decoder_offsets = self.decoder_offsets.to(device)
        return self

    def encode(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        first = _embedded(self.modules["encoder_in"], rows, self.encoder_offsets)
        mean, log_var = self.modules["encoder"](first).chunk(2, dim=1)
        return mean, log_var.clamp(-10.0, 10.0)

    def decode(self, z: Tensor, conditions: Tensor) -> list[Tensor]:
        """Logits, one (n, card) tensor per generated column."""
        first = _embedded(self.modules["decoder_in"], conditions, self.decoder_offsets)
        logits = self.modules["decoder"](first + self.modules["decoder_z"](z))
        return list(logits.split(self.gen_cards, dim=1))

    def loss(self, rows: Tensor, noise: Tensor, beta: float) -> Tensor:
        """Negative ELBO summed over the batch."""
        cross_entropy = _torch().nn.functional.cross_entropy
        mean, log_var = self.encode(rows)
        z = mean + noise * (0.5 * log_var).exp()
        heads = self.decode(z, rows[:, : self.n_conditions])
        target = rows[:, self.n_conditions:]
        recon = sum(cross_entropy(h, target[:, j], reduction="sum") for j, h in enumerate(heads))
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum()
        return recon + beta * kl


def _RowLoss(network: _Network, beta: float) -> Any:  # noqa: N802 - builds a module
    """An nn.Module whose forward is the network's loss, so torch.func can call it functionally."""
    nn = _torch().nn

    class RowLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = network.modules   # the same parameters, registered under "inner."

        def forward(self, rows: Tensor, noise: Tensor) -> Tensor:
            return network.loss(rows, noise, beta)

    return RowLoss()


def _offsets(cards: Sequence[int]) -> Tensor:
    """Each column's first row in its embedding table, then the bias row."""
    return column_offsets(cards)


def _embedded(table: torch.nn.Module, states: Tensor, offsets: Tensor) -> Tensor:
    """Sum of the rows' (column, state) embeddings and the bias row: a linear layer on one-hots."""
    torch = _torch()
    bias = torch.zeros((states.shape[0], 1), dtype=torch.long, device=states.device)
    return table(torch.cat([states, bias], dim=1) + offsets).sum(dim=1)


_torch = torch_module   # the shared lazy import


@register
class NeuralGenerator(TorchGenerator):
    name: ClassVar[str] = "neural"

    def __init__(self, epochs: int = 300, batch_size: int = 512, latent_dim: int = 16, hidden: int = 128,
                 time_budget: float = TIME_BUDGET, learning_rate: float = 5e-3, patience: int = 10,
                 beta: float = 0.5, threads: int = 1, device: str = "auto", epsilon: float | None = None,
                 delta: float | None = None, max_grad_norm: float = 1.0) -> None:
        check_device_setting(device)
        if epsilon is not None and np.isfinite(epsilon):
            if not epsilon > 0 or delta is None or not 0 < delta < 1:
                from dbsynth.errors import ConfigError
                raise ConfigError("the neural model under --epsilon needs epsilon > 0 and 0 < delta < 1 "
                                  "(DP-SGD has no pure epsilon-DP guarantee)")
        else:
            epsilon = None
        self.settings: dict[str, Any] = {
            "epochs": int(epochs), "batch_size": int(batch_size), "latent_dim": int(latent_dim),
            "hidden": int(hidden), "time_budget": float(time_budget), "learning_rate": float(learning_rate),
            "patience": int(patience), "beta": float(beta), "threads": int(threads), "device": device,
            "epsilon": None if epsilon is None else float(epsilon),
            "delta": None if delta is None else float(delta), "max_grad_norm": float(max_grad_norm),
        }
        self.noise_multiplier = 0.0   # DP-SGD's sigma, once fitted under DP
        self.cards: list[int] = []
        self.n_conditions = 0
        self.epochs_run = 0
        self.network: _Network | None = None

    def _device(self) -> torch.device:
        return pick_device(self.settings["device"])

    def _build(self) -> _Network:
        k = self.n_conditions
        return _Network(self.cards[:k], self.cards[k:], self.settings["latent_dim"], self.settings["hidden"])

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
             rng: np.random.Generator) -> None:
        torch = _torch()
        started = time.perf_counter()  # after torch's import, which is no training time
        s = self.settings
        self.cards = [int(c) for c in cardinalities]
        self.n_conditions = n_conditions
        device = self._device()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            network = self._build().to(device)
        self.network = network
        if len(data) == 0 or len(self.cards) == n_conditions:
            return
        if s["epsilon"] is not None:
            self._fit_private(network, data, rng, started)
            return
        order = rng.permutation(len(data))
        n_val = len(data) // 10 if len(data) >= MIN_VALIDATION_ROWS else 0
        train = torch.as_tensor(data[order[n_val:]], device=device)
        val = torch.as_tensor(data[order[:n_val]], device=device) if n_val else train
        optimiser = torch.optim.Adam(network.modules.parameters(), lr=s["learning_rate"])

        def normal(n: int) -> Tensor:
            return torch.as_tensor(rng.standard_normal((n, s["latent_dim"])), dtype=torch.float32, device=device)

        best, best_weights, stale = np.inf, _copy_weights(network), 0
        val_noise = normal(len(val))  # fixed: the validation loss moves only with the weights
        for epoch in range(s["epochs"]):
            network.modules.train()
            shuffled, noise = rng.permutation(len(train)), normal(len(train))
            for first in range(0, len(train), s["batch_size"]):
                idx = torch.as_tensor(shuffled[first:first + s["batch_size"]], device=device)
                optimiser.zero_grad()
                loss = network.loss(train[idx], noise[idx], s["beta"]) / len(idx)
                loss.backward()
                optimiser.step()
            network.modules.eval()
            with torch.no_grad():
                score = float(network.loss(val, val_noise, s["beta"])) / len(val)
            self.epochs_run = epoch + 1
            if score < best - 1e-4:
                best, best_weights, stale = score, _copy_weights(network), 0
            else:
                stale += 1
            if stale >= s["patience"] or time.perf_counter() - started > s["time_budget"]:
                break
        network.modules.load_state_dict(best_weights)
        network.modules.eval()

    def _fit_private(self, network: _Network, data: np.ndarray, rng: np.random.Generator,
                     started: float) -> None:
        from dbsynth.privacy.dpsgd import noise_multiplier, private_gradients

        torch = _torch()
        s = self.settings
        n = len(data)
        q = min(1.0, s["batch_size"] / n)
        epochs = min(s["epochs"], DP_EPOCHS)
        steps = epochs * max(1, round(1 / q))
        sigma = noise_multiplier(s["epsilon"], s["delta"], q, steps)
        self.noise_multiplier = sigma
        device = network.encoder_offsets.device
        rows = torch.as_tensor(data, device=device)
        wrapper = _RowLoss(network, s["beta"])
        names = [k for k, _ in wrapper.named_parameters()]
        optimiser = torch.optim.Adam(list(wrapper.parameters()), lr=s["learning_rate"])

        def loss_one(params: dict[str, Tensor], row: Tensor, noise: Tensor) -> Tensor:
            return torch.func.functional_call(wrapper, params, (row[None], noise[None]))

        network.modules.train()
        for step in range(steps):
            idx = torch.as_tensor(np.flatnonzero(rng.random(n) < q), device=device)
            noise = torch.as_tensor(rng.standard_normal((len(idx), s["latent_dim"])), dtype=torch.float32,
                                    device=device)
            params = {k: p.detach() for k, p in wrapper.named_parameters()}
            grads = private_gradients(loss_one, params, (rows[idx], noise), s["max_grad_norm"], sigma, q * n, rng)
            for k, p in zip(names, wrapper.parameters()):
                p.grad = grads[k]
            optimiser.step()
            self.epochs_run = int((step + 1) * q) if q < 1 else step + 1
            if time.perf_counter() - started > s["time_budget"]:
                break
        network.modules.eval()

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        k = self.n_conditions
        out = np.zeros((n, len(self.cards)), dtype=np.int64)
        out[:, :k] = check_evidence(evidence, n, k)
        if self.network is None or len(self.cards) == k or n == 0:
            return out
        torch = _torch()
        device = self.network.encoder_offsets.device
        # an evidence state the model never had a row for (out of range) reads as the last one
        conditions_all = np.minimum(out[:, :k], np.asarray(self.cards[:k], dtype=np.int64) - 1)
        with torch.no_grad(), _cpu_threads(self.settings["threads"]):
            for first in range(0, n, SAMPLE_BATCH):
                rows = slice(first, min(first + SAMPLE_BATCH, n))
                z = torch.as_tensor(rng.standard_normal((rows.stop - first, self.settings["latent_dim"])),
                                    dtype=torch.float32, device=device)
                conditions = torch.as_tensor(conditions_all[rows], device=device)
                for j, logits in enumerate(self.network.decode(z, conditions)):
                    cdf = np.cumsum(torch.softmax(logits.double(), dim=1).cpu().numpy(), axis=1)
                    u = rng.random(len(cdf)) * cdf[:, -1]
                    out[rows, k + j] = np.minimum((cdf < u[:, None]).sum(axis=1), cdf.shape[1] - 1)
        return out

    # -- persistence -------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        weights = {} if self.network is None else weights_to_json(self.network.modules)
        return {"name": self.name, "settings": self.settings, "cards": self.cards,
                "n_conditions": self.n_conditions, "epochs_run": self.epochs_run,
                "noise_multiplier": self.noise_multiplier, "weights": weights}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> NeuralGenerator:
        g = cls(**s["settings"])
        g.cards, g.n_conditions, g.epochs_run = list(s["cards"]), int(s["n_conditions"]), int(s["epochs_run"])
        g.noise_multiplier = float(s.get("noise_multiplier", 0.0))
        if s["weights"]:
            network = g._build()
            weights_from_json(network.modules, s["weights"])
            network.modules.eval()
            g.network = network.to(loaded_device(g.settings["device"]))
        return g


_cpu_threads = cpu_threads


def _copy_weights(network: _Network) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in network.modules.state_dict().items()}
