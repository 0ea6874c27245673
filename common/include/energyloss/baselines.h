// Baseline losses that sit beside the pair energy loss with the same batch
// layout: per-coordinate MSE and MAE, and the Kabsch-aligned MSE (optimal
// proper rotation per system, by SVD). Each system's value is the mean over
// its real atoms' coordinates, sum / (n_b * dim), so an unmasked MSE equals
// torch.nn.functional.mse_loss system by system.
#pragma once

#include <cstdint>

#include "energyloss/layout.h"

namespace energyloss {

enum class BaselineKind {
  MSE,        // mean (pred - ref)^2
  MAE,        // mean |pred - ref|; subgradient 0 where they are equal
  KabschMSE,  // mean |R (pred_i - pred_centroid) - (ref_i - ref_centroid)|^2, R optimal
};

// The kind's op name, as in errors and torch.ops.energyloss: "mse_loss",
// "mae_loss" or "kabsch_mse".
const char* baseline_name(BaselineKind kind);

template <typename T>
struct BaselineInput {
  const T* pred = nullptr;  // [batch, atoms, dim]
  const T* ref = nullptr;   // [batch, atoms, dim]
  BatchLayout layout;
};

template <typename T>
struct BaselineOutput {
  T* loss = nullptr;       // [batch], required unless batch == 0
  T* grad_pred = nullptr;  // [batch, atoms, dim] dloss_b/dpred, optional; 0 at padding
  T* grad_ref = nullptr;   // [batch, atoms, dim] dloss_b/dref, optional; 0 at padding
};

// Validates the layout (dim, masks) and finite inputs before touching the
// outputs; throws Error. OpenMP-parallel over systems.
//
// KabschMSE gradients use the envelope theorem: R is optimal, so
// dL/dpred_i = 2/(n d) R^T (R p~_i - y~_i) and dL/dref_i = -2/(n d) (R p~_i - y~_i);
// the centring terms vanish because the residuals sum to zero. They are exact
// wherever the optimal rotation is unique (non-degenerate covariance).
template <typename T>
void baseline_loss(BaselineKind kind, const BaselineInput<T>& input,
                   const BaselineOutput<T>& output);

// Writes pred rotated and translated onto ref (the optimal proper rotation of
// KabschMSE) into `aligned` [batch, atoms, dim]; padding atoms are copied
// from pred unchanged.
template <typename T>
void kabsch_align(const BaselineInput<T>& input, T* aligned);

extern template void baseline_loss<float>(BaselineKind, const BaselineInput<float>&,
                                          const BaselineOutput<float>&);
extern template void baseline_loss<double>(BaselineKind, const BaselineInput<double>&,
                                           const BaselineOutput<double>&);
extern template void kabsch_align<float>(const BaselineInput<float>&, float*);
extern template void kabsch_align<double>(const BaselineInput<double>&, double*);

}  // namespace energyloss
