"""The ops inside TorchScript: a scripted module calling
torch.ops.energyloss.pair_energy_loss, kabsch_mse and mse_loss (and a scripted
function taking a torch.classes.energyloss.Oracle) is saved with
torch.jit.save, loaded in a fresh Python process that only loads the
compiled library, and must give the eager values and gradients.
"""
import os
import subprocess
import sys
import textwrap

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


def test_scripted_generator_protocol_runs_through_the_ops(tmp_path):
    """A TorchScript generator (the energyloss protocol: n_atoms, length_unit,
    sample(n, seed)) whose sample calls an energyloss op loads through
    energyloss.Generator, i.e. the C++ loader, which resolves the op."""
    if not hasattr(ops, "oracle_energy"):
        pytest.skip("built without the oracles")

    class Shaped(torch.nn.Module):
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

    path = tmp_path / "generator.pt"
    scripted = torch.jit.script(Shaped())
    torch.jit.save(scripted, str(path))
    generator = energyloss.Generator(path)
    samples = generator.sample(3, seed=5)
    torch.testing.assert_close(samples, scripted.sample(3, 5), rtol=0, atol=0)
    assert samples.shape == (3, 4, 3)
