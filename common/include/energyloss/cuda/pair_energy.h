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
// Inputs are validated the way the CPU kernel does, on host copies, before
// any kernel runs; throws energyloss::Error on bad input or a CUDA failure.
template <typename T>
void pair_energy_loss(const PairLossInput<T>& device_input, const CoefficientSpec& coefficients,
                      const PairLossOutput<T>& device_output);

}  // namespace energyloss::cuda
