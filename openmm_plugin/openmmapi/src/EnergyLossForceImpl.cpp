#include "internal/EnergyLossForceImpl.h"

#include "EnergyLossKernels.h"
#include "internal/EnergyLossErrors.h"
#include "internal/EnergyLossTerms.h"
#include "openmm/internal/ContextImpl.h"

namespace EnergyLossPlugin {

void EnergyLossForceImpl::initialize(OpenMM::ContextImpl& context) {
  const OpenMM::System& system = context.getSystem();
  require(owner.getNumParticles() == system.getNumParticles(),
          "EnergyLossForce: ", owner.getNumParticles(), " reference positions for a System of ",
          system.getNumParticles(), " particles");
  require(owner.hasPairsWithinCutoff() || owner.getNumEdges() > 0,
          "EnergyLossForce: no pairs to restrain: no pair rule (setPairsWithinCutoff) and no "
          "edges (addEdge, addSparseRigidEdges, addBondEdges)");
  kernel = context.getPlatform().createKernel(CalcEnergyLossForceKernel::Name(), context);
  kernel.getAs<CalcEnergyLossForceKernel>().initialize(system, owner);
}

double EnergyLossForceImpl::calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces,
                                                bool includeEnergy, int groups) {
  if ((groups & (1 << owner.getForceGroup())) == 0) return 0.0;
  return kernel.getAs<CalcEnergyLossForceKernel>().execute(context, includeForces, includeEnergy);
}

std::map<std::string, double> EnergyLossForceImpl::getDefaultParameters() {
  return {{owner.getScaleParameterName(), owner.getDefaultScale()}};
}

std::vector<std::string> EnergyLossForceImpl::getKernelNames() {
  return {CalcEnergyLossForceKernel::Name()};
}

std::vector<std::pair<int, int>> EnergyLossForceImpl::getBondedParticles() const {
  return bondedParticles(owner);
}

void EnergyLossForceImpl::updateParametersInContext(OpenMM::ContextImpl& context) {
  kernel.getAs<CalcEnergyLossForceKernel>().copyParametersToContext(context, owner);
  context.systemChanged();
}

}  // namespace EnergyLossPlugin
