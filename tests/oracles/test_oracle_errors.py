"""The per-call failure policy of the oracles (issue 14, fault 8): with
errors="raise" (the default) a batch entry the engine cannot evaluate raises
for the whole call; with errors="mask" the other entries are evaluated as
alone, the failed ones get energy +inf, zero forces, valid False and zero
gradient. Each engine gets a batch holding one overlapping pair, one NaN
and (LAMMPS, a non-periodic box) one lost atom, between good entries."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from energyloss import oracles

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INF = math.inf


def expect_masked(oracle, batch, bad):
    """errors="raise" raises; errors="mask" gives each good entry what it gets
    alone (an independent call per entry), +inf / zero forces / invalid for
    the entries in `bad`, and zero gradient for them through oracle_energy."""
    with pytest.raises(ValueError, match="batch entry"):
        oracle.evaluate(batch)
    energies, forces, valid = oracle.evaluate(batch, errors="mask")
    assert valid.dtype == torch.bool and valid.shape == (len(batch),)
    assert valid.tolist() == [b not in bad for b in range(len(batch))]
    for b in range(len(batch)):
        if b in bad:
            assert energies[b].item() == INF
            assert torch.count_nonzero(forces[b]) == 0
        else:
            alone_energy, alone_forces = oracle.evaluate(batch[b:b + 1])
            assert torch.isfinite(energies[b])
            torch.testing.assert_close(energies[b], alone_energy[0], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(forces[b], alone_forces[0], rtol=1e-12, atol=1e-9)
    # Autograd: -forces for the good entries, 0 for the failed ones even
    # when their incoming gradient is NaN or inf.
    positions = batch.clone().requires_grad_(True)
    differentiable, valid_again = oracles.oracle_energy(oracle, positions, errors="mask")
    assert torch.equal(valid_again, valid)
    assert torch.equal(differentiable.detach(), energies)
    incoming = torch.ones(len(batch), dtype=batch.dtype)
    incoming[~valid] = torch.tensor([math.nan, INF] * len(batch), dtype=batch.dtype)[:len(bad)]
    differentiable.backward(incoming)
    assert torch.isfinite(positions.grad).all()
    torch.testing.assert_close(positions.grad[valid], -forces[valid], rtol=0, atol=1e-12)
    assert torch.count_nonzero(positions.grad[~valid]) == 0
    # The usual training step: the mean over the good entries.
    positions.grad = None
    differentiable, valid = oracle.energy(positions, errors="mask")
    differentiable[valid].mean().backward()
    assert torch.count_nonzero(positions.grad[~valid]) == 0
    return energies, forces, valid


def test_errors_argument_is_checked():
    oracle = oracles.LennardJonesOracle(3)
    x = torch.tensor([[[0.0, 0, 0], [1.1, 0, 0], [0, 1.1, 0]]], dtype=torch.float64)
    with pytest.raises(ValueError, match="errors: expected 'raise' or 'mask', got 'ignore'"):
        oracle.evaluate(x, errors="ignore")
    with pytest.raises(ValueError, match="errors: expected 'raise' or 'mask'"):
        oracles.oracle_energy(oracle, x, errors=None)
    # Good batches: "mask" gives what "raise" gives, all valid.
    energies, forces = oracle.evaluate(x)
    masked = oracle.evaluate(x, errors="mask")
    assert torch.equal(masked[0], energies) and torch.equal(masked[1], forces)
    assert masked[2].tolist() == [True]
    # A single configuration [N, 3] gives a scalar validity.
    single = oracle.evaluate(x[0], errors="mask")
    assert single[0].dim() == 0 and single[2].dim() == 0 and bool(single[2])
    # Shape errors still raise under "mask".
    with pytest.raises(ValueError, match=r"expected shape \[B, 3, 3\]"):
        oracle.evaluate(torch.zeros(2, 4, 3, dtype=torch.float64), errors="mask")


def test_analytic_oracle_masks_overlap_and_nan():
    oracle = oracles.LennardJonesOracle(4, epsilon=1.0, sigma=1.0)
    good = torch.tensor([[0.0, 0, 0], [1.12, 0, 0], [0, 1.12, 0], [0, 0, 1.12]],
                        dtype=torch.float64)
    rng = np.random.default_rng(1)
    batch = torch.stack([good + torch.from_numpy(rng.normal(scale=0.02, size=(4, 3)))
                         for _ in range(5)])
    batch[1, 2] = batch[1, 0]  # overlapping pair: infinite / NaN LJ energy
    batch[3, 1, 2] = math.nan
    expect_masked(oracle, batch, bad={1, 3})
    # Every entry failed: all invalid, nothing raised.
    energies, forces, valid = oracle.evaluate(batch[[1, 3]], errors="mask")
    assert not valid.any() and (energies == INF).all() and not forces.any()


openmm = pytest.importorskip("openmm") if hasattr(torch.ops.energyloss, "openmm_oracle") else None


@pytest.mark.skipif(openmm is None, reason="this build has no OpenMM oracle")
def test_openmm_oracle_masks_overlap_and_nan(tmp_path):
    xml, positions = tmp_path / "system.xml", tmp_path / "positions.npy"
    subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "examples", "openmm",
                                                 "make_system.py"),
                    "--system-xml", str(xml), "--positions", str(positions)], check=True)
    reference = np.load(positions)
    rng = np.random.default_rng(3)
    batch = torch.from_numpy(np.stack([reference + rng.normal(scale=0.005, size=reference.shape)
                                       for _ in range(5)]))
    batch[1, 1] = batch[1, 0]  # overlapping pair
    batch[3, 4, 0] = math.nan
    oracle = oracles.OpenMMOracle(str(xml), platform="Reference", workers=2)
    expect_masked(oracle, batch, bad={1, 3})


LJ38_DECK = os.path.join(SOURCE_DIR, "examples", "bridge", "lj38_system.lmp")


@pytest.mark.skipif(not hasattr(torch.ops.energyloss, "lammps_oracle"),
                    reason="this build has no LAMMPS oracle")
@pytest.mark.parametrize("workers", [1, 2])
def test_lammps_oracle_masks_overlap_nan_and_lost_atom(workers):
    """LJ38 in a fixed (f f f) box of +-15 sigma: an atom at x = 40 is lost,
    which ends its worker; the other entries still come back."""
    oracle = oracles.LammpsOracle(LJ38_DECK, workers=workers)
    n = oracle.n_atoms
    grid = torch.tensor([[i % 4, (i // 4) % 4, i // 16] for i in range(n)], dtype=torch.float64)
    gen = torch.Generator().manual_seed(5)
    batch = 1.12 * grid + 0.03 * torch.randn(6, n, 3, generator=gen, dtype=torch.float64)
    batch[1, 5] = batch[1, 4]  # overlapping pair
    batch[2, 7, 1] = math.nan
    batch[4, 0, 0] = 40.0  # outside the non-periodic box: lost
    expect_masked(oracle, batch, bad={1, 2, 4})
    # The oracle still works afterwards, in either policy.
    energies, _ = oracle.evaluate(batch[[0, 3, 5]])
    assert torch.isfinite(energies).all()
