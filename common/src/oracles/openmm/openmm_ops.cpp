// LibTorch face of the OpenMM oracle and coefficients
// (energyloss/oracles/openmm_oracle.h, openmm_coefficients.h):
// torch.ops.energyloss.openmm_oracle, openmm_energy_terms and
// openmm_pair_coefficients. Compiled in
// with OpenMM (ENERGYLOSS_WITH_OPENMM).
#include <torch/library.h>
#include <torch/types.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/oracles/openmm_coefficients.h"
#include "energyloss/oracles/openmm_oracle.h"
#include "energyloss/torch/common.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;
using torch::Tensor;

Handle openmm_oracle(const std::string& system_xml, const std::string& platform,
                     const c10::optional<c10::Dict<std::string, std::string>>& properties,
                     int64_t workers, const std::string& engine) {
  return wrap(
      make_openmm_oracle(system_xml, platform, string_map(properties), int(workers), engine),
      "openmm_oracle", {absolute_path(system_xml), platform, properties, workers, engine});
}

// (terms [B, T] or [T] float64, names [T]): openmm_energy_terms of an oracle
// on the native engine at `positions` [B, N, 3] or [N, 3] (nm).
std::tuple<Tensor, std::vector<std::string>> openmm_energy_term_tensors(const Handle& handle,
                                                                        const Tensor& positions) {
  EnergyOracle& oracle = oracle_of(handle);
  const Tensor batch = oracle_batch("openmm_energy_terms", oracle, positions, "positions");
  const std::vector<std::string> names = openmm_energy_term_names();
  Tensor terms = torch::empty({batch.size(0), int64_t(names.size())}, batch.options());
  openmm_energy_terms(oracle, batch.data_ptr<double>(), batch.size(0), terms.data_ptr<double>());
  return {positions.dim() == 2 ? terms[0] : terms, names};
}

// (k, curvature, bond, angle, lennard_jones, coulomb, floored, floor, ignored):
// OpenMMPairCoefficients (energyloss/oracles/openmm_coefficients.h) as tensors
// [E] in the dtype of `reference` [N, 3] (nm).
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int64_t, double,
           std::vector<std::string>>
openmm_pair_coefficient_tensors(const std::string& system_xml, const Tensor& reference,
                                const Tensor& edges, c10::optional<double> floor) {
  const char* op = "openmm_pair_coefficients";
  const Tensor positions = floating_cpu(op, reference, "reference");
  require(reference.dim() == 2 && reference.size(1) == 3, "reference: expected shape [N, 3], got ",
          reference.sizes());
  const Tensor pairs = index_tuples(op, edges, 2, "edges");
  DerivedCoefficientOptions options;
  options.floor = torch_ops::to_std(floor);
  OpenMMPairCoefficients result =
      openmm_pair_coefficients(system_xml, positions.data_ptr<double>(), positions.size(0),
                               pairs.data_ptr<int64_t>(), pairs.size(0), options);
  const auto per_edge = [&](const std::vector<double>& values) {
    return values_like(values, {pairs.size(0)}, reference);
  };
  return {per_edge(result.total.k),       per_edge(result.total.curvature),
          per_edge(result.bond),          per_edge(result.angle),
          per_edge(result.lennard_jones), per_edge(result.coulomb),
          result.total.floored,           result.total.floor,
          std::move(result.ignored)};
}

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  const std::string& oracle_class = energyloss::oracle_ops::oracle_class(m);
  m.def(("openmm_oracle(str system_xml, str platform=\"CPU\", Dict(str, str)? properties=None, "
         "int workers=1, str engine=\"context\") -> " +
         oracle_class)
            .c_str(),
        &energyloss::openmm_oracle);
  m.def(("openmm_energy_terms(" + oracle_class +
         " oracle, Tensor positions) -> (Tensor terms, "
         "str[] names)")
            .c_str(),
        &energyloss::openmm_energy_term_tensors);
  m.def(
      "openmm_pair_coefficients(str system_xml, Tensor reference, Tensor edges, "
      "float? floor=None) -> (Tensor k, Tensor curvature, Tensor bond, Tensor angle, "
      "Tensor lennard_jones, Tensor coulomb, int floored, float floor, str[] ignored)",
      &energyloss::openmm_pair_coefficient_tensors);
}
