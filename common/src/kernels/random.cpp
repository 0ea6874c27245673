// Seeded standard normals on raw arrays (formulas in energyloss/random.h).
#include "energyloss/random.h"

#include <algorithm>

#include "energyloss/error.h"

namespace energyloss {

template <typename T>
void seeded_normal(uint64_t seed, int64_t count, T* out) {
  require(count >= 0, "seeded_normal: negative count ", count);
  require(count == 0 || out != nullptr, "seeded_normal: out must not be null");
  const int64_t blocks = (count + 3) / 4;
  // Each block writes its own four elements: any thread count, same values.
#pragma omp parallel for schedule(static) if (blocks > 4096)
  for (int64_t block = 0; block < blocks; ++block) {
    double normal[4];
    box_muller4(seeded_block(seed, static_cast<uint64_t>(block)), normal);
    const int64_t first = 4 * block;
    const int64_t last = std::min<int64_t>(first + 4, count);
    for (int64_t i = first; i < last; ++i) out[i] = static_cast<T>(normal[i - first]);
  }
}

template void seeded_normal<float>(uint64_t, int64_t, float*);
template void seeded_normal<double>(uint64_t, int64_t, double*);

}  // namespace energyloss
