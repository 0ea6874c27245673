// An EnergyLossForce's data in the layout energyloss::pair_energy_loss reads
// (int64 [E, 2] edges, per-edge k, flat reference positions), shared by the
// platform kernels so every platform evaluates the one formula in common/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "EnergyLossForce.h"
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {

class EnergyLossTerms {
 public:
  explicit EnergyLossTerms(const EnergyLossForce& force);
  // Takes new k and reference positions; throws unless the edge count, each
  // edge's particles, the particle count and the scale name are unchanged.
  void update(const EnergyLossForce& force);

  int64_t numEdges() const { return static_cast<int64_t>(k.size()); }
  int64_t numParticles() const { return static_cast<int64_t>(reference.size() / 3); }
  const std::string& scaleName() const { return scale; }

  // [x0, y0, z0, x1, ...] of the positions (pair_energy_loss's layout).
  static void flatten(const std::vector<OpenMM::Vec3>& positions, std::vector<double>& flat);

  // Unscaled energy of the edges [begin, end) at `positions` (flat, 3N);
  // when `gradient` is given it receives dE/dx (3N, overwritten).
  double evaluate(const double* positions, int64_t begin, int64_t end, double* gradient) const;

 private:
  std::vector<int64_t> edges;     // [E, 2]
  std::vector<double> k;          // [E]
  std::vector<double> reference;  // [N, 3]
  std::string scale;
};

}  // namespace EnergyLossPlugin
