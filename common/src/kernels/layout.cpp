#include "energyloss/layout.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "energyloss/error.h"

namespace energyloss {

void check_layout_shape(const BatchLayout& layout, const char* what) {
  require(layout.dim == 2 || layout.dim == 3, what,
          ": positions must have 2 or 3 coordinates, got ", layout.dim);
  // An empty batch (B = 0) is valid: the kernels then write nothing.
  require(layout.batch >= 0, what, ": negative batch size ", layout.batch);
  require(layout.atoms >= 1, what, ": systems have no atoms");
  // No array in memory holds more values (of 8 bytes) than this; larger
  // sizes are a wrong layout, and B * N * d would overflow the index maths.
  constexpr int64_t kMostValues = std::numeric_limits<std::ptrdiff_t>::max() / 8;
  require(layout.atoms <= kMostValues / layout.dim / std::max<int64_t>(layout.batch, 1), what,
          ": batch ", layout.batch, " x atoms ", layout.atoms, " x dim ", layout.dim,
          " is more values than memory can hold");
}

void check_layout(const BatchLayout& layout, const char* what, int64_t* counts) {
  check_layout_shape(layout, what);
  for (int64_t b = 0; b < layout.batch; ++b) {
    int64_t count = 0;
    for (int64_t i = 0; i < layout.atoms; ++i) count += layout.real(b, i) ? 1 : 0;
    require(count > 0, what, ": mask of system ", b, " selects no atom");
    if (counts != nullptr) counts[b] = count;
  }
}

template <typename T>
void check_finite(const T* values, const BatchLayout& layout, const char* argument) {
  // Padding atoms (masked out) are never read: pipelines mark missing atoms
  // with NaN.
  for (int64_t b = 0; b < layout.batch; ++b) {
    for (int64_t i = 0; i < layout.atoms; ++i) {
      if (!layout.real(b, i)) continue;
      const T* atom = values + (b * layout.atoms + i) * layout.dim;
      for (int64_t c = 0; c < layout.dim; ++c) {
        if (!std::isfinite(atom[c])) {
          fail(argument, " has a non-finite value (", atom[c], ") at system ", b, ", atom ", i,
               ", coordinate ", c);
        }
      }
    }
  }
}

template void check_finite<float>(const float*, const BatchLayout&, const char*);
template void check_finite<double>(const double*, const BatchLayout&, const char*);

}  // namespace energyloss
