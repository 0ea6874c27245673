#pragma once

#include <vector>

#include "internal/EnergyLossKernelBase.h"

namespace EnergyLossPlugin {

// Evaluates the pair rule and then the explicit edges with common/'s pair
// kernel, on the calling thread.
class ReferenceCalcEnergyLossForceKernel : public EnergyLossKernelBase {
 public:
  using EnergyLossKernelBase::EnergyLossKernelBase;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;

 private:
  std::vector<double> gradient;  // flat [N, 3] scratch
};

}  // namespace EnergyLossPlugin
