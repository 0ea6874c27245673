// Pair coefficients for the pair energy loss (paper eq. 7) from the full
// force-field Hessian at the reference structure, rather than from one 3x3
// block per pair (derived_coefficients.h):
//
// 1. force_field_hessian: H = d^2 E / dx dx, [3N, 3N], from central
//    differences of any oracle's forces, symmetrised.
// 2. fit_springs_to_hessian / hessian_fitted_springs: non-negative springs
//    k_e on an edge set whose network Hessian sum_e k_e h_e best matches the
//    force field's, min_{k >= 0} || sum_e k_e h_e - P H P ||_F, where
//    h_e = a_e a_e^T, a_e = (e_i - e_j) (x) u_e (u_e the unit vector from j
//    to i; the row of edge e in the rigidity matrix), and P projects out the
//    rigid-body modes (3 translations, 3 rotations about the centroid; 2 for
//    a linear reference). h_e has those modes in its null space, so the fit
//    only sees internal motion. Negative pair curvatures are absorbed by the
//    fit (the optimum sets some k_e to 0), never floored. This is the elastic
//    network model of Tirion (PRL 77, 1905 (1996)) with force constants fitted
//    to a force-field Hessian as in fluctuation-matching / "realistic ENM"
//    work (e.g. Hinsen et al., Chem. Phys. 261, 25 (2000)); the solver is
//    Lawson & Hanson's active-set NNLS (Solving Least Squares Problems,
//    1974, ch. 23) in the cross-product form of Bro & De Jong (J. Chemometrics
//    11, 393 (1997)).
// Bond and angle force constants from the same Hessian (modified Seminario)
// are in seminario_coefficients.h.
//
// Units: everything is in the oracle's (or the Hessian's) own units. Spring
// constants are energy / length^2, the k of E = 1/2 k (r - r0)^2 (OpenMM's
// convention; AMBER / OPLS parameter files list k / 2). Nothing is rescaled.
#pragma once

#include <cstdint>
#include <vector>

#include "energyloss/oracle.h"

namespace energyloss {

// ---------------------------------------------------------------------------
// Hessian
// ---------------------------------------------------------------------------

struct HessianOptions {
  // Finite-difference step in the oracle's length unit.
  double step = 1e-4;
  // Configurations per oracle.evaluate call (bounds memory).
  int64_t chunk = 256;
};

// d^2 E / dx_a dx_b at `reference` [atoms, 3], row-major [3 atoms, 3 atoms]
// (index 3 * atom + component), in energy / length^2: column b is
// -(F(x + h e_b) - F(x - h e_b)) / 2h, then (H + H^T) / 2. 6 x atoms oracle
// evaluations; error O(h^2) plus the oracle's force noise / h.
// Throws Error on a non-finite reference or step <= 0, and when the oracle does.
std::vector<double> force_field_hessian(EnergyOracle& oracle, const double* reference,
                                        const HessianOptions& options = {});

// The ops that take a Hessian refuse one with |H_ij - H_ji| above this times
// max |H_kl|: rounding (float32 input has ~1e-7) passes, a wrong matrix (a
// transposed block, another layout) does not.
constexpr double kHessianAsymmetry = 1e-5;

// Throws Error unless `hessian` [3 atoms, 3 atoms] (row-major) is symmetric
// to within kHessianAsymmetry times its largest |entry|, naming the entry
// (i, j) with the largest |H_ij - H_ji| and both values.
void require_symmetric_hessian(const double* hessian, int64_t atoms);

// Orthonormal basis of the rigid-body displacements of `reference` [atoms, 3]:
// columns of a row-major [3 atoms, modes] matrix, modes = 6 (3 translations,
// 3 rotations about the centroid), 5 for a linear and 3 for a one-atom
// reference (directions below 1e-10 of the largest are dropped).
std::vector<double> rigid_body_modes(const double* reference, int64_t atoms, int64_t* modes);

// P H P with P = I - Q Q^T, Q = rigid_body_modes(reference): H [3 atoms,
// 3 atoms] row-major with its rigid-body modes projected out. Throws Error
// on non-finite input or a Hessian that is not symmetric
// (require_symmetric_hessian).
std::vector<double> project_out_rigid_modes(const double* hessian, const double* reference,
                                            int64_t atoms);

// sum_e k_e a_e a_e^T, the Hessian of the pair energy loss
// sum_e 1/2 k_e (|x_i - x_j| - r_e)^2 at x = reference: [3 atoms, 3 atoms].
// edges [n_edges, 2], k [n_edges]. Throws Error on bad edges or coincident atoms.
std::vector<double> spring_network_hessian(const double* reference, int64_t atoms,
                                           const int64_t* edges, int64_t n_edges, const double* k);

// ---------------------------------------------------------------------------
// Non-negative least squares
// ---------------------------------------------------------------------------

struct NnlsOptions {
  // Outer + inner iterations before giving up; <= 0: 3 x unknowns (SciPy's default).
  int64_t max_iterations = 0;
  // A gradient component w_j = (A^T (b - A x))_j counts as positive above
  // this; <= 0: 10 x n x machine epsilon x max(|A^T b|_inf, |A^T A|_max).
  double tolerance = 0;
};

struct NnlsResult {
  std::vector<double> x;   // [n], every entry >= 0
  int64_t iterations = 0;  // outer + inner iterations used
  bool converged = false;  // false: max_iterations reached, x is the last feasible iterate
};

// argmin_{x >= 0} |A x - b|_2 from the cross products G = A^T A [n, n]
// (row-major, symmetric positive semi-definite) and c = A^T b [n]:
// Lawson-Hanson's active-set method as reorganised by Bro & De Jong (1997).
// Each passive-set subproblem G_PP z = c_P is solved with Eigen's pivoted
// LDLT (rank-deficient G: zero pivots give a least-squares solution). Cost
// O(p^3) per iteration for p passive variables; memory O(n^2).
// Throws Error on non-finite input or n < 0.
NnlsResult nnls_normal(const double* gram, const double* c, int64_t n,
                       const NnlsOptions& options = {});

// argmin_{x >= 0} |A x - b|_2 for a dense A [rows, cols] row-major and b
// [rows]: nnls_normal on A^T A, A^T b (conditioning squared: meant for the
// moderately conditioned problems of this library; SciPy's
// scipy.optimize.nnls agrees on random ones, see tests/oracles).
NnlsResult nnls(const double* a, int64_t rows, int64_t cols, const double* b,
                const NnlsOptions& options = {});

// ---------------------------------------------------------------------------
// Hessian-fitted springs
// ---------------------------------------------------------------------------

struct HessianFitOptions {
  HessianOptions hessian;  // only for hessian_fitted_springs (from an oracle)
  NnlsOptions nnls;
  // Weighting toward low-frequency (soft) modes, off by default. With
  // P H P = sum_m lambda_m v_m v_m^T over the internal modes, the fit
  // minimises |W (K - P H P) W|_F with W = sum_m s_m v_m v_m^T,
  // s_m = (max(|lambda_m|, low_mode_floor x lambda_med) / lambda_med)^(-p/2),
  // p = low_mode_power and lambda_med the median |lambda_m|. p = 0: plain
  // Frobenius (every entry alike, so the stiff bond modes dominate); p = 1:
  // |T^-1/2 K T^-1/2 - I|_F for a positive definite T, each mode's relative
  // error alike -- the soft modes that carry the thermal fluctuations and the
  // global shape weigh as much as bond stretches. The floor (relative to the
  // median) keeps near-zero eigenvalues from taking over.
  double low_mode_power = 0;
  double low_mode_floor = 1e-3;
};

struct HessianFit {
  std::vector<double> k;         // [n_edges], >= 0, energy / length^2
  double relative_residual = 0;  // |K - P H P|_F / |P H P|_F, K = spring_network_hessian(k)
  double weighted_relative_residual = 0;  // |W (K - P H P) W|_F / |W P H P W|_F (= the above
                                          // when low_mode_power = 0)
  double target_norm = 0;                 // |P H P|_F
  int64_t zero_springs = 0;               // edges with k_e == 0 (the constraint is active)
  int64_t iterations = 0;                 // NNLS iterations
  bool converged = false;                 // NNLS converged (false only at max_iterations)
};

// min_{k >= 0} |sum_e k_e h_e - P H P|_F for `hessian` [3 atoms, 3 atoms]
// (row-major, symmetric to within kHessianAsymmetry, the rounding left
// averaged out) at `reference` [atoms, 3] on `edges`
// [n_edges, 2] (i != j, any order). Solved as NNLS on the normal equations:
// <h_e, h_f>_F = (a_e . a_f)^2 (4 on the diagonal, (u_e . u_f)^2 for edges
// sharing an atom, 0 otherwise) and <h_e, P H P>_F = a_e^T P H P a_e.
// With options.low_mode_power > 0 the same with a_e -> W a_e and P H P ->
// W P H P W (dense then: O(n_edges^2 x atoms) more time).
// Dense: O(n_edges^2) memory and O(p^3) per NNLS iteration, so it suits
// molecules up to a few dozen atoms on the complete graph (alanine
// dipeptide, 231 edges: well under a second), larger ones on sparse edges.
// Throws Error on non-finite input, a Hessian that is not symmetric
// (require_symmetric_hessian), bad edges, duplicate edges, or coincident
// atoms on an edge.
HessianFit fit_springs_to_hessian(const double* hessian, const double* reference, int64_t atoms,
                                  const int64_t* edges, int64_t n_edges,
                                  const HessianFitOptions& options = {});

// force_field_hessian(oracle, reference, options.hessian) then
// fit_springs_to_hessian. `hessian_out`, when not null, receives H [3N, 3N].
HessianFit hessian_fitted_springs(EnergyOracle& oracle, const double* reference,
                                  const int64_t* edges, int64_t n_edges,
                                  const HessianFitOptions& options = {},
                                  std::vector<double>* hessian_out = nullptr);

}  // namespace energyloss
