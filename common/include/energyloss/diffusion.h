// Diffusion and flow-matching helpers (paper eq. 3 and appendix A.7): turn a
// network's noise or velocity prediction into a sample prediction x^ so that
// any sample-space loss (MSE, the energy loss) can replace the noise-space
// MSE, with the weight that keeps the two objectives equal; plus the EDM
// noise schedules (Hoogeboom et al. 2022) on continuous time t in [0, 1].
#pragma once

#include <cstdint>
#include <optional>

namespace energyloss {

// --- Diffusion, x_t = alpha x + sigma eps -----------------------------------

// Throws unless alpha > 0 and sigma >= 0, both finite.
void check_noise_level(double alpha, double sigma);

// x0[k] = (x_t[k] - sigma eps_hat[k]) / alpha for k < n.
template <typename T>
void x0_from_eps(const T* x_t, const T* eps_hat, int64_t n, double alpha, double sigma, T* x0);

// alpha^2 / sigma^2, so that |eps - eps^|^2 = weight |x - x^|^2 (eq. 3).
// Requires sigma > 0.
double eps_weight(double alpha, double sigma);

// --- Flow matching, x_t = (1 - t) x + t eps, u = (x_t - x) / t -------------

// Throws unless 0 <= t <= 1.
void check_flow_time(double t);

// x0[k] = x_t[k] - t velocity[k] for k < n.
template <typename T>
void x0_from_velocity(const T* x_t, const T* velocity, int64_t n, double t, T* x0);

// 1 / t^2, so that |u - u^|^2 = weight |x - x^|^2 (A.7). Requires 0 < t <= 1.
double flow_weight(double t);

// --- Noise schedules ---------------------------------------------------------

enum class NoiseScheduleKind {
  Polynomial,  // alpha^2 = (1 - t^power)^2, then precision: (1 - 2 s) alpha^2 + s
  Cosine,      // alpha^2 = cos^2((t + s)/(1 + s) pi/2) / cos^2(s/(1 + s) pi/2)
};

struct NoiseSchedule {
  NoiseScheduleKind kind = NoiseScheduleKind::Polynomial;
  double power = 2.0;  // polynomial exponent (EDM's "polynomial_2")
  // Polynomial: the precision s (paper: 1e-5); cosine: the offset s (0.008).
  // Unset: those defaults.
  std::optional<double> s;
  // As in EDM's clip_noise_schedule, each step's ratio alpha^2(t) / alpha^2(t - 1/timesteps)
  // is clipped from below at clip_value, so alpha never collapses to 0 at t = 1.
  // Exact on the grid t = i / timesteps; within a step the ratio to the last
  // grid point is clipped the same way, keeping alpha continuous and monotone.
  int64_t timesteps = 1000;
  double clip_value = 1e-3;  // 0 disables clipping
};

struct NoiseLevel {
  double alpha;
  double sigma;  // sqrt(1 - alpha^2)
};

// Evaluates the schedule at t[k] in [0, 1] for k < n; validates t and the
// schedule parameters first. alpha decreases from ~1 at t = 0; sigma increases.
template <typename T>
void noise_schedule(const NoiseSchedule& schedule, const T* t, int64_t n, T* alpha, T* sigma);

// One time point.
NoiseLevel noise_level(const NoiseSchedule& schedule, double t);

extern template void x0_from_eps<float>(const float*, const float*, int64_t, double, double,
                                        float*);
extern template void x0_from_eps<double>(const double*, const double*, int64_t, double, double,
                                         double*);
extern template void x0_from_velocity<float>(const float*, const float*, int64_t, double, float*);
extern template void x0_from_velocity<double>(const double*, const double*, int64_t, double,
                                              double*);
extern template void noise_schedule<float>(const NoiseSchedule&, const float*, int64_t, float*,
                                           float*);
extern template void noise_schedule<double>(const NoiseSchedule&, const double*, int64_t, double*,
                                            double*);

}  // namespace energyloss
