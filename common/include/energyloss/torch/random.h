// LibTorch front end of the counter-based normal sampler (energyloss/random.h),
// registered as torch.ops.energyloss.seeded_normal:
//
//   seeded_normal(int[] shape, int seed, ScalarType? dtype=None) -> Tensor
//
// so TorchScript code (a generator's sample(n, seed)) can draw reproducible
// noise without torch.Generator, which Debian's TorchScript lacks.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace energyloss {

// Standard normals of the given shape on the CPU, dtype float32 or float64:
// flat (row-major) element i is energyloss::seeded_normal_at(seed, i), a pure
// function of (seed, i) -- the same on every platform and thread count, and
// independent of the shape (shape [2, 3] holds the first 6 elements of shape
// [10]). Any int64 seed (taken modulo 2^64). Throws energyloss::Error on a
// negative size (naming its index), a shape whose element count overflows
// int64, or another dtype.
torch::Tensor seeded_normal(at::IntArrayRef shape, int64_t seed,
                            torch::ScalarType dtype = torch::kDouble);

// Throws energyloss::Error unless torch.ops.energyloss.seeded_normal is
// registered in this process. It always is once libenergyloss_torch is
// loaded; code that loads TorchScript generators (energyloss::Generator) calls
// it so the linker keeps that library, and with it the op, in every process
// that can load a generator (OpenMM seeder, LAMMPS seed_atoms, stock lmp).
void require_seeded_normal_op();

}  // namespace energyloss
