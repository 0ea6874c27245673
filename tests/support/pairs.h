// The complete graph's edges as a flat [E * 2] list (i < j, row-major), the
// layout the oracle coefficient functions take.
#pragma once

#include <cstdint>
#include <vector>

namespace energyloss::testing {

inline std::vector<int64_t> complete_edges(int64_t atoms) {
  std::vector<int64_t> edges;
  for (int64_t i = 0; i < atoms; ++i) {
    for (int64_t j = i + 1; j < atoms; ++j) edges.insert(edges.end(), {i, j});
  }
  return edges;
}

}  // namespace energyloss::testing
