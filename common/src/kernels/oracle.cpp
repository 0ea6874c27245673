#include "energyloss/oracle.h"

#include <cmath>

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

}  // namespace energyloss
