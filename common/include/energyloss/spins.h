// Discrete spins on an L x L open-boundary square lattice (paper section 5,
// A.6, C.3): the Ising energy with nearest-neighbour couplings, the
// local-field energy loss and its classification baselines, and exact ground
// states by a transfer-matrix dynamic programme. Framework-free kernels on
// raw arrays; OpenMP-parallel over the batch.
//
// Layout: site (r, c) of system b is element [b, r, c] of a [batch, L, L]
// array; couplings are Jh [batch, L, L-1] (bond (r, c)-(r, c+1)) and
// Jv [batch, L-1, L] (bond (r, c)-(r+1, c)). Spins are +-1 stored as T.
#pragma once

#include <cstdint>

namespace energyloss {

template <typename T>
struct SpinLattice {
  int64_t batch = 1;
  int64_t side = 0;               // L
  const T* horizontal = nullptr;  // Jh [batch, L, L-1]
  const T* vertical = nullptr;    // Jv [batch, L-1, L]

  int64_t sites() const { return side * side; }
  int64_t bonds_per_direction() const { return side * (side - 1); }
};

// The paper's temperature (C.3).
constexpr double kDefaultSpinTemperature = 0.1;
// Offset of the flip-cost weights w_i = y_i h_i(y) + h0. |h_i| <= 4 on the
// square lattice with |J| <= 1, so h0 > 4 makes every weight positive and the
// data the unique minimiser of the local-field loss for ANY target; for
// ground-state targets (y_i h_i >= 0) any h0 > 0 suffices, and a smaller h0
// lets the physical flip costs dominate the weights.
constexpr double kDefaultLocalFieldOffset = 4.5;
// The ground-state programme keeps 2 x 2^L costs and L^2 2^L choice bits per
// instance in flight (about 320 MB at L = 22, 3 MB at L = 16).
constexpr int64_t kMaxGroundStateSide = 22;

// Throws Error unless batch >= 1, side >= 1 and every coupling is finite.
template <typename T>
void check_spin_lattice(const SpinLattice<T>& lattice);

// Local fields h_i(y) = sum_j J_ij y_j over the lattice neighbours j of i, for
// real-valued y [batch, L, L] (mean-field magnetisations too); fields [batch, L, L].
template <typename T>
void local_fields(const SpinLattice<T>& lattice, const T* spins, T* fields);

// E_b(y) = -sum_<ij> J_ij y_i y_j with each bond once, for real-valued y;
// energy [batch]; grad_spins (optional, [batch, L, L]) = dE/dy = -h(y).
template <typename T>
void ising_energy(const SpinLattice<T>& lattice, const T* spins, T* energy,
                  T* grad_spins = nullptr);

// Every loss below is per system (loss [batch]) of logits z [batch, L, L],
// with q(spin_i = +1) = sigmoid(z_i), m_i = tanh(z_i / 2) and S[q] the sum of
// the sites' binary entropies (natural log). grad_logits (optional, same
// shape as the logits) receives d loss_b / d z. temperature >= 0. Targets are
// exactly +-1. Numerically stable for any finite logit.

// Local-field energy loss, the variational free energy of the prediction
// around the data y = target (SPEC 2.3, our reading of eq. 16):
//   sum_i w_i (1 - y_i m_i) / 2 - T S[q],  w_i = y_i h_i(y) + h0,
// where 2 y_i h_i(y) is the energy cost of flipping spin i of the data.
template <typename T>
void local_field_energy_loss(const SpinLattice<T>& lattice, const T* logits, const T* target,
                             double temperature, double h0, T* loss, T* grad_logits = nullptr);

// The true (mean-field) energy objective E(m) - T S[q]; ignores any data.
template <typename T>
void spin_true_energy_loss(const SpinLattice<T>& lattice, const T* logits, double temperature,
                           T* loss, T* grad_logits = nullptr);

// Baselines over any per-system site count (no lattice needed):
// binary cross-entropy against (y + 1) / 2, i.e. sum_i softplus(-y_i z_i) ...
template <typename T>
void spin_bce_loss(int64_t batch, int64_t sites, const T* logits, const T* target, T* loss,
                   T* grad_logits = nullptr);

// ... and the hinge sum_i max(0, margin - y_i z_i) (gradient 0 at the kink).
template <typename T>
void spin_margin_loss(int64_t batch, int64_t sites, const T* logits, const T* target, double margin,
                      T* loss, T* grad_logits = nullptr);

// Exact ground states: spins [batch, L, L] (+-1) minimising ising_energy and
// their energies [batch]. Transfer-matrix dynamic programme in row-major site
// order over a frontier of L spins, O(L^2 2^L) time per instance. Ties are
// broken deterministically. Requires side <= kMaxGroundStateSide.
template <typename T>
void ising_ground_state(const SpinLattice<T>& lattice, T* spins, T* energy);

}  // namespace energyloss
