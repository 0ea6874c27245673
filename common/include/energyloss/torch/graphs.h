// LibTorch front end of the edge-set builders (energyloss/graphs.h),
// registered as torch.ops.energyloss.{random_regular_graph,
// sparse_rigid_edges, rigidity, automorphisms, symmetrize_edges}.
// Edges are int64 [E, 2] tensors with i < j, sorted; everything runs on CPU.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <tuple>

#include "energyloss/graphs.h"

namespace energyloss {

// Random `degree`-regular simple graph on n vertices, deterministic per seed
// (n <= degree + 1: complete graph; n * degree odd: one vertex has degree + 1).
torch::Tensor random_regular_graph(int64_t n, int64_t degree, int64_t seed);

// Sparse generically globally rigid edges over the reference atoms ref [N, d]
// (d = 2 or 3): random degree-regular graphs (degree 0 means 2 d) redrawn
// until the stress test passes (when verify; skipped above
// SparseRigidOptions::verify_max_atoms atoms), optionally symmetrised over
// the automorphisms of ref's distance matrix (eq. 57).
// Returns edges int64 [E, 2] and weights [E] in ref's dtype (all 1 unless
// symmetrised; they sum to the unsymmetrised edge count).
std::tuple<torch::Tensor, torch::Tensor> sparse_rigid_edges(const torch::Tensor& ref,
                                                            int64_t degree, int64_t seed,
                                                            bool symmetrize, bool verify);
// Same with every option exposed.
std::tuple<torch::Tensor, torch::Tensor> sparse_rigid_edges(const torch::Tensor& ref,
                                                            const SparseRigidOptions& options);

// Rigidity of the graph `edges` (int64 [E, 2], i < j) on n vertices in dim
// dimensions, at `positions` ([n, dim]) or, when unset, at a random generic
// configuration drawn from seed. See energyloss::rigidity.
RigidityResult rigidity(const torch::Tensor& edges, int64_t n, int64_t dim,
                        const std::optional<torch::Tensor>& positions = std::nullopt,
                        int64_t seed = 0);

// Automorphisms of the distance matrix of ref [N, d]: int64 [G, N], row g
// maps atom i to row[i], identity first; and whether max_count cut the list.
// labels: optional int64 [N] colours (e.g. elements) the permutations keep.
std::tuple<torch::Tensor, bool> automorphisms(
    const torch::Tensor& ref, double tolerance = 1e-5, int64_t max_count = 10000,
    const std::optional<torch::Tensor>& labels = std::nullopt);

// Eq. 57 for given edges [E, 2] and permutations [G, N] (a complete group):
// edges [E', 2] and float64 weights [E'] summing to E.
std::tuple<torch::Tensor, torch::Tensor> symmetrize_edges(const torch::Tensor& edges,
                                                          const torch::Tensor& permutations);

}  // namespace energyloss
