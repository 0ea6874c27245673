// Scales the tests' tolerances are relative to.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace energyloss::test_support {

// The largest |value|, 0 for none.
inline double max_abs(const std::vector<double>& values) {
  double largest = 0;
  for (double value : values) largest = std::max(largest, std::abs(value));
  return largest;
}

}  // namespace energyloss::test_support
