"""TorchScript generators each missing one attribute of the generator protocol
(n_atoms, length_unit), shared by the bad-input corpus (tests/corpus/gen_common.py)
and the oracle tests (tests/oracles/test_oracles_core.py), which differ only in
atom count and length unit. Both return zeros of shape (n, atoms, 3)."""
import torch


class NoAtoms(torch.nn.Module):
    """Has length_unit and sample(); lacks n_atoms (the loader must name it)."""

    length_unit: str
    atoms: int

    def __init__(self, atoms: int, unit: str):
        super().__init__()
        self.atoms = atoms
        self.length_unit = unit

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.atoms, 3)


class NoUnit(torch.nn.Module):
    """Has n_atoms and sample(); lacks length_unit (the loader must name it)."""

    n_atoms: int

    def __init__(self, atoms: int):
        super().__init__()
        self.n_atoms = atoms

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3)
