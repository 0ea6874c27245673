#pragma once

#include <vector>

#include "internal/EnergyLossKernelBase.h"

namespace EnergyLossPlugin {

// Splits the edges over the CPU platform's thread pool; each thread runs
// common/'s pair kernel on its share, and the shares are summed in thread
// order (deterministic for a fixed thread count).
class CpuCalcEnergyLossForceKernel : public EnergyLossKernelBase {
 public:
  using EnergyLossKernelBase::EnergyLossKernelBase;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;

 private:
  std::vector<std::vector<double>> gradients;  // per thread, flat [N, 3]
};

}  // namespace EnergyLossPlugin
