#include "CpuEnergyLossKernels.h"

#include "openmm/cpu/CpuPlatform.h"

namespace EnergyLossPlugin {

double CpuCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                             bool) {
  // The thread pool lives in CpuPlatform's own data.
  return evaluateInShares(context, includeForces,
                          &OpenMM::CpuPlatform::getPlatformData(context).threads);
}

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  EnergyLossPlugin::registerEnergyLossKernel<EnergyLossPlugin::CpuCalcEnergyLossForceKernel>("CPU");
}
