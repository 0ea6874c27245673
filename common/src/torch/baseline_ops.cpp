// LibTorch adapter of the baseline kernels: the forward pass computes the
// per-system losses and their gradients together; backward only rescales the
// saved gradients. As for the pair ops (pair_ops.cpp), the public ops check
// devices and call inner ops (_baseline_loss, _kabsch_align) whose one
// kernel serves the CPU and the Meta dispatch keys: on meta tensors (fake
// tensors, torch.compile) it runs every check that reads no data and returns
// outputs of the right shapes and dtypes. Other devices are refused.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "energyloss/baselines.h"
#include "energyloss/error.h"
#include "energyloss/layout.h"
#include "energyloss/torch/baselines.h"
#include "energyloss/torch/common.h"

namespace energyloss {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The device rule, checked by the public ops before any inner op is
// dispatched and again by the kernels: pred on the CPU or the meta device,
// ref and mask on pred's.
void require_devices(const char* op, const Tensor& pred, const Tensor& ref,
                     const std::optional<Tensor>& mask) {
  torch_ops::require_cpu_or_meta(
      op, {{"pred", &pred}, {"ref", &ref}, {"mask", mask.has_value() ? &*mask : nullptr}});
}

// Contiguous, validated views of the inputs, kept alive for the kernel call.
struct BaselineArguments {
  Tensor pred, ref;
  std::optional<Tensor> mask;
  BatchLayout layout;

  BaselineArguments(const char* op, Tensor pred_in, Tensor ref_in, std::optional<Tensor> mask_in)
      : pred(std::move(pred_in)), ref(std::move(ref_in)), mask(std::move(mask_in)) {
    require_devices(op, pred, ref, mask);
    // pred's dtype first: under torch.autocast pred may be bfloat16 and ref not.
    torch_ops::require_float_or_double(op, "pred", pred);
    torch_ops::require_same_shape(op, ref, "ref", pred, "pred");
    layout = torch_ops::batch_layout(op, pred, mask, "pred");
    // The kernel's size checks, here too for meta tensors (which never reach
    // the kernel) and for N = 0 (kabsch_align's empty output has no data).
    check_layout_shape(layout, op);
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

BaselineKind parse_kind(const std::string& name) {
  for (const BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
    if (name == baseline_name(kind)) return kind;
  }
  fail("_baseline_loss: kind must be 'mse_loss', 'mae_loss' or 'kabsch_mse', got '", name, "'");
}

// The inner op _baseline_loss, CPU and Meta: per-system losses [B] and the
// gradients asked for (an empty tensor for the others).
std::tuple<Tensor, Tensor, Tensor> baseline_kernel(const Tensor& pred, const Tensor& ref,
                                                   const c10::optional<Tensor>& mask,
                                                   const std::string& kind_name, bool want_pred,
                                                   bool want_ref) {
  const BaselineKind kind = parse_kind(kind_name);
  const BaselineArguments args(baseline_name(kind), pred, ref, torch_ops::to_std(mask));
  const auto options = args.pred.options();
  Tensor loss = torch::empty({args.layout.batch}, options);
  Tensor grad_pred = want_pred ? torch::empty_like(args.pred) : torch::empty({0}, options);
  Tensor grad_ref = want_ref ? torch::empty_like(args.ref) : torch::empty({0}, options);
  if (args.pred.is_meta()) return {loss, grad_pred, grad_ref};  // shapes only
  AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "baseline_loss", [&] {
    BaselineOutput<scalar_t> out;
    out.loss = loss.data_ptr<scalar_t>();
    if (want_pred) out.grad_pred = grad_pred.data_ptr<scalar_t>();
    if (want_ref) out.grad_ref = grad_ref.data_ptr<scalar_t>();
    baseline_loss<scalar_t>(kind, args.input<scalar_t>(), out);
  });
  return {loss, grad_pred, grad_ref};
}

// The inner op _kabsch_align, CPU and Meta.
Tensor kabsch_align_kernel(const Tensor& pred, const Tensor& ref,
                           const c10::optional<Tensor>& mask) {
  const BaselineArguments args("kabsch_align", pred, ref, torch_ops::to_std(mask));
  Tensor aligned = torch::empty_like(args.pred);
  if (args.pred.is_meta()) return aligned;  // shapes only
  AT_DISPATCH_FLOATING_TYPES(pred.scalar_type(), "kabsch_align", [&] {
    energyloss::kabsch_align<scalar_t>(args.input<scalar_t>(), aligned.data_ptr<scalar_t>());
  });
  return aligned;
}

using BaselineSignature = std::tuple<Tensor, Tensor, Tensor>(const Tensor&, const Tensor&,
                                                             const c10::optional<Tensor>&,
                                                             const std::string&, bool, bool);

struct BaselineFunction : public torch::autograd::Function<BaselineFunction> {
  // Per-system losses [B].
  static Tensor forward(AutogradContext* ctx, const Tensor& pred, const Tensor& ref,
                        const c10::optional<Tensor>& mask, BaselineKind kind) {
    static const auto inner = c10::Dispatcher::singleton()
                                  .findSchemaOrThrow("energyloss::_baseline_loss", "")
                                  .typed<BaselineSignature>();
    const bool want_pred = pred.requires_grad(), want_ref = ref.requires_grad();
    // This function is the autograd of the call: the inner op runs below it.
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    auto [loss, grad_pred, grad_ref] =
        inner.call(pred, ref, mask, baseline_name(kind), want_pred, want_ref);
    ctx->save_for_backward({grad_pred, grad_ref});
    ctx->saved_data["grad_pred"] = want_pred;
    ctx->saved_data["grad_ref"] = want_ref;
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
    const Tensor grad_pred = ctx->saved_data["grad_pred"].toBool() ? saved[0] * scale : Tensor();
    const Tensor grad_ref = ctx->saved_data["grad_ref"].toBool() ? saved[1] * scale : Tensor();
    return {grad_pred, grad_ref, Tensor(), Tensor()};
  }
};

Tensor baseline(BaselineKind kind, const Tensor& pred, const Tensor& ref,
                const std::optional<Tensor>& mask, const std::string& reduction) {
  require_devices(baseline_name(kind), pred, ref, mask);
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
  static const auto inner =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("energyloss::_kabsch_align", "")
          .typed<Tensor(const Tensor&, const Tensor&, const c10::optional<Tensor>&)>();
  require_devices("kabsch_align", pred, ref, mask);
  const at::AutoDispatchBelowADInplaceOrView no_autograd;  // not differentiable
  return inner.call(pred.detach(), ref.detach(), torch_ops::to_c10(mask));
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def("mse_loss(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::MSE>);
  m.def("mae_loss(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::MAE>);
  m.def("kabsch_mse(Tensor pred, Tensor ref, Tensor? mask=None, str reduction=\"mean\") -> Tensor",
        &baseline_op<BaselineKind::KabschMSE>);
  m.def("kabsch_align(Tensor pred, Tensor ref, Tensor? mask=None) -> Tensor", &kabsch_align_op);
  // The inner ops: one kernel for CPU and Meta, no autograd of their own.
  m.def(
      "_baseline_loss(Tensor pred, Tensor ref, Tensor? mask, str kind, bool grad_pred, "
      "bool grad_ref) -> (Tensor, Tensor, Tensor)");
  m.def("_kabsch_align(Tensor pred, Tensor ref, Tensor? mask) -> Tensor");
}

TORCH_LIBRARY_IMPL(energyloss, CPU, m) {
  m.impl("_baseline_loss", &baseline_kernel);
  m.impl("_kabsch_align", &kabsch_align_kernel);
}

TORCH_LIBRARY_IMPL(energyloss, Meta, m) {
  m.impl("_baseline_loss", &baseline_kernel);
  m.impl("_kabsch_align", &kabsch_align_kernel);
}

// Called directly (tests, opcheck), the inner ops pass through autograd.
TORCH_LIBRARY_IMPL(energyloss, Autograd, m) {
  m.impl("_baseline_loss", torch::CppFunction::makeFallthrough());
  m.impl("_kabsch_align", torch::CppFunction::makeFallthrough());
}

}  // namespace energyloss
