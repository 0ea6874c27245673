// The kernel interface every platform implements for EnergyLossForce.
#pragma once

#include <string>

#include "EnergyLossForce.h"
#include "openmm/KernelImpl.h"
#include "openmm/Platform.h"
#include "openmm/System.h"

namespace EnergyLossPlugin {

class CalcEnergyLossForceKernel : public OpenMM::KernelImpl {
 public:
  static std::string Name() { return "CalcEnergyLossForce"; }
  CalcEnergyLossForceKernel(std::string name, const OpenMM::Platform& platform)
      : OpenMM::KernelImpl(name, platform) {}
  virtual void initialize(const OpenMM::System& system, const EnergyLossForce& force) = 0;
  // Adds the forces to the platform's force buffer; returns the energy.
  virtual double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) = 0;
  virtual void copyParametersToContext(OpenMM::ContextImpl& context,
                                       const EnergyLossForce& force) = 0;
};

}  // namespace EnergyLossPlugin
