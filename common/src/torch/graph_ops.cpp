// LibTorch adapters of the edge-set builders (kernels/graphs.cpp). No
// autograd: graphs and permutations are integer data.
#include <torch/library.h>

#include <cstring>

#include "energyloss/error.h"
#include "energyloss/graphs.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/graphs.h"

namespace energyloss {
namespace {

using torch::Tensor;

EdgeList edge_list(const char* op, const Tensor& edges, const char* name) {
  torch_ops::require_defined(op, name, edges);
  require(edges.dim() == 2 && edges.size(1) == 2, op, ": ", name, ": expected shape [E, 2], got ",
          edges.sizes());
  require(edges.scalar_type() == torch::kLong, op, ": ", name, ": expected int64, got ",
          edges.scalar_type());
  torch_ops::require_cpu(op, name, edges);
  const Tensor contiguous = edges.contiguous();
  EdgeList result(size_t(edges.size(0)));
  std::memcpy(result.data(), contiguous.data_ptr<int64_t>(), result.size() * sizeof(Edge));
  return result;
}

Tensor edge_tensor(const EdgeList& edges) {
  Tensor result = torch::empty({int64_t(edges.size()), 2}, torch::kLong);
  std::memcpy(result.data_ptr<int64_t>(), edges.data(), edges.size() * sizeof(Edge));
  return result;
}

// Contiguous CPU float/double [N, d] positions.
Tensor point_set(const char* op, const Tensor& points, const char* name) {
  torch_ops::require_defined(op, name, points);
  require(points.dim() == 2, op, ": ", name, ": expected shape [N, d], got ", points.sizes());
  torch_ops::require_floating_cpu(op, name, points);
  return points.contiguous();
}

std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t> rigidity_op(
    const Tensor& edges, int64_t n, int64_t dim, const c10::optional<Tensor>& positions,
    int64_t seed) {
  const RigidityResult r = rigidity(edges, n, dim, torch_ops::to_std(positions), seed);
  return {
      r.rigid,       r.globally_rigid,      r.rigidity_rank, r.expected_rank, r.stress_dimension,
      r.stress_rank, r.expected_stress_rank};
}

std::tuple<Tensor, Tensor> sparse_rigid_edges_op(const Tensor& ref, int64_t degree, int64_t seed,
                                                 bool symmetrize, bool verify, int64_t max_tries,
                                                 int64_t verify_max_atoms, double tolerance,
                                                 int64_t max_automorphisms) {
  SparseRigidOptions options;
  options.degree = degree;
  options.seed = uint64_t(seed);
  options.symmetrize = symmetrize;
  options.verify = verify;
  options.max_tries = max_tries;
  options.verify_max_atoms = verify_max_atoms;
  options.automorphisms.tolerance = tolerance;
  options.automorphisms.max_count = max_automorphisms;
  return sparse_rigid_edges(ref, options);
}

std::tuple<Tensor, bool> automorphisms_op(const Tensor& ref, double tolerance, int64_t max_count,
                                          const c10::optional<Tensor>& labels) {
  return automorphisms(ref, tolerance, max_count, torch_ops::to_std(labels));
}

}  // namespace

Tensor random_regular_graph(int64_t n, int64_t degree, int64_t seed) {
  return edge_tensor(random_regular_edges(n, degree, uint64_t(seed)));
}

std::tuple<Tensor, Tensor> sparse_rigid_edges(const Tensor& ref, int64_t degree, int64_t seed,
                                              bool symmetrize, bool verify) {
  SparseRigidOptions options;
  options.degree = degree;
  options.seed = uint64_t(seed);
  options.symmetrize = symmetrize;
  options.verify = verify;
  return sparse_rigid_edges(ref, options);
}

std::tuple<Tensor, Tensor> sparse_rigid_edges(const Tensor& ref,
                                              const SparseRigidOptions& options) {
  const Tensor points = point_set("sparse_rigid_edges", ref, "ref");
  SparseRigidGraph graph;
  AT_DISPATCH_FLOATING_TYPES(points.scalar_type(), "sparse_rigid_edges", [&] {
    graph = sparse_rigid_edges<scalar_t>(points.data_ptr<scalar_t>(), points.size(0),
                                         points.size(1), options);
  });
  const Tensor weights = torch::tensor(graph.weights, torch::kDouble).to(points.scalar_type());
  return {edge_tensor(graph.edges), weights};
}

RigidityResult rigidity(const Tensor& edges, int64_t n, int64_t dim,
                        const std::optional<Tensor>& positions, int64_t seed) {
  const EdgeList list = edge_list("rigidity", edges, "edges");
  RigidityOptions options;
  options.seed = uint64_t(seed);
  if (!positions.has_value()) return generic_rigidity(list, n, dim, options);
  const Tensor points = point_set("rigidity", *positions, "positions");
  require(points.size(0) == n && points.size(1) == dim, "rigidity: positions: expected shape [", n,
          ", ", dim, "], got ", points.sizes());
  RigidityResult result;
  AT_DISPATCH_FLOATING_TYPES(points.scalar_type(), "rigidity", [&] {
    result = rigidity<scalar_t>(list, n, dim, points.data_ptr<scalar_t>(), options);
  });
  return result;
}

std::tuple<Tensor, bool> automorphisms(const Tensor& ref, double tolerance, int64_t max_count,
                                       const std::optional<Tensor>& labels) {
  const Tensor points = point_set("automorphisms", ref, "ref");
  const int64_t n = points.size(0);
  AutomorphismOptions options;
  options.tolerance = tolerance;
  options.max_count = max_count;
  Tensor label_values;
  if (labels.has_value()) {
    torch_ops::require_defined("automorphisms", "labels", *labels);
    require(labels->dim() == 1 && labels->size(0) == n, "automorphisms: labels: expected shape [",
            n, "], got ", labels->sizes());
    require(labels->scalar_type() == torch::kLong, "automorphisms: labels: expected int64, got ",
            labels->scalar_type());
    torch_ops::require_cpu("automorphisms", "labels", *labels);
    label_values = labels->contiguous();
    options.labels = label_values.data_ptr<int64_t>();
  }
  Automorphisms group;
  AT_DISPATCH_FLOATING_TYPES(points.scalar_type(), "automorphisms", [&] {
    group = point_automorphisms<scalar_t>(points.data_ptr<scalar_t>(), n, points.size(1), options);
  });
  Tensor result = torch::empty({group.count(), n}, torch::kLong);
  std::memcpy(result.data_ptr<int64_t>(), group.permutations.data(),
              group.permutations.size() * sizeof(int64_t));
  return {result, group.capped};
}

std::tuple<Tensor, Tensor> symmetrize_edges(const Tensor& edges, const Tensor& permutations) {
  const EdgeList list = edge_list("symmetrize_edges", edges, "edges");
  torch_ops::require_defined("symmetrize_edges", "permutations", permutations);
  require(permutations.dim() == 2 && permutations.size(0) >= 1,
          "symmetrize_edges: permutations: expected shape [G, N] with G >= 1, got ",
          permutations.sizes());
  require(permutations.scalar_type() == torch::kLong,
          "symmetrize_edges: permutations: expected int64, got ", permutations.scalar_type());
  torch_ops::require_cpu("symmetrize_edges", "permutations", permutations);
  const Tensor contiguous = permutations.contiguous();
  Automorphisms group;
  group.atoms = permutations.size(1);
  group.permutations.assign(contiguous.data_ptr<int64_t>(),
                            contiguous.data_ptr<int64_t>() + contiguous.numel());
  const WeightedEdges symmetric = symmetrize_edges(list, group);
  return {edge_tensor(symmetric.edges), torch::tensor(symmetric.weights, torch::kDouble)};
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def("random_regular_graph(int n, int degree, int seed=0) -> Tensor", &random_regular_graph);
  m.def(
      "sparse_rigid_edges(Tensor ref, int degree=0, int seed=0, bool symmetrize=False, "
      "bool verify=True, int max_tries=100, int verify_max_atoms=500, float tolerance=1e-05, "
      "int max_automorphisms=10000) -> (Tensor, Tensor)",
      &sparse_rigid_edges_op);
  m.def(
      "rigidity(Tensor edges, int n, int dim, Tensor? positions=None, int seed=0) -> "
      "(bool, bool, int, int, int, int, int)",
      &rigidity_op);
  m.def(
      "automorphisms(Tensor ref, float tolerance=1e-05, int max_count=10000, "
      "Tensor? labels=None) -> (Tensor, bool)",
      &automorphisms_op);
  m.def(
      "symmetrize_edges(Tensor edges, Tensor permutations) -> (Tensor, Tensor)",
      static_cast<std::tuple<Tensor, Tensor> (*)(const Tensor&, const Tensor&)>(&symmetrize_edges));
}

}  // namespace energyloss
