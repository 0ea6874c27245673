// Spin kernels against independent computations: an O(n^2) adjacency-lookup
// energy, central finite differences, closed-form per-site losses, and a
// Gray-code brute force over all 2^(L^2) configurations.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "energyloss/error.h"
#include "energyloss/spins.h"

namespace energyloss {
namespace {

using test_support::central_gradient;
using test_support::expect_error;

template <typename T>
struct Lattices {
  int64_t batch = 1, side = 0;
  std::vector<T> horizontal, vertical;  // [batch, L, L-1], [batch, L-1, L]

  SpinLattice<T> view() const { return {batch, side, horizontal.data(), vertical.data()}; }
  Lattices one(int64_t b) const {
    const int64_t bonds = side * (side - 1);
    return {1,
            side,
            {horizontal.begin() + b * bonds, horizontal.begin() + (b + 1) * bonds},
            {vertical.begin() + b * bonds, vertical.begin() + (b + 1) * bonds}};
  }
};

// Spin-glass couplings uniform in [-1, 1], as in the paper.
template <typename T>
Lattices<T> random_lattices(int64_t batch, int64_t side, std::mt19937& rng) {
  std::uniform_real_distribution<double> coupling(-1.0, 1.0);
  Lattices<T> lattices{batch, side, {}, {}};
  for (int64_t k = 0; k < batch * side * (side - 1); ++k)
    lattices.horizontal.push_back(T(coupling(rng)));
  for (int64_t k = 0; k < batch * side * (side - 1); ++k)
    lattices.vertical.push_back(T(coupling(rng)));
  return lattices;
}

template <typename T>
std::vector<T> random_spins(int64_t count, std::mt19937& rng) {
  std::bernoulli_distribution up(0.5);
  std::vector<T> spins(count);
  for (T& s : spins) s = up(rng) ? T(1) : T(-1);
  return spins;
}

std::vector<double> random_reals(int64_t count, double scale, std::mt19937& rng) {
  std::uniform_real_distribution<double> value(-scale, scale);
  std::vector<double> values(count);
  for (double& v : values) v = value(rng);
  return values;
}

// J between sites i and j of system b by coordinate lookup (0 unless adjacent).
template <typename T>
double coupling(const Lattices<T>& lattices, int64_t b, int64_t i, int64_t j) {
  const int64_t L = lattices.side, bonds = L * (L - 1);
  if (i > j) std::swap(i, j);
  const int64_t r = i / L, c = i % L;
  if (j == i + 1 && c + 1 < L) return lattices.horizontal[b * bonds + r * (L - 1) + c];
  if (j == i + L) return lattices.vertical[b * bonds + r * L + c];
  return 0.0;
}

// -sum over unordered pairs {i, j} of J_ij y_i y_j, over all pairs.
template <typename T, typename S>
double naive_energy(const Lattices<T>& lattices, int64_t b, const S* y) {
  const int64_t n = lattices.side * lattices.side;
  double energy = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) energy -= coupling(lattices, b, i, j) * y[i] * y[j];
  return energy;
}

template <typename T, typename S>
double naive_field(const Lattices<T>& lattices, int64_t b, const S* y, int64_t i) {
  double field = 0;
  for (int64_t j = 0; j < lattices.side * lattices.side; ++j)
    if (j != i) field += coupling(lattices, b, i, j) * y[j];
  return field;
}

// Minimum energy over all 2^n configurations of system b, visited in Gray-code
// order so each step flips one spin (energy change 2 y_i h_i).
double brute_force_ground_energy(const Lattices<double>& lattices, int64_t b) {
  const int64_t n = lattices.side * lattices.side;
  std::vector<std::vector<std::pair<int64_t, double>>> neighbours(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (j != i && coupling(lattices, b, i, j) != 0.0)
        neighbours[i].push_back({j, coupling(lattices, b, i, j)});
  std::vector<double> y(n, -1.0);
  double energy = naive_energy(lattices, b, y.data()), best = energy;
  for (uint64_t k = 1; k < (uint64_t{1} << n); ++k) {
    const int i = __builtin_ctzll(k);
    double field = 0;
    for (const auto& [j, J] : neighbours[i]) field += J * y[j];
    energy += 2.0 * y[i] * field;
    y[i] = -y[i];
    best = std::min(best, energy);
  }
  return best;
}

constexpr double kStep = 1e-6;  // central-difference step

void expect_close(const std::vector<double>& actual, const std::vector<double>& expected,
                  double tolerance, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t k = 0; k < actual.size(); ++k)
    EXPECT_NEAR(actual[k], expected[k], tolerance * (1 + std::abs(expected[k])))
        << what << " [" << k << "]";
}

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}
double entropy(double z) {
  const double q = sigmoid(z);
  return -q * std::log(q) - (1 - q) * std::log(1 - q);
}

// ---- energy and fields

TEST(IsingEnergy, MatchesNaiveLoopForRealValuedSpins) {
  std::mt19937 rng(1);
  for (int64_t side = 1; side <= 6; ++side) {
    const auto lattices = random_lattices<double>(3, side, rng);
    const int64_t n = side * side;
    const auto m = random_reals(3 * n, 1.0, rng);
    std::vector<double> energy(3), grad(3 * n), fields(3 * n);
    ising_energy(lattices.view(), m.data(), energy.data(), grad.data());
    local_fields(lattices.view(), m.data(), fields.data());
    for (int64_t b = 0; b < 3; ++b) {
      EXPECT_NEAR(energy[b], naive_energy(lattices, b, m.data() + b * n), 1e-12) << "L=" << side;
      for (int64_t i = 0; i < n; ++i) {
        const double field = naive_field(lattices, b, m.data() + b * n, i);
        EXPECT_NEAR(fields[b * n + i], field, 1e-12);
        EXPECT_NEAR(grad[b * n + i], -field, 1e-12);
      }
    }
  }
}

TEST(IsingEnergy, FloatAgreesWithDouble) {
  std::mt19937 rng(2);
  const auto lattices = random_lattices<float>(2, 7, rng);
  const auto spins = random_spins<float>(2 * 49, rng);
  std::vector<float> energy(2);
  ising_energy(lattices.view(), spins.data(), energy.data());
  for (int64_t b = 0; b < 2; ++b)
    EXPECT_NEAR(energy[b], naive_energy(lattices, b, spins.data() + b * 49), 1e-4);
}

TEST(IsingEnergy, GradientMatchesFiniteDifferences) {
  std::mt19937 rng(3);
  const auto lattices = random_lattices<double>(1, 4, rng);
  const auto m = random_reals(16, 1.0, rng);
  std::vector<double> energy(1), grad(16);
  ising_energy(lattices.view(), m.data(), energy.data(), grad.data());
  const auto numeric = central_gradient(
      m,
      [&](const std::vector<double>& x) {
        double e;
        ising_energy(lattices.view(), x.data(), &e);
        return e;
      },
      kStep);
  expect_close(grad, numeric, 1e-7, "dE/dy");
}

// ---- losses: values against per-site closed forms, gradients against finite differences

TEST(SpinLosses, LocalFieldLossMatchesDefinition) {
  std::mt19937 rng(4);
  const int64_t side = 4, n = 16;
  const auto lattices = random_lattices<double>(2, side, rng);
  const auto target = random_spins<double>(2 * n, rng);
  const auto logits = random_reals(2 * n, 4.0, rng);
  const double temperature = 0.3, h0 = 1.7;
  std::vector<double> loss(2), grad(2 * n);
  local_field_energy_loss(lattices.view(), logits.data(), target.data(), temperature, h0,
                          loss.data(), grad.data());
  for (int64_t b = 0; b < 2; ++b) {
    double expected = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double y = target[b * n + i], z = logits[b * n + i];
      const double weight = y * naive_field(lattices, b, target.data() + b * n, i) + h0;
      expected += weight * (1 - y * std::tanh(z / 2)) / 2 - temperature * entropy(z);
    }
    EXPECT_NEAR(loss[b], expected, 1e-12);
  }
  const auto numeric = central_gradient(
      logits,
      [&](const std::vector<double>& z) {
        std::vector<double> values(2);
        local_field_energy_loss(lattices.view(), z.data(), target.data(), temperature, h0,
                                values.data());
        return values[0] + values[1];
      },
      kStep);
  expect_close(grad, numeric, 1e-7, "local-field d loss/dz");
}

TEST(SpinLosses, TrueEnergyLossIsMeanFieldFreeEnergy) {
  std::mt19937 rng(5);
  const int64_t side = 5, n = 25;
  const auto lattices = random_lattices<double>(2, side, rng);
  const auto logits = random_reals(2 * n, 4.0, rng);
  const double temperature = 0.1;
  std::vector<double> loss(2), grad(2 * n);
  spin_true_energy_loss(lattices.view(), logits.data(), temperature, loss.data(), grad.data());
  for (int64_t b = 0; b < 2; ++b) {
    std::vector<double> m(n);
    double entropy_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      m[i] = 2 * sigmoid(logits[b * n + i]) - 1;
      entropy_sum += entropy(logits[b * n + i]);
    }
    EXPECT_NEAR(loss[b], naive_energy(lattices, b, m.data()) - temperature * entropy_sum, 1e-12);
  }
  const auto numeric = central_gradient(
      logits,
      [&](const std::vector<double>& z) {
        std::vector<double> values(2);
        spin_true_energy_loss(lattices.view(), z.data(), temperature, values.data());
        return values[0] + values[1];
      },
      kStep);
  expect_close(grad, numeric, 1e-7, "true-energy d loss/dz");
}

TEST(SpinLosses, CrossEntropyAndMarginMatchDefinitions) {
  std::mt19937 rng(6);
  const int64_t batch = 3, sites = 10;
  const auto target = random_spins<double>(batch * sites, rng);
  auto logits = random_reals(batch * sites, 5.0, rng);
  std::vector<double> bce(batch), bce_grad(batch * sites), hinge(batch), hinge_grad(batch * sites);
  const double margin = 1.5;
  spin_bce_loss(batch, sites, logits.data(), target.data(), bce.data(), bce_grad.data());
  spin_margin_loss(batch, sites, logits.data(), target.data(), margin, hinge.data(),
                   hinge_grad.data());
  for (int64_t b = 0; b < batch; ++b) {
    double expected_bce = 0, expected_hinge = 0;
    for (int64_t i = b * sites; i < (b + 1) * sites; ++i) {
      const double t = (target[i] + 1) / 2, q = sigmoid(logits[i]);
      expected_bce -= t * std::log(q) + (1 - t) * std::log(1 - q);
      expected_hinge += std::max(0.0, margin - target[i] * logits[i]);
    }
    EXPECT_NEAR(bce[b], expected_bce, 1e-12);
    EXPECT_NEAR(hinge[b], expected_hinge, 1e-12);
  }
  const auto total = [&](auto loss) {
    return [&, loss](const std::vector<double>& z) {
      std::vector<double> values(batch);
      loss(z, values);
      return values[0] + values[1] + values[2];
    };
  };
  const auto bce_total = total([&](const auto& z, auto& values) {
    spin_bce_loss(batch, sites, z.data(), target.data(), values.data());
  });
  expect_close(bce_grad, central_gradient(logits, bce_total, kStep), 1e-7, "bce d loss/dz");
  // Finite differences only away from the hinge's kink.
  for (int64_t i = 0; i < batch * sites; ++i)
    ASSERT_GT(std::abs(margin - target[i] * logits[i]), 1e-3) << "kink at " << i;
  const auto hinge_total = total([&](const auto& z, auto& values) {
    spin_margin_loss(batch, sites, z.data(), target.data(), margin, values.data());
  });
  expect_close(hinge_grad, central_gradient(logits, hinge_total, kStep), 1e-7, "margin d loss/dz");
}

TEST(SpinLosses, StableAtHugeLogits) {
  std::mt19937 rng(7);
  const auto lattices = random_lattices<float>(1, 3, rng);
  const auto target = random_spins<float>(9, rng);
  std::vector<float> logits(9);
  for (int i = 0; i < 9; ++i) logits[i] = (i % 2 ? 1e4f : -1e4f);
  float loss[4];
  std::vector<float> grad(9);
  local_field_energy_loss(lattices.view(), logits.data(), target.data(), 0.1, 4.5, &loss[0],
                          grad.data());
  spin_true_energy_loss(lattices.view(), logits.data(), 0.1, &loss[1], grad.data());
  spin_bce_loss(1, 9, logits.data(), target.data(), &loss[2], grad.data());
  spin_margin_loss(1, 9, logits.data(), target.data(), 1.0, &loss[3], grad.data());
  for (float value : loss) EXPECT_TRUE(std::isfinite(value));
  for (float value : grad) EXPECT_TRUE(std::isfinite(value));
  // Correctly classified sites cost nothing, wrong ones cost their full weight / logit.
  double expected_bce = 0;
  for (int i = 0; i < 9; ++i) expected_bce += target[i] * logits[i] > 0 ? 0.0 : 1e4;
  EXPECT_NEAR(loss[2], expected_bce, 1e-3);
}

// ---- the minimiser property of the local-field loss (SPEC 2.3), shown numerically

constexpr double kSaturated = 60;  // logit whose m = tanh(30) equals +-1 to double precision

// Loss of system 0 with m = y everywhere except m_site = y_site (1 - step).
double loss_after_move(const Lattices<double>& lattice, const std::vector<double>& y, double h0,
                       int64_t site, double step) {
  std::vector<double> logits(y.size());
  for (size_t i = 0; i < y.size(); ++i) logits[i] = kSaturated * y[i];
  if (site >= 0) {
    const double m = std::clamp(y[site] * (1 - step), -1 + 1e-15, 1 - 1e-15);
    logits[site] = 2 * std::atanh(m);
  }
  double loss;
  local_field_energy_loss(lattice.view(), logits.data(), y.data(), /*temperature=*/0.0, h0, &loss);
  return loss;
}

// Gradient descent on the logits from a random start at a small temperature;
// returns the sign of the final logits.
std::vector<double> descend(const Lattices<double>& lattice, const std::vector<double>& y,
                            double h0, std::mt19937& rng) {
  auto logits = random_reals(int64_t(y.size()), 3.0, rng);
  std::vector<double> grad(y.size());
  double loss;
  for (int step = 0; step < 4000; ++step) {
    local_field_energy_loss(lattice.view(), logits.data(), y.data(), /*temperature=*/0.01, h0,
                            &loss, grad.data());
    for (size_t i = 0; i < y.size(); ++i) logits[i] -= 2.0 * grad[i];
  }
  for (double& z : logits) z = z > 0 ? 1.0 : -1.0;
  return logits;
}

// Every single-spin move of m away from y raises the loss (by w_i step / 2 at
// T = 0), and gradient descent from random starts recovers y.
void expect_data_is_unique_minimiser(const Lattices<double>& lattice, const std::vector<double>& y,
                                     double h0, std::mt19937& rng) {
  const double at_data = loss_after_move(lattice, y, h0, -1, 0);
  EXPECT_NEAR(at_data, 0.0, 1e-9);
  for (int64_t i = 0; i < int64_t(y.size()); ++i) {
    const double weight = y[i] * naive_field(lattice, 0, y.data(), i) + h0;
    for (double step : {1e-3, 0.5, 1.0, 2.0}) {
      const double raised = loss_after_move(lattice, y, h0, i, step) - at_data;
      EXPECT_GT(raised, 0.0) << "site " << i << " step " << step;
      EXPECT_NEAR(raised, weight * step / 2, 1e-9);
    }
  }
  for (int start = 0; start < 5; ++start) EXPECT_EQ(descend(lattice, y, h0, rng), y);
}

TEST(LocalFieldMinimiser, AnyTargetIsTheMinimiserWhenH0Exceeds4) {
  std::mt19937 rng(8);
  for (int trial = 0; trial < 10; ++trial) {
    const auto lattice = random_lattices<double>(1, 5, rng);
    expect_data_is_unique_minimiser(lattice, random_spins<double>(25, rng), 4.01, rng);
  }
  // The worst case |h_i| -> 4: all couplings 1 with a site against its four neighbours.
  Lattices<double> ferro{1, 3, std::vector<double>(6, 1.0), std::vector<double>(6, 1.0)};
  std::vector<double> y(9, 1.0);
  y[4] = -1;
  expect_data_is_unique_minimiser(ferro, y, 4.01, rng);
}

TEST(LocalFieldMinimiser, GroundStatesAreTheMinimiserForAnyPositiveH0) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 10; ++trial) {
    const auto lattice = random_lattices<double>(1, 5, rng);
    std::vector<double> y(25);
    double energy;
    ising_ground_state(lattice.view(), y.data(), &energy);
    for (int64_t i = 0; i < 25; ++i) EXPECT_GE(y[i] * naive_field(lattice, 0, y.data(), i), -1e-12);
    expect_data_is_unique_minimiser(lattice, y, 0.1, rng);
  }
}

TEST(LocalFieldMinimiser, FailsForRandomTargetsWithoutOffset) {
  std::mt19937 rng(10);
  const auto lattice = random_lattices<double>(1, 5, rng);
  const auto y = random_spins<double>(25, rng);
  std::vector<int64_t> unstable;  // sites whose flip lowers the true energy: weight < 0
  for (int64_t i = 0; i < 25; ++i)
    if (y[i] * naive_field(lattice, 0, y.data(), i) < 0) unstable.push_back(i);
  ASSERT_FALSE(unstable.empty());
  const double at_data = loss_after_move(lattice, y, 0.0, -1, 0);
  for (int64_t i : unstable) EXPECT_LT(loss_after_move(lattice, y, 0.0, i, 2.0), at_data);
  const auto found = descend(lattice, y, 0.0, rng);
  for (int64_t i : unstable) EXPECT_EQ(found[i], -y[i]) << "site " << i;
}

// ---- exact ground states

TEST(IsingGroundState, MatchesBruteForceOnSmallLattices) {
  std::mt19937 rng(11);
  for (int64_t side : {1, 2, 3, 4, 5}) {
    const int64_t batch = side == 5 ? 2 : 20, n = side * side;
    const auto lattices = random_lattices<double>(batch, side, rng);
    std::vector<double> spins(batch * n), energy(batch);
    ising_ground_state(lattices.view(), spins.data(), energy.data());
    for (int64_t b = 0; b < batch; ++b) {
      EXPECT_NEAR(energy[b], brute_force_ground_energy(lattices, b), 1e-9) << "L=" << side;
      EXPECT_NEAR(naive_energy(lattices, b, spins.data() + b * n), energy[b], 1e-9);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(std::abs(spins[b * n + i]), 1.0);
    }
  }
}

TEST(IsingGroundState, FerromagnetAndAntiferromagnet) {
  const int64_t side = 6, bonds = side * (side - 1);
  for (double J : {1.0, -1.0}) {
    Lattices<double> lattice{1, side, std::vector<double>(bonds, J), std::vector<double>(bonds, J)};
    std::vector<double> spins(36);
    double energy;
    ising_ground_state(lattice.view(), spins.data(), &energy);
    EXPECT_NEAR(energy, -2.0 * bonds, 1e-12);  // every bond satisfied
  }
}

TEST(IsingGroundState, IndependentOfBatchOrderAndPrecision) {
  std::mt19937 rng(12);
  const int64_t batch = 6, side = 7, n = 49, bonds = 42;
  const auto lattices = random_lattices<double>(batch, side, rng);
  Lattices<double> reversed{batch, side, {}, {}};
  for (int64_t b = batch - 1; b >= 0; --b) {
    const auto one = lattices.one(b);
    reversed.horizontal.insert(reversed.horizontal.end(), one.horizontal.begin(),
                               one.horizontal.end());
    reversed.vertical.insert(reversed.vertical.end(), one.vertical.begin(), one.vertical.end());
  }
  std::vector<double> spins(batch * n), energy(batch), spins_reversed(batch * n),
      energy_reversed(batch);
  ising_ground_state(lattices.view(), spins.data(), energy.data());
  ising_ground_state(reversed.view(), spins_reversed.data(), energy_reversed.data());
  Lattices<float> single_precision{batch, side, {}, {}};
  for (int64_t k = 0; k < batch * bonds; ++k) {
    single_precision.horizontal.push_back(float(lattices.horizontal[k]));
    single_precision.vertical.push_back(float(lattices.vertical[k]));
  }
  std::vector<float> spins_float(batch * n), energy_float(batch);
  ising_ground_state(single_precision.view(), spins_float.data(), energy_float.data());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t r = batch - 1 - b;
    EXPECT_EQ(energy[b], energy_reversed[r]);
    EXPECT_TRUE(std::equal(spins.begin() + b * n, spins.begin() + (b + 1) * n,
                           spins_reversed.begin() + r * n));
    EXPECT_NEAR(energy_float[b], energy[b], 1e-4);
    EXPECT_NEAR(naive_energy(single_precision, b, spins_float.data() + b * n), energy_float[b],
                1e-4);
  }
}

TEST(IsingGroundState, TimingAtSide16) {
  std::mt19937 rng(13);
  const int64_t batch = 4, side = 16, n = 256;
  const auto lattices = random_lattices<double>(batch, side, rng);
  std::vector<double> spins(batch * n), energy(batch);
  // Wall time depends on the load of a shared machine; CPU time (summed over
  // threads) is the cost per instance.
  const auto wall_start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  ising_ground_state(lattices.view(), spins.data(), energy.data());
  const double cpu_ms = 1000.0 * double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start)
          .count();
  std::printf(
      "[ timing ] L=16 exact ground state: %.1f ms CPU per instance (batch %lld, %.1f ms wall)\n",
      cpu_ms / batch, static_cast<long long>(batch), wall_ms);
  for (int64_t b = 0; b < batch; ++b) {
    EXPECT_NEAR(naive_energy(lattices, b, spins.data() + b * n), energy[b], 1e-9);
    // A ground state is stable against every single flip: y_i h_i >= 0.
    for (int64_t i = 0; i < n; ++i)
      EXPECT_GE(spins[b * n + i] * naive_field(lattices, b, spins.data() + b * n, i), -1e-12);
  }
}

// ---- bad input

TEST(SpinValidation, BadInputThrowsNamingTheArgument) {
  std::mt19937 rng(14);
  auto lattices = random_lattices<double>(2, 3, rng);
  auto spins = random_spins<double>(18, rng);
  auto logits = random_reals(18, 2.0, rng);
  std::vector<double> out(18), loss(2);
  const double nan = std::numeric_limits<double>::quiet_NaN();

  auto bad = lattices;
  bad.horizontal[7] = nan;
  expect_error([&] { ising_energy(bad.view(), spins.data(), loss.data()); },
               "Jh has a non-finite value (nan) at [1, 0, 1]");
  bad = lattices;
  bad.vertical[0] = std::numeric_limits<double>::infinity();
  expect_error([&] { ising_ground_state(bad.view(), out.data(), loss.data()); }, "Jv");

  auto bad_logits = logits;
  bad_logits[17] = nan;
  expect_error(
      [&] {
        local_field_energy_loss(lattices.view(), bad_logits.data(), spins.data(), 0.1, 4.5,
                                loss.data());
      },
      "logits has a non-finite value (nan) at [1, 2, 2]");
  expect_error([&] { spin_true_energy_loss(lattices.view(), bad_logits.data(), 0.1, loss.data()); },
               "logits");
  expect_error([&] { spin_bce_loss(2, 9, bad_logits.data(), spins.data(), loss.data()); },
               "logits has a non-finite value (nan) at [1, 8]");

  auto bad_target = spins;
  bad_target[4] = 0.5;
  expect_error(
      [&] {
        local_field_energy_loss(lattices.view(), logits.data(), bad_target.data(), 0.1, 4.5,
                                loss.data());
      },
      "target");
  bad_target[4] = 0.0;
  expect_error([&] { spin_bce_loss(2, 9, logits.data(), bad_target.data(), loss.data()); },
               "target");
  expect_error([&] { spin_margin_loss(2, 9, logits.data(), bad_target.data(), 1.0, loss.data()); },
               "target");

  expect_error(
      [&] {
        local_field_energy_loss(lattices.view(), logits.data(), spins.data(), -0.1, 4.5,
                                loss.data());
      },
      "temperature");
  expect_error(
      [&] {
        local_field_energy_loss(lattices.view(), logits.data(), spins.data(), 0.1, nan,
                                loss.data());
      },
      "h0");
  expect_error([&] { spin_margin_loss(2, 9, logits.data(), spins.data(), nan, loss.data()); },
               "margin");

  SpinLattice<double> empty = lattices.view();
  empty.side = 0;
  expect_error([&] { ising_energy(empty, spins.data(), loss.data()); }, "side");
  SpinLattice<double> too_large{1, kMaxGroundStateSide + 1, nullptr, nullptr};
  std::vector<double> zeros((kMaxGroundStateSide + 1) * kMaxGroundStateSide, 0.0);
  too_large.horizontal = too_large.vertical = zeros.data();
  expect_error([&] { ising_ground_state(too_large, out.data(), loss.data()); },
               "ising_ground_state");
}

}  // namespace
}  // namespace energyloss
