#include "CpuEnergyLossKernels.h"

#include <exception>

#include "openmm/cpu/CpuPlatform.h"
#include "openmm/internal/ContextImpl.h"

namespace EnergyLossPlugin {

double CpuCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                             bool) {
  // CpuPlatform derives from ReferencePlatform, whose PlatformData still holds
  // positions and forces; the thread pool lives in CpuPlatform's own data.
  auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
  OpenMM::ThreadPool& pool = OpenMM::CpuPlatform::getPlatformData(context).threads;
  const double scale = context.getParameter(terms->scaleName());
  EnergyLossTerms::flatten(*data.positions, positions);

  const int threads = pool.getNumThreads();
  const int64_t edges = terms->numEdges();
  gradients.resize(threads);
  std::vector<double> energies(threads, 0.0);
  std::vector<std::exception_ptr> errors(threads);
  pool.execute([&](OpenMM::ThreadPool&, int thread) {
    try {
      std::vector<double>& gradient = gradients[thread];
      gradient.resize(positions.size());
      energies[thread] = terms->evaluate(positions.data(), edges * thread / threads,
                                         edges * (thread + 1) / threads,
                                         includeForces ? gradient.data() : nullptr);
    } catch (...) {
      errors[thread] = std::current_exception();  // rethrown on the calling thread
    }
  });
  pool.waitForThreads();
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);

  double energy = 0.0;
  for (double share : energies) energy += share;
  if (includeForces)
    for (const std::vector<double>& gradient : gradients)
      subtractScaledGradient(gradient, scale, *data.forces);
  return scale * energy;
}

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  EnergyLossPlugin::registerEnergyLossKernel<EnergyLossPlugin::CpuCalcEnergyLossForceKernel>("CPU");
}
