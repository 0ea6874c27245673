// Analytic oracles against hand formulas and finite differences of their own
// energies.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"

namespace energyloss {
namespace {

using test_support::central_difference;
using test_support::expect_error;

std::vector<double> random_cluster(int64_t atoms, int64_t batch, unsigned seed, double spread) {
  // Atoms on a jittered cubic grid of spacing 1.1, so no pair is very close.
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(-spread, spread);
  std::vector<double> x(static_cast<size_t>(batch * atoms * 3));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < atoms; ++i) {
      const int64_t grid[3] = {i % 2, (i / 2) % 2, i / 4};
      for (int c = 0; c < 3; ++c) x[size_t((b * atoms + i) * 3 + c)] = 1.1 * grid[c] + jitter(rng);
    }
  }
  return x;
}

// Central differences of the energy, compared with the oracle's forces.
void expect_forces_match_energy(EnergyOracle& oracle, std::vector<double> x, int64_t batch,
                                double tolerance) {
  const int64_t stride = oracle.atoms() * 3;
  std::vector<double> energies(static_cast<size_t>(batch)), forces(x.size());
  oracle.evaluate(x.data(), batch, energies.data(), forces.data());
  const double h = 1e-6;
  for (size_t n = 0; n < x.size(); ++n) {
    const size_t b = n / size_t(stride);
    const auto energy = [&](const std::vector<double>& moved) {
      double value = 0;
      oracle.evaluate(moved.data() + b * size_t(stride), 1, &value, nullptr);
      return value;
    };
    EXPECT_NEAR(forces[n], -central_difference(x, n, energy, h),
                tolerance * (1 + std::abs(forces[n])))
        << oracle.describe() << " coordinate " << n;
  }
}

double lj(double r, double epsilon, double sigma) {
  return 4 * epsilon * (std::pow(sigma / r, 12) - std::pow(sigma / r, 6));
}

TEST(AnalyticOracles, LennardJonesDimerMatchesHandFormula) {
  const double epsilon = 0.7, sigma = 1.3, r = 1.6;
  auto oracle = make_lennard_jones_oracle(2, epsilon, sigma);
  // Pair along a skew direction.
  const double u[3] = {2 / 3.0, -1 / 3.0, 2 / 3.0};
  std::vector<double> x = {0.5, 0.2, -0.1, 0.5 + r * u[0], 0.2 + r * u[1], -0.1 + r * u[2]};
  double energy = 0;
  std::vector<double> forces(6);
  oracle->evaluate(x.data(), 1, &energy, forces.data());
  EXPECT_NEAR(energy, lj(r, epsilon, sigma), 1e-12);
  const double dv =
      4 * epsilon *
      (-12 * std::pow(sigma, 12) / std::pow(r, 13) + 6 * std::pow(sigma, 6) / std::pow(r, 7));
  for (int c = 0; c < 3; ++c) {
    // The force on atom 1 (at x0 + r u) is -V'(r) u; atom 0 gets the opposite.
    EXPECT_NEAR(forces[3 + size_t(c)], -dv * u[c], 1e-12);
    EXPECT_NEAR(forces[size_t(c)], dv * u[c], 1e-12);
  }
  EXPECT_EQ(oracle->units().length, "lj");
  EXPECT_EQ(oracle->units().energy, "lj");
  EXPECT_EQ(oracle->atoms(), 2);
}

TEST(AnalyticOracles, LennardJonesMinimumHasZeroForce) {
  auto oracle = make_lennard_jones_oracle(2, 2.0, 1.0);
  const double rm = std::pow(2.0, 1.0 / 6.0);
  std::vector<double> x = {0, 0, 0, 0, rm, 0}, forces(6);
  double energy = 0;
  oracle->evaluate(x.data(), 1, &energy, forces.data());
  EXPECT_NEAR(energy, -2.0, 1e-12);
  for (double f : forces) EXPECT_NEAR(f, 0.0, 1e-12);
}

TEST(AnalyticOracles, CutoffTruncatesAndShifts) {
  const double cutoff = 2.5;
  auto oracle = make_lennard_jones_oracle(2, 1.0, 1.0, cutoff);
  double energy = 0;
  std::vector<double> forces(6);
  std::vector<double> inside = {0, 0, 0, 1.5, 0, 0}, outside = {0, 0, 0, 2.6, 0, 0};
  oracle->evaluate(inside.data(), 1, &energy, forces.data());
  EXPECT_NEAR(energy, lj(1.5, 1, 1) - lj(cutoff, 1, 1), 1e-12);
  oracle->evaluate(outside.data(), 1, &energy, forces.data());
  EXPECT_EQ(energy, 0.0);
  for (double f : forces) EXPECT_EQ(f, 0.0);
}

TEST(AnalyticOracles, MorseDimerMatchesHandFormula) {
  const double depth = 1.5, width = 2.0, r0 = 1.2;
  auto oracle = make_morse_oracle(2, depth, width, r0, std::nullopt, {"angstrom", "eV"});
  for (double r : {0.9, 1.2, 1.7}) {
    std::vector<double> x = {0, 0, 0, 0, 0, r}, forces(6);
    double energy = 0;
    oracle->evaluate(x.data(), 1, &energy, forces.data());
    const double e = std::exp(-width * (r - r0));
    EXPECT_NEAR(energy, depth * ((1 - e) * (1 - e) - 1), 1e-12);
    EXPECT_NEAR(forces[5], -2 * depth * width * (1 - e) * e, 1e-12);
  }
  EXPECT_EQ(oracle->units().length, "angstrom");
  EXPECT_EQ(oracle->units().energy, "eV");
}

TEST(AnalyticOracles, HarmonicBondsSumHalfKStretchSquared) {
  auto oracle = make_harmonic_bond_oracle(3, {{0, 1, 10.0, 1.0}, {1, 2, 4.0, 1.5}});
  std::vector<double> x = {0, 0, 0, 1.2, 0, 0, 1.2, 2.0, 0}, forces(9);
  double energy = 0;
  oracle->evaluate(x.data(), 1, &energy, forces.data());
  EXPECT_NEAR(energy, 0.5 * 10 * 0.2 * 0.2 + 0.5 * 4 * 0.5 * 0.5, 1e-12);
  // Atom 2 is pulled back toward atom 1 along -y with k (r - r0).
  EXPECT_NEAR(forces[7], -4 * 0.5, 1e-12);
  EXPECT_NEAR(forces[0], 10 * 0.2, 1e-12);
}

TEST(AnalyticOracles, ForcesAreMinusEnergyGradient) {
  const int64_t atoms = 7, batch = 3;
  const std::vector<double> x = random_cluster(atoms, batch, 11, 0.15);
  auto lj_full = make_lennard_jones_oracle(atoms, 0.8, 1.0);
  auto lj_cut = make_lennard_jones_oracle(atoms, 0.8, 1.0, 1.9);
  auto morse = make_morse_oracle(atoms, 1.1, 1.7, 1.05);
  auto bonds = make_harmonic_bond_oracle(
      atoms, {{0, 1, 3, 1}, {1, 2, 5, 1.2}, {2, 6, 7, 0.9}, {3, 4, 2, 1.1}, {0, 1, 1, 0.8}});
  expect_forces_match_energy(*lj_full, x, batch, 1e-6);
  expect_forces_match_energy(*lj_cut, x, batch, 1e-6);
  expect_forces_match_energy(*morse, x, batch, 1e-6);
  expect_forces_match_energy(*bonds, x, batch, 1e-6);
}

TEST(AnalyticOracles, BatchEqualsOneByOneAndForcesAreOptional) {
  const int64_t atoms = 6, batch = 5;
  const std::vector<double> x = random_cluster(atoms, batch, 3, 0.2);
  auto oracle = make_morse_oracle(atoms, 1.0, 1.5, 1.1, 2.0);
  std::vector<double> energies(batch), forces(x.size());
  oracle->evaluate(x.data(), batch, energies.data(), forces.data());
  for (int64_t b = 0; b < batch; ++b) {
    double single = 0;
    oracle->evaluate(x.data() + b * atoms * 3, 1, &single, nullptr);
    EXPECT_DOUBLE_EQ(single, energies[size_t(b)]);
  }
}

TEST(AnalyticOracles, PairCurvatureIsSecondDerivative) {
  auto lj_oracle = make_lennard_jones_oracle(2, 0.9, 1.1);
  auto morse = make_morse_oracle(2, 1.3, 1.8, 1.0);
  const double h = 1e-4;
  for (auto* oracle : {static_cast<PairCurvatureOracle*>(lj_oracle.get()),
                       static_cast<PairCurvatureOracle*>(morse.get())}) {
    for (double r : {1.0, 1.25, 1.6}) {
      double e[3];
      for (int s = -1; s <= 1; ++s) {
        std::vector<double> x = {0, 0, 0, r + s * h, 0, 0};
        oracle->evaluate(x.data(), 1, &e[s + 1], nullptr);
      }
      EXPECT_NEAR(oracle->pair_curvature(0, 1, r), (e[2] - 2 * e[1] + e[0]) / (h * h),
                  1e-5 * (1 + std::abs(oracle->pair_curvature(0, 1, r))))
          << oracle->describe() << " r " << r;
    }
  }
}

TEST(AnalyticOracles, BadInputThrowsNamingTheCulprit) {
  EXPECT_THROW(make_lennard_jones_oracle(0, 1, 1), Error);
  EXPECT_THROW(make_lennard_jones_oracle(2, -1, 1), Error);
  EXPECT_THROW(make_lennard_jones_oracle(2, 1, 1, -2.0), Error);
  EXPECT_THROW(make_morse_oracle(2, 1, 0, 1), Error);
  EXPECT_THROW(make_lennard_jones_oracle(2, 1, 1, std::nullopt, {"", "lj"}), Error);
  expect_error([] { make_harmonic_bond_oracle(3, {{0, 1, 1, 1}, {2, 3, 1, 1}}); }, "bonds[1]");
  auto oracle = make_lennard_jones_oracle(2, 1, 1);
  std::vector<double> x = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0};  // entry 1: coincident atoms
  std::vector<double> energies(2);
  expect_error([&] { oracle->evaluate(x.data(), 2, energies.data(), nullptr); }, "batch entry 1");
  x[4] = std::nan("");
  expect_error([&] { oracle->evaluate(x.data(), 1, energies.data(), nullptr); },
               "positions[0, 1, 1]");
}

}  // namespace
}  // namespace energyloss
