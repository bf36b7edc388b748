"""Conditional tabular GAN over discrete states (torch), written from the published ideas.

Ideas from the conditional tabular GAN literature (Xu et al., "Modeling Tabular
Data using Conditional GAN", 2019; PacGAN, Lin et al. 2018; WGAN-GP, Gulrajani
et al. 2017), implemented here from their descriptions:

- Every column is one-hot over its discrete states. Mode-specific normalisation
  of raw numerics is not needed: our codecs already discretise numeric columns
  into quantile bins (and categorical ones into frequency-ordered states), so the
  codecs play that role and every column here is categorical.
- Conditional vector and training-by-sampling: for each training row, pick a
  generated column uniformly, one of its states with probability proportional
  to log(1 + frequency), condition the generator on that (column, state) and
  draw the real row among the rows having it. Rare states are thereby seen far
  more often than their frequency. The generator pays a cross-entropy penalty
  when its output for the chosen column disagrees with the condition. A share
  (``null_share``) of every batch is conditioned on "no column" with rows drawn
  uniformly: sampling uses that null condition, so that the output follows the
  data's own joint (drawing a (column, state) from its marginal would contradict
  the parent evidence whenever the two are dependent).
- Parent conditioning columns (the first ``n_conditions``) are always part of
  the condition: the generator and the discriminator both see them, taken from
  the real row drawn for the training example (and from the evidence at
  sampling time).
- Generator: noise z, the parents and the conditional vector -> MLP with
  residual blocks -> one logit head per generated column, passed through a
  Gumbel-softmax (temperature ``tau``) in training so gradients flow through a
  near-one-hot draw.
- Discriminator (critic): PacGAN, ``pac`` rows packed into one input, which
  lets the critic see a batch's diversity and curbs mode collapse. Loss:
  WGAN with gradient penalty on interpolates between packed real and fake
  inputs.
- Sampling draws each generated column from its softmax (temperature 1, which
  is what the Gumbel-max trick behind the training draws amounts to), with
  the numpy rng.

Training runs a fixed ``epochs`` (each ``max(1, rows // batch_size)`` steps,
one critic and one generator update each), fewer when that would pass
``max_steps`` (whole epochs are kept, at least one): no early stopping, so
the result is deterministic for a seed. ``time_budget`` is a wall-clock
safety cap only; when it binds (logged), the result depends on the machine's
speed. Randomness: torch is seeded from the caller's rng inside
``fork_rng`` for the initial weights; the training noise (z, Gumbel,
interpolation weights) comes from a ``torch.Generator`` seeded from that rng
(so the global torch RNG is untouched); batches and every sampling draw come
from the numpy rng. Weights persist as base64 of little-endian float32 with
their shapes: JSON only, no pickle. No differential privacy: ``epsilon`` is
refused with ConfigError.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from dbsynth.models.base import check_evidence, register
from dbsynth.models.torch_support import column_offsets, pick_device, weights_from_json, weights_to_json
from dbsynth.models.torch_support import cpu_threads as _cpu_threads
from dbsynth.models.torch_support import torch_module as _torch

if TYPE_CHECKING:
    import torch
    from torch import Tensor

log = logging.getLogger(__name__)

SAMPLE_BATCH = 65_536
TIME_BUDGET = 120.0          # seconds of training at most, by default: a safety cap, not a stopping rule


class _Network:
    """Generator and critic: torch modules in one ModuleDict (what is persisted) and functions over them.

    A plain class, not an nn.Module subclass, so torch is imported on first use only.
    """

    def __init__(self, cond_cards: Sequence[int], gen_cards: Sequence[int], embedding: int, hidden: int,
                 pac: int) -> None:
        torch = _torch()
        nn = torch.nn
        self.cond_cards, self.gen_cards = list(cond_cards), list(gen_cards)
        self.embedding, self.pac = embedding, pac
        n_cond_states, n_gen_states = sum(cond_cards), sum(gen_cards)
        self.null = n_gen_states              # index of the "no column" conditional vector
        # the critic's row: parents' one-hots, generated one-hots, the conditional vector (+ null)
        row_width = n_cond_states + n_gen_states + n_gen_states + 1
        self.modules = nn.ModuleDict({
            # linear layers on the one-hots of parents and conditional vector, as lookups
            "g_parents": nn.Embedding(n_cond_states + 1, 2 * hidden),
            "g_condvec": nn.Embedding(n_gen_states + 1, 2 * hidden),
            "g_z": nn.Linear(embedding, 2 * hidden),
            "g_block1": nn.Sequential(nn.BatchNorm1d(2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden)),
            "g_block2": nn.Sequential(nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden)),
            "g_out": nn.Sequential(nn.BatchNorm1d(2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, n_gen_states)),
            "critic": nn.Sequential(nn.Linear(pac * row_width, hidden), nn.LeakyReLU(0.2),
                                    nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)),
        })
        self.cond_offsets = _offsets(cond_cards)

    def to(self, device: torch.device) -> _Network:
        self.modules.to(device)
        self.cond_offsets = self.cond_offsets.to(device)
        return self

    def generator_logits(self, z: Tensor, parents: Tensor, condvec: Tensor) -> list[Tensor]:
        """Logits, one (n, card) tensor per generated column."""
        torch = _torch()
        m = self.modules
        bias = torch.zeros((parents.shape[0], 1), dtype=torch.long, device=parents.device)
        first = (m["g_z"](z) + m["g_parents"](torch.cat([parents, bias], 1) + self.cond_offsets).sum(1)
                 + m["g_condvec"](condvec))
        h1 = m["g_block1"](first)
        h2 = h1 + m["g_block2"](h1)                     # a residual block
        logits = m["g_out"](torch.cat([h1, h2], 1))
        return list(logits.split(self.gen_cards, dim=1))

    def critic_rows(self, parents: Tensor, generated: Tensor, condvec: Tensor) -> Tensor:
        """Rows as the critic sees them: parents' one-hots, the generated (soft) one-hots, condvec."""
        torch = _torch()
        one_hot = torch.nn.functional.one_hot
        parts = [one_hot(parents[:, j], c).float() for j, c in enumerate(self.cond_cards)]
        parts += [generated, one_hot(condvec, self.null + 1).float()]
        return torch.cat(parts, 1)

    def critic(self, rows: Tensor) -> Tensor:
        """Scores of packs of ``pac`` consecutive rows."""
        return self.modules["critic"](rows.reshape(rows.shape[0] // self.pac, -1))


def _offsets(cards: Sequence[int]) -> Tensor:
    """Each column's first row in its embedding table, then the bias row."""
    return column_offsets(cards)


class _Sampler:
    """Training-by-sampling: (column, state) by log-frequency, then a real row having it."""

    def __init__(self, generated: np.ndarray, cards: Sequence[int]) -> None:
        self.cards = [int(c) for c in cards]
        self.offsets = np.concatenate([[0], np.cumsum(self.cards)])
        self.orders, self.starts, self.counts, self.cdfs = [], [], [], []
        for j, card in enumerate(self.cards):
            counts = np.bincount(generated[:, j], minlength=card)
            weights = np.log1p(counts)
            self.orders.append(np.argsort(generated[:, j], kind="stable"))
            self.starts.append(np.concatenate([[0], np.cumsum(counts)[:-1]]))
            self.counts.append(counts)
            self.cdfs.append(np.cumsum(weights / weights.sum()))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row indices, condvec indices into the generated one-hots, the chosen columns)."""
        columns = rng.integers(len(self.cards), size=n)
        u_state, u_row = rng.random(n), rng.random(n)
        rows = np.empty(n, dtype=np.int64)
        states = np.empty(n, dtype=np.int64)
        for j in np.unique(columns):
            at = np.flatnonzero(columns == j)
            s = np.minimum(np.searchsorted(self.cdfs[j], u_state[at], side="right"), self.cards[j] - 1)
            states[at] = s
            pick = self.starts[j][s] + np.minimum((u_row[at] * self.counts[j][s]).astype(np.int64),
                                                  self.counts[j][s] - 1)
            rows[at] = self.orders[j][pick]
        return rows, self.offsets[columns] + states, columns


@register
class GanGenerator:
    name: ClassVar[str] = "gan"

    def __init__(self, epochs: int = 300, batch_size: int = 500, embedding_dim: int = 64, hidden: int = 128,
                 pac: int = 10, max_steps: int = 2000, learning_rate: float = 1e-3, gp_weight: float = 10.0,
                 tau: float = 0.2, null_share: float = 0.5, time_budget: float = TIME_BUDGET,
                 threads: int = 1, device: str = "auto", epsilon: float | None = None,
                 delta: float | None = None) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
        if epsilon is not None and np.isfinite(epsilon):
            from dbsynth.errors import ConfigError
            raise ConfigError("the gan model has no differentially private variant; "
                              "with --epsilon choose bayesnet, independent or neural")
        if not 1 <= int(pac) <= int(batch_size):
            raise ValueError("pac must be between 1 and batch_size")
        if not 0.0 <= null_share <= 1.0:
            raise ValueError("null_share must be in [0, 1]")
        self.settings: dict[str, Any] = {
            "epochs": int(epochs), "batch_size": int(batch_size), "embedding_dim": int(embedding_dim),
            "hidden": int(hidden), "pac": int(pac), "max_steps": int(max_steps),
            "learning_rate": float(learning_rate),
            "gp_weight": float(gp_weight), "tau": float(tau), "null_share": float(null_share),
            "time_budget": float(time_budget), "threads": int(threads), "device": device,
        }
        self.cards: list[int] = []
        self.n_conditions = 0
        self.epochs_run = 0
        self.network: _Network | None = None

    def _device(self) -> torch.device:
        return pick_device(self.settings["device"])

    def _build(self) -> _Network:
        k, s = self.n_conditions, self.settings
        return _Network(self.cards[:k], self.cards[k:], s["embedding_dim"], s["hidden"], s["pac"])

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None:
        with _cpu_threads(self.settings["threads"]):
            self._fit(np.asarray(data, dtype=np.int64), cardinalities, n_conditions, rng)

    def _fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
             rng: np.random.Generator) -> None:
        torch = _torch()
        F = torch.nn.functional  # noqa: N806
        started = time.perf_counter()
        s = self.settings
        self.cards = [int(c) for c in cardinalities]
        self.n_conditions = k = n_conditions
        device = self._device()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            network = self._build().to(device)
        self.network = network
        self.epochs_run = 0
        if len(data) == 0 or len(self.cards) == k:
            network.modules.eval()
            return
        noise = torch.Generator(device=device)
        noise.manual_seed(int(rng.integers(2**63)))
        pac = s["pac"]
        batch = max(pac, s["batch_size"] // pac * pac)
        n_null = int(round(batch * s["null_share"] / pac)) * pac   # whole packs of each kind
        steps = max(1, len(data) // batch)
        epochs = min(s["epochs"], max(1, s["max_steps"] // steps))
        sampler = _Sampler(data[:, k:], self.cards[k:])
        rows_all = torch.as_tensor(data, device=device)
        m = network.modules
        g_params = [p for name, p in m.named_parameters() if name.startswith("g_")]
        d_params = list(m["critic"].parameters())
        adam = {"lr": s["learning_rate"], "betas": (0.5, 0.9), "weight_decay": 1e-6, "foreach": True}
        g_opt, d_opt = torch.optim.Adam(g_params, **adam), torch.optim.Adam(d_params, **adam)

        def draw_batch() -> tuple[Tensor, Tensor, Tensor]:
            """Real rows, their condvec indices (null: none) and the conditioned column (-1: none)."""
            cond_rows, condvec, columns = sampler.draw(batch - n_null, rng)
            idx = np.concatenate([rng.integers(len(data), size=n_null), cond_rows])
            vec = np.concatenate([np.full(n_null, network.null), condvec])
            col = np.concatenate([np.full(n_null, -1), columns])
            # shuffle so that packs mix null and conditioned rows alike for real and fake
            perm = rng.permutation(batch)
            return (rows_all[torch.as_tensor(idx[perm], device=device)], torch.as_tensor(vec[perm], device=device),
                    torch.as_tensor(col[perm], device=device))

        def generate(parents: Tensor, condvec: Tensor) -> tuple[Tensor, list[Tensor]]:
            z = torch.randn((len(parents), s["embedding_dim"]), generator=noise, device=device)
            logits = network.generator_logits(z, parents, condvec)
            soft = []
            for h in logits:
                u = torch.rand(h.shape, generator=noise, device=device).clamp(1e-10, 1 - 1e-10)
                soft.append(F.softmax((h - torch.log(-torch.log(u))) / s["tau"], dim=1))
            return torch.cat(soft, 1), logits

        def real_one_hot(rows: Tensor) -> Tensor:
            return torch.cat([F.one_hot(rows[:, k + j], c).float() for j, c in enumerate(self.cards[k:])], 1)

        m.train()
        for epoch in range(epochs):
            for _ in range(steps):
                # critic step
                rows, condvec, _ = draw_batch()
                parents = rows[:, :k]
                with torch.no_grad():
                    fake, _ = generate(parents, condvec)
                real_in = network.critic_rows(parents, real_one_hot(rows), condvec)
                fake_in = network.critic_rows(parents, fake, condvec)
                alpha = torch.rand((batch // pac, 1, 1), generator=noise, device=device)
                mixed = (alpha * real_in.reshape(batch // pac, pac, -1)
                         + (1 - alpha) * fake_in.reshape(batch // pac, pac, -1)).reshape(batch, -1)
                mixed.requires_grad_(True)
                grad, = torch.autograd.grad(network.critic(mixed).sum(), mixed, create_graph=True)
                penalty = ((grad.reshape(batch // pac, -1).norm(dim=1) - 1) ** 2).mean()
                d_loss = network.critic(fake_in).mean() - network.critic(real_in).mean() + s["gp_weight"] * penalty
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                d_opt.step()
                # generator step
                rows, condvec, col = draw_batch()
                parents = rows[:, :k]
                fake, logits = generate(parents, condvec)
                g_loss = -network.critic(network.critic_rows(parents, fake, condvec)).mean()
                chosen = col >= 0
                if bool(chosen.any()):
                    # cross-entropy of the chosen column's head against the conditioned state: the
                    # heads' log-softmaxes side by side are indexed like the condvec
                    log_p = torch.cat([F.log_softmax(h, dim=1) for h in logits], 1)
                    g_loss = g_loss - log_p[chosen].gather(1, condvec[chosen, None]).sum() / batch
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                g_opt.step()
            self.epochs_run = epoch + 1
            if time.perf_counter() - started > s["time_budget"]:
                log.warning("gan: the %.0fs safety cap stopped training after %d of %d epochs",
                            s["time_budget"], self.epochs_run, epochs)
                break
        m.eval()

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        k = self.n_conditions
        out = np.zeros((n, len(self.cards)), dtype=np.int64)
        out[:, :k] = check_evidence(evidence, n, k)
        if self.network is None or len(self.cards) == k or n == 0:
            return out
        torch = _torch()
        network = self.network
        device = network.cond_offsets.device
        # an evidence state the model never had a row for (out of range) reads as the last one
        parents_all = np.minimum(out[:, :k], np.asarray(self.cards[:k], dtype=np.int64) - 1)
        with torch.no_grad(), _cpu_threads(self.settings["threads"]):
            for first in range(0, n, SAMPLE_BATCH):
                rows = slice(first, min(first + SAMPLE_BATCH, n))
                size = rows.stop - first
                z = torch.as_tensor(rng.standard_normal((size, self.settings["embedding_dim"])),
                                    dtype=torch.float32, device=device)
                parents = torch.as_tensor(parents_all[rows], device=device)
                condvec = torch.full((size,), network.null, dtype=torch.long, device=device)
                for j, logits in enumerate(network.generator_logits(z, parents, condvec)):
                    cdf = np.cumsum(torch.softmax(logits.double(), dim=1).cpu().numpy(), axis=1)
                    u = rng.random(len(cdf)) * cdf[:, -1]
                    out[rows, k + j] = np.minimum((cdf < u[:, None]).sum(axis=1), cdf.shape[1] - 1)
        return out

    # -- persistence -------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        weights = {} if self.network is None else weights_to_json(self.network.modules)
        return {"name": self.name, "settings": self.settings, "cards": self.cards,
                "n_conditions": self.n_conditions, "epochs_run": self.epochs_run, "weights": weights}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> GanGenerator:
        g = cls(**s["settings"])
        g.cards, g.n_conditions, g.epochs_run = list(s["cards"]), int(s["n_conditions"]), int(s["epochs_run"])
        if s["weights"]:
            network = g._build()
            weights_from_json(network.modules, s["weights"])
            network.modules.eval()
            g.network = network.to(g._device())
        return g
