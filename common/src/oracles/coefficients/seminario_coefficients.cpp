// Modified Seminario bond and angle force constants from a Hessian (see
// energyloss/oracles/seminario_coefficients.h). Sources: J. M. Seminario, Int.
// J. Quantum Chem. 60, 1271 (1996), eqs. 10 and 14; A. E. A. Allen,
// M. C. Payne, D. J. Cole, J. Chem. Theory Comput. 14, 274 (2018) (the
// scaling of the in-plane projections by the other angles on the same bond).
// seminario_pair_springs: the harmonic limit of an angle term as a 1-3
// distance spring at fixed bond lengths (law of cosines), a Urey-Bradley term
// (Urey & Bradley, Phys. Rev. 38, 1969 (1931)) carrying the whole bend.
#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "atom_pair.h"
#include "bond_graph.h"
#include "energyloss/error.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/oracles/seminario_coefficients.h"

namespace energyloss {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Below this sin(angle), an angle counts as linear and the in-plane
// directions are averaged around the axis (about 0.6 degrees from 180).
constexpr double kLinearSine = 1e-2;
constexpr int kLinearSamples = 180;

class Seminario {
 public:
  Seminario(const double* hessian, const double* reference, int64_t atoms)
      : atoms_(atoms), reference_(reference) {
    const int64_t dof = 3 * atoms;
    const Eigen::Map<const RowMatrix> h(hessian, dof, dof);
    hessian_ = 0.5 * (h + h.transpose());
  }

  Eigen::Vector3d position(int64_t atom) const {
    return {reference_[3 * atom], reference_[3 * atom + 1], reference_[3 * atom + 2]};
  }

  // Unit vector from a to b; errors when they coincide.
  Eigen::Vector3d unit(int64_t a, int64_t b, const char* what, int64_t index) const {
    const Eigen::Vector3d d = position(b) - position(a);
    const double r = d.norm();
    require(r > 0, what, "[", index, "]: atoms ", a, " and ", b, " coincide in the reference");
    return d / r;
  }

  // sum_i lambda_i |u . conj(v_i)| for the eigenpairs of K_ab = -H_ab.
  double projected(int64_t a, int64_t b, const Eigen::Vector3d& u) {
    const auto key = std::make_pair(a, b);
    auto found = eigen_.find(key);
    if (found == eigen_.end()) {
      const Eigen::Matrix3d k = -hessian_.block<3, 3>(3 * a, 3 * b);
      Eigen::EigenSolver<Eigen::Matrix3d> solver(k);
      found =
          eigen_.emplace(key, std::make_pair(solver.eigenvalues(), solver.eigenvectors())).first;
    }
    const auto& [values, vectors] = found->second;
    std::complex<double> sum = 0;
    for (int i = 0; i < 3; ++i) {
      const std::complex<double> dot = u.cast<std::complex<double>>().dot(vectors.col(i));
      sum += values[i] * std::abs(dot);
    }
    return sum.real();
  }

  int64_t atoms() const { return atoms_; }

 private:
  int64_t atoms_;
  const double* reference_;
  Eigen::MatrixXd hessian_;
  std::map<std::pair<int64_t, int64_t>, std::pair<Eigen::Vector3cd, Eigen::Matrix3cd>> eigen_;
};

// In the plane of a-b-c, the unit vector perpendicular to a->b (Seminario's
// u_PA): u_N = unit(u_cb x u_ab), u_PA = unit(u_N x u_ab).
Eigen::Vector3d in_plane_perpendicular(const Eigen::Vector3d& u_ab, const Eigen::Vector3d& u_cb) {
  const Eigen::Vector3d normal = u_cb.cross(u_ab).normalized();
  return normal.cross(u_ab).normalized();
}

void require_finite_input(const double* hessian, const double* reference, int64_t atoms) {
  require(atoms >= 1, "reference: expected at least one atom, got ", atoms);
  require(hessian != nullptr && reference != nullptr, "modified_seminario: null input");
  for (int64_t n = 0; n < 3 * atoms; ++n) {
    require(std::isfinite(reference[n]), "reference[", n / 3, ", ", n % 3, "] is not finite (",
            reference[n], ")");
  }
  for (int64_t n = 0; n < 9 * atoms * atoms; ++n) {
    require(std::isfinite(hessian[n]), "hessian[", n / (3 * atoms), ", ", n % (3 * atoms),
            "] is not finite (", hessian[n], ")");
  }
}

// Rows of bonds [count, 2] or angles [count, 3] (A, centre, C) read the
// same backwards, so a row's key is the row with its ends in increasing
// order. Throws Error naming both rows and their atoms when two rows have
// the same key; returns each key's row. Shared by modified_seminario and
// seminario_pair_springs (whose springs would count a repeated bond or
// angle twice).
template <size_t Width>
std::map<std::array<int64_t, Width>, int64_t> distinct_rows(const char* name, const char* what,
                                                            const int64_t* rows, int64_t count) {
  auto row = [&](int64_t r) {
    std::array<int64_t, Width> values;
    std::copy_n(rows + Width * size_t(r), Width, values.begin());
    return values;
  };
  auto text = [](const std::array<int64_t, Width>& values) {
    std::string result = "(";
    for (size_t c = 0; c < Width; ++c) result += (c ? ", " : "") + std::to_string(values[c]);
    return result + ")";
  };
  std::map<std::array<int64_t, Width>, int64_t> first_row;
  for (int64_t r = 0; r < count; ++r) {
    std::array<int64_t, Width> key = row(r);
    if (key.front() > key.back()) std::reverse(key.begin(), key.end());
    const auto [first, fresh] = first_row.emplace(key, r);
    require(fresh, name, ": rows ", first->second, " and ", r, " are the same ", what, ", ",
            text(row(first->second)), " and ", text(row(r)), "; list each ", what, " once");
  }
  return first_row;
}

std::array<int64_t, 2> bond_key(int64_t i, int64_t j) {
  return {std::min(i, j), std::max(i, j)};
}

}  // namespace

std::vector<int64_t> angles_from_bonds(int64_t atoms, const int64_t* bonds, int64_t n_bonds) {
  std::vector<std::vector<int64_t>> neighbours = bonded_neighbours(atoms, bonds, n_bonds);
  std::vector<int64_t> angles;
  for (int64_t centre = 0; centre < atoms; ++centre) {
    std::vector<int64_t>& list = neighbours[size_t(centre)];
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    for (size_t p = 0; p < list.size(); ++p) {
      for (size_t q = p + 1; q < list.size(); ++q) {
        angles.insert(angles.end(), {list[p], centre, list[q]});
      }
    }
  }
  return angles;
}

SeminarioParameters modified_seminario(const double* hessian, const double* reference,
                                       int64_t atoms, const int64_t* bonds, int64_t n_bonds,
                                       const int64_t* angles, int64_t n_angles) {
  require_finite_input(hessian, reference, atoms);
  require_symmetric_hessian(hessian, atoms);
  require(n_bonds >= 0 && (n_bonds == 0 || bonds != nullptr), "bonds: bad count or null");
  require(n_angles >= 0 && (n_angles == 0 || angles != nullptr), "angles: bad count or null");
  Seminario seminario(hessian, reference, atoms);
  SeminarioParameters result;

  for (int64_t b = 0; b < n_bonds; ++b) {
    const int64_t i = bonds[2 * b], j = bonds[2 * b + 1];
    require_atom_pair(i, j, atoms, "bonds[", b, "]");
    const Eigen::Vector3d u = seminario.unit(i, j, "bonds", b);
    result.bond_k.push_back(0.5 * (seminario.projected(i, j, u) + seminario.projected(j, i, u)));
    result.bond_length.push_back((seminario.position(j) - seminario.position(i)).norm());
  }

  // An angle's arms A-B and C-B are bonds (as seminario_pair_springs needs):
  // the method reads the Hessian's bond blocks and scales by the angles
  // sharing a bond.
  const auto bonded = distinct_rows<2>("bonds", "bond", bonds, n_bonds);
  // For the scaling factors: every angle's end atoms, keyed by (centre, end).
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> others;  // -> other end atoms
  for (int64_t n = 0; n < n_angles; ++n) {
    const int64_t a = angles[3 * n], b = angles[3 * n + 1], c = angles[3 * n + 2];
    require(a >= 0 && a < atoms && b >= 0 && b < atoms && c >= 0 && c < atoms && a != b && b != c &&
                a != c,
            "angles[", n, "]: expected three distinct atoms in [0, ", atoms, "), got (", a, ", ", b,
            ", ", c, ")");
    for (const int64_t end : {a, c}) {
      require(bonded.count(bond_key(end, b)) == 1, "angles[", n, "] = (", a, ", ", b, ", ", c,
              "): the arm (", end, ", ", b,
              ") is not in bonds (an angle is two bonds meeting at "
              "its centre, the middle atom)");
    }
    others[{b, a}].push_back(c);
    others[{b, c}].push_back(a);
  }
  distinct_rows<3>("angles", "angle", angles, n_angles);

  for (int64_t n = 0; n < n_angles; ++n) {
    const int64_t a = angles[3 * n], b = angles[3 * n + 1], c = angles[3 * n + 2];
    const Eigen::Vector3d u_ab = seminario.unit(a, b, "angles", n);
    const Eigen::Vector3d u_cb = seminario.unit(c, b, "angles", n);
    const double r_ab = (seminario.position(b) - seminario.position(a)).norm();
    const double r_cb = (seminario.position(b) - seminario.position(c)).norm();
    const double cosine = std::clamp(u_ab.dot(u_cb), -1.0, 1.0);
    result.angle_theta.push_back(std::acos(cosine));

    auto series = [&](const Eigen::Vector3d& u_pa, const Eigen::Vector3d& u_pc, double f_a,
                      double f_c) {
      const double s_a = seminario.projected(a, b, u_pa) / f_a;
      const double s_c = seminario.projected(c, b, u_pc) / f_c;
      return 1.0 / (1.0 / (r_ab * r_ab * s_a) + 1.0 / (r_cb * r_cb * s_c));
    };

    if (u_ab.cross(u_cb).norm() < kLinearSine) {
      // Linear: average over planes through the axis; no scaling.
      const Eigen::Vector3d e1 = u_ab.unitOrthogonal(), e2 = u_ab.cross(e1);
      double sum = 0;
      for (int t = 0; t < kLinearSamples; ++t) {
        const double phi = M_PI * t / kLinearSamples;
        const Eigen::Vector3d normal = std::cos(phi) * e1 + std::sin(phi) * e2;
        sum += series(normal.cross(u_ab).normalized(), u_cb.cross(normal).normalized(), 1.0, 1.0);
      }
      result.angle_k.push_back(sum / kLinearSamples);
      continue;
    }
    const Eigen::Vector3d u_pa = in_plane_perpendicular(u_ab, u_cb);
    const Eigen::Vector3d u_pc = in_plane_perpendicular(u_cb, u_ab);
    // f_A = 1 + mean over the other angles A-B-X of (u_PA . u_PA(A-B-X))^2.
    auto scaling = [&](int64_t end, int64_t far, const Eigen::Vector3d& u_end,
                       const Eigen::Vector3d& u_p) {
      double sum = 0;
      int64_t count = 0;
      for (int64_t x : others[{b, end}]) {
        if (x == far) continue;
        const Eigen::Vector3d u_xb = seminario.unit(x, b, "angles", n);
        if (u_end.cross(u_xb).norm() < kLinearSine) continue;  // no plane to compare
        sum += std::pow(u_p.dot(in_plane_perpendicular(u_end, u_xb)), 2);
        ++count;
      }
      return count > 0 ? 1.0 + sum / double(count) : 1.0;
    };
    result.angle_k.push_back(
        series(u_pa, u_pc, scaling(a, c, u_ab, u_pa), scaling(c, a, u_cb, u_pc)));
  }
  return result;
}

SeminarioPairSprings seminario_pair_springs(const double* ref, int64_t atoms, const int64_t* bonds,
                                            const double* bond_k, int64_t n_bonds,
                                            const int64_t* angles, const double* angle_k,
                                            int64_t n_angles, double max_theta) {
  require(atoms >= 1 && ref != nullptr, "ref: expected positions of at least one atom, got ",
          atoms);
  for (int64_t n = 0; n < 3 * atoms; ++n) {
    require(std::isfinite(ref[n]), "ref: position [", n / 3, ", ", n % 3, "] is not finite (",
            ref[n], ")");
  }
  require(max_theta > M_PI / 2 && max_theta < M_PI,
          "max_theta: expected an angle in (pi/2, pi) rad, got ", max_theta);
  require(n_bonds >= 0 && (n_bonds == 0 || (bonds != nullptr && bond_k != nullptr)),
          "bonds: expected a count >= 0 and non-null bonds and bond_k, got ", n_bonds);
  require(n_angles >= 0 && (n_angles == 0 || (angles != nullptr && angle_k != nullptr)),
          "angles: expected a count >= 0 and non-null angles and angle_k, got ", n_angles);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>> x(ref, atoms,
                                                                                      3);
  struct Spring {
    double k = 0;
    bool bond = false, angle = false;
  };
  std::map<std::array<int64_t, 2>, Spring> springs;  // sorted by (i, j), i < j

  for (int64_t b = 0; b < n_bonds; ++b) {
    const int64_t i = bonds[2 * b], j = bonds[2 * b + 1];
    require(i >= 0 && i < atoms && j >= 0 && j < atoms, "bonds: row ", b, " = (", i, ", ", j,
            "): atom index outside [0, ", atoms, ") (the atoms of ref)");
    require(i != j, "bonds: row ", b, " = (", i, ", ", j, ") joins an atom to itself");
  }
  const auto bond_row = distinct_rows<2>("bonds", "bond", bonds, n_bonds);
  for (int64_t b = 0; b < n_bonds; ++b) {
    const int64_t i = bonds[2 * b], j = bonds[2 * b + 1];
    require(std::isfinite(bond_k[b]), "bond_k: row ", b, " is not finite (", bond_k[b], ")");
    require((x.row(i) - x.row(j)).norm() > 0, "ref: atoms ", i, " and ", j, " (bonds row ", b,
            ") are at the same position");
    Spring& spring = springs[bond_key(i, j)];
    spring.k += bond_k[b];
    spring.bond = true;
  }

  distinct_rows<3>("angles", "angle", angles, n_angles);
  SeminarioPairSprings result;
  for (int64_t n = 0; n < n_angles; ++n) {
    const int64_t a = angles[3 * n], b = angles[3 * n + 1], c = angles[3 * n + 2];
    require(a >= 0 && a < atoms && b >= 0 && b < atoms && c >= 0 && c < atoms, "angles: row ", n,
            " = (", a, ", ", b, ", ", c, "): atom index outside [0, ", atoms,
            ") (the atoms of ref)");
    require(a != b && b != c && a != c, "angles: row ", n, " = (", a, ", ", b, ", ", c,
            ") repeats an atom");
    require(bond_row.count(bond_key(a, b)) == 1, "angles: row ", n, " = (", a, ", ", b, ", ", c,
            "): the arm A-B (", a, ", ", b, ") is not in bonds");
    require(bond_row.count(bond_key(c, b)) == 1, "angles: row ", n, " = (", a, ", ", b, ", ", c,
            "): the arm C-B (", c, ", ", b, ") is not in bonds");
    require(std::isfinite(angle_k[n]), "angle_k: row ", n, " is not finite (", angle_k[n], ")");
    const Eigen::Vector3d u = (x.row(a) - x.row(b)).transpose();
    const Eigen::Vector3d v = (x.row(c) - x.row(b)).transpose();
    const double r_ab = u.norm(), r_cb = v.norm();  // > 0: both arms are checked bonds
    const double sine = u.cross(v).norm() / (r_ab * r_cb);
    const double theta = std::atan2(sine, u.dot(v) / (r_ab * r_cb));
    const bool dropped = theta > max_theta || theta < M_PI - max_theta;
    const double r_ac2 = (x.row(a) - x.row(c)).squaredNorm();
    const double k_13 = dropped ? 0.0 : angle_k[n] * r_ac2 / std::pow(r_ab * r_cb * sine, 2);
    result.theta.push_back(theta);
    result.dropped.push_back(dropped ? 1 : 0);
    result.angle_spring.push_back(k_13);
    if (dropped) continue;
    Spring& spring = springs[bond_key(a, c)];
    spring.k += k_13;
    spring.angle = true;
  }

  for (const auto& [pair, spring] : springs) {
    result.pairs.insert(result.pairs.end(), {pair[0], pair[1]});
    result.k.push_back(spring.k);
    result.bond_pair.push_back(spring.bond ? 1 : 0);
    result.angle_pair.push_back(spring.angle ? 1 : 0);
  }
  return result;
}

}  // namespace energyloss
