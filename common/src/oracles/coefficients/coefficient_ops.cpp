// LibTorch face of the Hessian-based coefficients that need no oracle
// (energyloss/oracles/hessian_coefficients.h, seminario_coefficients.h,
// shell_coefficients.h): NNLS, springs fitted to a given Hessian, the spring
// network Hessian, the rigid-body projection, modified Seminario constants,
// their 1-2 and 1-3 pair springs and shell-balanced springs.
// The oracle's own Hessian (force_field_hessian) is in oracle_ops.cpp,
// next to the Oracle class its schema names. Every op takes float32/float64
// CPU tensors, computes in float64 and returns the dtype of its first
// floating argument.
#include <torch/library.h>
#include <torch/types.h>

#include <tuple>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/oracles/seminario_coefficients.h"
#include "energyloss/oracles/shell_coefficients.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;
using torch::Tensor;

Tensor reference_positions(const char* op, const Tensor& reference) {
  require(reference.dim() == 2 && reference.size(1) == 3 && reference.size(0) >= 1,
          "reference: expected shape [N, 3] with N >= 1, got ", reference.sizes());
  return floating_cpu(op, reference, "reference");
}

Tensor square_hessian(const char* op, const Tensor& hessian, int64_t atoms) {
  require(hessian.dim() == 2 && hessian.size(0) == 3 * atoms && hessian.size(1) == 3 * atoms,
          "hessian: expected shape [3N, 3N] = [", 3 * atoms, ", ", 3 * atoms,
          "] for the reference's N = ", atoms, " atoms, got ", hessian.sizes());
  return floating_cpu(op, hessian, "hessian");
}

NnlsOptions nnls_options(int64_t max_iterations, double tolerance) {
  NnlsOptions options;
  options.max_iterations = max_iterations;
  options.tolerance = tolerance;
  return options;
}

std::tuple<Tensor, int64_t, bool> nnls_op(const Tensor& a, const Tensor& b, int64_t max_iterations,
                                          double tolerance) {
  require(a.dim() == 2, "A: expected shape [M, N], got ", a.sizes());
  require(b.dim() == 1 && b.size(0) == a.size(0), "b: expected shape [", a.size(0),
          "] to match A, got ", b.sizes());
  const Tensor matrix = floating_cpu("nnls", a, "A"), rhs = floating_cpu("nnls", b, "b");
  NnlsResult result = nnls(matrix.data_ptr<double>(), matrix.size(0), matrix.size(1),
                           rhs.data_ptr<double>(), nnls_options(max_iterations, tolerance));
  return {values_like(result.x, {a.size(1)}, a), result.iterations, result.converged};
}

std::tuple<Tensor, double, double, double, int64_t, int64_t, bool> hessian_fitted_springs_op(
    const Tensor& hessian, const Tensor& reference, const Tensor& edges, int64_t max_iterations,
    double tolerance, double low_mode_power, double low_mode_floor) {
  const Tensor positions = reference_positions("hessian_fitted_springs", reference);
  const int64_t atoms = positions.size(0);
  const Tensor h = square_hessian("hessian_fitted_springs", hessian, atoms);
  const Tensor pairs = index_tuples("hessian_fitted_springs", edges, 2, "edges");
  HessianFitOptions options;
  options.nnls = nnls_options(max_iterations, tolerance);
  options.low_mode_power = low_mode_power;
  options.low_mode_floor = low_mode_floor;
  HessianFit fit = fit_springs_to_hessian(h.data_ptr<double>(), positions.data_ptr<double>(), atoms,
                                          pairs.data_ptr<int64_t>(), pairs.size(0), options);
  return {values_like(fit.k, {pairs.size(0)}, hessian),
          fit.relative_residual,
          fit.weighted_relative_residual,
          fit.target_norm,
          fit.zero_springs,
          fit.iterations,
          fit.converged};
}

Tensor spring_network_hessian_op(const Tensor& reference, const Tensor& edges, const Tensor& k) {
  const Tensor positions = reference_positions("spring_network_hessian", reference);
  const int64_t atoms = positions.size(0);
  const Tensor pairs = index_tuples("spring_network_hessian", edges, 2, "edges");
  require(k.dim() == 1 && k.size(0) == pairs.size(0), "k: expected shape [", pairs.size(0),
          "] to match edges, got ", k.sizes());
  const Tensor springs = floating_cpu("spring_network_hessian", k, "k");
  std::vector<double> h =
      spring_network_hessian(positions.data_ptr<double>(), atoms, pairs.data_ptr<int64_t>(),
                             pairs.size(0), springs.data_ptr<double>());
  return values_like(h, {3 * atoms, 3 * atoms}, reference);
}

Tensor project_out_rigid_modes_op(const Tensor& hessian, const Tensor& reference) {
  const Tensor positions = reference_positions("project_out_rigid_modes", reference);
  const int64_t atoms = positions.size(0);
  const Tensor h = square_hessian("project_out_rigid_modes", hessian, atoms);
  std::vector<double> result =
      project_out_rigid_modes(h.data_ptr<double>(), positions.data_ptr<double>(), atoms);
  return values_like(result, {3 * atoms, 3 * atoms}, hessian);
}

std::tuple<Tensor, Tensor, Tensor, Tensor, std::vector<int64_t>> shell_balanced_op(
    const c10::optional<Tensor>& reference, const Tensor& bonds, const Tensor& edges,
    const Tensor& k, c10::optional<std::vector<double>> totals, int64_t shells, int64_t n_atoms) {
  const Tensor bond_pairs = index_tuples("shell_balanced_coefficients", bonds, 2, "bonds");
  const Tensor pairs = index_tuples("shell_balanced_coefficients", edges, 2, "edges");
  require(k.dim() == 1 && k.size(0) == pairs.size(0), "k: expected shape [", pairs.size(0),
          "] to match edges, got ", k.sizes());
  const Tensor springs = floating_cpu("shell_balanced_coefficients", k, "k");
  Tensor positions;
  int64_t atoms = n_atoms;
  if (reference.has_value()) {
    positions = reference_positions("shell_balanced_coefficients", *reference);
    require(n_atoms < 0 || n_atoms == positions.size(0), "n_atoms: ", n_atoms,
            " disagrees with the reference's ", positions.size(0), " atoms");
    atoms = positions.size(0);
  }
  require(atoms >= 1, "shell_balanced_coefficients: give the reference [N, 3] or n_atoms");
  ShellBalanceOptions options;
  options.shells = shells;
  if (totals.has_value()) {
    require(!totals->empty(), "totals: expected at least one shell total");
    options.totals = *totals;
  }
  ShellBalanced result = shell_balanced_coefficients(
      positions.defined() ? positions.data_ptr<double>() : nullptr, atoms,
      bond_pairs.data_ptr<int64_t>(), bond_pairs.size(0), pairs.data_ptr<int64_t>(), pairs.size(0),
      springs.data_ptr<double>(), options);
  const int64_t count = int64_t(result.target.size());
  return {values_like(result.k, {pairs.size(0)}, k), torch::tensor(result.shell, torch::kLong),
          values_like(result.target, {count}, k), values_like(result.input_total, {count}, k),
          result.uniform_shells};
}

std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor> modified_seminario_op(
    const Tensor& hessian, const Tensor& reference, const Tensor& bonds,
    const c10::optional<Tensor>& angles) {
  const Tensor positions = reference_positions("modified_seminario", reference);
  const int64_t atoms = positions.size(0);
  const Tensor h = square_hessian("modified_seminario", hessian, atoms);
  const Tensor bond_pairs = index_tuples("modified_seminario", bonds, 2, "bonds");
  Tensor triples;
  if (angles.has_value()) {
    triples = index_tuples("modified_seminario", *angles, 3, "angles");
  } else {
    std::vector<int64_t> list =
        angles_from_bonds(atoms, bond_pairs.data_ptr<int64_t>(), bond_pairs.size(0));
    triples = torch::tensor(list, torch::kLong).reshape({-1, 3});
  }
  SeminarioParameters result = modified_seminario(
      h.data_ptr<double>(), positions.data_ptr<double>(), atoms, bond_pairs.data_ptr<int64_t>(),
      bond_pairs.size(0), triples.data_ptr<int64_t>(), triples.size(0));
  return {values_like(result.bond_k, {bond_pairs.size(0)}, hessian),
          values_like(result.bond_length, {bond_pairs.size(0)}, hessian), triples,
          values_like(result.angle_k, {triples.size(0)}, hessian),
          values_like(result.angle_theta, {triples.size(0)}, hessian)};
}

// seminario_pair_springs (seminario_coefficients.h): (pairs [P, 2] int64,
// k [P] in ref's dtype, bond_pair [P], angle_pair [P] (bool), angle_spring
// [A], theta [A] in ref's dtype, dropped [A] (bool)).
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> seminario_pair_springs_op(
    const Tensor& ref, const Tensor& bonds, const Tensor& bond_k, const Tensor& angles,
    const Tensor& angle_k, double max_theta) {
  const char* op = "seminario_pair_springs";
  require(ref.dim() == 2 && ref.size(1) == 3 && ref.size(0) >= 1,
          "ref: expected positions [N, 3] with N >= 1, got ", ref.sizes());
  const Tensor positions = floating_cpu(op, ref, "ref");
  const Tensor bond_pairs = index_tuples(op, bonds, 2, "bonds");
  const Tensor triples = index_tuples(op, angles, 3, "angles");
  auto constants = [&](const Tensor& k, const char* name, int64_t count, const char* of) {
    require(k.dim() == 1 && k.size(0) == count, name, ": expected [", count, "] (one per row of ",
            of, "), got ", k.sizes());
    return floating_cpu(op, k, name);
  };
  const Tensor k_bonds = constants(bond_k, "bond_k", bond_pairs.size(0), "bonds");
  const Tensor k_angles = constants(angle_k, "angle_k", triples.size(0), "angles");
  const SeminarioPairSprings result = seminario_pair_springs(
      positions.data_ptr<double>(), positions.size(0), bond_pairs.data_ptr<int64_t>(),
      k_bonds.data_ptr<double>(), bond_pairs.size(0), triples.data_ptr<int64_t>(),
      k_angles.data_ptr<double>(), triples.size(0), max_theta);
  const int64_t count = int64_t(result.k.size()), n_angles = triples.size(0);
  auto flags = [](const std::vector<uint8_t>& values) {
    return torch::tensor(std::vector<int64_t>(values.begin(), values.end()), torch::kLong)
        .to(torch::kBool);
  };
  return {torch::tensor(result.pairs, torch::kLong).reshape({count, 2}),
          values_like(result.k, {count}, ref),
          flags(result.bond_pair),
          flags(result.angle_pair),
          values_like(result.angle_spring, {n_angles}, ref),
          values_like(result.theta, {n_angles}, ref),
          flags(result.dropped)};
}

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def(
      "nnls(Tensor A, Tensor b, int max_iterations=0, float tolerance=0.0) -> "
      "(Tensor x, int iterations, bool converged)",
      &energyloss::nnls_op);
  m.def(
      "hessian_fitted_springs(Tensor hessian, Tensor reference, Tensor edges, "
      "int max_iterations=0, float tolerance=0.0, float low_mode_power=0.0, "
      "float low_mode_floor=1e-3) -> (Tensor k, float relative_residual, "
      "float weighted_relative_residual, float target_norm, int zero_springs, int iterations, "
      "bool converged)",
      &energyloss::hessian_fitted_springs_op);
  m.def("spring_network_hessian(Tensor reference, Tensor edges, Tensor k) -> Tensor",
        &energyloss::spring_network_hessian_op);
  m.def(
      "shell_balanced_coefficients(Tensor? reference, Tensor bonds, Tensor edges, Tensor k, "
      "float[]? totals=None, int shells=4, int n_atoms=-1) -> (Tensor k, Tensor shell, "
      "Tensor target, Tensor input_total, int[] uniform_shells)",
      &energyloss::shell_balanced_op);
  m.def(
      "modified_seminario(Tensor hessian, Tensor reference, Tensor bonds, Tensor? angles=None) "
      "-> (Tensor bond_k, Tensor bond_length, Tensor angles, Tensor angle_k, "
      "Tensor angle_theta)",
      &energyloss::modified_seminario_op);
  m.def(
      "seminario_pair_springs(Tensor ref, Tensor bonds, Tensor bond_k, Tensor angles, "
      "Tensor angle_k, float max_theta=2.9670597283903604) -> (Tensor pairs, Tensor k, "
      "Tensor bond_pair, Tensor angle_pair, Tensor angle_spring, Tensor theta, Tensor dropped)",
      &energyloss::seminario_pair_springs_op);
  m.def("project_out_rigid_modes(Tensor hessian, Tensor reference) -> Tensor",
        &energyloss::project_out_rigid_modes_op);
}
