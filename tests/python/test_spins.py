"""Spin ops through Python against independent torch formulas and brute force."""
import itertools

import pytest
import torch
import torch.nn.functional as F

import energyloss
from energyloss import spins as spin_module


def random_couplings(batch, side, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    Jh = torch.rand(batch, side, side - 1, generator=generator, dtype=dtype) * 2 - 1
    Jv = torch.rand(batch, side - 1, side, generator=generator, dtype=dtype) * 2 - 1
    return Jh, Jv


def random_spins(batch, side, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (batch, side, side), generator=generator).to(dtype) * 2 - 1


def naive_fields(y, Jh, Jv):
    """h_i = sum_j J_ij y_j by explicit neighbour loops."""
    batch, side, _ = y.shape
    h = torch.zeros_like(y)
    for b, r, c in itertools.product(range(batch), range(side), range(side)):
        if c + 1 < side:
            h[b, r, c] += Jh[b, r, c] * y[b, r, c + 1]
        if c > 0:
            h[b, r, c] += Jh[b, r, c - 1] * y[b, r, c - 1]
        if r + 1 < side:
            h[b, r, c] += Jv[b, r, c] * y[b, r + 1, c]
        if r > 0:
            h[b, r, c] += Jv[b, r - 1, c] * y[b, r - 1, c]
    return h


def naive_energy(y, Jh, Jv):
    """-sum over bonds, written with shifted slices (each bond once)."""
    horizontal = (Jh * y[:, :, :-1] * y[:, :, 1:]).sum(dim=(1, 2))
    vertical = (Jv * y[:, :-1, :] * y[:, 1:, :]).sum(dim=(1, 2))
    return -(horizontal + vertical)


def entropy(logits):
    q = torch.sigmoid(logits)
    return -(q * torch.log(q) + (1 - q) * torch.log(1 - q)).sum(dim=(1, 2))


def naive_local_field_loss(logits, y, Jh, Jv, temperature, h0):
    weights = y * naive_fields(y, Jh, Jv) + h0
    m = torch.tanh(logits / 2)
    return (weights * (1 - y * m) / 2).sum(dim=(1, 2)) - temperature * entropy(logits)


def test_all_names_exported():
    for name in spin_module.__all__:
        assert getattr(energyloss, name) is getattr(spin_module, name)
        assert getattr(spin_module, name).__doc__


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("side", [1, 2, 5])
def test_energy_and_fields_match_naive_loops(dtype, side):
    Jh, Jv = random_couplings(3, side, dtype)
    m = torch.rand(3, side, side, dtype=dtype) * 2 - 1
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    energy = energyloss.ising_energy(m, Jh, Jv)
    fields = energyloss.local_fields(m, Jh, Jv)
    assert energy.shape == (3,) and energy.dtype == dtype
    torch.testing.assert_close(energy, naive_energy(m, Jh, Jv), atol=tolerance, rtol=tolerance)
    torch.testing.assert_close(fields, naive_fields(m, Jh, Jv), atol=tolerance, rtol=tolerance)
    # E = -1/2 sum_i y_i h_i(y) ties the two together.
    torch.testing.assert_close(energy, -0.5 * (m * fields).sum(dim=(1, 2)), atol=tolerance,
                               rtol=tolerance)


def test_energy_and_fields_gradients():
    Jh, Jv = random_couplings(2, 4)
    m = (torch.rand(2, 4, 4, dtype=torch.float64) * 2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(lambda y: energyloss.ising_energy(y, Jh, Jv), (m,))
    energyloss.ising_energy(m, Jh, Jv).sum().backward()
    torch.testing.assert_close(m.grad, -naive_fields(m.detach(), Jh, Jv))
    assert torch.autograd.gradcheck(lambda y: energyloss.local_fields(y, Jh, Jv), (m,))
    assert torch.autograd.gradgradcheck(lambda y: energyloss.local_fields(y, Jh, Jv), (m,))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_equals_torch(reduction):
    logits = (torch.randn(4, 5, 5, dtype=torch.float64) * 3).requires_grad_()
    target = random_spins(4, 5)
    ours = energyloss.spin_bce_loss(logits, target, reduction=reduction)
    per_system = F.binary_cross_entropy_with_logits(logits, (target + 1) / 2,
                                                    reduction="none").sum(dim=(1, 2))
    expected = {"none": per_system, "sum": per_system.sum(), "mean": per_system.mean()}[reduction]
    torch.testing.assert_close(ours, expected)
    (grad,) = torch.autograd.grad(ours.sum(), logits)
    (expected_grad,) = torch.autograd.grad(expected.sum(), logits)
    torch.testing.assert_close(grad, expected_grad)


def test_bce_accepts_any_site_shape():
    logits = torch.randn(3, 7, dtype=torch.float32)
    target = random_spins(3, 7, torch.float32)[:, 0, :]
    expected = F.binary_cross_entropy_with_logits(logits, (target + 1) / 2, reduction="sum")
    torch.testing.assert_close(energyloss.spin_bce_loss(logits, target), expected)


def test_margin_equals_naive_formula():
    logits = (torch.randn(3, 4, 4, dtype=torch.float64) * 2).requires_grad_()
    target = random_spins(3, 4)
    for margin in (1.0, 0.3):
        ours = energyloss.spin_margin_loss(logits, target, margin=margin, reduction="none")
        expected = torch.clamp(margin - target * logits, min=0).sum(dim=(1, 2))
        torch.testing.assert_close(ours, expected)
        (grad,) = torch.autograd.grad(ours.sum(), logits)
        torch.testing.assert_close(grad, -target * (margin - target * logits.detach() > 0))
    torch.testing.assert_close(energyloss.spin_margin_loss(logits, target),
                               energyloss.spin_margin_loss(logits, target, 1.0, "sum"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_local_field_loss_equals_naive_formula(dtype):
    Jh, Jv = random_couplings(3, 4, dtype)
    target = random_spins(3, 4, dtype)
    logits = (torch.randn(3, 4, 4, dtype=dtype) * 3).requires_grad_()
    for temperature, h0 in ((0.1, 4.5), (0.7, 0.0), (0.0, 1.0)):
        ours = energyloss.local_field_energy_loss(logits, target, Jh, Jv, temperature, h0,
                                                  reduction="none")
        expected = naive_local_field_loss(logits, target, Jh, Jv, temperature, h0)
        tolerance = 1e-4 if dtype == torch.float32 else 1e-10
        torch.testing.assert_close(ours, expected, atol=tolerance, rtol=tolerance)
        (grad,) = torch.autograd.grad(ours.sum(), logits)
        (expected_grad,) = torch.autograd.grad(expected.sum(), logits)
        torch.testing.assert_close(grad, expected_grad, atol=tolerance, rtol=tolerance)
    # Documented defaults: T = 0.1, h0 = 4.5, reduction "sum".
    torch.testing.assert_close(
        energyloss.local_field_energy_loss(logits, target, Jh, Jv),
        naive_local_field_loss(logits, target, Jh, Jv, 0.1, 4.5).sum(), atol=1e-4, rtol=1e-4)


def test_local_field_loss_gradcheck_and_large_logits():
    Jh, Jv = random_couplings(2, 3)
    target = random_spins(2, 3)
    logits = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: energyloss.local_field_energy_loss(z, target, Jh, Jv, 0.3, 2.0, "none"),
        (logits,))
    huge = (target * 1e4).requires_grad_()
    loss = energyloss.local_field_energy_loss(huge, target, Jh, Jv, 0.1, 4.5)
    loss.backward()
    assert torch.isfinite(loss) and abs(loss.item()) < 1e-9
    assert torch.isfinite(huge.grad).all()


def test_true_energy_loss_equals_mean_field_free_energy():
    Jh, Jv = random_couplings(2, 5)
    logits = (torch.randn(2, 5, 5, dtype=torch.float64) * 2).requires_grad_()
    ours = energyloss.spin_true_energy_loss(logits, Jh, Jv, temperature=0.2, reduction="none")
    expected = naive_energy(torch.tanh(logits / 2), Jh, Jv) - 0.2 * entropy(logits)
    torch.testing.assert_close(ours, expected)
    (grad,) = torch.autograd.grad(ours.sum(), logits)
    (expected_grad,) = torch.autograd.grad(expected.sum(), logits)
    torch.testing.assert_close(grad, expected_grad)


def brute_force(Jh, Jv):
    """Minimum energy over all 2^(L^2) configurations, vectorised per instance."""
    side = Jh.shape[1]
    n = side * side
    codes = torch.arange(2 ** n)
    configs = ((codes[:, None] >> torch.arange(n)) & 1).to(Jh.dtype) * 2 - 1
    configs = configs.reshape(-1, side, side)
    return torch.stack([
        naive_energy(configs, Jh[b].expand(len(configs), -1, -1),
                     Jv[b].expand(len(configs), -1, -1)).min()
        for b in range(Jh.shape[0])
    ])


@pytest.mark.parametrize("side", [1, 2, 3, 4])
def test_ground_state_equals_brute_force(side):
    Jh, Jv = random_couplings(5, side, seed=side)
    spins, energy = energyloss.ising_ground_state(Jh, Jv)
    assert spins.shape == (5, side, side) and energy.shape == (5,)
    assert set(spins.unique().tolist()) <= {-1.0, 1.0}
    torch.testing.assert_close(energy, brute_force(Jh, Jv))
    torch.testing.assert_close(energyloss.ising_energy(spins, Jh, Jv), energy)
    # A ground state is stable against every single flip.
    assert (spins * energyloss.local_fields(spins, Jh, Jv) >= -1e-12).all()


def test_ground_state_batch_order_and_dtype():
    Jh, Jv = random_couplings(5, 8, seed=3)
    spins, energy = energyloss.ising_ground_state(Jh, Jv)
    order = torch.tensor([3, 0, 4, 2, 1])
    spins_permuted, energy_permuted = energyloss.ising_ground_state(Jh[order], Jv[order])
    assert torch.equal(spins_permuted, spins[order])
    assert torch.equal(energy_permuted, energy[order])
    spins32, energy32 = energyloss.ising_ground_state(Jh.float(), Jv.float())
    assert energy32.dtype == torch.float32
    torch.testing.assert_close(energy32.double(), energy, atol=1e-4, rtol=0)


def test_training_on_ground_states_recovers_them_with_small_h0():
    Jh, Jv = random_couplings(4, 5, seed=7)
    target, _ = energyloss.ising_ground_state(Jh, Jv)
    logits = torch.randn(4, 5, 5, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([logits], lr=0.1)
    for _ in range(300):
        optimiser.zero_grad()
        energyloss.local_field_energy_loss(logits, target, Jh, Jv, 0.1, 0.1).backward()
        optimiser.step()
    assert torch.equal(torch.sign(logits.detach()), target)


def test_second_derivative_is_refused():
    logits = torch.randn(1, 3, 3, dtype=torch.float64, requires_grad=True)
    loss = energyloss.spin_bce_loss(logits, random_spins(1, 3))
    # Raised inside the autograd engine, which may rewrap the error.
    with pytest.raises((RuntimeError, ValueError), match="second derivatives"):
        torch.autograd.grad(loss, logits, create_graph=True)


def expect_error(match, function, *args, **kwargs):
    # energyloss::Error is a std::invalid_argument, which torch raises as ValueError.
    with pytest.raises(ValueError, match=match):
        function(*args, **kwargs)


def test_bad_input_raises_naming_the_argument():
    Jh, Jv = random_couplings(2, 4)
    target = random_spins(2, 4)
    logits = torch.randn(2, 4, 4, dtype=torch.float64)
    lf = energyloss.local_field_energy_loss

    expect_error("Jh: expected shape", energyloss.ising_energy, target, Jh[:, :, :2], Jv)
    expect_error("Jv: expected shape", energyloss.ising_energy, target, Jh, Jv[:1])
    expect_error("spins: expected shape", energyloss.local_fields, target[:, :3], Jh, Jv)
    expect_error("target has shape", lf, logits, target[:1], Jh, Jv)
    expect_error("Jh has dtype", lf, logits, target, Jh.float(), Jv)
    expect_error("target has dtype", energyloss.spin_bce_loss, logits, target.float())
    expect_error("logits: expected float32 or float64", energyloss.spin_margin_loss,
                 logits.long(), target)
    expect_error("Jv: expected shape", energyloss.ising_ground_state, Jh, Jh)
    expect_error("Jh: expected shape", energyloss.ising_ground_state, Jv, Jv)
    expect_error("Jh: expected shape", energyloss.ising_ground_state, Jh[0], Jv[0])

    bad = Jh.clone()
    bad[1, 2, 0] = float("nan")
    expect_error(r"Jh has a non-finite value \(nan\) at \[1, 2, 0\]", lf, logits, target, bad, Jv)
    bad = Jv.clone()
    bad[0, 0, 3] = float("inf")
    expect_error("Jv has a non-finite value", energyloss.ising_ground_state, Jh, bad)
    bad = logits.clone()
    bad[1, 3, 3] = float("nan")
    expect_error("logits has a non-finite value", energyloss.spin_true_energy_loss, bad, Jh, Jv)
    expect_error("logits has a non-finite value", energyloss.spin_bce_loss, bad, target)

    bad = target.clone()
    bad[0, 1, 1] = 0.0
    expect_error(r"target must hold spins \+1 or -1, got 0 at \[0, 1, 1\]", lf, logits, bad, Jh,
                 Jv)
    expect_error("target must hold spins", energyloss.spin_bce_loss, logits, bad)
    expect_error("target must hold spins", energyloss.spin_margin_loss, logits, bad)

    expect_error("temperature", lf, logits, target, Jh, Jv, temperature=-1.0)
    expect_error("h0", lf, logits, target, Jh, Jv, h0=float("nan"))
    expect_error("reduction", lf, logits, target, Jh, Jv, reduction="average")
    expect_error("margin", energyloss.spin_margin_loss, logits, target, margin=float("inf"))
    big_h, big_v = random_couplings(1, 23)
    expect_error("exceeds the supported maximum", energyloss.ising_ground_state, big_h, big_v)
    # An empty batch is valid (torch's rule, see test_empty_batch.py).
    empty = torch.zeros(0, 4, 4, dtype=torch.float64)
    assert energyloss.ising_energy(empty, Jh[:0], Jv[:0]).shape == (0,)
