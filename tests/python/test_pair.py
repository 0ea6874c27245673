"""pair_energy_loss against the dense reference formulation written with torch ops."""
import math
import re

import pytest
import torch

import energyloss

PRESETS = {"exp": 24.0, "inv": 3.7, "inv2": 9.0, "constant": 1.0, "lj": 72.0, "morse": 1.0}


def dense_reference(pred, ref, coeff, mask=None, eps=1e-5, k0=None):
    """The reference way: full [B, N, N] distance matrices and torch autograd."""
    dp = torch.cdist(pred, pred)
    dr = torch.cdist(ref, ref)
    n = ref.shape[1] if mask is None else mask.sum(1, keepdim=True).unsqueeze(-1)
    per_atom = k0 is None and coeff in ("exp", "inv", "inv2")
    prefactor = (PRESETS[coeff] if k0 is None else k0) / (n if per_atom else 1)
    if coeff == "exp":
        k = prefactor * torch.exp(-dr)
    elif coeff == "inv":
        k = prefactor / (dr + eps)
    elif coeff == "inv2":
        k = prefactor / (dr**2 + eps)
    elif coeff == "constant":
        k = prefactor * torch.ones_like(dr)
    elif coeff == "lj":
        k = prefactor / torch.where(dr > 0, dr, torch.ones_like(dr)) ** 2
    elif coeff == "morse":
        k = 2 * prefactor * torch.ones_like(dr)
    pair = torch.triu(torch.ones_like(dr, dtype=torch.bool), diagonal=1)
    if mask is not None:
        pair = pair & mask[:, :, None] & mask[:, None, :]
    return (0.5 * k * (dp - dr) ** 2 * pair).sum((1, 2))


def random_batch(B, N, d, dtype=torch.float64, seed=0, noise=0.5):
    g = torch.Generator().manual_seed(seed)
    ref = torch.randn(B, N, d, generator=g, dtype=dtype)
    pred = ref + noise * torch.randn(B, N, d, generator=g, dtype=dtype)
    return pred, ref


@pytest.mark.parametrize("coeff", sorted(PRESETS))
@pytest.mark.parametrize("d", [2, 3])
def test_values_and_gradients_match_dense_reference(coeff, d):
    pred, ref = random_batch(4, 13, d, seed=d)
    pred.requires_grad_(True)
    ref.requires_grad_(True)
    ours = energyloss.pair_energy_loss(pred, ref, coeff=coeff, reduction="none")
    expected = dense_reference(pred, ref, coeff)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
    g_ours = torch.autograd.grad(ours.sum(), (pred, ref))
    g_ref = torch.autograd.grad(expected.sum(), (pred, ref))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_masked_padding_matches_unpadded_systems():
    pred, ref = random_batch(3, 10, 3, seed=4)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[1, 7:] = False
    mask[2, 4:] = False
    ours = energyloss.pair_energy_loss(pred, ref, mask=mask, reduction="none")
    torch.testing.assert_close(ours, dense_reference(pred, ref, "exp", mask=mask))
    for b in range(3):
        n = int(mask[b].sum())
        alone = energyloss.pair_energy_loss(pred[b, :n], ref[b, :n], reduction="none")
        torch.testing.assert_close(ours[b], alone)


def test_gradcheck_against_finite_differences():
    pred, ref = random_batch(2, 6, 3, seed=7)
    pred.requires_grad_(True)
    ref.requires_grad_(True)
    for coeff in ("exp", "inv2", "lj"):
        assert torch.autograd.gradcheck(
            lambda p, r: energyloss.pair_energy_loss(p, r, coeff=coeff, reduction="none"),
            (pred, ref))


def test_reductions_and_float32():
    pred, ref = random_batch(5, 8, 2, seed=2)
    per_system = energyloss.pair_energy_loss(pred, ref, reduction="none")
    torch.testing.assert_close(energyloss.pair_energy_loss(pred, ref), per_system.sum())
    torch.testing.assert_close(energyloss.pair_energy_loss(pred, ref, reduction="mean"),
                               per_system.mean())
    torch.testing.assert_close(energyloss.pair_energy_loss(pred, ref, reduction="mean_pair"),
                               (per_system / 28).mean())
    as_float = energyloss.pair_energy_loss(pred.float(), ref.float(), reduction="none")
    assert as_float.dtype == torch.float32
    torch.testing.assert_close(as_float.double(), per_system, rtol=1e-5, atol=1e-6)


def test_explicit_edges_and_weights():
    pred, ref = random_batch(2, 6, 3, seed=3)
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3]])
    k = torch.tensor([1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 0.25], dtype=torch.float64)
    ours = energyloss.pair_energy_loss(pred, ref, coeff="explicit", edges=edges,
                                       edge_weights=k, reduction="none")
    i, j = edges[:, 0], edges[:, 1]
    r = (pred[:, i] - pred[:, j]).norm(dim=-1)
    r0 = (ref[:, i] - ref[:, j]).norm(dim=-1)
    torch.testing.assert_close(ours, (0.5 * k * (r - r0) ** 2).sum(1))


@pytest.mark.parametrize("edges_kind", ["tensor", "sparse"])
def test_edge_weights_that_require_grad_are_refused_by_name(edges_kind):
    """The loss has no gradient with respect to edge_weights (constants): weights
    that require grad used to be accepted and silently keep .grad None; now
    refused by name while autograd records. Without autograd recording, the
    same weights give the explicit-k energy, computed here independently."""
    pred, ref = random_batch(2, 6, 3, seed=3)
    if edges_kind == "tensor":
        edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3]])
        k = torch.tensor([1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 0.25], dtype=torch.float64)
    else:  # the wrapper multiplies the sparse graph's weights into them
        edges = "sparse"
        k = torch.tensor(2.0, dtype=torch.float64)
    weights = k.clone().requires_grad_()
    p = pred.clone().requires_grad_()
    message = ("energyloss: pair_energy_loss: edge_weights requires grad, but pair_energy_loss "
               "is not differentiable with respect to edge_weights; the weights are constants: "
               "pass edge_weights.detach()")
    with pytest.raises(ValueError) as raised:
        energyloss.pair_energy_loss(p, ref, coeff="explicit", edges=edges, edge_weights=weights)
    assert str(raised.value).splitlines()[0] == message
    assert weights.grad is None
    if edges_kind == "sparse":
        return
    i, j = edges[:, 0], edges[:, 1]
    r = (pred[:, i] - pred[:, j]).norm(dim=-1)
    r0 = (ref[:, i] - ref[:, j]).norm(dim=-1)
    expected = (0.5 * k * (r - r0) ** 2).sum(1)
    detached = energyloss.pair_energy_loss(p, ref, coeff="explicit", edges=edges,
                                           edge_weights=weights.detach(), reduction="none")
    torch.testing.assert_close(detached, expected)
    with torch.no_grad():
        torch.testing.assert_close(energyloss.pair_energy_loss(
            p, ref, coeff="explicit", edges=edges, edge_weights=weights, reduction="none"), expected)
    # pair_energy_terms has no autograd at all (pred and ref are taken as
    # constants too): it takes such weights, and its outputs have no graph.
    energy, _, pairs = energyloss.pair_energy_terms(p, ref, coeff="explicit", edges=edges,
                                                    edge_weights=weights)
    torch.testing.assert_close(energy, expected)
    assert energy.grad_fn is None and pairs.tolist() == [7, 7]


@pytest.mark.parametrize("layout", ["shared", "per_system"])
@pytest.mark.parametrize("coeff", ["exp", "explicit"])
def test_an_empty_edge_list_has_no_pairs(layout, coeff):
    """Zero edges is a sum over no pairs (0), never the complete graph (an
    empty tensor's data pointer may be null, the kernels' complete-graph mark)."""
    pred, ref = random_batch(2, 5, 3, seed=4)
    shape = (0, 2) if layout == "shared" else (2, 0, 2)
    edges = torch.empty(shape, dtype=torch.long)
    weights = torch.empty(shape[:-1], dtype=torch.float64) if coeff == "explicit" else None
    p = pred.clone().requires_grad_()
    loss = energyloss.pair_energy_loss(p, ref, coeff=coeff, edges=edges, edge_weights=weights,
                                       reduction="none")
    assert torch.equal(loss, torch.zeros(2, dtype=torch.float64))
    (grad,) = torch.autograd.grad(loss.sum(), p)
    assert torch.equal(grad, torch.zeros_like(pred))
    energy, atom_energy, pairs = energyloss.pair_energy_terms(pred, ref, coeff=coeff, edges=edges,
                                                              edge_weights=weights)
    assert pairs.tolist() == [0, 0] and not energy.any() and not atom_energy.any()


def test_cutoff_equals_dense_reference_restricted_to_short_pairs():
    pred, ref = random_batch(2, 20, 3, seed=8)
    ours = energyloss.pair_energy_loss(pred, ref, coeff="constant", cutoff=1.0, reduction="none")
    dp, dr = torch.cdist(pred, pred), torch.cdist(ref, ref)
    keep = torch.triu(dr < 1.0, diagonal=1)
    torch.testing.assert_close(ours, (0.5 * (dp - dr) ** 2 * keep).sum((1, 2)))


def test_edges_touching_a_masked_atom_are_skipped():
    """README: an edge with a masked-out atom at either end counts as no edge."""
    pred, ref = random_batch(2, 5, 3, seed=11)
    pred[1, 4] = math.nan  # padding is never read
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 4] = False
    edges = torch.tensor([[0, 1], [1, 4], [2, 3], [4, 0], [3, 1]])
    ours = energyloss.pair_energy_loss(pred, ref, mask=mask, edges=edges, coeff="constant",
                                       reduction="none")
    def naive(b, kept):
        return sum(0.5 * (torch.dist(ref[b, i], ref[b, j]) - torch.dist(pred[b, i], pred[b, j])) ** 2
                   for i, j in kept)
    every = edges.tolist()
    torch.testing.assert_close(ours[0], naive(0, every))
    torch.testing.assert_close(ours[1], naive(1, [e for e in every if 4 not in e]))


def test_an_infinite_cutoff_is_none_and_other_non_positive_ones_are_refused():
    pred, ref = random_batch(2, 6, 3, seed=5)
    everything = energyloss.pair_energy_loss(pred, ref, reduction="none")
    torch.testing.assert_close(energyloss.pair_energy_loss(pred, ref, cutoff=math.inf,
                                                           reduction="none"), everything)
    for bad, shown in ((math.nan, "nan"), (-math.inf, "-inf"), (0.0, "0"), (-1.0, "-1")):
        with pytest.raises(ValueError, match=f"cutoff must be positive, got {shown}$"):
            energyloss.pair_energy_loss(pred, ref, cutoff=bad)


@pytest.mark.parametrize("dtype, kwargs, message", [
    (torch.float32, {"coeff": "inv", "eps": 1e-40}, "eps (1e-40) is below the smallest normal float"),
    # 9 / 1e-310 overflows before eps is compared with the dtype.
    (torch.float64, {"coeff": "inv2", "eps": 1e-310},
     "'inv2': k overflows a double (k0 = 9, eps = 1e-310)"),
    (torch.float32, {"coeff": "exp", "k0": 1e300},
     "mode 'exp' gives k up to 1e+300, beyond the largest float"),
    # 2 k0 / length_scale^2 = 2e40: each argument is a normal float, k is not.
    (torch.float32, {"coeff": "morse", "length_scale": 1e-20},
     "mode 'morse' gives k up to 2e+40, beyond the largest float"),
    (torch.float64, {"coeff": "morse", "length_scale": 1e-200},
     "'morse': k overflows a double (k0 = 1, length_scale = 1e-200)"),  # no eps: unused
    (torch.float32, {"coeff": "inv", "k0": 1e10, "eps": 1e-30},
     "mode 'inv' gives k up to 1e+40, beyond the largest float"),
    (torch.float32, {"coeff": "morse", "length_scale": 1e-39},
     "length_scale (1e-39) is below the smallest normal float"),
])
def test_parameters_outside_the_dtypes_range_are_refused(dtype, kwargs, message):
    """They pass as doubles but would make k infinite (or 0 x inf) in the
    kernel's dtype: every energy came out NaN."""
    pred, ref = random_batch(2, 4, 3, seed=6)
    with pytest.raises(ValueError, match=re.escape(message)):
        energyloss.pair_energy_loss(pred.to(dtype), ref.to(dtype), **kwargs)


@pytest.mark.parametrize("dtype, far", [(torch.float32, 1e20), (torch.float64, 1e308)])
def test_a_loss_that_overflows_the_dtype_is_refused_not_passed_on(dtype, far):
    """Finite coordinates whose distances overflow (inf - inf): the loss was NaN."""
    pred, ref = random_batch(2, 4, 3, seed=7)
    pred, ref = pred.to(dtype), ref.to(dtype)
    pred[1, 0, 0], pred[1, 1, 0] = far, -far
    name = "float" if dtype == torch.float32 else "double"
    with pytest.raises(ValueError, match=f"the loss of system 1 overflows {name}"):
        energyloss.pair_energy_loss(pred, ref, coeff="constant")
    pred[1, 0, 0], pred[1, 1, 0] = far ** 0.4, -far ** 0.4  # representable: as cdist says
    dp, dr = torch.cdist(pred.double(), pred.double()), torch.cdist(ref.double(), ref.double())
    naive = (0.25 * (dp - dr) ** 2).sum((1, 2))
    ours = energyloss.pair_energy_loss(pred, ref, coeff="constant", reduction="none")
    torch.testing.assert_close(ours.double(), naive, rtol=1e-5, atol=0)


def test_small_normal_eps_is_finite():
    pred, ref = random_batch(2, 4, 3, seed=6)
    for dtype, eps in ((torch.float32, 1e-30), (torch.float64, 1e-300)):
        loss = energyloss.pair_energy_loss(pred.to(dtype), ref.to(dtype), coeff="inv", eps=eps)
        assert torch.isfinite(loss)


def test_invariant_to_isometries_of_either_argument():
    pred, ref = random_batch(1, 12, 3, seed=9)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    shift = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    base = energyloss.pair_energy_loss(pred, ref)
    for reflect in (1.0, -1.0):
        m = q * torch.tensor([reflect, 1.0, 1.0], dtype=torch.float64)
        torch.testing.assert_close(energyloss.pair_energy_loss(pred @ m + shift, ref), base)
        torch.testing.assert_close(energyloss.pair_energy_loss(pred, ref @ m - shift), base)


def test_zero_gradient_at_coincident_atoms():
    ref = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    pred = torch.tensor([[0.5, 0.5, 0], [0.5, 0.5, 0], [2, 2, 0]], dtype=torch.float64,
                        requires_grad=True)
    loss = energyloss.pair_energy_loss(pred, ref)
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_large_complete_graph_runs_in_bounded_memory():
    # 20k atoms = 2e8 pairs: the dense reference would need [20k, 20k] matrices
    # (3.2 GB each); the fused op only needs O(N).
    pred, ref = random_batch(1, 20000, 3, dtype=torch.float32, seed=1)
    pred.requires_grad_(True)
    energyloss.pair_energy_loss(pred, ref).backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p, r: energyloss.pair_energy_loss(p, r[:, :5]), "shape"),
        (lambda p, r: energyloss.pair_energy_loss(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4)),
         "2 or 3 coordinates"),
        (lambda p, r: energyloss.pair_energy_loss(p * float("nan"), r), "non-finite"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, k0=-1.0), "non-negative"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, mask=torch.zeros(2, 6, dtype=torch.bool)),
         "selects no atom"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, edges=torch.tensor([[0, 9]])),
         "out of range"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, coeff="gauss"), "unknown coefficient"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, reduction="max"), "reduction"),
        (lambda p, r: energyloss.pair_energy_loss(p, r, edges="ring"), "edges must be"),
    ],
)
def test_bad_input_raises_clear_errors(call, message):
    pred, ref = random_batch(2, 6, 3)
    with pytest.raises((RuntimeError, ValueError), match=message):
        call(pred, ref)


def test_coefficient_modes_come_from_the_kernel_and_each_is_accepted():
    """COEFFICIENT_MODES is read from C++ (energyloss.ops.coefficient_modes):
    every preset mode and explicit, each accepted by the op, and the same
    names the op's unknown-mode error lists."""
    assert energyloss.COEFFICIENT_MODES == ("constant", "exp", "inv", "inv2", "lj", "morse",
                                            "explicit")
    pred, ref = random_batch(1, 5, 3, seed=3)
    edges = torch.tensor([[0, 1], [1, 2], [2, 4]])
    for mode in energyloss.COEFFICIENT_MODES:
        extra = {"edges": edges, "edge_weights": torch.ones(3, dtype=ref.dtype)} \
            if mode == "explicit" else {}
        assert torch.isfinite(energyloss.pair_energy_loss(pred, ref, coeff=mode, **extra))
    with pytest.raises((RuntimeError, ValueError),
                       match="expected one of " + ", ".join(energyloss.COEFFICIENT_MODES)):
        energyloss.pair_energy_loss(pred, ref, coeff="quartic")


def test_gradient_descent_reaches_isometric_copy():
    _, ref = random_batch(1, 10, 3, seed=12)
    start = ref + 0.4 * torch.randn(ref.shape, dtype=torch.float64,
                                    generator=torch.Generator().manual_seed(1))
    for edges in ("complete", "sparse"):
        x = start.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([x], max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = energyloss.pair_energy_loss(x, ref, coeff="constant", edges=edges, seed=3)
            loss.backward()
            return loss

        for _ in range(5):
            opt.step(closure)
        assert kabsch_rmsd(x.detach()[0], ref[0]) < 1e-3, edges


def kabsch_rmsd(a, b):
    """RMSD after the best orthogonal alignment (reflections allowed)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    u, _, vt = torch.linalg.svd(a.T @ b)
    return math.sqrt(((a @ (u @ vt) - b) ** 2).sum(1).mean())


def test_second_derivatives_are_refused_not_silently_zero():
    pred, ref = random_batch(1, 5, 3)
    pred.requires_grad_(True)
    loss = energyloss.pair_energy_loss(pred, ref)
    with pytest.raises((RuntimeError, ValueError), match="second derivatives"):
        torch.autograd.grad(loss, pred, create_graph=True)
