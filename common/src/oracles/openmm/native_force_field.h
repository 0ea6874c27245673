// A batched evaluator of the force terms of an OpenMM System in our own
// kernels ("native" engine of the OpenMM oracle): topology tables read once
// from the System (native_system.cpp, the only file that sees OpenMM), then
// energies and forces of a whole batch of configurations, one configuration
// per OpenMP thread at a time, the pair loops over structure-of-arrays copies
// of the coordinates. Plain C++: no OpenMM, no LibTorch.
//
// Formulas follow OpenMM's Reference platform (platforms/reference/src/
// SimTKReference: ReferenceHarmonicBondIxn, ReferenceAngleBondIxn,
// ReferenceProperDihedralBond, ReferenceRbDihedralBond,
// ReferenceCMAPTorsionIxn, ReferenceLJCoulombIxn, ReferenceLJCoulomb14,
// ReferenceObc) and, for the CustomGBForce of openmm.app's implicit/obc1.xml
// and obc2.xml, the expressions of app/internal/customgbforces.py
// differentiated exactly. Units: nm, kJ/mol, radians, elementary charges.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace energyloss::native {

// E = k/2 (r - r0)^2 (HarmonicBondForce).
struct BondTable {
  std::vector<std::array<int32_t, 2>> atoms;
  std::vector<double> length, k;  // r0 (nm), k (kJ/mol/nm^2)
};

// E = k/2 (theta - theta0)^2 (HarmonicAngleForce), theta at the middle atom.
struct AngleTable {
  std::vector<std::array<int32_t, 3>> atoms;
  std::vector<double> angle, k;  // theta0 (rad), k (kJ/mol/rad^2)
};

// PeriodicTorsionForce: E = k (1 + cos(n phi - phi0)).
struct PeriodicTorsionTable {
  std::vector<std::array<int32_t, 4>> atoms;
  std::vector<int32_t> periodicity;
  std::vector<double> phase, k;
};

// RBTorsionForce: E = sum_{m=0..5} c_m cos^m(psi), psi = phi - 180 deg.
struct RBTorsionTable {
  std::vector<std::array<int32_t, 4>> atoms;
  std::vector<std::array<double, 6>> c;
};

// CMAPTorsionForce: a bicubic patch per grid cell (OpenMM's own spline
// coefficients, CMAPTorsionForceImpl::calcMapDerivatives), indexed by the two
// dihedrals wrapped into [0, 2 pi).
struct CMAPTable {
  std::vector<int32_t> map_size;                  // grid points per side, per map
  std::vector<std::vector<double>> coefficients;  // per map: [size*size cells][16]
  std::vector<int32_t> map;                       // per torsion pair
  std::vector<std::array<int32_t, 8>> atoms;      // torsion a (4 atoms), torsion b (4 atoms)
};

// NonbondedForce, NoCutoff or CutoffNonPeriodic (reaction field). Regular
// pairs: Lorentz-Berthelot LJ + Coulomb, skipped when the pair has an
// exception (every exception excludes the pair); exceptions: plain LJ +
// Coulomb with their own parameters, no cutoff (ReferenceLJCoulomb14).
struct NonbondedTable {
  std::vector<double> charge, sigma, epsilon;  // per atom: e, nm, kJ/mol
  // Per atom i: the atoms j > i whose regular interaction is excluded, sorted.
  std::vector<std::vector<int32_t>> excluded_above;
  // Exceptions with a nonzero charge product or epsilon.
  std::vector<std::array<int32_t, 2>> exception_atoms;
  std::vector<double> exception_charge_product, exception_sigma, exception_epsilon;
  double coulomb = 0;             // ONE_4PI_EPS0 (kJ nm / mol / e^2)
  double cutoff = 0;              // 0: NoCutoff
  double reaction_field_k = 0;    // krf (nm^-3), cutoff only
  double reaction_field_c = 0;    // crf (nm^-1), cutoff only
  double switching_distance = 0;  // LJ switched from here to the cutoff; 0: off
};

// Generalized Born with the OBC Born radii (GBSAOBCForce, or the CustomGBForce
// openmm.app writes for implicit/obc1.xml and obc2.xml):
//   I_i = sum_{j != i, r_ij < cutoff} g(r_ij; or_i, sr_j),
//   g = 0.5 (1/L - 1/U + (r - sr^2/r)(1/U^2 - 1/L^2)/4 + log(L/U)/(2r)) when r + sr > or_i,
//       U = r + sr, L = max(or_i, |r - sr|), plus (1/or_i - 1/L) when or_i < sr - r and
//       `engulfed_term` (GBSAOBCForce's Tinker correction; the CustomGBForce has none);
//   B_i = 1 / (1/or_i - tanh(a psi - b psi^2 + c psi^3) / radius_i), psi = I_i or_i;
//   E = -0.5 C d sum_i q_i^2/B_i - C d sum_{i<j, r<cutoff} q_i q_j (1/f - shift)
//       + sa sum_i (radius_i + probe)^2 (radius_i/B_i)^6,
//   f = sqrt(r^2 + B_i B_j exp(-r^2 / (4 B_i B_j))), d = 1/solute - 1/solvent dielectric,
//   shift = 1/cutoff with a cutoff, else 0.
struct GBTable {
  std::vector<double> charge;         // e
  std::vector<double> offset_radius;  // or = radius - dielectric offset (nm)
  std::vector<double> scaled_radius;  // sr = or * scale (nm)
  std::vector<double> radius;         // or + dielectric offset (nm)
  double alpha = 0, beta = 0, gamma = 0;
  double prefactor = 0;                       // C d (kJ nm / mol / e^2)
  double surface_area = 0, probe_radius = 0;  // sa (kJ/mol/nm^2), 0: no nonpolar term
  double cutoff = 0;                          // pairs beyond it left out; 0: none
  double shift = 0;                           // nm^-1
  bool engulfed_term = false;
};

// Energy terms reported separately (NativeForceField::terms()).
enum Term : int { kBond, kAngle, kTorsion, kCMAP, kNonbonded, kGB, kTermCount };
const char* term_name(int term);

// The tables of one System. Forces of the same kind are merged into one table.
struct ForceFieldTables {
  int64_t atoms = 0;
  BondTable bonds;
  AngleTable angles;
  PeriodicTorsionTable periodic_torsions;
  RBTorsionTable rb_torsions;
  CMAPTable cmap;
  std::vector<NonbondedTable> nonbonded;
  std::vector<GBTable> gb;
};

// Evaluates a ForceFieldTables for batches of configurations.
class NativeForceField {
 public:
  explicit NativeForceField(ForceFieldTables tables);

  int64_t atoms() const { return tables_.atoms; }
  const ForceFieldTables& tables() const { return tables_; }

  // positions: [batch, atoms, 3] (nm); energies: [batch] (kJ/mol); forces:
  // [batch, atoms, 3] (kJ/mol/nm) or null; terms: [batch, kTermCount] energy
  // per Term or null. Each configuration is computed in Real; energies are
  // summed in double. Work is shared among `threads` OpenMP threads (<= 0:
  // OpenMP's default). No checks on the values: non-finite input gives
  // non-finite output. Each thread keeps the GB pair slopes of one
  // configuration, atoms (atoms - 1) values of Real (villin, 582 atoms:
  // 2.7 MB in double; 10,000 atoms would take 800 MB).
  template <typename Real>
  void evaluate(const Real* positions, int64_t batch, double* energies, Real* forces,
                double* terms = nullptr, int threads = 0) const;

 private:
  ForceFieldTables tables_;
};

}  // namespace energyloss::native
