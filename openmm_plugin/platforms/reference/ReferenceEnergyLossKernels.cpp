#include "ReferenceEnergyLossKernels.h"

#include "openmm/KernelFactory.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

namespace EnergyLossPlugin {

void ReferenceCalcEnergyLossForceKernel::initialize(const OpenMM::System&,
                                                    const EnergyLossForce& force) {
  terms = std::make_unique<EnergyLossTerms>(force);
}

double ReferenceCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                                   bool) {
  auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
  const double scale = context.getParameter(terms->scaleName());
  EnergyLossTerms::flatten(*data.positions, positions);
  gradient.resize(positions.size());
  const double energy = terms->evaluate(positions.data(), 0, terms->numEdges(),
                                        includeForces ? gradient.data() : nullptr);
  if (includeForces) {
    std::vector<OpenMM::Vec3>& forces = *data.forces;
    for (size_t i = 0; i < forces.size(); ++i)
      for (int c = 0; c < 3; ++c) forces[i][c] -= scale * gradient[3 * i + c];
  }
  return scale * energy;
}

void ReferenceCalcEnergyLossForceKernel::copyParametersToContext(OpenMM::ContextImpl&,
                                                                 const EnergyLossForce& force) {
  terms->update(force);
}

namespace {
class ReferenceEnergyLossKernelFactory : public OpenMM::KernelFactory {
 public:
  OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                       OpenMM::ContextImpl&) const override {
    if (name == CalcEnergyLossForceKernel::Name())
      return new ReferenceCalcEnergyLossForceKernel(name, platform);
    throw OpenMM::OpenMMException("energyloss Reference plugin: no kernel named '" + name + "'");
  }
};
}  // namespace

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points, called by Platform::loadPluginLibrary.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); ++i) {
    OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
    if (platform.getName() == "Reference")
      platform.registerKernelFactory(EnergyLossPlugin::CalcEnergyLossForceKernel::Name(),
                                     new EnergyLossPlugin::ReferenceEnergyLossKernelFactory());
  }
}
