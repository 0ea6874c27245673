// Bond and angle force constants from a force-field Hessian (for instance
// force_field_hessian in hessian_coefficients.h) by the modified Seminario
// method (Seminario, IJQC 60, 1271 (1996); Allen, Payne & Cole, JCTC 14, 274
// (2018)).
//
// Units: those of the Hessian and reference. Bond constants are energy /
// length^2, angle constants energy / rad^2, each the k of
// E = 1/2 k (q - q0)^2 (OpenMM's convention; AMBER / OPLS parameter files
// list k / 2). Nothing is rescaled. seminario_pair_springs turns such
// constants into 1-2 and 1-3 pair springs (energy / length^2).
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
// bonds [n_bonds, 2], each pair once in either order; angles [n_angles, 3]
// (centre in the middle, both arms in bonds), each once ((A, B, C) and
// (C, B, A) are the same angle). A Seminario constant is an approximation:
// exact for an isolated harmonic bond at its minimum, not in general for
// angles (coupled terms). The Hessian must be symmetric to within
// kHessianAsymmetry times its largest |entry| (require_symmetric_hessian
// in hessian_coefficients.h; what is left is averaged out). Throws Error on bad indices, a bond or
// angle listed twice (naming both rows and their atoms), an angle arm that is not a bond,
// coincident atoms, non-finite input, or a Hessian that is not symmetric (naming the entry (i, j)
// with the largest |H_ij - H_ji| and both values).
SeminarioParameters modified_seminario(const double* hessian, const double* reference,
                                       int64_t atoms, const int64_t* bonds, int64_t n_bonds,
                                       const int64_t* angles, int64_t n_angles);

// Every angle A-B-C with A-B and B-C in `bonds` (A < C), sorted by
// (B, A, C): [n_angles, 3] flattened.
std::vector<int64_t> angles_from_bonds(int64_t atoms, const int64_t* bonds, int64_t n_bonds);

// Default nearly-linear cut of seminario_pair_springs: 170 degrees in rad.
constexpr double kSeminarioMaxTheta = 170.0 * 3.14159265358979323846 / 180.0;

// Pair springs on the 1-2 and 1-3 pairs of a molecule (seminario_pair_springs).
struct SeminarioPairSprings {
  std::vector<int64_t> pairs;        // [n_pairs, 2] flattened, i < j, lexicographic order
  std::vector<double> k;             // [n_pairs], energy / length^2
  std::vector<uint8_t> bond_pair;    // [n_pairs], 1: the pair is a bond
  std::vector<uint8_t> angle_pair;   // [n_pairs], 1: the pair is a kept angle's 1-3 pair
  std::vector<double> angle_spring;  // [n_angles], each angle's k_13 (0 where dropped)
  std::vector<double> theta;         // [n_angles], angles in `ref` in rad
  std::vector<uint8_t> dropped;      // [n_angles], 1: nearly linear, no spring
};

// Bond and angle force constants (e.g. modified_seminario's) as distance
// springs on the 1-2 and 1-3 pairs, the sparse edge set and k of an explicit
// pair energy loss. Each bond gets its bond_k. Each angle A-B-C becomes a
// spring on its 1-3 pair A-C,
//   k_13 = k_theta r_AC^2 / (r_AB r_CB sin theta)^2,
// r and theta measured in `ref`: at fixed bond lengths the law of cosines
// gives dr_AC/dtheta = r_AB r_CB sin theta / r_AC, so 1/2 k_13 dr_AC^2 =
// 1/2 k_theta dtheta^2 to first order in the bend (the harmonic limit; a
// Urey-Bradley 1-3 term carrying the whole bend). Springs on one pair add up
// (a 1-3 pair spanned by two angles of a four-membered ring gets both; one
// that is also a bond, in a three-membered ring, the bond's k plus the
// angle's). The bond springs are not reduced for the stretch a 1-3 spring
// also resists. A distance cannot see the bend of a linear angle
// (dr_AC/dtheta -> 0): angles with theta > max_theta or theta < pi -
// max_theta get no spring and are flagged in `dropped`; their pair is in the
// result only if it is a bond or another angle's 1-3 pair. Constants as in
// Allen, Payne & Cole, JCTC 14, 274 (2018) (modified_seminario above).
//
// ref [atoms, 3] (length unit L); bonds [n_bonds, 2], each pair once in
// either order, bond_k [n_bonds] in energy / L^2; angles [n_angles, 3]
// (A, centre B, C; A-B and C-B must be bonds), angle_k [n_angles] in
// energy / rad^2, both k of E = 1/2 k (q - q0)^2; max_theta in rad, in
// (pi/2, pi). The springs are in energy / L^2, signs the input's; nothing is
// rescaled. Throws Error naming the argument (ref, bonds, bond_k, angles,
// angle_k, max_theta) and the row: non-finite values, atom indices outside
// [0, atoms), a bond joining an atom to itself or listed twice (in either
// order), an angle repeating an atom, listed twice ((A, B, C) and (C, B, A)
// are one angle) or with an arm that is not a bond, bonded atoms at the
// same position.
SeminarioPairSprings seminario_pair_springs(const double* ref, int64_t atoms, const int64_t* bonds,
                                            const double* bond_k, int64_t n_bonds,
                                            const int64_t* angles, const double* angle_k,
                                            int64_t n_angles,
                                            double max_theta = kSeminarioMaxTheta);

}  // namespace energyloss
