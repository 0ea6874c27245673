// Hessian-based coefficients (energyloss/oracles/hessian_coefficients.h,
// seminario_coefficients.h):
// the finite-difference Hessian against hand-derived spring Hessians, the
// NNLS solver against its optimality (KKT) conditions, the rigid-body
// projector, springs fitted to a Hessian, the modified Seminario method
// against known bond constants, and its constants as 1-2 / 1-3 pair springs
// against the energy of a bend measured on displaced positions. SciPy
// cross-checks are in test_hessian_coefficients.py.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "../support/expect_error.h"
#include "../support/pairs.h"
#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/oracles/hessian_coefficients.h"
#include "energyloss/oracles/seminario_coefficients.h"

namespace energyloss {
namespace {

using energyloss::testing::complete_edges;

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<double> random_values(int64_t count, unsigned seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> x(static_cast<size_t>(count));
  for (double& value : x) value = normal(rng);
  return x;
}

Eigen::Vector3d position(const std::vector<double>& x, int64_t atom) {
  return {x[size_t(3 * atom)], x[size_t(3 * atom + 1)], x[size_t(3 * atom + 2)]};
}

// Hand-derived Hessian of sum_b k_b/2 (r_b - r0_b)^2: for one bond, the i-i
// block is k u u^T + k (1 - r0 / r) (I - u u^T), the i-j block its negative.
RowMatrix harmonic_hessian(const std::vector<double>& x, const std::vector<HarmonicBond>& bonds) {
  const int64_t dof = int64_t(x.size());
  RowMatrix h = RowMatrix::Zero(dof, dof);
  for (const HarmonicBond& bond : bonds) {
    const Eigen::Vector3d d = position(x, bond.i) - position(x, bond.j);
    const double r = d.norm();
    const Eigen::Vector3d u = d / r;
    const Eigen::Matrix3d block =
        bond.k * u * u.transpose() +
        bond.k * (1 - bond.r0 / r) * (Eigen::Matrix3d::Identity() - u * u.transpose());
    h.block<3, 3>(3 * bond.i, 3 * bond.i) += block;
    h.block<3, 3>(3 * bond.j, 3 * bond.j) += block;
    h.block<3, 3>(3 * bond.i, 3 * bond.j) -= block;
    h.block<3, 3>(3 * bond.j, 3 * bond.i) -= block;
  }
  return h;
}

TEST(ForceFieldHessian, MatchesHandDerivedHarmonicBondHessian) {
  const int64_t atoms = 5;
  const std::vector<double> x = random_values(3 * atoms, 3);
  std::vector<HarmonicBond> bonds = {
      {0, 1, 3.0, 1.1}, {1, 2, 5.0, 0.7}, {2, 3, 2.0, 1.4}, {3, 4, 7.0, 0.9}, {0, 4, 1.5, 1.0}};
  auto oracle = make_harmonic_bond_oracle(atoms, bonds);
  const std::vector<double> h = force_field_hessian(*oracle, x.data());
  const RowMatrix expected = harmonic_hessian(x, bonds);
  ASSERT_EQ(h.size(), size_t(expected.size()));
  const double scale = expected.cwiseAbs().maxCoeff();
  for (int64_t n = 0; n < expected.size(); ++n) {
    EXPECT_NEAR(h[size_t(n)], expected.data()[n], 1e-6 * scale) << "entry " << n;
  }
}

TEST(ForceFieldHessian, RejectsBadInput) {
  auto oracle = make_lennard_jones_oracle(3, 1.0, 1.0);
  std::vector<double> x = random_values(9, 4);
  HessianOptions options;
  options.step = 0;
  EXPECT_THROW(force_field_hessian(*oracle, x.data(), options), Error);
  x[4] = std::nan("");
  EXPECT_THROW(force_field_hessian(*oracle, x.data()), Error);
}

TEST(RigidBodyModes, ProjectorRemovesTranslationsAndRotations) {
  const int64_t atoms = 6;
  const std::vector<double> x = random_values(3 * atoms, 5);
  int64_t modes = 0;
  const std::vector<double> q = rigid_body_modes(x.data(), atoms, &modes);
  EXPECT_EQ(modes, 6);
  const Eigen::Map<const RowMatrix> basis(q.data(), 3 * atoms, modes);
  EXPECT_LT((basis.transpose() * basis - Eigen::MatrixXd::Identity(6, 6)).norm(), 1e-12);
  // An identity "Hessian" projected: P. It must kill a rotation about an
  // arbitrary axis through an arbitrary point and keep internal motion.
  const RowMatrix eye = RowMatrix::Identity(3 * atoms, 3 * atoms);
  const std::vector<double> p = project_out_rigid_modes(eye.data(), x.data(), atoms);
  const Eigen::Map<const RowMatrix> projector(p.data(), 3 * atoms, 3 * atoms);
  Eigen::VectorXd rigid(3 * atoms);
  const Eigen::Vector3d axis(0.3, -1.2, 0.5), point(2.0, 1.0, -0.5), shift(0.1, 0.2, 0.3);
  for (int64_t a = 0; a < atoms; ++a) {
    rigid.segment<3>(3 * a) = axis.cross(position(x, a) - point) + shift;
  }
  EXPECT_LT((projector * rigid).norm(), 1e-12 * rigid.norm());
  EXPECT_NEAR(projector.trace(), double(3 * atoms - 6), 1e-10);
}

TEST(RigidBodyModes, LinearMoleculeHasFiveModes) {
  const std::vector<double> x = {0, 0, 0, 1, 1, 1, 3, 3, 3};
  int64_t modes = 0;
  rigid_body_modes(x.data(), 3, &modes);
  EXPECT_EQ(modes, 5);
}

// x >= 0, w = A^T (b - A x) <= tol, x_j w_j = 0: the KKT conditions that
// characterise the NNLS optimum.
void expect_kkt(const RowMatrix& a, const Eigen::VectorXd& b, const std::vector<double>& x) {
  const Eigen::Map<const Eigen::VectorXd> solution(x.data(), Eigen::Index(x.size()));
  const Eigen::VectorXd w = a.transpose() * (b - a * solution);
  const double scale = (a.transpose() * b).cwiseAbs().maxCoeff();
  for (Eigen::Index j = 0; j < solution.size(); ++j) {
    EXPECT_GE(solution[j], 0.0);
    EXPECT_LE(w[j], 1e-10 * scale) << "j = " << j;
    if (solution[j] > 0) {
      EXPECT_NEAR(w[j], 0.0, 1e-10 * scale) << "j = " << j;
    }
  }
}

TEST(Nnls, RandomProblemsSatisfyKktConditions) {
  std::mt19937 rng(7);
  for (auto [rows, cols] : {std::pair{30, 10}, {40, 25}, {12, 30}, {80, 60}}) {
    for (int trial = 0; trial < 20; ++trial) {
      const std::vector<double> a = random_values(rows * cols, rng());
      const std::vector<double> b = random_values(rows, rng());
      const NnlsResult result = nnls(a.data(), rows, cols, b.data());
      EXPECT_TRUE(result.converged);
      expect_kkt(Eigen::Map<const RowMatrix>(a.data(), rows, cols),
                 Eigen::Map<const Eigen::VectorXd>(b.data(), rows), result.x);
    }
  }
}

TEST(Nnls, HandSolvedProblem) {
  // min |x - (1, -2, 3)|^2 over x >= 0: (1, 0, 3).
  const std::vector<double> a = {1, 0, 0, 0, 1, 0, 0, 0, 1}, b = {1, -2, 3};
  const NnlsResult result = nnls(a.data(), 3, 3, b.data());
  EXPECT_NEAR(result.x[0], 1.0, 1e-14);
  EXPECT_EQ(result.x[1], 0.0);
  EXPECT_NEAR(result.x[2], 3.0, 1e-14);
}

TEST(Nnls, RejectsNonFiniteInput) {
  std::vector<double> a = {1, 0, 0, 1}, b = {1, std::nan("")};
  EXPECT_THROW(nnls(a.data(), 2, 2, b.data()), Error);
  b[1] = 1;
  a[2] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(nnls(a.data(), 2, 2, b.data()), Error);
}

TEST(HessianFit, RecoversTheSpringsOfAnEquilibriumSpringNetwork) {
  // Harmonic bonds at their rest lengths: H is exactly sum_b k_b h_b, so the
  // fit on the complete graph returns those k and 0 on the other pairs.
  const int64_t atoms = 6;
  const std::vector<double> x = random_values(3 * atoms, 11);
  std::vector<HarmonicBond> bonds;
  const std::vector<std::pair<int64_t, int64_t>> pairs = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5},
                                                          {0, 2}, {1, 3}, {2, 4}, {3, 5}, {0, 5}};
  for (size_t b = 0; b < pairs.size(); ++b) {
    const double r = (position(x, pairs[b].first) - position(x, pairs[b].second)).norm();
    bonds.push_back({pairs[b].first, pairs[b].second, 1.0 + double(b), r});
  }
  auto oracle = make_harmonic_bond_oracle(atoms, bonds);
  const std::vector<int64_t> edges = complete_edges(atoms);
  const HessianFit fit =
      hessian_fitted_springs(*oracle, x.data(), edges.data(), int64_t(edges.size() / 2));
  EXPECT_TRUE(fit.converged);
  EXPECT_LT(fit.relative_residual, 1e-7);
  for (size_t e = 0; e < edges.size() / 2; ++e) {
    double expected = 0;
    for (const HarmonicBond& bond : bonds) {
      if (bond.i == edges[2 * e] && bond.j == edges[2 * e + 1]) expected = bond.k;
    }
    EXPECT_NEAR(fit.k[e], expected, 1e-6) << "edge " << e;
  }
  // Finite-difference noise may leave tiny positive springs on the other pairs.
  EXPECT_EQ(std::count_if(fit.k.begin(), fit.k.end(), [](double k) { return k > 1e-6; }),
            int64_t(bonds.size()));
}

TEST(HessianFit, LowModeWeightingKeepsExactNetworksAndChecksItsOptions) {
  // Any weighting of an exactly representable Hessian still recovers it.
  const int64_t atoms = 5;
  const std::vector<double> x = random_values(3 * atoms, 31);
  std::vector<HarmonicBond> bonds;
  const std::vector<int64_t> edges = complete_edges(atoms);
  for (size_t e = 0; e < edges.size() / 2; e += 2) {
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    bonds.push_back({i, j, 2.0 + double(e), (position(x, i) - position(x, j)).norm()});
  }
  auto oracle = make_harmonic_bond_oracle(atoms, bonds);
  HessianFitOptions options;
  options.low_mode_power = 1.0;
  const HessianFit fit =
      hessian_fitted_springs(*oracle, x.data(), edges.data(), int64_t(edges.size() / 2), options);
  EXPECT_LT(fit.relative_residual, 1e-6);
  EXPECT_LT(fit.weighted_relative_residual, 1e-4);  // the network is floppy: FD noise weighs more
  for (const HarmonicBond& bond : bonds) {
    for (size_t e = 0; e < edges.size() / 2; ++e) {
      if (edges[2 * e] == bond.i && edges[2 * e + 1] == bond.j) {
        EXPECT_NEAR(fit.k[e], bond.k, 1e-5 * bond.k);
      }
    }
  }
  options.low_mode_power = -1.0;
  EXPECT_THROW(hessian_fitted_springs(*oracle, x.data(), edges.data(), 1, options), Error);
  options.low_mode_power = 1.0;
  options.low_mode_floor = 0.0;
  EXPECT_THROW(hessian_fitted_springs(*oracle, x.data(), edges.data(), 1, options), Error);
}

TEST(HessianFit, IsTheNnlsOptimumOfTheExplicitLeastSquaresProblem) {
  // A Lennard-Jones cluster away from equilibrium: compare with NNLS on the
  // explicit [9N^2, E] matrix of vec(h_e) against vec(P H P).
  const int64_t atoms = 5;
  const std::vector<double> x = random_values(3 * atoms, 13, 0.9);
  auto oracle = make_lennard_jones_oracle(atoms, 1.0, 1.0);
  const std::vector<double> h = force_field_hessian(*oracle, x.data());
  const std::vector<int64_t> edges = complete_edges(atoms);
  const int64_t n_edges = int64_t(edges.size() / 2), dof = 3 * atoms;
  const HessianFit fit = fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), n_edges);
  const std::vector<double> target = project_out_rigid_modes(h.data(), x.data(), atoms);
  RowMatrix a(dof * dof, n_edges);
  for (int64_t e = 0; e < n_edges; ++e) {
    const double one = 1.0;
    const std::vector<double> he =
        spring_network_hessian(x.data(), atoms, &edges[size_t(2 * e)], 1, &one);
    for (int64_t n = 0; n < dof * dof; ++n) a(n, e) = he[size_t(n)];
  }
  const NnlsResult explicit_fit = nnls(a.data(), dof * dof, n_edges, target.data());
  const double scale = *std::max_element(fit.k.begin(), fit.k.end());
  for (int64_t e = 0; e < n_edges; ++e) {
    EXPECT_NEAR(fit.k[size_t(e)], explicit_fit.x[size_t(e)], 1e-9 * scale);
    EXPECT_GE(fit.k[size_t(e)], 0.0);
  }
  const Eigen::Map<const Eigen::VectorXd> k(fit.k.data(), n_edges), b(target.data(), dof * dof);
  EXPECT_NEAR(fit.relative_residual, (a * k - b).norm() / b.norm(), 1e-12);
}

TEST(HessianFit, InvariantUnderRotationAndTranslation) {
  const int64_t atoms = 6;
  const std::vector<double> x = random_values(3 * atoms, 17, 0.9);
  const Eigen::Matrix3d rotation =
      Eigen::AngleAxisd(1.1, Eigen::Vector3d(1, -2, 0.5).normalized()).toRotationMatrix();
  std::vector<double> moved(x.size());
  for (int64_t a = 0; a < atoms; ++a) {
    const Eigen::Vector3d y = rotation * position(x, a) + Eigen::Vector3d(3, -1, 2);
    for (int c = 0; c < 3; ++c) moved[size_t(3 * a + c)] = y[c];
  }
  auto oracle = make_morse_oracle(atoms, 1.0, 1.5, 1.0);
  const std::vector<int64_t> edges = complete_edges(atoms);
  const int64_t n_edges = int64_t(edges.size() / 2);
  const HessianFit first = hessian_fitted_springs(*oracle, x.data(), edges.data(), n_edges);
  const HessianFit second = hessian_fitted_springs(*oracle, moved.data(), edges.data(), n_edges);
  const double scale = *std::max_element(first.k.begin(), first.k.end());
  for (int64_t e = 0; e < n_edges; ++e) {
    EXPECT_NEAR(first.k[size_t(e)], second.k[size_t(e)], 1e-6 * scale) << "edge " << e;
  }
  EXPECT_NEAR(first.relative_residual, second.relative_residual, 1e-6);
}

TEST(HessianFit, RejectsBadInput) {
  const int64_t atoms = 3;
  const std::vector<double> x = random_values(9, 19);
  std::vector<double> h(81, 0.0);
  std::vector<int64_t> edges = {0, 1, 1, 2};
  EXPECT_NO_THROW(fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), 2));
  h[10] = std::nan("");
  EXPECT_THROW(fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), 2), Error);
  h[10] = 0;
  edges = {0, 1, 1, 0};  // repeated pair
  EXPECT_THROW(fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), 2), Error);
  edges = {0, 3, 1, 2};  // out of range
  EXPECT_THROW(fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), 2), Error);
  edges = {1, 1, 1, 2};  // self pair
  EXPECT_THROW(fit_springs_to_hessian(h.data(), x.data(), atoms, edges.data(), 2), Error);
  std::vector<double> coincident = x;
  for (int c = 0; c < 3; ++c) coincident[size_t(3 + c)] = coincident[size_t(c)];
  edges = {0, 1, 1, 2};
  EXPECT_THROW(fit_springs_to_hessian(h.data(), coincident.data(), atoms, edges.data(), 2), Error);
}

// --- Modified Seminario ----------------------------------------------------

TEST(ModifiedSeminario, BondsOfAHarmonicNetworkAtRestAreExact) {
  // A bent chain with harmonic bonds and 1-3 springs, all at rest: each
  // bonded A-B block of the Hessian is -k u u^T, so Seminario returns k.
  const int64_t atoms = 5;
  const std::vector<double> x = random_values(3 * atoms, 23);
  std::vector<HarmonicBond> terms;
  const std::vector<int64_t> bonds = {0, 1, 1, 2, 2, 3, 3, 4};
  for (int64_t b = 0; b < 4; ++b) {
    const int64_t i = bonds[size_t(2 * b)], j = bonds[size_t(2 * b + 1)];
    terms.push_back({i, j, 300.0 + 50.0 * double(b), (position(x, i) - position(x, j)).norm()});
  }
  for (int64_t i = 0; i + 2 < atoms; ++i) {
    terms.push_back({i, i + 2, 40.0, (position(x, i) - position(x, i + 2)).norm()});
  }
  auto oracle = make_harmonic_bond_oracle(atoms, terms);
  const std::vector<double> h = force_field_hessian(*oracle, x.data());
  const SeminarioParameters result =
      modified_seminario(h.data(), x.data(), atoms, bonds.data(), 4, nullptr, 0);
  ASSERT_EQ(result.bond_k.size(), 4u);
  for (size_t b = 0; b < 4; ++b) {
    EXPECT_NEAR(result.bond_k[b], terms[b].k, 1e-5 * terms[b].k) << "bond " << b;
    EXPECT_NEAR(result.bond_length[b], terms[b].r0, 1e-12);
  }
}

// Hessian of one harmonic angle term k_theta/2 (theta - theta0)^2 at its
// minimum: k_theta g g^T with g = d theta / dx (hand-derived:
// g_A = (cos t u_BA - u_BC) / (R_A sin t), g_C likewise, g_B = -g_A - g_C).
RowMatrix angle_hessian(const std::vector<double>& x, int64_t a, int64_t b, int64_t c,
                        double k_theta) {
  const Eigen::Vector3d ba = position(x, a) - position(x, b), bc = position(x, c) - position(x, b);
  const double ra = ba.norm(), rc = bc.norm();
  const Eigen::Vector3d u_ba = ba / ra, u_bc = bc / rc;
  const double cosine = u_ba.dot(u_bc), sine = std::sqrt(1 - cosine * cosine);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(Eigen::Index(x.size()));
  g.segment<3>(3 * a) = (cosine * u_ba - u_bc) / (ra * sine);
  g.segment<3>(3 * c) = (cosine * u_bc - u_ba) / (rc * sine);
  g.segment<3>(3 * b) = -g.segment<3>(3 * a) - g.segment<3>(3 * c);
  return k_theta * g * g.transpose();
}

TEST(ModifiedSeminario, IsolatedAngleTermGivesTheSeminarioSeriesFormula) {
  // For one angle term alone, K_AB = -H_AB = k g_A (g_A + g_C)^T is rank one
  // with eigenvector g_A (in the plane, normal to AB), so
  // R_A^2 S_A = k (1 - rho cos t), R_C^2 S_C = k (1 - cos t / rho),
  // rho = R_A / R_C, and 1/k_sem = 1/(R_A^2 S_A) + 1/(R_C^2 S_C).
  const double theta = 1.85, ra = 1.0, rc = 1.4, k_theta = 120.0;
  std::vector<double> x = {ra,
                           0,
                           0,
                           0,
                           0,
                           0,
                           rc * std::cos(theta),
                           rc * std::sin(theta),
                           0,
                           ra * std::cos(-2.2),
                           ra * std::sin(-2.2),
                           0.3};
  const int64_t atoms = 4;  // atom 3: a second neighbour of B, for the scaling test
  const RowMatrix h = angle_hessian(x, 0, 1, 2, k_theta);
  const std::vector<int64_t> bonds = {0, 1, 1, 2, 1, 3};
  const double rho = ra / rc, cosine = std::cos(theta);
  const double s_a = k_theta * (1 - rho * cosine), s_c = k_theta * (1 - cosine / rho);

  const std::vector<int64_t> one = {0, 1, 2};
  SeminarioParameters result =
      modified_seminario(h.data(), x.data(), atoms, bonds.data(), 3, one.data(), 1);
  EXPECT_NEAR(result.angle_k[0], 1 / (1 / s_a + 1 / s_c), 1e-10 * k_theta);
  EXPECT_NEAR(result.angle_theta[0], theta, 1e-12);

  // The modified method: another angle A-B-D on bond B-A scales A's side by
  // f_A = 1 + (u_PA . u_PA(ABD))^2 (the Hessian is unchanged).
  const std::vector<int64_t> two = {0, 1, 2, 0, 1, 3};
  result = modified_seminario(h.data(), x.data(), atoms, bonds.data(), 3, two.data(), 2);
  const Eigen::Vector3d a = position(x, 0), b = position(x, 1), c = position(x, 2),
                        d = position(x, 3);
  auto perpendicular = [](const Eigen::Vector3d& u_ab, const Eigen::Vector3d& u_cb) {
    const Eigen::Vector3d n = u_cb.cross(u_ab).normalized();
    return n.cross(u_ab).normalized();
  };
  const Eigen::Vector3d u_ab = (b - a).normalized();
  const double overlap =
      perpendicular(u_ab, (b - c).normalized()).dot(perpendicular(u_ab, (b - d).normalized()));
  const double f_a = 1 + overlap * overlap;
  EXPECT_GT(f_a, 1.05);  // the test geometry does couple the two angles
  EXPECT_NEAR(result.angle_k[0], 1 / (f_a / s_a + 1 / s_c), 1e-10 * k_theta);
}

TEST(ModifiedSeminario, AnglesFromBondsAndBadInput) {
  const std::vector<int64_t> bonds = {0, 1, 1, 2, 1, 3, 3, 4};
  const std::vector<int64_t> angles = angles_from_bonds(5, bonds.data(), 4);
  const std::vector<int64_t> expected = {0, 1, 2, 0, 1, 3, 2, 1, 3, 1, 3, 4};
  EXPECT_EQ(angles, expected);
  const std::vector<double> x = random_values(15, 29);
  std::vector<double> h(225, 0.0);
  EXPECT_NO_THROW(modified_seminario(h.data(), x.data(), 5, bonds.data(), 4, angles.data(), 4));
  const std::vector<int64_t> bad_bond = {0, 5};
  EXPECT_THROW(modified_seminario(h.data(), x.data(), 5, bad_bond.data(), 1, nullptr, 0), Error);
  const std::vector<int64_t> bad_angle = {0, 1, 0};
  EXPECT_THROW(modified_seminario(h.data(), x.data(), 5, bonds.data(), 4, bad_angle.data(), 1),
               Error);
  h[17] = std::nan("");
  EXPECT_THROW(modified_seminario(h.data(), x.data(), 5, bonds.data(), 4, angles.data(), 4), Error);
}

TEST(ModifiedSeminario, RefusesAnAsymmetricHessianAndRepeatedBondsOrAngles) {
  using test_support::expect_error;
  // A symmetric 3-atom Hessian (S + S^T) with largest |entry| 100.
  const int64_t atoms = 3;
  const std::vector<double> x = {0, 0, 0, 1.1, 0, 0, 1.5, 0.9, 0.2};
  const std::vector<double> s = random_values(81, 31);
  std::vector<double> h(81);
  for (int i = 0; i < 9; ++i) {
    for (int j = 0; j < 9; ++j) h[size_t(9 * i + j)] = s[size_t(9 * i + j)] + s[size_t(9 * j + i)];
  }
  h[0] = 100.0;
  const std::vector<int64_t> bonds = {0, 1, 1, 2}, angle = {0, 1, 2};
  auto call = [&](const std::vector<double>& hessian, const std::vector<int64_t>& b,
                  const std::vector<int64_t>& a) {
    return [&, b, a] {
      modified_seminario(hessian.data(), x.data(), atoms, b.data(), int64_t(b.size() / 2), a.data(),
                         int64_t(a.size() / 3));
    };
  };
  EXPECT_NO_THROW(call(h, bonds, angle)());
  // Off by 2e-5 x 100 at (5, 2) (and 1e-5 x 100 at (1, 7)): refused, naming
  // the worst pair in upper-triangle order, (2, 5), and both values.
  std::vector<double> bad = h;
  bad[size_t(9 * 5 + 2)] += 2e-3;
  bad[size_t(9 * 1 + 7)] += 1e-3;
  std::ostringstream expected;
  expected << "hessian: not symmetric: hessian[2, 5] = " << bad[9 * 2 + 5]
           << " but hessian[5, 2] = " << bad[9 * 5 + 2];
  expect_error(call(bad, bonds, angle), {expected.str(), "x the largest |entry| (100)"});
  // Off by half the tolerance (and by rounding everywhere): accepted, with
  // the symmetric part's constants.
  std::vector<double> close = h;
  close[size_t(9 * 5 + 2)] += 0.5e-3;
  for (size_t n = 0; n < close.size(); ++n) close[n] *= 1 + 1e-15 * double(n % 7);
  std::vector<double> symmetric = close;
  for (int i = 0; i < 9; ++i) {
    for (int j = 0; j < 9; ++j) {
      symmetric[size_t(9 * i + j)] = 0.5 * (close[size_t(9 * i + j)] + close[size_t(9 * j + i)]);
    }
  }
  const SeminarioParameters a = modified_seminario(close.data(), x.data(), atoms, bonds.data(), 2,
                                                   angle.data(), 1),
                            b = modified_seminario(symmetric.data(), x.data(), atoms, bonds.data(),
                                                   2, angle.data(), 1);
  for (size_t n = 0; n < 2; ++n) EXPECT_NEAR(a.bond_k[n], b.bond_k[n], 1e-12 * 100);
  EXPECT_NEAR(a.angle_k[0], b.angle_k[0], 1e-12 * 100);

  expect_error(call(h, {0, 1, 1, 2, 1, 0}, angle),
               "bonds: rows 0 and 2 are the same bond, (0, 1) and (1, 0); list each bond once");
  expect_error(call(h, {0, 1, 1, 2, 2, 1}, angle), "bonds: rows 1 and 2 are the same bond");
  expect_error(call(h, bonds, {0, 1, 2, 2, 1, 0}),
               "angles: rows 0 and 1 are the same angle, (0, 1, 2) and (2, 1, 0)");
  expect_error(call(h, bonds, {2, 1, 0, 2, 1, 0}), "angles: rows 0 and 1 are the same angle");
}

// --- Seminario constants as pair springs -----------------------------------

// |x_i - x_j| for atoms i, j of positions x [atoms * 3].
double distance(const std::vector<double>& x, int64_t i, int64_t j) {
  return (position(x, i) - position(x, j)).norm();
}

// 1/2 sum_p k_p (|y_i - y_j| - |x_i - x_j|)^2 over the springs `pairs`.
double spring_energy(const std::vector<double>& x, const std::vector<double>& y,
                     const SeminarioPairSprings& springs) {
  double energy = 0;
  for (size_t p = 0; p < springs.k.size(); ++p) {
    const int64_t i = springs.pairs[2 * p], j = springs.pairs[2 * p + 1];
    energy += 0.5 * springs.k[p] * std::pow(distance(y, i, j) - distance(x, i, j), 2);
  }
  return energy;
}

// Atoms A = (ra, 0, 0), B at the origin, C at angle theta from A in the xy
// plane at distance rc.
std::vector<double> bent(double theta, double ra, double rc) {
  return {ra, 0, 0, 0, 0, 0, rc * std::cos(theta), rc * std::sin(theta), 0};
}

TEST(SeminarioPairSprings, BendAtFixedBondLengthsCostsHalfKThetaDeltaSquared) {
  // Bending A-B-C by delta at fixed bond lengths (atom C placed at theta +
  // delta) changes only the 1-3 distance; the springs' energy, measured on
  // the displaced positions, is 1/2 k_theta delta^2 to O(delta).
  const double ra = 1.0, rc = 1.3, k_theta = 250.0;
  const std::vector<int64_t> bonds = {1, 0, 2, 1}, angle = {2, 1, 0};
  const std::vector<double> bond_k = {700.0, 450.0}, angle_k = {k_theta};
  for (double degrees : {60.0, 104.5, 120.0, 150.0}) {
    const double theta = degrees * M_PI / 180.0;
    const std::vector<double> x = bent(theta, ra, rc);
    const SeminarioPairSprings springs = seminario_pair_springs(
        x.data(), 3, bonds.data(), bond_k.data(), 2, angle.data(), angle_k.data(), 1);
    ASSERT_EQ(springs.pairs, (std::vector<int64_t>{0, 1, 0, 2, 1, 2}));
    EXPECT_EQ(springs.k[0], 700.0);
    EXPECT_EQ(springs.k[2], 450.0);
    EXPECT_EQ(springs.bond_pair, (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_EQ(springs.angle_pair, (std::vector<uint8_t>{0, 1, 0}));
    EXPECT_EQ(springs.dropped, (std::vector<uint8_t>{0}));
    EXPECT_NEAR(springs.theta[0], theta, 1e-12);
    std::vector<double> errors;
    for (double delta : {1e-2, 1e-3, 1e-4}) {
      const std::vector<double> y = bent(theta + delta, ra, rc);
      const double expected = 0.5 * k_theta * delta * delta;
      errors.push_back(std::abs(spring_energy(x, y, springs) / expected - 1));
      EXPECT_LT(errors.back(), 3 * delta) << degrees << " degrees, delta " << delta;
    }
    EXPECT_LT(errors[1], 0.2 * errors[0]) << degrees << " degrees";
    EXPECT_LT(errors[2], 0.2 * errors[1]) << degrees << " degrees";
  }
}

TEST(SeminarioPairSprings, FourRingDiagonalsSumTheirTwoAngles) {
  // A puckered 4-ring 0-1-2-3: each diagonal is the 1-3 pair of two angles
  // and gets the sum of their springs. Each spring is recomputed here as
  // k_theta / (dr_AC/dtheta)^2 with the derivative of the law of cosines
  // r_AC(theta) taken by central differences.
  const std::vector<double> x = {0, 0, 0, 1.5, 0, 0.2, 1.6, 1.4, 0, 0.1, 1.5, 0.3};
  const std::vector<int64_t> bonds = {0, 1, 1, 2, 2, 3, 3, 0};
  const std::vector<double> bond_k = {300, 310, 320, 330};
  const std::vector<int64_t> angles = {0, 1, 2, 1, 2, 3, 2, 3, 0, 3, 0, 1};
  const std::vector<double> angle_k = {50, 60, 70, 80};
  const SeminarioPairSprings springs = seminario_pair_springs(
      x.data(), 4, bonds.data(), bond_k.data(), 4, angles.data(), angle_k.data(), 4);
  auto spring = [&](int64_t n) {
    const int64_t a = angles[size_t(3 * n)], b = angles[size_t(3 * n + 1)],
                  c = angles[size_t(3 * n + 2)];
    const double r_ab = distance(x, a, b), r_cb = distance(x, c, b);
    const double theta = std::acos(
        (position(x, a) - position(x, b)).dot(position(x, c) - position(x, b)) / (r_ab * r_cb));
    auto r_ac = [&](double t) {
      return std::sqrt(r_ab * r_ab + r_cb * r_cb - 2 * r_ab * r_cb * std::cos(t));
    };
    const double h = 1e-5, slope = (r_ac(theta + h) - r_ac(theta - h)) / (2 * h);
    return angle_k[size_t(n)] / (slope * slope);
  };
  ASSERT_EQ(springs.pairs, (std::vector<int64_t>{0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3}));
  const std::vector<double> expected = {300, spring(0) + spring(2), 330,
                                        310, spring(1) + spring(3), 320};
  for (size_t p = 0; p < expected.size(); ++p) {
    EXPECT_NEAR(springs.k[p], expected[p], 1e-8 * expected[p]) << "pair " << p;
  }
  EXPECT_EQ(springs.angle_pair, (std::vector<uint8_t>{0, 1, 0, 0, 1, 0}));
  EXPECT_GT(spring(0), 0);
  EXPECT_NE(spring(0), spring(2));  // the two angles differ, so the sum is seen
}

TEST(SeminarioPairSprings, NearlyLinearAnglesAreDroppedAndBadInputNamed) {
  using test_support::expect_error;
  const std::vector<int64_t> bonds = {0, 1, 1, 2};
  const std::vector<double> bond_k = {500, 400}, angle_k = {60};
  const std::vector<int64_t> angle = {0, 1, 2};
  // 175 degrees: no 1-3 spring, flagged; with max_theta = 178 degrees it is kept.
  const std::vector<double> x = bent(175.0 * M_PI / 180.0, 1.0, 1.2);
  SeminarioPairSprings springs = seminario_pair_springs(x.data(), 3, bonds.data(), bond_k.data(), 2,
                                                        angle.data(), angle_k.data(), 1);
  EXPECT_EQ(springs.pairs, (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(springs.dropped, (std::vector<uint8_t>{1}));
  EXPECT_EQ(springs.angle_spring, (std::vector<double>{0.0}));
  springs = seminario_pair_springs(x.data(), 3, bonds.data(), bond_k.data(), 2, angle.data(),
                                   angle_k.data(), 1, 178.0 * M_PI / 180.0);
  EXPECT_EQ(springs.pairs.size(), 6u);

  auto call = [&](std::vector<int64_t> b, std::vector<int64_t> a, std::vector<double> kb,
                  std::vector<double> ka, double max_theta = kSeminarioMaxTheta) {
    return [=, &x] {
      seminario_pair_springs(x.data(), 3, b.data(), kb.data(), int64_t(b.size() / 2), a.data(),
                             ka.data(), int64_t(a.size() / 3), max_theta);
    };
  };
  expect_error(call({0, 1, 1, 3}, angle, bond_k, angle_k), {"bonds: row 1 = (1, 3)", "[0, 3)"});
  expect_error(call({0, 1, 1, 1}, angle, bond_k, angle_k), "bonds: row 1 = (1, 1) joins");
  expect_error(call({0, 1, 1, 0}, {}, bond_k, {}),
               "bonds: rows 0 and 1 are the same bond, (0, 1) and (1, 0)");
  // A repeated angle would add its 1-3 spring twice.
  expect_error(call(bonds, {0, 1, 2, 2, 1, 0}, bond_k, {60, 60}),
               "angles: rows 0 and 1 are the same angle, (0, 1, 2) and (2, 1, 0)");
  expect_error(call(bonds, {0, 1, -1}, bond_k, angle_k), "angles: row 0 = (0, 1, -1): atom index");
  expect_error(call(bonds, {0, 1, 0}, bond_k, angle_k), "angles: row 0 = (0, 1, 0) repeats");
  expect_error(call(bonds, {1, 0, 2}, bond_k, angle_k), "the arm C-B (2, 0) is not in bonds");
  expect_error(call(bonds, angle, {500, NAN}, angle_k), "bond_k: row 1 is not finite");
  expect_error(call(bonds, angle, bond_k, {INFINITY}), "angle_k: row 0 is not finite");
  expect_error(call(bonds, angle, bond_k, angle_k, M_PI), "max_theta: expected an angle");
  expect_error(call(bonds, angle, bond_k, angle_k, 1.0), "max_theta: expected an angle");
  const std::vector<double> together = {0, 0, 0, 0, 0, 0, 1, 0, 0};
  expect_error(
      [&] {
        seminario_pair_springs(together.data(), 3, bonds.data(), bond_k.data(), 2, angle.data(),
                               angle_k.data(), 1);
      },
      "ref: atoms 0 and 1 (bonds row 0) are at the same position");
}

}  // namespace
}  // namespace energyloss
