"""Edge-set builders through the Python package: results checked against
independent Python computations (brute-force automorphisms, torch rank of the
rigidity matrix, a direct eq. 57) and against the raw ops."""
import itertools
import math

import pytest
import torch

import energyloss
from energyloss import graphs


def polygon(n, dtype=torch.float64):
    angle = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    return torch.stack([angle.cos(), angle.sin()], dim=1).to(dtype)


def degrees(edges, n):
    return torch.bincount(edges.reshape(-1), minlength=n)


def rigidity_matrix(edges, positions):
    n, dim = positions.shape
    matrix = torch.zeros(edges.shape[0], n * dim, dtype=torch.float64)
    for k, (i, j) in enumerate(edges.tolist()):
        difference = positions[i] - positions[j]
        matrix[k, i * dim:(i + 1) * dim] = difference
        matrix[k, j * dim:(j + 1) * dim] = -difference
    return matrix


def brute_force_automorphisms(points, tolerance=1e-9):
    distances = torch.cdist(points, points)
    n = points.shape[0]
    found = set()
    for permutation in itertools.permutations(range(n)):
        index = torch.tensor(permutation)
        if torch.allclose(distances[index][:, index], distances, atol=tolerance):
            found.add(permutation)
    return found


def direct_symmetrization(edges, permutations):
    counts = {}
    for permutation in permutations.tolist():
        for i, j in edges.tolist():
            a, b = sorted((permutation[i], permutation[j]))
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return {edge: count / permutations.shape[0] for edge, count in counts.items()}


def test_exports():
    for name in graphs.__all__:
        assert getattr(energyloss, name) is getattr(graphs, name)


def test_random_regular_graph_matches_op_and_is_regular():
    edges = energyloss.random_regular_graph(50, 4, seed=3)
    assert edges.dtype == torch.int64 and edges.shape == (100, 2)
    assert torch.equal(edges, torch.ops.energyloss.random_regular_graph(50, 4, 3))
    assert bool((edges[:, 0] < edges[:, 1]).all())
    assert len({tuple(e) for e in edges.tolist()}) == 100
    assert bool((degrees(edges, 50) == 4).all())
    assert torch.equal(edges, energyloss.random_regular_graph(50, 4, seed=3))
    assert not torch.equal(edges, energyloss.random_regular_graph(50, 4, seed=4))
    complete = energyloss.random_regular_graph(4, 6)
    assert complete.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]


@pytest.mark.parametrize("dim", [2, 3])
def test_rigidity_ranks_match_torch_rank(dim):
    generator = torch.Generator().manual_seed(dim)
    for seed in range(4):
        n = 10
        edges = energyloss.random_regular_graph(n, dim + 1 + seed % 3, seed)
        positions = torch.rand(n, dim, generator=generator, dtype=torch.float64)
        result = energyloss.rigidity(edges, positions)
        rank = int(torch.linalg.matrix_rank(rigidity_matrix(edges, positions)))
        assert result.rigidity_rank == rank
        assert result.stress_dimension == edges.shape[0] - rank
        assert result.expected_rank == n * dim - dim * (dim + 1) // 2
        assert result.rigid == (rank == result.expected_rank)


def test_rigidity_known_graphs():
    k4 = torch.tensor([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
    rigid, globally_rigid, *_ = energyloss.rigidity(k4, dim=2)
    assert rigid and globally_rigid
    k4_minus_edge = k4[:5]
    result = energyloss.rigidity(k4_minus_edge, dim=2)
    assert result.rigid and not result.globally_rigid
    assert (result.rigidity_rank, result.stress_dimension, result.stress_rank) == (5, 0, 0)
    square = torch.tensor([[0, 1], [1, 2], [2, 3], [0, 3]])
    assert not energyloss.rigidity(square, dim=2).rigid
    collinear = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.5, 0.0]])
    triangle = torch.tensor([[0, 1], [0, 2], [1, 2]])
    assert energyloss.rigidity(triangle, collinear).rigidity_rank == 2
    assert energyloss.rigidity(triangle, dim=2).globally_rigid


@pytest.mark.parametrize("n", [3, 5, 6])
def test_automorphisms_match_brute_force(n):
    generator = torch.Generator().manual_seed(n)
    for points in (polygon(n), torch.rand(n, 3, generator=generator, dtype=torch.float64)):
        permutations = energyloss.automorphisms(points)
        assert permutations.dtype == torch.int64
        assert permutations[0].tolist() == list(range(n))
        found = {tuple(p) for p in permutations.tolist()}
        assert len(found) == permutations.shape[0]
        assert found == brute_force_automorphisms(points)


def test_automorphisms_methane_labels_and_cap():
    methane = torch.tensor([[0, 0, 0], [1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
                           dtype=torch.float32)
    assert energyloss.automorphisms(methane).shape == (24, 5)
    labels = torch.tensor([0, 1, 1, 2, 2])
    kept = energyloss.automorphisms(methane, labels=labels)
    assert kept.shape == (4, 5)
    assert bool((labels[kept] == labels).all())
    with pytest.warns(RuntimeWarning, match="max_count"):
        capped = energyloss.automorphisms(polygon(10), max_count=7)
    assert capped.shape == (7, 10)


def test_symmetrize_edges_matches_direct_eq57():
    points = polygon(9)
    group = energyloss.automorphisms(points)
    edges = energyloss.random_regular_graph(9, 4, seed=1)
    symmetric, weights = energyloss.symmetrize_edges(edges, group)
    expected = direct_symmetrization(edges, group)
    assert sorted(expected) == [tuple(e) for e in symmetric.tolist()]
    assert weights.dtype == torch.float64
    for edge, weight in zip(symmetric.tolist(), weights.tolist()):
        assert weight == pytest.approx(expected[tuple(edge)])
    assert float(weights.sum()) == pytest.approx(edges.shape[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_rigid_edges(dtype):
    points = polygon(16, dtype)
    edges, weights = energyloss.sparse_rigid_edges(points, seed=5)
    assert weights.dtype == dtype and torch.equal(weights, torch.ones(32, dtype=dtype))
    assert bool((degrees(edges, 16) == 4).all())
    assert energyloss.rigidity(edges, dim=2, seed=77).globally_rigid
    again, _ = energyloss.sparse_rigid_edges(points, seed=5)
    assert torch.equal(edges, again)
    op_edges, _ = torch.ops.energyloss.sparse_rigid_edges(points, 0, 5, False, True)
    assert torch.equal(edges, op_edges)

    symmetric, sym_weights = energyloss.sparse_rigid_edges(points, seed=5, symmetrize=True)
    assert float(sym_weights.sum()) == pytest.approx(32)
    lookup = {tuple(e): w for e, w in zip(symmetric.tolist(), sym_weights.tolist())}
    for permutation in energyloss.automorphisms(points).tolist():
        for (i, j), weight in lookup.items():
            image = tuple(sorted((permutation[i], permutation[j])))
            assert lookup[image] == pytest.approx(weight)


def test_bad_input_raises():
    points = polygon(8)
    with pytest.raises(ValueError, match="ref"):
        energyloss.sparse_rigid_edges(points.reshape(-1))
    with pytest.raises(ValueError, match="non-finite"):
        energyloss.sparse_rigid_edges(torch.full((8, 2), float("nan")))
    with pytest.raises(ValueError, match="degree"):
        energyloss.sparse_rigid_edges(points, degree=2)
    with pytest.raises(ValueError, match="2 or 3"):
        energyloss.sparse_rigid_edges(torch.rand(8, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_tries"):
        energyloss.sparse_rigid_edges(torch.rand(20, 2, dtype=torch.float64), degree=3,
                                      max_tries=3)
    with pytest.raises(ValueError, match="int64"):
        energyloss.rigidity(torch.tensor([[0.0, 1.0]]), dim=2)
    with pytest.raises(ValueError, match="edge 0"):
        energyloss.rigidity(torch.tensor([[1, 0]]), dim=2)
    with pytest.raises(ValueError, match="positions"):
        energyloss.rigidity(torch.tensor([[0, 1]]), torch.rand(3, 2), n=2)
    with pytest.raises(ValueError):
        energyloss.rigidity(torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="labels"):
        energyloss.automorphisms(points, labels=torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="degree"):
        energyloss.random_regular_graph(10, -1)
    with pytest.raises(ValueError, match="permutation"):
        energyloss.symmetrize_edges(torch.tensor([[0, 1]]), torch.tensor([[0, 0, 1]]))
