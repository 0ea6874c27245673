// Helpers shared by the LibTorch adapters: turning tensors into the raw
// layouts the kernels take, with clear errors on bad shapes.
#pragma once

// c10::optional (to_std / to_c10 below and the op schemas' C++ signatures):
// LibTorch 1.13's own class, an alias of std::optional since torch 2.3, and
// declared only in this header, which newer torch headers no longer include
// themselves (they use std::optional); so it is included here, not assumed.
#include <c10/util/Optional.h>
#include <torch/types.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "energyloss/layout.h"

namespace energyloss::torch_ops {

// Error unless `tensor` is defined: an undefined tensor (a default-constructed
// torch::Tensor in C++, or None passed to an op's required Tensor argument in
// Python) is refused naming `op` and `argument`, before c10 could fail with
// "tensor does not have a device" or the like. The checks below (require_cpu,
// require_float_or_double, require_cpu_or_meta) make it first; an op calls it
// itself for an argument it reads before any of them, and for an optional
// argument that holds a tensor.
void require_defined(const char* op, const char* argument, const torch::Tensor& tensor);

// The device and dtype checks of every op with CPU-only code (one place, so
// every op refuses the same way). `op` is the op's name in
// torch.ops.energyloss, `argument` the schema's name of the tensor; both and
// the device or dtype appear in the message. Error (Python ValueError) unless
// `tensor` is on the CPU; the message says the op is CPU-only by design and to
// pass CPU tensors, or gives `explanation` instead (e.g. how to build the
// CUDA kernel an op has). A meta tensor (shape-only, device='meta') is
// refused the same way, so tests reach this check without a GPU. A fake
// tensor (FakeTensorMode, torch.compile's tracer: it reports the CPU but has
// no data) is refused by name too, before reading it could fail with "data
// is not allocated yet".
void require_cpu(const char* op, const char* argument, const torch::Tensor& tensor,
                 const char* explanation = nullptr);
// True for tensors with shapes and dtypes but no values: meta tensors and
// fake tensors (meta storage behind a CPU device).
bool shapes_only(const torch::Tensor& tensor);
// Error unless `tensor` is float32 or float64; float16 and bfloat16 (e.g.
// produced under torch.autocast) are refused by name with the cast to use,
// before AT_DISPATCH_FLOATING_TYPES could give its generic "not implemented
// for 'Half'".
void require_float_or_double(const char* op, const char* argument, const torch::Tensor& tensor);
// Both of the above.
void require_floating_cpu(const char* op, const char* argument, const torch::Tensor& tensor);
// The device rule of the ops with CPU and Meta kernels (the baseline and
// spin losses): every tensor in `tensors` ({argument, tensor}; a null tensor
// is skipped) on the CPU, or every one on the meta device (shapes and dtypes
// only, what fake tensors and torch.compile trace with). A tensor on any
// other device is refused as require_cpu refuses it; a CPU tensor next to a
// meta one is refused naming both arguments.
void require_cpu_or_meta(
    const char* op, std::initializer_list<std::pair<const char*, const torch::Tensor*>> tensors);

// While autograd records (GradMode enabled), error if `tensor` requires
// grad: "<op>: <argument> requires grad, but <op> is not differentiable with
// respect to <argument>; <advice>". For the arguments an op has no gradient
// for (spin targets and couplings, pair edge weights), which would otherwise
// silently get none.
void refuse_gradient(const char* op, const char* argument, const torch::Tensor& tensor,
                     const char* advice = "detach it");

// Checks `positions` is [B, N, d] float32/float64 on the CPU, and `mask` (if
// given) is boolean [B, N] on the CPU (or both on the meta device, shapes
// only: the layout's mask pointer is then null); returns contiguous copies in
// `positions` / `mask` and the matching layout. `op` and `name` (the
// argument) appear in errors.
BatchLayout batch_layout(const char* op, torch::Tensor& positions,
                         std::optional<torch::Tensor>& mask, const char* name);

// Same dtype as `reference`, or an error naming `op`, both arguments and both
// dtypes (float32 and float64 are never mixed silently).
void require_same_dtype(const char* op, const torch::Tensor& tensor, const char* name,
                        const torch::Tensor& reference, const char* reference_name);
// Same shape and dtype as `reference`, or an error naming `op` and both
// arguments.
void require_same_shape(const char* op, const torch::Tensor& tensor, const char* name,
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
