// LibTorch adapter of the spin kernels. Losses and energies come with their
// gradient from one fused kernel sweep; backward only rescales it. As for the
// pair ops (pair_ops.cpp), the public ops check devices and call the inner op
// _spin_value, whose one kernel serves the CPU and the Meta dispatch keys: on
// meta tensors (fake tensors, torch.compile) it runs every check that reads
// no data and returns outputs of the right shapes and dtypes. Other devices
// are refused. ising_ground_state has its own inner op, _ising_ground_state,
// with a CPU kernel and a Meta shape function sharing its argument checks.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <functional>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/spins.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/spins.h"

namespace energyloss {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Contiguous couplings of a batch of L x L lattices, checked against B and L;
// `op` names the op in errors.
struct Couplings {
  Tensor horizontal, vertical;
  int64_t batch = 0, side = 0;

  Couplings(const char* op, const Tensor& Jh, const Tensor& Jv, int64_t batch_size,
            int64_t lattice_side, const char* shape_source)
      : batch(batch_size), side(lattice_side) {
    require(side >= 1, shape_source, ": lattice side L must be >= 1, got ", side);
    torch_ops::require_float_or_double(op, "Jh", Jh);
    torch_ops::require_same_dtype(op, Jv, "Jv", Jh, "Jh");
    require(Jh.sizes() == torch::IntArrayRef({batch, side, side - 1}),
            "Jh: expected shape [B, L, L-1] = [", batch, ", ", side, ", ", side - 1, "] to match ",
            shape_source, ", got ", Jh.sizes());
    require(Jv.sizes() == torch::IntArrayRef({batch, side - 1, side}),
            "Jv: expected shape [B, L-1, L] = [", batch, ", ", side - 1, ", ", side, "] to match ",
            shape_source, ", got ", Jv.sizes());
    horizontal = Jh.detach().contiguous();
    vertical = Jv.detach().contiguous();
  }

  // Couplings for the sites tensor `sites` [B, L, L] named `name`.
  static Couplings for_sites(const char* op, const Tensor& sites, const char* name,
                             const Tensor& Jh, const Tensor& Jv) {
    torch_ops::require_float_or_double(op, name, sites);
    require(sites.dim() == 3 && sites.size(1) == sites.size(2), name,
            ": expected shape [B, L, L], got ", sites.sizes());
    torch_ops::require_same_dtype(op, Jh, "Jh", sites, name);
    return Couplings(op, Jh, Jv, sites.size(0), sites.size(1), name);
  }

  template <typename T>
  SpinLattice<T> lattice() const {
    return {batch, side, horizontal.data_ptr<T>(), vertical.data_ptr<T>()};
  }
};

Tensor fields_of(const Tensor& spins, const Tensor& Jh, const Tensor& Jv) {
  const Couplings couplings = Couplings::for_sites("local_fields", spins, "spins", Jh, Jv);
  const Tensor input = spins.detach().contiguous();
  Tensor fields = torch::empty_like(input);
  if (input.is_meta()) return fields;  // shapes only
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "local_fields", [&] {
    local_fields<scalar_t>(couplings.lattice<scalar_t>(), input.data_ptr<scalar_t>(),
                           fields.data_ptr<scalar_t>());
  });
  return fields;
}

// [B] and, on request, the gradient, for a kernel over the sites of a lattice.
template <typename Call>
Tensor lattice_loss(const Tensor& logits, const Couplings& couplings, Tensor* grad, Call call) {
  const Tensor input = logits.detach().contiguous();
  Tensor loss = torch::empty({couplings.batch}, input.options());
  if (grad != nullptr) *grad = torch::empty_like(input);
  if (input.is_meta()) return loss;  // shapes only
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "spin_loss", [&] {
    call(couplings.lattice<scalar_t>(), input.data_ptr<scalar_t>(), loss.data_ptr<scalar_t>(),
         grad != nullptr ? grad->data_ptr<scalar_t>() : nullptr);
  });
  return loss;
}

// Baselines on [B, ...] logits with a +-1 target of the same shape and dtype.
template <typename Call>
Tensor classification_loss(const char* op, const Tensor& logits, const Tensor& target, Tensor* grad,
                           Call call) {
  torch_ops::require_float_or_double(op, "logits", logits);
  require(logits.dim() >= 1, "logits: expected shape [B, ...], got a scalar");
  torch_ops::require_same_shape(op, target, "target", logits, "logits");
  const Tensor input = logits.detach().contiguous();
  const Tensor labels = target.detach().contiguous();
  const int64_t batch = logits.size(0);
  int64_t sites = 1;  // per system, also for an empty batch
  for (int64_t d = 1; d < logits.dim(); ++d) sites *= logits.size(d);
  Tensor loss = torch::empty({batch}, input.options());
  if (grad != nullptr) *grad = torch::empty_like(input);
  if (input.is_meta()) return loss;  // shapes only
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "spin_classification_loss", [&] {
    call(batch, sites, input.data_ptr<scalar_t>(), labels.data_ptr<scalar_t>(),
         loss.data_ptr<scalar_t>(), grad != nullptr ? grad->data_ptr<scalar_t>() : nullptr);
  });
  return loss;
}

const Tensor& given(const c10::optional<Tensor>& tensor, const char* op, const char* name) {
  require(tensor.has_value(), "_spin_value: ", op, " needs ", name);
  return *tensor;
}

// The device rule, checked by the public ops before the inner op is
// dispatched and again by its kernel: `input` (named spins or logits) on the
// CPU or the meta device, the other tensors on its.
void require_devices(const std::string& op, const Tensor& input,
                     const c10::optional<Tensor>& target, const c10::optional<Tensor>& Jh,
                     const c10::optional<Tensor>& Jv) {
  const auto pointer = [](const c10::optional<Tensor>& t) { return t ? &*t : nullptr; };
  const bool spins = op == "ising_energy" || op == "local_fields";
  torch_ops::require_cpu_or_meta(op.c_str(), {{spins ? "spins" : "logits", &input},
                                              {"target", pointer(target)},
                                              {"Jh", pointer(Jh)},
                                              {"Jv", pointer(Jv)}});
}

// On meta tensors the kernels do not run; the checks they make without
// reading data (the float parameters, a system without sites) still apply:
// the kernel of `op` on an empty batch makes exactly those.
void check_without_data(const std::string& op, const Tensor& input, double a, double b) {
  const SpinLattice<double> no_systems{0, 1, nullptr, nullptr};
  int64_t sites = 1;
  for (int64_t d = 1; d < input.dim(); ++d) sites *= input.size(d);
  // B systems without sites hold no data either (the kernel refuses them
  // first): the message then names the real batch size.
  const int64_t batch = sites == 0 && input.dim() >= 1 ? input.size(0) : 0;
  if (op == "local_field_energy_loss") {
    energyloss::local_field_energy_loss<double>(no_systems, nullptr, nullptr, a, b, nullptr,
                                                nullptr);
  } else if (op == "spin_true_energy_loss") {
    energyloss::spin_true_energy_loss<double>(no_systems, nullptr, a, nullptr, nullptr);
  } else if (op == "spin_bce_loss") {
    energyloss::spin_bce_loss<double>(batch, sites, nullptr, nullptr, nullptr, nullptr);
  } else if (op == "spin_margin_loss") {
    energyloss::spin_margin_loss<double>(batch, sites, nullptr, nullptr, a, nullptr, nullptr);
  }
}

// The inner op _spin_value, CPU and Meta: the value of spin op `op` on
// `input` (per-system [B]; the fields [B, L, L] for local_fields) and, when
// asked, its gradient d value_b / d input (else an empty tensor). `a` and `b`
// are the op's float parameters (temperature and h0, margin, temperature).
std::tuple<Tensor, Tensor> spin_kernel(const std::string& op_name, const Tensor& input,
                                       const c10::optional<Tensor>& target,
                                       const c10::optional<Tensor>& Jh,
                                       const c10::optional<Tensor>& Jv, double a, double b,
                                       bool want_grad) {
  require_devices(op_name, input, target, Jh, Jv);
  const char* op = op_name.c_str();
  Tensor value, grad;
  Tensor* wanted = want_grad ? &grad : nullptr;
  if (op_name == "ising_energy") {
    const Couplings couplings =
        Couplings::for_sites(op, input, "spins", given(Jh, op, "Jh"), given(Jv, op, "Jv"));
    value = lattice_loss(input, couplings, wanted, [](auto lattice, auto* y, auto* e, auto* g) {
      energyloss::ising_energy(lattice, y, e, g);
    });
  } else if (op_name == "local_fields") {
    value = fields_of(input, given(Jh, op, "Jh"), given(Jv, op, "Jv"));
  } else if (op_name == "local_field_energy_loss") {
    const Couplings couplings =
        Couplings::for_sites(op, input, "logits", given(Jh, op, "Jh"), given(Jv, op, "Jv"));
    torch_ops::require_same_shape(op, given(target, op, "target"), "target", input, "logits");
    const Tensor labels = target->detach().contiguous();
    value = lattice_loss(input, couplings, wanted, [&](auto lattice, auto* z, auto* loss, auto* g) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(z)>>;
      energyloss::local_field_energy_loss(lattice, z, labels.data_ptr<T>(), a, b, loss, g);
    });
  } else if (op_name == "spin_bce_loss") {
    value = classification_loss(
        op, input, given(target, op, "target"), wanted,
        [](int64_t batch, int64_t sites, auto* z, auto* y, auto* loss, auto* g) {
          energyloss::spin_bce_loss(batch, sites, z, y, loss, g);
        });
  } else if (op_name == "spin_margin_loss") {
    value = classification_loss(
        op, input, given(target, op, "target"), wanted,
        [a](int64_t batch, int64_t sites, auto* z, auto* y, auto* loss, auto* g) {
          energyloss::spin_margin_loss(batch, sites, z, y, a, loss, g);
        });
  } else if (op_name == "spin_true_energy_loss") {
    const Couplings couplings =
        Couplings::for_sites(op, input, "logits", given(Jh, op, "Jh"), given(Jv, op, "Jv"));
    value = lattice_loss(input, couplings, wanted, [&](auto lattice, auto* z, auto* loss, auto* g) {
      energyloss::spin_true_energy_loss(lattice, z, a, loss, g);
    });
  } else {
    fail("_spin_value: unknown spin op '", op_name, "'");
  }
  if (input.is_meta()) check_without_data(op_name, input, a, b);
  if (!grad.defined()) grad = torch::empty({0}, value.options());
  return {value, grad};
}

using SpinSignature = std::tuple<Tensor, Tensor>(const std::string&, const Tensor&,
                                                 const c10::optional<Tensor>&,
                                                 const c10::optional<Tensor>&,
                                                 const c10::optional<Tensor>&, double, double,
                                                 bool);

std::tuple<Tensor, Tensor> call_spin_kernel(const std::string& op, const Tensor& input,
                                            const c10::optional<Tensor>& target,
                                            const c10::optional<Tensor>& Jh,
                                            const c10::optional<Tensor>& Jv, double a, double b,
                                            bool want_grad) {
  static const auto inner = c10::Dispatcher::singleton()
                                .findSchemaOrThrow("energyloss::_spin_value", "")
                                .typed<SpinSignature>();
  // The calling autograd function is the call's autograd: run below it.
  const at::AutoDispatchBelowADInplaceOrView below_autograd;
  return inner.call(op, input, target, Jh, Jv, a, b, want_grad);
}

// A per-system value [B] of `input` with its gradient from the same kernel
// call; backward rescales the saved gradient. The ops are differentiable with
// respect to `input` alone: the public ops refuse a target or coupling that
// requires grad (refuse_gradient_through) before they get here.
struct SpinValueFunction : public torch::autograd::Function<SpinValueFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& input,
                        const c10::optional<Tensor>& target, const c10::optional<Tensor>& Jh,
                        const c10::optional<Tensor>& Jv, const std::string& op, double a,
                        double b) {
    const bool want_grad = input.requires_grad();
    auto [value, grad] = call_spin_kernel(op, input, target, Jh, Jv, a, b, want_grad);
    ctx->saved_data["has_grad"] = want_grad;
    ctx->save_for_backward({grad});
    return value;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The saved gradient is a constant to autograd: refuse rather than
    // silently return wrong second derivatives.
    require(!torch::GradMode::is_enabled(),
            "spin losses and ising_energy do not support second derivatives (create_graph=True)");
    variable_list grads(7);  // input, target, Jh, Jv, op, a, b: input's alone
    if (ctx->saved_data["has_grad"].toBool() && grad_outputs[0].defined()) {
      const Tensor grad = ctx->get_saved_variables()[0];
      std::vector<int64_t> per_system(size_t(grad.dim()), 1);
      per_system[0] = -1;
      grads[0] = grad * grad_outputs[0].reshape(per_system);
    }
    return grads;
  }
};

// h = J y is linear and J symmetric, so its vector-Jacobian product is J g:
// backward applies the same function, which keeps higher derivatives right.
// Differentiable with respect to the spins alone (couplings refused by
// local_fields).
struct LocalFieldsFunction : public torch::autograd::Function<LocalFieldsFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& spins, const Tensor& Jh,
                        const Tensor& Jv) {
    ctx->save_for_backward({Jh, Jv});
    return std::get<0>(call_spin_kernel("local_fields", spins, c10::nullopt, Jh, Jv, 0, 0, false));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    Tensor spins_grad;
    if (ctx->needs_input_grad(0) && grad_outputs[0].defined()) {
      spins_grad = LocalFieldsFunction::apply(grad_outputs[0], saved[0], saved[1]);
    }
    return {spins_grad, Tensor(), Tensor()};
  }
};

// The spin ops have no gradient with respect to their targets (exactly +-1)
// or couplings: while autograd records, such an argument that requires grad
// is refused by name rather than left without a gradient.
void refuse_gradient_through(const char* op, const char* name,
                             const c10::optional<Tensor>& tensor) {
  if (tensor.has_value()) torch_ops::refuse_gradient(op, name, *tensor);
}

void refuse_gradients(const char* op, const c10::optional<Tensor>& target,
                      const c10::optional<Tensor>& Jh, const c10::optional<Tensor>& Jv) {
  refuse_gradient_through(op, "target", target);
  refuse_gradient_through(op, "Jh", Jh);
  refuse_gradient_through(op, "Jv", Jv);
}

// A public spin op: the device rule, then the inner op under autograd.
Tensor spin_value(const char* op, const Tensor& input, const c10::optional<Tensor>& target,
                  const c10::optional<Tensor>& Jh, const c10::optional<Tensor>& Jv, double a = 0,
                  double b = 0) {
  require_devices(op, input, target, Jh, Jv);
  refuse_gradients(op, target, Jh, Jv);
  return SpinValueFunction::apply(input, target, Jh, Jv, std::string(op), a, b);
}

template <typename Signature>
Signature* overload(Signature* function) {
  return function;
}

// ising_ground_state: Jh and Jv both on the CPU, or both on the meta device.
void require_ground_state_devices(const Tensor& Jh, const Tensor& Jv) {
  torch_ops::require_cpu_or_meta("ising_ground_state", {{"Jh", &Jh}, {"Jv", &Jv}});
}

// The argument checks of ising_ground_state that read no data, shared by
// its CPU kernel and its Meta shape function. B and L come from Jh itself,
// so its own last dimension is checked here (Couplings would report a
// mismatch "to match Jh"); then the kernel's own check of L on an empty
// batch (L <= kMaxGroundStateSide).
Couplings ground_state_couplings(const Tensor& Jh, const Tensor& Jv) {
  require_ground_state_devices(Jh, Jv);
  require(Jh.dim() == 3 && (Jh.size(1) < 1 || Jh.size(2) == Jh.size(1) - 1),
          "Jh: expected shape [B, L, L-1] (L x L lattices), got ", Jh.sizes());
  Couplings couplings("ising_ground_state", Jh, Jv, Jh.size(0), Jh.size(1), "Jh");
  energyloss::ising_ground_state<double>({0, couplings.side, nullptr, nullptr}, nullptr, nullptr);
  return couplings;
}

// The ground states [B, L, L] and their energies [B], in Jh's dtype and on
// its device (the CPU, or meta: shapes only).
std::tuple<Tensor, Tensor> ground_state_outputs(const Couplings& couplings) {
  const auto options = couplings.horizontal.options();
  return {torch::empty({couplings.batch, couplings.side, couplings.side}, options),
          torch::empty({couplings.batch}, options)};
}

// The inner op _ising_ground_state, CPU: exact ground states are computed
// here, not traced.
std::tuple<Tensor, Tensor> ground_state_cpu(const Tensor& Jh, const Tensor& Jv) {
  const Couplings couplings = ground_state_couplings(Jh, Jv);
  auto [spins, energy] = ground_state_outputs(couplings);
  AT_DISPATCH_FLOATING_TYPES(spins.scalar_type(), "ising_ground_state", [&] {
    energyloss::ising_ground_state<scalar_t>(
        couplings.lattice<scalar_t>(), spins.data_ptr<scalar_t>(), energy.data_ptr<scalar_t>());
  });
  return {spins, energy};
}

// Meta: the checks above and the outputs' shapes and dtypes.
std::tuple<Tensor, Tensor> ground_state_meta(const Tensor& Jh, const Tensor& Jv) {
  return ground_state_outputs(ground_state_couplings(Jh, Jv));
}

}  // namespace

Tensor ising_energy(const Tensor& spins, const Tensor& Jh, const Tensor& Jv) {
  return spin_value("ising_energy", spins, c10::nullopt, Jh, Jv);
}

Tensor local_fields(const Tensor& spins, const Tensor& Jh, const Tensor& Jv) {
  require_devices("local_fields", spins, c10::nullopt, Jh, Jv);
  refuse_gradients("local_fields", c10::nullopt, Jh, Jv);
  return LocalFieldsFunction::apply(spins, Jh, Jv);
}

Tensor local_field_energy_loss(const Tensor& logits, const Tensor& target, const Tensor& Jh,
                               const Tensor& Jv, double temperature, double h0,
                               const std::string& reduction) {
  return torch_ops::reduce(
      spin_value("local_field_energy_loss", logits, target, Jh, Jv, temperature, h0), reduction);
}

Tensor spin_bce_loss(const Tensor& logits, const Tensor& target, const std::string& reduction) {
  return torch_ops::reduce(spin_value("spin_bce_loss", logits, target, c10::nullopt, c10::nullopt),
                           reduction);
}

Tensor spin_margin_loss(const Tensor& logits, const Tensor& target, double margin,
                        const std::string& reduction) {
  return torch_ops::reduce(
      spin_value("spin_margin_loss", logits, target, c10::nullopt, c10::nullopt, margin),
      reduction);
}

Tensor spin_true_energy_loss(const Tensor& logits, const Tensor& Jh, const Tensor& Jv,
                             double temperature, const std::string& reduction) {
  return torch_ops::reduce(
      spin_value("spin_true_energy_loss", logits, c10::nullopt, Jh, Jv, temperature), reduction);
}

std::tuple<Tensor, Tensor> ising_ground_state(const Tensor& Jh, const Tensor& Jv) {
  using Signature = std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&);
  static const auto inner = c10::Dispatcher::singleton()
                                .findSchemaOrThrow("energyloss::_ising_ground_state", "")
                                .typed<Signature>();
  require_ground_state_devices(Jh, Jv);
  // Not differentiable: couplings that require grad are refused as the other
  // spin ops refuse theirs, not silently left without a gradient.
  refuse_gradients("ising_ground_state", c10::nullopt, Jh, Jv);
  const at::AutoDispatchBelowADInplaceOrView no_autograd;
  return inner.call(Jh.detach(), Jv.detach());
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  using Fields = Tensor(const Tensor&, const Tensor&, const Tensor&);
  m.def("ising_energy(Tensor spins, Tensor Jh, Tensor Jv) -> Tensor",
        overload<Fields>(&ising_energy));
  m.def("local_fields(Tensor spins, Tensor Jh, Tensor Jv) -> Tensor",
        overload<Fields>(&local_fields));
  m.def(
      "local_field_energy_loss(Tensor logits, Tensor target, Tensor Jh, Tensor Jv, "
      "float temperature=0.1, float h0=4.5, str reduction=\"sum\") -> Tensor",
      overload<Tensor(const Tensor&, const Tensor&, const Tensor&, const Tensor&, double, double,
                      const std::string&)>(&local_field_energy_loss));
  m.def("spin_bce_loss(Tensor logits, Tensor target, str reduction=\"sum\") -> Tensor",
        overload<Tensor(const Tensor&, const Tensor&, const std::string&)>(&spin_bce_loss));
  m.def(
      "spin_margin_loss(Tensor logits, Tensor target, float margin=1.0, str reduction=\"sum\") "
      "-> Tensor",
      overload<Tensor(const Tensor&, const Tensor&, double, const std::string&)>(
          &spin_margin_loss));
  m.def(
      "spin_true_energy_loss(Tensor logits, Tensor Jh, Tensor Jv, float temperature=0.1, "
      "str reduction=\"sum\") -> Tensor",
      overload<Tensor(const Tensor&, const Tensor&, const Tensor&, double, const std::string&)>(
          &spin_true_energy_loss));
  m.def("ising_ground_state(Tensor Jh, Tensor Jv) -> (Tensor, Tensor)",
        overload<std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&)>(&ising_ground_state));
  // The inner ops: a kernel for CPU and one for Meta, no autograd of their own.
  m.def(
      "_spin_value(str op, Tensor input, Tensor? target, Tensor? Jh, Tensor? Jv, float a, "
      "float b, bool grad) -> (Tensor, Tensor)");
  m.def("_ising_ground_state(Tensor Jh, Tensor Jv) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(energyloss, CPU, m) {
  m.impl("_spin_value", &spin_kernel);
  m.impl("_ising_ground_state", &ground_state_cpu);
}

TORCH_LIBRARY_IMPL(energyloss, Meta, m) {
  m.impl("_spin_value", &spin_kernel);
  m.impl("_ising_ground_state", &ground_state_meta);
}

// Called directly (tests, opcheck), the inner op passes through autograd.
TORCH_LIBRARY_IMPL(energyloss, Autograd, m) {
  m.impl("_spin_value", torch::CppFunction::makeFallthrough());
  m.impl("_ising_ground_state", torch::CppFunction::makeFallthrough());
}

}  // namespace energyloss
