#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "EnergyLossForce.h"
#include "openmm/Kernel.h"
#include "openmm/internal/ForceImpl.h"

namespace EnergyLossPlugin {

class EnergyLossForceImpl : public OpenMM::ForceImpl {
 public:
  explicit EnergyLossForceImpl(const EnergyLossForce& owner) : owner(owner) {}
  void initialize(OpenMM::ContextImpl& context) override;
  const EnergyLossForce& getOwner() const override { return owner; }
  double calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy,
                             int groups) override;
  std::map<std::string, double> getDefaultParameters() override;
  std::vector<std::string> getKernelNames() override;
  std::vector<std::pair<int, int>> getBondedParticles() const override;
  void updateParametersInContext(OpenMM::ContextImpl& context);

 private:
  const EnergyLossForce& owner;
  OpenMM::Kernel kernel;
};

}  // namespace EnergyLossPlugin
