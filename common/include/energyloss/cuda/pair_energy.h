// The pair energy loss on an NVIDIA GPU: the same formula and layouts as
// energyloss/pair_energy.h (one coefficient function, shared), with every
// pointer in device memory. Built when ENERGYLOSS_WITH_CUDA is ON.
#pragma once

#include <cstddef>
#include <cstdint>

#include "energyloss/pair_energy.h"

// cudaStream_t is a CUstream_st*; declared here so that this header needs no
// CUDA include.
struct CUstream_st;

namespace energyloss::cuda {

// True when a CUDA device is usable from this process.
bool device_available();

// How one call uses the device.
struct LaunchOptions {
  // The stream every copy and kernel is queued on (a torch caller passes
  // at::cuda::getCurrentCUDAStream()); nullptr: the legacy default stream.
  CUstream_st* stream = nullptr;
  // Device scratch of at least workspace_bytes(batch, sizeof(T)) bytes,
  // usable on `stream`; nullptr: the call allocates and frees its own
  // (cudaMalloc, which waits for the device).
  void* workspace = nullptr;
  // true: wait for the kernels and report their errors before returning.
  // false: the only host wait is for the input-check flag; a fault in the
  // loss kernels surfaces at the caller's next synchronisation (torch's rule
  // for asynchronous kernels). Launch errors are reported either way.
  bool synchronize = true;
};

// Bytes of scratch one call needs for a batch of `batch` systems whose
// values are `value_bytes` wide (sizeof(float) or sizeof(double)). Throws
// Error on a negative batch or another width.
size_t workspace_bytes(int64_t batch, size_t value_bytes);

// Fills output.energy [B] and, when given, output.grad_pred / grad_ref
// [B, N, d], output.atom_energy [B, N] (each atom's half of its pairs) and
// output.pair_count [B], all in device memory. Inputs get the CPU kernel's
// checks before the loss kernel runs: the arrays are scanned on the device,
// and only input the scan flags is copied back, so the error names the
// first bad value. Throws energyloss::Error on bad input and
// energyloss::RuntimeError on a CUDA failure (no device, no driver, a fault).
template <typename T>
void pair_energy_loss(const PairLossInput<T>& device_input, const CoefficientSpec& coefficients,
                      const PairLossOutput<T>& device_output, const LaunchOptions& launch = {});

}  // namespace energyloss::cuda
