// LibTorch face of the analytic oracles (energyloss/oracles/analytic_oracles.h):
// torch.ops.energyloss.lennard_jones_oracle, morse_oracle and
// harmonic_bond_oracle, each returning a torch.classes.energyloss.Oracle.
#include <torch/library.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/torch/common.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;
using torch::Tensor;

Handle lennard_jones_oracle(int64_t atoms, double epsilon, double sigma,
                            c10::optional<double> cutoff, std::string length_unit,
                            std::string energy_unit) {
  return wrap(make_lennard_jones_oracle(atoms, epsilon, sigma, torch_ops::to_std(cutoff),
                                        {length_unit, energy_unit}),
              "lennard_jones_oracle", {atoms, epsilon, sigma, cutoff, length_unit, energy_unit});
}

Handle morse_oracle(int64_t atoms, double depth, double width, double r0,
                    c10::optional<double> cutoff, std::string length_unit,
                    std::string energy_unit) {
  return wrap(make_morse_oracle(atoms, depth, width, r0, torch_ops::to_std(cutoff),
                                {length_unit, energy_unit}),
              "morse_oracle", {atoms, depth, width, r0, cutoff, length_unit, energy_unit});
}

// bonds [E, 2] (any integer dtype), k and r0 [E].
Handle harmonic_bond_oracle(const Tensor& bonds, const Tensor& k, const Tensor& r0, int64_t atoms,
                            std::string length_unit, std::string energy_unit) {
  const char* op = "harmonic_bond_oracle";
  const Tensor pairs = index_tuples(op, bonds, 2, "bonds");
  const int64_t count = pairs.size(0);
  torch_ops::require_defined(op, "k", k);
  torch_ops::require_defined(op, "r0", r0);
  require(k.dim() == 1 && k.size(0) == count, "k: expected shape [", count,
          "] to match bonds, got ", k.sizes());
  require(r0.dim() == 1 && r0.size(0) == count, "r0: expected shape [", count,
          "] to match bonds, got ", r0.sizes());
  torch_ops::require_cpu(op, "k", k);
  torch_ops::require_cpu(op, "r0", r0);
  const Tensor k_values = k.to(torch::kDouble).contiguous();
  const Tensor r0_values = r0.to(torch::kDouble).contiguous();
  std::vector<HarmonicBond> list(static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    list[size_t(e)] = {pairs.data_ptr<int64_t>()[2 * e], pairs.data_ptr<int64_t>()[2 * e + 1],
                       k_values.data_ptr<double>()[e], r0_values.data_ptr<double>()[e]};
  }
  // The pickled state keeps copies of the bond tensors (the caller's may change).
  return wrap(
      make_harmonic_bond_oracle(atoms, std::move(list), {length_unit, energy_unit}),
      "harmonic_bond_oracle",
      {pairs.clone(), k_values.clone(), r0_values.clone(), atoms, length_unit, energy_unit});
}

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  const std::string oracle_type = energyloss::oracle_ops::oracle_class(m);
  m.def(("lennard_jones_oracle(int n_atoms, float epsilon=1.0, float sigma=1.0, "
         "float? cutoff=None, str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         oracle_type)
            .c_str(),
        &energyloss::lennard_jones_oracle);
  m.def(("morse_oracle(int n_atoms, float D, float a, float r0, float? cutoff=None, "
         "str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         oracle_type)
            .c_str(),
        &energyloss::morse_oracle);
  m.def(("harmonic_bond_oracle(Tensor bonds, Tensor k, Tensor r0, int n_atoms, "
         "str length_unit=\"lj\", str energy_unit=\"lj\") -> " +
         oracle_type)
            .c_str(),
        &energyloss::harmonic_bond_oracle);
}
