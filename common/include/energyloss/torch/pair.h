// LibTorch front end of the pair energy loss (paper eq. 7): autograd-aware,
// registered as torch.ops.energyloss.pair_energy_loss.
#pragma once

#include <torch/types.h>

#include <limits>
#include <optional>
#include <string>

namespace energyloss {

struct PairLossOptions {
  std::string coeff = "exp";  // constant | exp | inv | inv2 | lj | morse | explicit
  // Prefactor; unset: the mode's preset (exp 24/N, inv 3.7/N, inv2 9/N, ...).
  std::optional<double> k0;
  // Divide k0 by each system's atom count; unset: the preset's choice when
  // k0 is unset, no division when k0 is given.
  std::optional<bool> per_atom;
  double length_scale = 1.0;                                // r0 of exp, 1/a of morse
  double eps = 1e-5;                                        // regulariser of inv / inv2
  double cutoff = std::numeric_limits<double>::infinity();  // on reference distance
  std::string reduction = "sum";  // none | sum | mean (per system) | mean_pair
};

// pred, ref: [B, N, d] (d = 2 or 3), float or double, same shape.
// mask: bool [B, N], false marks padding atoms.
// edges: int64 [E, 2] shared by the batch or [B, E, 2] per system; negative
//   indices mark padding. Unset: the complete graph.
// edge_weights: [E] or [B, E] multiplying k (the k themselves for "explicit").
// Devices: pred on the CPU, a CUDA device (builds with the CUDA kernels,
//   see README "GPU through PyTorch") or meta (shapes only); ref and mask on
//   pred's device; CPU edges / edge_weights are copied to it. Otherwise, and
//   for float16 / bfloat16, an Error names the op, the argument and why.
// Differentiable wrt pred and ref. edge_weights are constants: while
//   autograd records, weights that require grad are refused (Error naming
//   them: pass edge_weights.detach()). An undefined tensor (torch::Tensor())
//   is refused by name; leave an optional argument out with std::nullopt.
torch::Tensor pair_energy_loss(const torch::Tensor& pred, const torch::Tensor& ref,
                               const PairLossOptions& options = {},
                               const std::optional<torch::Tensor>& mask = std::nullopt,
                               const std::optional<torch::Tensor>& edges = std::nullopt,
                               const std::optional<torch::Tensor>& edge_weights = std::nullopt);

}  // namespace energyloss
