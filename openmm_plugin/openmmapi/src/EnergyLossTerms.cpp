#include "internal/EnergyLossTerms.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "energyloss/graphs.h"
#include "energyloss/openmp.h"
#include "energyloss/pair_energy.h"
#include "internal/EnergyLossErrors.h"

namespace EnergyLossPlugin {
namespace {
// common/'s input for one system of all the force's particles.
energyloss::PairLossInput<double> pairInput(const double* positions,
                                            const std::vector<double>& reference) {
  energyloss::PairLossInput<double> input;
  input.pred = positions;
  input.ref = reference.data();
  input.layout.atoms = static_cast<int64_t>(reference.size() / 3);
  return input;
}

// Runs common/'s kernel on one thread (the caller's pool splits the work) and
// returns the energy; OpenMM callers get OpenMMException on bad input.
double runPairKernel(const energyloss::PairLossInput<double>& input,
                     const energyloss::CoefficientSpec& spec, double* gradient) {
  double energy = 0.0;
  energyloss::PairLossOutput<double> output;
  output.energy = &energy;
  output.grad_pred = gradient;
  // pair_energy_loss would open a team of omp_get_max_threads() threads; the
  // platforms schedule threads themselves (Reference: none, CPU: its pool).
  const energyloss::SingleOpenMPThread single;
  asOpenMMErrors([&] { energyloss::pair_energy_loss(input, spec, output); });
  return energy;
}

// |x_a - x_b|^2 in flat [N, 3] positions.
double squaredDistance(const std::vector<double>& x, int64_t a, int64_t b) {
  double d2 = 0.0;
  for (int c = 0; c < 3; ++c) d2 += (x[3 * b + c] - x[3 * a + c]) * (x[3 * b + c] - x[3 * a + c]);
  return d2;
}

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

std::vector<std::pair<int64_t, int64_t>> spanningTreeOrder(const std::vector<double>& reference) {
  const int64_t n = static_cast<int64_t>(reference.size() / 3);
  std::vector<std::pair<int64_t, int64_t>> order;
  if (n == 0) return order;
  std::vector<double> distance(size_t(n), std::numeric_limits<double>::infinity());
  std::vector<int64_t> nearest(size_t(n), 0);
  std::vector<bool> placed(size_t(n), false);
  int64_t latest = 0;
  placed[0] = true;
  for (int64_t step = 1; step < n; ++step) {
    int64_t next = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (placed[i]) continue;
      const double d2 = squaredDistance(reference, latest, i);
      if (d2 < distance[i]) distance[i] = d2, nearest[i] = latest;
      if (next < 0 || distance[i] < distance[next]) next = i;
    }
    placed[next] = true;
    order.emplace_back(next, nearest[next]);
    latest = next;
  }
  return order;
}

std::vector<std::pair<int, int>> bondedParticles(const EnergyLossForce& force) {
  std::vector<std::pair<int, int>> bonded;
  bonded.reserve(force.getNumEdges() +
                 (force.hasPairsWithinCutoff() ? force.getNumParticles() : 0));
  for (int e = 0; e < force.getNumEdges(); ++e) {
    int particle1, particle2;
    double k, r0;
    force.getEdgeParameters(e, particle1, particle2, k, r0);
    bonded.emplace_back(particle1, particle2);
  }
  if (!force.hasPairsWithinCutoff()) return bonded;
  const double cutoff = force.getPairCutoff();
  if (std::isinf(cutoff)) {
    // The complete graph couples every pair: a chain makes them one molecule.
    for (int i = 1; i < force.getNumParticles(); ++i) bonded.emplace_back(i - 1, i);
    return bonded;
  }
  // The minimum spanning tree's edges below the cutoff span each connected
  // component of the pairs closer than the cutoff (the rule's pairs).
  std::vector<double> reference;
  EnergyLossTerms::flatten(force.getReferencePositions(), reference);
  for (const auto& [particle, neighbour] : spanningTreeOrder(reference)) {
    if (squaredDistance(reference, neighbour, particle) < cutoff * cutoff)
      bonded.emplace_back(static_cast<int>(neighbour), static_cast<int>(particle));
  }
  return bonded;
}

std::vector<std::pair<int64_t, int64_t>> restrainedForestOrder(const std::vector<double>& reference,
                                                               const std::vector<int64_t>& edges,
                                                               bool pairRule, double cutoff) {
  // Kruskal over the explicit edges and the pair rule's part of a minimum
  // spanning forest (the reference's minimum spanning tree edges below the
  // cutoff: a minimum spanning forest of the rule's pairs), shortest first.
  struct Candidate {
    double length2;
    int64_t a, b;
  };
  std::vector<Candidate> candidates;
  for (size_t e = 0; 2 * e < edges.size(); ++e)
    candidates.push_back({squaredDistance(reference, edges[2 * e], edges[2 * e + 1]), edges[2 * e],
                          edges[2 * e + 1]});
  if (pairRule)
    for (const auto& [particle, neighbour] : spanningTreeOrder(reference)) {
      const double d2 = squaredDistance(reference, particle, neighbour);
      if (d2 < cutoff * cutoff) candidates.push_back({d2, neighbour, particle});
    }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& x, const Candidate& y) { return x.length2 < y.length2; });
  const int64_t n = static_cast<int64_t>(reference.size() / 3);
  std::vector<int64_t> root(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) root[i] = i;
  auto find = [&](int64_t i) {
    while (root[i] != i) i = root[i] = root[root[i]];
    return i;
  };
  std::vector<std::vector<int64_t>> neighbours(static_cast<size_t>(n));
  for (const Candidate& candidate : candidates) {
    const int64_t ra = find(candidate.a), rb = find(candidate.b);
    if (ra == rb) continue;
    root[ra] = rb;
    neighbours[candidate.a].push_back(candidate.b);
    neighbours[candidate.b].push_back(candidate.a);
  }
  // Breadth first from the lowest particle of each tree: every particle
  // after its tree neighbour.
  std::vector<std::pair<int64_t, int64_t>> order;
  std::vector<bool> reached(size_t(n), false);
  std::vector<int64_t> queue;
  for (int64_t start = 0; start < n; ++start) {
    if (reached[start]) continue;
    reached[start] = true;
    queue.assign(1, start);
    for (size_t head = 0; head < queue.size(); ++head)
      for (const int64_t next : neighbours[queue[head]]) {
        if (reached[next]) continue;
        reached[next] = true;
        order.emplace_back(next, queue[head]);
        queue.push_back(next);
      }
  }
  return order;
}

EnergyLossTerms::EnergyLossTerms(const EnergyLossForce& force)
    : pairRule(force.hasPairsWithinCutoff()),
      pairCoefficients(force.getPairCoefficients()),
      pairCutoff(force.getPairCutoff()),
      scale(force.getScaleParameterName()),
      periodic(force.usesPeriodicBoundaryConditions()) {
  readEdges(force, edges, k);
  flatten(force.getReferencePositions(), reference);
  readPairs(force);
}

void EnergyLossTerms::readPairs(const EnergyLossForce& force) {
  // A pair listed twice would count twice (the Python constructor refuses it
  // too; this catches addEdge and XML).
  energyloss::EdgeList pairs(static_cast<size_t>(numEdges()));
  for (int64_t e = 0; e < numEdges(); ++e) {
    const auto [low, high] = std::minmax(edges[2 * e], edges[2 * e + 1]);
    pairs[e] = {low, high};
  }
  asOpenMMErrors([&] { energyloss::check_edges(pairs, numParticles(), "EnergyLossForce"); });
  if (force.hasPairsWithinCutoff() && std::isfinite(force.getPairCutoff())) {
    const double cutoff = force.getPairCutoff();
    require(energyloss::nearest_pair_distance(reference.data(), numParticles(), cutoff) < cutoff,
            "EnergyLossForce: the pair rule's cutoff ", cutoff,
            " nm gives no pairs: no two reference particles are closer (setPairsWithinCutoff)");
  }
  if (periodic) unwrapOrder = restrainedForestOrder(reference, edges, pairRule, pairCutoff);
}

void EnergyLossTerms::update(const EnergyLossForce& force) {
  // Everything is checked before anything changes: a rejected update leaves
  // the Context as it was.
  require(force.getNumEdges() == numEdges(), "EnergyLossForce: the number of edges changed from ",
          numEdges(), " to ", force.getNumEdges(), " (not allowed after a Context was created)");
  require(force.getNumParticles() == numParticles(),
          "EnergyLossForce: the number of reference positions changed from ", numParticles(),
          " to ", force.getNumParticles());
  require(force.getScaleParameterName() == scale,
          "EnergyLossForce: the scale parameter was renamed from '", scale, "' to '",
          force.getScaleParameterName(), "' (not allowed after a Context was created)");
  require(force.usesPeriodicBoundaryConditions() == periodic,
          "EnergyLossForce: periodic boundary conditions were switched ", periodic ? "off" : "on",
          " (not allowed after a Context was created)");
  // OpenMM derives molecules from the bonded particles when the Context is
  // created, so (like its bonded forces) edges keep their particles.
  std::vector<int64_t> newEdges;
  std::vector<double> newK;
  readEdges(force, newEdges, newK);
  const auto changed = std::mismatch(edges.begin(), edges.end(), newEdges.begin()).first;
  if (changed != edges.end()) {
    const int64_t e = (changed - edges.begin()) / 2;
    fail("EnergyLossForce: edge ", e, " changed its particles from (", edges[2 * e], ", ",
         edges[2 * e + 1], ") to (", newEdges[2 * e], ", ", newEdges[2 * e + 1],
         ") (not allowed after a Context was created)");
  }
  const EnergyLossTerms updated(force);  // the new pairs' own checks
  k = updated.k;
  reference = updated.reference;
  unwrapOrder = updated.unwrapOrder;
  for (OpenMM::Vec3& vector : checkedBox) vector = OpenMM::Vec3();  // check the new reference
  pairRule = force.hasPairsWithinCutoff();
  pairCoefficients = force.getPairCoefficients();
  pairCutoff = force.getPairCutoff();
}

void EnergyLossTerms::flatten(const std::vector<OpenMM::Vec3>& positions,
                              std::vector<double>& flat) {
  flat.resize(3 * positions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c) flat[3 * i + c] = positions[i][c];
}

namespace {
// Minimum image of `delta` in OpenMM's reduced (lower-triangular) box.
OpenMM::Vec3 nearestImage(OpenMM::Vec3 delta, const OpenMM::Vec3* box) {
  delta -= box[2] * std::round(delta[2] / box[2][2]);
  delta -= box[1] * std::round(delta[1] / box[1][1]);
  delta -= box[0] * std::round(delta[0] / box[0][0]);
  return delta;
}
}  // namespace

void EnergyLossTerms::placeParticles(const std::vector<OpenMM::Vec3>& positions,
                                     const OpenMM::Vec3* box, std::vector<double>& flat) const {
  flatten(positions, flat);
  for (const auto& [particle, neighbour] : unwrapOrder) {
    const OpenMM::Vec3 delta = nearestImage(positions[particle] - positions[neighbour], box);
    for (int c = 0; c < 3; ++c) flat[3 * particle + c] = flat[3 * neighbour + c] + delta[c];
  }
}

void EnergyLossTerms::checkReferenceFitsBox(const OpenMM::Vec3* box) {
  if (!periodic || (box[0] == checkedBox[0] && box[1] == checkedBox[1] && box[2] == checkedBox[2]))
    return;
  for (const auto& [particle, neighbour] : unwrapOrder) {
    OpenMM::Vec3 delta;
    for (int c = 0; c < 3; ++c)
      delta[c] = reference[3 * particle + c] - reference[3 * neighbour + c];
    const OpenMM::Vec3 image = nearestImage(delta, box);
    require(image == delta, "EnergyLossForce: periodic: particles ", neighbour, " and ", particle,
            " are ", std::sqrt(delta.dot(delta)), " nm apart in the reference, at least half ",
            "the periodic box (", box[0][0], ", ", box[1][1], ", ", box[2][2],
            " nm); the particles are made whole along a spanning forest of the restrained ",
            "pairs (shortest first), which needs each of its pairs within half a box. Give a ",
            "whole reference (one image of the structure, not wrapped particle by particle) ",
            "that fits the box; periodic=False suits only positions that are never wrapped");
  }
  for (int v = 0; v < 3; ++v) checkedBox[v] = box[v];
}

int64_t EnergyLossTerms::pairRuleRowSplit(int share, int shares) const {
  const int64_t n = numParticles();
  const int64_t target = n * (n - 1) / 2 * share / shares;
  int64_t row = 0;
  for (int64_t pairs = 0; row < n && pairs < target; ++row) pairs += n - 1 - row;
  return share == shares ? n : row;
}

double EnergyLossTerms::evaluatePairRule(const double* positions, int64_t rowBegin, int64_t rowEnd,
                                         double* gradient) const {
  if (!pairRule || rowBegin == rowEnd) {
    if (gradient != nullptr) std::fill(gradient, gradient + reference.size(), 0.0);
    return 0.0;
  }
  energyloss::PairLossInput<double> input = pairInput(positions, reference);
  input.cutoff = pairCutoff;  // edges stay nullptr: the complete-graph path
  input.row_begin = rowBegin;
  input.row_end = rowEnd;
  return runPairKernel(input, pairCoefficients, gradient);
}

double EnergyLossTerms::evaluateEdges(const double* positions, int64_t begin, int64_t end,
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
  energyloss::PairLossInput<double> input = pairInput(positions, reference);
  input.edges = edges.data() + 2 * begin;
  input.edge_weights = k.data() + begin;
  input.n_edges = end - begin;
  return runPairKernel(input, spec, gradient);
}

}  // namespace EnergyLossPlugin
