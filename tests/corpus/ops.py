"""Corpus kind `ops`: bad tensors and wrong-type arguments for every op."""
import math

import pytest
import torch

import energyloss
from energyloss import baselines, diffusion, graphs, pair, spins
from corpus_common import expect_error

torch.manual_seed(0)
REF = torch.randn(2, 5, 3, dtype=torch.float64)
PRED = REF + 0.1 * torch.randn(2, 5, 3, dtype=torch.float64)
NAN = REF.clone(); NAN[0, 1, 2] = math.nan
INF = REF.clone(); INF[1, 3, 0] = math.inf
NONCONTIG = torch.randn(2, 3, 5, dtype=torch.float64).transpose(1, 2)  # [2, 5, 3], strided
SPARSE = graphs.sparse_rigid_edges(REF[0])
EDGES = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [0, 4]])
JH = torch.randn(1, 4, 3, dtype=torch.float64); JV = torch.randn(1, 3, 4, dtype=torch.float64)
SPINS = torch.ones(1, 4, 4, dtype=torch.float64)


def good():
    return (pair.pair_energy_loss(PRED, REF), baselines.mse_loss(PRED, REF),
            baselines.kabsch_mse(PRED, REF))


LOSSES = {"pair": pair.pair_energy_loss, "mse": baselines.mse_loss,
          "mae": baselines.mae_loss, "kabsch": baselines.kabsch_mse}

# The pair loss also has reduction="mean_pair"; its message names it.
REDUCTIONS = {name: r"reduction must be 'none', 'sum' or 'mean', got 'median'" for name in LOSSES}
REDUCTIONS["pair"] = r"pair_energy_loss: reduction must be 'none', 'sum', 'mean' or 'mean_pair', got 'median'"

CASES = []
for name, op in LOSSES.items():
    CASES += [
        (f"{name}-shape-mismatch", lambda op=op: op(PRED, REF[:, :4]), r"ref has shape \[2, 4, 3\] but pred has shape \[2, 5, 3\]"),
        (f"{name}-last-dim-2", lambda op=op: op(PRED[..., :2], REF), r"ref has shape \[2, 5, 3\] but pred has shape \[2, 5, 2\]"),
        (f"{name}-rank-1", lambda op=op: op(PRED.flatten(), REF.flatten()), r"pred: expected shape \[B, N, d\], got \[30\]"),
        (f"{name}-int-dtype", lambda op=op: op(PRED.long(), REF.long()), r"pred: expected float32 or float64, got Long"),
        (f"{name}-mixed-dtype", lambda op=op: op(PRED.float(), REF), r"ref has dtype Double but pred has dtype Float; convert one of them \(\.float\(\) or \.double\(\)\)"),
        (f"{name}-nan-pred", lambda op=op: op(NAN, REF), r"pred has a non-finite value \(nan\) at system 0, atom 1, coordinate 2"),
        (f"{name}-inf-ref", lambda op=op: op(PRED, INF), r"ref has a non-finite value \(inf\) at system 1, atom 3, coordinate 0"),
        (f"{name}-list-not-tensor", lambda op=op: op(PRED.tolist(), REF), r"pred must be a torch.Tensor, got list"),
        (f"{name}-bad-mask-shape", lambda op=op: op(PRED, REF, mask=torch.ones(2, 4, dtype=torch.bool)), r"mask: expected shape \[2, 5\] to match pred, got \[2, 4\]"),
        (f"{name}-bad-reduction", lambda op=op: op(PRED, REF, reduction="median"), REDUCTIONS[name]),
    ]
# Non-contiguous input is fine and must give the contiguous answer: checked below.
CASES += [
    ("pair-edges-tuple", lambda: pair.pair_energy_loss(PRED, REF, edges=SPARSE), r"edges: got a tuple of \(edges, weights\), as sparse_rigid_edges returns"),
    ("pair-edges-out-of-range", lambda: pair.pair_energy_loss(PRED, REF, edges=torch.tensor([[0, 5]])), r"edge 0 = \(0, 5\) is out of range for 5 atoms"),
    ("pair-edges-negative", lambda: pair.pair_energy_loss(PRED, REF, edges=torch.tensor([[-1, 2]])), r"edge 0 is half padding \(-1, 2\)"),
    ("pair-edges-float", lambda: pair.pair_energy_loss(PRED, REF, edges=EDGES.double()), r"edges: expected an integer tensor, got Double"),
    ("pair-edges-shape", lambda: pair.pair_energy_loss(PRED, REF, edges=torch.tensor([0, 1, 2])), r"edges: expected shape \[E, 2\] or \[2, E, 2\], got \[3\]"),
    ("pair-edges-unknown-string", lambda: pair.pair_energy_loss(PRED, REF, edges="dense"), r"edges must be 'complete', 'sparse' or an index tensor, got 'dense'"),
    ("pair-coeff-unknown", lambda: pair.pair_energy_loss(PRED, REF, coeff="quartic"), r"unknown coefficient mode 'quartic'"),
    ("pair-k0-negative", lambda: pair.pair_energy_loss(PRED, REF, k0=-1.0), r"k0 must be finite and non-negative, got -1"),
    ("pair-k0-nan", lambda: pair.pair_energy_loss(PRED, REF, k0=math.nan), r"k0 must be finite and non-negative, got nan"),
    ("pair-terms-weights-tuple", lambda: pair.pair_energy_terms(PRED, REF, edges=SPARSE), r"edges: got a tuple of \(edges, weights\), as sparse_rigid_edges returns"),
    ("graphs-sparse-degree-too-small", lambda: graphs.sparse_rigid_edges(REF[0], degree=2), r"degree must be at least dim \+ 1 = 4"),
    ("graphs-sparse-dim-4", lambda: graphs.sparse_rigid_edges(torch.randn(6, 4, dtype=torch.float64)), r"ref must have 2 or 3 coordinates, got 4"),
    ("graphs-sparse-nan", lambda: graphs.sparse_rigid_edges(NAN[0]), r"ref has a non-finite value \(nan\) at atom 1, coordinate 2"),
    ("graphs-sparse-batched", lambda: graphs.sparse_rigid_edges(REF[None]), r"ref: expected shape \[N, d\], got \[1, 2, 5, 3\]"),
    ("graphs-regular-negative-degree", lambda: graphs.random_regular_graph(5, -1), r"degree must be non-negative, got -1"),
    ("graphs-rigidity-tuple", lambda: graphs.rigidity(SPARSE, REF[0]), r"edges: got a tuple of \(edges, weights\), as sparse_rigid_edges returns"),
    ("graphs-rigidity-out-of-range", lambda: graphs.rigidity(torch.tensor([[0, 9]]), REF[0]), r"edge 0 = \(0, 9\) must satisfy 0 <= i < j < 5"),
    ("graphs-symmetrize-tuple", lambda: graphs.symmetrize_edges(SPARSE, torch.arange(5)[None]), r"edges: got a tuple of \(edges, weights\), as sparse_rigid_edges returns"),
    ("graphs-automorphisms-nan", lambda: graphs.automorphisms(NAN[0]), r"positions has a non-finite value \(nan\) at atom 1"),
    ("kabsch-align-shape", lambda: baselines.kabsch_align(PRED, REF[:, :4]), r"ref has shape \[2, 4, 3\] but pred has shape \[2, 5, 3\]"),
    ("spins-ising-shape", lambda: spins.ising_energy(SPINS, JH[:, :3], JV), r"Jh: expected shape \[B, L, L-1\] = \[1, 4, 3\] to match spins, got \[1, 3, 3\]"),
    ("spins-ising-nan", lambda: spins.ising_energy(SPINS, JH * math.nan, JV), r"Jh has a non-finite value \(nan\) at \[0, 0, 0\]"),
    ("spins-lfe-target-shape", lambda: spins.local_field_energy_loss(SPINS, SPINS[:, :3], JH, JV), r"target has shape \[1, 3, 4\] but logits has shape \[1, 4, 4\]"),
    ("spins-lfe-temperature", lambda: spins.local_field_energy_loss(SPINS, SPINS, JH, JV, temperature=-1.0), r"temperature must be finite and >= 0, got -1"),
    ("spins-bce-shape", lambda: spins.spin_bce_loss(SPINS, SPINS[:, :2]), r"target has shape \[1, 2, 4\] but logits has shape \[1, 4, 4\]"),
    ("spins-bce-nan", lambda: spins.spin_bce_loss(SPINS * math.nan, SPINS), r"logits has a non-finite value \(nan\) at \[0, 0\]"),
    ("spins-margin-shape", lambda: spins.spin_margin_loss(SPINS, SPINS[:, :2]), r"target has shape \[1, 2, 4\] but logits has shape \[1, 4, 4\]"),
    ("spins-ground-state-shape", lambda: spins.ising_ground_state(JH, JV[:, :2]), r"Jv: expected shape \[B, L-1, L\] = \[1, 3, 4\] to match Jh, got \[1, 2, 4\]"),
    ("spins-ground-state-jh-shape", lambda: spins.ising_ground_state(JH[:, :3], JV), r"Jh: expected shape \[B, L, L-1\] \(L x L lattices\), got \[1, 3, 3\]"),
    ("diffusion-schedule-kind", lambda: diffusion.noise_schedule(torch.rand(4), kind="zigzag"), r"kind must be 'polynomial' or 'cosine', got 'zigzag'"),
    ("diffusion-x0-shape", lambda: diffusion.x0_from_eps(REF, REF[:, :4], 0.5, 0.5), r"eps_hat has shape \[2, 4, 3\] but x_t has shape \[2, 5, 3\]"),
    ("noise-seeded-normal-negative", lambda: energyloss.noise.seeded_normal([-1, 3], 0), r"shape\[0\] is -1; sizes must be >= 0"),
]


@pytest.mark.parametrize("name,bad,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_tensor(name, bad, pattern):
    expect_error(bad, pattern, good)


def test_non_contiguous_gives_contiguous_answer():
    for op in LOSSES.values():
        torch.testing.assert_close(op(NONCONTIG, REF), op(NONCONTIG.contiguous(), REF))
