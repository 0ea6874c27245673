// EnergyLossForce: the paper's pair energy (eq. 7) as an OpenMM restraint,
//   E(x) = s * sum_(i,j) in edges  1/2 k_ij (|x_i - x_j| - r0_ij)^2,
// with r0_ij = |y_i - y_j| taken from reference positions y. Invariant under
// rotations and translations of x, so it restrains toward a structure without
// an alignment step. The edges are the union of
//  - a pair rule: every pair whose reference distance is below a cutoff (all
//    pairs by default, the complete graph), k_ij = k(r0_ij) from a coefficient
//    mode. Kept as a rule, never as a list: the kernels walk it with common/'s
//    vectorised complete-graph path in O(N) memory;
//  - explicit edges, each with its own k (sparse rigid graphs, bonds, ...).
// s is a Context parameter (default name "energyloss_scale") so scripts can
// anneal it with Context::setParameter.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "energyloss/coefficients.h"
#include "energyloss/graphs.h"
#include "openmm/Context.h"
#include "openmm/Force.h"
#include "openmm/System.h"
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {

class EnergyLossForce : public OpenMM::Force {
 public:
  static constexpr const char* kDefaultScaleName = "energyloss_scale";

  // The reference code's coefficient preset for `mode` in OpenMM's units:
  // the presets are made for angstrom, so length_scale is 0.1 nm, eps
  // 1e-6 nm (inv) or 1e-7 nm^2 (inv2), and k0 carries the length dimension
  // (exp: 2400/N, constant: 100 per nm^2; inv: 37/N per nm), so the energy
  // in kJ/mol equals the angstrom preset's loss on the same structure
  // (CoefficientSpec::preset(mode, 0.1)). CoefficientSpec::preset(mode)
  // itself is the angstrom one: do not pass it for positions in nm.
  static energyloss::CoefficientSpec presetCoefficients(energyloss::CoefficientMode mode) {
    return energyloss::CoefficientSpec::preset(mode, 0.1);
  }

  // Reference positions (nm), one per System particle; no edges yet.
  explicit EnergyLossForce(const std::vector<OpenMM::Vec3>& referencePositions);
  // Same, with the pair rule set (see setPairsWithinCutoff).
  EnergyLossForce(const std::vector<OpenMM::Vec3>& referencePositions,
                  const energyloss::CoefficientSpec& coefficients,
                  double cutoff = std::numeric_limits<double>::infinity());

  // The pair rule: every pair closer than `cutoff` nm in the reference (all
  // pairs by default) with k = k(r0) of `coefficients`; replaces an earlier
  // rule. 'explicit' has no k(r) and is rejected (use addEdge). Coefficients
  // are read in OpenMM's units (nm, kJ/mol): use presetCoefficients(mode)
  // for the paper's presets.
  void setPairsWithinCutoff(const energyloss::CoefficientSpec& coefficients,
                            double cutoff = std::numeric_limits<double>::infinity());
  void clearPairsWithinCutoff() { pairRule = false; }
  bool hasPairsWithinCutoff() const { return pairRule; }
  // Only meaningful when hasPairsWithinCutoff().
  const energyloss::CoefficientSpec& getPairCoefficients() const { return pairCoefficients; }
  double getPairCutoff() const { return pairCutoff; }

  // Explicit edges from common/'s sparse globally rigid graphs:
  // k_ij = weight_ij * k(r0_ij) with the coefficient mode's k(r).
  void addSparseRigidEdges(const energyloss::CoefficientSpec& coefficients,
                           const energyloss::SparseRigidOptions& options = {});

  // Explicit edges for the bonds of the System's HarmonicBondForces (each
  // pair once), k = k(r0) of `coefficients`. Returns how many were added.
  int addBondEdges(const OpenMM::System& system, const energyloss::CoefficientSpec& coefficients);

  // One edge with an explicit spring constant k (kJ/mol/nm^2). Returns its index.
  int addEdge(int particle1, int particle2, double k);
  // One edge with k = k(r0) of `coefficients` at the pair's reference distance.
  int addEdge(int particle1, int particle2, const energyloss::CoefficientSpec& coefficients);
  int getNumEdges() const { return static_cast<int>(edges.size()); }
  // r0 is the reference distance of the two particles (nm).
  void getEdgeParameters(int index, int& particle1, int& particle2, double& k, double& r0) const;
  void setEdgeParameters(int index, int particle1, int particle2, double k);

  int getNumParticles() const { return static_cast<int>(referencePositions.size()); }
  const std::vector<OpenMM::Vec3>& getReferencePositions() const { return referencePositions; }
  // Same particle count as before (edges refer to them).
  void setReferencePositions(const std::vector<OpenMM::Vec3>& positions);

  const std::string& getScaleParameterName() const { return scaleName; }
  void setScaleParameterName(const std::string& name);
  double getDefaultScale() const { return defaultScale; }
  void setDefaultScale(double scale);

  // Pushes changed k, pair rule and reference positions into a Context. The
  // explicit edge count, each edge's particles and the scale parameter's name
  // must not change.
  void updateParametersInContext(OpenMM::Context& context);

  // With periodic boundary conditions the particles are first made whole:
  // each one takes the periodic image nearest to its neighbour on a minimum
  // spanning forest of the restrained pairs (shortest reference pairs first),
  // so distances are those of the unwrapped structure. Needs every particle
  // within half a box of its tree neighbour, as OpenMM's own bonded forces
  // do; the reference must be whole (not wrapped particle by particle), and
  // an evaluation in a box where a reference tree pair is at least half a box
  // long throws naming the pair (checked when the box or reference changes). Off by
  // default; cannot change once a Context exists. Not needed for OpenMM's
  // own wrapping (enforcePeriodicBox), which moves molecules as wholes: the
  // force reports its edges and a spanning forest of the pair rule as bonded
  // pairs, so everything it couples is one molecule. Needed when positions
  // arrive wrapped particle by particle (other programs' files, ...).
  void setUsesPeriodicBoundaryConditions(bool periodic) { this->periodic = periodic; }
  bool usesPeriodicBoundaryConditions() const override { return periodic; }

 protected:
  OpenMM::ForceImpl* createImpl() const override;

 private:
  struct EdgeInfo {
    int particle1, particle2;
    double k;
  };
  void checkEdge(int particle1, int particle2, double k) const;
  // k(r0) of a builder's coefficient mode ('explicit' rejected, naming `builder`).
  double coefficientAt(const energyloss::CoefficientSpec& coefficients, double r0,
                       const char* builder) const;
  double referenceDistance(int particle1, int particle2) const;

  std::vector<OpenMM::Vec3> referencePositions;
  std::vector<EdgeInfo> edges;
  bool pairRule = false;
  energyloss::CoefficientSpec pairCoefficients;
  double pairCutoff = std::numeric_limits<double>::infinity();
  std::string scaleName = kDefaultScaleName;
  double defaultScale = 1.0;
  bool periodic = false;
};

}  // namespace EnergyLossPlugin
