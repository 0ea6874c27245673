#pragma once

#include <memory>
#include <vector>

#include "EnergyLossKernels.h"
#include "internal/EnergyLossTerms.h"

namespace EnergyLossPlugin {

// Splits the edges over the CPU platform's thread pool; each thread runs
// common/'s pair kernel on its share, and the shares are summed in thread
// order (deterministic for a fixed thread count).
class CpuCalcEnergyLossForceKernel : public CalcEnergyLossForceKernel {
 public:
  CpuCalcEnergyLossForceKernel(std::string name, const OpenMM::Platform& platform)
      : CalcEnergyLossForceKernel(name, platform) {}
  void initialize(const OpenMM::System& system, const EnergyLossForce& force) override;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
  void copyParametersToContext(OpenMM::ContextImpl& context, const EnergyLossForce& force) override;

 private:
  std::unique_ptr<EnergyLossTerms> terms;
  std::vector<double> positions;               // flat [N, 3]
  std::vector<std::vector<double>> gradients;  // per thread, flat [N, 3]
};

}  // namespace EnergyLossPlugin
