// Force-field-derived pair coefficients: finite-difference Hessian blocks
// projected on pair directions, or analytic pair curvatures.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "atom_pair.h"
#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/oracles/derived_coefficients.h"

namespace energyloss {
namespace {

std::vector<ReferenceEdge> reference_edges(int64_t atoms, const double* reference,
                                           const int64_t* edges, int64_t n_edges) {
  require(n_edges >= 0, "edges: count must be >= 0, got ", n_edges);
  require(reference != nullptr, "reference: must not be null");
  require(n_edges == 0 || edges != nullptr, "edges: must not be null");
  for (int64_t n = 0; n < atoms * 3; ++n) {
    require(std::isfinite(reference[n]), "reference[", n / 3, ", ", n % 3, "] is not finite (",
            reference[n], ")");
  }
  std::vector<ReferenceEdge> result;
  result.reserve(static_cast<size_t>(n_edges));
  for (int64_t e = 0; e < n_edges; ++e)
    result.push_back(reference_edge(reference, atoms, edges, e));
  return result;
}

// A displacement of one atom along a unit direction, evaluated at +-step.
struct Probe {
  int64_t atom;
  double direction[3];
};

// Contribution weight * u_e . dF_i/d(probe) to edge e's curvature.
struct Use {
  size_t edge;
  double weight;
};

}  // namespace

DerivedCoefficients apply_curvature_floor(std::vector<double> curvature,
                                          const DerivedCoefficientOptions& options) {
  DerivedCoefficients result;
  double largest = 0;
  for (size_t e = 0; e < curvature.size(); ++e) {
    require(std::isfinite(curvature[e]), "edges[", e, "]: curvature is not finite (", curvature[e],
            ")");
    largest = std::max(largest, curvature[e]);
  }
  if (options.floor.has_value()) {
    require(std::isfinite(*options.floor) && *options.floor >= 0,
            "floor: expected finite and >= 0, got ", *options.floor);
    result.floor = *options.floor;
  } else {
    result.floor = largest > 0 ? kRelativeCurvatureFloor * largest : kRelativeCurvatureFloor;
  }
  result.k = curvature;
  for (double& k : result.k) {
    if (k < result.floor) {
      k = result.floor;
      ++result.floored;
    }
  }
  result.curvature = std::move(curvature);
  return result;
}

DerivedCoefficients derived_coefficients(EnergyOracle& oracle, const double* reference,
                                         const int64_t* edges, int64_t n_edges,
                                         const DerivedCoefficientOptions& options) {
  const int64_t atoms = oracle.atoms();
  const std::vector<ReferenceEdge> pairs = reference_edges(atoms, reference, edges, n_edges);
  require(std::isfinite(options.step) && options.step > 0, "step: expected > 0, got ",
          options.step);
  require(options.chunk >= 1, "chunk: expected >= 1, got ", options.chunk);

  // k_ij = u^T (dF_i/dx_j) u. Either one probe per edge (x_j along u), or the
  // three Cartesian columns of each displaced atom shared by all its edges.
  std::map<int64_t, size_t> column_of;
  for (const ReferenceEdge& edge : pairs) column_of.emplace(edge.j, 0);
  const bool per_edge = pairs.size() <= 3 * column_of.size();
  std::vector<Probe> probes;
  std::vector<std::vector<Use>> uses;
  if (per_edge) {
    for (size_t e = 0; e < pairs.size(); ++e) {
      probes.push_back({pairs[e].j, {pairs[e].u[0], pairs[e].u[1], pairs[e].u[2]}});
      uses.push_back({{e, 1.0}});
    }
  } else {
    for (auto& [atom, first] : column_of) {
      first = probes.size();
      for (int c = 0; c < 3; ++c) {
        Probe probe{atom, {0, 0, 0}};
        probe.direction[c] = 1;
        probes.push_back(probe);
        uses.emplace_back();
      }
    }
    for (size_t e = 0; e < pairs.size(); ++e) {
      for (int c = 0; c < 3; ++c) {
        uses[column_of[pairs[e].j] + size_t(c)].push_back({e, pairs[e].u[c]});
      }
    }
  }

  const int64_t stride = atoms * 3;
  std::vector<double> curvature(pairs.size(), 0.0);
  for (size_t begin = 0; begin < probes.size(); begin += size_t(options.chunk)) {
    const size_t end = std::min(probes.size(), begin + size_t(options.chunk));
    const int64_t batch = int64_t(2 * (end - begin));
    std::vector<double> positions(size_t(batch * stride));
    for (size_t p = begin; p < end; ++p) {
      for (int side = 0; side < 2; ++side) {
        double* x = positions.data() + (2 * (p - begin) + size_t(side)) * size_t(stride);
        std::copy(reference, reference + stride, x);
        const double h = side == 0 ? options.step : -options.step;
        for (int c = 0; c < 3; ++c) x[3 * probes[p].atom + c] += h * probes[p].direction[c];
      }
    }
    std::vector<double> energies(static_cast<size_t>(batch)),
        forces(static_cast<size_t>(batch * stride));
    oracle.evaluate(positions.data(), batch, energies.data(), forces.data());
    for (size_t p = begin; p < end; ++p) {
      const double* plus = forces.data() + 2 * (p - begin) * size_t(stride);
      const double* minus = plus + stride;
      for (const Use& use : uses[p]) {
        const ReferenceEdge& edge = pairs[use.edge];
        double projected = 0;
        for (int c = 0; c < 3; ++c) {
          projected += edge.u[c] * (plus[3 * edge.i + c] - minus[3 * edge.i + c]);
        }
        curvature[use.edge] += use.weight * projected / (2 * options.step);
      }
    }
  }
  return apply_curvature_floor(std::move(curvature), options);
}

DerivedCoefficients analytic_coefficients(const PairCurvatureOracle& oracle,
                                          const double* reference, const int64_t* edges,
                                          int64_t n_edges,
                                          const DerivedCoefficientOptions& options) {
  const std::vector<ReferenceEdge> pairs =
      reference_edges(oracle.atoms(), reference, edges, n_edges);
  std::vector<double> curvature(pairs.size());
  for (size_t e = 0; e < pairs.size(); ++e) {
    curvature[e] = oracle.pair_curvature(pairs[e].i, pairs[e].j, pairs[e].r);
  }
  return apply_curvature_floor(std::move(curvature), options);
}

}  // namespace energyloss
