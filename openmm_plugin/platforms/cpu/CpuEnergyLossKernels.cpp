#include "CpuEnergyLossKernels.h"

#include <algorithm>
#include <exception>

#include "openmm/cpu/CpuPlatform.h"
#include "openmm/internal/ContextImpl.h"

namespace EnergyLossPlugin {
namespace {
// Waking the pool costs about as much as evaluating a few thousand pairs:
// each share gets at least this many (alanine dipeptide's 231 pairs stay on
// the calling thread: 0.03 ms instead of 0.05 ms with two threads).
constexpr int64_t kPairsPerShare = 8192;
}  // namespace

double CpuCalcEnergyLossForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces,
                                             bool) {
  // CpuPlatform derives from ReferencePlatform, whose PlatformData still holds
  // positions and forces; the thread pool lives in CpuPlatform's own data.
  auto& data = *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
  OpenMM::ThreadPool& pool = OpenMM::CpuPlatform::getPlatformData(context).threads;
  const double scale = context.getParameter(terms->scaleName());
  terms->placeParticles(*data.positions, data.periodicBoxVectors, positions);

  const int64_t n = terms->numParticles(), edges = terms->numEdges();
  const int64_t pairs = (terms->hasPairRule() ? n * (n - 1) / 2 : 0) + edges;
  const int shares =
      static_cast<int>(std::clamp<int64_t>(pairs / kPairsPerShare, 1, pool.getNumThreads()));
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
                               edges * (share + 1) / shares, includeForces ? edge.data() : nullptr);
    } catch (...) {
      errors[share] = std::current_exception();  // rethrown on the calling thread
    }
  };
  if (shares == 1) {
    evaluateShare(0);
  } else {
    pool.execute([&](OpenMM::ThreadPool&, int thread) {
      if (thread < shares) evaluateShare(thread);
    });
    pool.waitForThreads();
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

}  // namespace EnergyLossPlugin

// OpenMM's plugin entry points.
extern "C" __attribute__((visibility("default"))) void registerPlatforms() {}

extern "C" __attribute__((visibility("default"))) void registerKernelFactories() {
  EnergyLossPlugin::registerEnergyLossKernel<EnergyLossPlugin::CpuCalcEnergyLossForceKernel>("CPU");
}
