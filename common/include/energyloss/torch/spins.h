// LibTorch front end of the spin kernels (energyloss/spins.h), registered as
// torch.ops.energyloss.<name>. All tensors are CPU float32 or float64 of one
// dtype (or all on the meta device, shapes only, except ising_ground_state;
// other devices are refused; so are mixed dtypes and undefined tensors,
// naming the op and the arguments): spins / logits / target [B, L, L], couplings
// Jh [B, L, L-1] (bond (r, c)-(r, c+1)) and Jv [B, L-1, L] (bond
// (r, c)-(r+1, c)). Targets are exactly +-1. Losses are per system, then
// reduced over the batch with reduction "none" ([B]), "sum" or "mean".
// Gradients come from the kernels:
// losses are differentiable wrt the logits only, energies and fields wrt the
// spins only (not the couplings); a target or coupling that requires grad
// while autograd records is refused (Error naming it). Second derivatives
// are not supported, except by local_fields (linear in the spins).
#pragma once

#include <torch/types.h>

#include <string>
#include <tuple>

#include "energyloss/spins.h"

namespace energyloss {

// E_b = -sum_<ij> J_ij y_i y_j (each bond once) for real-valued spins: [B].
torch::Tensor ising_energy(const torch::Tensor& spins, const torch::Tensor& Jh,
                           const torch::Tensor& Jv);

// h_i = sum_j J_ij y_j: [B, L, L].
torch::Tensor local_fields(const torch::Tensor& spins, const torch::Tensor& Jh,
                           const torch::Tensor& Jv);

// sum_i w_i (1 - y_i m_i) / 2 - T S[q] with w_i = y_i h_i(y) + h0,
// m = tanh(logits / 2), q(+1) = sigmoid(logits), y = target. The default
// h0 = 4.5 > 4 keeps every weight positive for any target (|J| <= 1); for
// ground-state targets any h0 > 0 does (see kDefaultLocalFieldOffset).
torch::Tensor local_field_energy_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                      const torch::Tensor& Jh, const torch::Tensor& Jv,
                                      double temperature = kDefaultSpinTemperature,
                                      double h0 = kDefaultLocalFieldOffset,
                                      const std::string& reduction = "sum");

// sum_i softplus(-y_i z_i): binary cross-entropy against (target + 1) / 2.
// logits / target: [B, ...] (any site shape).
torch::Tensor spin_bce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                            const std::string& reduction = "sum");

// sum_i max(0, margin - y_i z_i); logits / target: [B, ...].
torch::Tensor spin_margin_loss(const torch::Tensor& logits, const torch::Tensor& target,
                               double margin = 1.0, const std::string& reduction = "sum");

// E(m) - T S[q] with m = tanh(logits / 2): entropy-regularised energy
// minimisation; uses no data.
torch::Tensor spin_true_energy_loss(const torch::Tensor& logits, const torch::Tensor& Jh,
                                    const torch::Tensor& Jv,
                                    double temperature = kDefaultSpinTemperature,
                                    const std::string& reduction = "sum");

// Exact ground states (spins [B, L, L] of +-1, energies [B]) for L <= 22.
// Not differentiable: Jh or Jv that requires grad while autograd records is
// refused (Error naming it), as the other spin ops refuse couplings.
std::tuple<torch::Tensor, torch::Tensor> ising_ground_state(const torch::Tensor& Jh,
                                                            const torch::Tensor& Jv);

}  // namespace energyloss
