// Checks shared by the energy-oracle tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "comparisons.h"
#include "energyloss/oracle.h"
#include "finite_differences.h"

namespace energyloss::test_support {

// The oracle's forces at x (one configuration) against minus the central
// differences of its energies, every coordinate, within `relative` times the
// largest force. The displaced copies go in one batch, so every worker takes
// part. Returns the largest |force|.
inline double expect_forces_are_minus_energy_slopes(EnergyOracle& oracle,
                                                    const std::vector<double>& x, double h,
                                                    double relative) {
  const size_t stride = x.size();
  const std::vector<double> displaced = displaced_copies(x, all_coordinates(stride), h);
  std::vector<double> energies(2 * stride), energy(1), forces(stride);
  oracle.evaluate(displaced.data(), int64_t(2 * stride), energies.data(), nullptr);
  oracle.evaluate(x.data(), 1, energy.data(), forces.data());
  const double scale = max_abs(forces);
  const std::vector<double> slopes = central_slopes(energies, h);
  for (size_t n = 0; n < stride; ++n) {
    EXPECT_NEAR(forces[n], -slopes[n], relative * scale)
        << oracle.describe() << ": atom " << n / 3 << " coordinate " << n % 3;
  }
  return scale;
}

}  // namespace energyloss::test_support
