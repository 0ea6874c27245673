// Random inputs for the tests: independent N(0, scale^2) values, e.g. the
// coordinates of random points.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace energyloss::test_support {

template <typename Rng>
std::vector<double> normal_values(int64_t count, Rng& rng, double scale = 1.0) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(static_cast<size_t>(count));
  for (double& value : values) value = normal(rng);
  return values;
}

}  // namespace energyloss::test_support
