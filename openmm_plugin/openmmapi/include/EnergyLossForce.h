// EnergyLossForce: the paper's pair energy (eq. 7) as an OpenMM restraint,
//   E(x) = s * sum_(i,j) in edges  1/2 k_ij (|x_i - x_j| - r0_ij)^2,
// with r0_ij = |y_i - y_j| taken from reference positions y. Invariant under
// rotations and translations of x, so it restrains toward a structure without
// an alignment step. k_ij is fixed per edge when the edge is added (from a
// coefficient mode of energyloss::CoefficientSpec, or given explicitly);
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
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {

class EnergyLossForce : public OpenMM::Force {
 public:
  static constexpr const char* kDefaultScaleName = "energyloss_scale";

  // Reference positions (nm), one per System particle; no edges yet.
  explicit EnergyLossForce(const std::vector<OpenMM::Vec3>& referencePositions);
  // Same, plus every reference pair closer than `cutoff` nm (all pairs by
  // default: the complete graph) with k from `coefficients`.
  EnergyLossForce(const std::vector<OpenMM::Vec3>& referencePositions,
                  const energyloss::CoefficientSpec& coefficients,
                  double cutoff = std::numeric_limits<double>::infinity());

  // Edge builders over the reference positions. k_ij = weight_ij * k(r0_ij)
  // with the coefficient mode's k(r); 'explicit' is rejected here (use addEdge).
  void addPairsWithinCutoff(const energyloss::CoefficientSpec& coefficients,
                            double cutoff = std::numeric_limits<double>::infinity());
  void addSparseRigidEdges(const energyloss::CoefficientSpec& coefficients,
                           const energyloss::SparseRigidOptions& options = {});

  // One edge with an explicit spring constant k (kJ/mol/nm^2). Returns its index.
  int addEdge(int particle1, int particle2, double k);
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

  // Pushes changed k and reference positions into a Context. The edge count,
  // each edge's particles and the scale parameter's name must not change.
  void updateParametersInContext(OpenMM::Context& context);

  // Periodic boundary conditions are not supported yet.
  bool usesPeriodicBoundaryConditions() const override { return false; }

 protected:
  OpenMM::ForceImpl* createImpl() const override;

 private:
  struct EdgeInfo {
    int particle1, particle2;
    double k;
  };
  void checkEdge(int particle1, int particle2, double k) const;
  double referenceDistance(int particle1, int particle2) const;

  std::vector<OpenMM::Vec3> referencePositions;
  std::vector<EdgeInfo> edges;
  std::string scaleName = kDefaultScaleName;
  double defaultScale = 1.0;
};

}  // namespace EnergyLossPlugin
