r"""Diffusion and flow-matching helpers (paper eq. 3 and appendix A.7).

A denoising objective on the noise, :math:`w_t \|\epsilon - \hat\epsilon\|^2`
at :math:`x_t = \alpha_t x + \sigma_t \epsilon`, equals
:math:`w_t \frac{\alpha_t^2}{\sigma_t^2} \|x - \hat x\|^2` with the sample
prediction :math:`\hat x = (x_t - \sigma_t \hat\epsilon)/\alpha_t`; any
sample-space loss (such as the energy loss) can then replace the MSE. For flow
matching, :math:`x_t = (1 - t) x + t \epsilon`, :math:`\hat x = x_t - t \hat u`
and the weight is :math:`1/t^2`.

Noise levels (``alpha``, ``sigma``, ``t``) may be Python numbers or tensors
aligned with the *leading* dimensions of the data: a ``[B]`` tensor pairs with
``x_t`` of shape ``[B, N, d]``.
"""
import torch

from ._library import ops

__all__ = ["x0_from_eps", "eps_weight", "x0_from_velocity", "flow_weight", "noise_schedule",
           "NOISE_SCHEDULES"]

NOISE_SCHEDULES = ("polynomial", "cosine")


def _level(value, like=None):
    """A noise level as a tensor: numbers become 0-d tensors in ``like``'s
    floating dtype and device (float64 on the CPU without ``like``)."""
    if isinstance(value, torch.Tensor):
        return value
    if like is None or not like.is_floating_point():
        return torch.tensor(value, dtype=torch.float64)
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def x0_from_eps(x_t, eps_hat, alpha, sigma):
    r"""Sample prediction :math:`(x_t - \sigma \hat\epsilon) / \alpha` (differentiable).

    Requires ``alpha > 0`` and ``sigma >= 0``.
    """
    return ops.x0_from_eps(x_t, eps_hat, _level(alpha, x_t), _level(sigma, x_t))


def eps_weight(alpha, sigma):
    r"""The weight :math:`w = \alpha^2/\sigma^2`, so that
    :math:`\|\epsilon - \hat\epsilon\|^2 = w \|x - \hat x\|^2` (eq. 3).

    Requires ``alpha > 0`` and ``sigma > 0``; returns the broadcast shape.
    """
    alpha = _level(alpha, sigma if isinstance(sigma, torch.Tensor) else None)
    return ops.eps_weight(alpha, _level(sigma, alpha))


def x0_from_velocity(x_t, velocity, t):
    r"""Flow-matching sample prediction :math:`x_t - t \hat u` (differentiable); ``t`` in [0, 1]."""
    return ops.x0_from_velocity(x_t, velocity, _level(t, x_t))


def flow_weight(t):
    r"""The weight :math:`w = 1/t^2`, so that :math:`\|u - \hat u\|^2 = w \|x - \hat x\|^2` (A.7).

    Requires ``t`` in (0, 1].
    """
    return ops.flow_weight(_level(t))


def noise_schedule(t, kind="polynomial", s=None, power=2.0, timesteps=1000, clip_value=0.001):
    r"""``(alpha, sigma)`` of an EDM noise schedule at times ``t`` in [0, 1].

    * ``"polynomial"`` (Hoogeboom et al. 2022, EDM's ``polynomial_2``):
      :math:`\alpha^2 = (1 - t^{power})^2`, then :math:`(1 - 2s)\alpha^2 + s`
      with precision ``s`` (default 1e-5, as in the paper).
    * ``"cosine"`` (Nichol & Dhariwal 2021):
      :math:`\alpha^2 = \cos^2(\frac{t + s}{1 + s}\frac{\pi}{2}) /
      \cos^2(\frac{s}{1 + s}\frac{\pi}{2})`,
      offset ``s`` (default 0.008).

    As in EDM's ``clip_noise_schedule``, the ratio of :math:`\alpha^2` over
    one of ``timesteps`` steps is clipped from below at ``clip_value``, so
    :math:`\alpha` stays positive at t = 1; the values match EDM's table on
    the grid ``t = i / timesteps`` and are continuous and monotone between.
    ``sigma = sqrt(1 - alpha^2)``. Same shape and dtype as ``t`` (numbers give
    float64 tensors); not differentiable.
    """
    return tuple(ops.noise_schedule(_level(t), kind, s, power, timesteps, clip_value))
