#include "ReferenceEnergyLossKernels.h"

#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

namespace EnergyLossPlugin {

double ReferenceCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                                   bool) {
  auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
  const double scale = context.getParameter(terms->scaleName());
  terms->placeParticles(*data.positions, data.periodicBoxVectors, positions);
  gradient.resize(positions.size());
  double* const wanted = includeForces ? gradient.data() : nullptr;
  double energy = terms->evaluatePairRule(positions.data(), 0, terms->numParticles(), wanted);
  if (includeForces) subtractScaledGradient(gradient, scale, *data.forces);
  energy += terms->evaluateEdges(positions.data(), 0, terms->numEdges(), wanted);
  if (includeForces) subtractScaledGradient(gradient, scale, *data.forces);
  return scale * energy;
}

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points, called by Platform::loadPluginLibrary.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  EnergyLossPlugin::registerEnergyLossKernel<EnergyLossPlugin::ReferenceCalcEnergyLossForceKernel>(
      "Reference");
}
