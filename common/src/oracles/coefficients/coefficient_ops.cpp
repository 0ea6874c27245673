// LibTorch face of the Hessian-based coefficients that need no oracle
// (energyloss/oracles/hessian_coefficients.h, seminario_coefficients.h,
// shell_coefficients.h): NNLS, springs fitted to a given Hessian, the spring
// network Hessian, the rigid-body projection, modified Seminario constants,
// their 1-2 and 1-3 pair springs and shell-balanced springs.
// The oracle's own Hessian (force_field_hessian) is in oracle_ops.cpp,
// next to the Oracle class its schema names. Every op takes float32/float64
// CPU tensors, computes in float64 and returns the dtype of its first
// floating argument.
//
// Meta (shape-only) tensors, what fake tensors and torch.compile trace with:
// the ops whose outputs' shapes and dtypes follow from the inputs' shapes
// (spring_network_hessian, project_out_rigid_modes, modified_seminario with
// its angles given) check devices and call an inner op (_<op>) with a CPU
// kernel and a Meta shape function; both run one function of argument
// checks that read no data, so meta tensors are refused what CPU tensors are
// refused for their shapes and dtypes. Checks of values (finite numbers,
// atom indices in range, bonded angle arms) stay CPU-only. The other ops
// have no Meta kernel, because part of their output depends on the values:
// nnls and hessian_fitted_springs return iteration counts, residuals and a
// convergence flag; shell_balanced_coefficients the list of shells whose
// input summed to zero; seminario_pair_springs as many pairs as remain
// after shared pairs are merged and nearly linear angles dropped;
// modified_seminario without angles the angles of the bond graph. They
// refuse meta tensors by name, saying so (refuse_meta).
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>
#include <torch/types.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/oracles/seminario_coefficients.h"
#include "energyloss/oracles/shell_coefficients.h"
#include "energyloss/torch/common.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;
using torch::Tensor;

using TensorArguments = std::initializer_list<std::pair<const char*, const Tensor*>>;

// The argument checks below read shapes and dtypes only, so the CPU kernels
// and the Meta shape functions share them.

// N of `reference` [N, 3] (float32 or float64).
int64_t check_reference(const char* op, const Tensor& reference) {
  torch_ops::require_defined(op, "reference", reference);
  require(reference.dim() == 2 && reference.size(1) == 3 && reference.size(0) >= 1,
          "reference: expected shape [N, 3] with N >= 1, got ", reference.sizes());
  torch_ops::require_float_or_double(op, "reference", reference);
  return reference.size(0);
}

void check_square_hessian(const char* op, const Tensor& hessian, int64_t atoms) {
  torch_ops::require_defined(op, "hessian", hessian);
  require(hessian.dim() == 2 && hessian.size(0) == 3 * atoms && hessian.size(1) == 3 * atoms,
          "hessian: expected shape [3N, 3N] = [", 3 * atoms, ", ", 3 * atoms,
          "] for the reference's N = ", atoms, " atoms, got ", hessian.sizes());
  torch_ops::require_float_or_double(op, "hessian", hessian);
}

// k [E], one constant per row of `edges` [E, 2].
void check_edge_constants(const char* op, const Tensor& k, const Tensor& edges) {
  require_index_tuples(op, edges, 2, "edges");
  torch_ops::require_defined(op, "k", k);
  require(k.dim() == 1 && k.size(0) == edges.size(0), "k: expected shape [", edges.size(0),
          "] to match edges, got ", k.sizes());
  torch_ops::require_float_or_double(op, "k", k);
}

Tensor reference_positions(const char* op, const Tensor& reference) {
  check_reference(op, reference);
  return floating_cpu(op, reference, "reference");
}

Tensor square_hessian(const char* op, const Tensor& hessian, int64_t atoms) {
  check_square_hessian(op, hessian, atoms);
  return floating_cpu(op, hessian, "hessian");
}

// The ops without a Meta kernel refuse undefined tensors (None in Python;
// a null entry is an optional argument left out) and shape-only tensors
// first, naming the op, the argument and, for the latter, `why` (the part of
// the output that depends on values): meta tensors, and fake tensors
// (FakeTensorMode, torch.compile), which report the CPU but hold meta
// storage and no data.
void refuse_meta(const char* op, const char* why, TensorArguments tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (tensor == nullptr) continue;
    torch_ops::require_defined(op, name, *tensor);
    if (!torch_ops::shapes_only(*tensor)) continue;
    const std::string explanation = std::string(op) +
                                    " has CPU code only, by design (no Meta kernel: " + why +
                                    "); pass CPU tensors (.cpu())";
    torch_ops::require_cpu(op, name, *tensor, explanation.c_str());
  }
}

// The public op `op` of an inner op `_<op>` (CPU kernel and Meta shape
// function): every tensor on the CPU or every one on meta, then the inner op
// below autograd (the coefficient ops are not differentiable).
template <typename Signature, typename... Args>
auto call_inner(const char* op, TensorArguments tensors, const Args&... args) {
  torch_ops::require_cpu_or_meta(op, tensors);
  const auto inner = c10::Dispatcher::singleton()
                         .findSchemaOrThrow((std::string("energyloss::_") + op).c_str(), "")
                         .typed<Signature>();
  const at::AutoDispatchBelowADInplaceOrView no_autograd;
  return inner.call(args...);
}

NnlsOptions nnls_options(int64_t max_iterations, double tolerance) {
  NnlsOptions options;
  options.max_iterations = max_iterations;
  options.tolerance = tolerance;
  return options;
}

std::tuple<Tensor, int64_t, bool> nnls_op(const Tensor& a, const Tensor& b, int64_t max_iterations,
                                          double tolerance) {
  refuse_meta("nnls", "its iteration count and convergence flag follow from the values of A and b",
              {{"A", &a}, {"b", &b}});
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
  refuse_meta("hessian_fitted_springs",
              "its residuals, zero-spring count, iteration count and convergence flag follow from "
              "the values",
              {{"hessian", &hessian}, {"reference", &reference}, {"edges", &edges}});
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

// spring_network_hessian: the checks of CPU and Meta; N.
int64_t spring_network_atoms(const Tensor& reference, const Tensor& edges, const Tensor& k) {
  const int64_t atoms = check_reference("spring_network_hessian", reference);
  check_edge_constants("spring_network_hessian", k, edges);
  return atoms;
}

Tensor spring_network_hessian_cpu(const Tensor& reference, const Tensor& edges, const Tensor& k) {
  const char* op = "spring_network_hessian";
  const int64_t atoms = spring_network_atoms(reference, edges, k);
  const Tensor positions = floating_cpu(op, reference, "reference");
  const Tensor pairs = index_tuples(op, edges, 2, "edges");
  const Tensor springs = floating_cpu(op, k, "k");
  std::vector<double> h =
      spring_network_hessian(positions.data_ptr<double>(), atoms, pairs.data_ptr<int64_t>(),
                             pairs.size(0), springs.data_ptr<double>());
  return values_like(h, {3 * atoms, 3 * atoms}, reference);
}

Tensor spring_network_hessian_meta(const Tensor& reference, const Tensor& edges, const Tensor& k) {
  const int64_t atoms = spring_network_atoms(reference, edges, k);
  return torch::empty({3 * atoms, 3 * atoms}, reference.options());
}

Tensor spring_network_hessian_op(const Tensor& reference, const Tensor& edges, const Tensor& k) {
  return call_inner<Tensor(const Tensor&, const Tensor&, const Tensor&)>(
      "spring_network_hessian", {{"reference", &reference}, {"edges", &edges}, {"k", &k}},
      reference, edges, k);
}

// project_out_rigid_modes: the checks of CPU and Meta; N.
int64_t rigid_projection_atoms(const Tensor& hessian, const Tensor& reference) {
  const int64_t atoms = check_reference("project_out_rigid_modes", reference);
  check_square_hessian("project_out_rigid_modes", hessian, atoms);
  return atoms;
}

Tensor project_out_rigid_modes_cpu(const Tensor& hessian, const Tensor& reference) {
  const int64_t atoms = rigid_projection_atoms(hessian, reference);
  const Tensor positions = floating_cpu("project_out_rigid_modes", reference, "reference");
  const Tensor h = floating_cpu("project_out_rigid_modes", hessian, "hessian");
  std::vector<double> result =
      project_out_rigid_modes(h.data_ptr<double>(), positions.data_ptr<double>(), atoms);
  return values_like(result, {3 * atoms, 3 * atoms}, hessian);
}

Tensor project_out_rigid_modes_meta(const Tensor& hessian, const Tensor& reference) {
  const int64_t atoms = rigid_projection_atoms(hessian, reference);
  return torch::empty({3 * atoms, 3 * atoms}, hessian.options());
}

Tensor project_out_rigid_modes_op(const Tensor& hessian, const Tensor& reference) {
  return call_inner<Tensor(const Tensor&, const Tensor&)>(
      "project_out_rigid_modes", {{"hessian", &hessian}, {"reference", &reference}}, hessian,
      reference);
}

std::tuple<Tensor, Tensor, Tensor, Tensor, std::vector<int64_t>> shell_balanced_op(
    const c10::optional<Tensor>& reference, const Tensor& bonds, const Tensor& edges,
    const Tensor& k, c10::optional<std::vector<double>> totals, int64_t shells, int64_t n_atoms) {
  refuse_meta("shell_balanced_coefficients",
              "uniform_shells, the shells whose input summed to 0, follows from the values of "
              "bonds, edges and k",
              {{"reference", reference.has_value() ? &*reference : nullptr},
               {"bonds", &bonds},
               {"edges", &edges},
               {"k", &k}});
  const Tensor bond_pairs = index_tuples("shell_balanced_coefficients", bonds, 2, "bonds");
  const Tensor pairs = index_tuples("shell_balanced_coefficients", edges, 2, "edges");
  check_edge_constants("shell_balanced_coefficients", k, edges);
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

using SeminarioOutputs = std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor>;

// modified_seminario: the checks of CPU and Meta; N.
int64_t seminario_atoms(const Tensor& hessian, const Tensor& reference, const Tensor& bonds,
                        const c10::optional<Tensor>& angles) {
  const int64_t atoms = check_reference("modified_seminario", reference);
  check_square_hessian("modified_seminario", hessian, atoms);
  require_index_tuples("modified_seminario", bonds, 2, "bonds");
  if (angles.has_value()) require_index_tuples("modified_seminario", *angles, 3, "angles");
  return atoms;
}

SeminarioOutputs modified_seminario_cpu(const Tensor& hessian, const Tensor& reference,
                                        const Tensor& bonds, const c10::optional<Tensor>& angles) {
  const char* op = "modified_seminario";
  const int64_t atoms = seminario_atoms(hessian, reference, bonds, angles);
  const Tensor positions = floating_cpu(op, reference, "reference");
  const Tensor h = floating_cpu(op, hessian, "hessian");
  const Tensor bond_pairs = index_tuples(op, bonds, 2, "bonds");
  Tensor triples;
  if (angles.has_value()) {
    // A copy: an output of the op must not alias its input.
    triples = index_tuples(op, *angles, 3, "angles").clone();
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

SeminarioOutputs modified_seminario_meta(const Tensor& hessian, const Tensor& reference,
                                         const Tensor& bonds, const c10::optional<Tensor>& angles) {
  seminario_atoms(hessian, reference, bonds, angles);
  require(angles.has_value(),
          "modified_seminario: angles=None on meta tensors: without angles the op finds them in "
          "the bond graph, so their number follows from the values of bonds, which meta (fake) "
          "tensors do not have; pass angles [A, 3] or CPU tensors");
  const int64_t n_bonds = bonds.size(0), n_angles = angles->size(0);
  const auto options = hessian.options();
  return {torch::empty({n_bonds}, options), torch::empty({n_bonds}, options),
          torch::empty({n_angles, 3}, options.dtype(torch::kLong)),
          torch::empty({n_angles}, options), torch::empty({n_angles}, options)};
}

SeminarioOutputs modified_seminario_op(const Tensor& hessian, const Tensor& reference,
                                       const Tensor& bonds, const c10::optional<Tensor>& angles) {
  return call_inner<SeminarioOutputs(const Tensor&, const Tensor&, const Tensor&,
                                     const c10::optional<Tensor>&)>(
      "modified_seminario",
      {{"hessian", &hessian},
       {"reference", &reference},
       {"bonds", &bonds},
       {"angles", angles.has_value() ? &*angles : nullptr}},
      hessian, reference, bonds, angles);
}

// seminario_pair_springs (seminario_coefficients.h): (pairs [P, 2] int64,
// k [P] in ref's dtype, bond_pair [P], angle_pair [P] (bool), angle_spring
// [A], theta [A] in ref's dtype, dropped [A] (bool)).
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> seminario_pair_springs_op(
    const Tensor& ref, const Tensor& bonds, const Tensor& bond_k, const Tensor& angles,
    const Tensor& angle_k, double max_theta) {
  const char* op = "seminario_pair_springs";
  refuse_meta(op,
              "the number of pairs follows from the values of bonds and angles: shared pairs "
              "are merged, nearly linear angles dropped",
              {{"ref", &ref},
               {"bonds", &bonds},
               {"bond_k", &bond_k},
               {"angles", &angles},
               {"angle_k", &angle_k}});
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
  // The inner ops of the ops with a Meta kernel: a CPU kernel and a Meta
  // shape function each, no autograd.
  m.def("_spring_network_hessian(Tensor reference, Tensor edges, Tensor k) -> Tensor");
  m.def("_project_out_rigid_modes(Tensor hessian, Tensor reference) -> Tensor");
  m.def(
      "_modified_seminario(Tensor hessian, Tensor reference, Tensor bonds, Tensor? angles) "
      "-> (Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(energyloss, CPU, m) {
  m.impl("_spring_network_hessian", &energyloss::spring_network_hessian_cpu);
  m.impl("_project_out_rigid_modes", &energyloss::project_out_rigid_modes_cpu);
  m.impl("_modified_seminario", &energyloss::modified_seminario_cpu);
}

TORCH_LIBRARY_IMPL(energyloss, Meta, m) {
  m.impl("_spring_network_hessian", &energyloss::spring_network_hessian_meta);
  m.impl("_project_out_rigid_modes", &energyloss::project_out_rigid_modes_meta);
  m.impl("_modified_seminario", &energyloss::modified_seminario_meta);
}

// Called directly (tests, opcheck), the inner ops pass through autograd.
TORCH_LIBRARY_IMPL(energyloss, Autograd, m) {
  m.impl("_spring_network_hessian", torch::CppFunction::makeFallthrough());
  m.impl("_project_out_rigid_modes", torch::CppFunction::makeFallthrough());
  m.impl("_modified_seminario", torch::CppFunction::makeFallthrough());
}
