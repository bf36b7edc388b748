"""DP-SGD (Abadi et al. 2016) and its accountant, small enough to read in one sitting.

Why not opacus: it would be one more dependency for a network this small, and
its hooks expect one nn.Module whose forward is the model; ours is a ModuleDict
driven by plain functions. `torch.func` gives per-sample gradients directly.

- **Sampling**: each step takes every row independently with probability q
  (Poisson sampling), the setting the accountant below analyses.
- **Step**: per-sample gradients (vmap of grad over `functional_call`), each
  clipped to L2 norm C, summed, plus N(0, (sigma C)^2) noise per coordinate,
  divided by the expected batch size q n. Any optimiser may then use it
  (post-processing). Noise is drawn from the caller's numpy rng, so runs are
  reproducible and device-independent.
- **Accountant**: Renyi DP of the Poisson-subsampled Gaussian mechanism at
  integer orders alpha (Mironov, Talwar and Zhang 2019, section 3.3):
  A_alpha = sum_k C(alpha, k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 sigma^2)),
  rdp(alpha) = ln(A_alpha) / (alpha - 1); T steps compose to T rdp(alpha); the
  conversion to (epsilon, delta) is Balle et al. 2020 (Theorem 21):
  epsilon = min_alpha T rdp + ln((alpha-1)/alpha) - (ln delta + ln alpha)/(alpha - 1).
  `noise_multiplier` finds the smallest sigma whose epsilon is within target.
  Add/remove-one neighbours, as in the literature this accountant comes from.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy.special import gammaln, logsumexp

ORDERS = tuple(range(2, 257))


def rdp_subsampled_gaussian(q: float, sigma: float, alpha: int) -> float:
    """Renyi DP at integer order alpha of one step of the Poisson-subsampled Gaussian mechanism."""
    if q == 0:
        return 0.0
    if q >= 1.0:
        return alpha / (2 * sigma**2)
    k = np.arange(alpha + 1)
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    terms = log_binom + (alpha - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2 * sigma**2)
    return float(logsumexp(terms)) / (alpha - 1)


def epsilon_spent(q: float, sigma: float, steps: int, delta: float) -> float:
    """(epsilon, delta)-DP of `steps` steps of DP-SGD with sampling rate q and noise multiplier sigma."""
    if steps == 0:
        return 0.0
    best = math.inf
    for a in ORDERS:
        rdp = steps * rdp_subsampled_gaussian(q, sigma, a)
        eps = rdp + math.log((a - 1) / a) - (math.log(delta) + math.log(a)) / (a - 1)
        best = min(best, eps)
    return max(best, 0.0)


def noise_multiplier(epsilon: float, delta: float, q: float, steps: int) -> float:
    """The smallest sigma (to 1 %) such that `steps` steps at rate q are (epsilon, delta)-DP."""
    if not 0 < delta < 1:
        raise ValueError("DP-SGD needs 0 < delta < 1")
    lo, hi = 0.1, 1.0
    while epsilon_spent(q, hi, steps, delta) > epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e6:
            raise ValueError(f"no noise level reaches epsilon {epsilon}")
    while hi / lo > 1.01:
        mid = math.sqrt(lo * hi)
        if epsilon_spent(q, mid, steps, delta) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi


def private_gradients(loss_one: Callable[..., Any], params: dict[str, Any], batch: tuple[Any, ...],
                      clip: float, sigma: float, expected_batch: float,
                      rng: np.random.Generator) -> dict[str, Any]:
    """Clipped, noised mean gradient: loss_one(params, *one_row_tensors) -> scalar loss of one row."""
    import torch
    from torch.func import grad, vmap

    first = next(iter(params.values()))
    if len(batch[0]) > 0:
        per_sample = vmap(grad(loss_one), in_dims=(None,) + (0,) * len(batch))(params, *batch)
        norms = torch.sqrt(sum(g.reshape(len(g), -1).pow(2).sum(dim=1) for g in per_sample.values()))
        scale = (clip / (norms + 1e-6)).clamp(max=1.0)
        summed = {k: torch.einsum("i,i...->...", scale, g) for k, g in per_sample.items()}
    else:
        summed = {k: torch.zeros_like(p) for k, p in params.items()}
    out = {}
    for k, s in summed.items():
        noise = torch.as_tensor(rng.standard_normal(tuple(s.shape)), dtype=s.dtype, device=first.device)
        out[k] = (s + sigma * clip * noise) / expected_batch
    return out
