#include "energyloss/diffusion.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {

void check_noise_level(double alpha, double sigma) {
  require(std::isfinite(alpha) && alpha > 0, "alpha must be positive and finite, got ", alpha);
  require(std::isfinite(sigma) && sigma >= 0, "sigma must be non-negative and finite, got ", sigma);
}

template <typename T>
void x0_from_eps(const T* x_t, const T* eps_hat, int64_t n, double alpha, double sigma, T* x0) {
  check_noise_level(alpha, sigma);
  require(n >= 0, "x0_from_eps: negative size ", n);
  require(n == 0 || (x_t != nullptr && eps_hat != nullptr && x0 != nullptr),
          "x0_from_eps: x_t, eps_hat and x0 must not be null");
  for (int64_t k = 0; k < n; ++k) x0[k] = static_cast<T>((x_t[k] - sigma * eps_hat[k]) / alpha);
}

double eps_weight(double alpha, double sigma) {
  check_noise_level(alpha, sigma);
  require(sigma > 0,
          "eps_weight: sigma must be positive (the weight alpha^2/sigma^2 is infinite at "
          "sigma = 0)");
  return (alpha * alpha) / (sigma * sigma);
}

void check_flow_time(double t) {
  require(t >= 0 && t <= 1, "t must lie in [0, 1], got ", t);  // false for NaN too
}

template <typename T>
void x0_from_velocity(const T* x_t, const T* velocity, int64_t n, double t, T* x0) {
  check_flow_time(t);
  require(n >= 0, "x0_from_velocity: negative size ", n);
  require(n == 0 || (x_t != nullptr && velocity != nullptr && x0 != nullptr),
          "x0_from_velocity: x_t, velocity and x0 must not be null");
  for (int64_t k = 0; k < n; ++k) x0[k] = static_cast<T>(x_t[k] - t * velocity[k]);
}

double flow_weight(double t) {
  check_flow_time(t);
  require(t > 0, "flow_weight: t must be positive (the weight 1/t^2 is infinite at t = 0)");
  return 1.0 / (t * t);
}

namespace {

constexpr double kPolynomialPrecision = 1e-5;  // the paper's "precision 1e-5"
constexpr double kCosineOffset = 0.008;        // Nichol & Dhariwal
constexpr int64_t kMaxTimesteps = 10'000'000;  // bounds the clipping table's memory

double offset(const NoiseSchedule& schedule) {
  return schedule.s.value_or(schedule.kind == NoiseScheduleKind::Polynomial ? kPolynomialPrecision
                                                                            : kCosineOffset);
}

void check_schedule(const NoiseSchedule& schedule) {
  const double s = offset(schedule);
  switch (schedule.kind) {
    case NoiseScheduleKind::Polynomial:
      require(std::isfinite(schedule.power) && schedule.power > 0,
              "noise_schedule: power must be positive, got ", schedule.power);
      require(s >= 0 && s < 0.5,
              "noise_schedule: polynomial precision s must lie in [0, 0.5), got ", s);
      break;
    case NoiseScheduleKind::Cosine:
      require(std::isfinite(s) && s >= 0, "noise_schedule: cosine offset s must be >= 0, got ", s);
      break;
    default:
      fail("noise_schedule: unknown schedule kind ", static_cast<int>(schedule.kind));
  }
  require(schedule.timesteps >= 1 && schedule.timesteps <= kMaxTimesteps,
          "noise_schedule: timesteps must lie in [1, ", kMaxTimesteps, "], got ",
          schedule.timesteps);
  require(schedule.clip_value >= 0 && schedule.clip_value <= 1,
          "noise_schedule: clip_value must lie in [0, 1], got ", schedule.clip_value);
}

// alpha^2 of the schedule after EDM's step clipping, before the precision
// offset. The clipped values on the grid i / timesteps are tabulated once.
class ClippedSchedule {
 public:
  explicit ClippedSchedule(const NoiseSchedule& schedule)
      : schedule_(schedule), s_(offset(schedule)), grid_(schedule.timesteps + 1) {
    grid_[0] = step(1.0, unclipped(0.0));  // the ratio to an implicit alpha^2 = 1 before t = 0
    for (int64_t i = 1; i <= schedule.timesteps; ++i) {
      grid_[i] = grid_[i - 1] * step(unclipped(grid_time(i - 1)), unclipped(grid_time(i)));
    }
  }

  double alpha2(double t) const {
    const double position = t * static_cast<double>(schedule_.timesteps);
    const int64_t below = std::min(static_cast<int64_t>(std::floor(position)), schedule_.timesteps);
    double value = grid_[below];
    if (position > static_cast<double>(below)) {
      value *= step(unclipped(grid_time(below)), unclipped(t));
    }
    if (schedule_.kind == NoiseScheduleKind::Polynomial) value = (1.0 - 2.0 * s_) * value + s_;
    return value;
  }

 private:
  double grid_time(int64_t i) const {
    return static_cast<double>(i) / static_cast<double>(schedule_.timesteps);
  }

  double unclipped(double t) const {
    if (schedule_.kind == NoiseScheduleKind::Polynomial) {
      const double root = 1.0 - std::pow(t, schedule_.power);
      return root * root;
    }
    const double half_pi = 0.5 * M_PI;
    const double top = std::cos((t + s_) / (1.0 + s_) * half_pi);
    const double bottom = std::cos(s_ / (1.0 + s_) * half_pi);
    return (top * top) / (bottom * bottom);
  }

  // alpha^2(t) / alpha^2(earlier) clipped to [clip_value, 1] (EDM clips betas).
  double step(double earlier, double later) const {
    const double ratio = earlier > 0 ? later / earlier : 0.0;
    return std::clamp(ratio, schedule_.clip_value, 1.0);
  }

  NoiseSchedule schedule_;
  double s_;
  std::vector<double> grid_;
};

}  // namespace

template <typename T>
void noise_schedule(const NoiseSchedule& schedule, const T* t, int64_t n, T* alpha, T* sigma) {
  check_schedule(schedule);
  require(n >= 0, "noise_schedule: negative size ", n);
  require(n == 0 || (t != nullptr && alpha != nullptr && sigma != nullptr),
          "noise_schedule: t, alpha and sigma must not be null");
  for (int64_t k = 0; k < n; ++k) {
    require(t[k] >= 0 && t[k] <= 1, "noise_schedule: t must lie in [0, 1], got ", t[k],
            " at index ", k);
  }
  const ClippedSchedule clipped(schedule);
  for (int64_t k = 0; k < n; ++k) {
    const double alpha2 = clipped.alpha2(static_cast<double>(t[k]));
    alpha[k] = static_cast<T>(std::sqrt(alpha2));
    sigma[k] = static_cast<T>(std::sqrt(std::max(0.0, 1.0 - alpha2)));
  }
}

NoiseLevel noise_level(const NoiseSchedule& schedule, double t) {
  NoiseLevel level{};
  noise_schedule(schedule, &t, 1, &level.alpha, &level.sigma);
  return level;
}

template void x0_from_eps<float>(const float*, const float*, int64_t, double, double, float*);
template void x0_from_eps<double>(const double*, const double*, int64_t, double, double, double*);
template void x0_from_velocity<float>(const float*, const float*, int64_t, double, float*);
template void x0_from_velocity<double>(const double*, const double*, int64_t, double, double*);
template void noise_schedule<float>(const NoiseSchedule&, const float*, int64_t, float*, float*);
template void noise_schedule<double>(const NoiseSchedule&, const double*, int64_t, double*,
                                     double*);

}  // namespace energyloss
