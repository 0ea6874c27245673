// Diffusion / flow-matching conversions and noise schedules against their
// defining identities and an independent port of EDM's numpy schedule code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "../support/expect_error.h"
#include "../support/random_values.h"
#include "energyloss/diffusion.h"
#include "energyloss/error.h"

namespace energyloss {
namespace {

using test_support::expect_error;
using test_support::normal_values;

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double total = 0;
  for (size_t k = 0; k < a.size(); ++k) total += (a[k] - b[k]) * (a[k] - b[k]);
  return total;
}

TEST(Diffusion, X0FromEpsInvertsTheForwardProcessAndCarriesTheWeight) {
  std::mt19937 rng(1);
  const int64_t n = 30;
  for (double t : {0.01, 0.3, 0.9, 1.0}) {
    const NoiseLevel level = noise_level(NoiseSchedule{}, t);
    const auto x = normal_values(n, rng), eps = normal_values(n, rng),
               eps_hat = normal_values(n, rng);
    std::vector<double> x_t(n), x0(n), x_hat(n);
    for (int64_t k = 0; k < n; ++k) x_t[k] = level.alpha * x[k] + level.sigma * eps[k];
    x0_from_eps(x_t.data(), eps.data(), n, level.alpha, level.sigma, x0.data());
    // x = (x_t - sigma eps) / alpha loses ~sigma/alpha relative digits near t = 1.
    const double tolerance = 1e-14 * (1 + level.sigma / level.alpha);
    for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(x0[k], x[k], tolerance * 10);

    // eq. 3: |eps - eps^|^2 = alpha^2 / sigma^2 |x - x^|^2.
    x0_from_eps(x_t.data(), eps_hat.data(), n, level.alpha, level.sigma, x_hat.data());
    const double noise_error = squared_distance(eps, eps_hat);
    EXPECT_NEAR(eps_weight(level.alpha, level.sigma) * squared_distance(x, x_hat), noise_error,
                1e-9 * noise_error);
  }
}

TEST(Diffusion, X0FromVelocityInvertsTheInterpolationAndCarriesTheWeight) {
  std::mt19937 rng(2);
  const int64_t n = 30;
  for (double t : {0.05, 0.5, 1.0}) {
    const auto x = normal_values(n, rng), eps = normal_values(n, rng),
               u_hat = normal_values(n, rng);
    std::vector<double> x_t(n), u(n), x0(n), x_hat(n);
    for (int64_t k = 0; k < n; ++k) {
      x_t[k] = (1 - t) * x[k] + t * eps[k];
      u[k] = (x_t[k] - x[k]) / t;  // A.7's regression target
    }
    x0_from_velocity(x_t.data(), u.data(), n, t, x0.data());
    for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(x0[k], x[k], 1e-13);

    x0_from_velocity(x_t.data(), u_hat.data(), n, t, x_hat.data());
    const double velocity_error = squared_distance(u, u_hat);
    EXPECT_NEAR(flow_weight(t) * squared_distance(x, x_hat), velocity_error,
                1e-11 * velocity_error);
  }
}

TEST(Diffusion, FloatConversionsMatchDouble) {
  const std::vector<float> x_t = {1.5f, -2.0f, 0.25f}, eps = {0.5f, 1.0f, -3.0f};
  std::vector<float> x0(3), x_flow(3);
  x0_from_eps(x_t.data(), eps.data(), 3, 0.8, 0.6, x0.data());
  x0_from_velocity(x_t.data(), eps.data(), 3, 0.25, x_flow.data());
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(x0[k], (x_t[k] - 0.6 * eps[k]) / 0.8, 1e-6);
    EXPECT_NEAR(x_flow[k], x_t[k] - 0.25 * eps[k], 1e-6);
  }
}

// A direct port of EDM's polynomial_schedule + clip_noise_schedule
// (Hoogeboom et al. 2022, equivariant_diffusion/en_diffusion.py): numpy's
// linspace(0, steps, steps) / steps, cumulative product of clipped ratios.
std::vector<double> edm_polynomial_alphas2(int64_t timesteps, double s, double power) {
  const int64_t steps = timesteps + 1;
  std::vector<double> alphas2(steps);
  for (int64_t i = 0; i < steps; ++i) {
    const double x = static_cast<double>(steps) * i / (steps - 1);
    alphas2[i] = std::pow(1 - std::pow(x / steps, power), 2);
  }
  double previous = 1.0, cumulative = 1.0;
  for (double& a : alphas2) {
    const double step = std::clamp(a / previous, 0.001, 1.0);
    previous = a;
    cumulative *= step;
    a = (1 - 2 * s) * cumulative + s;
  }
  return alphas2;
}

TEST(NoiseSchedule, PolynomialMatchesEdmOnItsGrid) {
  for (int64_t timesteps : {1000, 50, 7}) {
    for (double power : {2.0, 3.0}) {
      NoiseSchedule schedule;
      schedule.timesteps = timesteps;
      schedule.power = power;
      const auto expected = edm_polynomial_alphas2(timesteps, 1e-5, power);
      for (int64_t i = 0; i <= timesteps; ++i) {
        const NoiseLevel level = noise_level(schedule, static_cast<double>(i) / timesteps);
        EXPECT_NEAR(level.alpha * level.alpha, expected[i], 1e-12)
            << "step " << i << " of " << timesteps << ", power " << power;
      }
    }
  }
}

// The cosine schedule's definition, clipped step by step on the grid.
TEST(NoiseSchedule, CosineMatchesItsDefinitionOnTheGrid) {
  const double s = 0.008;
  const int64_t timesteps = 200;
  auto f = [&](double t) {
    return std::pow(std::cos((t + s) / (1 + s) * M_PI / 2), 2) /
           std::pow(std::cos(s / (1 + s) * M_PI / 2), 2);
  };
  NoiseSchedule schedule;
  schedule.kind = NoiseScheduleKind::Cosine;
  schedule.timesteps = timesteps;
  double cumulative = 1.0;
  for (int64_t i = 0; i <= timesteps; ++i) {
    const double t = static_cast<double>(i) / timesteps;
    if (i > 0) cumulative *= std::clamp(f(t) / f(t - 1.0 / timesteps), 0.001, 1.0);
    const NoiseLevel level = noise_level(schedule, t);
    EXPECT_NEAR(level.alpha * level.alpha, cumulative, 1e-12) << "step " << i;
    if (i < timesteps) {
      EXPECT_NEAR(level.alpha * level.alpha, f(t), 1e-12);  // no step is clipped before t = 1
    }
  }
}

TEST(NoiseSchedule, MonotoneNormalisedAndEndpointsRight) {
  for (NoiseScheduleKind kind : {NoiseScheduleKind::Polynomial, NoiseScheduleKind::Cosine}) {
    NoiseSchedule schedule;
    schedule.kind = kind;
    // Off-grid points too: 20001 samples against 1000 steps.
    const int64_t n = 20001;
    std::vector<double> t(n), alpha(n), sigma(n);
    for (int64_t k = 0; k < n; ++k) t[k] = static_cast<double>(k) / (n - 1);
    noise_schedule(schedule, t.data(), n, alpha.data(), sigma.data());
    for (int64_t k = 0; k < n; ++k) {
      EXPECT_NEAR(alpha[k] * alpha[k] + sigma[k] * sigma[k], 1.0, 1e-14);
      EXPECT_GT(alpha[k], 0.0);
      if (k > 0) {
        EXPECT_LE(alpha[k], alpha[k - 1]) << "t = " << t[k];
        EXPECT_GE(sigma[k], sigma[k - 1]) << "t = " << t[k];
      }
    }
    EXPECT_NEAR(alpha.front(), 1.0, 1e-5);
    EXPECT_LT(alpha.back() * alpha.back(), 2e-5);  // ~precision for polynomial
  }
  // Precision s: alpha^2 stays within [s, 1 - s] for the polynomial schedule.
  const NoiseLevel start = noise_level(NoiseSchedule{}, 0.0);
  const NoiseLevel end = noise_level(NoiseSchedule{}, 1.0);
  EXPECT_NEAR(start.alpha * start.alpha, 1 - 1e-5, 1e-15);
  EXPECT_GE(end.alpha * end.alpha, 1e-5);
}

TEST(NoiseSchedule, ContinuousBetweenGridPoints) {
  NoiseSchedule schedule;
  schedule.timesteps = 10;
  // Without clipping inside [0, 0.9], the off-grid values follow the formula.
  for (double t : {0.05, 0.333, 0.71, 0.899}) {
    const NoiseLevel level = noise_level(schedule, t);
    const double raw = std::pow(1 - t * t, 2);
    EXPECT_NEAR(level.alpha * level.alpha, (1 - 2e-5) * raw + 1e-5, 1e-13) << t;
  }
  // Approaching t = 1 from below meets the clipped end point.
  const double before = noise_level(schedule, 1.0 - 1e-12).alpha;
  EXPECT_NEAR(before, noise_level(schedule, 1.0).alpha, 1e-6);
}

TEST(Diffusion, BadInputThrows) {
  const double x = 1.0;
  double out = 0.0;
  EXPECT_THROW(x0_from_eps(&x, &x, 1, 0.0, 0.5, &out), Error);
  EXPECT_THROW(x0_from_eps(&x, &x, 1, 0.5, -0.1, &out), Error);
  EXPECT_THROW(x0_from_eps(&x, &x, 1, std::nan(""), 0.5, &out), Error);
  EXPECT_THROW(eps_weight(0.5, 0.0), Error);
  EXPECT_THROW(x0_from_velocity(&x, &x, 1, 1.5, &out), Error);
  EXPECT_THROW(x0_from_velocity(&x, &x, 1, std::nan(""), &out), Error);
  EXPECT_THROW(flow_weight(0.0), Error);
  EXPECT_THROW(flow_weight(-0.5), Error);

  const double bad_times[] = {0.5, -0.1};
  double alpha[2], sigma[2];
  expect_error([&] { noise_schedule(NoiseSchedule{}, bad_times, 2, alpha, sigma); }, "index 1");
  EXPECT_THROW(noise_level(NoiseSchedule{}, std::nan("")), Error);
  NoiseSchedule bad;
  bad.timesteps = 0;
  EXPECT_THROW(noise_level(bad, 0.5), Error);
  bad = NoiseSchedule{};
  bad.s = 0.6;
  EXPECT_THROW(noise_level(bad, 0.5), Error);
  bad = NoiseSchedule{};
  bad.power = -1;
  EXPECT_THROW(noise_level(bad, 0.5), Error);
  bad = NoiseSchedule{};
  bad.clip_value = 2;
  EXPECT_THROW(noise_level(bad, 0.5), Error);
}

}  // namespace
}  // namespace energyloss
