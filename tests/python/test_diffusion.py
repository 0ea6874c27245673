"""Diffusion / flow-matching helpers against their defining identities and a
numpy port of EDM's schedule code (Hoogeboom et al. 2022)."""
import math

import numpy as np
import pytest
import torch

import energyloss

ERRORS = (ValueError, RuntimeError)  # how torch surfaces energyloss::Error


def edm_clip_noise_schedule(alphas2, clip_value=0.001):
    """EDM's clip_noise_schedule, verbatim in numpy."""
    alphas2 = np.concatenate([np.ones(1), alphas2], axis=0)
    alphas_step = alphas2[1:] / alphas2[:-1]
    alphas_step = np.clip(alphas_step, a_min=clip_value, a_max=1.0)
    return np.cumprod(alphas_step, axis=0)


def edm_polynomial_schedule(timesteps, s=1e-4, power=3.0):
    """EDM's polynomial_schedule, verbatim in numpy (alpha^2 on the step grid)."""
    steps = timesteps + 1
    x = np.linspace(0, steps, steps)
    alphas2 = (1 - np.power(x / steps, power)) ** 2
    alphas2 = edm_clip_noise_schedule(alphas2, clip_value=0.001)
    precision = 1 - 2 * s
    return precision * alphas2 + s


@pytest.mark.parametrize("timesteps,power", [(1000, 2.0), (100, 3.0), (9, 2.0)])
def test_polynomial_schedule_matches_edm(timesteps, power):
    expected = edm_polynomial_schedule(timesteps, s=1e-5, power=power)
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    alpha, sigma = energyloss.noise_schedule(t, "polynomial", power=power, timesteps=timesteps)
    np.testing.assert_allclose((alpha**2).numpy(), expected, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(t), rtol=0, atol=1e-14)


def test_cosine_schedule_matches_its_definition_away_from_the_end():
    s = 0.008
    t = torch.linspace(0, 0.99, 500, dtype=torch.float64)
    half_pi = math.pi / 2
    expected = (torch.cos((t + s) / (1 + s) * half_pi) / math.cos(s / (1 + s) * half_pi)) ** 2
    alpha, _ = energyloss.noise_schedule(t, "cosine")
    torch.testing.assert_close(alpha**2, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", energyloss.NOISE_SCHEDULES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_schedules_monotone_normalised_with_right_endpoints(kind, dtype):
    t = torch.linspace(0, 1, 30001, dtype=dtype)
    alpha, sigma = energyloss.noise_schedule(t, kind)
    assert alpha.dtype == dtype and sigma.shape == t.shape
    assert torch.all(alpha[1:] <= alpha[:-1]) and torch.all(sigma[1:] >= sigma[:-1])
    assert torch.all(alpha > 0)
    atol = 1e-6 if dtype == torch.float32 else 1e-14
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(t), rtol=0, atol=atol)
    assert abs(alpha[0].item() - 1) < 1e-5
    assert alpha[-1].item() ** 2 < 2e-5  # 0 up to the precision
    # Python numbers work too.
    a, _ = energyloss.noise_schedule(0.5, kind)
    assert a.dtype == torch.float64 and a.dim() == 0


def make_diffusion(generator, batch=4):
    x = torch.randn(batch, 5, 3, generator=generator, dtype=torch.float64)
    eps = torch.randn(batch, 5, 3, generator=generator, dtype=torch.float64)
    t = torch.tensor([0.02, 0.3, 0.7, 1.0], dtype=torch.float64)[:batch]
    alpha, sigma = energyloss.noise_schedule(t)
    return x, eps, t, alpha, sigma


def test_x0_from_eps_inverts_forward_process_per_sample():
    g = torch.Generator().manual_seed(0)
    x, eps, _, alpha, sigma = make_diffusion(g)
    x_t = alpha[:, None, None] * x + sigma[:, None, None] * eps
    torch.testing.assert_close(energyloss.x0_from_eps(x_t, eps, alpha, sigma), x, rtol=0,
                               atol=1e-11)
    # Scalars too.
    x_t0 = 0.8 * x + 0.6 * eps
    torch.testing.assert_close(energyloss.x0_from_eps(x_t0, eps, 0.8, 0.6), x, rtol=0, atol=1e-13)


def test_eps_weight_identity_and_gradient_to_noise_prediction():
    g = torch.Generator().manual_seed(1)
    x, eps, _, alpha, sigma = make_diffusion(g)
    x_t = alpha[:, None, None] * x + sigma[:, None, None] * eps
    eps_hat = torch.randn(x.shape, generator=g, dtype=x.dtype).requires_grad_()
    x_hat = energyloss.x0_from_eps(x_t, eps_hat, alpha, sigma)
    noise_error = ((eps - eps_hat) ** 2).sum((1, 2))
    sample_error = energyloss.eps_weight(alpha, sigma) * ((x - x_hat) ** 2).sum((1, 2))
    torch.testing.assert_close(sample_error, noise_error, rtol=1e-9, atol=0)
    # Same objective, so same gradient wrt the network output eps_hat.
    (grad_sample,) = torch.autograd.grad(sample_error.sum(), eps_hat, retain_graph=True)
    (grad_noise,) = torch.autograd.grad(noise_error.sum(), eps_hat)
    torch.testing.assert_close(grad_sample, grad_noise, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(energyloss.eps_weight(alpha, sigma), alpha**2 / sigma**2)
    assert energyloss.eps_weight(0.6, 0.8).item() == pytest.approx(0.5625)


def test_flow_matching_conversion_and_weight():
    g = torch.Generator().manual_seed(2)
    x, eps, t, _, _ = make_diffusion(g)
    x_t = (1 - t[:, None, None]) * x + t[:, None, None] * eps
    u = (x_t - x) / t[:, None, None]
    torch.testing.assert_close(energyloss.x0_from_velocity(x_t, u, t), x, rtol=0, atol=1e-12)
    u_hat = torch.randn(x.shape, generator=g, dtype=x.dtype)
    x_hat = energyloss.x0_from_velocity(x_t, u_hat, t)
    torch.testing.assert_close(energyloss.flow_weight(t) * ((x - x_hat) ** 2).sum((1, 2)),
                               ((u - u_hat) ** 2).sum((1, 2)), rtol=1e-10, atol=0)
    assert energyloss.flow_weight(0.5).item() == 4.0


def test_float32_data_keeps_its_dtype():
    x_t = torch.randn(2, 3, 3)
    assert energyloss.x0_from_eps(x_t, x_t, torch.tensor([0.5, 0.9], dtype=torch.float64),
                                  0.3).dtype == torch.float32
    assert energyloss.x0_from_velocity(x_t, x_t, 0.25).dtype == torch.float32


def test_bad_input_raises():
    x = torch.randn(2, 3, 3, dtype=torch.float64)
    with pytest.raises(ERRORS, match="eps_hat has shape"):
        energyloss.x0_from_eps(x, x[:, :2], 0.5, 0.5)
    with pytest.raises(ERRORS, match="alpha must be positive"):
        energyloss.x0_from_eps(x, x, torch.tensor([0.5, 0.0]), 0.5)
    with pytest.raises(ERRORS, match="sigma must be non-negative"):
        energyloss.x0_from_eps(x, x, 0.5, float("nan"))
    with pytest.raises(ERRORS, match="alpha: shape"):
        energyloss.x0_from_eps(x, x, torch.ones(3), 0.5)  # 3 is not the batch size 2
    with pytest.raises(ERRORS, match="sigma must be positive"):
        energyloss.eps_weight(0.5, 0.0)
    with pytest.raises(ERRORS, match="do not broadcast"):
        energyloss.eps_weight(torch.ones(2), torch.ones(3))
    with pytest.raises(ERRORS, match=r"t must lie in \[0, 1\]"):
        energyloss.x0_from_velocity(x, x, torch.tensor([0.5, 1.5]))
    with pytest.raises(ERRORS, match="velocity has shape"):
        energyloss.x0_from_velocity(x, x[0], 0.5)
    with pytest.raises(ERRORS, match="t must be positive"):
        energyloss.flow_weight(0.0)
    with pytest.raises(ERRORS, match="index 1"):
        energyloss.noise_schedule(torch.tensor([0.5, -0.1]))
    with pytest.raises(ERRORS, match="'polynomial' or 'cosine'"):
        energyloss.noise_schedule(0.5, "linear")
    with pytest.raises(ERRORS, match="timesteps"):
        energyloss.noise_schedule(0.5, timesteps=0)
    with pytest.raises(ERRORS, match="noise_schedule: t: expected float32 or float64, got Long"):
        energyloss.noise_schedule(torch.tensor([0, 1]))
