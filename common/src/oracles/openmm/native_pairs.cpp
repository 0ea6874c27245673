// Pair terms of the native OpenMM evaluator: NonbondedForce (LJ + Coulomb,
// NoCutoff or CutoffNonPeriodic with reaction field, exceptions) and OBC
// generalized Born (GBSAOBCForce and the openmm.app CustomGBForce). Formulas
// in native_force_field.h. Every inner loop runs over partner atoms j > i in
// structure-of-arrays storage, without branches, so it vectorises.
#include <algorithm>
#include <cmath>
#include <limits>

#include "native_kernels.h"
#include "native_math.h"

// The pair loops are also compiled for x86-64-v3 (AVX2, FMA) and x86-64-v4
// (AVX-512), picked at load time on CPUs that have them: two and four times
// the vector width of the baseline build.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PAIR_LOOP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PAIR_LOOP_CLONES
#endif

namespace energyloss::native {
namespace {

// Calls run(begin, end) for the ranges of j in (i, atoms) between the
// excluded partners of i (sorted, all > i).
template <typename Run>
void for_included_ranges(int64_t i, int64_t atoms, const std::vector<int32_t>& excluded,
                         const Run& run) {
  int64_t begin = i + 1;
  for (const int32_t j : excluded) {
    if (j > begin) run(begin, int64_t(j));
    begin = int64_t(j) + 1;
  }
  if (begin < atoms) run(begin, atoms);
}

// 1 inside the cutoff, else 0.
template <typename Real>
inline Real inside(Real r2, Real cutoff2) {
  return r2 < cutoff2 ? Real(1) : Real(0);
}

// The squared cutoff, infinite without one (cutoff 0).
template <typename Real>
Real squared_cutoff(double cutoff) {
  return cutoff > 0 ? Real(cutoff * cutoff) : std::numeric_limits<Real>::infinity();
}

// Adds a pair's force, factor * (r_j - r_i), to atom j and its opposite to
// atom i's row accumulators.
template <typename Real>
inline void add_pair_force(Real factor, Real dx, Real dy, Real dz, int64_t j, Real* fx, Real* fy,
                           Real* fz, Real& fxi, Real& fyi, Real& fzi) {
  fx[j] += factor * dx;
  fy[j] += factor * dy;
  fz[j] += factor * dz;
  fxi -= factor * dx;
  fyi -= factor * dy;
  fzi -= factor * dz;
}

}  // namespace

template <typename Real>
PAIR_LOOP_CLONES double nonbonded_energy(const NonbondedTable& table, Coordinates<Real>& c) {
  const int64_t atoms = int64_t(c.x.size());
  // OpenMM's per-atom forms: sigma_ij = s_i + s_j, 4 eps_ij = e_i e_j.
  // Coulomb: C q_i q_j with C folded into the partner's charge.
  thread_local std::vector<Real> half_sigma, root_epsilon, charge;
  half_sigma.resize(size_t(atoms));
  root_epsilon.resize(size_t(atoms));
  charge.resize(size_t(atoms));
  for (int64_t i = 0; i < atoms; ++i) {
    half_sigma[size_t(i)] = Real(0.5 * table.sigma[size_t(i)]);
    root_epsilon[size_t(i)] = Real(2 * std::sqrt(table.epsilon[size_t(i)]));
    charge[size_t(i)] = Real(table.coulomb * table.charge[size_t(i)]);
  }
  const Real cutoff2 = squared_cutoff<Real>(table.cutoff);
  const Real krf = Real(table.reaction_field_k), crf = Real(table.reaction_field_c);
  const bool switching = table.switching_distance > 0;
  const Real switch_start = Real(table.switching_distance);
  const Real switch_width = Real(table.cutoff - table.switching_distance);
  const Real* x = c.x.data();
  const Real* y = c.y.data();
  const Real* z = c.z.data();
  Real* fx = c.fx.data();
  Real* fy = c.fy.data();
  Real* fz = c.fz.data();
  double energy = 0;
  for (int64_t i = 0; i < atoms; ++i) {
    const Real xi = x[i], yi = y[i], zi = z[i], si = half_sigma[size_t(i)],
               ei = root_epsilon[size_t(i)], qi = Real(table.charge[size_t(i)]);
    Real row_energy = 0, fxi = 0, fyi = 0, fzi = 0;
    for_included_ranges(i, atoms, table.excluded_above[size_t(i)], [&](int64_t begin, int64_t end) {
#pragma omp simd reduction(+ : row_energy, fxi, fyi, fzi)
      for (int64_t j = begin; j < end; ++j) {
        const Real dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
        const Real r2 = dx * dx + dy * dy + dz * dz;
        const Real mask = inside(r2, cutoff2);
        const Real inverse_r2 = Real(1) / r2, inverse_r = std::sqrt(inverse_r2);
        const Real sigma = si + half_sigma[size_t(j)];
        const Real s2 = sigma * sigma * inverse_r2, s6 = s2 * s2 * s2;
        const Real epsilon4 = ei * root_epsilon[size_t(j)];
        Real lj = epsilon4 * (s6 * s6 - s6);
        Real lj_factor = epsilon4 * (Real(12) * s6 * s6 - Real(6) * s6) * inverse_r2;
        if (switching) {
          const Real r = r2 * inverse_r;
          const Real t = std::max(Real(0), (r - switch_start) / switch_width);
          const Real s = Real(1) + t * t * t * (Real(-10) + t * (Real(15) - Real(6) * t));
          const Real ds = t * t * (Real(-30) + t * (Real(60) - Real(30) * t)) / switch_width;
          lj_factor = lj_factor * s - lj * ds * inverse_r;
          lj *= s;
        }
        const Real qq = qi * charge[size_t(j)];
        const Real coulomb = qq * (inverse_r + krf * r2 - crf);
        const Real coulomb_factor = qq * (inverse_r * inverse_r2 - Real(2) * krf);
        const Real factor = mask * (lj_factor + coulomb_factor);
        row_energy += mask * (lj + coulomb);
        add_pair_force(factor, dx, dy, dz, j, fx, fy, fz, fxi, fyi, fzi);
      }
    });
    energy += double(row_energy);
    fx[i] += fxi;
    fy[i] += fyi;
    fz[i] += fzi;
  }
  // Exceptions: plain Coulomb + LJ with their own parameters, no cutoff.
  for (size_t n = 0; n < table.exception_atoms.size(); ++n) {
    const auto [i, j] = table.exception_atoms[n];
    const Real dx = x[j] - x[i], dy = y[j] - y[i], dz = z[j] - z[i];
    const Real r2 = dx * dx + dy * dy + dz * dz, inverse_r2 = Real(1) / r2,
               inverse_r = std::sqrt(inverse_r2);
    const Real sigma = Real(table.exception_sigma[n]);
    const Real s2 = sigma * sigma * inverse_r2, s6 = s2 * s2 * s2;
    const Real epsilon4 = Real(4 * table.exception_epsilon[n]);
    const Real qq = Real(table.coulomb * table.exception_charge_product[n]);
    energy += double(epsilon4 * (s6 * s6 - s6) + qq * inverse_r);
    const Real factor =
        (epsilon4 * (Real(12) * s6 * s6 - Real(6) * s6) + qq * inverse_r) * inverse_r2;
    add_pair_force(factor, dx, dy, dz, j, fx, fy, fz, fx[i], fy[i], fz[i]);
  }
  return energy;
}

namespace {

// The OBC integral g(r; or_i, sr_j) and its slope dg/dr (native_force_field.h),
// zero when r + sr <= or_i. Engulfed: GBSAOBCForce's correction term for atom
// i inside j's scaled sphere (L = sr - r > or_i), whose slope cancels the one
// through L; without it (the CustomGBForce) that slope is kept. Scalar
// outputs: a struct inside an `omp simd` loop stops GCC vectorising it.
template <bool Engulfed, typename Real>
inline void born_integral(Real r, Real inverse_r, Real offset_radius, Real scaled_radius,
                          Real& value, Real& slope) {
  const Real upper = r + scaled_radius, distance = std::abs(r - scaled_radius);
  const Real lower = std::max(offset_radius, distance);
  const Real inverse_ul = Real(1) / (upper * lower);  // one division for both
  const Real inverse_u = lower * inverse_ul, inverse_l = upper * inverse_ul;
  const Real inverse_u2 = inverse_u * inverse_u, inverse_l2 = inverse_l * inverse_l;
  const Real log_ratio = vector_log(lower * inverse_u);
  const Real sr2_over_r = scaled_radius * scaled_radius * inverse_r;
  const Real difference = inverse_u2 - inverse_l2;
  value = Real(0.5) * (inverse_l - inverse_u + Real(0.25) * (r - sr2_over_r) * difference +
                       Real(0.5) * log_ratio * inverse_r);
  slope = Real(0.5) * (Real(0.25) * (Real(1) + sr2_over_r * inverse_r) * difference -
                       Real(0.5) * log_ratio * inverse_r * inverse_r);
  const bool engulfed = scaled_radius - r > offset_radius;
  if (Engulfed) {
    value += engulfed ? Real(1) / offset_radius - inverse_l : Real(0);
  } else {
    slope += engulfed ? inverse_l2 : Real(0);
  }
  const Real included = upper > offset_radius ? Real(1) : Real(0);
  value *= included;
  slope *= included;
}

template <bool Engulfed, typename Real>
PAIR_LOOP_CLONES double obc_energy(const GBTable& table, Coordinates<Real>& c) {
  const int64_t atoms = int64_t(c.x.size());
  thread_local std::vector<Real> charge, offset_radius, scaled_radius;
  charge.assign(table.charge.begin(), table.charge.end());
  offset_radius.assign(table.offset_radius.begin(), table.offset_radius.end());
  scaled_radius.assign(table.scaled_radius.begin(), table.scaled_radius.end());
  const Real cutoff2 = squared_cutoff<Real>(table.cutoff);
  const Real* x = c.x.data();
  const Real* y = c.y.data();
  const Real* z = c.z.data();
  Real* fx = c.fx.data();
  Real* fy = c.fy.data();
  Real* fz = c.fz.data();
  Real* sum = c.born_sum.data();
  Real* born = c.born_radius.data();
  Real* chain = c.born_chain.data();
  Real* inverse_born = c.born_inverse.data();
  Real* dE_dborn = c.born_force.data();
  std::fill_n(sum, atoms, Real(0));
  std::fill_n(dE_dborn, atoms, Real(0));

  // 1. The Born sums I_i, both directions of each pair at once, and their slopes.
  const size_t pairs = size_t(atoms * (atoms - 1) / 2);
  c.born_slope_first.resize(pairs);
  c.born_slope_second.resize(pairs);
  const auto row_offset = [atoms](int64_t i) { return i * (2 * atoms - i - 1) / 2; };
  for (int64_t i = 0; i < atoms; ++i) {
    const Real xi = x[i], yi = y[i], zi = z[i], ori = offset_radius[size_t(i)],
               sri = scaled_radius[size_t(i)];
    Real* slope_first = c.born_slope_first.data() + row_offset(i);
    Real* slope_second = c.born_slope_second.data() + row_offset(i);
    Real sum_i = 0;
#pragma omp simd reduction(+ : sum_i)
    for (int64_t j = i + 1; j < atoms; ++j) {
      const Real dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
      const Real r2 = dx * dx + dy * dy + dz * dz;
      const Real mask = inside(r2, cutoff2);
      const Real inverse_r = Real(1) / std::sqrt(r2), r = r2 * inverse_r;
      Real first, first_slope, second, second_slope;
      born_integral<Engulfed>(r, inverse_r, ori, scaled_radius[size_t(j)], first, first_slope);
      born_integral<Engulfed>(r, inverse_r, offset_radius[size_t(j)], sri, second, second_slope);
      sum_i += mask * first;
      sum[j] += mask * second;
      slope_first[j - i - 1] = mask * first_slope * inverse_r;
      slope_second[j - i - 1] = mask * second_slope * inverse_r;
    }
    sum[i] += sum_i;
  }

  // 2. Born radii, the chain factor dB/dI, and the single-particle terms.
  double energy = 0;
  const Real prefactor = Real(table.prefactor);
  for (int64_t i = 0; i < atoms; ++i) {
    const Real ori = offset_radius[size_t(i)], radius = Real(table.radius[size_t(i)]);
    const Real psi = sum[i] * ori;
    const Real t =
        std::tanh(psi * (Real(table.alpha) + psi * (-Real(table.beta) + psi * Real(table.gamma))));
    const Real b = Real(1) / (Real(1) / ori - t / radius);
    born[i] = b;
    inverse_born[i] = Real(1) / b;
    chain[i] = b * b * (Real(1) - t * t) *
               (Real(table.alpha) + psi * (Real(-2 * table.beta) + psi * Real(3 * table.gamma))) *
               ori / radius;
    const Real qi = charge[size_t(i)];
    energy += double(Real(-0.5) * prefactor * qi * qi / b);
    dE_dborn[i] += Real(0.5) * prefactor * qi * qi / (b * b);
    if (table.surface_area != 0) {
      const Real probe = radius + Real(table.probe_radius), ratio = radius / b;
      const Real ratio3 = ratio * ratio * ratio;
      const Real nonpolar = Real(table.surface_area) * probe * probe * ratio3 * ratio3;
      energy += double(nonpolar);
      dE_dborn[i] -= Real(6) * nonpolar / b;
    }
  }

  // 3. The pair terms -C d q_i q_j (1/f - shift).
  const Real shift = Real(table.shift);
  for (int64_t i = 0; i < atoms; ++i) {
    const Real xi = x[i], yi = y[i], zi = z[i], bi = born[i], inverse_bi = inverse_born[i],
               qi = -prefactor * charge[size_t(i)];
    Real row_energy = 0, fxi = 0, fyi = 0, fzi = 0, dE_dbi = 0;
#pragma omp simd reduction(+ : row_energy, fxi, fyi, fzi, dE_dbi)
    for (int64_t j = i + 1; j < atoms; ++j) {
      const Real dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
      const Real r2 = dx * dx + dy * dy + dz * dz;
      const Real mask = inside(r2, cutoff2);
      const Real bb = bi * born[j];
      const Real d = Real(0.25) * r2 * inverse_bi * inverse_born[j], e = vector_exp(-d);
      const Real f2 = r2 + bb * e, inverse_f = Real(1) / std::sqrt(f2);
      const Real qq = mask * qi * charge[size_t(j)];  // -C d q_i q_j
      row_energy += qq * (inverse_f - shift);
      const Real dE_df = -qq * inverse_f * inverse_f;
      // df/dr = r (1 - e/4) / f; df/dB_i = B_j e (1 + d) / (2 f).
      const Real factor = -dE_df * (Real(1) - Real(0.25) * e) * inverse_f;
      const Real dE_dbb = dE_df * e * (Real(1) + d) * Real(0.5) * inverse_f;
      dE_dbi += dE_dbb * born[j];
      dE_dborn[j] += dE_dbb * bi;
      add_pair_force(factor, dx, dy, dz, j, fx, fy, fz, fxi, fyi, fzi);
    }
    energy += double(row_energy);
    dE_dborn[i] += dE_dbi;
    fx[i] += fxi;
    fy[i] += fyi;
    fz[i] += fzi;
  }

  // 4. Forces through the Born radii: dE/dI_i = dE/dB_i dB_i/dI_i along each I's pairs.
  for (int64_t i = 0; i < atoms; ++i) dE_dborn[i] *= chain[i];
  for (int64_t i = 0; i < atoms; ++i) {
    const Real xi = x[i], yi = y[i], zi = z[i], dE_dIi = dE_dborn[i];
    const Real* slope_first = c.born_slope_first.data() + row_offset(i);
    const Real* slope_second = c.born_slope_second.data() + row_offset(i);
    Real fxi = 0, fyi = 0, fzi = 0;
#pragma omp simd reduction(+ : fxi, fyi, fzi)
    for (int64_t j = i + 1; j < atoms; ++j) {
      const Real dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
      const Real factor =
          -(dE_dIi * slope_first[j - i - 1] + dE_dborn[j] * slope_second[j - i - 1]);
      add_pair_force(factor, dx, dy, dz, j, fx, fy, fz, fxi, fyi, fzi);
    }
    fx[i] += fxi;
    fy[i] += fyi;
    fz[i] += fzi;
  }
  return energy;
}

}  // namespace

template <typename Real>
double gb_energy(const GBTable& table, Coordinates<Real>& c) {
  return table.engulfed_term ? obc_energy<true>(table, c) : obc_energy<false>(table, c);
}

template double nonbonded_energy<float>(const NonbondedTable&, Coordinates<float>&);
template double nonbonded_energy<double>(const NonbondedTable&, Coordinates<double>&);
template double gb_energy<float>(const GBTable&, Coordinates<float>&);
template double gb_energy<double>(const GBTable&, Coordinates<double>&);

}  // namespace energyloss::native
