"""Empty batches ([0, ...]) follow torch's losses in every op: reduction
"none" gives an empty [0] tensor, "sum" gives 0 and "mean" (and "mean_pair")
NaN, as torch.nn.functional.mse_loss does; gradients are empty tensors of the
input's shape. Elementwise ops return empty outputs of the right shape."""
import math

import pytest
import torch
import torch.nn.functional as F

import energyloss

N, D = 5, 3
L = 4


def empty_positions(requires_grad=True):
    pred = torch.zeros(0, N, D, dtype=torch.float64, requires_grad=requires_grad)
    ref = torch.zeros(0, N, D, dtype=torch.float64)
    return pred, ref


def check_reductions(loss_of, reductions, grad_input):
    """`loss_of(reduction)` against torch's rule, with backward through it."""
    torch_empty = torch.zeros(0, dtype=torch.float64)
    for reduction in reductions:
        value = loss_of(reduction)
        if reduction == "none":
            assert value.shape == (0,), f"reduction none: shape {tuple(value.shape)}"
        elif reduction == "sum":
            assert value.shape == () and value.item() == 0.0
            assert F.mse_loss(torch_empty, torch_empty, reduction="sum").item() == 0.0
        else:
            assert value.shape == () and math.isnan(value.item()), f"{reduction}: {value}"
            assert math.isnan(F.mse_loss(torch_empty, torch_empty, reduction="mean").item())
        grad_input.grad = None
        value.sum().backward()
        assert grad_input.grad is not None and grad_input.grad.shape == grad_input.shape


@pytest.mark.parametrize("edges", ["complete", "sparse", "explicit", "per_system"])
@pytest.mark.parametrize("masked", [False, True])
def test_pair_energy_loss(edges, masked):
    pred, ref = empty_positions()
    mask = torch.zeros(0, N, dtype=torch.bool) if masked else None
    edge_arg = {"complete": "complete", "sparse": "sparse",
                "explicit": torch.tensor([[0, 1], [1, 2]]),
                "per_system": torch.zeros(0, 2, 2, dtype=torch.long)}[edges]
    check_reductions(
        lambda r: energyloss.pair_energy_loss(pred, ref, mask=mask, edges=edge_arg, reduction=r),
        ("none", "sum", "mean", "mean_pair"), pred)


def test_pair_energy_loss_gradient_wrt_ref():
    pred, ref = empty_positions()
    ref.requires_grad_()
    energyloss.pair_energy_loss(pred, ref).backward()
    assert ref.grad.shape == (0, N, D)


def test_pair_energy_terms():
    pred, ref = empty_positions(requires_grad=False)
    energy, atoms, pairs = energyloss.pair_energy_terms(pred, ref)
    assert energy.shape == (0,) and atoms.shape == (0, N) and pairs.shape == (0,)


@pytest.mark.parametrize("name", ["mse_loss", "mae_loss", "kabsch_mse"])
@pytest.mark.parametrize("dim", [2, 3])
def test_baselines(name, dim):
    pred = torch.zeros(0, N, dim, dtype=torch.float64, requires_grad=True)
    ref = torch.zeros(0, N, dim, dtype=torch.float64)
    loss = getattr(energyloss, name)
    check_reductions(lambda r: loss(pred, ref, reduction=r), ("none", "sum", "mean"), pred)
    masked = torch.zeros(0, N, dtype=torch.bool)
    check_reductions(lambda r: loss(pred, ref, mask=masked, reduction=r), ("none", "sum", "mean"),
                     pred)


def test_kabsch_align():
    pred, ref = empty_positions(requires_grad=False)
    assert energyloss.kabsch_align(pred, ref).shape == (0, N, D)


def test_spins():
    Jh = torch.rand(0, L, L - 1, dtype=torch.float64)
    Jv = torch.rand(0, L - 1, L, dtype=torch.float64)
    spins = torch.ones(0, L, L, dtype=torch.float64)
    logits = torch.zeros(0, L, L, dtype=torch.float64, requires_grad=True)
    assert energyloss.ising_energy(spins, Jh, Jv).shape == (0,)
    assert energyloss.local_fields(spins, Jh, Jv).shape == (0, L, L)
    ground, energy = energyloss.ising_ground_state(Jh, Jv)
    assert ground.shape == (0, L, L) and energy.shape == (0,)
    reductions = ("none", "sum", "mean")
    check_reductions(lambda r: energyloss.local_field_energy_loss(logits, spins, Jh, Jv,
                                                                  reduction=r), reductions, logits)
    check_reductions(lambda r: energyloss.spin_true_energy_loss(logits, Jh, Jv, reduction=r),
                     reductions, logits)
    check_reductions(lambda r: energyloss.spin_bce_loss(logits, spins, reduction=r), reductions,
                     logits)
    check_reductions(lambda r: energyloss.spin_margin_loss(logits, spins, reduction=r),
                     reductions, logits)


def test_diffusion():
    t = torch.zeros(0, dtype=torch.float64)
    x = torch.zeros(0, N, D, dtype=torch.float64)
    assert energyloss.x0_from_eps(x, x, t, t).shape == (0, N, D)
    assert energyloss.x0_from_velocity(x, x, t).shape == (0, N, D)
    assert energyloss.eps_weight(t, t).shape == (0,)
    assert energyloss.flow_weight(t).shape == (0,)
    alpha, sigma = energyloss.noise_schedule(t)
    assert alpha.shape == (0,) and sigma.shape == (0,)


def test_other_bad_shapes_still_raise():
    """Only the batch may be empty: systems without atoms are still refused."""
    no_atoms = torch.zeros(2, 0, D, dtype=torch.float64)
    with pytest.raises((RuntimeError, ValueError), match="no atoms"):
        energyloss.pair_energy_loss(no_atoms, no_atoms)
    with pytest.raises((RuntimeError, ValueError), match="no atoms"):
        energyloss.mse_loss(no_atoms, no_atoms)


def test_oracle_ops():
    """The oracle ops on an analytic oracle follow the same rule."""
    oracle = energyloss.LennardJonesOracle(N)
    pred, ref = empty_positions()
    assert energyloss.oracle_energy(oracle, pred).shape == (0,)
    energies, forces = oracle.evaluate(ref)
    assert energies.shape == (0,) and forces.shape == (0, N, D)
    check_reductions(lambda r: energyloss.oracles.true_energy_loss(oracle, pred, ref, 1.0, r),
                     ("none", "sum", "mean"), pred)
