"""Masked-out (padding) atoms are never read: a NaN or inf in a padding atom
(how pipelines mark missing atoms) changes nothing — values equal those of
the system cut down to its real atoms, gradients are finite and 0 at padding
— while a non-finite value in a real atom is still an error naming it."""
import math

import pytest
import torch

import energyloss

B, N, REAL = 3, 7, 5


def padded_batch(fill):
    torch.manual_seed(4)
    ref = torch.randn(B, N, 3, dtype=torch.float64)
    pred = ref + 0.2 * torch.randn(B, N, 3, dtype=torch.float64)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[0, REAL:] = False          # system 0 has REAL atoms
    mask[2, 1] = False              # system 2 has a hole
    pred[~mask] = fill
    ref[~mask] = fill
    return pred, ref, mask


LOSSES = {
    "pair complete": lambda p, r, m: energyloss.pair_energy_loss(p, r, mask=m, reduction="none"),
    "pair edges": lambda p, r, m: energyloss.pair_energy_loss(
        p, r, mask=m, edges=torch.tensor([[0, 1], [1, 2], [0, 6], [3, 5], [2, 4]]),
        reduction="none"),
    "pair sparse": lambda p, r, m: energyloss.pair_energy_loss(
        p, r, mask=m, edges="sparse", reduction="none"),
    "pair inv2 cutoff": lambda p, r, m: energyloss.pair_energy_loss(
        p, r, mask=m, coeff="inv2", cutoff=2.0, reduction="none"),
    "mse": lambda p, r, m: energyloss.mse_loss(p, r, mask=m, reduction="none"),
    "mae": lambda p, r, m: energyloss.mae_loss(p, r, mask=m, reduction="none"),
    "kabsch": lambda p, r, m: energyloss.kabsch_mse(p, r, mask=m, reduction="none"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("fill", [math.nan, math.inf, -math.inf])
def test_padding_values_are_not_read(name, fill):
    loss = LOSSES[name]
    clean_pred, clean_ref, mask = padded_batch(0.0)
    pred, ref, _ = padded_batch(fill)
    pred.requires_grad_()
    ref.requires_grad_()
    values = loss(pred, ref, mask)
    expected = loss(clean_pred, clean_ref, mask)
    assert torch.equal(values, expected), f"{name}: {values} with padding {fill}, {expected} with 0"
    values.sum().backward()
    for grad in (pred.grad, ref.grad):
        assert torch.isfinite(grad).all()
        assert torch.all(grad[~mask] == 0)


def test_padding_matches_the_cut_down_system():
    pred, ref, mask = padded_batch(math.nan)
    values = energyloss.pair_energy_loss(pred, ref, mask=mask, reduction="none")
    alone = energyloss.pair_energy_loss(pred[0, :REAL], ref[0, :REAL], reduction="none")
    assert torch.allclose(values[0], alone, rtol=1e-12, atol=0)
    keep = mask[2]
    alone = energyloss.pair_energy_loss(pred[2, keep], ref[2, keep], reduction="none")
    assert torch.allclose(values[2], alone, rtol=1e-12, atol=0)


def test_kabsch_align_ignores_padding():
    pred, ref, mask = padded_batch(math.nan)
    aligned = energyloss.kabsch_align(pred, ref, mask=mask)
    assert torch.isfinite(aligned[mask]).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("argument", ["pred", "ref"])
def test_non_finite_real_atoms_still_raise(name, argument):
    pred, ref, mask = padded_batch(math.nan)
    bad = pred if argument == "pred" else ref
    bad[2, 3, 1] = math.nan   # a real atom
    with pytest.raises((RuntimeError, ValueError),
                       match=f"{argument} has a non-finite value \\(nan\\) at system 2, atom 3"):
        LOSSES[name](pred, ref, mask)
