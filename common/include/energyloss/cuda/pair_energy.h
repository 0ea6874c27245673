// The pair energy loss on an NVIDIA GPU: the same formula and layouts as
// energyloss/pair_energy.h (one coefficient function, shared), with every
// pointer in device memory. Built when ENERGYLOSS_WITH_CUDA is ON.
#pragma once

#include "energyloss/pair_energy.h"

namespace energyloss::cuda {

// True when a CUDA device is usable from this process.
bool device_available();

// Fills output.energy [B] and, when given, output.grad_pred / grad_ref
// (atom_energy and pair_count are not computed on the GPU and must be null).
// Inputs get the CPU kernel's checks before the loss kernel runs: the
// arrays are scanned on the device, and only input the scan flags is copied
// back, so the error names the first bad value. Throws energyloss::Error on
// bad input or a CUDA failure.
template <typename T>
void pair_energy_loss(const PairLossInput<T>& device_input, const CoefficientSpec& coefficients,
                      const PairLossOutput<T>& device_output);

}  // namespace energyloss::cuda
