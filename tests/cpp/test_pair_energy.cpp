// The fused pair kernel against an independent, naive double loop; gradients
// against central finite differences; symmetries; minimisers; bad input.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "../support/random_values.h"
#include "energyloss/error.h"
#include "energyloss/pair_energy.h"

namespace energyloss {
namespace {

using test_support::central_difference;
using test_support::expect_error;
using test_support::normal_values;

using Vec = std::vector<double>;

// k(r) written out from the paper's definitions, independently of coefficients.h.
double naive_k(const std::string& mode, double r, int64_t atoms) {
  if (mode == "constant") return 1.0;
  if (mode == "exp") return 24.0 / atoms * std::exp(-r);
  if (mode == "inv") return 3.7 / atoms / (r + 1e-5);
  if (mode == "inv2") return 9.0 / atoms / (r * r + 1e-5);
  if (mode == "lj") return 72.0 / (r * r);
  if (mode == "morse") return 2.0;
  ADD_FAILURE() << "no naive k for " << mode;
  return 0;
}

// Energy of one system over all real pairs (or the given edges).
double naive_energy(const std::string& mode, const double* pred, const double* ref, int64_t n,
                    int64_t dim, const bool* mask = nullptr,
                    const std::vector<std::array<int64_t, 2>>* edges = nullptr,
                    const Vec* weights = nullptr) {
  int64_t atoms = 0;
  for (int64_t i = 0; i < n; ++i) atoms += (mask == nullptr || mask[i]) ? 1 : 0;
  auto dist = [&](const double* x, int64_t i, int64_t j) {
    double s = 0;
    for (int64_t c = 0; c < dim; ++c)
      s += (x[i * dim + c] - x[j * dim + c]) * (x[i * dim + c] - x[j * dim + c]);
    return std::sqrt(s);
  };
  auto term = [&](int64_t i, int64_t j, double w) {
    if (mask != nullptr && (!mask[i] || !mask[j])) return 0.0;
    const double r0 = dist(ref, i, j), r = dist(pred, i, j);
    const double k = mode == "explicit" ? w : w * naive_k(mode, r0, atoms);
    return 0.5 * k * (r - r0) * (r - r0);
  };
  double energy = 0;
  if (edges != nullptr) {
    for (size_t e = 0; e < edges->size(); ++e)
      energy += term((*edges)[e][0], (*edges)[e][1], weights ? (*weights)[e] : 1.0);
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) energy += term(i, j, 1.0);
  }
  return energy;
}

struct Result {
  Vec energy, grad_pred, grad_ref;
};

Result run(const std::string& mode, const Vec& pred, const Vec& ref, int64_t B, int64_t N,
           int64_t dim, const bool* mask = nullptr, const int64_t* edges = nullptr,
           int64_t n_edges = 0, bool per_system = false, const double* weights = nullptr,
           double cutoff = INFINITY) {
  PairLossInput<double> in;
  in.pred = pred.data();
  in.ref = ref.data();
  in.layout = {B, N, dim, mask};
  in.edges = edges;
  in.n_edges = n_edges;
  in.edges_per_system = per_system;
  in.edge_weights = weights;
  in.cutoff = cutoff;
  Result result{Vec(B), Vec(B * N * dim), Vec(B * N * dim)};
  PairLossOutput<double> out;
  out.energy = result.energy.data();
  out.grad_pred = result.grad_pred.data();
  out.grad_ref = result.grad_ref.data();
  pair_energy_loss(in, CoefficientSpec::preset(parse_coefficient_mode(mode)), out);
  return result;
}

class PairModes : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(PairModes, MatchesNaiveFormulaAndFiniteDifferences) {
  const auto [mode, dim] = GetParam();
  std::mt19937_64 rng(7);
  const int64_t B = 3, N = 11;
  const Vec ref = normal_values(B * N * dim, rng);
  Vec pred = ref;
  for (auto& v : pred) v += 0.3 * std::normal_distribution<double>()(rng);
  const Result result = run(mode, pred, ref, B, N, dim);
  for (int64_t b = 0; b < B; ++b) {
    const double expected =
        naive_energy(mode, pred.data() + b * N * dim, ref.data() + b * N * dim, N, dim);
    EXPECT_NEAR(result.energy[b], expected, 1e-12 * std::max(1.0, std::abs(expected)));
  }
  // Central differences of the total energy with respect to every coordinate.
  const double h = 1e-6;
  for (int which = 0; which < 2; ++which) {
    for (int64_t index = 0; index < B * N * dim; index += 5) {
      const int64_t b = index / (N * dim);
      Vec moved = which == 0 ? pred : ref;
      const double numeric = central_difference(
          moved, size_t(index),
          [&](const Vec& x) {
            return (which == 0 ? run(mode, x, ref, B, N, dim) : run(mode, pred, x, B, N, dim))
                .energy[b];
          },
          h);
      const double analytic = (which == 0 ? result.grad_pred : result.grad_ref)[index];
      EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
          << mode << (which == 0 ? " pred" : " ref") << " coordinate " << index;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllModes, PairModes,
                         ::testing::Combine(::testing::Values("constant", "exp", "inv", "inv2",
                                                              "lj", "morse"),
                                            ::testing::Values(2, 3)));

// The presets are the reference code's, made for angstrom: preset(mode, a)
// gives the same loss for the structure in a unit of which 1 A is a (issue
// 14, fault 10), against the naive formula on the angstrom coordinates.
TEST(PairEnergy, PresetsConvertedToOtherLengthUnitsGiveTheSameLoss) {
  std::mt19937_64 rng(17);
  const int64_t N = 9;
  const Vec ref = normal_values(N * 3, rng, 1.5);  // angstrom
  Vec pred = ref;
  for (auto& v : pred) v += 0.2 * std::normal_distribution<double>()(rng);
  for (const double angstrom : {0.1, 1e-10, 1.8897261246257702, 1.0}) {  // nm, m, bohr, A
    Vec ref_u = ref, pred_u = pred;
    for (auto& v : ref_u) v *= angstrom;
    for (auto& v : pred_u) v *= angstrom;
    for (const std::string mode : {"constant", "exp", "inv", "inv2", "lj", "morse"}) {
      PairLossInput<double> in;
      in.pred = pred_u.data();
      in.ref = ref_u.data();
      in.layout = {1, N, 3, nullptr};
      double energy = 0;
      PairLossOutput<double> out;
      out.energy = &energy;
      pair_energy_loss(in, CoefficientSpec::preset(parse_coefficient_mode(mode), angstrom), out);
      const double expected = naive_energy(mode, pred.data(), ref.data(), N, 3);
      EXPECT_GT(expected, 0.0);
      EXPECT_NEAR(energy, expected, 1e-10 * expected) << mode << ", 1 A = " << angstrom;
    }
  }
  expect_error([] { CoefficientSpec::preset(CoefficientMode::Exp, 0.0); },
               "one angstrom must be a finite, positive length");
}

TEST(PairEnergy, FloatAgreesWithDouble) {
  std::mt19937_64 rng(3);
  const int64_t N = 300, dim = 3;
  const Vec ref = normal_values(N * dim, rng), pred = normal_values(N * dim, rng);
  std::vector<float> reff(ref.begin(), ref.end()), predf(pred.begin(), pred.end());
  float energy = 0;
  std::vector<float> grad(N * dim);
  PairLossInput<float> in;
  in.pred = predf.data();
  in.ref = reff.data();
  in.layout = {1, N, dim, nullptr};
  PairLossOutput<float> out;
  out.energy = &energy;
  out.grad_pred = grad.data();
  pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Exp), out);
  const Result exact = run("exp", pred, ref, 1, N, dim);
  EXPECT_NEAR(energy, exact.energy[0], 1e-4 * exact.energy[0]);
  for (int64_t i = 0; i < N * dim; ++i) EXPECT_NEAR(grad[i], exact.grad_pred[i], 1e-3);
}

TEST(PairEnergy, MaskedAtomsAreIgnoredAndCountTowardsNothing) {
  std::mt19937_64 rng(11);
  const int64_t N = 9, dim = 3, real_atoms = 6;
  Vec ref = normal_values(N * dim, rng), pred = normal_values(N * dim, rng);
  bool mask[N];
  for (int64_t i = 0; i < N; ++i) mask[i] = i < real_atoms;
  const Result padded = run("exp", pred, ref, 1, N, dim, mask);
  // The same system without padding: exp's preset divides by 6 real atoms.
  const Vec ref6(ref.begin(), ref.begin() + real_atoms * dim);
  const Vec pred6(pred.begin(), pred.begin() + real_atoms * dim);
  const Result trimmed = run("exp", pred6, ref6, 1, real_atoms, dim);
  EXPECT_NEAR(padded.energy[0], trimmed.energy[0], 1e-12);
  for (int64_t i = 0; i < real_atoms * dim; ++i)
    EXPECT_NEAR(padded.grad_pred[i], trimmed.grad_pred[i], 1e-12);
  for (int64_t i = real_atoms * dim; i < N * dim; ++i) EXPECT_EQ(padded.grad_pred[i], 0.0);
  // Moving a padding atom changes nothing.
  pred[N * dim - 1] += 5.0;
  EXPECT_EQ(run("exp", pred, ref, 1, N, dim, mask).energy[0], padded.energy[0]);
}

TEST(PairEnergy, AnEmptyEdgeListHasNoPairs) {
  // An empty vector's data() may be null, which marks the complete graph:
  // edge_array() hands over a list with no edges instead.
  const int64_t B = 2, N = 4, dim = 3;
  Vec pred(B * N * dim), ref(B * N * dim);
  for (size_t v = 0; v < pred.size(); ++v) {
    ref[v] = std::sin(0.7 * double(v));
    pred[v] = ref[v] + 0.1 * std::cos(1.3 * double(v));
  }
  const std::vector<int64_t> no_edges;
  const Result result = run("exp", pred, ref, B, N, dim, nullptr, edge_array(no_edges.data()), 0);
  for (double e : result.energy) EXPECT_EQ(e, 0.0);
  for (double g : result.grad_pred) EXPECT_EQ(g, 0.0);
  const Result complete = run("exp", pred, ref, B, N, dim);  // edges = nullptr
  EXPECT_GT(complete.energy[0], 0.0);
  EXPECT_NE(edge_array<int64_t>(nullptr), nullptr);
}

TEST(PairEnergy, EdgeListsSharedPerSystemWeightedAndExplicit) {
  std::mt19937_64 rng(5);
  const int64_t B = 2, N = 7, dim = 2;
  const Vec ref = normal_values(B * N * dim, rng), pred = normal_values(B * N * dim, rng);
  const std::vector<std::array<int64_t, 2>> edges = {{0, 1}, {1, 2}, {2, 6}, {3, 5}, {4, 0}};
  const Vec weights = {0.5, 2.0, 1.0, 0.0, 3.0};
  std::vector<int64_t> flat;
  for (auto [i, j] : edges) flat.insert(flat.end(), {i, j});
  const Result shared =
      run("inv2", pred, ref, B, N, dim, nullptr, flat.data(), 5, false, weights.data());
  const Result explicit_k =
      run("explicit", pred, ref, B, N, dim, nullptr, flat.data(), 5, false, weights.data());
  for (int64_t b = 0; b < B; ++b) {
    const double* p = pred.data() + b * N * dim;
    const double* y = ref.data() + b * N * dim;
    EXPECT_NEAR(shared.energy[b], naive_energy("inv2", p, y, N, dim, nullptr, &edges, &weights),
                1e-12);
    EXPECT_NEAR(explicit_k.energy[b],
                naive_energy("explicit", p, y, N, dim, nullptr, &edges, &weights), 1e-12);
  }
  // Per-system lists with padding rows: system 1 keeps only its first two edges.
  std::vector<int64_t> per_system = flat;
  per_system.insert(per_system.end(), {0, 1, 1, 2, -1, -1, -1, -1, -1, -1});
  const Result split = run("exp", pred, ref, B, N, dim, nullptr, per_system.data(), 5, true);
  const std::vector<std::array<int64_t, 2>> first_two(edges.begin(), edges.begin() + 2);
  EXPECT_NEAR(split.energy[0],
              naive_energy("exp", pred.data(), ref.data(), N, dim, nullptr, &edges), 1e-12);
  EXPECT_NEAR(
      split.energy[1],
      naive_energy("exp", pred.data() + N * dim, ref.data() + N * dim, N, dim, nullptr, &first_two),
      1e-12);
}

TEST(PairEnergy, CutoffKeepsOnlyShortReferencePairs) {
  std::mt19937_64 rng(9);
  const int64_t N = 20, dim = 3;
  const Vec ref = normal_values(N * dim, rng), pred = normal_values(N * dim, rng);
  const double cutoff = 1.2;
  std::vector<std::array<int64_t, 2>> near;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = i + 1; j < N; ++j) {
      double s = 0;
      for (int c = 0; c < dim; ++c) s += std::pow(ref[i * dim + c] - ref[j * dim + c], 2);
      if (std::sqrt(s) < cutoff) near.push_back({i, j});
    }
  ASSERT_GT(near.size(), 5u);
  ASSERT_LT(near.size(), size_t(N * (N - 1) / 2));
  const Result result =
      run("exp", pred, ref, 1, N, dim, nullptr, nullptr, 0, false, nullptr, cutoff);
  EXPECT_NEAR(result.energy[0],
              naive_energy("exp", pred.data(), ref.data(), N, dim, nullptr, &near), 1e-12);
}

Eigen::MatrixXd as_matrix(const Vec& x, int64_t n, int64_t dim) {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      x.data(), n, dim);
}

// Kabsch RMSD allowing reflections (the loss is E(d)-invariant).
double isometry_rmsd(const Vec& a, const Vec& b, int64_t n, int64_t dim) {
  Eigen::MatrixXd A = as_matrix(a, n, dim), B = as_matrix(b, n, dim);
  A.rowwise() -= A.colwise().mean();
  B.rowwise() -= B.colwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(A.transpose() * B,
                                        Eigen::ComputeFullU | Eigen::ComputeFullV);
  const Eigen::MatrixXd R = svd.matrixU() * svd.matrixV().transpose();
  return std::sqrt((A * R - B).squaredNorm() / n);
}

TEST(PairEnergy, IsometriesOfEitherArgumentLeaveItUnchanged) {
  std::mt19937_64 rng(13);
  const int64_t N = 15, dim = 3;
  const Vec ref = normal_values(N * dim, rng), pred = normal_values(N * dim, rng);
  const double base = run("exp", pred, ref, 1, N, dim).energy[0];
  // Random orthogonal matrix (rotation or reflection) and translation.
  Eigen::Matrix3d Q = Eigen::Matrix3d::Random().householderQr().householderQ();
  for (int reflect = 0; reflect < 2; ++reflect) {
    if (reflect) Q.col(0) *= -1;
    for (int which = 0; which < 2; ++which) {
      Vec moved = which == 0 ? pred : ref;
      for (int64_t i = 0; i < N; ++i) {
        Eigen::Vector3d v(moved[3 * i], moved[3 * i + 1], moved[3 * i + 2]);
        v = Q * v + Eigen::Vector3d(0.3, -2.0, 1.5);
        for (int c = 0; c < 3; ++c) moved[3 * i + c] = v[c];
      }
      const double energy = which == 0 ? run("exp", moved, ref, 1, N, dim).energy[0]
                                       : run("exp", pred, moved, 1, N, dim).energy[0];
      EXPECT_NEAR(energy, base, 1e-10 * base);
    }
  }
}

TEST(PairEnergy, AutomorphismsOfTheReferenceLeaveItUnchanged) {
  // A regular hexagon: rotating the labels by one vertex is an automorphism
  // of its distance matrix, so permuting the prediction the same way keeps E.
  const int64_t N = 6, dim = 2;
  Vec ref(N * dim), pred(N * dim);
  std::mt19937_64 rng(17);
  for (int64_t i = 0; i < N; ++i) {
    ref[2 * i] = std::cos(2 * M_PI * i / N);
    ref[2 * i + 1] = std::sin(2 * M_PI * i / N);
  }
  pred = normal_values(N * dim, rng);
  const double base = run("exp", pred, ref, 1, N, dim).energy[0];
  for (int64_t shift = 1; shift < N; ++shift) {
    Vec permuted(N * dim), mirrored(N * dim);
    for (int64_t i = 0; i < N; ++i)
      for (int c = 0; c < 2; ++c) {
        permuted[2 * ((i + shift) % N) + c] = pred[2 * i + c];
        mirrored[2 * ((N - i + shift) % N) + c] = pred[2 * i + c];
      }
    EXPECT_NEAR(run("exp", permuted, ref, 1, N, dim).energy[0], base, 1e-12);
    EXPECT_NEAR(run("exp", mirrored, ref, 1, N, dim).energy[0], base, 1e-12);
  }
  // A permutation that is not an automorphism changes the energy.
  Vec swapped = pred;
  std::swap(swapped[0], swapped[2]);
  std::swap(swapped[1], swapped[3]);
  EXPECT_GT(std::abs(run("exp", swapped, ref, 1, N, dim).energy[0] - base), 1e-6);
}

Vec descend(const std::string& mode, Vec pred, const Vec& ref, int64_t N, int64_t dim,
            const std::vector<int64_t>* edges = nullptr) {
  const int64_t E = edges ? int64_t(edges->size() / 2) : 0;
  double step = 0.5;
  double energy =
      run(mode, pred, ref, 1, N, dim, nullptr, edges ? edges->data() : nullptr, E).energy[0];
  for (int iteration = 0; iteration < 20000 && energy > 1e-16; ++iteration) {
    const Result r = run(mode, pred, ref, 1, N, dim, nullptr, edges ? edges->data() : nullptr, E);
    Vec trial = pred;
    for (size_t i = 0; i < trial.size(); ++i) trial[i] -= step * r.grad_pred[i];
    const double next =
        run(mode, trial, ref, 1, N, dim, nullptr, edges ? edges->data() : nullptr, E).energy[0];
    if (next < energy) {
      pred = trial;
      energy = next;
      step *= 1.2;
    } else {
      step *= 0.5;
    }
  }
  return pred;
}

TEST(PairEnergy, GradientDescentReachesAnIsometricCopyOfTheTarget) {
  std::mt19937_64 rng(21);
  const int64_t N = 10, dim = 3;
  const Vec ref = normal_values(N * dim, rng);
  Vec start = ref;
  for (auto& v : start) v += 0.4 * std::normal_distribution<double>()(rng);
  ASSERT_GT(isometry_rmsd(start, ref, N, dim), 0.1);
  EXPECT_LT(isometry_rmsd(descend("constant", start, ref, N, dim), ref, N, dim), 1e-3);
  // A 6-regular graph on 10 vertices (circulant C10(1,2,3)) is globally rigid
  // in 3D at generic positions: the sparse loss has the same minimisers.
  std::vector<int64_t> edges;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t s = 1; s <= 3; ++s) edges.insert(edges.end(), {i, (i + s) % N});
  EXPECT_LT(isometry_rmsd(descend("constant", start, ref, N, dim, &edges), ref, N, dim), 1e-3);
}

TEST(PairEnergy, CoincidentAtomsGiveZeroGradientNotNaN) {
  const Vec ref = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  const Vec pred = {0.5, 0.5, 0, 0.5, 0.5, 0, 2, 2, 0};  // atoms 0 and 1 coincide
  for (const char* mode : {"exp", "inv", "inv2", "lj", "constant"}) {
    const Result result = run(mode, pred, ref, 1, 3, 3);
    EXPECT_TRUE(std::isfinite(result.energy[0])) << mode;
    for (double g : result.grad_pred) EXPECT_TRUE(std::isfinite(g)) << mode;
    for (double g : result.grad_ref) EXPECT_TRUE(std::isfinite(g)) << mode;
  }
  // Coincident reference atoms too.
  const Result same = run("exp", ref, Vec{0, 0, 0, 0, 0, 0, 1, 1, 1}, 1, 3, 3);
  for (double g : same.grad_ref) EXPECT_TRUE(std::isfinite(g));
}

TEST(PairEnergy, BadInputIsRejectedWithAClearMessage) {
  const Vec x = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  expect_error([&] { run("exp", Vec(12, 0.0), Vec(12, 0.0), 1, 3, 4); }, "2 or 3 coordinates");
  Vec nan = x;
  nan[4] = NAN;
  expect_error([&] { run("exp", nan, x, 1, 3, 3); }, "pred has a non-finite value");
  expect_error([&] { run("exp", x, nan, 1, 3, 3); }, "atom 1, coordinate 1");
  const bool none[3] = {false, false, false};
  expect_error([&] { run("exp", x, x, 1, 3, 3, none); }, "selects no atom");
  const int64_t out_of_range[2] = {0, 3};
  expect_error([&] { run("exp", x, x, 1, 3, 3, nullptr, out_of_range, 1); }, "out of range");
  const int64_t self_loop[2] = {1, 1};
  expect_error([&] { run("exp", x, x, 1, 3, 3, nullptr, self_loop, 1); }, "to itself");
  const int64_t half_padding[2] = {-1, 2};
  expect_error([&] { run("exp", x, x, 1, 3, 3, nullptr, half_padding, 1); }, "half padding");
  const int64_t edge[2] = {0, 2};
  const double negative = -1.0;
  expect_error([&] { run("explicit", x, x, 1, 3, 3, nullptr, edge, 1, false, &negative); },
               "coefficient -1");
  expect_error([&] { run("explicit", x, x, 1, 3, 3); }, "needs an edge list");
  expect_error([&] { parse_coefficient_mode("gaussian"); }, "unknown coefficient mode 'gaussian'");
  CoefficientSpec spec = CoefficientSpec::preset(CoefficientMode::Exp);
  spec.k0 = -2.0;
  expect_error([&] { check_coefficient_spec(spec); }, "k0 must be finite and non-negative");
  spec = CoefficientSpec::preset(CoefficientMode::Inv);
  spec.eps = 0.0;
  expect_error([&] { check_coefficient_spec(spec); }, "eps must be positive");
}

// The raw C++ API's contract: arguments that no tensor adapter would build,
// but a direct caller can, are refused by name instead of read wrongly.
TEST(PairEnergy, RawArgumentsOutsideTheContractAreRefused) {
  const Vec x = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  Vec energy(1);
  PairLossInput<double> in;
  in.pred = in.ref = x.data();
  in.layout = {1, 3, 3, nullptr};
  PairLossOutput<double> out;
  out.energy = energy.data();
  const CoefficientSpec exp = CoefficientSpec::preset(CoefficientMode::Exp);
  auto call = [&](const CoefficientSpec& spec) { pair_energy_loss(in, spec, out); };

  in.n_edges = 2;  // a count without a list: was the complete graph
  expect_error([&] { call(exp); }, {"n_edges is 2", "edges is null"});
  in.n_edges = 0;
  in.edges_per_system = true;
  expect_error([&] { call(exp); }, "edges_per_system is set but edges is null");
  in.edges_per_system = false;
  in.row_end = -2;  // only -1 means "to the last row"
  expect_error([&] { call(exp); }, "row range [0, -2)");
  in.row_end = -1;
  in.layout = {1 << 20, int64_t(1) << 42, 3, nullptr};  // 2^62 x 3 values
  expect_error([&] { call(exp); }, "more values than memory can hold");
  in.layout = {1, 3, 3, nullptr};

  CoefficientSpec bad_mode = exp;
  bad_mode.mode = static_cast<CoefficientMode>(42);  // was: k never written
  expect_error([&] { call(bad_mode); }, "coefficient mode 42 is not a CoefficientMode");
  // morse's k = 2 k0 / length_scale^2 overflows a double at length_scale
  // 1e-200, though length_scale itself is a normal double.
  CoefficientSpec morse = CoefficientSpec::preset(CoefficientMode::Morse);
  morse.length_scale = 1e-200;
  expect_error([&] { check_coefficient_spec(morse); }, "'morse': k overflows a double");
  morse.length_scale = 1e-100;  // k = 2e200: fits a double
  EXPECT_DOUBLE_EQ(peak_coefficient(morse), 2.0 / (1e-100 * 1e-100));
  EXPECT_NO_THROW(call(morse));
  PairLossInput<float> in_float;
  const std::vector<float> x_float(x.begin(), x.end());
  in_float.pred = in_float.ref = x_float.data();
  in_float.layout = in.layout;
  std::vector<float> energy_float(1);
  PairLossOutput<float> out_float;
  out_float.energy = energy_float.data();
  morse.length_scale = 1e-20;  // a normal float, but k = 2e40 is not
  EXPECT_NO_THROW(call(morse));
  expect_error([&] { pair_energy_loss(in_float, morse, out_float); },
               {"mode 'morse' gives k up to 2e+40", "beyond the largest float"});
}

// Finite input whose loss does not fit the dtype: |x| ~ 1e308 makes the
// distances inf and their difference NaN. Refused, naming the system, before
// any output is written.
TEST(PairEnergy, AnOverflowingLossIsRefusedNotPassedOnAsNaN) {
  const Vec ref = {0, 0, 0, 1, 0, 0, 0, 1, 0, /* system 1 */ 0, 0, 0, 1, 0, 0, 0, 1, 0};
  Vec pred = ref;
  pred[9 + 3] = 1e308;
  pred[9 + 6] = -1e308;
  Result result{{-7.0, -7.0}, {}, {}};
  PairLossInput<double> in;
  in.pred = pred.data();
  in.ref = ref.data();
  in.layout = {2, 3, 3, nullptr};
  PairLossOutput<double> out;
  out.energy = result.energy.data();
  expect_error(
      [&] { pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Constant), out); },
      {"the loss of system 1 overflows double", "rescale"});
  EXPECT_EQ(result.energy, Vec({-7.0, -7.0}));  // nothing written
  pred[9 + 3] = 1e150;  // large but representable: a finite loss, as the naive sum
  pred[9 + 6] = -1e150;
  pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Constant), out);
  EXPECT_DOUBLE_EQ(result.energy[1],
                   naive_energy("constant", pred.data() + 9, ref.data() + 9, 3, 3));
}

// The one list of mode names: every CoefficientMode, in enum order, each
// parsing back to its mode; the unknown-mode error lists them.
TEST(PairEnergy, CoefficientModeNamesListEveryModeInOrder) {
  const std::vector<std::string> names = coefficient_mode_names();
  const std::vector<std::string> expected = {"constant", "exp",   "inv",     "inv2",
                                             "lj",       "morse", "explicit"};
  EXPECT_EQ(names, expected);
  for (size_t m = 0; m < names.size(); ++m) {
    const auto mode = static_cast<CoefficientMode>(m);
    EXPECT_EQ(names[m], coefficient_mode_name(mode));
    EXPECT_EQ(parse_coefficient_mode(names[m]), mode);
  }
  expect_error([&] { parse_coefficient_mode("quartic"); },
               "expected one of constant, exp, inv, inv2, lj, morse, explicit");
}

// An empty batch (B = 0) is valid and writes nothing: outputs may be null.
// Bad sizes other than the batch are still refused.
TEST(PairEnergy, EmptyBatchWritesNothing) {
  PairLossInput<double> in;
  in.layout = BatchLayout{0, 4, 3, nullptr};
  PairLossOutput<double> out;  // all null
  const CoefficientSpec spec = CoefficientSpec::preset(CoefficientMode::Exp);
  EXPECT_NO_THROW(pair_energy_loss(in, spec, out));
  in.layout.atoms = 0;
  expect_error([&] { pair_energy_loss(in, spec, out); }, "no atoms");
  in.layout = BatchLayout{0, 4, 4, nullptr};
  expect_error([&] { pair_energy_loss(in, spec, out); }, "2 or 3 coordinates");
}

}  // namespace
}  // namespace energyloss
