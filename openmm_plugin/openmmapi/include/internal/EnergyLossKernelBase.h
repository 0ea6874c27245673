// What the Reference and CPU kernels share: the force's terms, parameter
// updates, adding -scale * gradient to the force buffer, and registering a
// kernel factory with one platform. They differ only in how the edges are
// split over threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "EnergyLossKernels.h"
#include "internal/EnergyLossTerms.h"
#include "openmm/KernelFactory.h"
#include "openmm/OpenMMException.h"
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {

class EnergyLossKernelBase : public CalcEnergyLossForceKernel {
 public:
  using CalcEnergyLossForceKernel::CalcEnergyLossForceKernel;
  void initialize(const OpenMM::System&, const EnergyLossForce& force) override {
    terms = std::make_unique<EnergyLossTerms>(force);
  }
  void copyParametersToContext(OpenMM::ContextImpl&, const EnergyLossForce& force) override {
    terms->update(force);
  }

 protected:
  // forces -= scale * gradient (gradient flat [N, 3]).
  static void subtractScaledGradient(const std::vector<double>& gradient, double scale,
                                     std::vector<OpenMM::Vec3>& forces) {
    for (size_t i = 0; i < forces.size(); ++i)
      for (int c = 0; c < 3; ++c) forces[i][c] -= scale * gradient[3 * i + c];
  }

  std::unique_ptr<EnergyLossTerms> terms;
  std::vector<double> positions;  // flat [N, 3] scratch
};

// Registers Kernel as CalcEnergyLossForce on the platform named `platformName`
// (each platform needs its own: CPU does not fall back to Reference kernels).
template <typename Kernel>
void registerEnergyLossKernel(const std::string& platformName) {
  class Factory : public OpenMM::KernelFactory {
   public:
    explicit Factory(std::string platform) : platform_(std::move(platform)) {}
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl&) const override {
      if (name == CalcEnergyLossForceKernel::Name()) return new Kernel(name, platform);
      throw OpenMM::OpenMMException("energyloss " + platform_ + " plugin: no kernel named '" +
                                    name + "'");
    }

   private:
    std::string platform_;
  };
  for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); ++i) {
    OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
    if (platform.getName() == platformName)
      platform.registerKernelFactory(CalcEnergyLossForceKernel::Name(), new Factory(platformName));
  }
}

}  // namespace EnergyLossPlugin
