#include "energyloss/torch/common.h"

#include <torch/autograd.h>

#include "energyloss/error.h"

namespace energyloss::torch_ops {

namespace {

// "op: " for the message prefix, or nothing when the caller gave no op name.
std::string op_prefix(const char* op) {
  return op != nullptr && *op != '\0' ? std::string(op) + ": " : std::string();
}

std::string op_or_this(const char* op) {
  return op != nullptr && *op != '\0' ? std::string(op) : std::string("this op");
}

// The device half of require_cpu: fake tensors (which report the CPU) pass,
// so the ops with Meta kernels can trace with them.
void require_cpu_device(const char* op, const char* argument, const torch::Tensor& tensor,
                        const char* explanation) {
  require_defined(op, argument, tensor);
  if (tensor.device().is_cpu()) return;
  if (explanation != nullptr) {
    fail(op_prefix(op), argument, ": expected a CPU tensor, got one on ", tensor.device(), ": ",
         explanation);
  }
  if (op == nullptr || *op == '\0') {
    fail(argument, ": expected a CPU tensor, got one on ", tensor.device(),
         ": pass CPU tensors (.cpu())");
  }
  fail(op, ": ", argument, ": expected a CPU tensor, got one on ", tensor.device(), ": ", op,
       " has CPU code only, by design (of the energyloss ops only the pair energy loss has a "
       "CUDA kernel); pass CPU tensors (.cpu()) and move the result back with .to(device)");
}

}  // namespace

void require_defined(const char* op, const char* argument, const torch::Tensor& tensor) {
  require(tensor.defined(), op_prefix(op), argument,
          ": got an undefined tensor (a default-constructed torch::Tensor in C++, None in "
          "Python); pass a tensor, or leave an optional argument out (std::nullopt, None)");
}

bool shapes_only(const torch::Tensor& tensor) {
  return tensor.is_meta() || (tensor.has_storage() && tensor.storage().device().is_meta());
}

void require_cpu(const char* op, const char* argument, const torch::Tensor& tensor,
                 const char* explanation) {
  require_cpu_device(op, argument, tensor, explanation);
  if (!shapes_only(tensor)) return;
  const std::string why =
      explanation != nullptr
          ? std::string(explanation)
          : op_or_this(op) +
                " reads the values and has no Meta kernel; call it on real CPU tensors";
  fail(op_prefix(op), argument, ": a fake tensor (shapes only, as under torch.compile), but ", why,
       " outside the traced code");
}

void require_float_or_double(const char* op, const char* argument, const torch::Tensor& tensor) {
  require_defined(op, argument, tensor);
  const torch::ScalarType dtype = tensor.scalar_type();
  if (dtype == torch::kFloat || dtype == torch::kDouble) return;
  if (dtype == torch::kHalf || dtype == torch::kBFloat16) {
    fail(op_prefix(op), argument, ": expected float32 or float64, got ", dtype, " (",
         dtype == torch::kHalf ? "float16" : "bfloat16", "): ", op_or_this(op),
         " computes in float32 or float64 only; convert with .float() or .double() in Python, "
         ".to(torch::kFloat) or .to(torch::kDouble) in C++ (outside torch.autocast, or cast the "
         "op's inputs inside it)");
  }
  fail(op_prefix(op), argument, ": expected float32 or float64, got ", dtype);
}

void require_floating_cpu(const char* op, const char* argument, const torch::Tensor& tensor) {
  require_cpu(op, argument, tensor);
  require_float_or_double(op, argument, tensor);
}

void require_cpu_or_meta(
    const char* op, std::initializer_list<std::pair<const char*, const torch::Tensor*>> tensors) {
  const std::pair<const char*, const torch::Tensor*>* first = nullptr;
  for (const auto& entry : tensors) {
    if (entry.second == nullptr) continue;
    const torch::Tensor& tensor = *entry.second;
    require_defined(op, entry.first, tensor);
    if (!tensor.device().is_meta()) require_cpu_device(op, entry.first, tensor, nullptr);
    if (first == nullptr) {
      first = &entry;
      continue;
    }
    require(tensor.device() == first->second->device(), op_prefix(op), entry.first, " is on ",
            tensor.device(), " but ", first->first, " is on ", first->second->device(),
            "; pass every tensor on one device");
  }
}

void refuse_gradient(const char* op, const char* argument, const torch::Tensor& tensor,
                     const char* advice) {
  require(!(tensor.defined() && tensor.requires_grad() && torch::GradMode::is_enabled()),
          op_prefix(op), argument, " requires grad, but ", op_or_this(op),
          " is not differentiable with respect to ", argument, "; ", advice);
}

BatchLayout batch_layout(const char* op, torch::Tensor& positions,
                         std::optional<torch::Tensor>& mask, const char* name) {
  require_defined(op, name, positions);
  if (mask.has_value()) require_defined(op, "mask", *mask);
  require(positions.dim() == 3, op_prefix(op), name, ": expected shape [B, N, d], got ",
          positions.sizes());
  require_cpu_or_meta(op, {{name, &positions}});
  require_float_or_double(op, name, positions);
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
    require_cpu_or_meta(op, {{name, &positions}, {"mask", &*mask}});
    *mask = mask->contiguous();
    if (!mask->is_meta()) layout.mask = mask->data_ptr<bool>();  // meta: shapes only
  }
  return layout;
}

void require_same_dtype(const char* op, const torch::Tensor& tensor, const char* name,
                        const torch::Tensor& reference, const char* reference_name) {
  require_defined(op, reference_name, reference);
  require_defined(op, name, tensor);
  require(tensor.scalar_type() == reference.scalar_type(), op_prefix(op), name, " has dtype ",
          tensor.scalar_type(), " but ", reference_name, " has dtype ", reference.scalar_type(),
          "; convert one of them (.float() or .double())");
}

void require_same_shape(const char* op, const torch::Tensor& tensor, const char* name,
                        const torch::Tensor& reference, const char* reference_name) {
  require_defined(op, reference_name, reference);
  require_defined(op, name, tensor);
  require(tensor.sizes() == reference.sizes(), op_prefix(op), name, " has shape ", tensor.sizes(),
          " but ", reference_name, " has shape ", reference.sizes());
  require_same_dtype(op, tensor, name, reference, reference_name);
}

torch::Tensor reduce(const torch::Tensor& per_system, const std::string& reduction) {
  if (reduction == "none") return per_system;
  if (reduction == "sum") return per_system.sum();
  if (reduction == "mean") return per_system.mean();
  fail("reduction must be 'none', 'sum' or 'mean', got '", reduction, "'");
}

}  // namespace energyloss::torch_ops
