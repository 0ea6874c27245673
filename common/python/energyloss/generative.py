"""Diffusion generators over atom coordinates, from training to a TorchScript
file that OpenMM and LAMMPS can seed from.

- ``GraphDenoiser``: a small graph-conditioned network predicting the noise
  eps from noisy coordinates ``[B, N, 3]``, the diffusion time ``[B]``, atom
  types ``[B, N]``, pair features ``[B, N, N, F]`` and an atom mask ``[B, N]``.
  Not equivariant (raw coordinates and differences are features): train it
  with random rotations (``train`` does), the paper's GDM-aug setting.
- ``train``: the denoising loop on the sample prediction x0 = (x_t - sigma
  eps)/alpha with any per-system loss (MSE, Kabsch, energy losses), weighted
  by alpha^2/sigma^2 (so MSE on x0 is the usual eps-MSE).
- ``held_out_set`` / ``validation_losses``: a fixed noised copy of held-out
  data (rotations, noise levels and noise drawn once from a seed) and the
  model's eps-MSE and a loss's weighted value on it, for ``train``'s
  ``validate`` callback (validation curves comparable across losses).
- ``AncestralSampler``: DDPM ancestral sampling on the same schedule, driven
  by an explicit noise tensor so it is deterministic and scriptable.
- ``export_generator``: the generator protocol (``n_atoms``, ``length_unit``,
  ``elements``, ``sample(n, seed)``) as a TorchScript file whose noise comes
  from ``torch.ops.energyloss.seeded_normal`` (the same samples for the same
  seed, in any process), validated by loading it back with
  ``energyloss.Generator``.

The schedule is EDM's polynomial one (``energyloss.noise_schedule``).
Positions are in the model's normalised units (data divided by a scale);
the exported generator multiplies by the scale to give its ``length_unit``.
"""

import math
import time
from collections import namedtuple
from typing import List, Optional

import torch

from .diffusion import eps_weight, noise_schedule, x0_from_eps

__all__ = ["TimeEmbedding", "GraphDenoiser", "Batch", "AncestralSampler", "schedule",
           "random_rotations", "centre", "train", "HeldOut", "held_out_set", "validation_losses",
           "sample", "export_generator"]


class TimeEmbedding(torch.nn.Module):
    """sin/cos features ``[B, features]`` of the diffusion time t ``[B]`` in [0, 1]."""

    def __init__(self, features: int = 16):
        super().__init__()
        self.frequencies = torch.nn.Parameter(
            torch.exp(torch.linspace(0.0, math.log(1000.0), features // 2)), requires_grad=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t[:, None] * self.frequencies[None]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def schedule(t):
    """(alpha, sigma) float32 of the polynomial schedule at times ``t``."""
    alpha, sigma = noise_schedule(torch.as_tensor(t).double(), "polynomial")
    return alpha.float(), sigma.float()


def random_rotations(count, generator):
    """``[count, 3, 3]`` uniform proper rotations (QR of Gaussian matrices,
    sign-fixed, det +1) drawn with ``generator``."""
    q, r = torch.linalg.qr(torch.randn(count, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    q[torch.det(q) < 0, :, 0] *= -1
    return q.float()


def centre(x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``x`` ``[B, N, 3]`` minus the centroid of its real atoms (``mask``
    ``[B, N]`` bool, None = all real); padding atoms are set to 0."""
    if mask is None:
        return x - x.mean(dim=1, keepdim=True)
    weights = mask[..., None].to(x.dtype)
    mean = (x * weights).sum(dim=1, keepdim=True) / weights.sum(dim=1, keepdim=True)
    return (x - mean) * weights


class MessageLayer(torch.nn.Module):
    """Messages m_ij = SiLU(A h_i + B h_j + P e_ij) over all pairs, summed
    over the bonds and averaged over all atoms, update h residually."""

    def __init__(self, width: int, pair_features: int):
        super().__init__()
        self.source = torch.nn.Linear(width, width)
        self.target = torch.nn.Linear(width, width, bias=False)
        self.pair = torch.nn.Linear(pair_features, width, bias=False)
        self.update = torch.nn.Sequential(
            torch.nn.LayerNorm(3 * width), torch.nn.Linear(3 * width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width))

    def forward(self, h, pair, pair_mask, bonded, atom_count):
        messages = torch.nn.functional.silu(
            self.source(h)[:, :, None] + self.target(h)[:, None] + self.pair(pair))
        messages = messages * pair_mask[..., None]
        over_bonds = (messages * bonded[..., None]).sum(dim=2)
        over_all = messages.sum(dim=2) / atom_count[:, None, None]
        return h + self.update(torch.cat([h, over_bonds, over_all], dim=-1))


class GraphDenoiser(torch.nn.Module):
    """eps ``[B, N, 3]`` (centred over the real atoms) from noisy coordinates
    ``x_t`` ``[B, N, 3]``, times ``t`` ``[B]``, atom ``types`` ``[B, N]``
    (long, < ``num_types``), static ``pairs`` features ``[B, N, N,
    pair_features]`` and ``mask`` ``[B, N]`` (bool, False = padding).

    Pair features are the caller's (bond-order and graph-distance one-hots
    for molecules, nothing for an atomic cluster: ``pair_features`` may be
    0); ``bonded_features`` selects the columns whose sum marks a bonded pair
    (messages are summed over bonded pairs and averaged over all pairs).
    The network adds raw coordinate differences and squared distances."""

    def __init__(self, num_types: int, pair_features: int, bonded_features=(),
                 width: int = 64, layers: int = 4, time_features: int = 16):
        super().__init__()
        selector = torch.zeros(pair_features)
        selector[list(bonded_features)] = 1.0
        self.register_buffer("bonded_selector", selector)
        self.embedding = torch.nn.Embedding(num_types, width)
        self.time_embedding = TimeEmbedding(time_features)
        self.input = torch.nn.Linear(width + 3 + time_features, width)
        self.layers = torch.nn.ModuleList(
            MessageLayer(width, pair_features + 4) for _ in range(layers))
        self.head = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.SiLU(),
                                        torch.nn.Linear(width, 3))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, types: Optional[torch.Tensor],
                pairs: Optional[torch.Tensor], mask: Optional[torch.Tensor]) -> torch.Tensor:
        # Optional only to share the sampler's signature with models that
        # need no conditioning; this one needs all three.
        assert types is not None and pairs is not None and mask is not None, \
            "GraphDenoiser needs types, pairs and mask"
        atoms = x_t.shape[1]
        time = self.time_embedding(t)[:, None].expand(-1, atoms, -1)
        h = self.input(torch.cat([self.embedding(types), x_t, time], dim=-1))
        difference = x_t[:, :, None] - x_t[:, None]
        pair = torch.cat([pairs, difference, difference.pow(2).sum(-1, keepdim=True)], dim=-1)
        pair_mask = (mask[:, :, None] & mask[:, None]).to(x_t.dtype)
        pair_mask = pair_mask * (1 - torch.eye(atoms, dtype=x_t.dtype, device=x_t.device))
        bonded = pairs @ self.bonded_selector
        atom_count = mask.sum(dim=1).to(x_t.dtype)
        for layer in self.layers:
            h = layer(h, pair, pair_mask, bonded, atom_count) * mask[..., None]
        return centre(self.head(h), mask)


# A training batch: normalised positions [B, N, 3], the mask [B, N], and a
# dict with the denoiser's conditioning ("types", "pairs") and whatever the
# loss needs (per-system edges and weights).
Batch = namedtuple("Batch", ["x0", "mask", "context"])


def _denoise(model, x_t, t, batch):
    context = batch.context or {}
    return model(x_t, t, context.get("types"), context.get("pairs"), batch.mask)


def train(model, draw_batch, loss, steps, seed, lr=3e-4, progress=None, validate=None,
          validate_every=500):
    """Trains ``model`` (a ``GraphDenoiser`` or any module with its call
    signature) on ``draw_batch(generator) -> Batch``, randomly rotated here,
    with ``loss(x0_hat, batch) -> [B]`` weighted by alpha^2/sigma^2, for
    ``steps`` Adam steps at learning rate ``lr`` (seeded by ``seed``). The
    loss sees the rotated data in ``batch.x0`` and the step's noise levels
    in ``batch.context`` ("t", "alpha", "sigma", each ``[B]``), e.g. for
    ``energyloss.ForceFieldEnergyLoss``'s threshold.
    ``progress(step, mean loss since the last call)`` is called every 100
    steps and at the end. ``validate(step, model)``, if given, is called
    before the first step (step 0), after every ``validate_every``-th step
    and after the last one, e.g. with ``validation_losses`` on a
    ``held_out_set``; its time is not counted in the step time, and it must
    not draw from the training's random streams (training is then the same
    with and without it). Returns (the loss's share of the step time, the
    list of (step, mean weighted loss) pairs). Raises ValueError for
    ``validate_every`` < 1 when ``validate`` is given."""
    if validate is not None and int(validate_every) < 1:
        raise ValueError(f"train: validate_every must be >= 1, got {validate_every}")
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_seconds = step_seconds = 0.0
    curve, running, count = [], 0.0, 0
    if validate is not None:
        validate(0, model)
    for step in range(1, steps + 1):
        start = time.perf_counter()
        batch = draw_batch(generator)
        x0 = batch.x0 @ random_rotations(len(batch.x0), generator).transpose(1, 2)
        t = torch.rand(len(x0), generator=generator) * 0.999 + 0.001
        alpha, sigma = schedule(t)
        batch = batch._replace(x0=x0, context=dict(batch.context or {}, t=t, alpha=alpha,
                                                   sigma=sigma))
        eps = centre(torch.randn(x0.shape, generator=generator), batch.mask)
        x_t = alpha[:, None, None] * x0 + sigma[:, None, None] * eps
        x0_hat = x0_from_eps(x_t, _denoise(model, x_t, t, batch), alpha, sigma)
        loss_start = time.perf_counter()
        value = (eps_weight(alpha, sigma) * loss(x0_hat, batch)).mean()
        loss_seconds += time.perf_counter() - loss_start
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        step_seconds += time.perf_counter() - start
        running += float(value)
        count += 1
        if step % 100 == 0 or step == steps:
            curve.append((step, running / count))
            if progress is not None:
                progress(step, running / count)
            running, count = 0.0, 0
        if validate is not None and (step % int(validate_every) == 0 or step == steps):
            validate(step, model)
    return loss_seconds / step_seconds, curve


# A fixed noised held-out set: ``batch`` (x0 rotated, context with "t",
# "alpha", "sigma" [B]), the noisy input ``x_t`` and the noise ``eps``
# [B, N, 3] (centred over the real atoms).
HeldOut = namedtuple("HeldOut", ["batch", "x_t", "eps"])


def held_out_set(batch, times, seed):
    """A ``HeldOut`` of ``batch`` (a ``Batch`` of B held-out entries) at every
    noise level of ``times`` (``[T]``, each in (0, 1]): T * B entries,
    time-major (entries 0..B-1 at ``times[0]``, ...), each randomly rotated
    and noised with centred standard normal noise, all drawn once from
    ``seed`` in a generator of their own. Per-entry tensors of
    ``batch.context`` (leading dimension B) are repeated, others kept. The
    same (batch, times, seed) gives the same set, so every model is scored
    on identical inputs. Raises ValueError for times outside (0, 1]."""
    times = torch.as_tensor(times, dtype=torch.float32).flatten()
    if len(times) == 0 or not bool(((times > 0) & (times <= 1)).all()):
        raise ValueError(f"held_out_set: times must be a non-empty list in (0, 1], got "
                         f"{times.tolist()}")
    count, repeats = len(batch.x0), len(times)
    generator = torch.Generator().manual_seed(int(seed))
    mask = batch.mask.repeat(repeats, 1)
    x0 = batch.x0.repeat(repeats, 1, 1)
    x0 = x0 @ random_rotations(len(x0), generator).transpose(1, 2)
    eps = centre(torch.randn(x0.shape, generator=generator), mask)
    t = times.repeat_interleave(count)
    alpha, sigma = schedule(t)
    context = {key: value.repeat(repeats, *([1] * (value.dim() - 1)))
               if isinstance(value, torch.Tensor) and value.dim() > 0 and len(value) == count
               else value for key, value in (batch.context or {}).items()}
    context.update(t=t, alpha=alpha, sigma=sigma)
    x_t = alpha[:, None, None] * x0 + sigma[:, None, None] * eps
    return HeldOut(Batch(x0, mask, context), x_t, eps)


def _rows(value, rows, count):
    """``value`` sliced to ``rows`` when it is a per-entry tensor (leading
    dimension ``count``), else unchanged."""
    if isinstance(value, torch.Tensor) and value.dim() > 0 and len(value) == count:
        return value[rows]
    return value


@torch.no_grad()
def validation_losses(model, held_out, loss=None, chunk=256):
    """Scores ``model`` on a ``HeldOut`` set in chunks of ``chunk`` entries,
    without gradients. Returns {"eps_mse": mean over entries of
    sum_i |eps_hat_i - eps_i|^2 / (3 n) over the n real atoms (the
    MSE loss's training objective, comparable across losses), "loss": mean
    over entries of alpha^2/sigma^2 * ``loss(x0_hat, batch)`` (the training
    objective of ``loss``, as in ``train``; None when ``loss`` is None)}."""
    batch, count = held_out.batch, len(held_out.x_t)
    context = batch.context or {}
    eps_total = loss_total = 0.0
    for start in range(0, count, chunk):
        rows = slice(start, min(start + chunk, count))
        part = Batch(batch.x0[rows], batch.mask[rows],
                     {key: _rows(value, rows, count) for key, value in context.items()})
        alpha, sigma = part.context["alpha"], part.context["sigma"]
        x_t, eps = held_out.x_t[rows], held_out.eps[rows]
        eps_hat = _denoise(model, x_t, part.context["t"], part)
        real = part.mask[..., None].to(eps.dtype)
        eps_total += float(((eps_hat - eps).pow(2) * real).sum(dim=(1, 2)).div(
            3 * real.sum(dim=(1, 2))).sum())
        if loss is not None:
            x0_hat = x0_from_eps(x_t, eps_hat, alpha, sigma)
            loss_total += float((eps_weight(alpha, sigma) * loss(x0_hat, part)).sum())
    return {"eps_mse": eps_total / count, "loss": loss_total / count if loss is not None else None}


class AncestralSampler(torch.nn.Module):
    """DDPM ancestral sampling with ``steps`` steps from t = 1 to 0 on the
    training schedule, every random draw taken from an explicit ``noise``
    tensor ``[steps, B, N, 3]`` (standard normal; slice 0 starts the chain,
    slice k is step k's fresh noise), so the samples are a pure function of
    the noise. Near t = 1, alpha is ~3e-3 and x0 = (x_t - sigma eps)/alpha
    amplifies the model's error ~300-fold, so x0 is clipped to ``[-clip,
    clip]`` (DDPM's clip_denoised), in the data's normalised units. Returns
    the final x0 ``[B, N, 3]``, centred over the real atoms."""

    def __init__(self, denoiser: torch.nn.Module, steps: int, clip: float):
        super().__init__()
        if steps < 1:
            raise ValueError(f"AncestralSampler: steps must be >= 1, got {steps}")
        if not clip > 0:
            raise ValueError(f"AncestralSampler: clip must be > 0, got {clip}")
        self.denoiser = denoiser
        self.steps = int(steps)
        self.clip = float(clip)
        times = torch.linspace(1.0, 0.0, steps + 1)
        alpha, sigma = schedule(times)
        self.register_buffer("times", times)
        self.register_buffer("alpha", alpha)
        self.register_buffer("sigma", sigma)

    def forward(self, noise: torch.Tensor, types: Optional[torch.Tensor],
                pairs: Optional[torch.Tensor], mask: Optional[torch.Tensor]) -> torch.Tensor:
        count = noise.shape[1]
        x = centre(noise[0], mask)
        x0_hat = x
        for k in range(self.steps):
            t = self.times[k].expand(count)
            alpha_t, sigma_t = self.alpha[k], self.sigma[k]
            eps = self.denoiser(x, t, types, pairs, mask)
            x0_hat = ((x - sigma_t * eps) / alpha_t).clamp(-self.clip, self.clip)
            if k + 1 == self.steps:
                break
            alpha_s, sigma_s = self.alpha[k + 1], self.sigma[k + 1]
            alpha_ts = alpha_t / alpha_s
            sigma2_ts = sigma_t * sigma_t - alpha_ts * alpha_ts * sigma_s * sigma_s
            mean = (alpha_ts * sigma_s * sigma_s / (sigma_t * sigma_t)) * x + \
                   (alpha_s * sigma2_ts / (sigma_t * sigma_t)) * x0_hat
            std = torch.sqrt(sigma2_ts * sigma_s * sigma_s / (sigma_t * sigma_t))
            x = mean + std * centre(noise[k + 1], mask)
        return centre(x0_hat, mask)


@torch.no_grad()
def sample(model, batch, seed, clip, steps=200):
    """Samples ``[B, N, 3]`` (normalised units) of ``batch``'s shape, mask and
    conditioning (``batch.context`` "types" and "pairs", or None for a
    model that ignores them) by ``AncestralSampler`` with ``steps`` steps and
    noise from ``energyloss.seeded_normal`` (a function of ``seed`` only)."""
    count, atoms = batch.x0.shape[:2]
    noise = torch.ops.energyloss.seeded_normal([steps, count, atoms, 3], seed, torch.float32)
    context = batch.context or {}
    return AncestralSampler(model, steps, clip)(noise, context.get("types"), context.get("pairs"),
                                                batch.mask)


class ProtocolGenerator(torch.nn.Module):
    """A trained sampler behind the generator protocol (see
    energyloss/generator.h): ``sample(n, seed)`` -> ``[n, n_atoms, 3]``
    float64 in ``length_unit``, a pure function of (n, seed)."""

    n_atoms: int
    length_unit: str
    elements: List[str]

    def __init__(self, sampler: AncestralSampler, types: torch.Tensor, pairs: torch.Tensor,
                 scale: float, length_unit: str, elements: List[str]):
        super().__init__()
        self.sampler = sampler
        self.register_buffer("types", types.long())
        self.register_buffer("pairs", pairs.float())
        self.scale = float(scale)
        self.n_atoms = int(types.shape[0])
        self.length_unit = length_unit
        self.elements = list(elements)

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        noise = torch.ops.energyloss.seeded_normal([self.sampler.steps, n, self.n_atoms, 3],
                                                   seed, torch.float32)
        mask = torch.ones(n, self.n_atoms, dtype=torch.bool)
        types = self.types[None].expand(n, -1)
        pairs = self.pairs[None].expand(n, -1, -1, -1)
        with torch.no_grad():
            x = self.sampler(noise, types, pairs, mask)
        return x.double() * self.scale


def export_generator(path, denoiser, types, pairs, scale, length_unit, elements=(),
                     sampling_steps=200, clip=None):
    """Writes ``denoiser`` (a trained ``GraphDenoiser``) as a generator file
    following the protocol and validates it by loading it back with
    ``energyloss.Generator`` (which raises ValueError naming the problem).

    ``types`` ``[N]`` and ``pairs`` ``[N, N, F]`` are the system's
    conditioning; ``scale`` converts the model's normalised units to
    ``length_unit`` ("nm", "angstrom" or "lj"); ``clip`` (normalised units,
    default 4) bounds x0 during sampling. Returns the loaded
    ``energyloss.Generator``."""
    from .oracles import Generator
    if length_unit not in ("nm", "angstrom", "lj"):
        raise ValueError(f"export_generator: length_unit must be 'nm', 'angstrom' or 'lj', "
                         f"got {length_unit!r}")
    elements = list(elements)
    if elements and len(elements) != len(types):
        raise ValueError(f"export_generator: {len(elements)} elements for {len(types)} atoms")
    sampler = AncestralSampler(denoiser, sampling_steps, 4.0 if clip is None else clip)
    module = ProtocolGenerator(sampler.eval(), torch.as_tensor(types), torch.as_tensor(pairs),
                               scale, length_unit, elements)
    torch.jit.script(module).save(str(path))
    return Generator(path)
