"""Writes a generator that breaks the protocol: it claims 32 atoms but its
sample returns 2 coordinates per atom. seed_atoms must reject it by name.

Usage: make_broken_generator.py OUTPUT.pt
"""
import sys

import torch


class FlatGenerator(torch.nn.Module):
    n_atoms: int
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms = 32
        self.length_unit = "lj"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 2, dtype=torch.float64)


torch.jit.save(torch.jit.script(FlatGenerator()), sys.argv[1])
