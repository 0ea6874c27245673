#include "EnergyLossForce.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "internal/EnergyLossErrors.h"
#include "internal/EnergyLossForceImpl.h"
#include "openmm/HarmonicBondForce.h"

namespace EnergyLossPlugin {

EnergyLossForce::EnergyLossForce(const std::vector<OpenMM::Vec3>& positions) {
  setReferencePositions(positions);
}

EnergyLossForce::EnergyLossForce(const std::vector<OpenMM::Vec3>& positions,
                                 const energyloss::CoefficientSpec& coefficients, double cutoff)
    : EnergyLossForce(positions) {
  setPairsWithinCutoff(coefficients, cutoff);
}

namespace {
// The prefactor the coefficient modes scale, as pair_energy_loss derives it.
double effectiveK0(const energyloss::CoefficientSpec& coefficients, int numParticles) {
  return coefficients.per_atom ? coefficients.k0 / numParticles : coefficients.k0;
}

void checkBuilderSpec(const energyloss::CoefficientSpec& coefficients, const char* builder) {
  asOpenMMErrors([&] { energyloss::check_coefficient_spec(coefficients); });
  require(coefficients.mode != energyloss::CoefficientMode::Explicit, "EnergyLossForce::", builder,
          ": coefficient mode 'explicit' has no k(r); add such edges with addEdge");
}
}  // namespace

void EnergyLossForce::setPairsWithinCutoff(const energyloss::CoefficientSpec& coefficients,
                                           double cutoff) {
  checkBuilderSpec(coefficients, "setPairsWithinCutoff");
  require(cutoff > 0.0, "EnergyLossForce::setPairsWithinCutoff: cutoff must be positive, got ",
          cutoff);
  pairRule = true;
  pairCoefficients = coefficients;
  pairCutoff = cutoff;
}

void EnergyLossForce::addSparseRigidEdges(const energyloss::CoefficientSpec& coefficients,
                                          const energyloss::SparseRigidOptions& options) {
  checkBuilderSpec(coefficients, "addSparseRigidEdges");
  std::vector<double> flat;
  flat.reserve(3 * referencePositions.size());
  for (const OpenMM::Vec3& position : referencePositions)
    for (int c = 0; c < 3; ++c) flat.push_back(position[c]);
  const energyloss::SparseRigidGraph graph = asOpenMMErrors(
      [&] { return energyloss::sparse_rigid_edges(flat.data(), getNumParticles(), 3, options); });
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    const int i = static_cast<int>(graph.edges[e][0]), j = static_cast<int>(graph.edges[e][1]);
    addEdge(i, j,
            graph.weights[e] *
                coefficientAt(coefficients, referenceDistance(i, j), "addSparseRigidEdges"));
  }
}

int EnergyLossForce::addBondEdges(const OpenMM::System& system,
                                  const energyloss::CoefficientSpec& coefficients) {
  checkBuilderSpec(coefficients, "addBondEdges");
  require(system.getNumParticles() == getNumParticles(),
          "EnergyLossForce::addBondEdges: the System has ", system.getNumParticles(),
          " particles, the reference ", getNumParticles());
  std::set<std::pair<int, int>> pairs;
  for (int f = 0; f < system.getNumForces(); ++f) {
    const auto* bonds = dynamic_cast<const OpenMM::HarmonicBondForce*>(&system.getForce(f));
    if (bonds == nullptr) continue;
    for (int b = 0; b < bonds->getNumBonds(); ++b) {
      int i, j;
      double length, k;
      bonds->getBondParameters(b, i, j, length, k);
      pairs.emplace(std::min(i, j), std::max(i, j));
    }
  }
  require(!pairs.empty(),
          "EnergyLossForce::addBondEdges: the System has no HarmonicBondForce bonds");
  for (const auto& [i, j] : pairs) addEdge(i, j, coefficients);
  return static_cast<int>(pairs.size());
}

double EnergyLossForce::coefficientAt(const energyloss::CoefficientSpec& coefficients, double r0,
                                      const char* builder) const {
  checkBuilderSpec(coefficients, builder);
  double k = 0.0, dk_dr = 0.0;
  energyloss::coefficient(coefficients, effectiveK0(coefficients, getNumParticles()), r0, k, dk_dr);
  return k;
}

void EnergyLossForce::checkEdge(int particle1, int particle2, double k) const {
  const int n = getNumParticles();
  require(particle1 >= 0 && particle1 < n && particle2 >= 0 && particle2 < n,
          "EnergyLossForce: edge (", particle1, ", ", particle2, ") is out of range for ", n,
          " particles");
  require(particle1 != particle2, "EnergyLossForce: edge joins particle ", particle1, " to itself");
  require(std::isfinite(k) && k >= 0.0, "EnergyLossForce: edge (", particle1, ", ", particle2,
          ") has k = ", k, "; it must be finite and non-negative");
}

int EnergyLossForce::addEdge(int particle1, int particle2, double k) {
  checkEdge(particle1, particle2, k);
  edges.push_back(EdgeInfo{particle1, particle2, k});
  return getNumEdges() - 1;
}

int EnergyLossForce::addEdge(int particle1, int particle2,
                             const energyloss::CoefficientSpec& coefficients) {
  checkEdge(particle1, particle2, 0.0);
  return addEdge(particle1, particle2,
                 coefficientAt(coefficients, referenceDistance(particle1, particle2), "addEdge"));
}

void EnergyLossForce::getEdgeParameters(int index, int& particle1, int& particle2, double& k,
                                        double& r0) const {
  require(index >= 0 && index < getNumEdges(), "EnergyLossForce: edge index ", index,
          " is out of range for ", getNumEdges(), " edges");
  const EdgeInfo& edge = edges[index];
  particle1 = edge.particle1;
  particle2 = edge.particle2;
  k = edge.k;
  r0 = referenceDistance(particle1, particle2);
}

void EnergyLossForce::setEdgeParameters(int index, int particle1, int particle2, double k) {
  require(index >= 0 && index < getNumEdges(), "EnergyLossForce: edge index ", index,
          " is out of range for ", getNumEdges(), " edges");
  checkEdge(particle1, particle2, k);
  edges[index] = EdgeInfo{particle1, particle2, k};
}

void EnergyLossForce::setReferencePositions(const std::vector<OpenMM::Vec3>& positions) {
  require(!positions.empty(), "EnergyLossForce: referencePositions is empty");
  require(referencePositions.empty() || positions.size() == referencePositions.size(),
          "EnergyLossForce: referencePositions has ", positions.size(), " particles, expected ",
          referencePositions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c)
      require(std::isfinite(positions[i][c]), "EnergyLossForce: referencePositions[", i, "][", c,
              "] is not finite");
  referencePositions = positions;
}

void EnergyLossForce::setScaleParameterName(const std::string& name) {
  require(!name.empty(), "EnergyLossForce: the scale parameter name is empty");
  scaleName = name;
}

void EnergyLossForce::setDefaultScale(double scale) {
  require(std::isfinite(scale), "EnergyLossForce: the default scale must be finite, got ", scale);
  defaultScale = scale;
}

double EnergyLossForce::referenceDistance(int particle1, int particle2) const {
  const OpenMM::Vec3 d = referencePositions[particle1] - referencePositions[particle2];
  return std::sqrt(d.dot(d));
}

void EnergyLossForce::updateParametersInContext(OpenMM::Context& context) {
  dynamic_cast<EnergyLossForceImpl&>(getImplInContext(context))
      .updateParametersInContext(getContextImpl(context));
}

OpenMM::ForceImpl* EnergyLossForce::createImpl() const {
  return new EnergyLossForceImpl(*this);
}

}  // namespace EnergyLossPlugin
