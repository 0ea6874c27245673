// Bond and angle force constants from a force-field Hessian (for instance
// force_field_hessian in hessian_coefficients.h) by the modified Seminario
// method (Seminario, IJQC 60, 1271 (1996); Allen, Payne & Cole, JCTC 14, 274
// (2018)).
//
// Units: those of the Hessian and reference. Bond constants are energy /
// length^2, angle constants energy / rad^2, each the k of
// E = 1/2 k (q - q0)^2 (OpenMM's convention; AMBER / OPLS parameter files
// list k / 2). Nothing is rescaled.
#pragma once

#include <cstdint>
#include <vector>

namespace energyloss {

struct SeminarioParameters {
  std::vector<double> bond_k;       // [n_bonds], energy / length^2
  std::vector<double> bond_length;  // [n_bonds], reference lengths
  std::vector<double> angle_k;      // [n_angles], energy / rad^2
  std::vector<double> angle_theta;  // [n_angles], reference angles in rad
};

// Bond and angle force constants by the modified Seminario method from
// `hessian` [3 atoms, 3 atoms] at `reference` [atoms, 3]. With K_AB = -H_AB
// (the interatomic force-constant block) and (lambda_i, v_i) its
// eigenpairs (complex in general: real parts are kept at the end):
//   bond A-B:   k = 1/2 (sum_i lambda_i^AB |u_AB . v_i^AB| + same for BA)
//   angle A-B-C (B central): 1/k = f_A / (R_AB^2 S_A) + f_C / (R_CB^2 S_C),
//   S_A = sum_i lambda_i^AB |u_PA . v_i^AB|, u_PA the unit vector in the
//   plane ABC perpendicular to AB (u_PC likewise for CB), and the modified
//   method's scaling f_A = 1 + mean over the other angles A-B-X in `angles`
//   (X != C) of (u_PA . u_PA(ABX))^2 (1 when there are none; f_C likewise).
//   For a linear A-B-C the in-plane directions are averaged over 180 planes
//   around the axis and f = 1.
// bonds [n_bonds, 2], angles [n_angles, 3] (centre in the middle). A
// Seminario constant is an approximation: exact for an isolated harmonic
// bond at its minimum, not in general for angles (coupled terms). Throws
// Error on bad indices, coincident atoms, or non-finite input.
SeminarioParameters modified_seminario(const double* hessian, const double* reference,
                                       int64_t atoms, const int64_t* bonds, int64_t n_bonds,
                                       const int64_t* angles, int64_t n_angles);

// Every angle A-B-C with A-B and B-C in `bonds` (A < C), sorted by
// (B, A, C): [n_angles, 3] flattened.
std::vector<int64_t> angles_from_bonds(int64_t atoms, const int64_t* bonds, int64_t n_bonds);

}  // namespace energyloss
