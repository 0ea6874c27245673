// Two atoms pulled from distance 1 to 2 with constant k = 3:
// E = 1/2 * 3 * (2 - 1)^2 = 1.5, and the gradient pushes them back together.
#include <energyloss/pair_energy.h>

#include <cmath>
#include <cstdio>

int main() {
  const double ref[] = {0, 0, 0, 1, 0, 0};
  const double pred[] = {0, 0, 0, 2, 0, 0};
  double energy = 0, grad[6] = {};
  energyloss::PairLossInput<double> input;
  input.pred = pred;
  input.ref = ref;
  input.layout = {1, 2, 3, nullptr};
  energyloss::PairLossOutput<double> output;
  output.energy = &energy;
  output.grad_pred = grad;
  energyloss::CoefficientSpec spec =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Constant);
  spec.k0 = 3.0;
  energyloss::pair_energy_loss(input, spec, output);
  const bool ok = std::abs(energy - 1.5) < 1e-12 && std::abs(grad[3] - 3.0) < 1e-12 &&
                  std::abs(grad[0] + 3.0) < 1e-12;
  std::printf("energy %.6f, dE/dx1 %.6f: %s\n", energy, grad[3], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
