// Force-field-derived coefficients for the pair energy loss (paper eq. 7):
// k_ij = d^2 E / d r_ij^2, the curvature of the oracle's energy along the i-j
// distance at the reference structure, so that eq. 7 with these k is the
// force field's own second-order energy change.
//
// Generic route, from any oracle: with u the unit vector from j to i and
// H_ij = d^2 E / dx_i dx_j the off-diagonal Hessian block, k_ij = -u^T H_ij u.
// (For a pair potential V(r), H_ij = -V''(r) u u^T - V'(r)/r (I - u u^T), and
// the transverse part vanishes on u: k_ij = V''(r) exactly.) H_ij u is taken
// from central differences of the forces, since -H_ij = dF_i/dx_j.
//
// Negative or zero curvatures (pairs beyond a potential's inflection point,
// repulsive Coulomb pairs, non-interacting pairs) are raised to a floor, so
// every edge keeps a positive spring and the loss stays positive definite on
// the edge graph. The floor is `floor` when given, else 1e-6 x the largest
// curvature (1e-6 when none is positive); the count of floored edges is
// returned along with the raw curvatures.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "energyloss/oracle.h"

namespace energyloss {

class PairCurvatureOracle;

struct DerivedCoefficientOptions {
  // Finite-difference step in the oracle's length unit.
  double step = 1e-4;
  // Smallest k kept; std::nullopt: 1e-6 x the largest curvature.
  std::optional<double> floor;
  // Configurations per oracle.evaluate call (bounds memory).
  int64_t chunk = 256;
};

inline constexpr double kRelativeCurvatureFloor = 1e-6;

struct DerivedCoefficients {
  std::vector<double> k;          // [edges], floored
  std::vector<double> curvature;  // [edges], before flooring
  int64_t floored = 0;            // edges whose curvature was below the floor
  double floor = 0;               // the floor applied
};

// Finite-difference route from any oracle. reference: [atoms, 3];
// edges: [n_edges, 2] atom indices (i != j). The oracle is evaluated on
// 2 x min(3 x distinct displaced atoms, n_edges) displaced copies of the
// reference, whichever needs fewer configurations.
// The floor rule above applied to raw curvatures [edges]: shared by every
// source of coefficients (finite differences, analytic potentials, OpenMM).
DerivedCoefficients apply_curvature_floor(std::vector<double> curvature,
                                          const DerivedCoefficientOptions& options);

DerivedCoefficients derived_coefficients(EnergyOracle& oracle, const double* reference,
                                         const int64_t* edges, int64_t n_edges,
                                         const DerivedCoefficientOptions& options = {});

// Analytic route for pair oracles: V''(r_ij) of each edge's own term.
DerivedCoefficients analytic_coefficients(const PairCurvatureOracle& oracle,
                                          const double* reference, const int64_t* edges,
                                          int64_t n_edges,
                                          const DerivedCoefficientOptions& options = {});

}  // namespace energyloss
