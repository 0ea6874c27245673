// LibTorch face of the energy oracles: torch.classes.energyloss.Oracle, the
// differentiable energy, the true-energy loss, force-field-derived
// coefficients, the oracle factories, and torch.classes.energyloss.Generator.
// One TU, so the classes are registered before the ops that use them.
#include <torch/autograd.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <cmath>
#include <map>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/generator.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/oracles/derived_coefficients.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/oracles/lammps_oracle.h"
#include "energyloss/oracles/openmm_coefficients.h"
#include "energyloss/oracles/openmm_oracle.h"
#include "energyloss/oracles/rdkit_mmff_oracle.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/oracle.h"

namespace energyloss {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Handle = c10::intrusive_ptr<OracleHandle>;

EnergyOracle& oracle_of(const Handle& handle) {
  require(handle && handle->oracle, "oracle: not initialised");
  return *handle->oracle;
}

void require_floating_cpu(const Tensor& tensor, const char* name) {
  require(tensor.scalar_type() == torch::kFloat || tensor.scalar_type() == torch::kDouble, name,
          ": expected float32 or float64, got ", tensor.scalar_type());
  require(tensor.device().is_cpu(), name, ": expected a CPU tensor, got ", tensor.device());
}

// `positions` [B, N, 3] or [N, 3] as a contiguous float64 batch [B, N, 3]
// matching the oracle's atom count.
Tensor oracle_batch(const EnergyOracle& oracle, const Tensor& positions, const char* name) {
  require_floating_cpu(positions, name);
  require(positions.dim() == 2 || positions.dim() == 3, name,
          ": expected shape [B, N, 3] or [N, 3], got ", positions.sizes());
  const Tensor batch = positions.dim() == 2 ? positions.unsqueeze(0) : positions;
  require(batch.size(1) == oracle.atoms() && batch.size(2) == 3, name, ": ", oracle.describe(),
          " has ", oracle.atoms(), " atoms, so expected shape [B, ", oracle.atoms(), ", 3], got ",
          positions.sizes());
  return batch.detach().to(torch::kDouble).contiguous();
}

// (energies, forces, valid) in float64 (valid: bool) with the batch
// dimension of `positions`. Without `masked` (errors="raise") any failed
// entry throws and valid is all true.
std::tuple<Tensor, Tensor, Tensor> evaluate_double(EnergyOracle& oracle, const Tensor& positions,
                                                   const char* name, bool masked = false) {
  const Tensor batch = oracle_batch(oracle, positions, name);
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
        evaluate_double(oracle_of(handle), positions, "positions", masked);
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

OracleUnits units_of(const std::string& length_unit, const std::string& energy_unit) {
  return {length_unit, energy_unit};
}

Handle wrap(std::shared_ptr<EnergyOracle> oracle) {
  return c10::make_intrusive<OracleHandle>(std::move(oracle));
}

Handle lennard_jones_oracle(int64_t atoms, double epsilon, double sigma,
                            c10::optional<double> cutoff, std::string length_unit,
                            std::string energy_unit) {
  return wrap(make_lennard_jones_oracle(atoms, epsilon, sigma, torch_ops::to_std(cutoff),
                                        units_of(length_unit, energy_unit)));
}

Handle morse_oracle(int64_t atoms, double depth, double width, double r0,
                    c10::optional<double> cutoff, std::string length_unit,
                    std::string energy_unit) {
  return wrap(make_morse_oracle(atoms, depth, width, r0, torch_ops::to_std(cutoff),
                                units_of(length_unit, energy_unit)));
}

Handle harmonic_bond_oracle(const Tensor& bonds, const Tensor& k, const Tensor& r0, int64_t atoms,
                            std::string length_unit, std::string energy_unit) {
  require(
      !bonds.is_floating_point() && !bonds.is_complex() && bonds.dim() == 2 && bonds.size(1) == 2,
      "bonds: expected an integer tensor [E, 2], got ", bonds.scalar_type(), " ", bonds.sizes());
  const int64_t count = bonds.size(0);
  require(k.dim() == 1 && k.size(0) == count, "k: expected shape [", count,
          "] to match bonds, got ", k.sizes());
  require(r0.dim() == 1 && r0.size(0) == count, "r0: expected shape [", count,
          "] to match bonds, got ", r0.sizes());
  const Tensor pairs = bonds.to(torch::kLong).contiguous();
  const Tensor k_values = k.to(torch::kDouble).contiguous();
  const Tensor r0_values = r0.to(torch::kDouble).contiguous();
  std::vector<HarmonicBond> list(static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    list[size_t(e)] = {pairs.data_ptr<int64_t>()[2 * e], pairs.data_ptr<int64_t>()[2 * e + 1],
                       k_values.data_ptr<double>()[e], r0_values.data_ptr<double>()[e]};
  }
  return wrap(
      make_harmonic_bond_oracle(atoms, std::move(list), units_of(length_unit, energy_unit)));
}

// `edges` [E, 2] of any integer dtype as contiguous int64.
Tensor edge_pairs(const Tensor& edges) {
  require(
      !edges.is_floating_point() && !edges.is_complex() && edges.dim() == 2 && edges.size(1) == 2,
      "edges: expected an integer tensor [E, 2], got ", edges.scalar_type(), " ", edges.sizes());
  return edges.to(torch::kLong).contiguous();
}

// Per-edge values in the dtype of `like`.
Tensor as_tensor(const std::vector<double>& values, const Tensor& like) {
  return torch::tensor(values, torch::kDouble).to(like.scalar_type());
}

std::tuple<Tensor, Tensor, int64_t, double> force_field_coefficients(
    const Handle& handle, const Tensor& reference, const Tensor& edges, double step,
    c10::optional<double> floor, const std::string& method) {
  EnergyOracle& oracle = oracle_of(handle);
  require(reference.dim() == 2, "reference: expected shape [N, 3], got ", reference.sizes());
  const Tensor positions = oracle_batch(oracle, reference, "reference");
  const Tensor pairs = edge_pairs(edges);
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
  return {as_tensor(result.k, reference), as_tensor(result.curvature, reference), result.floored,
          result.floor};
}

// d^2 E / dx dx [3N, 3N] at `reference` [N, 3] (force_field_hessian in
// energyloss/oracles/hessian_coefficients.h), in the dtype of `reference`.
Tensor force_field_hessian_tensor(const Handle& handle, const Tensor& reference, double step,
                                  int64_t chunk) {
  EnergyOracle& oracle = oracle_of(handle);
  require(reference.dim() == 2, "reference: expected shape [N, 3], got ", reference.sizes());
  const Tensor positions = oracle_batch(oracle, reference, "reference");
  HessianOptions options;
  options.step = step;
  options.chunk = chunk;
  const std::vector<double> h = force_field_hessian(oracle, positions.data_ptr<double>(), options);
  const int64_t dof = 3 * oracle.atoms();
  return torch::tensor(h, torch::kDouble).reshape({dof, dof}).to(reference.scalar_type());
}

#if defined(ENERGYLOSS_HAVE_OPENMM) || defined(ENERGYLOSS_HAVE_LAMMPS)
// Schemas cannot default a Dict to {}: the ops take Dict? = None instead.
std::map<std::string, std::string> to_map(
    const c10::optional<c10::Dict<std::string, std::string>>& dict) {
  std::map<std::string, std::string> result;
  if (!dict.has_value()) return result;
  for (const auto& entry : *dict) result[entry.key()] = entry.value();
  return result;
}
#endif

#ifdef ENERGYLOSS_HAVE_OPENMM
Handle openmm_oracle(const std::string& system_xml, const std::string& platform,
                     const c10::optional<c10::Dict<std::string, std::string>>& properties,
                     int64_t workers) {
  return wrap(make_openmm_oracle(system_xml, platform, to_map(properties), int(workers)));
}

// (k, curvature, bond, angle, lennard_jones, coulomb, floored, floor, ignored):
// OpenMMPairCoefficients (energyloss/oracles/openmm_coefficients.h) as tensors [E] in the
// dtype of `reference` [N, 3] (nm).
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int64_t, double,
           std::vector<std::string>>
openmm_pair_coefficient_tensors(const std::string& system_xml, const Tensor& reference,
                                const Tensor& edges, c10::optional<double> floor) {
  require_floating_cpu(reference, "reference");
  require(reference.dim() == 2 && reference.size(1) == 3, "reference: expected shape [N, 3], got ",
          reference.sizes());
  const Tensor positions = reference.detach().to(torch::kDouble).contiguous();
  const Tensor pairs = edge_pairs(edges);
  DerivedCoefficientOptions options;
  options.floor = torch_ops::to_std(floor);
  OpenMMPairCoefficients result =
      openmm_pair_coefficients(system_xml, positions.data_ptr<double>(), positions.size(0),
                               pairs.data_ptr<int64_t>(), pairs.size(0), options);
  return {as_tensor(result.total.k, reference),
          as_tensor(result.total.curvature, reference),
          as_tensor(result.bond, reference),
          as_tensor(result.angle, reference),
          as_tensor(result.lennard_jones, reference),
          as_tensor(result.coulomb, reference),
          result.total.floored,
          result.total.floor,
          std::move(result.ignored)};
}
#endif

#ifdef ENERGYLOSS_HAVE_LAMMPS
Handle lammps_oracle(const std::string& deck,
                     const c10::optional<c10::Dict<std::string, std::string>>& variables,
                     int64_t workers) {
  return wrap(make_lammps_oracle(deck, to_map(variables), int(workers)));
}
#endif

#ifdef ENERGYLOSS_HAVE_RDKIT
Handle rdkit_mmff_oracle(const std::string& molecule, const std::string& variant, int64_t workers) {
  return wrap(make_rdkit_mmff_oracle(molecule, variant, int(workers)));
}
#endif

struct GeneratorHandle : torch::CustomClassHolder {
  Generator generator;
  explicit GeneratorHandle(const std::string& path) : generator(path) {}

  Tensor sample(int64_t n, int64_t seed, const std::string& length_unit) const {
    std::vector<double> values = generator.sample(n, seed, length_unit);
    return torch::tensor(values, torch::kDouble).reshape({n, generator.atoms(), 3});
  }
};

}  // namespace

std::tuple<Tensor, Tensor> oracle_evaluate(const Handle& oracle, const Tensor& positions) {
  auto [energies, forces, valid] = evaluate_double(oracle_of(oracle), positions, "positions");
  return {energies.to(positions.scalar_type()), forces.to(positions.scalar_type())};
}

Tensor oracle_energy(const Handle& oracle, const Tensor& positions) {
  return OracleEnergyFunction::apply(positions, oracle, false)[0];
}

std::tuple<Tensor, Tensor, Tensor> oracle_evaluate_masked(const Handle& oracle,
                                                          const Tensor& positions) {
  auto [energies, forces, valid] = evaluate_double(oracle_of(oracle), positions, "positions", true);
  return {energies.to(positions.scalar_type()), forces.to(positions.scalar_type()), valid};
}

std::tuple<Tensor, Tensor> oracle_energy_masked(const Handle& oracle, const Tensor& positions) {
  const variable_list outputs = OracleEnergyFunction::apply(positions, oracle, true);
  return {outputs[0], outputs[1]};
}

Tensor true_energy_loss(const Handle& oracle, const Tensor& pred, const Tensor& ref,
                        double temperature, const std::string& reduction) {
  require(std::isfinite(temperature) && temperature > 0, "temperature: expected > 0, got ",
          temperature);
  require(pred.sizes() == ref.sizes(), "ref has shape ", ref.sizes(), " but pred has shape ",
          pred.sizes());
  const Tensor pred_energy = oracle_energy(oracle, pred);
  const Tensor ref_energy = std::get<0>(oracle_evaluate(oracle, ref.detach()));
  return torch_ops::reduce((pred_energy - ref_energy.to(pred_energy.scalar_type())) / temperature,
                           reduction);
}

}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  using energyloss::GeneratorHandle;
  using energyloss::OracleHandle;
  m.class_<OracleHandle>("Oracle")
      .def("evaluate",
           [](const c10::intrusive_ptr<OracleHandle>& self, const torch::Tensor& positions) {
             return energyloss::oracle_evaluate(self, positions);
           })
      .def("units",
           [](const c10::intrusive_ptr<OracleHandle>& self) {
             const energyloss::OracleUnits units = energyloss::oracle_of(self).units();
             return std::make_tuple(units.length, units.energy);
           })
      .def("atoms",
           [](const c10::intrusive_ptr<OracleHandle>& self) {
             return energyloss::oracle_of(self).atoms();
           })
      .def("elements",
           [](const c10::intrusive_ptr<OracleHandle>& self) {
             return energyloss::oracle_of(self).elements();
           })
      .def("describe", [](const c10::intrusive_ptr<OracleHandle>& self) {
        return energyloss::oracle_of(self).describe();
      });

  m.class_<GeneratorHandle>("Generator")
      .def(torch::init<std::string>())
      .def("sample", &GeneratorHandle::sample)
      .def("atoms",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) { return self->generator.atoms(); })
      .def("length_unit",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) {
             return self->generator.length_unit();
           })
      .def("elements",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) {
             return self->generator.elements();
           })
      .def("path",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) { return self->generator.path(); });

  constexpr const char* oracle_type = "__torch__.torch.classes.energyloss.Oracle";
  const std::string oracle_arg = std::string(oracle_type) + " oracle";
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
  m.def(("lennard_jones_oracle(int n_atoms, float epsilon=1.0, float sigma=1.0, "
         "float? cutoff=None, str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::lennard_jones_oracle);
  m.def(("morse_oracle(int n_atoms, float D, float a, float r0, float? cutoff=None, "
         "str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::morse_oracle);
  m.def(("harmonic_bond_oracle(Tensor bonds, Tensor k, Tensor r0, int n_atoms, "
         "str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::harmonic_bond_oracle);
#ifdef ENERGYLOSS_HAVE_OPENMM
  m.def(("openmm_oracle(str system_xml, str platform=\"CPU\", Dict(str, str)? properties=None, "
         "int workers=1) -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::openmm_oracle);
  m.def(
      "openmm_pair_coefficients(str system_xml, Tensor reference, Tensor edges, "
      "float? floor=None) -> (Tensor k, Tensor curvature, Tensor bond, Tensor angle, "
      "Tensor lennard_jones, Tensor coulomb, int floored, float floor, str[] ignored)",
      &energyloss::openmm_pair_coefficient_tensors);
#endif
#ifdef ENERGYLOSS_HAVE_LAMMPS
  m.def(("lammps_oracle(str deck, Dict(str, str)? variables=None, int workers=1) -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::lammps_oracle);
#endif
#ifdef ENERGYLOSS_HAVE_RDKIT
  m.def(("rdkit_mmff_oracle(str molecule, str variant=\"MMFF94\", int workers=1) -> " +
         std::string(oracle_type))
            .c_str(),
        &energyloss::rdkit_mmff_oracle);
#endif
}
