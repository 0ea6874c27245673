// How a batch of point sets is laid out in memory: row-major [batch, atoms, dim]
// positions plus an optional [batch, atoms] mask for padded, variable-size
// systems. Shared by every position-based kernel.
#pragma once

#include <cstdint>

namespace energyloss {

struct BatchLayout {
  int64_t batch = 1;
  int64_t atoms = 0;
  int64_t dim = 3;
  const bool* mask = nullptr;  // [batch, atoms]; nullptr: every atom is real

  bool real(int64_t b, int64_t i) const { return mask == nullptr || mask[b * atoms + i]; }
  int64_t stride() const { return atoms * dim; }
};

// Validates sizes (dim in {2, 3}, at least one atom; the batch may be empty;
// batch * atoms * dim values of 8 bytes fit in memory) without reading the
// mask. `what` names the caller.
void check_layout_shape(const BatchLayout& layout, const char* what);

// check_layout_shape, then that no system is empty; returns the number of
// real atoms per system in `counts` (length batch).
void check_layout(const BatchLayout& layout, const char* what, int64_t* counts);

// Throws when a value of a real atom is NaN or infinite, naming `argument` and
// the [system, atom, coordinate] of the first bad value. Padding atoms
// (masked out) are never read.
template <typename T>
void check_finite(const T* values, const BatchLayout& layout, const char* argument);

}  // namespace energyloss
