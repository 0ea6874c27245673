// One pair's term of the pair energy loss (paper eq. 7) and its gradients:
// the single definition behind the CPU kernel (its vectorised complete-graph
// loop and its scalar loops) and the CUDA kernel. Branch-free, so it
// vectorises inside `omp simd` loops, and host/device, so nvcc compiles the
// same lines for the GPU.
#pragma once

#include <cmath>

#include "energyloss/coefficients.h"

namespace energyloss {

// The pair (i, j) with pred distance r = |pred_i - pred_j| and reference
// distance r0 = |ref_i - ref_j|, weight w and spring constant k = k(r0):
//   energy     = 1/2 w k (r - r0)^2
//   dE/dpred_i = pred_scale * (pred_i - pred_j),  dE/dpred_j = -dE/dpred_i
//   dE/dref_i  = ref_scale * (ref_i - ref_j),     dE/dref_j  = -dE/dref_i
// Units: energy in k's unit times length^2; the scales in energy / length^2.
template <typename T>
struct PairTerm {
  T energy;
  T pred_scale;  // w k (r - r0) / r, 0 at r = 0
  T ref_scale;   // (1/2 w dk/dr0 (r - r0)^2 - w k (r - r0)) / r0, 0 at r0 = 0
};

// The term from the squared distances r2 = r^2 and r02 = r0^2 (both >= 0).
// `k0` is the effective prefactor (coefficient<Mode>'s), `weight` w >= 0: the
// caller's edge weight times any 0/1 masks (w = 0 gives an all-zero term).
// The direction of a zero-length difference is undefined, so its gradient
// scale is 0 rather than NaN.
template <CoefficientMode Mode, typename T>
ENERGYLOSS_HOST_DEVICE inline PairTerm<T> pair_term(const CoefficientSpec& spec, T k0, T weight,
                                                    T r2, T r02) {
  const T r = std::sqrt(r2), r0 = std::sqrt(r02);
  T k, dk_dr0;
  coefficient<Mode>(spec, k0, r0, k, dk_dr0);
  k *= weight;
  dk_dr0 *= weight;
  const T diff = r - r0;
  PairTerm<T> term;
  term.energy = T(0.5) * k * diff * diff;
  term.pred_scale = k * diff * inverse_or_zero(r);
  term.ref_scale = (T(0.5) * dk_dr0 * diff * diff - k * diff) * inverse_or_zero(r0);
  return term;
}

}  // namespace energyloss
