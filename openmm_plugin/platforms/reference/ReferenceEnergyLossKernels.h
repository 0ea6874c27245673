#pragma once

#include <memory>
#include <vector>

#include "EnergyLossKernels.h"
#include "internal/EnergyLossTerms.h"

namespace EnergyLossPlugin {

// Evaluates all edges in one call of common/'s pair kernel.
class ReferenceCalcEnergyLossForceKernel : public CalcEnergyLossForceKernel {
 public:
  ReferenceCalcEnergyLossForceKernel(std::string name, const OpenMM::Platform& platform)
      : CalcEnergyLossForceKernel(name, platform) {}
  void initialize(const OpenMM::System& system, const EnergyLossForce& force) override;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
  void copyParametersToContext(OpenMM::ContextImpl& context, const EnergyLossForce& force) override;

 private:
  std::unique_ptr<EnergyLossTerms> terms;
  std::vector<double> positions, gradient;  // flat [N, 3] scratch
};

}  // namespace EnergyLossPlugin
