// The CUDA kernels of the inner pair ops (schemas and the CPU/Meta kernels
// in torch/pair_ops.cpp): tensors in, energyloss::cuda::pair_energy_loss on
// torch's current stream, tensors out. Scratch comes from torch's caching
// allocator; the only host wait is the kernel's input-check flag. Compiled
// into energyloss_torch only when CMake finds a CUDA-enabled Torch and
// ENERGYLOSS_WITH_CUDA is ON (common/CMakeLists.txt).
// Only c10's CUDA headers, which need cuda_runtime_api.h alone; not
// ATen/cuda/CUDAContext.h, which also includes cuBLAS, cuSPARSE and cuSOLVER
// headers (a CUDA toolkit without those math libraries could not compile it).
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <type_traits>

#include "../torch/pair_arguments.h"
#include "energyloss/cuda/pair_energy.h"

namespace energyloss::pair_ops {
namespace {

// The GPU kernel on the tensors' device and torch's current stream there,
// with scratch from torch's caching allocator and no wait at the end.
const auto cuda_kernel = [](const auto& input, const CoefficientSpec& spec, const auto& output) {
  using T = std::remove_cv_t<std::remove_pointer_t<decltype(input.pred)>>;
  const torch::Device device(torch::kCUDA, c10::cuda::current_device());
  const Tensor workspace =
      torch::empty({int64_t(cuda::workspace_bytes(input.layout.batch, sizeof(T)))},
                   torch::TensorOptions().dtype(torch::kByte).device(device));
  cuda::LaunchOptions launch;
  launch.stream = c10::cuda::getCurrentCUDAStream(device.index()).stream();
  launch.workspace = workspace.data_ptr();
  launch.synchronize = false;
  cuda::pair_energy_loss<T>(input, spec, output, launch);
};

std::tuple<Tensor, Tensor, Tensor, Tensor> fused_cuda(
    const Tensor& pred, const Tensor& ref, const c10::optional<Tensor>& mask,
    const c10::optional<Tensor>& edges, const c10::optional<Tensor>& edge_weights,
    const std::string& coeff, c10::optional<double> k0, c10::optional<bool> per_atom,
    double length_scale, double eps, c10::optional<double> cutoff, bool want_pred, bool want_ref) {
  const c10::cuda::CUDAGuard guard(pred.device());
  return fused_with(PairArguments("pair_energy_loss", pred, ref, mask, edges, edge_weights),
                    options_from(coeff, k0, per_atom, length_scale, eps, cutoff), want_pred,
                    want_ref, cuda_kernel);
}

std::tuple<Tensor, Tensor, Tensor> terms_cuda(const Tensor& pred, const Tensor& ref,
                                              const c10::optional<Tensor>& mask,
                                              const c10::optional<Tensor>& edges,
                                              const c10::optional<Tensor>& edge_weights,
                                              const std::string& coeff, c10::optional<double> k0,
                                              c10::optional<bool> per_atom, double length_scale,
                                              double eps, c10::optional<double> cutoff) {
  const c10::cuda::CUDAGuard guard(pred.device());
  return terms_with(PairArguments("pair_energy_terms", pred, ref, mask, edges, edge_weights),
                    options_from(coeff, k0, per_atom, length_scale, eps, cutoff), cuda_kernel);
}

}  // namespace

TORCH_LIBRARY_IMPL(energyloss, CUDA, m) {
  m.impl("_pair_energy_fused", &fused_cuda);
  m.impl("_pair_energy_terms", &terms_cuda);
}

}  // namespace energyloss::pair_ops
