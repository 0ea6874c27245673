#include "ReferenceEnergyLossKernels.h"

#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

namespace EnergyLossPlugin {

double ReferenceCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                                   bool) {
  auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
  const double scale = context.getParameter(terms->scaleName());
  EnergyLossTerms::flatten(*data.positions, positions);
  gradient.resize(positions.size());
  const double energy = terms->evaluate(positions.data(), 0, terms->numEdges(),
                                        includeForces ? gradient.data() : nullptr);
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
