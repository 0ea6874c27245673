r"""Seeded noise for TorchScript: a counter-based standard-normal sampler.

``seeded_normal(shape, seed)`` draws standard normals from Philox4x32-10
(Salmon et al., SC'11; Random123) and Box-Muller. Flat (row-major) element
``i`` is a pure function of ``(seed, i)``: the same on every platform and
thread count, independent of torch's global RNG state, and independent of
the shape (``seeded_normal([2, 3], s).flatten()`` equals
``seeded_normal([10], s)[:6]``).

It is registered as ``torch.ops.energyloss.seeded_normal`` (once ``energyloss``
is imported), so TorchScript code can call it; Debian's TorchScript has no
``torch.Generator``. A generator's ``sample(n, seed)`` written with it gives the
same samples for the same seed in Python, in C++ (``energyloss::Generator``),
in OpenMM (``openmmenergyloss.seed``) and in LAMMPS (``seed_atoms``)::

    import torch, energyloss  # registers the op before scripting

    class Noisy(torch.nn.Module):
        n_atoms: int
        length_unit: str
        def __init__(self, ref):  # ref: [N, 3] in nm
            super().__init__()
            self.ref, self.n_atoms, self.length_unit = ref, ref.shape[0], "nm"
        @torch.jit.export
        def sample(self, n: int, seed: int) -> torch.Tensor:
            eps = torch.ops.energyloss.seeded_normal([n, self.n_atoms, 3], seed, torch.float64)
            return self.ref + 0.01 * eps

    torch.jit.save(torch.jit.script(Noisy(torch.zeros(5, 3, dtype=torch.float64))), "gen.pt")

Element ``i`` lies in Philox block ``b = i // 4`` with counter
``(b mod 2^32, b >> 32, 0, 0)`` and key ``(seed mod 2^32, (seed mod 2^64) >> 32)``;
the block's words ``w0..w3`` give ``u = (w + 0.5) / 2^32`` and two Box-Muller
pairs ``(w0, w1) -> elements 4b, 4b+1`` and ``(w2, w3) -> 4b+2, 4b+3``:
``sqrt(-2 ln u_first) * (cos, sin)(2 pi u_second)``. Values are computed in
float64; float32 output is that rounded.
"""
from typing import List

import torch

from ._library import ops  # noqa: F401  (registers torch.ops.energyloss)

__all__ = ["seeded_normal"]


def seeded_normal(shape: List[int], seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normals of the given ``shape`` (CPU), reproducible per ``seed``.

    Args:
        shape: sizes, each >= 0 (outside TorchScript an int is a 1-d shape).
        seed: any int64; equal seeds give equal values, different seeds
            independent streams.
        dtype: ``torch.float64`` (default) or ``torch.float32``.

    Returns:
        A new tensor ``[*shape]`` on the CPU; flat element ``i`` depends only on
        ``(seed, i)`` (see the module docstring for the exact formula).

    Raises:
        ValueError: a negative size or another dtype (the message names it).

    Scriptable: inside ``torch.jit.script`` this is
    ``torch.ops.energyloss.seeded_normal(shape, seed, dtype)``.
    """
    if torch.jit.is_scripting():
        return torch.ops.energyloss.seeded_normal(shape, seed, dtype)
    return _eager_seeded_normal(shape, seed, dtype)


@torch.jit.unused
def _eager_seeded_normal(shape: List[int], seed: int, dtype: torch.dtype) -> torch.Tensor:
    """seeded_normal's Python-only conveniences: an int shape, a clear dtype error."""
    if isinstance(shape, int):
        shape = [shape]
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"energyloss: seeded_normal: dtype must be torch.float32 or torch.float64, "
                         f"got {dtype!r}")
    return torch.ops.energyloss.seeded_normal(shape, seed, dtype)
