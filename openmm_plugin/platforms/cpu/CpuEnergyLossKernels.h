#pragma once

#include "internal/EnergyLossKernelBase.h"

namespace EnergyLossPlugin {

// Splits the pair rule's rows (in shares of about equal pair counts) and the
// explicit edges over the CPU platform's thread pool; each thread runs
// common/'s pair kernel on its shares, and the shares are summed in thread
// order (deterministic for a fixed thread count).
class CpuCalcEnergyLossForceKernel : public EnergyLossKernelBase {
 public:
  using EnergyLossKernelBase::EnergyLossKernelBase;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
};

}  // namespace EnergyLossPlugin
