// What the Reference and CPU kernels share: the force's terms, parameter
// updates, the evaluation itself (split over a thread pool or on the calling
// thread), and registering a kernel factory with one platform. They differ
// only in the thread pool they pass.
#pragma once

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "EnergyLossKernels.h"
#include "internal/EnergyLossTerms.h"
#include "openmm/KernelFactory.h"
#include "openmm/OpenMMException.h"
#include "openmm/Vec3.h"
#include "openmm/internal/ContextImpl.h"
#include "openmm/internal/ThreadPool.h"
#include "openmm/reference/ReferencePlatform.h"

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
  // Evaluates the force at the context's positions and, with includeForces,
  // adds its forces to the context's force buffer (the Reference platform's
  // PlatformData, which the CPU platform's derives from); returns the energy
  // (scale * E). The pair rule's rows, in shares of about equal pair counts,
  // and the explicit edges are split over `pool`'s threads (nullptr: one
  // share on the calling thread); each share runs common/'s pair kernel, and
  // the shares are summed in share order (deterministic for a fixed thread
  // count). An error in a share is rethrown on the calling thread.
  double evaluateInShares(OpenMM::ContextImpl& context, bool includeForces,
                          OpenMM::ThreadPool* pool) {
    auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
    const double scale = context.getParameter(terms->scaleName());
    terms->checkReferenceFitsBox(data.periodicBoxVectors);
    terms->placeParticles(*data.positions, data.periodicBoxVectors, positions);

    const int64_t n = terms->numParticles(), edges = terms->numEdges();
    const int64_t pairs = (terms->hasPairRule() ? n * (n - 1) / 2 : 0) + edges;
    const int shares = pool == nullptr ? 1
                                       : static_cast<int>(std::clamp<int64_t>(
                                             pairs / kPairsPerShare, 1, pool->getNumThreads()));
    ruleGradients.resize(shares);
    edgeGradients.resize(shares);
    std::vector<double> energies(shares, 0.0);
    std::vector<std::exception_ptr> errors(shares);
    auto evaluateShare = [&](int share) {
      try {
        std::vector<double>& rule = ruleGradients[share];
        std::vector<double>& edge = edgeGradients[share];
        rule.resize(positions.size());
        edge.resize(positions.size());
        energies[share] =
            terms->evaluatePairRule(positions.data(), terms->pairRuleRowSplit(share, shares),
                                    terms->pairRuleRowSplit(share + 1, shares),
                                    includeForces ? rule.data() : nullptr) +
            terms->evaluateEdges(positions.data(), edges * share / shares,
                                 edges * (share + 1) / shares,
                                 includeForces ? edge.data() : nullptr);
      } catch (...) {
        errors[share] = std::current_exception();  // rethrown on the calling thread
      }
    };
    if (shares == 1) {
      evaluateShare(0);
    } else {
      pool->execute([&](OpenMM::ThreadPool&, int thread) {
        if (thread < shares) evaluateShare(thread);
      });
      pool->waitForThreads();
    }
    for (const std::exception_ptr& error : errors)
      if (error) std::rethrow_exception(error);

    double energy = 0.0;
    for (double share : energies) energy += share;
    if (includeForces)
      for (int share = 0; share < shares; ++share) {
        subtractScaledGradient(ruleGradients[share], scale, *data.forces);
        subtractScaledGradient(edgeGradients[share], scale, *data.forces);
      }
    return scale * energy;
  }

 private:
  // Waking the pool costs about as much as evaluating a few thousand pairs:
  // each share gets at least this many (alanine dipeptide's 231 pairs stay on
  // the calling thread: 0.03 ms instead of 0.05 ms with two threads).
  static constexpr int64_t kPairsPerShare = 8192;

  // forces -= scale * gradient (gradient flat [N, 3]).
  static void subtractScaledGradient(const std::vector<double>& gradient, double scale,
                                     std::vector<OpenMM::Vec3>& forces) {
    for (size_t i = 0; i < forces.size(); ++i)
      for (int c = 0; c < 3; ++c) forces[i][c] -= scale * gradient[3 * i + c];
  }

  std::unique_ptr<EnergyLossTerms> terms;
  std::vector<double> positions;                                  // flat [N, 3] scratch
  std::vector<std::vector<double>> ruleGradients, edgeGradients;  // per share, flat [N, 3]
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
