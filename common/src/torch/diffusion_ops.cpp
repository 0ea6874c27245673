// LibTorch adapter of the diffusion helpers. The conversions are elementwise,
// so they compose tensor ops (autograd for free); the kernels' scalar checks
// validate every noise level first, so errors read the same from C++ and Python.
#include <torch/library.h>

#include <initializer_list>
#include <utility>
#include <vector>

#include "energyloss/diffusion.h"
#include "energyloss/error.h"
#include "energyloss/torch/common.h"
#include "energyloss/torch/diffusion.h"

namespace energyloss {
namespace {

using torch::Tensor;

// Every argument of `op` defined ({name, tensor}), before any is read.
void require_defined(const char* op,
                     std::initializer_list<std::pair<const char*, const Tensor*>> tensors) {
  for (const auto& [name, tensor] : tensors) torch_ops::require_defined(op, name, *tensor);
}

void require_floating(const Tensor& tensor, const char* name) {
  require(tensor.is_floating_point(), name, ": expected a floating-point tensor, got ",
          tensor.scalar_type());
}

// `level` (alpha, sigma or t) aligned with the leading dimensions of `data`,
// in data's dtype: [B] becomes [B, 1, 1] next to [B, N, d].
Tensor along_leading(const Tensor& level, const char* name, const Tensor& data,
                     const char* data_name) {
  require(level.dim() <= data.dim(), name, ": has ", level.dim(), " dimensions but ", data_name,
          " only ", data.dim());
  for (int64_t k = 0; k < level.dim(); ++k) {
    require(level.size(k) == 1 || level.size(k) == data.size(k), name, ": shape ", level.sizes(),
            " does not match the leading dimensions of ", data_name, " ", data.sizes());
  }
  std::vector<int64_t> shape(level.sizes().begin(), level.sizes().end());
  shape.resize(data.dim(), 1);
  return level.to(data.scalar_type()).reshape(shape);
}

// The broadcast values of `levels` as flat CPU double tensors, so the
// kernel's scalar checks can run elementwise (on any device: the values are
// copied to the CPU). A meta tensor has no values: it gives an empty tensor,
// so these ops propagate shapes and dtypes on meta tensors unchecked.
std::vector<Tensor> flat_values(const std::vector<Tensor>& levels, const char* names) {
  std::vector<Tensor> values;
  try {
    values = torch::broadcast_tensors(levels);
  } catch (const c10::Error&) {
    fail(names, ": shapes do not broadcast together");
  }
  for (Tensor& value : values) {
    value = value.is_meta() ? torch::empty({0}, torch::kDouble)
                            : value.detach().to(torch::kCPU, torch::kDouble).contiguous().flatten();
  }
  return values;
}

NoiseScheduleKind parse_schedule(const std::string& kind) {
  if (kind == "polynomial") return NoiseScheduleKind::Polynomial;
  if (kind == "cosine") return NoiseScheduleKind::Cosine;
  fail("noise_schedule: kind must be 'polynomial' or 'cosine', got '", kind, "'");
}

std::tuple<Tensor, Tensor> noise_schedule_op(const Tensor& t, const std::string& kind,
                                             c10::optional<double> s, double power,
                                             int64_t timesteps, double clip_value) {
  return noise_schedule(t, kind, torch_ops::to_std(s), power, timesteps, clip_value);
}

}  // namespace

Tensor x0_from_eps(const Tensor& x_t, const Tensor& eps_hat, const Tensor& alpha,
                   const Tensor& sigma) {
  require_defined("x0_from_eps",
                  {{"x_t", &x_t}, {"eps_hat", &eps_hat}, {"alpha", &alpha}, {"sigma", &sigma}});
  require_floating(x_t, "x_t");
  torch_ops::require_same_shape("x0_from_eps", eps_hat, "eps_hat", x_t, "x_t");
  const Tensor a = along_leading(alpha, "alpha", x_t, "x_t");
  const Tensor s = along_leading(sigma, "sigma", x_t, "x_t");
  const auto levels = flat_values({a, s}, "alpha, sigma");
  const double* alphas = levels[0].data_ptr<double>();
  const double* sigmas = levels[1].data_ptr<double>();
  for (int64_t k = 0; k < levels[0].numel(); ++k) check_noise_level(alphas[k], sigmas[k]);
  return (x_t - s * eps_hat) / a;
}

Tensor eps_weight(const Tensor& alpha, const Tensor& sigma) {
  require_defined("eps_weight", {{"alpha", &alpha}, {"sigma", &sigma}});
  require_floating(alpha, "alpha");
  require_floating(sigma, "sigma");
  const auto levels = flat_values({alpha, sigma}, "alpha, sigma");
  const double* alphas = levels[0].data_ptr<double>();
  const double* sigmas = levels[1].data_ptr<double>();
  for (int64_t k = 0; k < levels[0].numel(); ++k) eps_weight(alphas[k], sigmas[k]);  // validates
  return alpha.square() / sigma.square();
}

Tensor x0_from_velocity(const Tensor& x_t, const Tensor& velocity, const Tensor& t) {
  require_defined("x0_from_velocity", {{"x_t", &x_t}, {"velocity", &velocity}, {"t", &t}});
  require_floating(x_t, "x_t");
  torch_ops::require_same_shape("x0_from_velocity", velocity, "velocity", x_t, "x_t");
  const Tensor time = along_leading(t, "t", x_t, "x_t");
  const Tensor times = flat_values({time}, "t")[0];
  const double* values = times.data_ptr<double>();
  for (int64_t k = 0; k < times.numel(); ++k) check_flow_time(values[k]);
  return x_t - time * velocity;
}

Tensor flow_weight(const Tensor& t) {
  torch_ops::require_defined("flow_weight", "t", t);
  require_floating(t, "t");
  const Tensor times = flat_values({t}, "t")[0];
  const double* values = times.data_ptr<double>();
  for (int64_t k = 0; k < times.numel(); ++k) flow_weight(values[k]);  // validates
  return t.square().reciprocal();
}

std::tuple<Tensor, Tensor> noise_schedule(const Tensor& t, const std::string& kind,
                                          std::optional<double> s, double power, int64_t timesteps,
                                          double clip_value) {
  torch_ops::require_float_or_double("noise_schedule", "t", t);
  NoiseSchedule schedule;
  schedule.kind = parse_schedule(kind);
  schedule.s = s;
  schedule.power = power;
  schedule.timesteps = timesteps;
  schedule.clip_value = clip_value;
  if (t.is_meta()) return {torch::empty_like(t), torch::empty_like(t)};  // shapes only
  const Tensor times = t.detach().to(torch::kCPU).contiguous();
  Tensor alpha = torch::empty_like(times);
  Tensor sigma = torch::empty_like(times);
  AT_DISPATCH_FLOATING_TYPES(times.scalar_type(), "noise_schedule", [&] {
    noise_schedule<scalar_t>(schedule, times.data_ptr<scalar_t>(), times.numel(),
                             alpha.data_ptr<scalar_t>(), sigma.data_ptr<scalar_t>());
  });
  return {alpha.to(t.device()), sigma.to(t.device())};
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def("x0_from_eps(Tensor x_t, Tensor eps_hat, Tensor alpha, Tensor sigma) -> Tensor",
        static_cast<Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&)>(
            &x0_from_eps));
  m.def("eps_weight(Tensor alpha, Tensor sigma) -> Tensor",
        static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&eps_weight));
  m.def("x0_from_velocity(Tensor x_t, Tensor velocity, Tensor t) -> Tensor",
        static_cast<Tensor (*)(const Tensor&, const Tensor&, const Tensor&)>(&x0_from_velocity));
  m.def("flow_weight(Tensor t) -> Tensor", static_cast<Tensor (*)(const Tensor&)>(&flow_weight));
  m.def(
      "noise_schedule(Tensor t, str kind=\"polynomial\", float? s=None, float power=2.0, "
      "int timesteps=1000, float clip_value=0.001) -> (Tensor, Tensor)",
      &noise_schedule_op);
}

}  // namespace energyloss
