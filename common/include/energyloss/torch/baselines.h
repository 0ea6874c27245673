// LibTorch front end of the baseline losses (MSE, MAE, Kabsch-aligned MSE)
// with the pair energy loss's call shape; autograd-aware, registered as
// torch.ops.energyloss.{mse_loss, mae_loss, kabsch_mse, kabsch_align}. The
// tensors are on the CPU, or all on the meta device (shapes only, for fake
// tensors and torch.compile); other devices are refused.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>

namespace energyloss {

// pred, ref: [B, N, d] (d = 2 or 3), float or double, same shape.
// mask: bool [B, N], false marks padding atoms (ignored entirely).
// Each system's value is the mean over its real atoms' coordinates;
// reduction "none" | "sum" | "mean" then acts over systems.
// Differentiable (first order) wrt pred and ref.
torch::Tensor mse_loss(const torch::Tensor& pred, const torch::Tensor& ref,
                       const std::optional<torch::Tensor>& mask = std::nullopt,
                       const std::string& reduction = "mean");

// Mean absolute error; its subgradient is 0 where pred equals ref.
torch::Tensor mae_loss(const torch::Tensor& pred, const torch::Tensor& ref,
                       const std::optional<torch::Tensor>& mask = std::nullopt,
                       const std::string& reduction = "mean");

// MSE after superposing pred onto ref per system: both centred on their
// masked centroids, pred turned by the optimal proper rotation (Kabsch, no
// reflections). Invariant to rotating or translating either argument.
torch::Tensor kabsch_mse(const torch::Tensor& pred, const torch::Tensor& ref,
                         const std::optional<torch::Tensor>& mask = std::nullopt,
                         const std::string& reduction = "mean");

// pred rotated and translated onto ref, [B, N, d], for evaluation (no
// autograd). Padding atoms are returned unchanged.
torch::Tensor kabsch_align(const torch::Tensor& pred, const torch::Tensor& ref,
                           const std::optional<torch::Tensor>& mask = std::nullopt);

}  // namespace energyloss
