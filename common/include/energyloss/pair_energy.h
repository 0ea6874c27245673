// The pair energy loss (paper eq. 7):
//   E(pred, ref) = sum_(i,j) in edges  1/2 w_ij k_ij(ref) (|ref_i - ref_j| - |pred_i - pred_j|)^2
// fused forward and backward on raw arrays, OpenMP-parallel, with memory
// O(batch * atoms + edges): the complete graph is walked implicitly, never
// stored. One implementation serves the torch ops, OpenMM and LAMMPS.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "energyloss/coefficients.h"
#include "energyloss/layout.h"

namespace energyloss {

// A pointer for PairLossInput::edges or ::edge_weights that is never null.
// An empty std::vector's data(), or an empty tensor's data_ptr(), may be
// null, which would mean the complete graph (or weights all 1) instead of a
// list with no edges.
template <typename T>
const T* edge_array(const T* data) {
  static constexpr T kNone[2] = {};  // never read: n_edges is 0
  return data != nullptr ? data : kNone;
}

template <typename T>
struct PairLossInput {
  const T* pred = nullptr;  // [batch, atoms, dim]
  const T* ref = nullptr;   // [batch, atoms, dim]
  BatchLayout layout;

  // Edges as (i, j) index pairs: [n_edges, 2] shared by the batch, or
  // [batch, n_edges, 2] when edges_per_system. A pair with a negative index is
  // padding and is skipped. nullptr: the complete graph over real atoms (so a
  // list that may be empty is handed over as edge_array(data), above).
  const int64_t* edges = nullptr;
  int64_t n_edges = 0;
  bool edges_per_system = false;
  // Per-edge weights w_ij in the same layout as the edges (nullptr: all 1).
  // In CoefficientMode::Explicit they are the coefficients k_ij themselves.
  const T* edge_weights = nullptr;

  // Only pairs whose reference distance is below the cutoff contribute.
  double cutoff = std::numeric_limits<double>::infinity();

  // Complete graph on the host only: walk just the rows [row_begin, row_end)
  // of the flat batch * atoms rows, row i holding the pairs (i, j > i); -1:
  // to the last row. Lets a caller with its own thread pool (OpenMM's CPU
  // platform) split the rows over its threads and sum the outputs.
  int64_t row_begin = 0;
  int64_t row_end = -1;
};

template <typename T>
struct PairLossOutput {
  T* energy = nullptr;            // [batch], required unless batch == 0
  T* grad_pred = nullptr;         // [batch, atoms, dim] dE_b/dpred, optional
  T* grad_ref = nullptr;          // [batch, atoms, dim] dE_b/dref, optional
  T* atom_energy = nullptr;       // [batch, atoms] each atom's half of its pairs, optional
  int64_t* pair_count = nullptr;  // [batch] pairs that contributed, optional
};

// The checks of validate_pair_input that read no array: shapes, which arrays
// are given, coefficients, cutoff. The GPU path runs these on the host and
// scans the arrays on the device.
template <typename T>
void validate_pair_arguments(const PairLossInput<T>& input, const CoefficientSpec& coefficients);

// Everything pair_energy_loss checks before computing (shapes, dim, masks,
// finite positions, edge indices, coefficients), on host memory. Returns the
// real atom count of each system. Shared with the GPU path.
template <typename T>
std::vector<int64_t> validate_pair_input(const PairLossInput<T>& input,
                                         const CoefficientSpec& coefficients);

// Validates everything (shapes, dim, masks, finite positions, edge indices,
// non-negative coefficients) before touching the outputs; throws Error.
// Gradients at coincident atoms are 0, never NaN.
template <typename T>
void pair_energy_loss(const PairLossInput<T>& input, const CoefficientSpec& coefficients,
                      const PairLossOutput<T>& output);

extern template void pair_energy_loss<float>(const PairLossInput<float>&, const CoefficientSpec&,
                                             const PairLossOutput<float>&);
extern template void pair_energy_loss<double>(const PairLossInput<double>&, const CoefficientSpec&,
                                              const PairLossOutput<double>&);

}  // namespace energyloss
