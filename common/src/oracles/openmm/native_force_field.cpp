// The batch loop of the native OpenMM evaluator: OpenMP threads take
// configurations one at a time; each runs the term kernels on its own copy
// of the configuration (native_kernels.h) and writes its results.
#include "native_force_field.h"

#include <omp.h>

#include <algorithm>
#include <utility>

#include "native_kernels.h"

namespace energyloss::native {

const char* term_name(int term) {
  static const char* const names[kTermCount] = {"bond", "angle",     "torsion",
                                                "cmap", "nonbonded", "gb"};
  return names[term];
}

NativeForceField::NativeForceField(ForceFieldTables tables) : tables_(std::move(tables)) {}

namespace {

template <typename Real>
void evaluate_one(const ForceFieldTables& t, const Real* positions, double& energy_out,
                  Real* forces_out, double* terms_out, Coordinates<Real>& c,
                  std::vector<Real>& forces) {
  const int64_t atoms = t.atoms;
  forces.assign(size_t(3 * atoms), Real(0));
  double terms[kTermCount] = {};
  terms[kBond] = bond_energy(t.bonds, positions, forces.data());
  terms[kAngle] = angle_energy(t.angles, positions, forces.data());
  terms[kTorsion] = periodic_torsion_energy(t.periodic_torsions, positions, forces.data()) +
                    rb_torsion_energy(t.rb_torsions, positions, forces.data());
  terms[kCMAP] = cmap_energy(t.cmap, positions, forces.data());
  if (!t.nonbonded.empty() || !t.gb.empty()) {
    for (int64_t i = 0; i < atoms; ++i) {
      c.x[size_t(i)] = positions[3 * i];
      c.y[size_t(i)] = positions[3 * i + 1];
      c.z[size_t(i)] = positions[3 * i + 2];
    }
    std::fill(c.fx.begin(), c.fx.end(), Real(0));
    std::fill(c.fy.begin(), c.fy.end(), Real(0));
    std::fill(c.fz.begin(), c.fz.end(), Real(0));
    for (const NonbondedTable& table : t.nonbonded) terms[kNonbonded] += nonbonded_energy(table, c);
    for (const GBTable& table : t.gb) terms[kGB] += gb_energy(table, c);
    for (int64_t i = 0; i < atoms; ++i) {
      forces[size_t(3 * i)] += c.fx[size_t(i)];
      forces[size_t(3 * i + 1)] += c.fy[size_t(i)];
      forces[size_t(3 * i + 2)] += c.fz[size_t(i)];
    }
  }
  double energy = 0;
  for (int term = 0; term < kTermCount; ++term) energy += terms[term];
  energy_out = energy;
  if (terms_out != nullptr) std::copy_n(terms, kTermCount, terms_out);
  if (forces_out != nullptr) std::copy(forces.begin(), forces.end(), forces_out);
}

}  // namespace

template <typename Real>
void NativeForceField::evaluate(const Real* positions, int64_t batch, double* energies,
                                Real* forces, double* terms, int threads) const {
  const int64_t stride = 3 * tables_.atoms;
  const int team = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(int(std::min <int64_t>(team, batch)))
  {
    Coordinates<Real> c;
    c.resize(size_t(tables_.atoms));
    std::vector<Real> scratch;
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < batch; ++b) {
      evaluate_one(tables_, positions + b * stride, energies[b],
                   forces == nullptr ? nullptr : forces + b * stride,
                   terms == nullptr ? nullptr : terms + b * kTermCount, c, scratch);
    }
  }
}

template void NativeForceField::evaluate<float>(const float*, int64_t, double*, float*, double*,
                                                int) const;
template void NativeForceField::evaluate<double>(const double*, int64_t, double*, double*, double*,
                                                 int) const;

}  // namespace energyloss::native
