// LibTorch adapter of the seeded normal sampler: checks the shape and dtype,
// then fills a fresh CPU tensor with the raw-array kernel.
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Optional.h>  // c10::optional: see energyloss/torch/common.h
#include <torch/library.h>

#include <limits>

#include "energyloss/error.h"
#include "energyloss/random.h"
#include "energyloss/torch/random.h"

namespace energyloss {
namespace {

using torch::Tensor;

Tensor seeded_normal_op(at::IntArrayRef shape, int64_t seed, c10::optional<at::ScalarType> dtype) {
  return seeded_normal(shape, seed, dtype.value_or(torch::kDouble));
}

}  // namespace

Tensor seeded_normal(at::IntArrayRef shape, int64_t seed, torch::ScalarType dtype) {
  require(dtype == torch::kFloat || dtype == torch::kDouble,
          "seeded_normal: dtype must be torch.float32 or torch.float64, got ", dtype);
  int64_t count = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    require(shape[k] >= 0, "seeded_normal: shape[", k, "] is ", shape[k],
            "; sizes must be >= 0 (shape ", shape, ")");
    require(shape[k] == 0 || count <= std::numeric_limits<int64_t>::max() / shape[k],
            "seeded_normal: shape ", shape, " has more than 2^63 - 1 elements");
    count *= shape[k];
  }
  Tensor out = torch::empty(shape, torch::TensorOptions().dtype(dtype).device(torch::kCPU));
  const uint64_t key = static_cast<uint64_t>(seed);
  if (dtype == torch::kFloat) {
    seeded_normal<float>(key, count, out.data_ptr<float>());
  } else {
    seeded_normal<double>(key, count, out.data_ptr<double>());
  }
  return out;
}

void require_seeded_normal_op() {
  const auto schema = c10::Dispatcher::singleton().findSchema({"energyloss::seeded_normal", ""});
  require(schema.has_value(),
          "torch.ops.energyloss.seeded_normal is not registered in this process "
          "(libenergyloss_torch is not loaded)");
}

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def("seeded_normal(int[] shape, int seed, ScalarType? dtype=None) -> Tensor",
        &seeded_normal_op);
}

}  // namespace energyloss
