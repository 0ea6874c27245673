// Bonded terms of the native OpenMM evaluator: harmonic bonds and angles,
// periodic and Ryckaert-Bellemans torsions, CMAP (formulas: OpenMM's
// Reference platform, see native_force_field.h).
#include <cmath>

#include "native_kernels.h"

namespace energyloss::native {
namespace {

template <typename Real>
struct Vec {
  Real v[3];
  Real operator[](int c) const { return v[c]; }
};

template <typename Real>
Vec<Real> load(const Real* positions, int32_t atom) {
  const Real* p = positions + 3 * int64_t(atom);
  return {{p[0], p[1], p[2]}};
}
template <typename Real>
Vec<Real> operator-(const Vec<Real>& a, const Vec<Real>& b) {
  return {{a[0] - b[0], a[1] - b[1], a[2] - b[2]}};
}
template <typename Real>
Vec<Real> operator*(Real s, const Vec<Real>& a) {
  return {{s * a[0], s * a[1], s * a[2]}};
}
template <typename Real>
Real dot(const Vec<Real>& a, const Vec<Real>& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
template <typename Real>
Vec<Real> cross(const Vec<Real>& a, const Vec<Real>& b) {
  return {{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]}};
}
template <typename Real>
void add(Real* forces, int32_t atom, Real sign, const Vec<Real>& f) {
  Real* p = forces + 3 * int64_t(atom);
  for (int c = 0; c < 3; ++c) p[c] += sign * f[c];
}

// The dihedral of atoms a-b-c-d in OpenMM's convention (v0 = a - b,
// v1 = c - b, v2 = c - d; the sign of v0 . (v1 x v2)), in (-pi, pi], with
// what its forces need.
template <typename Real>
struct Dihedral {
  Vec<Real> v0, v1, v2, cp0, cp1;
  Real angle;

  Dihedral(const Real* positions, const int32_t* atoms) {
    const Vec<Real> a = load(positions, atoms[0]), b = load(positions, atoms[1]),
                    c = load(positions, atoms[2]), d = load(positions, atoms[3]);
    v0 = a - b;
    v1 = c - b;
    v2 = c - d;
    cp0 = cross(v0, v1);
    cp1 = cross(v1, v2);
    const Real magnitude = std::sqrt(dot(cross(cp0, cp1), cross(cp0, cp1)));
    angle = std::atan2(magnitude, dot(cp0, cp1));
    if (dot(v0, cp1) < 0) angle = -angle;
  }

  // Adds the forces of an energy whose slope along the angle is dE_dphi.
  void add_forces(Real dE_dphi, const int32_t* atoms, Real* forces) const {
    const Real length2 = dot(v1, v1), length = std::sqrt(length2);
    const Vec<Real> f0 = (-dE_dphi * length / dot(cp0, cp0)) * cp0;
    const Vec<Real> f3 = (dE_dphi * length / dot(cp1, cp1)) * cp1;
    const Real s0 = dot(v0, v1) / length2, s3 = dot(v2, v1) / length2;
    const Vec<Real> s = {
        {s0 * f0[0] - s3 * f3[0], s0 * f0[1] - s3 * f3[1], s0 * f0[2] - s3 * f3[2]}};
    add(forces, atoms[0], Real(1), f0);
    add(forces, atoms[1], Real(-1), f0 - s);
    add(forces, atoms[2], Real(-1), Vec<Real>{{f3[0] + s[0], f3[1] + s[1], f3[2] + s[2]}});
    add(forces, atoms[3], Real(1), f3);
  }
};

}  // namespace

template <typename Real>
double bond_energy(const BondTable& table, const Real* positions, Real* forces) {
  double energy = 0;
  for (size_t n = 0; n < table.atoms.size(); ++n) {
    const auto [i, j] = table.atoms[n];
    const Vec<Real> d = load(positions, j) - load(positions, i);
    const Real r = std::sqrt(dot(d, d));
    const Real stretch = r - Real(table.length[n]), k = Real(table.k[n]);
    energy += 0.5 * double(k) * double(stretch) * double(stretch);
    const Vec<Real> f = (k * stretch / r) * d;
    add(forces, i, Real(1), f);
    add(forces, j, Real(-1), f);
  }
  return energy;
}

template <typename Real>
double angle_energy(const AngleTable& table, const Real* positions, Real* forces) {
  double energy = 0;
  for (size_t n = 0; n < table.atoms.size(); ++n) {
    const auto [i, j, k] = table.atoms[n];
    const Vec<Real> middle = load(positions, j);
    const Vec<Real> a = load(positions, i) - middle, b = load(positions, k) - middle;
    const Vec<Real> normal = cross(a, b);
    Real normal_length = std::sqrt(dot(normal, normal));
    const Real theta = std::atan2(normal_length, dot(a, b));
    const Real bend = theta - Real(table.angle[n]), dE_dtheta = Real(table.k[n]) * bend;
    energy += 0.5 * table.k[n] * double(bend) * double(bend);
    // Linear angles: OpenMM's floor on |a x b|.
    normal_length = std::max(normal_length, Real(1e-6));
    const Vec<Real> fi = (-dE_dtheta / (dot(a, a) * normal_length)) * cross(a, normal);
    const Vec<Real> fk = (dE_dtheta / (dot(b, b) * normal_length)) * cross(b, normal);
    add(forces, i, Real(1), fi);
    add(forces, k, Real(1), fk);
    add(forces, j, Real(-1), Vec<Real>{{fi[0] + fk[0], fi[1] + fk[1], fi[2] + fk[2]}});
  }
  return energy;
}

template <typename Real>
double periodic_torsion_energy(const PeriodicTorsionTable& table, const Real* positions,
                               Real* forces) {
  double energy = 0;
  for (size_t n = 0; n < table.atoms.size(); ++n) {
    const Dihedral<Real> dihedral(positions, table.atoms[n].data());
    const Real k = Real(table.k[n]), periodicity = Real(table.periodicity[n]);
    const Real argument = periodicity * dihedral.angle - Real(table.phase[n]);
    energy += double(k) * (1.0 + std::cos(double(argument)));
    dihedral.add_forces(-k * periodicity * std::sin(argument), table.atoms[n].data(), forces);
  }
  return energy;
}

template <typename Real>
double rb_torsion_energy(const RBTorsionTable& table, const Real* positions, Real* forces) {
  double energy = 0;
  for (size_t n = 0; n < table.atoms.size(); ++n) {
    const Dihedral<Real> dihedral(positions, table.atoms[n].data());
    // psi = phi - pi (the polymer convention).
    const Real psi = dihedral.angle < 0 ? dihedral.angle + Real(M_PI) : dihedral.angle - Real(M_PI);
    const Real cos_psi = std::cos(psi);
    const std::array<double, 6>& c = table.c[n];
    double value = 0, slope = 0;  // sum c_m cos^m, sum m c_m cos^(m-1)
    for (int m = 5; m >= 0; --m) {
      value = value * cos_psi + c[size_t(m)];
      if (m > 0) slope = slope * cos_psi + m * c[size_t(m)];
    }
    energy += value;
    dihedral.add_forces(Real(-std::sin(psi) * slope), table.atoms[n].data(), forces);
  }
  return energy;
}

template <typename Real>
double cmap_energy(const CMAPTable& table, const Real* positions, Real* forces) {
  double energy = 0;
  constexpr double two_pi = 2 * M_PI;
  for (size_t n = 0; n < table.map.size(); ++n) {
    const int32_t* atoms = table.atoms[n].data();
    const Dihedral<Real> a(positions, atoms), b(positions, atoms + 4);
    const int map = table.map[n], size = table.map_size[size_t(map)];
    const double delta = two_pi / size;
    const double angle_a = std::fmod(double(a.angle) + two_pi, two_pi);
    const double angle_b = std::fmod(double(b.angle) + two_pi, two_pi);
    const int s = std::min(int(angle_a / delta), size - 1),
              t = std::min(int(angle_b / delta), size - 1);
    const double* c = table.coefficients[size_t(map)].data() + 16 * size_t(s + size * t);
    const double da = angle_a / delta - s, db = angle_b / delta - t;
    double value = 0, dE_da = 0, dE_db = 0;
    for (int i = 3; i >= 0; --i) {
      value = da * value + ((c[i * 4 + 3] * db + c[i * 4 + 2]) * db + c[i * 4 + 1]) * db + c[i * 4];
      dE_da = db * dE_da + (3 * c[i + 12] * da + 2 * c[i + 8]) * da + c[i + 4];
      dE_db = da * dE_db + (3 * c[i * 4 + 3] * db + 2 * c[i * 4 + 2]) * db + c[i * 4 + 1];
    }
    energy += value;
    a.add_forces(Real(dE_da / delta), atoms, forces);
    b.add_forces(Real(dE_db / delta), atoms + 4, forces);
  }
  return energy;
}

#define ENERGYLOSS_NATIVE_BONDED(Real)                                                            \
  template double bond_energy<Real>(const BondTable&, const Real*, Real*);                        \
  template double angle_energy<Real>(const AngleTable&, const Real*, Real*);                      \
  template double periodic_torsion_energy<Real>(const PeriodicTorsionTable&, const Real*, Real*); \
  template double rb_torsion_energy<Real>(const RBTorsionTable&, const Real*, Real*);             \
  template double cmap_energy<Real>(const CMAPTable&, const Real*, Real*);
ENERGYLOSS_NATIVE_BONDED(float)
ENERGYLOSS_NATIVE_BONDED(double)
#undef ENERGYLOSS_NATIVE_BONDED

}  // namespace energyloss::native
