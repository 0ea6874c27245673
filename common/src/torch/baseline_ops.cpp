// LibTorch adapter of the baseline kernels: the forward pass computes the
// per-system losses and their gradients together; backward only rescales the
// saved gradients.
#include <torch/autograd.h>
#include <torch/library.h>

#include "energyloss/baselines.h"
#include "energyloss/error.h"
#include "energyloss/torch/baselines.h"
#include "energyloss/torch/common.h"

namespace energyloss {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Contiguous, validated views of the inputs, kept alive for the kernel call.
struct BaselineArguments {
  Tensor pred, ref;
  std::optional<Tensor> mask;
  BatchLayout layout;

  BaselineArguments(const char* op, Tensor pred_in, Tensor ref_in, std::optional<Tensor> mask_in)
      : pred(std::move(pred_in)), ref(std::move(ref_in)), mask(std::move(mask_in)) {
    // pred's dtype first: under torch.autocast pred may be bfloat16 and ref not.
    torch_ops::require_float_or_double(op, "pred", pred);
    torch_ops::require_same_shape(ref, "ref", pred, "pred");
    layout = torch_ops::batch_layout(op, pred, mask, "pred");
    std::optional<Tensor> no_mask;
    torch_ops::batch_layout(op, ref, no_mask, "ref");  // device check and contiguous copy
  }

  template <typename T>
  BaselineInput<T> input() const {
    BaselineInput<T> in;
    in.pred = pred.data_ptr<T>();
    in.ref = ref.data_ptr<T>();
    in.layout = layout;
    return in;
  }
};

struct BaselineFunction : public torch::autograd::Function<BaselineFunction> {
  // Per-system losses [B].
  static Tensor forward(AutogradContext* ctx, const Tensor& pred, const Tensor& ref,
                        const c10::optional<Tensor>& mask, BaselineKind kind) {
    const BaselineArguments args(baseline_name(kind), pred, ref, torch_ops::to_std(mask));
    const bool want_pred = pred.requires_grad(), want_ref = ref.requires_grad();
    Tensor loss = torch::empty({args.layout.batch}, pred.options());
    Tensor grad_pred = want_pred ? torch::empty_like(args.pred) : Tensor();
    Tensor grad_ref = want_ref ? torch::empty_like(args.ref) : Tensor();
    AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "baseline_loss", [&] {
      BaselineOutput<scalar_t> out;
      out.loss = loss.data_ptr<scalar_t>();
      if (want_pred) out.grad_pred = grad_pred.data_ptr<scalar_t>();
      if (want_ref) out.grad_ref = grad_ref.data_ptr<scalar_t>();
      baseline_loss<scalar_t>(kind, args.input<scalar_t>(), out);
    });
    ctx->save_for_backward({grad_pred, grad_ref});
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The saved gradients are constants: with create_graph the result would
    // silently carry no second derivative.
    require(!torch::GradMode::is_enabled(),
            "mse_loss, mae_loss and kabsch_mse do not support second derivatives "
            "(create_graph=True)");
    const auto saved = ctx->get_saved_variables();
    const Tensor scale = grad_outputs[0].reshape({-1, 1, 1});
    const Tensor grad_pred = saved[0].defined() ? saved[0] * scale : Tensor();
    const Tensor grad_ref = saved[1].defined() ? saved[1] * scale : Tensor();
    return {grad_pred, grad_ref, Tensor(), Tensor()};
  }
};

Tensor baseline(BaselineKind kind, const Tensor& pred, const Tensor& ref,
                const std::optional<Tensor>& mask, const std::string& reduction) {
  return torch_ops::reduce(BaselineFunction::apply(pred, ref, torch_ops::to_c10(mask), kind),
                           reduction);
}

// The registered ops take c10::optional (LibTorch 1.13); one adapter per kind.
template <BaselineKind kind>
Tensor baseline_op(const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
                   const std::string& reduction) {
  return baseline(kind, pred, ref, torch_ops::to_std(mask), reduction);
}

Tensor kabsch_align_op(const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask) {
  return kabsch_align(pred, ref, torch_ops::to_std(mask));
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& ref, const std::optional<Tensor>& mask,
                const std::string& reduction) {
  return baseline(BaselineKind::MSE, pred, ref, mask, reduction);
}

Tensor mae_loss(const Tensor& pred, const Tensor& ref, const std::optional<Tensor>& mask,
                const std::string& reduction) {
  return baseline(BaselineKind::MAE, pred, ref, mask, reduction);
}

Tensor kabsch_mse(const Tensor& pred, const Tensor& ref, const std::optional<Tensor>& mask,
                  const std::string& reduction) {
  return baseline(BaselineKind::KabschMSE, pred, ref, mask, reduction);
}

Tensor kabsch_align(const Tensor& pred, const Tensor& ref, const std::optional<Tensor>& mask) {
  const BaselineArguments args("kabsch_align", pred.detach(), ref.detach(), mask);
  Tensor aligned = torch::empty_like(args.pred);
  AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "kabsch_align", [&] {
    energyloss::kabsch_align<scalar_t>(args.input<scalar_t>(), aligned.data_ptr<scalar_t>());
  });
  return aligned;
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def("mse_loss(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::MSE>);
  m.def("mae_loss(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::MAE>);
  m.def("kabsch_mse(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::KabschMSE>);
  m.def("kabsch_align(Tensor pred, Tensor ref, Tensor? mask=None) -> Tensor", &kabsch_align_op);
}

}  // namespace energyloss
