"""Baseline losses against torch.nn.functional, an independent torch Kabsch and
finite differences."""
import math

import pytest
import torch
import torch.nn.functional as F

import energyloss

ERRORS = (ValueError, RuntimeError)  # how torch surfaces energyloss::Error


def random_rotation(dim, generator, dtype=torch.float64):
    """Uniform proper rotation from the QR of a Gaussian matrix."""
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=dtype))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def reference_kabsch_mse(pred, ref):
    """Kabsch MSE of one unpadded [n, d] system, written independently with torch.linalg."""
    p = pred - pred.mean(0)
    y = ref - ref.mean(0)
    # Rotation R maximising tr(Y^T P R^T): from the SVD of P^T Y.
    u, _, vh = torch.linalg.svd(p.T @ y)
    d = torch.ones(p.shape[1], dtype=p.dtype)
    d[-1] = torch.sign(torch.det(vh.T @ u.T))
    rotation = vh.T @ torch.diag(d) @ u.T
    return ((p @ rotation.T - y) ** 2).mean()


def padded_batch(dim, generator, dtype=torch.float64):
    """A [3, 7, dim] batch with systems of 7, 4 and 5 real atoms."""
    pred = torch.randn(3, 7, dim, generator=generator, dtype=dtype)
    ref = torch.randn(3, 7, dim, generator=generator, dtype=dtype)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 4:] = False
    mask[2, [0, 5]] = False
    return pred, ref, mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [2, 3])
def test_mse_and_mae_equal_torch_functional_per_system(dtype, dim):
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(4, 6, dim, generator=g, dtype=dtype)
    ref = torch.randn(4, 6, dim, generator=g, dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-14)
    for ours, theirs in [(energyloss.mse_loss, F.mse_loss), (energyloss.mae_loss, F.l1_loss)]:
        per_system = torch.stack([theirs(pred[b], ref[b]) for b in range(4)])
        torch.testing.assert_close(ours(pred, ref, reduction="none"), per_system, **tol)
        torch.testing.assert_close(ours(pred, ref, reduction="sum"), per_system.sum(), **tol)
        torch.testing.assert_close(ours(pred, ref), per_system.mean(), **tol)
        # A single [N, d] system is a batch of one.
        torch.testing.assert_close(ours(pred[0], ref[0]), per_system[0], **tol)


def test_mse_and_mae_gradients_equal_torch_autograd():
    g = torch.Generator().manual_seed(1)
    pred, ref, mask = padded_batch(3, g)
    for ours, theirs in [(energyloss.mse_loss, F.mse_loss), (energyloss.mae_loss, F.l1_loss)]:
        p1, r1 = pred.clone().requires_grad_(), ref.clone().requires_grad_()
        weights = torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64)
        (ours(p1, r1, mask, reduction="none") * weights).sum().backward()
        p2, r2 = pred.clone().requires_grad_(), ref.clone().requires_grad_()
        sum(w * theirs(p2[b][mask[b]], r2[b][mask[b]]) for b, w in enumerate(weights)).backward()
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(r1.grad, r2.grad, rtol=1e-12, atol=1e-14)
        assert torch.all(p1.grad[~mask] == 0)


def test_mae_subgradient_is_zero_at_equal_coordinates():
    pred = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([[[1.0, 0.0, 3.0]]], dtype=torch.float64)
    energyloss.mae_loss(pred, ref).backward()
    assert pred.grad.tolist() == [[[0.0, 1.0 / 3.0, 0.0]]]


@pytest.mark.parametrize("loss", [energyloss.mse_loss, energyloss.mae_loss, energyloss.kabsch_mse])
def test_padding_is_ignored_and_masked_equals_unpadded(loss):
    g = torch.Generator().manual_seed(2)
    pred, ref, mask = padded_batch(3, g)
    values = loss(pred, ref, mask, reduction="none")
    moved_pred, moved_ref = pred.clone(), ref.clone()
    moved_pred[~mask] += 100.0
    moved_ref[~mask] = float("1e6")
    torch.testing.assert_close(loss(moved_pred, moved_ref, mask, reduction="none"), values,
                               rtol=0, atol=0)
    for b in range(3):
        alone = loss(pred[b][mask[b]].unsqueeze(0), ref[b][mask[b]].unsqueeze(0))
        torch.testing.assert_close(values[b], alone, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dim", [2, 3])
def test_kabsch_mse_equals_independent_svd_implementation(dim):
    g = torch.Generator().manual_seed(3)
    pred, ref, mask = padded_batch(dim, g)
    values = energyloss.kabsch_mse(pred, ref, mask, reduction="none")
    for b in range(3):
        expected = reference_kabsch_mse(pred[b][mask[b]], ref[b][mask[b]])
        torch.testing.assert_close(values[b], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_kabsch_mse_is_zero_for_rotated_translated_copy(dim):
    g = torch.Generator().manual_seed(4)
    ref = 3 * torch.randn(5, 9, dim, generator=g, dtype=torch.float64)
    pred = torch.stack([ref[b] @ random_rotation(dim, g).T + 10 * torch.randn(dim, generator=g,
                                                                                 dtype=ref.dtype)
                        for b in range(5)])
    assert energyloss.kabsch_mse(pred, ref, reduction="none").max() <= 1e-10
    torch.testing.assert_close(energyloss.kabsch_align(pred, ref), ref, rtol=0, atol=1e-10)


def test_kabsch_mse_rejects_mirror_images_in_3d():
    g = torch.Generator().manual_seed(5)
    ref = torch.randn(1, 8, 3, generator=g, dtype=torch.float64)
    mirrored = ref * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    assert energyloss.kabsch_mse(mirrored, ref) > 1e-3
    # The best *improper* alignment would be exact; a proper one cannot be.
    aligned = energyloss.kabsch_align(mirrored, ref)
    edges = lambda x: (x[0, 1:4] - x[0, 0]).T  # noqa: E731
    assert torch.det(edges(aligned)) * torch.det(edges(mirrored)) > 0


def test_kabsch_mse_in_2d_matches_a_scan_over_angles():
    g = torch.Generator().manual_seed(6)
    pred = torch.randn(1, 6, 2, generator=g, dtype=torch.float64)
    ref = torch.randn(1, 6, 2, generator=g, dtype=torch.float64)
    p = pred[0] - pred[0].mean(0)
    y = ref[0] - ref[0].mean(0)
    theta = torch.linspace(0, 2 * math.pi, 200001, dtype=torch.float64)
    c, s = torch.cos(theta), torch.sin(theta)
    # Rotated x and y coordinates of every atom for every angle: [angles, atoms].
    rx = c[:, None] * p[:, 0] - s[:, None] * p[:, 1]
    ry = s[:, None] * p[:, 0] + c[:, None] * p[:, 1]
    scanned = (((rx - y[:, 0]) ** 2 + (ry - y[:, 1]) ** 2).mean(1) / 2).min()
    value = energyloss.kabsch_mse(pred, ref)
    assert value <= scanned + 1e-12
    assert abs(value - scanned) < 1e-8


@pytest.mark.parametrize("loss", [energyloss.mse_loss, energyloss.mae_loss, energyloss.kabsch_mse])
@pytest.mark.parametrize("dim", [2, 3])
def test_gradients_match_finite_differences(loss, dim):
    g = torch.Generator().manual_seed(7)
    pred, ref, mask = padded_batch(dim, g)
    pred.requires_grad_()
    ref.requires_grad_()
    assert torch.autograd.gradcheck(lambda p, r: loss(p, r, mask, reduction="none"), (pred, ref),
                                    eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("dim", [2, 3])
def test_kabsch_mse_invariant_to_moving_either_argument(dim):
    g = torch.Generator().manual_seed(8)
    pred, ref, mask = padded_batch(dim, g)
    values = energyloss.kabsch_mse(pred, ref, mask, reduction="none")
    rotation = random_rotation(dim, g)
    shift = torch.randn(dim, generator=g, dtype=torch.float64)
    for p, r in [(pred @ rotation.T + shift, ref), (pred, ref @ rotation.T - shift)]:
        torch.testing.assert_close(energyloss.kabsch_mse(p, r, mask, reduction="none"), values,
                                   rtol=1e-10, atol=1e-12)


def test_kabsch_align_residual_is_the_loss_and_keeps_padding():
    g = torch.Generator().manual_seed(9)
    pred, ref, mask = padded_batch(3, g)
    aligned = energyloss.kabsch_align(pred, ref, mask)
    torch.testing.assert_close(energyloss.mse_loss(aligned, ref, mask, reduction="none"),
                               energyloss.kabsch_mse(pred, ref, mask, reduction="none"),
                               rtol=1e-10, atol=1e-12)
    assert torch.equal(aligned[~mask], pred[~mask])


def test_float32_matches_float64():
    g = torch.Generator().manual_seed(10)
    pred, ref, mask = padded_batch(3, g, dtype=torch.float32)
    for loss in (energyloss.mse_loss, energyloss.mae_loss, energyloss.kabsch_mse):
        single = loss(pred, ref, mask, reduction="none")
        assert single.dtype == torch.float32
        torch.testing.assert_close(single.double(),
                                   loss(pred.double(), ref.double(), mask, reduction="none"),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", [energyloss.mse_loss, energyloss.mae_loss, energyloss.kabsch_mse])
def test_bad_input_raises(loss):
    pred = torch.randn(2, 4, 3, dtype=torch.float64)
    with pytest.raises(ERRORS, match="ref has shape"):
        loss(pred, pred[:, :3])
    with pytest.raises(ERRORS, match="dtype"):
        loss(pred, pred.float())
    with pytest.raises(ERRORS, match="2 or 3 coordinates"):
        loss(torch.randn(2, 4, 4), torch.randn(2, 4, 4))
    bad = pred.clone()
    bad[1, 2, 0] = float("nan")
    with pytest.raises(ERRORS, match="ref has a non-finite value .* system 1, atom 2"):
        loss(pred, bad)
    mask = torch.ones(2, 4, dtype=torch.bool)
    mask[1] = False
    with pytest.raises(ERRORS, match="system 1 selects no atom"):
        loss(pred, pred, mask)
    with pytest.raises(ERRORS, match="mask"):
        loss(pred, pred, torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ERRORS, match="reduction"):
        loss(pred, pred, reduction="max")
    with pytest.raises(ERRORS, match="float32 or float64"):
        loss(pred.long(), pred.long())


@pytest.mark.parametrize("loss", [energyloss.mse_loss, energyloss.mae_loss, energyloss.kabsch_mse])
def test_second_derivatives_are_refused_not_silently_zero(loss):
    # The fused backward returns saved constants; a gradient penalty built on
    # it would silently count as a constant, so create_graph must be refused.
    pred = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    ref = torch.randn(2, 5, 3, dtype=torch.float64)
    with pytest.raises((RuntimeError, ValueError), match="second derivatives"):
        torch.autograd.grad(loss(pred, ref), pred, create_graph=True)
    (grad,) = torch.autograd.grad(loss(pred, ref), pred)  # first derivatives still work
    assert torch.isfinite(grad).all()
