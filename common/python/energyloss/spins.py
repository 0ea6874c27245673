"""Discrete spins on an L x L open-boundary square lattice (paper section 5).

Shapes: spins / logits / target ``[B, L, L]``; couplings ``Jh [B, L, L-1]``
(bond between sites (r, c) and (r, c+1)) and ``Jv [B, L-1, L]`` (bond between
(r, c) and (r+1, c)). All tensors are CPU float32 or float64 of one dtype.
Targets hold exactly +1 or -1. A model's logits z give q(spin = +1) =
sigmoid(z) and the magnetisation m = tanh(z / 2).

Losses are computed per system and reduced over the batch with ``reduction``
``"none"`` (shape ``[B]``), ``"sum"`` (default) or ``"mean"``. They are
differentiable with respect to the logits; energies and local fields with
respect to the spins. Targets and couplings have no gradient: while autograd
records, a target, ``Jh`` or ``Jv`` that requires grad is refused with a
ValueError naming it (detach it). Bad input raises an error naming the
argument.
"""
from ._library import ops

__all__ = [
    "ising_energy",
    "local_fields",
    "local_field_energy_loss",
    "spin_bce_loss",
    "spin_margin_loss",
    "spin_true_energy_loss",
    "ising_ground_state",
]


def ising_energy(spins, Jh, Jv):
    """Ising energy ``E(y) = -sum_<ij> J_ij y_i y_j``, each bond counted once.

    ``spins`` ``[B, L, L]`` may be real-valued (e.g. magnetisations m, giving
    the mean-field energy E(m)). Returns ``[B]``; differentiable wrt spins
    (dE/dy = -local_fields(y)).
    """
    return ops.ising_energy(spins, Jh, Jv)


def local_fields(spins, Jh, Jv):
    """Local fields ``h_i(y) = sum_j J_ij y_j`` over lattice neighbours: ``[B, L, L]``.

    Flipping spin i of a +-1 configuration changes its energy by
    ``2 y_i h_i(y)``. Differentiable wrt spins.
    """
    return ops.local_fields(spins, Jh, Jv)


def local_field_energy_loss(logits, target, Jh, Jv, temperature=0.1, h0=4.5,
                            reduction="sum"):
    """Local-field energy loss: the variational free energy of the prediction.

    Per system ``sum_i w_i (1 - y_i m_i) / 2 - T S[q]`` with flip-cost weights
    ``w_i = y_i h_i(y) + h0``, ``y = target`` (+-1), ``m = tanh(logits / 2)``
    and ``S[q]`` the summed binary entropy of ``sigmoid(logits)`` (natural log).
    It is linear in m, so with all weights positive the data is its unique
    minimiser: ``|h_i| <= 4`` on the square lattice with ``|J| <= 1``, so the
    default ``h0 = 4.5`` (> 4) works for ANY target; for ground-state targets
    (``y_i h_i >= 0``) any ``h0 > 0`` does and lets the physical flip costs
    dominate. ``temperature`` defaults to the paper's T = 0.1; at the optimum
    ``logits = y w / T``.

    logits, target: ``[B, L, L]``; Jh ``[B, L, L-1]``; Jv ``[B, L-1, L]``.
    """
    return ops.local_field_energy_loss(logits, target, Jh, Jv, float(temperature),
                                       float(h0), reduction)


def spin_bce_loss(logits, target, reduction="sum"):
    """Binary cross-entropy against ``(target + 1) / 2``, summed over sites.

    Equals ``binary_cross_entropy_with_logits(logits, (target + 1) / 2,
    reduction="none")`` summed per system. logits, target: ``[B, ...]``.
    """
    return ops.spin_bce_loss(logits, target, reduction)


def spin_margin_loss(logits, target, margin=1.0, reduction="sum"):
    """Hinge loss ``sum_i max(0, margin - y_i z_i)`` per system (gradient 0 at the kink).

    logits, target: ``[B, ...]``; ``margin`` defaults to 1.
    """
    return ops.spin_margin_loss(logits, target, float(margin), reduction)


def spin_true_energy_loss(logits, Jh, Jv, temperature=0.1, reduction="sum"):
    """True-energy objective ``E(m) - T S[q]`` with ``m = tanh(logits / 2)``.

    Entropy-regularised (mean-field) energy minimisation; it uses no target, so
    it is a baseline rather than a classification loss. logits ``[B, L, L]``.
    """
    return ops.spin_true_energy_loss(logits, Jh, Jv, float(temperature), reduction)


def ising_ground_state(Jh, Jv):
    """Exact ground states by a transfer-matrix dynamic programme.

    Returns ``(spins [B, L, L] of +-1, energies [B])`` minimising
    :func:`ising_energy`. Cost O(L^2 2^L) time and L^2 2^L bits per instance
    (tens of milliseconds at L = 16); L is limited to 22. Not differentiable:
    while autograd records, ``Jh`` or ``Jv`` that requires grad is refused
    with a ValueError naming it (detach it).
    """
    return ops.ising_ground_state(Jh, Jv)
