// LibTorch face of the energy oracles, engine-independent part:
// torch.classes.energyloss.Oracle, the differentiable energy, the true-energy
// loss, force-field-derived coefficients and the Hessian of any oracle, and
// the helpers of oracle_ops.h. Each engine's factory ops are in
// <engine>/<engine>_ops.cpp, compiled in with the engine.
#include "oracle_ops.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/oracles/derived_coefficients.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/oracle.h"

namespace energyloss {
namespace oracle_ops {

namespace {

// The oracle of the factory op `factory` called with `arguments` (an
// unpickled Oracle's state).
Handle call_factory(const std::string& factory, const c10::List<c10::IValue>& arguments) {
  const auto op = c10::Dispatcher::singleton().findSchema({"energyloss::" + factory, ""});
  require(op.has_value(), "Oracle: cannot unpickle an oracle of '", factory,
          "': this build of energyloss has no such op (built without its engine?)");
  torch::jit::Stack stack(arguments.begin(), arguments.end());
  op->callBoxed(&stack);
  return stack.at(0).toCustomClass<OracleHandle>();
}

}  // namespace

const std::string& oracle_class(torch::Library& m) {
  static const std::string type = [&m] {
    m.class_<OracleHandle>("Oracle")
        .def("evaluate",
             [](const Handle& self, const torch::Tensor& positions) {
               return oracle_evaluate(self, positions);
             })
        .def("units",
             [](const Handle& self) {
               const OracleUnits units = oracle_of(self).units();
               return std::make_tuple(units.length, units.energy);
             })
        .def("atoms", [](const Handle& self) { return oracle_of(self).atoms(); })
        .def("elements", [](const Handle& self) { return oracle_of(self).elements(); })
        .def("describe", [](const Handle& self) { return oracle_of(self).describe(); })
        // torch.jit.save / torch.jit.load: the state is the factory call.
        .def_pickle(
            [](const Handle& self) {
              require(self && !self->factory.empty(),
                      "Oracle: this oracle was not made by a factory op of "
                      "torch.ops.energyloss, so it cannot be pickled (torch.jit.save)");
              c10::impl::GenericList arguments(c10::AnyType::get());
              for (const c10::IValue& argument : self->arguments) arguments.push_back(argument);
              return std::make_tuple(self->factory, arguments);
            },
            [](std::tuple<std::string, c10::List<c10::IValue>> state) {
              return call_factory(std::get<0>(state), std::get<1>(state));
            });
    return std::string("__torch__.torch.classes.energyloss.Oracle");
  }();
  return type;
}

EnergyOracle& oracle_of(const Handle& handle) {
  require(handle && handle->oracle, "oracle: not initialised");
  return *handle->oracle;
}

Handle wrap(std::shared_ptr<EnergyOracle> oracle) {
  return c10::make_intrusive<OracleHandle>(std::move(oracle));
}

Handle wrap(std::shared_ptr<EnergyOracle> oracle, const char* factory,
            std::vector<c10::IValue> arguments) {
  Handle handle = wrap(std::move(oracle));
  handle->factory = factory;
  handle->arguments = std::move(arguments);
  return handle;
}

std::string absolute_path(const std::string& file) {
  if (file.empty() || file.find('\n') != std::string::npos) return file;
  return std::filesystem::absolute(file).string();
}

torch::Tensor floating_cpu(const char* op, const torch::Tensor& tensor, const char* name) {
  torch_ops::require_floating_cpu(op, name, tensor);
  return tensor.detach().to(torch::kDouble).contiguous();
}

void require_index_tuples(const char* op, const torch::Tensor& tuples, int64_t width,
                          const char* name) {
  torch_ops::require_defined(op, name, tuples);
  require(!tuples.is_floating_point() && !tuples.is_complex() && tuples.dim() == 2 &&
              tuples.size(1) == width,
          name, ": expected an integer tensor [E, ", width, "], got ", tuples.scalar_type(), " ",
          tuples.sizes());
}

torch::Tensor index_tuples(const char* op, const torch::Tensor& tuples, int64_t width,
                           const char* name) {
  require_index_tuples(op, tuples, width, name);
  torch_ops::require_cpu(op, name, tuples);
  return tuples.to(torch::kLong).contiguous();
}

torch::Tensor values_like(const std::vector<double>& values, std::vector<int64_t> shape,
                          const torch::Tensor& like) {
  return torch::tensor(values, torch::kDouble).reshape(shape).to(like.scalar_type());
}

std::map<std::string, std::string> string_map(
    const c10::optional<c10::Dict<std::string, std::string>>& dict) {
  std::map<std::string, std::string> result;
  if (!dict.has_value()) return result;
  for (const auto& entry : *dict) result[entry.key()] = entry.value();
  return result;
}

torch::Tensor oracle_batch(const char* op, const EnergyOracle& oracle,
                           const torch::Tensor& positions, const char* name) {
  torch_ops::require_floating_cpu(op, name, positions);
  require(positions.dim() == 2 || positions.dim() == 3, name,
          ": expected shape [B, N, 3] or [N, 3], got ", positions.sizes());
  const torch::Tensor batch = positions.dim() == 2 ? positions.unsqueeze(0) : positions;
  require(batch.size(1) == oracle.atoms() && batch.size(2) == 3, name, ": ", oracle.describe(),
          " has ", oracle.atoms(), " atoms, so expected shape [B, ", oracle.atoms(), ", 3], got ",
          positions.sizes());
  return batch.detach().to(torch::kDouble).contiguous();
}

}  // namespace oracle_ops

namespace {

using namespace oracle_ops;
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// (energies, forces, valid) in float64 (valid: bool) with the batch
// dimension of `positions`. Without `masked` (errors="raise") any failed
// entry throws and valid is all true. `op` and `name` appear in errors.
std::tuple<Tensor, Tensor, Tensor> evaluate_double(const char* op, EnergyOracle& oracle,
                                                   const Tensor& positions, const char* name,
                                                   bool masked = false) {
  const Tensor batch = oracle_batch(op, oracle, positions, name);
  Tensor energies = torch::empty({batch.size(0)}, batch.options());
  Tensor forces = torch::empty_like(batch);
  Tensor valid = torch::ones({batch.size(0)}, batch.options().dtype(torch::kBool));
  if (masked) {
    oracle.evaluate_masked(batch.data_ptr<double>(), batch.size(0), energies.data_ptr<double>(),
                           forces.data_ptr<double>(), valid.data_ptr<bool>());
  } else {
    oracle.evaluate(batch.data_ptr<double>(), batch.size(0), energies.data_ptr<double>(),
                    forces.data_ptr<double>());
  }
  if (positions.dim() == 2) return {energies[0], forces[0], valid[0]};
  return {energies, forces, valid};
}

// Outputs (energies, valid); the gradient of energies is -forces, and 0 for
// entries that are not valid (errors="mask").
struct OracleEnergyFunction : public torch::autograd::Function<OracleEnergyFunction> {
  static variable_list forward(AutogradContext* ctx, const Tensor& positions, const Handle& handle,
                               bool masked) {
    auto [energies, forces, valid] =
        evaluate_double(masked ? "oracle_energy_masked" : "oracle_energy", oracle_of(handle),
                        positions, "positions", masked);
    ctx->save_for_backward({forces.to(positions.scalar_type()), valid});
    ctx->mark_non_differentiable({valid});
    return {energies.to(positions.scalar_type()), valid};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The saved forces are constants to autograd: refuse rather than return
    // wrong second derivatives.
    require(!torch::GradMode::is_enabled(),
            "oracle_energy does not support second derivatives (create_graph=True)");
    const Tensor forces = ctx->get_saved_variables()[0];
    const Tensor valid = ctx->get_saved_variables()[1];
    // A failed entry's incoming gradient may be inf or NaN (its energy is
    // +inf): zero it rather than multiply.
    const Tensor grad = torch::where(valid, grad_outputs[0], torch::zeros_like(grad_outputs[0]));
    const Tensor per_system = forces.dim() == 3 ? grad.reshape({-1, 1, 1}) : grad;
    return {-forces * per_system, Tensor(), Tensor()};
  }
};

std::tuple<Tensor, Tensor, int64_t, double> force_field_coefficients(
    const Handle& handle, const Tensor& reference, const Tensor& edges, double step,
    c10::optional<double> floor, const std::string& method) {
  EnergyOracle& oracle = oracle_of(handle);
  torch_ops::require_defined("force_field_coefficients", "reference", reference);
  require(reference.dim() == 2, "reference: expected shape [N, 3], got ", reference.sizes());
  const Tensor positions = oracle_batch("force_field_coefficients", oracle, reference, "reference");
  const Tensor pairs = index_tuples("force_field_coefficients", edges, 2, "edges");
  DerivedCoefficientOptions options;
  options.step = step;
  options.floor = torch_ops::to_std(floor);
  const auto* pair_oracle = dynamic_cast<const PairCurvatureOracle*>(&oracle);
  DerivedCoefficients result;
  if (method == "finite_difference" || (method == "auto" && pair_oracle == nullptr)) {
    result = derived_coefficients(oracle, positions.data_ptr<double>(), pairs.data_ptr<int64_t>(),
                                  pairs.size(0), options);
  } else if (method == "analytic" || method == "auto") {
    require(pair_oracle != nullptr, "method 'analytic': ", oracle.describe(),
            " has no analytic pair curvature; use 'finite_difference' (or, for an OpenMM "
            "System, openmm_pair_coefficients)");
    result = analytic_coefficients(*pair_oracle, positions.data_ptr<double>(),
                                   pairs.data_ptr<int64_t>(), pairs.size(0), options);
  } else {
    fail("method must be 'auto', 'analytic' or 'finite_difference', got '", method, "'");
  }
  return {values_like(result.k, {pairs.size(0)}, reference),
          values_like(result.curvature, {pairs.size(0)}, reference), result.floored, result.floor};
}

// d^2 E / dx dx [3N, 3N] at `reference` [N, 3] (force_field_hessian in
// energyloss/oracles/hessian_coefficients.h), in the dtype of `reference`.
Tensor force_field_hessian_tensor(const Handle& handle, const Tensor& reference, double step,
                                  int64_t chunk) {
  EnergyOracle& oracle = oracle_of(handle);
  torch_ops::require_defined("force_field_hessian", "reference", reference);
  require(reference.dim() == 2, "reference: expected shape [N, 3], got ", reference.sizes());
  const Tensor positions = oracle_batch("force_field_hessian", oracle, reference, "reference");
  HessianOptions options;
  options.step = step;
  options.chunk = chunk;
  const std::vector<double> h = force_field_hessian(oracle, positions.data_ptr<double>(), options);
  const int64_t dof = 3 * oracle.atoms();
  return values_like(h, {dof, dof}, reference);
}

}  // namespace

std::tuple<Tensor, Tensor> oracle_evaluate(const Handle& oracle, const Tensor& positions) {
  auto [energies, forces, valid] =
      evaluate_double("oracle_evaluate", oracle_of(oracle), positions, "positions");
  return {energies.to(positions.scalar_type()), forces.to(positions.scalar_type())};
}

Tensor oracle_energy(const Handle& oracle, const Tensor& positions) {
  // Before autograd's apply, which reads the device of every tensor.
  torch_ops::require_defined("oracle_energy", "positions", positions);
  return OracleEnergyFunction::apply(positions, oracle, false)[0];
}

std::tuple<Tensor, Tensor, Tensor> oracle_evaluate_masked(const Handle& oracle,
                                                          const Tensor& positions) {
  auto [energies, forces, valid] =
      evaluate_double("oracle_evaluate_masked", oracle_of(oracle), positions, "positions", true);
  return {energies.to(positions.scalar_type()), forces.to(positions.scalar_type()), valid};
}

std::tuple<Tensor, Tensor> oracle_energy_masked(const Handle& oracle, const Tensor& positions) {
  torch_ops::require_defined("oracle_energy_masked", "positions", positions);
  const variable_list outputs = OracleEnergyFunction::apply(positions, oracle, true);
  return {outputs[0], outputs[1]};
}

Tensor true_energy_loss(const Handle& oracle, const Tensor& pred, const Tensor& ref,
                        double temperature, const std::string& reduction) {
  require(std::isfinite(temperature) && temperature > 0, "temperature: expected > 0, got ",
          temperature);
  torch_ops::require_floating_cpu("true_energy_loss", "pred", pred);
  torch_ops::require_floating_cpu("true_energy_loss", "ref", ref);
  // One shape and one dtype: float32 next to float64 is refused, not converted.
  torch_ops::require_same_shape("true_energy_loss", ref, "ref", pred, "pred");
  const Tensor pred_energy = oracle_energy(oracle, pred);
  const Tensor ref_energy = std::get<0>(oracle_evaluate(oracle, ref.detach()));
  return torch_ops::reduce((pred_energy - ref_energy) / temperature, reduction);
}

}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  const std::string oracle_arg = energyloss::oracle_ops::oracle_class(m) + " oracle";
  m.def(("oracle_evaluate(" + oracle_arg + ", Tensor positions) -> (Tensor, Tensor)").c_str(),
        &energyloss::oracle_evaluate);
  m.def(("oracle_energy(" + oracle_arg + ", Tensor positions) -> Tensor").c_str(),
        &energyloss::oracle_energy);
  m.def(("oracle_evaluate_masked(" + oracle_arg + ", Tensor positions) -> (Tensor, Tensor, Tensor)")
            .c_str(),
        &energyloss::oracle_evaluate_masked);
  m.def(("oracle_energy_masked(" + oracle_arg + ", Tensor positions) -> (Tensor, Tensor)").c_str(),
        &energyloss::oracle_energy_masked);
  m.def(("true_energy_loss(" + oracle_arg +
         ", Tensor pred, Tensor ref, float temperature, str reduction=\"mean\") -> Tensor")
            .c_str(),
        &energyloss::true_energy_loss);
  m.def(("force_field_coefficients(" + oracle_arg +
         ", Tensor reference, Tensor edges, float step=1e-4, float? floor=None, "
         "str method=\"auto\") -> (Tensor, Tensor, int, float)")
            .c_str(),
        &energyloss::force_field_coefficients);
  m.def(("force_field_hessian(" + oracle_arg +
         ", Tensor reference, float step=1e-4, int chunk=256) -> Tensor")
            .c_str(),
        &energyloss::force_field_hessian_tensor);
}
