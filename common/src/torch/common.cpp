#include "energyloss/torch/common.h"

#include "energyloss/error.h"

namespace energyloss::torch_ops {

BatchLayout batch_layout(torch::Tensor& positions, std::optional<torch::Tensor>& mask,
                         const char* name) {
  require(positions.dim() == 3, name, ": expected shape [B, N, d], got ", positions.sizes());
  require(positions.scalar_type() == torch::kFloat || positions.scalar_type() == torch::kDouble,
          name, ": expected float32 or float64, got ", positions.scalar_type());
  require(positions.device().is_cpu(), name, ": expected a CPU tensor, got ", positions.device());
  positions = positions.contiguous();
  BatchLayout layout;
  layout.batch = positions.size(0);
  layout.atoms = positions.size(1);
  layout.dim = positions.size(2);
  if (mask.has_value()) {
    require(mask->scalar_type() == torch::kBool, "mask: expected a bool tensor, got ",
            mask->scalar_type());
    require(mask->dim() == 2 && mask->size(0) == layout.batch && mask->size(1) == layout.atoms,
            "mask: expected shape [", layout.batch, ", ", layout.atoms, "] to match ", name,
            ", got ", mask->sizes());
    *mask = mask->contiguous();
    layout.mask = mask->data_ptr<bool>();
  }
  return layout;
}

void require_same_shape(const torch::Tensor& tensor, const char* name,
                        const torch::Tensor& reference, const char* reference_name) {
  require(tensor.sizes() == reference.sizes(), name, " has shape ", tensor.sizes(), " but ",
          reference_name, " has shape ", reference.sizes());
  require(tensor.scalar_type() == reference.scalar_type(), name, " has dtype ",
          tensor.scalar_type(), " but ", reference_name, " has dtype ", reference.scalar_type());
}

torch::Tensor reduce(const torch::Tensor& per_system, const std::string& reduction) {
  if (reduction == "none") return per_system;
  if (reduction == "sum") return per_system.sum();
  if (reduction == "mean") return per_system.mean();
  fail("reduction must be 'none', 'sum' or 'mean', got '", reduction, "'");
}

}  // namespace energyloss::torch_ops
