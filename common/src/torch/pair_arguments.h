// Private to energyloss_torch: what the pair ops' device implementations
// (pair_ops.cpp: CPU and Meta; cuda/pair_ops_cuda.cpp: CUDA) share. These
// files only adapt tensors to the raw-array kernels; every formula lives in
// energyloss/pair_term.h and the kernels.
#pragma once

#include <ATen/Dispatch.h>
#include <c10/util/Optional.h>  // c10::optional: see energyloss/torch/common.h
#include <torch/types.h>

#include <optional>
#include <string>
#include <tuple>

#include "energyloss/pair_energy.h"
#include "energyloss/torch/pair.h"

namespace energyloss::pair_ops {

using torch::Tensor;

// The inner ops' C++ signatures (schemas in pair_ops.cpp): every device's
// kernel is registered with exactly these, and the autograd function calls
// them through the dispatcher.
//   _pair_energy_fused(pred, ref, mask, edges, edge_weights, coeff, k0,
//     per_atom, length_scale, eps, cutoff, grad_pred, grad_ref)
//     -> (energy [B], pair count [B] int64, dE/dpred, dE/dref)
//   a gradient not asked for is an empty [0] tensor.
using FusedSignature = std::tuple<Tensor, Tensor, Tensor, Tensor>(
    const Tensor&, const Tensor&, const c10::optional<Tensor>&, const c10::optional<Tensor>&,
    const c10::optional<Tensor>&, const std::string&, c10::optional<double>, c10::optional<bool>,
    double, double, c10::optional<double>, bool, bool);
//   _pair_energy_terms(pred, ref, mask, edges, edge_weights, coeff, k0,
//     per_atom, length_scale, eps, cutoff)
//     -> (energy [B], per-atom energy [B, N], pair count [B] int64)
using TermsSignature = std::tuple<Tensor, Tensor, Tensor>(
    const Tensor&, const Tensor&, const c10::optional<Tensor>&, const c10::optional<Tensor>&,
    const c10::optional<Tensor>&, const std::string&, c10::optional<double>, c10::optional<bool>,
    double, double, c10::optional<double>);

// The schemas' flat options as PairLossOptions, and the coefficients they give.
PairLossOptions options_from(const std::string& coeff, c10::optional<double> k0,
                             c10::optional<bool> per_atom, double length_scale, double eps,
                             c10::optional<double> cutoff);
CoefficientSpec coefficient_spec(const PairLossOptions& options);

// Error unless `tensor` (argument `name` of `op`) is on `device`, pred's.
void require_on_device(const char* op, const char* name, const Tensor& tensor,
                       const torch::Device& device);

// Error naming `op` and the argument unless each tensor given is defined
// (an undefined torch::Tensor, or None for a required tensor in Python).
void require_defined(const char* op, const Tensor& pred, const Tensor& ref,
                     const c10::optional<Tensor>& mask, const c10::optional<Tensor>& edges,
                     const c10::optional<Tensor>& edge_weights);

// The tensors of one call, checked without reading any data (so the same
// checks serve CPU, CUDA and meta tensors): shapes, dtypes (float32/float64;
// float16 and bfloat16 refused by name), every tensor on pred's device.
// Holds contiguous copies; edges as int64, weights in pred's dtype.
struct PairArguments {
  Tensor pred, ref;
  std::optional<Tensor> mask, edges, weights;
  BatchLayout layout;  // layout.mask is left null: see input()
  bool per_system_edges = false;
  int64_t n_edges = 0;

  PairArguments(const char* op, const Tensor& pred, const Tensor& ref,
                const c10::optional<Tensor>& mask, const c10::optional<Tensor>& edges,
                const c10::optional<Tensor>& edge_weights);

  // The kernels' input, pointing at the tensors' memory (CPU or device).
  template <typename T>
  PairLossInput<T> input(double cutoff) const {
    PairLossInput<T> in = shape_only<T>(cutoff);
    in.pred = pred.data_ptr<T>();
    in.ref = ref.data_ptr<T>();
    if (mask.has_value()) in.layout.mask = mask->data_ptr<bool>();
    if (edges.has_value()) in.edges = edge_array(edges->data_ptr<int64_t>());
    if (weights.has_value()) in.edge_weights = edge_array(weights->data_ptr<T>());
    return in;
  }

  // The same with placeholder pointers that are never read, for the checks
  // that read no array (validate_pair_arguments) on meta tensors.
  template <typename T>
  PairLossInput<T> shape_only(double cutoff) const {
    static const T placeholder[1] = {};
    static const int64_t placeholder_edge[1] = {};
    PairLossInput<T> in;
    in.pred = in.ref = placeholder;
    in.layout = layout;
    if (edges.has_value()) {
      in.edges = placeholder_edge;
      in.n_edges = n_edges;
      in.edges_per_system = per_system_edges;
    }
    if (weights.has_value()) in.edge_weights = placeholder;
    in.cutoff = cutoff;
    return in;
  }
};

// Empty outputs of the fused op on `pred`'s device: energy [B], pair count
// [B] (int64) and the gradients asked for ([0] otherwise, one tensor each:
// no two outputs alias).
std::tuple<Tensor, Tensor, Tensor, Tensor> fused_outputs(const PairArguments& args, bool grad_pred,
                                                         bool grad_ref);

// The bodies of the inner ops on one device: `kernel(input, spec, output)`
// is that device's energyloss pair_energy_loss (a generic lambda over the
// value type), called on the arguments' memory.
template <typename Kernel>
std::tuple<Tensor, Tensor, Tensor, Tensor> fused_with(const PairArguments& args,
                                                      const PairLossOptions& options,
                                                      bool want_pred, bool want_ref,
                                                      Kernel&& kernel) {
  auto outputs = fused_outputs(args, want_pred, want_ref);
  // Named references, not structured bindings: C++17 lambdas cannot capture those.
  Tensor& energy = std::get<0>(outputs);
  Tensor& pairs = std::get<1>(outputs);
  Tensor& grad_pred = std::get<2>(outputs);
  Tensor& grad_ref = std::get<3>(outputs);
  AT_DISPATCH_FLOATING_TYPES(args.pred.scalar_type(), "pair_energy_loss", [&] {
    PairLossOutput<scalar_t> out;
    out.energy = energy.data_ptr<scalar_t>();
    out.pair_count = pairs.data_ptr<int64_t>();
    if (want_pred) out.grad_pred = grad_pred.data_ptr<scalar_t>();
    if (want_ref) out.grad_ref = grad_ref.data_ptr<scalar_t>();
    kernel(args.input<scalar_t>(options.cutoff), coefficient_spec(options), out);
  });
  return outputs;
}

template <typename Kernel>
std::tuple<Tensor, Tensor, Tensor> terms_with(const PairArguments& args,
                                              const PairLossOptions& options, Kernel&& kernel) {
  const auto values = args.pred.options();
  Tensor energy = torch::empty({args.layout.batch}, values);
  Tensor atoms = torch::empty({args.layout.batch, args.layout.atoms}, values);
  Tensor pairs = torch::empty({args.layout.batch}, values.dtype(torch::kLong));
  AT_DISPATCH_FLOATING_TYPES(args.pred.scalar_type(), "pair_energy_terms", [&] {
    PairLossOutput<scalar_t> out;
    out.energy = energy.data_ptr<scalar_t>();
    out.atom_energy = atoms.data_ptr<scalar_t>();
    out.pair_count = pairs.data_ptr<int64_t>();
    kernel(args.input<scalar_t>(options.cutoff), coefficient_spec(options), out);
  });
  return {energy, atoms, pairs};
}

}  // namespace energyloss::pair_ops
