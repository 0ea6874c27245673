// LibTorch adapter of the pair energy kernel: the forward pass computes the
// energies and their gradients in one fused sweep; backward only rescales the
// saved gradients, so no [B, N, N, d] tensor ever exists.
#include <torch/autograd.h>
#include <torch/library.h>

#include "energyloss/error.h"
#include "energyloss/pair_energy.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/pair.h"

namespace energyloss {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

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

// Everything the kernel needs, as contiguous tensors kept alive for the call.
struct PairArguments {
  Tensor pred, ref;
  std::optional<Tensor> mask, edges, weights;
  BatchLayout layout;
  bool per_system_edges = false;
  int64_t n_edges = 0;

  PairArguments(Tensor pred_in, Tensor ref_in, std::optional<Tensor> mask_in,
                std::optional<Tensor> edges_in, std::optional<Tensor> weights_in)
      : pred(std::move(pred_in)), ref(std::move(ref_in)), mask(std::move(mask_in)) {
    torch_ops::require_same_shape(ref, "ref", pred, "pred");
    layout = torch_ops::batch_layout(pred, mask, "pred");
    ref = ref.contiguous();
    const int64_t B = layout.batch;
    if (edges_in.has_value()) {
      Tensor e = *edges_in;
      require(!e.is_floating_point() && !e.is_complex() && e.scalar_type() != torch::kBool,
              "edges: expected an integer tensor, got ", e.scalar_type());
      require(
          (e.dim() == 2 && e.size(1) == 2) || (e.dim() == 3 && e.size(0) == B && e.size(2) == 2),
          "edges: expected shape [E, 2] or [", B, ", E, 2], got ", e.sizes());
      per_system_edges = e.dim() == 3;
      n_edges = e.size(e.dim() - 2);
      edges = e.to(torch::kLong).contiguous();
    }
    if (weights_in.has_value()) {
      require(edges.has_value(), "edge_weights: given without edges");
      Tensor w = *weights_in;
      const auto expected =
          per_system_edges ? std::vector<int64_t>{B, n_edges} : std::vector<int64_t>{n_edges};
      require(w.sizes() == torch::IntArrayRef(expected), "edge_weights: expected shape ",
              torch::IntArrayRef(expected), " to match edges, got ", w.sizes());
      weights = w.to(pred.scalar_type()).contiguous();
    }
  }

  template <typename T>
  PairLossInput<T> input(double cutoff) const {
    PairLossInput<T> in;
    in.pred = pred.data_ptr<T>();
    in.ref = ref.data_ptr<T>();
    in.layout = layout;
    if (edges.has_value()) {
      in.edges = edges->data_ptr<int64_t>();
      in.n_edges = n_edges;
      in.edges_per_system = per_system_edges;
    }
    if (weights.has_value()) in.edge_weights = weights->data_ptr<T>();
    in.cutoff = cutoff;
    return in;
  }
};

struct PairEnergyFunction : public torch::autograd::Function<PairEnergyFunction> {
  // Returns per-system energies [B] and pair counts [B] (not differentiable).
  static variable_list forward(AutogradContext* ctx, const Tensor& pred, const Tensor& ref,
                               const c10::optional<Tensor>& mask,
                               const c10::optional<Tensor>& edges,
                               const c10::optional<Tensor>& edge_weights,
                               const PairLossOptions& options) {
    const PairArguments args(pred, ref, torch_ops::to_std(mask), torch_ops::to_std(edges),
                             torch_ops::to_std(edge_weights));
    const CoefficientSpec spec = coefficient_spec(options);
    const bool want_pred = pred.requires_grad(), want_ref = ref.requires_grad();
    Tensor energy = torch::empty({args.layout.batch}, pred.options());
    Tensor pairs = torch::empty({args.layout.batch}, pred.options().dtype(torch::kLong));
    Tensor grad_pred = want_pred ? torch::empty_like(args.pred) : Tensor();
    Tensor grad_ref = want_ref ? torch::empty_like(args.ref) : Tensor();
    AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "pair_energy_loss", [&] {
      PairLossOutput<scalar_t> out;
      out.energy = energy.data_ptr<scalar_t>();
      out.pair_count = pairs.data_ptr<int64_t>();
      if (want_pred) out.grad_pred = grad_pred.data_ptr<scalar_t>();
      if (want_ref) out.grad_ref = grad_ref.data_ptr<scalar_t>();
      pair_energy_loss<scalar_t>(args.input<scalar_t>(options.cutoff), spec, out);
    });
    ctx->save_for_backward({grad_pred, grad_ref});
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
    const Tensor grad_pred = saved[0].defined() ? saved[0] * scale : Tensor();
    const Tensor grad_ref = saved[1].defined() ? saved[1] * scale : Tensor();
    return {grad_pred, grad_ref, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// The op schemas' flat arguments as PairLossOptions.
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
  const PairLossOptions options = options_from(coeff, k0, per_atom, length_scale, eps, cutoff);
  const PairArguments args(pred.detach(), ref.detach(), torch_ops::to_std(mask),
                           torch_ops::to_std(edges), torch_ops::to_std(edge_weights));
  Tensor energy = torch::empty({args.layout.batch}, pred.options());
  Tensor atoms = torch::empty({args.layout.batch, args.layout.atoms}, pred.options());
  Tensor pairs = torch::empty({args.layout.batch}, pred.options().dtype(torch::kLong));
  AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "pair_energy_terms", [&] {
    PairLossOutput<scalar_t> out;
    out.energy = energy.data_ptr<scalar_t>();
    out.atom_energy = atoms.data_ptr<scalar_t>();
    out.pair_count = pairs.data_ptr<int64_t>();
    pair_energy_loss<scalar_t>(args.input<scalar_t>(options.cutoff), coefficient_spec(options),
                               out);
  });
  return {energy, atoms, pairs};
}

}  // namespace

Tensor pair_energy_loss(const Tensor& pred, const Tensor& ref, const PairLossOptions& options,
                        const std::optional<Tensor>& mask, const std::optional<Tensor>& edges,
                        const std::optional<Tensor>& edge_weights) {
  const auto outputs =
      PairEnergyFunction::apply(pred, ref, torch_ops::to_c10(mask), torch_ops::to_c10(edges),
                                torch_ops::to_c10(edge_weights), options);
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
      &pair_energy_loss_op);
  m.def(
      "pair_energy_terms(Tensor pred, Tensor ref, Tensor? mask=None, str coeff=\"exp\", "
      "float? k0=None, bool? per_atom=None, float length_scale=1.0, float eps=1e-05, "
      "Tensor? edges=None, Tensor? edge_weights=None, float? cutoff=None) "
      "-> (Tensor, Tensor, Tensor)",
      &pair_energy_terms_op);
  // The coefficient modes' names (energyloss::coefficient_mode_names), for Python.
  m.def("coefficient_modes() -> str[]", &coefficient_mode_names);
}

}  // namespace energyloss
