"""A saved TorchScript module holding an oracle or a generator stores the
paths of the files they were made from (made absolute), not the files: at
torch.jit.load the files must still be there, in any working directory, and
a missing one is a ValueError naming its absolute path (README: Devices,
TorchScript and data-parallel training)."""
import os
import shutil

import pytest
import torch

import energyloss

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data")


class Noisy(torch.nn.Module):
    """The README's generator: a reference plus seeded Gaussian noise."""
    n_atoms: int
    length_unit: str

    def __init__(self, ref):
        super().__init__()
        self.ref, self.n_atoms, self.length_unit = ref, ref.shape[0], "angstrom"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        eps = torch.ops.energyloss.seeded_normal([n, self.n_atoms, 3], seed, torch.float64)
        return self.ref + 0.01 * eps


class Held(torch.nn.Module):
    """Samples from the generator, scored by the oracle's true energy loss."""

    def __init__(self, oracle, generator):
        super().__init__()
        self.oracle, self.generator = oracle, generator

    def forward(self, n: int, seed: int) -> torch.Tensor:
        x = self.generator.sample(n, seed, "angstrom")
        ref = self.generator.sample(1, 0, "angstrom").expand(n, -1, -1)
        return torch.ops.energyloss.true_energy_loss(self.oracle, x, ref, 0.6, "none")


@pytest.fixture
def saved(tmp_path, monkeypatch):
    try:
        torch.ops.energyloss.rdkit_mmff_oracle
    except (AttributeError, RuntimeError):
        pytest.skip("built without RDKit (ENERGYLOSS_WITH_RDKIT)")
    here = tmp_path / "here"
    here.mkdir()
    shutil.copy(os.path.join(DATA, "ligand.sdf"), here / "ligand.sdf")
    monkeypatch.chdir(here)
    oracle = energyloss.MMFFOracle("ligand.sdf", workers=1)  # relative paths
    ref = torch.zeros(oracle.n_atoms, 3, dtype=torch.float64)
    ref[:, 0] = 2.0 * torch.arange(oracle.n_atoms)  # atoms 2 A apart on a line
    torch.jit.script(Noisy(ref)).save("gen.pt")
    generator = torch.classes.energyloss.Generator("gen.pt")
    module = torch.jit.script(Held(oracle.handle, generator))
    torch.jit.save(module, str(tmp_path / "held.pt"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path, module


def test_loads_in_another_directory(saved):
    tmp_path, module = saved
    loaded = torch.jit.load(str(tmp_path / "held.pt"))
    torch.testing.assert_close(loaded(3, 7), module(3, 7), rtol=0, atol=0)


@pytest.mark.parametrize("missing", ["ligand.sdf", "gen.pt"])
def test_missing_file_named_at_load(saved, missing):
    tmp_path, _ = saved
    path = tmp_path / "here" / missing
    os.remove(path)
    with pytest.raises(ValueError, match=str(path).replace(".", "[.]")):
        torch.jit.load(str(tmp_path / "held.pt"))
