// An EnergyLossForce's data in the layout energyloss::pair_energy_loss reads
// (the pair rule's coefficient spec and cutoff, int64 [E, 2] explicit edges
// with per-edge k, flat reference positions), shared by the platform kernels
// so every platform evaluates the one formula in common/.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "EnergyLossForce.h"
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {

// Prim's minimum spanning tree over the distances of `reference` (flat,
// [N, 3]), O(N^2): every particle after the first with the tree neighbour it
// joins, in joining order.
std::vector<std::pair<int64_t, int64_t>> spanningTreeOrder(const std::vector<double>& reference);

// The order periodic placing makes particles whole in: (particle, tree
// neighbour placed before it) over a minimum spanning forest (by reference
// length) of the restrained pairs, the explicit `edges` ([E, 2]) and, with a
// pair rule, the pairs closer than `cutoff` (inf: all). Every tree edge is a
// restrained pair; particles in different trees share no term, so their
// relative image is free. O(E log E), plus O(N^2) with a pair rule.
std::vector<std::pair<int64_t, int64_t>> restrainedForestOrder(const std::vector<double>& reference,
                                                               const std::vector<int64_t>& edges,
                                                               bool pairRule, double cutoff);

// The pairs OpenMM is told are bonded (Force::getBondedParticles, from which
// it defines molecules): the explicit edges, and for the pair rule a spanning
// forest of its pairs (a chain over all particles for the complete graph; the
// reference's minimum spanning tree's edges shorter than the cutoff
// otherwise), so every set of particles the rule couples is one molecule.
std::vector<std::pair<int, int>> bondedParticles(const EnergyLossForce& force);

class EnergyLossTerms {
 public:
  explicit EnergyLossTerms(const EnergyLossForce& force);
  // Takes new k, pair rule and reference positions; throws unless the edge
  // count, each edge's particles, the particle count and the scale name are
  // unchanged.
  void update(const EnergyLossForce& force);

  int64_t numEdges() const { return static_cast<int64_t>(k.size()); }
  int64_t numParticles() const { return static_cast<int64_t>(reference.size() / 3); }
  const std::string& scaleName() const { return scale; }

  // [x0, y0, z0, x1, ...] of the positions (pair_energy_loss's layout).
  static void flatten(const std::vector<OpenMM::Vec3>& positions, std::vector<double>& flat);
  // The positions the kernels evaluate: flattened and, with periodic boundary
  // conditions, made whole along restrainedForestOrder (box: OpenMM's three
  // reduced box vectors).
  void placeParticles(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box,
                      std::vector<double>& flat) const;
  // Periodic only: throws, naming the pair, when a tree edge (a restrained
  // pair) of the reference is at least half a box long in `box`. Placing takes the
  // nearest image along each tree edge, so such an edge would be folded to
  // its nearest image even at the reference and the energy would be wrong.
  // Checked (O(N)) when the box differs from the last one checked, and after
  // update().
  void checkReferenceFitsBox(const OpenMM::Vec3* box);

  bool hasPairRule() const { return pairRule; }

  // The first row of share `share` of `shares` when the pair rule's rows
  // (row i: the pairs (i, j > i)) are split into shares of about equal pair
  // counts; share == shares gives N.
  int64_t pairRuleRowSplit(int share, int shares) const;

  // Unscaled energy of the pair rule's rows [rowBegin, rowEnd) at `positions`
  // (flat, 3N) on common/'s complete-graph path, on the calling thread; 0
  // without a rule. When `gradient` is given it receives dE/dx (3N, overwritten).
  double evaluatePairRule(const double* positions, int64_t rowBegin, int64_t rowEnd,
                          double* gradient) const;
  // Same for the explicit edges [begin, end).
  double evaluateEdges(const double* positions, int64_t begin, int64_t end, double* gradient) const;

 private:
  std::vector<int64_t> edges;     // [E, 2]
  std::vector<double> k;          // [E]
  std::vector<double> reference;  // [N, 3]
  bool pairRule;
  energyloss::CoefficientSpec pairCoefficients;
  double pairCutoff;
  std::string scale;
  bool periodic;
  // Reads the force's pairs; throws on a pair listed twice or a pair rule
  // with no pair below its cutoff. Periodic: the unwrapping forest.
  void readPairs(const EnergyLossForce& force);

  // Periodic only: restrainedForestOrder of the reference and pairs.
  std::vector<std::pair<int64_t, int64_t>> unwrapOrder;
  // The box checkReferenceFitsBox last accepted (none yet: all zero).
  OpenMM::Vec3 checkedBox[3];
};

}  // namespace EnergyLossPlugin
