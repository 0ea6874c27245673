// Full force-field Hessians, rigid-body projection, NNLS and springs fitted
// to a Hessian (see energyloss/oracles/hessian_coefficients.h).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "atom_pair.h"
#include "energyloss/error.h"
#include "energyloss/oracles/hessian_coefficients.h"

namespace energyloss {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

void require_finite(const double* values, int64_t count, const char* name) {
  for (int64_t n = 0; n < count; ++n) {
    require(std::isfinite(values[n]), name, "[", n, "] is not finite (", values[n], ")");
  }
}

void require_reference(const double* reference, int64_t atoms) {
  require(atoms >= 1, "reference: expected at least one atom, got ", atoms);
  require(reference != nullptr, "reference: must not be null");
  for (int64_t n = 0; n < atoms * 3; ++n) {
    require(std::isfinite(reference[n]), "reference[", n / 3, ", ", n % 3, "] is not finite (",
            reference[n], ")");
  }
}

struct SpringEdge {
  int64_t i, j;
  Eigen::Vector3d u;  // unit vector from j to i
};

// Validated edges with their reference directions; duplicates (in either
// order) are rejected: they would make the fit's normal equations singular
// and their split arbitrary.
std::vector<SpringEdge> spring_edges(const double* reference, int64_t atoms, const int64_t* edges,
                                     int64_t n_edges) {
  require(n_edges >= 0, "edges: count must be >= 0, got ", n_edges);
  require(n_edges == 0 || edges != nullptr, "edges: must not be null");
  std::vector<SpringEdge> result(static_cast<size_t>(n_edges));
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t e = 0; e < n_edges; ++e) {
    // A repeat of an earlier edge passed the coincidence check there, so
    // checking repeats after reference_edge changes no message.
    const ReferenceEdge edge = reference_edge(reference, atoms, edges, e);
    require(seen.emplace(std::min(edge.i, edge.j), std::max(edge.i, edge.j)).second, "edges[", e,
            "]: (", edge.i, ", ", edge.j, ") repeats an earlier edge");
    result[size_t(e)] = {edge.i, edge.j, Eigen::Vector3d(edge.u[0], edge.u[1], edge.u[2])};
  }
  return result;
}

// Q [3 atoms, modes] with orthonormal columns spanning the rigid-body modes.
Eigen::MatrixXd rigid_basis(const double* reference, int64_t atoms) {
  const int64_t dof = 3 * atoms;
  Eigen::Vector3d centroid = Eigen::Vector3d::Zero();
  for (int64_t a = 0; a < atoms; ++a) {
    centroid += Eigen::Vector3d(reference[3 * a], reference[3 * a + 1], reference[3 * a + 2]);
  }
  centroid /= double(atoms);
  Eigen::MatrixXd modes = Eigen::MatrixXd::Zero(dof, 6);
  for (int64_t a = 0; a < atoms; ++a) {
    const Eigen::Vector3d x =
        Eigen::Vector3d(reference[3 * a], reference[3 * a + 1], reference[3 * a + 2]) - centroid;
    for (int c = 0; c < 3; ++c) {
      modes(3 * a + c, c) = 1.0;                                            // translation along c
      modes.block<3, 1>(3 * a, 3 + c) = Eigen::Vector3d::Unit(c).cross(x);  // rotation about c
    }
  }
  // Orthonormalise with a rank-revealing QR; drop directions that vanish
  // (rotations about the axis of a linear molecule, all rotations of one atom).
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(modes);
  const double largest = std::abs(qr.matrixQR()(0, 0));
  qr.setThreshold(1e-10);
  int64_t rank = 0;
  for (int64_t k = 0; k < std::min<int64_t>(6, dof); ++k) {
    if (std::abs(qr.matrixQR()(k, k)) > 1e-10 * largest) ++rank;
  }
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(dof, rank);
  return q;
}

Eigen::MatrixXd projected(const Eigen::MatrixXd& h, const double* reference, int64_t atoms) {
  const Eigen::MatrixXd q = rigid_basis(reference, atoms);
  // P H P = H - Q (Q^T H) - (H Q) Q^T + Q (Q^T H Q) Q^T
  const Eigen::MatrixXd hq = h * q;
  const Eigen::MatrixXd qhq = q.transpose() * hq;
  Eigen::MatrixXd result = h - q * hq.transpose() - hq * q.transpose() + q * qhq * q.transpose();
  return 0.5 * (result + result.transpose());
}

Eigen::MatrixXd network_hessian(const std::vector<SpringEdge>& edges, const double* k,
                                int64_t atoms) {
  Eigen::MatrixXd result = Eigen::MatrixXd::Zero(3 * atoms, 3 * atoms);
  for (size_t e = 0; e < edges.size(); ++e) {
    const Eigen::Matrix3d block = k[e] * edges[e].u * edges[e].u.transpose();
    const int64_t i = 3 * edges[e].i, j = 3 * edges[e].j;
    result.block<3, 3>(i, i) += block;
    result.block<3, 3>(j, j) += block;
    result.block<3, 3>(i, j) -= block;
    result.block<3, 3>(j, i) -= block;
  }
  return result;
}

// Solves the normal equations (gram k = c, k >= 0) of a spring fit and
// scores the network against the (projected) target Hessian.
HessianFit solve_and_score(const double* gram, const double* c, int64_t m,
                           const HessianFitOptions& options, const std::vector<SpringEdge>& pairs,
                           const Eigen::MatrixXd& target, int64_t atoms) {
  NnlsResult solution = nnls_normal(gram, c, m, options.nnls);
  HessianFit fit;
  fit.k = std::move(solution.x);
  fit.iterations = solution.iterations;
  fit.converged = solution.converged;
  fit.zero_springs = int64_t(std::count(fit.k.begin(), fit.k.end(), 0.0));
  fit.target_norm = target.norm();
  const Eigen::MatrixXd network = network_hessian(pairs, fit.k.data(), atoms);
  fit.relative_residual = fit.target_norm > 0 ? (network - target).norm() / fit.target_norm : 0.0;
  return fit;
}

// The low-mode-weighted fit (HessianFitOptions::low_mode_power > 0):
// min_k |W (sum_e k_e a_e a_e^T - T) W|_F, i.e. the plain problem with
// b_e = W a_e in place of a_e and W T W in place of T.
HessianFit weighted_fit(const Eigen::MatrixXd& target, const double* reference, int64_t atoms,
                        const std::vector<SpringEdge>& pairs, const HessianFitOptions& options) {
  const int64_t dof = 3 * atoms, m = int64_t(pairs.size());
  // Internal modes: eigenvectors of T within the complement of the rigid modes.
  const Eigen::MatrixXd rigid = rigid_basis(reference, atoms);
  const Eigen::MatrixXd full = Eigen::HouseholderQR<Eigen::MatrixXd>(rigid).householderQ();
  const Eigen::MatrixXd internal = full.rightCols(dof - rigid.cols());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(internal.transpose() * target * internal);
  const Eigen::VectorXd magnitude = solver.eigenvalues().cwiseAbs();
  std::vector<double> sorted(magnitude.data(), magnitude.data() + magnitude.size());
  double median = 1.0;
  if (!sorted.empty()) {
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    median = sorted[sorted.size() / 2] > 0 ? sorted[sorted.size() / 2] : 1.0;
  }
  Eigen::VectorXd scale(magnitude.size());
  for (Eigen::Index k = 0; k < magnitude.size(); ++k) {
    scale[k] = std::pow(std::max(magnitude[k], options.low_mode_floor * median) / median,
                        -0.5 * options.low_mode_power);
  }
  const Eigen::MatrixXd modes = internal * solver.eigenvectors();
  const Eigen::MatrixXd w = modes * scale.asDiagonal() * modes.transpose();
  const Eigen::MatrixXd weighted_target = w * target * w;

  Eigen::MatrixXd b(dof, m);
  for (int64_t e = 0; e < m; ++e) {
    b.col(e) = w.middleCols<3>(3 * pairs[size_t(e)].i) * pairs[size_t(e)].u -
               w.middleCols<3>(3 * pairs[size_t(e)].j) * pairs[size_t(e)].u;
  }
  const RowMatrix gram = (b.transpose() * b).array().square().matrix();
  const Eigen::VectorXd c = (b.array() * (weighted_target * b).array()).colwise().sum().transpose();
  HessianFit fit = solve_and_score(gram.data(), c.data(), m, options, pairs, target, atoms);
  const Eigen::MatrixXd network = network_hessian(pairs, fit.k.data(), atoms);
  const double weighted_norm = weighted_target.norm();
  fit.weighted_relative_residual =
      weighted_norm > 0 ? (w * network * w - weighted_target).norm() / weighted_norm : 0.0;
  return fit;
}

}  // namespace

std::vector<double> force_field_hessian(EnergyOracle& oracle, const double* reference,
                                        const HessianOptions& options) {
  const int64_t atoms = oracle.atoms();
  require_reference(reference, atoms);
  require(std::isfinite(options.step) && options.step > 0, "step: expected > 0, got ",
          options.step);
  require(options.chunk >= 1, "chunk: expected >= 1, got ", options.chunk);
  const int64_t dof = 3 * atoms;
  RowMatrix h(dof, dof);
  // Columns b in [begin, end): configurations x + h e_b and x - h e_b.
  for (int64_t begin = 0; begin < dof; begin += std::max<int64_t>(1, options.chunk / 2)) {
    const int64_t end = std::min(dof, begin + std::max<int64_t>(1, options.chunk / 2));
    const int64_t batch = 2 * (end - begin);
    std::vector<double> positions(size_t(batch * dof));
    for (int64_t b = begin; b < end; ++b) {
      for (int side = 0; side < 2; ++side) {
        double* x = positions.data() + (2 * (b - begin) + side) * dof;
        std::copy(reference, reference + dof, x);
        x[b] += side == 0 ? options.step : -options.step;
      }
    }
    std::vector<double> energies(static_cast<size_t>(batch)),
        forces(static_cast<size_t>(batch * dof));
    oracle.evaluate(positions.data(), batch, energies.data(), forces.data());
    for (int64_t b = begin; b < end; ++b) {
      const double* plus = forces.data() + 2 * (b - begin) * dof;
      const double* minus = plus + dof;
      for (int64_t a = 0; a < dof; ++a) h(a, b) = -(plus[a] - minus[a]) / (2 * options.step);
    }
  }
  const RowMatrix symmetric = 0.5 * (h + h.transpose());
  return std::vector<double>(symmetric.data(), symmetric.data() + dof * dof);
}

void require_symmetric_hessian(const double* hessian, int64_t atoms) {
  const int64_t dof = 3 * atoms;
  double largest = 0, worst = 0;
  int64_t worst_i = 0, worst_j = 0;
  for (int64_t i = 0; i < dof; ++i) {
    for (int64_t j = 0; j < dof; ++j) {
      largest = std::max(largest, std::abs(hessian[i * dof + j]));
      const double difference = std::abs(hessian[i * dof + j] - hessian[j * dof + i]);
      if (i < j && difference > worst) {
        worst = difference;
        worst_i = i;
        worst_j = j;
      }
    }
  }
  require(worst <= kHessianAsymmetry * largest, "hessian: not symmetric: hessian[", worst_i, ", ",
          worst_j, "] = ", hessian[worst_i * dof + worst_j], " but hessian[", worst_j, ", ",
          worst_i, "] = ", hessian[worst_j * dof + worst_i], ", a difference of ", worst,
          ", more than ", kHessianAsymmetry, " x the largest |entry| (", largest,
          "); pass (H + H^T) / 2 if the asymmetry is numerical noise");
}

std::vector<double> rigid_body_modes(const double* reference, int64_t atoms, int64_t* modes) {
  require_reference(reference, atoms);
  const Eigen::MatrixXd q = rigid_basis(reference, atoms);
  if (modes != nullptr) *modes = q.cols();
  const RowMatrix rows = q;
  return std::vector<double>(rows.data(), rows.data() + rows.size());
}

std::vector<double> project_out_rigid_modes(const double* hessian, const double* reference,
                                            int64_t atoms) {
  require_reference(reference, atoms);
  require(hessian != nullptr, "hessian: must not be null");
  const int64_t dof = 3 * atoms;
  require_finite(hessian, dof * dof, "hessian");
  require_symmetric_hessian(hessian, atoms);
  const Eigen::MatrixXd h = ConstRowMap(hessian, dof, dof);
  const RowMatrix result = projected(h, reference, atoms);
  return std::vector<double>(result.data(), result.data() + result.size());
}

std::vector<double> spring_network_hessian(const double* reference, int64_t atoms,
                                           const int64_t* edges, int64_t n_edges, const double* k) {
  require_reference(reference, atoms);
  const std::vector<SpringEdge> pairs = spring_edges(reference, atoms, edges, n_edges);
  require(n_edges == 0 || k != nullptr, "k: must not be null");
  require_finite(k, n_edges, "k");
  const RowMatrix result = network_hessian(pairs, k, atoms);
  return std::vector<double>(result.data(), result.data() + result.size());
}

NnlsResult nnls_normal(const double* gram, const double* c, int64_t n, const NnlsOptions& options) {
  require(n >= 0, "nnls: unknowns must be >= 0, got ", n);
  NnlsResult result;
  result.x.assign(size_t(n), 0.0);
  if (n == 0) {
    result.converged = true;
    return result;
  }
  require(gram != nullptr && c != nullptr, "nnls: null input");
  require_finite(gram, n * n, "gram");
  require_finite(c, n, "c");
  const Eigen::MatrixXd g = ConstRowMap(gram, n, n);
  const Eigen::Map<const Eigen::VectorXd> rhs(c, n);
  const int64_t max_iterations = options.max_iterations > 0 ? options.max_iterations : 3 * n;
  const double tolerance = options.tolerance > 0
                               ? options.tolerance
                               : 10.0 * double(n) * std::numeric_limits<double>::epsilon() *
                                     std::max({rhs.cwiseAbs().maxCoeff(), g.cwiseAbs().maxCoeff(),
                                               std::numeric_limits<double>::min()});

  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  std::vector<char> passive(size_t(n), 0), blocked(size_t(n), 0);
  // s_P = G_PP^-1 c_P, s_Z = 0.
  auto solve_passive = [&]() {
    std::vector<int64_t> index;
    for (int64_t j = 0; j < n; ++j) {
      if (passive[size_t(j)]) index.push_back(j);
    }
    const int64_t p = int64_t(index.size());
    Eigen::MatrixXd gpp(p, p);
    Eigen::VectorXd cp(p);
    for (int64_t a = 0; a < p; ++a) {
      cp[a] = rhs[index[size_t(a)]];
      for (int64_t b = 0; b < p; ++b) gpp(a, b) = g(index[size_t(a)], index[size_t(b)]);
    }
    const Eigen::VectorXd z = gpp.ldlt().solve(cp);
    Eigen::VectorXd s = Eigen::VectorXd::Zero(n);
    for (int64_t a = 0; a < p; ++a) s[index[size_t(a)]] = std::isfinite(z[a]) ? z[a] : 0.0;
    return s;
  };

  Eigen::VectorXd w = rhs;  // A^T (b - A x) at x = 0
  while (true) {
    int64_t t = -1;
    double best = tolerance;
    for (int64_t j = 0; j < n; ++j) {
      if (!passive[size_t(j)] && !blocked[size_t(j)] && w[j] > best) {
        best = w[j];
        t = j;
      }
    }
    if (t < 0) {
      result.converged = true;
      break;
    }
    if (result.iterations >= max_iterations) break;
    ++result.iterations;
    passive[size_t(t)] = 1;
    Eigen::VectorXd s = solve_passive();
    if (s[t] <= 0) {
      // Rounding made the entering variable useless (w_t > 0 guarantees
      // s_t > 0 in exact arithmetic): leave it out until x changes.
      passive[size_t(t)] = 0;
      blocked[size_t(t)] = 1;
      continue;
    }
    bool inner_ok = true;
    while (true) {
      // Step from x towards s until the first passive variable reaches 0.
      double alpha = std::numeric_limits<double>::infinity();
      int64_t leaving = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (passive[size_t(j)] && s[j] <= 0) {
          const double step = x[j] / (x[j] - s[j]);
          if (step < alpha) {
            alpha = step;
            leaving = j;
          }
        }
      }
      if (leaving < 0) break;  // s is feasible
      if (result.iterations >= max_iterations) {
        inner_ok = false;
        break;
      }
      ++result.iterations;
      x += alpha * (s - x);
      x[leaving] = 0;
      for (int64_t j = 0; j < n; ++j) {
        if (passive[size_t(j)] && x[j] <= 0) {
          passive[size_t(j)] = 0;
          x[j] = 0;
        }
      }
      s = solve_passive();
    }
    if (!inner_ok) break;
    x = s;
    std::fill(blocked.begin(), blocked.end(), 0);
    w = rhs - g * x;
  }
  for (int64_t j = 0; j < n; ++j) result.x[size_t(j)] = std::max(0.0, x[j]);
  return result;
}

NnlsResult nnls(const double* a, int64_t rows, int64_t cols, const double* b,
                const NnlsOptions& options) {
  require(rows >= 0 && cols >= 0, "nnls: A must be [rows >= 0, cols >= 0], got [", rows, ", ", cols,
          "]");
  require((rows * cols == 0 || a != nullptr) && (rows == 0 || b != nullptr), "nnls: null input");
  require_finite(a, rows * cols, "A");
  require_finite(b, rows, "b");
  const Eigen::MatrixXd matrix = ConstRowMap(a, rows, cols);
  const Eigen::Map<const Eigen::VectorXd> rhs(b, rows);
  const RowMatrix gram = matrix.transpose() * matrix;
  const Eigen::VectorXd c = matrix.transpose() * rhs;
  return nnls_normal(gram.data(), c.data(), cols, options);
}

HessianFit fit_springs_to_hessian(const double* hessian, const double* reference, int64_t atoms,
                                  const int64_t* edges, int64_t n_edges,
                                  const HessianFitOptions& options) {
  require_reference(reference, atoms);
  require(hessian != nullptr, "hessian: must not be null");
  const int64_t dof = 3 * atoms;
  require_finite(hessian, dof * dof, "hessian");
  require_symmetric_hessian(hessian, atoms);
  const std::vector<SpringEdge> pairs = spring_edges(reference, atoms, edges, n_edges);
  const Eigen::MatrixXd h = ConstRowMap(hessian, dof, dof);
  const Eigen::MatrixXd target = projected(0.5 * (h + h.transpose()), reference, atoms);

  require(std::isfinite(options.low_mode_power) && options.low_mode_power >= 0,
          "low_mode_power: expected finite and >= 0, got ", options.low_mode_power);
  require(std::isfinite(options.low_mode_floor) && options.low_mode_floor > 0,
          "low_mode_floor: expected finite and > 0, got ", options.low_mode_floor);
  if (options.low_mode_power > 0) {
    return weighted_fit(target, reference, atoms, pairs, options);
  }

  // Normal equations: G_ef = (a_e . a_f)^2, c_e = a_e^T T a_e.
  const int64_t m = n_edges;
  RowMatrix gram = RowMatrix::Zero(m, m);
  Eigen::VectorXd c(m);
  std::vector<std::vector<std::pair<int64_t, double>>> incident(
      static_cast<size_t>(atoms));  // (edge, sign)
  for (int64_t e = 0; e < m; ++e) {
    const SpringEdge& edge = pairs[size_t(e)];
    const int64_t i = 3 * edge.i, j = 3 * edge.j;
    const Eigen::Matrix3d block = target.block<3, 3>(i, i) + target.block<3, 3>(j, j) -
                                  target.block<3, 3>(i, j) - target.block<3, 3>(j, i);
    c[e] = edge.u.dot(block * edge.u);
    gram(e, e) = 4.0;
    incident[size_t(edge.i)].push_back({e, 1.0});
    incident[size_t(edge.j)].push_back({e, -1.0});
  }
  for (const auto& list : incident) {
    for (size_t p = 0; p < list.size(); ++p) {
      for (size_t q = p + 1; q < list.size(); ++q) {
        const double dot = pairs[size_t(list[p].first)].u.dot(pairs[size_t(list[q].first)].u);
        gram(list[p].first, list[q].first) = gram(list[q].first, list[p].first) = dot * dot;
      }
    }
  }
  HessianFit fit = solve_and_score(gram.data(), c.data(), m, options, pairs, target, atoms);
  fit.weighted_relative_residual = fit.relative_residual;
  return fit;
}

HessianFit hessian_fitted_springs(EnergyOracle& oracle, const double* reference,
                                  const int64_t* edges, int64_t n_edges,
                                  const HessianFitOptions& options,
                                  std::vector<double>* hessian_out) {
  std::vector<double> h = force_field_hessian(oracle, reference, options.hessian);
  HessianFit fit =
      fit_springs_to_hessian(h.data(), reference, oracle.atoms(), edges, n_edges, options);
  if (hessian_out != nullptr) *hessian_out = std::move(h);
  return fit;
}

}  // namespace energyloss
