// LibTorch adapter of the pair energy kernel, registered the way
// pytorch_scatter and openmm-torch register theirs:
//  - the public ops pair_energy_loss / pair_energy_terms (schemas below) are
//    CompositeImplicitAutograd: they check devices and options, then call
//  - the inner ops _pair_energy_fused / _pair_energy_terms, one schema each,
//    with a kernel per dispatch key: CPU and Meta (shape-only, for fake
//    tensors and torch.compile) here, CUDA in cuda/pair_ops_cuda.cpp when the
//    build has a CUDA-enabled Torch.
// The forward pass computes the energies and their gradients in one fused
// sweep (PairEnergyFunction); backward only rescales the saved gradients
// (device-generic torch code), so no [B, N, N, d] tensor ever exists.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "energyloss/error.h"
#include "energyloss/pair_energy.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/pair.h"
#include "pair_arguments.h"

namespace energyloss {
namespace pair_ops {

PairLossOptions options_from(const std::string& coeff, c10::optional<double> k0,
                             c10::optional<bool> per_atom, double length_scale, double eps,
                             c10::optional<double> cutoff) {
  PairLossOptions options;
  options.coeff = coeff;
  options.k0 = torch_ops::to_std(k0);
  options.per_atom = torch_ops::to_std(per_atom);
  options.length_scale = length_scale;
  options.eps = eps;
  if (cutoff.has_value()) options.cutoff = *cutoff;
  return options;
}

CoefficientSpec coefficient_spec(const PairLossOptions& options) {
  CoefficientSpec spec = CoefficientSpec::preset(parse_coefficient_mode(options.coeff));
  if (options.k0.has_value()) {
    spec.k0 = *options.k0;
    spec.per_atom = false;
  }
  if (options.per_atom.has_value()) spec.per_atom = *options.per_atom;
  spec.length_scale = options.length_scale;
  spec.eps = options.eps;
  return spec;
}

void require_on_device(const char* op, const char* name, const Tensor& tensor,
                       const torch::Device& device) {
  require(tensor.device() == device, op, ": ", name, " is on ", tensor.device(), " but pred is on ",
          device, "; pass every tensor on one device");
}

void require_defined(const char* op, const Tensor& pred, const Tensor& ref,
                     const c10::optional<Tensor>& mask, const c10::optional<Tensor>& edges,
                     const c10::optional<Tensor>& edge_weights) {
  torch_ops::require_defined(op, "pred", pred);
  torch_ops::require_defined(op, "ref", ref);
  if (mask.has_value()) torch_ops::require_defined(op, "mask", *mask);
  if (edges.has_value()) torch_ops::require_defined(op, "edges", *edges);
  if (edge_weights.has_value()) torch_ops::require_defined(op, "edge_weights", *edge_weights);
}

PairArguments::PairArguments(const char* op, const Tensor& pred_in, const Tensor& ref_in,
                             const c10::optional<Tensor>& mask_in,
                             const c10::optional<Tensor>& edges_in,
                             const c10::optional<Tensor>& weights_in) {
  require_defined(op, pred_in, ref_in, mask_in, edges_in, weights_in);
  // pred's dtype first: an autocast float16 prediction against a float32
  // reference is refused naming the op and float16, not as a dtype mismatch.
  torch_ops::require_float_or_double(op, "pred", pred_in);
  torch_ops::require_same_shape(op, ref_in, "ref", pred_in, "pred");
  require(pred_in.dim() == 3, op, ": pred: expected shape [B, N, d], got ", pred_in.sizes());
  const auto same_device = [&](const char* name, const Tensor& tensor) {
    require_on_device(op, name, tensor, pred_in.device());
  };
  same_device("ref", ref_in);
  pred = pred_in.contiguous();
  ref = ref_in.contiguous();
  layout.batch = pred.size(0);
  layout.atoms = pred.size(1);
  layout.dim = pred.size(2);
  const int64_t B = layout.batch;
  if (mask_in.has_value()) {
    const Tensor& m = *mask_in;
    require(m.scalar_type() == torch::kBool, "mask: expected a bool tensor, got ", m.scalar_type());
    require(m.dim() == 2 && m.size(0) == B && m.size(1) == layout.atoms, "mask: expected shape [",
            B, ", ", layout.atoms, "] to match pred, got ", m.sizes());
    same_device("mask", m);
    mask = m.contiguous();
  }
  if (edges_in.has_value()) {
    const Tensor& e = *edges_in;
    require(!e.is_floating_point() && !e.is_complex() && e.scalar_type() != torch::kBool,
            "edges: expected an integer tensor, got ", e.scalar_type());
    require((e.dim() == 2 && e.size(1) == 2) || (e.dim() == 3 && e.size(0) == B && e.size(2) == 2),
            "edges: expected shape [E, 2] or [", B, ", E, 2], got ", e.sizes());
    same_device("edges", e);
    per_system_edges = e.dim() == 3;
    n_edges = e.size(e.dim() - 2);
    edges = e.to(torch::kLong).contiguous();
  }
  if (weights_in.has_value()) {
    require(edges.has_value(), "edge_weights: given without edges");
    const Tensor& w = *weights_in;
    const auto expected =
        per_system_edges ? std::vector<int64_t>{B, n_edges} : std::vector<int64_t>{n_edges};
    require(w.sizes() == torch::IntArrayRef(expected), "edge_weights: expected shape ",
            torch::IntArrayRef(expected), " to match edges, got ", w.sizes());
    same_device("edge_weights", w);
    weights = w.to(pred.scalar_type()).contiguous();
  }
}

std::tuple<Tensor, Tensor, Tensor, Tensor> fused_outputs(const PairArguments& args, bool grad_pred,
                                                         bool grad_ref) {
  const auto options = args.pred.options();
  // A gradient not asked for is an empty tensor of its own: the schema
  // declares no aliasing, so two outputs must never share one (torch's
  // SchemaCheckMode, opcheck's test_schema).
  const auto gradient = [&](bool wanted, const Tensor& like) {
    return wanted ? torch::empty_like(like) : torch::empty({0}, options);
  };
  return {torch::empty({args.layout.batch}, options),
          torch::empty({args.layout.batch}, options.dtype(torch::kLong)),
          gradient(grad_pred, args.pred), gradient(grad_ref, args.ref)};
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The kernels, CPU and GPU, have one name; this picks the CPU one.
const auto cpu_kernel = [](const auto& input, const CoefficientSpec& spec, const auto& output) {
  energyloss::pair_energy_loss(input, spec, output);
};

std::tuple<Tensor, Tensor, Tensor, Tensor> fused_cpu(
    const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
    const c10::optional<Tensor>& edges, const c10::optional<Tensor>& edge_weights,
    const std::string& coeff, c10::optional<double> k0, c10::optional<bool> per_atom,
    double length_scale, double eps, c10::optional<double> cutoff, bool want_pred, bool want_ref) {
  return fused_with(PairArguments("pair_energy_loss", pred, ref, mask, edges, edge_weights),
                    options_from(coeff, k0, per_atom, length_scale, eps, cutoff), want_pred,
                    want_ref, cpu_kernel);
}

// Meta tensors: every check that reads no data, then outputs of the right
// shapes and dtypes.
std::tuple<Tensor, Tensor, Tensor, Tensor> fused_meta(
    const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
    const c10::optional<Tensor>& edges, const c10::optional<Tensor>& edge_weights,
    const std::string& coeff, c10::optional<double> k0, c10::optional<bool> per_atom,
    double length_scale, double eps, c10::optional<double> cutoff, bool want_pred, bool want_ref) {
  const PairArguments args("pair_energy_loss", pred, ref, mask, edges, edge_weights);
  const PairLossOptions options = options_from(coeff, k0, per_atom, length_scale, eps, cutoff);
  validate_pair_arguments(args.shape_only<double>(options.cutoff), coefficient_spec(options));
  return fused_outputs(args, want_pred, want_ref);
}

std::tuple<Tensor, Tensor, Tensor> terms_cpu(const Tensor& pred, const Tensor& ref,
                                             const c10::optional<Tensor>& mask,
                                             const c10::optional<Tensor>& edges,
                                             const c10::optional<Tensor>& edge_weights,
                                             const std::string& coeff, c10::optional<double> k0,
                                             c10::optional<bool> per_atom, double length_scale,
                                             double eps, c10::optional<double> cutoff) {
  return terms_with(PairArguments("pair_energy_terms", pred, ref, mask, edges, edge_weights),
                    options_from(coeff, k0, per_atom, length_scale, eps, cutoff), cpu_kernel);
}

std::tuple<Tensor, Tensor, Tensor> terms_meta(const Tensor& pred, const Tensor& ref,
                                              const c10::optional<Tensor>& mask,
                                              const c10::optional<Tensor>& edges,
                                              const c10::optional<Tensor>& edge_weights,
                                              const std::string& coeff, c10::optional<double> k0,
                                              c10::optional<bool> per_atom, double length_scale,
                                              double eps, c10::optional<double> cutoff) {
  const PairArguments args("pair_energy_terms", pred, ref, mask, edges, edge_weights);
  const PairLossOptions options = options_from(coeff, k0, per_atom, length_scale, eps, cutoff);
  validate_pair_arguments(args.shape_only<double>(options.cutoff), coefficient_spec(options));
  return {torch::empty({args.layout.batch}, pred.options()),
          torch::empty({args.layout.batch, args.layout.atoms}, pred.options()),
          torch::empty({args.layout.batch}, pred.options().dtype(torch::kLong))};
}

// True when this build registered a CUDA kernel for the inner pair ops.
bool has_cuda_kernel() {
  static const bool registered = [] {
    const auto handle =
        c10::Dispatcher::singleton().findSchema({"energyloss::_pair_energy_fused", ""});
    return handle.has_value() && handle->hasKernelForDispatchKey(c10::DispatchKey::CUDA);
  }();
  return registered;
}

// The public ops' device rule, checked before anything is computed: pred on
// the CPU, on a CUDA device (when this build has the CUDA kernel) or on the
// meta device (shapes only); ref and mask on pred's device; edges and
// edge_weights on pred's device or on the CPU (then copied there, since
// graph builders such as sparse_rigid_edges return CPU tensors).
struct OnDevice {
  c10::optional<Tensor> edges, edge_weights;
};

OnDevice on_pred_device(const char* op, const Tensor& pred, const Tensor& ref,
                        const c10::optional<Tensor>& mask, const c10::optional<Tensor>& edges,
                        const c10::optional<Tensor>& edge_weights) {
  require_defined(op, pred, ref, mask, edges, edge_weights);
  const torch::Device device = pred.device();
  if (device.is_cuda()) {
    require(has_cuda_kernel(), op, ": pred is on ", device,
            " but this build of energyloss has no CUDA kernels; rebuild it with "
            "-DENERGYLOSS_WITH_CUDA=ON against a CUDA-enabled PyTorch (cmake -DTorch_DIR="
            "\"$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch\"), or "
            "pass CPU tensors (.cpu())");
  } else {
    require(device.is_cpu() || device.is_meta(), op, ": pred is on ", device,
            "; the pair ops run on cpu and cuda devices (and meta, for shapes only); move the "
            "tensors with .cpu() or .cuda()");
  }
  // Before any inner op sees them (a tensor's device picks the kernel).
  require_on_device(op, "ref", ref, device);
  if (mask.has_value()) require_on_device(op, "mask", *mask, device);
  const auto moved = [&](const c10::optional<Tensor>& tensor) -> c10::optional<Tensor> {
    if (!tensor.has_value() || !tensor->device().is_cpu() || device.is_cpu()) return tensor;
    return tensor->to(device);
  };
  return {moved(edges), moved(edge_weights)};
}

struct PairEnergyFunction : public torch::autograd::Function<PairEnergyFunction> {
  // Returns per-system energies [B] and pair counts [B] (not differentiable).
  static variable_list forward(AutogradContext* ctx, const Tensor& pred, const Tensor& ref,
                               const c10::optional<Tensor>& mask,
                               const c10::optional<Tensor>& edges,
                               const c10::optional<Tensor>& edge_weights,
                               const PairLossOptions& options) {
    static const auto fused = c10::Dispatcher::singleton()
                                  .findSchemaOrThrow("energyloss::_pair_energy_fused", "")
                                  .typed<FusedSignature>();
    const bool want_pred = pred.requires_grad(), want_ref = ref.requires_grad();
    // This function is the autograd of the call: the inner op runs below it.
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    auto [energy, pairs, grad_pred, grad_ref] =
        fused.call(pred, ref, mask, edges, edge_weights, options.coeff,
                   torch_ops::to_c10(options.k0), torch_ops::to_c10(options.per_atom),
                   options.length_scale, options.eps, options.cutoff, want_pred, want_ref);
    ctx->save_for_backward({grad_pred, grad_ref});
    ctx->saved_data["grad_pred"] = want_pred;
    ctx->saved_data["grad_ref"] = want_ref;
    ctx->mark_non_differentiable({pairs});
    return {energy, pairs};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The saved gradients are constants to autograd: a second derivative
    // through them would silently be zero, so refuse it.
    require(!torch::GradMode::is_enabled(),
            "pair_energy_loss does not support second derivatives (create_graph=True)");
    const auto saved = ctx->get_saved_variables();
    const Tensor scale = grad_outputs[0].reshape({-1, 1, 1});
    const Tensor grad_pred = ctx->saved_data["grad_pred"].toBool() ? saved[0] * scale : Tensor();
    const Tensor grad_ref = ctx->saved_data["grad_ref"].toBool() ? saved[1] * scale : Tensor();
    return {grad_pred, grad_ref, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

Tensor pair_energy_loss_op(const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
                           const std::string& coeff, c10::optional<double> k0,
                           c10::optional<bool> per_atom, double length_scale, double eps,
                           const c10::optional<Tensor>& edges,
                           const c10::optional<Tensor>& edge_weights, c10::optional<double> cutoff,
                           const std::string& reduction) {
  PairLossOptions options = options_from(coeff, k0, per_atom, length_scale, eps, cutoff);
  options.reduction = reduction;
  return pair_energy_loss(pred, ref, options, torch_ops::to_std(mask), torch_ops::to_std(edges),
                          torch_ops::to_std(edge_weights));
}

// Per-system energy, per-atom shares and pair counts, for analysis (no autograd).
std::tuple<Tensor, Tensor, Tensor> pair_energy_terms_op(
    const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
    const std::string& coeff, c10::optional<double> k0, c10::optional<bool> per_atom,
    double length_scale, double eps, const c10::optional<Tensor>& edges,
    const c10::optional<Tensor>& edge_weights, c10::optional<double> cutoff) {
  static const auto terms = c10::Dispatcher::singleton()
                                .findSchemaOrThrow("energyloss::_pair_energy_terms", "")
                                .typed<TermsSignature>();
  const OnDevice moved = on_pred_device("pair_energy_terms", pred, ref, mask, edges, edge_weights);
  const at::AutoDispatchBelowADInplaceOrView no_autograd;
  return terms.call(pred.detach(), ref.detach(), mask, moved.edges, moved.edge_weights, coeff, k0,
                    per_atom, length_scale, eps, cutoff);
}

}  // namespace
}  // namespace pair_ops

using torch::Tensor;

Tensor pair_energy_loss(const Tensor& pred, const Tensor& ref, const PairLossOptions& options,
                        const std::optional<Tensor>& mask, const std::optional<Tensor>& edges,
                        const std::optional<Tensor>& edge_weights) {
  const std::string& reduction = options.reduction;
  require(
      reduction == "none" || reduction == "sum" || reduction == "mean" || reduction == "mean_pair",
      "pair_energy_loss: reduction must be 'none', 'sum', 'mean' or 'mean_pair', got '", reduction,
      "'");
  const pair_ops::OnDevice moved =
      pair_ops::on_pred_device("pair_energy_loss", pred, ref, torch_ops::to_c10(mask),
                               torch_ops::to_c10(edges), torch_ops::to_c10(edge_weights));
  // The weights are constants: the loss has no gradient with respect to them.
  if (edge_weights.has_value()) {
    torch_ops::refuse_gradient("pair_energy_loss", "edge_weights", *edge_weights,
                               "the weights are constants: pass edge_weights.detach()");
  }
  const auto outputs = pair_ops::PairEnergyFunction::apply(
      pred, ref, torch_ops::to_c10(mask), moved.edges, moved.edge_weights, options);
  const Tensor& energy = outputs[0];
  if (options.reduction == "mean_pair") {
    // Each system's energy over its own pair count, then the batch mean.
    return (energy / outputs[1].clamp_min(1).to(energy.scalar_type())).mean();
  }
  return torch_ops::reduce(energy, options.reduction);
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def(
      "pair_energy_loss(Tensor pred, Tensor ref, Tensor? mask=None, str coeff=\"exp\", "
      "float? k0=None, bool? per_atom=None, float length_scale=1.0, float eps=1e-05, "
      "Tensor? edges=None, Tensor? edge_weights=None, float? cutoff=None, "
      "str reduction=\"sum\") -> Tensor",
      &pair_ops::pair_energy_loss_op);
  m.def(
      "pair_energy_terms(Tensor pred, Tensor ref, Tensor? mask=None, str coeff=\"exp\", "
      "float? k0=None, bool? per_atom=None, float length_scale=1.0, float eps=1e-05, "
      "Tensor? edges=None, Tensor? edge_weights=None, float? cutoff=None) "
      "-> (Tensor, Tensor, Tensor)",
      &pair_ops::pair_energy_terms_op);
  // The inner ops (pair_arguments.h): one kernel per device, no autograd of
  // their own (the public ops' PairEnergyFunction provides it).
  m.def(
      "_pair_energy_fused(Tensor pred, Tensor ref, Tensor? mask, Tensor? edges, "
      "Tensor? edge_weights, str coeff, float? k0, bool? per_atom, float length_scale, "
      "float eps, float? cutoff, bool grad_pred, bool grad_ref) "
      "-> (Tensor, Tensor, Tensor, Tensor)");
  m.def(
      "_pair_energy_terms(Tensor pred, Tensor ref, Tensor? mask, Tensor? edges, "
      "Tensor? edge_weights, str coeff, float? k0, bool? per_atom, float length_scale, "
      "float eps, float? cutoff) -> (Tensor, Tensor, Tensor)");
  // The coefficient modes' names (energyloss::coefficient_mode_names), for Python.
  m.def("coefficient_modes() -> str[]", &coefficient_mode_names);
}

TORCH_LIBRARY_IMPL(energyloss, CPU, m) {
  m.impl("_pair_energy_fused", &pair_ops::fused_cpu);
  m.impl("_pair_energy_terms", &pair_ops::terms_cpu);
}

// The inner ops have no autograd of their own; called directly (tests,
// opcheck), they pass through autograd on every device (LibTorch 1.13 has no
// autograd fallback for meta tensors).
TORCH_LIBRARY_IMPL(energyloss, Autograd, m) {
  m.impl("_pair_energy_fused", torch::CppFunction::makeFallthrough());
  m.impl("_pair_energy_terms", torch::CppFunction::makeFallthrough());
}

TORCH_LIBRARY_IMPL(energyloss, Meta, m) {
  m.impl("_pair_energy_fused", &pair_ops::fused_meta);
  m.impl("_pair_energy_terms", &pair_ops::terms_meta);
}

}  // namespace energyloss
