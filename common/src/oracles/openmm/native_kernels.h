// Per-configuration kernels of the native OpenMM evaluator
// (native_force_field.h): each adds one term's energy (returned, kJ/mol) and
// forces for one configuration. Bonded kernels read positions and add forces
// in [atoms, 3] layout; the pair kernels work on structure-of-arrays copies
// (Coordinates) so their inner loops over partner atoms vectorise.
#pragma once

#include <vector>

#include "native_force_field.h"

namespace energyloss::native {

// One configuration as separate x, y, z arrays, with force accumulators of
// the same layout, plus the per-atom work arrays of the GB kernel.
template <typename Real>
struct Coordinates {
  std::vector<Real> x, y, z, fx, fy, fz;
  std::vector<Real> born_sum, born_radius, born_inverse, born_chain, born_force;
  // (dg/dr)/r of each pair i < j (at i (2 atoms - i - 1) / 2 + j - i - 1):
  // g(r; or_i, sr_j) in born_slope_first, g(r; or_j, sr_i) in born_slope_second.
  std::vector<Real> born_slope_first, born_slope_second;
  void resize(size_t atoms) {
    for (auto* array : {&x, &y, &z, &fx, &fy, &fz, &born_sum, &born_radius, &born_inverse,
                        &born_chain, &born_force}) {
      array->assign(atoms, Real(0));
    }
  }
};

template <typename Real>
double bond_energy(const BondTable& table, const Real* positions, Real* forces);
template <typename Real>
double angle_energy(const AngleTable& table, const Real* positions, Real* forces);
template <typename Real>
double periodic_torsion_energy(const PeriodicTorsionTable& table, const Real* positions,
                               Real* forces);
template <typename Real>
double rb_torsion_energy(const RBTorsionTable& table, const Real* positions, Real* forces);
template <typename Real>
double cmap_energy(const CMAPTable& table, const Real* positions, Real* forces);

template <typename Real>
double nonbonded_energy(const NonbondedTable& table, Coordinates<Real>& c);
template <typename Real>
double gb_energy(const GBTable& table, Coordinates<Real>& c);

}  // namespace energyloss::native
