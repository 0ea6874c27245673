// Central finite differences, the tests' independent check of analytic
// gradients and forces: (f(x + h) - f(x - h)) / 2h, one coordinate at a time,
// directly or as one batch of displaced copies for evaluators that take
// batches (the energy oracles).
#pragma once

#include <cstddef>
#include <vector>

namespace energyloss::test_support {

// (f(h) - f(-h)) / 2h for f a function of a displacement.
template <typename F>
double central_difference(const F& f, double h) {
  return (f(h) - f(-h)) / (2 * h);
}

// d f / d x[n] at x: f(x) with x[n] moved by +h and by -h (x is restored).
template <typename T, typename F>
double central_difference(std::vector<T>& x, size_t n, const F& f, double h) {
  const T saved = x[n];
  const double slope = central_difference(
      [&](double step) {
        x[n] = saved + step;
        return static_cast<double>(f(x));
      },
      h);
  x[n] = saved;
  return slope;
}

// The gradient of f at x, every coordinate by central differences.
template <typename T, typename F>
std::vector<double> central_gradient(std::vector<T> x, const F& f, double h) {
  std::vector<double> gradient(x.size());
  for (size_t n = 0; n < x.size(); ++n) gradient[n] = central_difference(x, n, f, h);
  return gradient;
}

// One batch for a batched evaluator: for each of `coordinates`, a copy of x
// with that coordinate moved by +h, then one with it moved by -h.
inline std::vector<double> displaced_copies(const std::vector<double>& x,
                                            const std::vector<size_t>& coordinates, double h) {
  std::vector<double> batch;
  batch.reserve(2 * coordinates.size() * x.size());
  for (size_t n : coordinates) {
    for (double sign : {1.0, -1.0}) {
      batch.insert(batch.end(), x.begin(), x.end());
      batch[batch.size() - x.size() + n] += sign * h;
    }
  }
  return batch;
}

// Every coordinate of a vector of `size`: 0, 1, ..., size - 1.
inline std::vector<size_t> all_coordinates(size_t size) {
  std::vector<size_t> coordinates(size);
  for (size_t n = 0; n < size; ++n) coordinates[n] = n;
  return coordinates;
}

// The slopes from the values of a displaced_copies batch: entry k is
// (values[2k] - values[2k + 1]) / 2h.
inline std::vector<double> central_slopes(const std::vector<double>& values, double h) {
  std::vector<double> slopes(values.size() / 2);
  for (size_t k = 0; k < slopes.size(); ++k)
    slopes[k] = (values[2 * k] - values[2 * k + 1]) / (2 * h);
  return slopes;
}

}  // namespace energyloss::test_support
