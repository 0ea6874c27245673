"""Baseline losses beside the energy loss, with the same call shape.

``pred`` and ``ref`` are ``[B, N, d]`` (d = 2 or 3) float32/float64 CPU
tensors, or ``[N, d]`` for a single system; ``mask`` is an optional bool
``[B, N]`` tensor where False marks padding atoms, which are ignored entirely
(never read: they may hold NaN; non-finite values in real atoms raise).
Each system's value is the mean over its real atoms' coordinates, so without a
mask :func:`mse_loss` equals ``torch.nn.functional.mse_loss`` system by
system. ``reduction`` ("none" | "sum" | "mean") then acts over systems; an
empty batch ``[0, N, d]`` gives torch's values (an empty ``[0]``, 0, NaN).
The losses are differentiable (first order) wrt ``pred`` and ``ref``.
"""
import torch

from ._library import ops

__all__ = ["mse_loss", "mae_loss", "kabsch_mse", "kabsch_align"]


def _as_batch(pred, ref, mask):
    """Accept ``[N, d]`` single systems as a batch of one; returns (pred, ref, mask, single)."""
    for name, value in (("pred", pred), ("ref", ref), ("mask", mask)):
        if value is not None and not isinstance(value, torch.Tensor):
            raise TypeError(f"energyloss: {name} must be a torch.Tensor, got {type(value).__name__}")
    if pred.dim() == 2 and ref.dim() == 2:
        mask = mask.unsqueeze(0) if mask is not None and mask.dim() == 1 else mask
        return pred.unsqueeze(0), ref.unsqueeze(0), mask, True
    return pred, ref, mask, False


def _loss(op, pred, ref, mask, reduction):
    pred, ref, mask, single = _as_batch(pred, ref, mask)
    loss = op(pred, ref, mask, reduction)
    return loss.squeeze(0) if single and reduction == "none" else loss


def mse_loss(pred, ref, mask=None, reduction="mean"):
    """Mean squared error per system, ``sum_i |pred_i - ref_i|^2 / (n_b d)``."""
    return _loss(ops.mse_loss, pred, ref, mask, reduction)


def mae_loss(pred, ref, mask=None, reduction="mean"):
    """Mean absolute error per system, ``sum_i |pred_i - ref_i|_1 / (n_b d)``.

    The subgradient is 0 at coordinates where ``pred`` equals ``ref``.
    """
    return _loss(ops.mae_loss, pred, ref, mask, reduction)


def kabsch_mse(pred, ref, mask=None, reduction="mean"):
    r"""MSE after optimally superposing ``pred`` onto ``ref`` (Kabsch).

    .. math::
        \min_{R \in SO(d)} \frac{1}{n d}
        \sum_i \|R(\hat y_i - \bar{\hat y}) - (y_i - \bar y)\|^2

    Both systems are centred on their (masked) centroids and ``R`` is the
    optimal *proper* rotation (SVD, reflection-corrected), so a mirror image
    is not a zero-loss prediction in 3D. Invariant to rotating or translating
    either argument. Gradients follow from the envelope theorem (R held at
    its optimum), exact wherever the optimal rotation is unique.
    """
    return _loss(ops.kabsch_mse, pred, ref, mask, reduction)


def kabsch_align(pred, ref, mask=None):
    """``pred`` rotated and translated onto ``ref`` by the optimal proper rotation.

    For evaluation (RMSD etc.); not differentiable. Padding atoms are returned
    unchanged. Same shape as ``pred``.
    """
    pred_b, ref_b, mask_b, single = _as_batch(pred, ref, mask)
    aligned = ops.kabsch_align(pred_b, ref_b, mask_b)
    return aligned.squeeze(0) if single else aligned
