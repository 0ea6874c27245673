#include "ReferenceEnergyLossKernels.h"

namespace EnergyLossPlugin {

double ReferenceCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                                   bool) {
  return evaluateInShares(context, includeForces, nullptr);
}

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points, called by Platform::loadPluginLibrary.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  EnergyLossPlugin::registerEnergyLossKernel<EnergyLossPlugin::ReferenceCalcEnergyLossForceKernel>(
      "Reference");
}
