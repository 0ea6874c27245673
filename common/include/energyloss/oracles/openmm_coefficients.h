// Force-field-derived pair coefficients read analytically off an OpenMM
// System's own force terms (the OpenMM counterpart of analytic_coefficients).
// Declared whenever this header is included, defined only in builds with
// OpenMM (ENERGYLOSS_HAVE_OPENMM, set by energyloss::oracles). Python:
// energyloss.oracles.openmm_pair_coefficients.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "energyloss/oracles/derived_coefficients.h"

namespace OpenMM {
class System;
}

namespace energyloss {

// k_ij = d^2 E / d r_ij^2 at the reference structure, the curvature of the
// force field along each edge's distance (kJ/mol/nm^2), summed over:
//   bond    HarmonicBondForce, E = k/2 (r - r0)^2: k.
//   angle   HarmonicAngleForce on the 1-3 pair (i, k) of each angle i-j-k, both
//           bond lengths a, b held fixed: for E = k/2 (theta - theta0)^2 and
//           d = |r_ik|, k_13 = k theta'(d)^2 + k (theta - theta0) theta''(d) with
//           theta'(d) = d / (a b sin theta),
//           theta''(d) = 1 / (a b sin theta) - d^2 cos theta / (a^2 b^2 sin^3 theta).
//           Angles with sin theta < 1e-6 (theta' undefined) are skipped.
//   LJ      NonbondedForce, 4 eps ((s/r)^12 - (s/r)^6):
//           (4 eps / r^2) (156 (s/r)^12 - 42 (s/r)^6), with the exception's
//           sigma, eps where the pair has one, else the Lorentz-Berthelot rule
//           (sigma_i + sigma_j) / 2, sqrt(eps_i eps_j).
//   Coulomb NonbondedForce, 138.935456 q_i q_j / r: 2 * 138.935456 q_i q_j / r^3
//           (the exception's charge product where the pair has one; reaction
//           field 2 C q q (1/r^3 + k_rf) and nothing beyond the cutoff for the
//           cutoff methods; Ewald/PME taken as bare Coulomb and reported).
// The angle term is the curvature with the bonds rigid, not -u^T H_ik u: the
// finite-difference route (derived_coefficients) differs there by design.
// Totals are floored exactly like derived_coefficients (derived_coefficients.h):
// below options.floor, or 1e-6 x the largest total when no floor is given,
// k is raised to the floor (options.step and options.chunk are unused here).
struct OpenMMPairCoefficients {
  DerivedCoefficients total;  // k (floored) and curvature (raw sum), [edges]
  // The raw sum split by force term, [edges] each.
  std::vector<double> bond, angle, lennard_jones, coulomb;
  // Forces of the System that contribute nothing here (torsions, GB
  // solvation, custom forces, ...) and every approximation made (cutoff
  // methods, parameter offsets, linear angles), one line each.
  std::vector<std::string> ignored;
};

// reference: [atoms, 3] in nm; edges: [n_edges, 2] atom pairs (i != j).
// Throws Error on a bad file, an atom count other than the System's, non-finite
// positions, an out-of-range or self edge, or coincident edge atoms. Edges may
// repeat (each copy gets the pair's k).
OpenMMPairCoefficients openmm_pair_coefficients(const std::string& system_xml_path,
                                                const double* reference, int64_t atoms,
                                                const int64_t* edges, int64_t n_edges,
                                                const DerivedCoefficientOptions& options = {});
// Same, for a System in memory (the OpenMM plugin's force-field coefficients).
OpenMMPairCoefficients openmm_pair_coefficients(const OpenMM::System& system,
                                                const double* reference, int64_t atoms,
                                                const int64_t* edges, int64_t n_edges,
                                                const DerivedCoefficientOptions& options = {});

}  // namespace energyloss
