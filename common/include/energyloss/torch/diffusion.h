// LibTorch front end of the diffusion / flow-matching helpers (paper eq. 3,
// A.7), registered as torch.ops.energyloss.{x0_from_eps, eps_weight,
// x0_from_velocity, flow_weight, noise_schedule}.
//
// Noise levels (alpha, sigma, t) are scalars or per-sample tensors aligned
// with the LEADING dimensions of the data: a [B] tensor pairs with x_t of
// shape [B, N, d] (trailing singleton dimensions are appended, then the usual
// broadcasting applies). They are converted to the data's dtype.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>
#include <tuple>

namespace energyloss {

// Sample prediction (x_t - sigma eps_hat) / alpha from a noise prediction at
// x_t = alpha x + sigma eps. Requires alpha > 0, sigma >= 0. Differentiable.
torch::Tensor x0_from_eps(const torch::Tensor& x_t, const torch::Tensor& eps_hat,
                          const torch::Tensor& alpha, const torch::Tensor& sigma);

// alpha^2 / sigma^2 (broadcast shape): |eps - eps^|^2 = weight |x - x^|^2.
// Requires alpha > 0, sigma > 0.
torch::Tensor eps_weight(const torch::Tensor& alpha, const torch::Tensor& sigma);

// Flow matching, x_t = (1 - t) x + t eps: x^ = x_t - t velocity. Requires
// t in [0, 1]. Differentiable.
torch::Tensor x0_from_velocity(const torch::Tensor& x_t, const torch::Tensor& velocity,
                               const torch::Tensor& t);

// 1 / t^2: |u - u^|^2 = weight |x - x^|^2. Requires t in (0, 1].
torch::Tensor flow_weight(const torch::Tensor& t);

// (alpha, sigma) of the EDM noise schedule at t in [0, 1], same shape and
// dtype as t. kind: "polynomial" (s = precision, default 1e-5) or "cosine"
// (s = offset, default 0.008); see energyloss/diffusion.h. Not differentiable.
std::tuple<torch::Tensor, torch::Tensor> noise_schedule(const torch::Tensor& t,
                                                        const std::string& kind = "polynomial",
                                                        std::optional<double> s = std::nullopt,
                                                        double power = 2.0,
                                                        int64_t timesteps = 1000,
                                                        double clip_value = 1e-3);

}  // namespace energyloss
