#pragma once

#include <vector>

#include "internal/EnergyLossKernelBase.h"

namespace EnergyLossPlugin {

// Evaluates all edges in one call of common/'s pair kernel.
class ReferenceCalcEnergyLossForceKernel : public EnergyLossKernelBase {
 public:
  using EnergyLossKernelBase::EnergyLossKernelBase;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;

 private:
  std::vector<double> gradient;  // flat [N, 3] scratch
};

}  // namespace EnergyLossPlugin
