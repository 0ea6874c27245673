"""The coefficient presets equal the paper's reference code: k(r) = 24/N e^{-r},
3.7/N / (r + 1e-5), 9/N / (r^2 + 1e-5), and the loss is the sum over ordered
pairs i != j of 1/2 k (d - d0)^2, halved (each unordered pair counted once),
with N the system's real atom count. Written here from dense distance
matrices, independently of the kernels."""
import pytest
import torch

import energyloss

PRESETS = {
    "exp": lambda r, n: 24.0 / n * torch.exp(-r),
    "inv": lambda r, n: 3.7 / n / (r + 1e-5),
    "inv2": lambda r, n: 9.0 / n / (r * r + 1e-5),
}


def reference_code_loss(pred, ref, k_of, eps_scale=1.0):
    """Per system: 1/2 * sum_{i != j} 1/2 k(d0_ij) (d_ij - d0_ij)^2 (ordered pairs, halved)."""
    losses = []
    for p, y in zip(pred, ref):
        n = p.shape[0]
        d0 = torch.cdist(y, y)
        d = torch.cdist(p, p)
        off_diagonal = ~torch.eye(n, dtype=torch.bool)
        k = k_of(d0, n)
        terms = 0.5 * k * (d - d0) ** 2
        losses.append(0.5 * terms[off_diagonal].sum())
    return torch.stack(losses)


def random_batch(n, seed, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    ref = scale * torch.randn(4, n, 3, dtype=torch.float64, generator=generator)
    pred = ref + 0.3 * scale * torch.randn(4, n, 3, dtype=torch.float64, generator=generator)
    return pred, ref


@pytest.mark.parametrize("mode", sorted(PRESETS))
@pytest.mark.parametrize("n, scale", [(6, 1.0), (17, 0.3), (40, 2.0)])
def test_preset_equals_reference_code(mode, n, scale):
    pred, ref = random_batch(n, seed=n, scale=scale)
    ours = energyloss.pair_energy_loss(pred, ref, coeff=mode, reduction="none")
    expected = reference_code_loss(pred, ref, PRESETS[mode])
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("mode", ["inv", "inv2"])
def test_the_check_tells_eps_apart(mode):
    """The old eps = 1e-3 is distinguishable at this tolerance (inv2 by ~%)."""
    pred, ref = random_batch(17, seed=3, scale=0.3)
    old = {"inv": lambda r, n: 3.7 / n / (r + 1e-3),
           "inv2": lambda r, n: 9.0 / n / (r * r + 1e-3)}[mode]
    ours = energyloss.pair_energy_loss(pred, ref, coeff=mode, reduction="none")
    with_old_eps = reference_code_loss(pred, ref, old)
    assert ((ours - with_old_eps).abs() / ours).max() > 1e-4


def test_masked_systems_use_their_real_atom_count():
    pred, ref = random_batch(9, seed=5)
    mask = torch.ones(4, 9, dtype=torch.bool)
    mask[1, 6:] = False
    for mode, k_of in PRESETS.items():
        ours = energyloss.pair_energy_loss(pred, ref, mask=mask, coeff=mode, reduction="none")
        expected = reference_code_loss(pred[1:2, :6], ref[1:2, :6], k_of)
        torch.testing.assert_close(ours[1:2], expected, rtol=1e-12, atol=0)


def test_single_precision_defaults_match():
    pred, ref = random_batch(12, seed=8)
    for mode, k_of in PRESETS.items():
        ours = energyloss.pair_energy_loss(pred.float(), ref.float(), coeff=mode, reduction="none")
        expected = reference_code_loss(pred, ref, k_of)
        torch.testing.assert_close(ours.double(), expected, rtol=2e-4, atol=0)
