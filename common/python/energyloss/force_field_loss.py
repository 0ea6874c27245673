r"""The paper's true-energy objective through the oracles, as a term added to a
pair energy loss at low noise levels.

For a prediction :math:`\hat x` of a configuration :math:`x` the term is
:math:`(E_{FF}(\hat x) - E_{FF}(x)) / kT`, the force field's energy of moving
the system from the data to the prediction in units of the thermal energy
(SPEC section 3, use 2; the paper's "true energy" baseline). A pair energy
loss with springs in kT / length^2 (``force_field_coefficients(..., kT=...)``)
is in the same unit, so

.. math:: L = L_{pair}(\hat x, x) + \lambda\, [\sigma \le \sigma_{max}]\,
          (E_{FF}(\hat x) - E_{FF}(x)) / kT

adds the force field's anharmonic, many-body energy where the prediction is
near-physical (low noise levels of a diffusion schedule), and leaves the pair
loss alone at high noise, where :math:`\hat x` is far from any configuration
the force field can score sensibly.
"""
import math
import time

import torch

from .oracles import Oracle, oracle_energy

__all__ = ["true_energy_term", "ForceFieldEnergyLoss"]


def _positive(value, name):
    """``value`` as a float, or ValueError naming ``name`` unless finite and > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"energyloss: {name}: expected a number > 0, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"energyloss: {name}: expected a finite number > 0, got {value!r}")
    return number


def _per_entry_oracles(oracles, count):
    """A list of ``count`` oracles: one Oracle repeated, or a sequence checked."""
    if isinstance(oracles, Oracle):
        return [oracles] * count
    oracles = list(oracles)
    if len(oracles) != count:
        raise ValueError(f"energyloss: oracles: expected one Oracle or {count} (one per batch "
                         f"entry), got {len(oracles)}")
    for b, oracle in enumerate(oracles):
        if not isinstance(oracle, Oracle):
            raise ValueError(f"energyloss: oracles: entry {b} is a {type(oracle).__name__}, "
                             "not an energyloss Oracle")
    return oracles


def true_energy_term(oracles, pred, ref, kT, mask=None, ref_energy=None):
    """Per-entry ``(E_FF(pred) - E_FF(ref)) / kT`` and which entries the
    force field could evaluate; differentiable with respect to ``pred``.

    Args:
        oracles: one ``Oracle`` for every entry, or a sequence of B oracles
            (entry b is scored by ``oracles[b]``; entries that share an oracle
            object go to it in one batched call).
        pred: ``[B, N, 3]`` predictions in the oracles' length unit
            (float32 or float64; evaluated in float64).
        ref: ``[B, N, 3]`` data configurations, same unit (not differentiated).
        kT: thermal energy in the oracles' energy unit, > 0 (e.g.
            0.0083144626 * 300 kJ/mol, or 0.0019872 * 298.15 kcal/mol).
        mask: ``[B, N]`` bool (False = padding atom), or None. The real atoms
            of entry b, in order, are its oracle's atoms; their count must be
            the oracle's ``n_atoms``.
        ref_energy: optional ``[B]`` E_FF(ref) in the oracles' energy unit,
            when the caller has it (saves one evaluation per entry).

    Returns ``(term [B], valid [B] bool)``, term in kT and pred's dtype. An
    entry whose prediction or reference its oracle cannot evaluate (atoms on
    top of each other, a NaN; the oracles' ``errors="mask"`` policy), or
    whose ``ref_energy`` is not finite, has ``valid`` False and term 0 with
    zero gradient: no inf or NaN is passed on. Bad shapes or arguments raise
    ValueError.
    """
    kT = _positive(kT, "kT")
    if pred.dim() != 3 or pred.shape[-1] != 3:
        raise ValueError(f"energyloss: pred: expected shape [B, N, 3], got {list(pred.shape)}")
    if ref.shape != pred.shape:
        raise ValueError(f"energyloss: ref has shape {list(ref.shape)} but pred has shape "
                         f"{list(pred.shape)}")
    count, atoms = pred.shape[:2]
    if mask is not None and mask.shape != (count, atoms):
        raise ValueError(f"energyloss: mask: expected shape [{count}, {atoms}], got "
                         f"{list(mask.shape)}")
    if ref_energy is not None:
        ref_energy = torch.as_tensor(ref_energy, dtype=torch.float64)
        if ref_energy.shape != (count,):
            raise ValueError(f"energyloss: ref_energy: expected shape [{count}], got "
                             f"{list(ref_energy.shape)}")
    per_entry = _per_entry_oracles(oracles, count)
    term = pred.new_zeros(count)
    valid = torch.zeros(count, dtype=torch.bool)
    groups = {}
    for b, oracle in enumerate(per_entry):
        groups.setdefault(id(oracle), (oracle, []))[1].append(b)
    for oracle, entries in groups.values():
        index = torch.tensor(entries)
        if mask is None:
            real = atoms
            x_pred, x_ref = pred[index], ref[index].detach()
        else:
            real_counts = mask[index].sum(dim=1)
            real = int(real_counts[0])
            if bool((real_counts != real).any()):
                raise ValueError("energyloss: mask: entries scored by the same oracle have "
                                 f"different atom counts {sorted(set(real_counts.tolist()))}")
            x_pred = pred[index][mask[index]].view(len(entries), real, 3)
            x_ref = ref[index].detach()[mask[index]].view(len(entries), real, 3)
        if real != oracle.n_atoms:
            raise ValueError(f"energyloss: entries {entries} have {real} real atoms but their "
                             f"oracle has {oracle.n_atoms}")
        energy, ok = oracle_energy(oracle, x_pred.double(), errors="mask")
        if ref_energy is None:
            reference, _, ref_ok = oracle.evaluate(x_ref.double(), errors="mask")
        else:
            reference = ref_energy[index]
            ref_ok = torch.isfinite(reference)
        ok = ok & ref_ok
        # Failed entries: +inf energy with zero gradient; where() keeps the
        # inf out of both the value and the backward pass.
        difference = torch.where(ok, energy - torch.where(ok, reference, 0.0),
                                 torch.zeros_like(energy))
        term = term.index_put((index,), (difference / kT).to(pred.dtype))
        valid[index] = ok
    return term, valid


class ForceFieldEnergyLoss:
    r"""A pair energy loss plus the force field's true-energy term at low
    noise levels:

    .. math:: L_b = L_{pair}(\hat x_b, x_b) + \lambda\,[\sigma_b \le \sigma_{max}]\,
              (E_{FF}(\hat x_b) - E_{FF}(x_b)) / kT

    Args:
        pair_loss: callable ``(pred, ref, mask, **pair_arguments) -> [B]``,
            in kT for the sum to be meaningful, e.g.
            ``functools.partial(energyloss.pair_energy_loss, coeff="explicit",
            reduction="none")`` with ``edge_weights`` from
            ``force_field_coefficients(..., kT=kT)``.
        weight: lambda, finite and >= 0. With 0 the loss is exactly
            ``pair_loss`` and no oracle is called.
        kT: thermal energy in the oracles' energy unit, finite and > 0.
        max_sigma: the noise-level threshold, > 0 (``math.inf`` = every
            entry): entries with sigma <= max_sigma get the term; for the
            others the oracle is not called and they get the pair loss
            alone. sigma is the noise scale of x_t = alpha x + sigma eps
            (``energyloss.noise_schedule``; ``generative.train`` passes it in
            ``batch.context["sigma"]``). The default 0.1 keeps the term to
            the last ~7 % of the polynomial schedule (t < 0.07).

    ``loss(pred, ref, sigma, oracles, mask=None, ref_energy=None,
    **pair_arguments)`` returns ``[B]``: pred ``[B, N, 3]`` (differentiable)
    and ref ``[B, N, 3]`` in the oracles' length unit, sigma ``[B]`` or a
    number, the rest as for ``true_energy_term``. Entries the force field
    cannot evaluate get the pair loss alone (``true_energy_term``'s
    ``errors="mask"`` policy). After each call ``last`` holds ``evaluated``
    (entries scored by an oracle), ``invalid`` (of those, how many failed)
    and ``seconds`` (time in the term); ``seconds`` and ``evaluated`` also
    accumulate in ``total_seconds`` and ``total_evaluated``.

    Bad ``weight``, ``kT`` or ``max_sigma`` raise ValueError naming the
    argument; so does a sigma of the wrong shape.
    """

    def __init__(self, pair_loss, weight, kT, max_sigma=0.1):
        if not callable(pair_loss):
            raise ValueError(f"energyloss: pair_loss: expected a callable, got "
                             f"{type(pair_loss).__name__}")
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise ValueError(f"energyloss: weight: expected a number >= 0, got "
                             f"{weight!r}") from None
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"energyloss: weight: expected a finite number >= 0, got {weight!r}")
        try:
            max_sigma = float(max_sigma)
        except (TypeError, ValueError):
            raise ValueError(f"energyloss: max_sigma: expected a number > 0, got "
                             f"{max_sigma!r}") from None
        if math.isnan(max_sigma) or max_sigma <= 0:
            raise ValueError(f"energyloss: max_sigma: expected a number > 0 (inf for every "
                             f"entry), got {max_sigma!r}")
        self.pair_loss, self.weight, self.max_sigma = pair_loss, weight, max_sigma
        self.kT = _positive(kT, "kT")
        self.last = {"evaluated": 0, "invalid": 0, "seconds": 0.0}
        self.total_seconds, self.total_evaluated = 0.0, 0

    def __call__(self, pred, ref, sigma, oracles, mask=None, ref_energy=None,
                 **pair_arguments):
        loss = self.pair_loss(pred, ref, mask, **pair_arguments)
        self.last = {"evaluated": 0, "invalid": 0, "seconds": 0.0}
        if self.weight == 0:
            return loss
        count = pred.shape[0]
        # Compared in sigma's own dtype: a float32 0.1 is at the threshold 0.1.
        sigma = torch.as_tensor(sigma)
        if sigma.dim() == 0:
            sigma = sigma.expand(count)
        if sigma.shape != (count,):
            raise ValueError(f"energyloss: sigma: expected a number or shape [{count}], got "
                             f"{list(sigma.shape)}")
        near = torch.nonzero(sigma.detach() <= self.max_sigma).flatten()
        if len(near) == 0:
            return loss
        start = time.perf_counter()
        per_entry = _per_entry_oracles(oracles, count)
        term, valid = true_energy_term(
            [per_entry[b] for b in near.tolist()], pred[near], ref[near], self.kT,
            None if mask is None else mask[near],
            None if ref_energy is None else torch.as_tensor(ref_energy)[near])
        seconds = time.perf_counter() - start
        self.last = {"evaluated": len(near), "invalid": int((~valid).sum()), "seconds": seconds}
        self.total_seconds += seconds
        self.total_evaluated += len(near)
        return loss.index_add(0, near, self.weight * term.to(loss.dtype))
