// Modified Seminario bond and angle force constants from a Hessian (see
// energyloss/oracles/seminario_coefficients.h). Sources: J. M. Seminario, Int.
// J. Quantum Chem. 60, 1271 (1996), eqs. 10 and 14; A. E. A. Allen,
// M. C. Payne, D. J. Cole, J. Chem. Theory Comput. 14, 274 (2018) (the
// scaling of the in-plane projections by the other angles on the same bond).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <utility>
#include <vector>

#include "atom_pair.h"
#include "bond_graph.h"
#include "energyloss/error.h"
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

  // For the scaling factors: every angle's end atoms, keyed by (centre, end).
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> others;  // -> other end atoms
  for (int64_t n = 0; n < n_angles; ++n) {
    const int64_t a = angles[3 * n], b = angles[3 * n + 1], c = angles[3 * n + 2];
    require(a >= 0 && a < atoms && b >= 0 && b < atoms && c >= 0 && c < atoms && a != b && b != c &&
                a != c,
            "angles[", n, "]: expected three distinct atoms in [0, ", atoms, "), got (", a, ", ", b,
            ", ", c, ")");
    others[{b, a}].push_back(c);
    others[{b, c}].push_back(a);
  }

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

}  // namespace energyloss
