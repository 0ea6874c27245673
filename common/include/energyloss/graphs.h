// Edge sets for the pair energy loss (paper sec. 4.3, A.5, eq. 57): random
// regular graphs, rigidity checks (rigidity-matrix rank and the
// Connelly / Gortler-Healy-Thurston stress test), automorphisms of a
// reference distance matrix, and the sparse globally rigid edge sets built
// from them, optionally symmetrised over those automorphisms.
//
// Edges are undirected pairs (i, j) with i < j. An EdgeList is laid out
// exactly like a row-major int64 [E, 2] array, so adapters can copy it
// wholesale. Every builder returns its edges sorted lexicographically.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace energyloss {

using Edge = std::array<int64_t, 2>;
using EdgeList = std::vector<Edge>;
static_assert(sizeof(Edge) == 2 * sizeof(int64_t), "Edge must be laid out as int64[2]");

// ---------------------------------------------------------------------------
// Random regular graphs
// ---------------------------------------------------------------------------

// A simple (no self loops, no multi-edges) random graph on n vertices where
// every vertex has `degree` neighbours: a uniformly random pairing of the
// n * degree stubs (configuration model), whose few self loops / repeated
// pairs are repaired by random edge switches (u-v rejected, x-y random:
// becomes u-x, v-y). Near-uniform, not exactly uniform. Deterministic for a
// seed on every platform: only std::mt19937_64 output and our own
// Fisher-Yates / bounded-integer draws are used. Dense cases
// (degree > (n - 1) / 2) draw the sparse complement instead.
// - n <= degree + 1: the complete graph K_n (the densest simple graph).
// - n * degree odd: no such graph exists; one vertex, picked from the seed,
//   gets degree + 1 neighbours.
// O(n * degree) expected time: n = 300,000, degree 6 takes well under a second.
// (Named apart from the torch-layer random_regular_graph so calls with plain
// int arguments stay unambiguous when both headers are included.)
EdgeList random_regular_edges(int64_t n, int64_t degree, uint64_t seed);

// All n (n - 1) / 2 pairs.
EdgeList complete_graph(int64_t n);

// Throws Error (naming `argument` and the edge indices) unless every edge has
// 0 <= i < j < n and no edge repeats. Edges with i > j are also rejected:
// builders normalise, callers must too.
void check_edges(const EdgeList& edges, int64_t n, const char* argument);

// The smallest distance between two of the n points `positions` ([n, 3]),
// or the first one found below `stop_below`, where the search stops: "does a
// cutoff leave any pair?" ends at the first pair within it. inf for n < 2.
double nearest_pair_distance(const double* positions, int64_t n, double stop_below = 0.0);

// ---------------------------------------------------------------------------
// Rigidity
// ---------------------------------------------------------------------------

struct RigidityOptions {
  // Seeds the generic configuration (when no positions are given) and the
  // random combination of equilibrium stresses.
  uint64_t seed = 0;
  // Singular values / eigenvalues below tolerance * (largest one) count as 0.
  double tolerance = 1e-9;
  // The check is dense (SVD of the |E| x n*d rigidity matrix, O((n d)^3)
  // time, O(|E|^2) memory). Measured on one busy core for 2d-regular graphs:
  // n = 100: 0.04 s, n = 250: 0.2 s (2D) / 0.6 s (3D), n = 500: 1.2 s / 5.6 s,
  // n = 1000: 17 s / 65 s. Larger inputs throw instead of hanging.
  int64_t max_atoms = 1000;
};

struct RigidityResult {
  int64_t rigidity_rank = 0;         // rank of the |E| x (n d) rigidity matrix
  int64_t expected_rank = 0;         // n d - d (d + 1) / 2, or n (n - 1) / 2 when n <= d + 1
  int64_t stress_dimension = 0;      // |E| - rigidity_rank: equilibrium stresses
  int64_t stress_rank = 0;           // rank of the stress matrix of a random stress
  int64_t expected_stress_rank = 0;  // n - d - 1 (0 when n <= d + 1)
  bool rigid = false;                // infinitesimally rigid: rigidity_rank == expected_rank
  bool globally_rigid = false;       // rigid and stress_rank == expected_stress_rank
};

// Checks the framework (edges, positions) in d = dim dimensions.
// positions: [n, dim] row-major, or nullptr for a random configuration drawn
// from options.seed (uniform in [-1, 1]^d: generic with probability 1, so the
// answer is the generic rigidity of the graph; special positions such as a
// regular polygon are not generic and may be infinitesimally flexible).
// For n >= d + 2, generic global rigidity holds iff some equilibrium stress
// has a stress matrix of rank n - d - 1 (Connelly; Gortler-Healy-Thurston);
// a random stress attains the maximal rank with probability 1. For
// n <= d + 1, rigid == globally rigid == complete graph.
template <typename T>
RigidityResult rigidity(const EdgeList& edges, int64_t n, int64_t dim, const T* positions,
                        const RigidityOptions& options = {});

// Generic check (random configuration from options.seed).
RigidityResult generic_rigidity(const EdgeList& edges, int64_t n, int64_t dim,
                                const RigidityOptions& options = {});

// ---------------------------------------------------------------------------
// Automorphisms of a distance matrix
// ---------------------------------------------------------------------------

struct AutomorphismOptions {
  // |D[p(i), p(j)] - D[i, j]| <= tolerance * max(D) counts as equal.
  double tolerance = 1e-5;
  // Stop after this many permutations (then `capped` is set).
  int64_t max_count = 10000;
  // Optional vertex colours [n] (e.g. elements) that permutations must keep.
  const int64_t* labels = nullptr;
  // The search stores the n x n matrix and its sorted rows; larger inputs throw.
  int64_t max_atoms = 4096;
};

struct Automorphisms {
  int64_t atoms = 0;
  // [count, atoms]: row g maps vertex i to permutations[g * atoms + i].
  // Row 0 is the identity.
  std::vector<int64_t> permutations;
  bool capped = false;  // max_count was reached; the list may be incomplete

  int64_t count() const { return atoms == 0 ? 0 : int64_t(permutations.size()) / atoms; }
  const int64_t* operator[](int64_t g) const { return permutations.data() + g * atoms; }
};

// All permutations p with D[p(i), p(j)] == D[i, j] (within tolerance), by
// backtracking: candidates are restricted to vertices with the same sorted
// distance row (and label), and each assignment is checked against all
// earlier ones. distances: [n, n] row-major, symmetric, zero diagonal.
// Regular N-gon: the dihedral group (2N); points in general position: identity.
Automorphisms distance_automorphisms(const double* distances, int64_t n,
                                     const AutomorphismOptions& options = {});

// Same, for the Euclidean distance matrix of positions [n, dim].
template <typename T>
Automorphisms point_automorphisms(const T* positions, int64_t n, int64_t dim,
                                  const AutomorphismOptions& options = {});

// ---------------------------------------------------------------------------
// Symmetrisation (eq. 57) and the sparse rigid edge sets
// ---------------------------------------------------------------------------

struct WeightedEdges {
  EdgeList edges;               // sorted, i < j
  std::vector<double> weights;  // [edges.size()]
};

// A_sym = sum over g in G of g A g^-1 (eq. 57), normalised by |G|: the edge
// set is the union of the images g(e) = (g(i), g(j)), and each edge's weight
// is the number of group elements mapping some input edge onto it, divided
// by |G|. The total weight equals edges.size(), and the result is invariant
// under every element of G (when G is a group). Throws if `group` is capped
// (an incomplete group would break that invariance).
WeightedEdges symmetrize_edges(const EdgeList& edges, const Automorphisms& group);

struct SparseRigidOptions {
  int64_t degree = 0;  // 0: 2 * dim (paper: 2D-regular graphs); must be >= dim + 1
  uint64_t seed = 0;
  bool symmetrize = false;  // over the automorphisms of the reference distances
  bool verify = true;       // redraw until generically globally rigid
  int64_t max_tries = 100;
  // Above this many atoms the (dense, see RigidityOptions::max_atoms)
  // verification is skipped and the first graph drawn is returned unverified.
  int64_t verify_max_atoms = 500;
  AutomorphismOptions automorphisms;  // used when symmetrize
};

struct SparseRigidGraph {
  EdgeList edges;
  std::vector<double> weights;  // all 1 unless symmetrised
  int64_t tries = 0;            // graphs drawn
  bool verified = false;        // globally rigid by the stress test
  int64_t group_size = 1;       // automorphisms used for the symmetrisation
};

// Random degree-regular graphs over the n reference atoms, redrawn (seeds
// derived from options.seed) until one is generically globally rigid in
// `dim` dimensions (when verify and n <= verify_max_atoms), then optionally
// symmetrised (eq. 57). Throws Error for non-finite reference positions,
// dim not in {2, 3}, degree < dim + 1, or when no rigid graph turned up in
// max_tries draws. n <= degree + 1 gives the complete graph.
template <typename T>
SparseRigidGraph sparse_rigid_edges(const T* ref, int64_t n, int64_t dim,
                                    const SparseRigidOptions& options = {});

extern template RigidityResult rigidity<float>(const EdgeList&, int64_t, int64_t, const float*,
                                               const RigidityOptions&);
extern template RigidityResult rigidity<double>(const EdgeList&, int64_t, int64_t, const double*,
                                                const RigidityOptions&);
extern template Automorphisms point_automorphisms<float>(const float*, int64_t, int64_t,
                                                         const AutomorphismOptions&);
extern template Automorphisms point_automorphisms<double>(const double*, int64_t, int64_t,
                                                          const AutomorphismOptions&);
extern template SparseRigidGraph sparse_rigid_edges<float>(const float*, int64_t, int64_t,
                                                           const SparseRigidOptions&);
extern template SparseRigidGraph sparse_rigid_edges<double>(const double*, int64_t, int64_t,
                                                            const SparseRigidOptions&);

}  // namespace energyloss
