"""The ops inside TorchScript: a scripted module calling
torch.ops.energyloss.pair_energy_loss, kabsch_mse and mse_loss (and a scripted
function taking a torch.classes.energyloss.Oracle) is saved with
torch.jit.save, loaded in a fresh Python process that only loads the
compiled library, and must give the eager values and gradients. A scripted
module holding oracles (torch.classes.energyloss.Oracle attributes, pickled
as their factory calls) saves and loads the same way.
"""
import os
import subprocess
import sys
import textwrap
from typing import List

import pytest
import torch

import energyloss

ops = torch.ops.energyloss


class Losses(torch.nn.Module):
    """A weighted sum of three losses on [B, N, 3] coordinates, through the
    registered ops (the Python wrappers are not TorchScript)."""

    def __init__(self):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64))

    def forward(self, pred: torch.Tensor, ref: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        pair = torch.ops.energyloss.pair_energy_loss(pred, ref, mask, "exp", None, None, 1.0,
                                                     1e-5, None, None, None, "mean")
        sparse = torch.ops.energyloss.pair_energy_loss(
            pred, ref, None, "inv", 2.0, False, 1.0, 1e-5,
            torch.tensor([[0, 1], [1, 2], [2, 3], [0, 3]]), None, None, "sum")
        kabsch = torch.ops.energyloss.kabsch_mse(pred, ref, mask, "mean")
        mse = torch.ops.energyloss.mse_loss(pred, ref, None, "sum")
        return self.weights[0] * (pair + sparse) + self.weights[1] * kabsch + self.weights[2] * mse


def inputs():
    g = torch.Generator().manual_seed(16)
    ref = torch.randn(3, 6, 3, generator=g, dtype=torch.float64)
    pred = ref + 0.3 * torch.randn(3, 6, 3, generator=g, dtype=torch.float64)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[1, 4:] = False
    return pred, ref, mask


def eager_reference(pred, ref, mask):
    """Value and gradients of the same sum through the Python API (eager)."""
    pred = pred.clone().requires_grad_(True)
    ref = ref.clone().requires_grad_(True)
    weights = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    pair = energyloss.pair_energy_loss(pred, ref, mask, reduction="mean")
    sparse = energyloss.pair_energy_loss(pred, ref, coeff="inv", k0=2.0, per_atom=False,
                                         edges=torch.tensor([[0, 1], [1, 2], [2, 3], [0, 3]]))
    kabsch = energyloss.kabsch_mse(pred, ref, mask)
    mse = energyloss.mse_loss(pred, ref, reduction="sum")
    value = weights[0] * (pair + sparse) + weights[1] * kabsch + weights[2] * mse
    value.backward()
    return value.detach(), pred.grad, ref.grad, weights.grad


def test_scripted_module_matches_eager_in_process():
    scripted = torch.jit.script(Losses())
    graph = str(scripted.graph)
    for op in ("energyloss::pair_energy_loss", "energyloss::kabsch_mse", "energyloss::mse_loss"):
        assert op in graph
    pred, ref, mask = inputs()
    pred.requires_grad_(True)
    ref.requires_grad_(True)
    value = scripted(pred, ref, mask)
    value.backward()
    expected = eager_reference(*inputs())
    torch.testing.assert_close(value.detach(), expected[0], rtol=1e-12, atol=0)
    torch.testing.assert_close(pred.grad, expected[1], rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ref.grad, expected[2], rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(scripted.weights.grad, expected[3], rtol=1e-12, atol=0)


# Run in a fresh interpreter: loads only the compiled library (no energyloss
# Python package), the saved module, and writes values and gradients.
FRESH = textwrap.dedent("""
    import sys
    import torch
    torch.ops.load_library(sys.argv[1])
    if sys.argv[2] != "-":
        torch.ops.load_library(sys.argv[2])
    module = torch.jit.load(sys.argv[3])
    pred, ref, mask = torch.load(sys.argv[4])
    pred.requires_grad_(True)
    ref.requires_grad_(True)
    value = module(pred, ref, mask)
    value.backward()
    results = {"value": value.detach(), "pred": pred.grad, "ref": ref.grad,
               "weights": module.weights.grad}
    if sys.argv[2] != "-":
        energy = torch.jit.load(sys.argv[5])
        oracle = torch.ops.energyloss.lennard_jones_oracle(6, 1.0, 1.0, None, "lj", "lj")
        x = pred.detach().clone().requires_grad_(True)
        total = energy(oracle, x)
        total.backward()
        results["oracle_value"] = total.detach()
        results["oracle_grad"] = x.grad
    torch.save(results, sys.argv[6])
""")


class OracleEnergy(torch.nn.Module):
    """Sum of an oracle's energies; the oracle is an argument (custom class)."""

    def forward(self, oracle: torch.classes.energyloss.Oracle, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.energyloss.oracle_energy(oracle, x).sum()


def library_paths():
    from energyloss import _paths

    torch_library = os.environ.get("ENERGYLOSS_TORCH_LIBRARY") or _paths.TORCH_LIBRARY
    oracles = os.path.join(os.path.dirname(torch_library), "libenergyloss_oracles_torch.so")
    return torch_library, (oracles if hasattr(ops, "oracle_energy") else "-")


def test_saved_module_loads_in_a_fresh_process_and_matches_eager(tmp_path):
    torch_library, oracles_library = library_paths()
    module_path, oracle_path = tmp_path / "losses.pt", tmp_path / "oracle_energy.pt"
    torch.jit.save(torch.jit.script(Losses()), str(module_path))
    if oracles_library != "-":
        torch.jit.save(torch.jit.script(OracleEnergy()), str(oracle_path))
    torch.save(inputs(), str(tmp_path / "inputs.pt"))
    script = tmp_path / "fresh.py"
    script.write_text(FRESH)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, str(script), torch_library, oracles_library, str(module_path),
         str(tmp_path / "inputs.pt"), str(oracle_path), str(tmp_path / "out.pt")],
        env=environment, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    results = torch.load(str(tmp_path / "out.pt"))
    value, grad_pred, grad_ref, grad_weights = eager_reference(*inputs())
    torch.testing.assert_close(results["value"], value, rtol=1e-12, atol=0)
    torch.testing.assert_close(results["pred"], grad_pred, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(results["ref"], grad_ref, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(results["weights"], grad_weights, rtol=1e-12, atol=0)
    if oracles_library != "-":
        x = inputs()[0].requires_grad_(True)
        oracle = energyloss.LennardJonesOracle(6)
        energy = oracle.energy(x).sum()
        energy.backward()
        torch.testing.assert_close(results["oracle_value"], energy.detach(), rtol=1e-12, atol=0)
        # Independent: the gradient of the energy is minus the forces.
        forces = oracle.evaluate(x.detach())[1]
        torch.testing.assert_close(results["oracle_grad"], -forces, rtol=1e-12, atol=1e-12)


class Template(torch.nn.Module):
    """The generator protocol: four atoms near a fixed template."""

    def __init__(self):
        super().__init__()
        self.n_atoms = 4
        self.length_unit = "nm"
        self.base = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                  [0.0, 0.0, 1.0]], dtype=torch.float64)

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        noise = torch.ops.energyloss.seeded_normal([n, 4, 3], seed, torch.float64)
        batch = self.base.unsqueeze(0) + 0.01 * noise
        # Kabsch-aligned onto the template: an energyloss op in the graph.
        return torch.ops.energyloss.kabsch_align(batch, self.base.expand(n, 4, 3), None)


def test_scripted_generator_protocol_runs_through_the_ops(tmp_path):
    """A TorchScript generator (the energyloss protocol: n_atoms, length_unit,
    sample(n, seed)) whose sample calls an energyloss op loads through
    energyloss.Generator, i.e. the C++ loader, which resolves the op."""
    if not hasattr(ops, "oracle_energy"):
        pytest.skip("built without the oracles")

    path = tmp_path / "generator.pt"
    scripted = torch.jit.script(Template())
    torch.jit.save(scripted, str(path))
    generator = energyloss.Generator(path)
    samples = generator.sample(3, seed=5)
    torch.testing.assert_close(samples, scripted.sample(3, 5), rtol=0, atol=0)
    assert samples.shape == (3, 4, 3)


class HeldOracles(torch.nn.Module):
    """A module holding torch.classes.energyloss.Oracle objects as attributes:
    torch.jit.save pickles each as its factory call (def_pickle)."""

    def __init__(self, oracles):
        super().__init__()
        self.lj = oracles[0]
        self.morse = oracles[1]
        self.bonds = oracles[2]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        out: List[torch.Tensor] = []
        for oracle in [self.lj, self.morse, self.bonds]:
            energy, forces = torch.ops.energyloss.oracle_evaluate(oracle, x)
            out.append(energy)
            out.append(forces)
        return out


FRESH_HELD = textwrap.dedent("""
    import sys
    import torch

    # Only the compiled libraries: the classes must be registered before load.
    torch.ops.load_library(sys.argv[1])
    torch.ops.load_library(sys.argv[2])
    module = torch.jit.load(sys.argv[3])
    torch.save(module(torch.load(sys.argv[4])), sys.argv[5])
""")


def _pair_sum(x, pair_energy, pairs=None):
    """Independent of the oracle code: energies [B] and forces [B, N, 3] of
    sum over `pairs` (default: all) of pair_energy(r), by torch autograd."""
    x = x.detach().clone().requires_grad_(True)
    i, j = pairs.T if pairs is not None else torch.triu_indices(x.shape[1], x.shape[1], 1)
    energy = pair_energy((x[:, i] - x[:, j]).norm(dim=-1)).sum(dim=1)
    (grad,) = torch.autograd.grad(energy.sum(), x)
    return energy.detach(), -grad


def test_module_holding_oracles_saves_and_loads_in_a_fresh_process(tmp_path):
    torch_library, oracles_library = library_paths()
    if oracles_library == "-":
        pytest.skip("built without the oracles")
    bonds = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    k = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    r0 = torch.full((5,), 1.1, dtype=torch.float64)
    oracles = [ops.lennard_jones_oracle(6, 1.0, 1.0, None, "lj", "lj"),
               ops.morse_oracle(6, 1.5, 1.2, 1.1, None, "lj", "lj"),
               ops.harmonic_bond_oracle(bonds, k, r0, 6, "lj", "lj")]
    module = torch.jit.script(HeldOracles(oracles))
    path = tmp_path / "held.pt"
    torch.jit.save(module, str(path))
    k.mul_(10.0)  # the saved state is a copy of the bond parameters
    x = inputs()[1] * 1.5  # spread out, so the LJ energies are moderate
    torch.save(x, str(tmp_path / "x.pt"))
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = tmp_path / "fresh_held.py"
    script.write_text(FRESH_HELD)
    completed = subprocess.run(
        [sys.executable, str(script), torch_library, oracles_library, str(path),
         str(tmp_path / "x.pt"), str(tmp_path / "held_out.pt")],
        env=environment, capture_output=True, text=True, timeout=120, cwd=str(run_dir))
    assert completed.returncode == 0, completed.stderr
    loaded = torch.load(str(tmp_path / "held_out.pt"))
    original = module(x)
    assert len(loaded) == 6
    for ours, expected in zip(loaded, original):
        torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    # Independent of the oracle code: the formulas (oracles.py docstrings).
    lj = _pair_sum(x, lambda r: 4.0 * (r ** -12 - r ** -6))
    morse = _pair_sum(x, lambda r: 1.5 * ((1 - torch.exp(-1.2 * (r - 1.1))) ** 2 - 1))
    k_bond = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    bonded = _pair_sum(x, lambda r: k_bond / 2 * (r - 1.1) ** 2, bonds)
    for ours, expected in zip(loaded, (*lj, *morse, *bonded)):
        torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)


def test_loaded_oracle_pickles_again():
    """Round trip through torch.jit.save twice (the unpickled oracle keeps its
    factory call), here in memory."""
    if not hasattr(ops, "oracle_energy"):
        pytest.skip("built without the oracles")
    import io

    oracle = ops.lennard_jones_oracle(6, 1.0, 1.0, 2.5, "lj", "lj")
    module = torch.jit.script(HeldOracles([oracle, oracle, oracle]))
    for _ in range(2):
        buffer = io.BytesIO()
        torch.jit.save(module, buffer)
        buffer.seek(0)
        module = torch.jit.load(buffer)
    x = inputs()[1] * 1.5
    torch.testing.assert_close(module(x)[0], ops.oracle_evaluate(oracle, x)[0], rtol=0, atol=0)
    assert module.lj.describe() == oracle.describe()


class HeldGenerator(torch.nn.Module):
    """A module holding a torch.classes.energyloss.Generator: torch.jit.save
    pickles it as its module file's absolute path (def_pickle)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, n: int, seed: int) -> torch.Tensor:
        return self.generator.sample(n, seed, "")


def test_module_holding_a_generator_loads_in_another_directory(tmp_path, monkeypatch):
    torch_library, oracles_library = library_paths()
    if oracles_library == "-":
        pytest.skip("built without the oracles")
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    template = torch.jit.script(Template())
    torch.jit.save(template, str(tmp_path / "here" / "generator.pt"))
    monkeypatch.chdir(tmp_path / "here")
    generator = torch.classes.energyloss.Generator("generator.pt")  # a relative path
    module = torch.jit.script(HeldGenerator(generator))
    torch.jit.save(module, str(tmp_path / "held_generator.pt"))
    script = tmp_path / "fresh_generator.py"
    script.write_text(textwrap.dedent("""
        import sys
        import torch

        torch.ops.load_library(sys.argv[1])
        torch.ops.load_library(sys.argv[2])
        module = torch.jit.load(sys.argv[3])
        torch.save(module(3, 7), sys.argv[4])
    """))
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, str(script), torch_library, oracles_library,
         str(tmp_path / "held_generator.pt"), str(tmp_path / "samples.pt")],
        env=environment, capture_output=True, text=True, timeout=120,
        cwd=str(tmp_path / "elsewhere"))
    assert completed.returncode == 0, completed.stderr
    samples = torch.load(str(tmp_path / "samples.pt"))
    # Independent: the template module itself, and the original generator.
    torch.testing.assert_close(samples, template.sample(3, 7), rtol=0, atol=0)
    torch.testing.assert_close(samples, module(3, 7), rtol=0, atol=0)


class ThroughTheWrapper(torch.nn.Module):
    """What users try first: the Python wrapper inside a scripted module."""

    def forward(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return energyloss.pair_energy_loss(pred, ref)


def test_scripting_the_python_wrapper_fails_naming_the_op():
    """torch.jit.script cannot compile energyloss.pair_energy_loss (its
    import statement); the source lines its error shows name the op to call."""
    with pytest.raises(Exception) as error:
        torch.jit.script(ThroughTheWrapper())
    message = str(error.value)
    assert "import statements aren't supported" in message
    assert "scripted code calls torch.ops.energyloss.pair_energy_loss" in message
