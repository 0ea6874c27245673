// LibTorch face of the energy oracles: the TorchScript/Python class
// torch.classes.energyloss.Oracle and differentiable energies.
#pragma once

#include <torch/custom_class.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "energyloss/oracle.h"

namespace energyloss {

struct OracleHandle : torch::CustomClassHolder {
  std::shared_ptr<EnergyOracle> oracle;
  // The factory op of torch.ops.energyloss that made the oracle and its
  // arguments, so that pickling (torch.jit.save of a scripted module holding
  // the oracle) stores the call and loading repeats it; empty for an oracle
  // made otherwise, which is then refused by the pickler.
  std::string factory;
  std::vector<c10::IValue> arguments;
  explicit OracleHandle(std::shared_ptr<EnergyOracle> wrapped) : oracle(std::move(wrapped)) {}
};

// (energies [B], forces [B, N, 3]) in the oracle's units; positions [B, N, 3]
// or [N, 3] in its length unit, float32 or float64 (evaluated in double;
// results in the positions' dtype). Error (naming the op) for other dtypes,
// an undefined tensor or one off the CPU.
std::tuple<torch::Tensor, torch::Tensor> oracle_evaluate(
    const c10::intrusive_ptr<OracleHandle>& oracle, const torch::Tensor& positions);

// Energies [B] whose gradient with respect to positions is -forces.
torch::Tensor oracle_energy(const c10::intrusive_ptr<OracleHandle>& oracle,
                            const torch::Tensor& positions);

// The failure policy errors="mask" (EnergyOracle::evaluate_masked): as
// oracle_evaluate plus a bool validity mask [B]; failed entries have energy
// +inf and zero forces.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> oracle_evaluate_masked(
    const c10::intrusive_ptr<OracleHandle>& oracle, const torch::Tensor& positions);

// (energies [B], valid [B]) under errors="mask": failed entries have energy
// +inf and get zero gradient whatever the incoming gradient (even NaN or inf).
std::tuple<torch::Tensor, torch::Tensor> oracle_energy_masked(
    const c10::intrusive_ptr<OracleHandle>& oracle, const torch::Tensor& positions);

// The paper's "true energy" objective (E(pred) - E(ref)) / T per system,
// reduced with "none" | "sum" | "mean". Differentiable wrt pred. pred and
// ref: same shape and one dtype (float32 or float64); Error naming both
// otherwise.
torch::Tensor true_energy_loss(const c10::intrusive_ptr<OracleHandle>& oracle,
                               const torch::Tensor& pred, const torch::Tensor& ref,
                               double temperature, const std::string& reduction = "mean");

}  // namespace energyloss
