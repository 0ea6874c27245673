// The LibTorch op from an installed energyloss: two atoms pulled from
// distance 1 to 2 with constant k = 3 give E = 1/2 * 3 * (2 - 1)^2 = 1.5 and
// dE/dx1 = 3 through autograd.
#include <energyloss/torch/pair.h>
#include <torch/types.h>

#include <cmath>
#include <cstdio>

int main() {
  auto ref = torch::tensor({0.0, 0.0, 0.0, 1.0, 0.0, 0.0}, torch::kFloat64).reshape({1, 2, 3});
  auto pred = torch::tensor({0.0, 0.0, 0.0, 2.0, 0.0, 0.0}, torch::kFloat64).reshape({1, 2, 3});
  pred.requires_grad_();
  energyloss::PairLossOptions options;
  options.coeff = "constant";
  options.k0 = 3.0;
  options.per_atom = false;
  auto loss = energyloss::pair_energy_loss(pred, ref, options);
  loss.backward();
  const double energy = loss.item<double>();
  const double grad = pred.grad()[0][1][0].item<double>();
  const bool ok = std::abs(energy - 1.5) < 1e-12 && std::abs(grad - 3.0) < 1e-12;
  std::printf("energy %.6f, dE/dx1 %.6f: %s\n", energy, grad, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
