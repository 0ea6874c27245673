#include "energyloss/layout.h"

#include <cmath>

#include "energyloss/error.h"

namespace energyloss {

void check_layout_shape(const BatchLayout& layout, const char* what) {
  require(layout.dim == 2 || layout.dim == 3, what,
          ": positions must have 2 or 3 coordinates, got ", layout.dim);
  // An empty batch (B = 0) is valid: the kernels then write nothing.
  require(layout.batch >= 0, what, ": negative batch size ", layout.batch);
  require(layout.atoms >= 1, what, ": systems have no atoms");
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
  const int64_t n = layout.batch * layout.atoms * layout.dim;
  for (int64_t index = 0; index < n; ++index) {
    if (!std::isfinite(values[index])) {
      const int64_t atom = index / layout.dim;
      fail(argument, " has a non-finite value (", values[index], ") at system ",
           atom / layout.atoms, ", atom ", atom % layout.atoms, ", coordinate ",
           index % layout.dim);
    }
  }
}

template void check_finite<float>(const float*, const BatchLayout&, const char*);
template void check_finite<double>(const double*, const BatchLayout&, const char*);

}  // namespace energyloss
