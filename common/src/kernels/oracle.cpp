#include "energyloss/oracle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {

void EnergyOracle::evaluate(const double* positions, int64_t batch, double* energies,
                            double* forces) {
  require(batch >= 0, describe(), ": batch must be >= 0, got ", batch);
  if (batch == 0) return;
  require(positions != nullptr && energies != nullptr, describe(),
          ": positions and energies must not be null");
  const int64_t stride = atoms() * 3;
  for (int64_t n = 0; n < batch * stride; ++n) {
    if (!std::isfinite(positions[n])) {
      fail(describe(), ": positions[", n / stride, ", ", (n % stride) / 3, ", ", n % 3,
           "] is not finite (", positions[n], "): batch entry ", n / stride, ", atom ",
           (n % stride) / 3);
    }
  }
  compute(positions, batch, energies, forces);
}

namespace {
bool all_finite(const double* values, int64_t count) {
  for (int64_t n = 0; n < count; ++n)
    if (!std::isfinite(values[n])) return false;
  return true;
}
}  // namespace

void EnergyOracle::evaluate_masked(const double* positions, int64_t batch, double* energies,
                                   double* forces, bool* valid) {
  require(batch >= 0, describe(), ": batch must be >= 0, got ", batch);
  if (batch == 0) return;
  require(positions != nullptr && energies != nullptr && valid != nullptr, describe(),
          ": positions, energies and valid must not be null");
  const int64_t stride = atoms() * 3;
  auto mark_failed = [&](int64_t b) {
    valid[b] = false;
    energies[b] = std::numeric_limits<double>::infinity();
    if (forces != nullptr) std::fill(forces + b * stride, forces + (b + 1) * stride, 0.0);
  };
  // An engine's result for entry b (written in place) counts only when finite.
  auto check_result = [&](int64_t b) {
    if (!std::isfinite(energies[b]) ||
        (forces != nullptr && !all_finite(forces + b * stride, stride)))
      mark_failed(b);
  };
  std::vector<int64_t> entries;  // those with finite coordinates
  for (int64_t b = 0; b < batch; ++b) {
    valid[b] = all_finite(positions + b * stride, stride);
    if (valid[b])
      entries.push_back(b);
    else
      mark_failed(b);
  }
  if (entries.empty()) return;
  const auto count = static_cast<int64_t>(entries.size());
  // First the whole batch in one call (as evaluate does) ...
  try {
    if (count == batch) {
      compute(positions, batch, energies, forces);
    } else {
      std::vector<double> x(static_cast<size_t>(count * stride));
      std::vector<double> e(static_cast<size_t>(count));
      std::vector<double> f(forces != nullptr ? x.size() : 0);
      for (int64_t k = 0; k < count; ++k)
        std::copy_n(positions + entries[k] * stride, stride, x.data() + k * stride);
      compute(x.data(), count, e.data(), forces != nullptr ? f.data() : nullptr);
      for (int64_t k = 0; k < count; ++k) {
        energies[entries[k]] = e[k];
        if (forces != nullptr)
          std::copy_n(f.data() + k * stride, stride, forces + entries[k] * stride);
      }
    }
    for (const int64_t b : entries) check_result(b);
    return;
  } catch (const Error&) {
    // ... and when an entry failed it, each entry alone. RuntimeError (the
    // call itself failed) propagates.
  }
  for (const int64_t b : entries) {
    try {
      compute(positions + b * stride, 1, energies + b,
              forces != nullptr ? forces + b * stride : nullptr);
      check_result(b);
    } catch (const Error&) {
      mark_failed(b);
    }
  }
}

}  // namespace energyloss
