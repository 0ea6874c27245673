#pragma once

#include "internal/EnergyLossKernelBase.h"

namespace EnergyLossPlugin {

// Evaluates the pair rule and then the explicit edges with common/'s pair
// kernel, on the calling thread: the CPU kernel's path with one share.
class ReferenceCalcEnergyLossForceKernel : public EnergyLossKernelBase {
 public:
  using EnergyLossKernelBase::EnergyLossKernelBase;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
};

}  // namespace EnergyLossPlugin
