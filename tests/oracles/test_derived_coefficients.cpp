// Force-field-derived coefficients: the finite-difference Hessian projection
// against hand-derived curvatures, and the pair energy loss with these k
// against the oracle's own energy change.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../support/expect_error.h"
#include "../support/random_values.h"
#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"
#include "energyloss/oracles/derived_coefficients.h"
#include "energyloss/pair_energy.h"

namespace energyloss {
namespace {

using test_support::error_message;

const double kMinimum = std::pow(2.0, 1.0 / 6.0);  // LJ minimum in units of sigma

std::vector<double> random_positions(int64_t atoms, unsigned seed, double scale) {
  std::mt19937 rng(seed);
  return test_support::normal_values(atoms * 3, rng, scale);
}

double distance(const std::vector<double>& x, int64_t i, int64_t j) {
  double r2 = 0;
  for (int c = 0; c < 3; ++c) r2 += std::pow(x[size_t(3 * i + c)] - x[size_t(3 * j + c)], 2);
  return std::sqrt(r2);
}

// Eq. 7 with explicit k on the given edges.
double pair_loss(const std::vector<double>& pred, const std::vector<double>& ref,
                 const std::vector<int64_t>& edges, const std::vector<double>& k) {
  PairLossInput<double> input;
  input.pred = pred.data();
  input.ref = ref.data();
  input.layout.atoms = int64_t(ref.size() / 3);
  input.edges = edges.data();
  input.n_edges = int64_t(edges.size() / 2);
  input.edge_weights = k.data();
  CoefficientSpec spec;
  spec.mode = CoefficientMode::Explicit;
  spec.k0 = 1.0;
  spec.per_atom = false;
  double energy = 0;
  PairLossOutput<double> output;
  output.energy = &energy;
  pair_energy_loss(input, spec, output);
  return energy;
}

double energy_of(EnergyOracle& oracle, const std::vector<double>& x) {
  double energy = 0;
  oracle.evaluate(x.data(), 1, &energy, nullptr);
  return energy;
}

TEST(DerivedCoefficients, LennardJonesDimerAtMinimumIs72EpsilonOverRmSquared) {
  const double epsilon = 0.7, sigma = 1.3, rm = kMinimum * sigma;
  auto oracle = make_lennard_jones_oracle(2, epsilon, sigma);
  const std::vector<double> ref = {0.1, -0.2, 0.3, 0.1 + rm * 0.6, -0.2, 0.3 + rm * 0.8};
  const std::vector<int64_t> edges = {0, 1};
  const double expected = 72 * epsilon / (rm * rm);
  const DerivedCoefficients numeric = derived_coefficients(*oracle, ref.data(), edges.data(), 1);
  const DerivedCoefficients analytic = analytic_coefficients(*oracle, ref.data(), edges.data(), 1);
  EXPECT_NEAR(numeric.k[0], expected, 1e-6 * expected);
  EXPECT_NEAR(analytic.k[0], expected, 1e-12 * expected);
  EXPECT_EQ(numeric.floored, 0);
}

TEST(DerivedCoefficients, MorseDimerAtR0Is2DaSquared) {
  const double depth = 1.4, width = 1.9, r0 = 1.1;
  auto oracle = make_morse_oracle(2, depth, width, r0);
  const std::vector<double> ref = {0, 0, 0, 0, r0, 0};
  const std::vector<int64_t> edges = {1, 0};
  const double expected = 2 * depth * width * width;
  EXPECT_NEAR(derived_coefficients(*oracle, ref.data(), edges.data(), 1).k[0], expected,
              1e-6 * expected);
  EXPECT_NEAR(analytic_coefficients(*oracle, ref.data(), edges.data(), 1).k[0], expected,
              1e-12 * expected);
}

TEST(DerivedCoefficients, HarmonicBondsGiveTheirOwnK) {
  // Away from equilibrium too: V'' = k at any length, and the transverse
  // Hessian part drops out of the projection.
  const int64_t atoms = 6;
  const std::vector<double> ref = random_positions(atoms, 5, 1.0);
  const std::vector<HarmonicBond> bonds = {{0, 1, 3.0, 1.0},  {1, 2, 5.0, 0.5},  {2, 3, 7.0, 2.0},
                                           {3, 4, 11.0, 1.0}, {4, 5, 13.0, 0.1}, {5, 0, 17.0, 1.5}};
  auto oracle = make_harmonic_bond_oracle(atoms, bonds);
  std::vector<int64_t> edges;
  for (const HarmonicBond& bond : bonds) edges.insert(edges.end(), {bond.i, bond.j});
  const DerivedCoefficients derived =
      derived_coefficients(*oracle, ref.data(), edges.data(), int64_t(bonds.size()));
  for (size_t e = 0; e < bonds.size(); ++e) {
    EXPECT_NEAR(derived.k[e], bonds[e].k, 1e-6 * bonds[e].k) << "edge " << e;
  }
  EXPECT_EQ(derived.floored, 0);
}

TEST(DerivedCoefficients, ColumnAndPerEdgeProbesAgreeWithAnalyticCurvature) {
  // The complete graph of 9 atoms has more edges than 3 x displaced atoms, so
  // the column route is used; a sparse subset takes the per-edge route.
  const int64_t atoms = 9;
  const std::vector<double> ref = random_positions(atoms, 2, 1.2);
  auto oracle = make_morse_oracle(atoms, 1.0, 1.3, 1.0);
  std::vector<int64_t> complete, sparse;
  for (int64_t i = 0; i < atoms; ++i) {
    for (int64_t j = i + 1; j < atoms; ++j) complete.insert(complete.end(), {i, j});
    sparse.insert(sparse.end(), {i, (i + 1) % atoms});
  }
  for (const auto* edges : {&complete, &sparse}) {
    const int64_t n = int64_t(edges->size() / 2);
    DerivedCoefficientOptions options;
    options.chunk = 7;  // several evaluate calls
    const DerivedCoefficients numeric =
        derived_coefficients(*oracle, ref.data(), edges->data(), n, options);
    for (int64_t e = 0; e < n; ++e) {
      const int64_t i = (*edges)[size_t(2 * e)], j = (*edges)[size_t(2 * e + 1)];
      const double expected = oracle->pair_curvature(i, j, distance(ref, i, j));
      EXPECT_NEAR(numeric.curvature[size_t(e)], expected, 1e-6 * (1 + std::abs(expected)))
          << "edge " << i << "-" << j;
    }
  }
}

TEST(DerivedCoefficients, NegativeCurvaturesAreFlooredAndCounted) {
  // Beyond the LJ inflection point (26/7)^(1/6) sigma the curvature is negative.
  auto oracle = make_lennard_jones_oracle(3, 1.0, 1.0);
  const std::vector<double> ref = {0, 0, 0, kMinimum, 0, 0, 0, 1.5, 0};
  const std::vector<int64_t> edges = {0, 1, 0, 2};
  const DerivedCoefficients automatic = analytic_coefficients(*oracle, ref.data(), edges.data(), 2);
  const double largest = 72 / (kMinimum * kMinimum);
  EXPECT_LT(automatic.curvature[1], 0);
  EXPECT_EQ(automatic.floored, 1);
  EXPECT_NEAR(automatic.floor, kRelativeCurvatureFloor * largest, 1e-12);
  EXPECT_EQ(automatic.k[1], automatic.floor);
  EXPECT_NEAR(automatic.k[0], largest, 1e-9);

  DerivedCoefficientOptions options;
  options.floor = 0.5;
  const DerivedCoefficients fixed =
      derived_coefficients(*oracle, ref.data(), edges.data(), 2, options);
  EXPECT_EQ(fixed.floored, 1);
  EXPECT_EQ(fixed.k[1], 0.5);
  EXPECT_NEAR(fixed.k[0], largest, 1e-5 * largest);
}

TEST(DerivedCoefficients, PairLossReproducesHarmonicEnergyChange) {
  // Bonds at rest in the reference: E(ref + delta) - E(ref) is exactly eq. 7
  // with the bond k, so the derived k must reproduce it for any small delta.
  const int64_t atoms = 5;
  const std::vector<double> ref = random_positions(atoms, 8, 1.0);
  std::vector<HarmonicBond> bonds;
  std::vector<int64_t> edges;
  for (int64_t i = 0; i < atoms; ++i) {
    for (int64_t j = i + 1; j < atoms; ++j) {
      bonds.push_back({i, j, 1.0 + double(i + 2 * j), distance(ref, i, j)});
      edges.insert(edges.end(), {i, j});
    }
  }
  auto oracle = make_harmonic_bond_oracle(atoms, bonds);
  const std::vector<double> k =
      derived_coefficients(*oracle, ref.data(), edges.data(), int64_t(bonds.size())).k;
  for (double scale : {1e-2, 1e-3}) {
    std::vector<double> pred = ref;
    const std::vector<double> delta = random_positions(atoms, 9, scale);
    for (size_t n = 0; n < pred.size(); ++n) pred[n] += delta[n];
    const double change = energy_of(*oracle, pred) - energy_of(*oracle, ref);
    EXPECT_NEAR(pair_loss(pred, ref, edges, k), change, 1e-6 * change) << "scale " << scale;
  }
}

TEST(DerivedCoefficients, PairLossMatchesLennardJonesToSecondOrder) {
  // Dimer and equilateral trimer at the LJ minimum: stationary points of a pair
  // potential, so E(ref + delta) - E(ref) = eq. 7 with k = V''(r_m) + O(delta^3).
  for (int64_t atoms : {2, 3}) {
    auto oracle = make_lennard_jones_oracle(atoms, 1.2, 0.9);
    const double rm = kMinimum * 0.9;
    std::vector<double> ref = {0, 0, 0, rm, 0, 0, rm / 2, rm * std::sqrt(3.0) / 2, 0};
    ref.resize(size_t(atoms * 3));
    std::vector<int64_t> edges = {0, 1, 0, 2, 1, 2};
    edges.resize(size_t(atoms * (atoms - 1)));
    const std::vector<double> k =
        derived_coefficients(*oracle, ref.data(), edges.data(), int64_t(edges.size() / 2)).k;
    double previous_error = 0;
    for (double scale : {1e-2, 1e-3}) {
      std::vector<double> pred = ref;
      const std::vector<double> delta = random_positions(atoms, 4, scale);
      for (size_t n = 0; n < pred.size(); ++n) pred[n] += delta[n];
      const double change = energy_of(*oracle, pred) - energy_of(*oracle, ref);
      const double relative_error = std::abs(pair_loss(pred, ref, edges, k) - change) / change;
      EXPECT_LT(relative_error, 50 * scale) << atoms << " atoms, scale " << scale;
      // Third-order remainder: the relative error shrinks linearly with delta.
      if (previous_error > 0) {
        EXPECT_LT(relative_error, 0.2 * previous_error);
      }
      previous_error = relative_error;
    }
  }
}

TEST(DerivedCoefficients, BadInputThrowsNamingTheCulprit) {
  auto oracle = make_lennard_jones_oracle(3, 1.0, 1.0);
  const std::vector<double> ref = {0, 0, 0, 1, 0, 0, 1, 0, 0};
  const std::vector<int64_t> out_of_range = {0, 1, 0, 3}, coincident = {1, 2}, self = {1, 1};
  const auto message = [&](const std::vector<int64_t>& edges, DerivedCoefficientOptions options) {
    return error_message([&] {
      derived_coefficients(*oracle, ref.data(), edges.data(), int64_t(edges.size() / 2), options);
    });
  };
  EXPECT_NE(message(out_of_range, {}).find("edges[1]"), std::string::npos);
  EXPECT_NE(message(coincident, {}).find("coincide"), std::string::npos);
  EXPECT_NE(message(self, {}).find("edges[0]"), std::string::npos);
  DerivedCoefficientOptions bad_step;
  bad_step.step = 0;
  EXPECT_NE(message({0, 1}, bad_step).find("step"), std::string::npos);
  DerivedCoefficientOptions bad_floor;
  bad_floor.floor = -1.0;
  EXPECT_NE(message({0, 1}, bad_floor).find("floor"), std::string::npos);
}

}  // namespace
}  // namespace energyloss
