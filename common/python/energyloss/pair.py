"""The pair energy loss (paper eq. 7) as a differentiable PyTorch function."""
import math

import torch

from ._library import ops

__all__ = ["pair_energy_loss", "pair_energy_terms", "COEFFICIENT_MODES", "cuda_kernels_available"]

# The C++ list of coefficient modes (energyloss::coefficient_mode_names).
COEFFICIENT_MODES = tuple(ops.coefficient_modes())


def cuda_kernels_available():
    """True when this build of the ops has the pair ops' CUDA kernels (built
    against a CUDA-enabled torch with -DENERGYLOSS_WITH_CUDA=ON): then
    ``pair_energy_loss`` and ``pair_energy_terms`` take CUDA tensors.
    Whether a GPU is present is ``torch.cuda.is_available()``'s question."""
    return torch._C._dispatch_has_kernel_for_dispatch_key("energyloss::_pair_energy_fused", "CUDA")


def _refuse_edge_tuple(edges, name="edges"):
    """The (edges, weights) tuple of graphs.sparse_rigid_edges passed whole."""
    if isinstance(edges, (tuple, list)) and len(edges) == 2 and all(
            isinstance(part, torch.Tensor) for part in edges):
        raise TypeError(f"energyloss: {name}: got a tuple of (edges, weights), as "
                        "sparse_rigid_edges returns; pass edges=result[0], "
                        "edge_weights=result[1]")


def _as_batch(pred, ref, mask):
    """Accept [N, d] single systems as a batch of one."""
    for name, value in (("pred", pred), ("ref", ref), ("mask", mask)):
        if value is not None and not isinstance(value, torch.Tensor):
            raise TypeError(f"energyloss: {name} must be a torch.Tensor, got {type(value).__name__}")
    if pred.dim() == 2:
        pred = pred.unsqueeze(0)
        ref = ref.unsqueeze(0) if ref.dim() == 2 else ref
        mask = mask.unsqueeze(0) if mask is not None and mask.dim() == 1 else mask
        return pred, ref, mask, True
    return pred, ref, mask, False


def _shapes_only(tensor):
    """A meta tensor, or a fake one (FakeTensorMode: torch.compile's tracer)."""
    if tensor.is_meta:
        return True
    try:
        from torch._subclasses.fake_tensor import FakeTensor
    except ImportError:  # a torch without fake tensors
        return False
    return isinstance(tensor, FakeTensor)


def _edge_arguments(edges, ref, mask, degree, seed, symmetrize):
    """Turn the ``edges`` argument into (edge tensor or None, weights or None)."""
    _refuse_edge_tuple(edges)
    if edges is None or (isinstance(edges, str) and edges == "complete"):
        return None, None
    if isinstance(edges, str):
        if edges != "sparse":
            raise ValueError(
                f"energyloss: edges must be 'complete', 'sparse' or an index tensor, got '{edges}'")
        # TorchScript cannot compile this Python wrapper (its error shows these lines):
        # scripted code calls torch.ops.energyloss.pair_energy_loss (README: TorchScript).
        from .graphs import sparse_rigid_edges

        for name, value in (("ref", ref), ("mask", mask)):
            if value is not None and _shapes_only(value):
                raise ValueError(
                    f"energyloss: pair_energy_loss: {name}: a meta or fake tensor (shapes only, "
                    "as under torch.compile), but edges='sparse' draws each system's graph from "
                    "ref's values; draw it outside the traced code (energyloss.sparse_rigid_edges) "
                    "and pass the edges and edge_weights")
        # One rigid graph per system, drawn on its real atoms only. The graph
        # code runs on the CPU; the op copies the edges to ref's device.
        ref = ref.detach().cpu()
        mask = None if mask is None else mask.cpu()
        per_system, weights = [], []
        for b in range(ref.shape[0]):
            index = (torch.arange(ref.shape[1]) if mask is None
                     else torch.nonzero(mask[b]).flatten())
            # Name a bad real atom by its index in the batch (padding is never read).
            bad = torch.nonzero(~torch.isfinite(ref[b, index].detach()))
            if len(bad):
                atom, c = int(index[bad[0, 0]]), int(bad[0, 1])
                raise ValueError(f"energyloss: ref has a non-finite value "
                                 f"({float(ref[b, atom, c])}) at system {b}, atom {atom}, "
                                 f"coordinate {c}")
            e, w = sparse_rigid_edges(ref[b, index].detach(), degree=degree,
                                      seed=seed + b, symmetrize=symmetrize)
            per_system.append(index[e])
            weights.append(w)
        longest = max((e.shape[0] for e in per_system), default=0)  # 0 for an empty batch
        padded = torch.full((ref.shape[0], longest, 2), -1, dtype=torch.long)
        padded_w = torch.zeros((ref.shape[0], longest), dtype=ref.dtype)
        for b, (e, w) in enumerate(zip(per_system, weights)):
            padded[b, : e.shape[0]] = e
            padded_w[b, : w.shape[0]] = w.to(ref.dtype)
        return padded, padded_w
    return edges, None


def pair_energy_loss(pred, ref, mask=None, coeff="exp", k0=None, edges="complete",
                     edge_weights=None, reduction="sum", per_atom=None, length_scale=1.0,
                     eps=1e-5, cutoff=None, degree=None, seed=0, symmetrize=False):
    r"""Energy of moving the system from ``ref`` to ``pred`` (paper eq. 7).

    .. math:: E = \sum_{(i,j)} \tfrac12 w_{ij} k_{ij}(y) (\|y_i - y_j\| - \|\hat y_i - \hat y_j\|)^2

    Invariant to rotations, reflections and translations of either argument;
    zero exactly for isometric copies of ``ref`` when the edge graph is
    globally rigid. Forward and backward are one fused C++ pass (OpenMP) with
    memory O(B N + edges); the gradient at coincident atoms is 0.

    Args:
        pred, ref: ``[B, N, d]`` or ``[N, d]`` float32/float64, d = 2 or 3.
            Differentiable with respect to both.
        mask: bool ``[B, N]``; False marks padding atoms of smaller systems.
            Padding atoms are never read (they may hold NaN); a non-finite
            value in a real atom raises.
        coeff: ``"exp"`` k0 e^{-r/length_scale}, ``"inv"`` k0/(r+eps),
            ``"inv2"`` k0/(r^2+eps) (eps = 1e-5 as in the reference code), ``"constant"`` k0, ``"lj"`` k0/r^2
            (k0 = 72 epsilon), ``"morse"`` 2 k0/length_scale^2, or
            ``"explicit"`` (``edge_weights`` are the k themselves).
        k0: prefactor. None: the reference code's preset (exp 24/N, inv 3.7/N,
            inv2 9/N with N each system's atom count; constant 1; lj 72).
            Units: the presets (with length_scale=1, eps=1e-5) are made for
            coordinates in angstrom, k0 per A^2 (exp, constant) or per A
            (inv); the loss is the paper's, in the unit k0 carries. For
            coordinates in nm use ``length_scale=0.1``, ``eps=1e-6`` (inv)
            or ``1e-7`` (inv2) and k0 = 100 x (exp, constant) or 10 x (inv)
            the preset, or scale the coordinates to angstrom; the OpenMM
            force and the LAMMPS styles convert the presets themselves.
        length_scale, eps: lengths of exp/morse and of inv/inv2's regulariser
            (eps in length^2 for inv2), in the coordinates' unit.
        edges: ``"complete"``, ``"sparse"`` (a random globally rigid
            2d-regular graph per system, see ``sparse_rigid_edges``) or an
            int tensor ``[E, 2]`` shared by the batch / ``[B, E, 2]`` per
            system (rows of -1 are padding).
        edge_weights: ``[E]`` / ``[B, E]`` multiplying k. Constants, not
            differentiable: while autograd records, weights that require grad
            are refused with a ValueError naming them (pass ``.detach()``).
        reduction: ``"none"`` (per system ``[B]``), ``"sum"``, ``"mean"``
            (over systems) or ``"mean_pair"`` (each system's energy divided by
            its pair count, averaged over systems). An empty batch ``[0, N, d]``
            gives torch's values: an empty ``[0]``, 0 for ``"sum"``, NaN for
            the means.
        per_atom: divide k0 by the atom count (default: only for presets).
        cutoff: keep only pairs whose reference distance is below it.
        degree, seed, symmetrize: options of ``edges="sparse"``.

    Returns:
        A scalar tensor, or ``[B]`` with ``reduction="none"`` (a scalar for a
        single ``[N, d]`` system).
    """
    pred, ref, mask, single = _as_batch(pred, ref, mask)
    edge_tensor, sparse_weights = _edge_arguments(edges, ref, mask, degree, seed, symmetrize)
    if sparse_weights is not None:
        edge_weights = (sparse_weights if edge_weights is None
                        else edge_weights * sparse_weights.to(edge_weights.device))
    if cutoff == math.inf:  # (NaN goes on to the op, which refuses it)
        cutoff = None
    result = ops.pair_energy_loss(pred, ref, mask, coeff, k0, per_atom, float(length_scale),
                                  float(eps), edge_tensor, edge_weights, cutoff, reduction)
    return result[0] if single and reduction == "none" else result


def pair_energy_terms(pred, ref, mask=None, coeff="exp", k0=None, edges=None, edge_weights=None,
                      per_atom=None, length_scale=1.0, eps=1e-5, cutoff=None):
    """Per-system energies ``[B]``, per-atom shares ``[B, N]`` (each atom gets
    half of each of its pairs) and pair counts ``[B]``; no autograd (inputs
    that require grad are taken as constants)."""
    _refuse_edge_tuple(edges)
    pred, ref, mask, _ = _as_batch(pred, ref, mask)
    return ops.pair_energy_terms(pred, ref, mask, coeff, k0, per_atom, float(length_scale),
                                 float(eps), edges, edge_weights, cutoff)
