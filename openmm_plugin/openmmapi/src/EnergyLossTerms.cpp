#include "internal/EnergyLossTerms.h"

#include <omp.h>

#include <algorithm>

#include "energyloss/error.h"
#include "energyloss/pair_energy.h"

namespace EnergyLossPlugin {
namespace {
// pair_energy_loss opens an OpenMP team of omp_get_max_threads() threads. The
// platforms schedule threads themselves (Reference: none, CPU: its pool), and
// a team per call on a busy machine costs more than small systems take, so
// each call runs on the calling thread alone; the caller's setting is restored.
class SingleOpenMPThread {
 public:
  SingleOpenMPThread() : previous(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleOpenMPThread() { omp_set_num_threads(previous); }
  SingleOpenMPThread(const SingleOpenMPThread&) = delete;
  SingleOpenMPThread& operator=(const SingleOpenMPThread&) = delete;

 private:
  int previous;
};

// The force's edges as int64 [E, 2] pairs and their k.
void readEdges(const EnergyLossForce& force, std::vector<int64_t>& edges, std::vector<double>& k) {
  const int count = force.getNumEdges();
  edges.resize(2 * static_cast<size_t>(count));
  k.resize(count);
  for (int e = 0; e < count; ++e) {
    int particle1, particle2;
    double r0;
    force.getEdgeParameters(e, particle1, particle2, k[e], r0);
    edges[2 * e] = particle1;
    edges[2 * e + 1] = particle2;
  }
}
}  // namespace

EnergyLossTerms::EnergyLossTerms(const EnergyLossForce& force)
    : scale(force.getScaleParameterName()) {
  readEdges(force, edges, k);
  flatten(force.getReferencePositions(), reference);
}

void EnergyLossTerms::update(const EnergyLossForce& force) {
  // Everything is checked before anything changes: a rejected update leaves
  // the Context as it was.
  energyloss::require(force.getNumEdges() == numEdges(),
                      "EnergyLossForce: the number of edges changed from ", numEdges(), " to ",
                      force.getNumEdges(), " (not allowed after a Context was created)");
  energyloss::require(force.getNumParticles() == numParticles(),
                      "EnergyLossForce: the number of reference positions changed from ",
                      numParticles(), " to ", force.getNumParticles());
  energyloss::require(force.getScaleParameterName() == scale,
                      "EnergyLossForce: the scale parameter was renamed from '", scale, "' to '",
                      force.getScaleParameterName(), "' (not allowed after a Context was created)");
  std::vector<int64_t> newEdges;
  std::vector<double> newK;
  readEdges(force, newEdges, newK);
  // OpenMM derives molecules from the bonded particles when the Context is
  // created, so (like its bonded forces) edges keep their particles.
  const auto changed = std::mismatch(edges.begin(), edges.end(), newEdges.begin()).first;
  if (changed != edges.end()) {
    const int64_t e = (changed - edges.begin()) / 2;
    energyloss::fail("EnergyLossForce: edge ", e, " changed its particles from (", edges[2 * e],
                     ", ", edges[2 * e + 1], ") to (", newEdges[2 * e], ", ", newEdges[2 * e + 1],
                     ") (not allowed after a Context was created)");
  }
  k.swap(newK);
  flatten(force.getReferencePositions(), reference);
}

void EnergyLossTerms::flatten(const std::vector<OpenMM::Vec3>& positions,
                              std::vector<double>& flat) {
  flat.resize(3 * positions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c) flat[3 * i + c] = positions[i][c];
}

double EnergyLossTerms::evaluate(const double* positions, int64_t begin, int64_t end,
                                 double* gradient) const {
  // An empty range has no edge list to hand over (nullptr means the complete graph).
  if (begin == end) {
    if (gradient != nullptr) std::fill(gradient, gradient + reference.size(), 0.0);
    return 0.0;
  }
  // Explicit mode with k0 = 1 and no per-atom division: k_ij is the edge weight.
  energyloss::CoefficientSpec spec =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Explicit);
  spec.k0 = 1.0;
  spec.per_atom = false;
  energyloss::PairLossInput<double> input;
  input.pred = positions;
  input.ref = reference.data();
  input.layout.atoms = numParticles();
  input.edges = edges.data() + 2 * begin;
  input.edge_weights = k.data() + begin;
  input.n_edges = end - begin;
  double energy = 0.0;
  energyloss::PairLossOutput<double> output;
  output.energy = &energy;
  output.grad_pred = gradient;
  const SingleOpenMPThread single;
  energyloss::pair_energy_loss(input, spec, output);
  return energy;
}

}  // namespace EnergyLossPlugin
