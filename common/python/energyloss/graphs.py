"""Edge sets for the sparse pair energy loss (paper sec. 4.3, A.5, eq. 57).

The complete graph makes the pair loss O(N^2). A random 2d-regular graph
(d = dimension) has O(N) edges and is globally rigid with high probability,
so the loss keeps exactly the same minimisers (the isometric copies of the
reference). For molecules the graph can be symmetrised over the
automorphisms of the reference distance matrix, so symmetric atoms get
symmetric gradients.

Edges are int64 tensors [E, 2] with i < j, sorted. Everything runs on the CPU.
"""
from collections import namedtuple
import warnings

from ._library import ops
from .pair import _refuse_edge_tuple

__all__ = [
    "random_regular_graph",
    "sparse_rigid_edges",
    "rigidity",
    "Rigidity",
    "automorphisms",
    "symmetrize_edges",
]

Rigidity = namedtuple(
    "Rigidity",
    [
        "rigid",  # infinitesimally rigid: rigidity_rank == expected_rank
        "globally_rigid",  # rigid and stress_rank == expected_stress_rank
        "rigidity_rank",  # rank of the |E| x (n d) rigidity matrix
        "expected_rank",  # n d - d (d + 1) / 2, or n (n - 1) / 2 when n <= d + 1
        "stress_dimension",  # |E| - rigidity_rank (equilibrium stresses)
        "stress_rank",  # rank of the stress matrix of a random stress
        "expected_stress_rank",  # n - d - 1 (0 when n <= d + 1)
    ],
)
Rigidity.__doc__ = "Result of :func:`rigidity`; ``rigid`` and ``globally_rigid`` come first."


def random_regular_graph(n, degree, seed=0):
    """Random simple ``degree``-regular graph on ``n`` vertices: int64 [E, 2].

    Deterministic for a seed on every platform. ``n <= degree + 1`` gives the
    complete graph; when ``n * degree`` is odd one vertex (chosen from the
    seed) gets ``degree + 1`` neighbours. n = 300,000 with degree 6 takes a
    fraction of a second.
    """
    return ops.random_regular_graph(int(n), int(degree), int(seed))


def sparse_rigid_edges(ref, degree=None, seed=0, symmetrize=False, verify=True, max_tries=100,
                       verify_max_atoms=500, tolerance=1e-5, max_automorphisms=10000):
    """Sparse globally rigid edges over the reference atoms ``ref`` [N, d].

    Draws random ``degree``-regular graphs (default ``2 d``) until one passes
    the generic global-rigidity test (when ``verify``; the dense test is
    skipped above ``verify_max_atoms`` atoms), then, when ``symmetrize``,
    symmetrises it over the automorphisms of ``ref``'s distance matrix
    (eq. 57; distances equal within ``tolerance`` times the largest one).

    Returns ``(edges, weights)``: int64 [E, 2] and [E] in ``ref``'s dtype.
    Weights are 1 unless symmetrised; then each edge's weight is the
    fraction of the group mapping some drawn edge onto it, so they sum to
    the drawn edge count. Pass both to the pair loss (``edges=``,
    ``edge_weights=``). Raises if no rigid graph turned up in ``max_tries``
    draws, for bad positions, ``d`` not in {2, 3} or ``degree < d + 1``
    (``ValueError``, like every input error of the package).
    """
    return ops.sparse_rigid_edges(ref, 0 if degree is None else int(degree), int(seed),
                                  bool(symmetrize), bool(verify), int(max_tries),
                                  int(verify_max_atoms), float(tolerance), int(max_automorphisms))


def rigidity(edges, positions=None, n=None, dim=None, seed=0):
    """Rigidity of the graph ``edges`` (int64 [E, 2], i < j, no repeats).

    Checks the rank of the rigidity matrix (infinitesimal rigidity) and the
    Connelly / Gortler-Healy-Thurston stress test (a random equilibrium
    stress whose stress matrix has rank n - d - 1 means generically globally
    rigid). ``positions`` [n, d]: check that configuration; ``None``: a random
    generic configuration drawn from ``seed`` (then ``dim`` is required and
    ``n`` defaults to the largest index + 1). Dense: up to 1000 atoms.
    Returns a :class:`Rigidity` named tuple.
    """
    _refuse_edge_tuple(edges)
    if positions is not None:
        n = positions.shape[0] if n is None else n
        dim = positions.shape[1] if dim is None else dim
    if dim is None:
        raise ValueError("rigidity: give positions or dim")
    if n is None:
        n = int(edges.max()) + 1 if edges.numel() > 0 else 1
    return Rigidity(*ops.rigidity(edges, int(n), int(dim), positions, int(seed)))


def automorphisms(ref, tolerance=1e-5, max_count=10000, labels=None):
    """Permutations of the atoms of ``ref`` [N, d] that keep every distance.

    Returns int64 [G, N], row g mapping atom i to ``row[i]``, the identity
    first: the dihedral group for a regular polygon, only the identity for
    points in general position. ``labels`` (int64 [N], e.g. elements) must be
    kept too. Distances count as equal within ``tolerance`` times the
    largest distance. Warns when the search stopped at ``max_count``.
    """
    permutations, capped = ops.automorphisms(ref, float(tolerance), int(max_count), labels)
    if capped:
        warnings.warn(f"automorphisms: stopped at max_count = {max_count}; the list is incomplete",
                      RuntimeWarning, stacklevel=2)
    return permutations


def symmetrize_edges(edges, permutations):
    """Eq. 57: symmetrise ``edges`` [E, 2] over a group of ``permutations`` [G, N].

    Returns the union of the images (int64 [E', 2], sorted) and float64
    weights [E']: how many group elements map some input edge onto each
    edge, over G. The weights sum to E and are invariant under the group.
    ``permutations`` must be a complete group (e.g. from :func:`automorphisms`).
    """
    _refuse_edge_tuple(edges)
    return ops.symmetrize_edges(edges, permutations)
