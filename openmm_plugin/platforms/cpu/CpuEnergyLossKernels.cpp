#include "CpuEnergyLossKernels.h"

#include <exception>

#include "openmm/KernelFactory.h"
#include "openmm/OpenMMException.h"
#include "openmm/cpu/CpuPlatform.h"
#include "openmm/internal/ContextImpl.h"

namespace EnergyLossPlugin {

void CpuCalcEnergyLossForceKernel::initialize(const OpenMM::System&, const EnergyLossForce& force) {
  terms = std::make_unique<EnergyLossTerms>(force);
}

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
  if (includeForces) {
    std::vector<OpenMM::Vec3>& forces = *data.forces;
    for (const std::vector<double>& gradient : gradients)
      for (size_t i = 0; i < forces.size(); ++i)
        for (int c = 0; c < 3; ++c) forces[i][c] -= scale * gradient[3 * i + c];
  }
  return scale * energy;
}

void CpuCalcEnergyLossForceKernel::copyParametersToContext(OpenMM::ContextImpl&,
                                                           const EnergyLossForce& force) {
  terms->update(force);
}

namespace {
class CpuEnergyLossKernelFactory : public OpenMM::KernelFactory {
 public:
  OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                       OpenMM::ContextImpl&) const override {
    if (name == CalcEnergyLossForceKernel::Name())
      return new CpuCalcEnergyLossForceKernel(name, platform);
    throw OpenMM::OpenMMException("energyloss CPU plugin: no kernel named '" + name + "'");
  }
};
}  // namespace

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points. The CPU platform does not fall back to kernels
// registered for Reference, so it gets its own factory.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); ++i) {
    OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
    if (platform.getName() == "CPU")
      platform.registerKernelFactory(EnergyLossPlugin::CalcEnergyLossForceKernel::Name(),
                                     new EnergyLossPlugin::CpuEnergyLossKernelFactory());
  }
}
