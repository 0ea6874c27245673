// Helpers shared by the LibTorch adapters: turning tensors into the raw
// layouts the kernels take, with clear errors on bad shapes.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>

#include "energyloss/layout.h"

namespace energyloss::torch_ops {

// Checks `positions` is [B, N, d] floating
// point, and `mask` (if given) is boolean [B, N] / [N]; returns contiguous
// copies in `positions` / `mask` and the matching layout. `name` appears in errors.
BatchLayout batch_layout(torch::Tensor& positions, std::optional<torch::Tensor>& mask,
                         const char* name);

// Same shape and dtype as `reference`, or an error naming both arguments.
void require_same_shape(const torch::Tensor& tensor, const char* name,
                        const torch::Tensor& reference, const char* reference_name);

// LibTorch 1.13 registers ops with c10::optional (a type distinct from
// std::optional); the public C++ API uses std::optional. These convert.
template <typename T>
std::optional<T> to_std(const c10::optional<T>& value) {
  return value.has_value() ? std::optional<T>(*value) : std::nullopt;
}
template <typename T>
c10::optional<T> to_c10(const std::optional<T>& value) {
  return value.has_value() ? c10::optional<T>(*value) : c10::nullopt;
}

// "none" | "sum" | "mean" applied to per-system values [B].
torch::Tensor reduce(const torch::Tensor& per_system, const std::string& reduction);

}  // namespace energyloss::torch_ops
