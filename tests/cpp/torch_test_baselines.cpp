// The LibTorch front ends of the baselines and diffusion helpers, through the
// public C++ API: results against torch's own ops, autograd against finite
// differences, and bad input raising energyloss::Error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../support/finite_differences.h"
#include "energyloss/error.h"
#include "energyloss/torch/baselines.h"
#include "energyloss/torch/diffusion.h"

namespace energyloss {
namespace {

using test_support::central_difference;

torch::Tensor randn(std::initializer_list<int64_t> shape) {
  return torch::randn(shape, torch::dtype(torch::kDouble));
}

TEST(TorchBaselines, MseMatchesTorchAndReductions) {
  torch::manual_seed(0);
  const auto pred = randn({3, 5, 3}), ref = randn({3, 5, 3});
  const auto per_system = (pred - ref).square().mean({1, 2});
  EXPECT_TRUE(torch::allclose(energyloss::mse_loss(pred, ref, std::nullopt, "none"), per_system));
  EXPECT_TRUE(torch::allclose(energyloss::mse_loss(pred, ref), per_system.mean()));
  EXPECT_TRUE(torch::allclose(energyloss::mae_loss(pred, ref, std::nullopt, "sum"),
                              (pred - ref).abs().mean({1, 2}).sum()));
}

TEST(TorchBaselines, KabschGradientMatchesFiniteDifferences) {
  torch::manual_seed(1);
  const auto pred = randn({2, 6, 3}).requires_grad_(), ref = randn({2, 6, 3}).requires_grad_();
  auto mask = torch::ones({2, 6}, torch::kBool);
  mask.index_put_({1, 5}, false);
  const auto weights = torch::tensor({0.7, -1.3}, torch::kDouble);
  (energyloss::kabsch_mse(pred, ref, mask, "none") * weights).sum().backward();
  const double h = 1e-6;
  for (const auto& [tensor, name] : {std::pair{pred, "pred"}, std::pair{ref, "ref"}}) {
    const auto flat = tensor.detach().flatten();
    for (int64_t k = 0; k < flat.numel(); ++k) {
      auto shifted = [&](double step) {
        auto moved = flat.clone();
        moved[k] += step;
        moved = moved.view(tensor.sizes());
        const bool is_pred = std::string(name) == "pred";
        return ((energyloss::kabsch_mse(is_pred ? moved : pred.detach(),
                                        is_pred ? ref.detach() : moved, mask, "none") *
                 weights)
                    .sum()
                    .item<double>());
      };
      const double numeric = central_difference(shifted, h);
      EXPECT_NEAR(tensor.grad().flatten()[k].item<double>(), numeric, 1e-7) << name << " " << k;
    }
  }
}

TEST(TorchBaselines, KabschAlignRecoversARotatedCopy) {
  torch::manual_seed(2);
  const auto ref = randn({1, 7, 3});
  const auto rotation = std::get<0>(torch::linalg_qr(randn({3, 3})));
  const auto proper = rotation * torch::linalg_det(rotation);  // det +1 in 3D
  const auto pred = torch::matmul(ref, proper.t()) + 4.0;
  EXPECT_LE(energyloss::kabsch_mse(pred, ref).item<double>(), 1e-10);
  EXPECT_TRUE(torch::allclose(energyloss::kabsch_align(pred, ref), ref, 0, 1e-10));
}

TEST(TorchBaselines, BadInputThrowsEnergylossError) {
  const auto pred = randn({2, 4, 3});
  EXPECT_THROW(energyloss::mse_loss(pred, randn({2, 3, 3})), Error);
  EXPECT_THROW(energyloss::kabsch_mse(randn({2, 4, 4}), randn({2, 4, 4})), Error);
  auto nan = pred.clone();
  nan.index_put_({0, 1, 2}, NAN);
  EXPECT_THROW(energyloss::mae_loss(nan, pred), Error);
  EXPECT_THROW(energyloss::kabsch_mse(pred, pred, torch::zeros({2, 4}, torch::kBool)), Error);
  EXPECT_THROW(energyloss::mse_loss(pred, pred, std::nullopt, "median"), Error);
  EXPECT_THROW(energyloss::kabsch_align(pred, randn({2, 4, 2})), Error);
}

TEST(TorchDiffusion, ConversionsAndSchedule) {
  torch::manual_seed(3);
  const auto x = randn({2, 4, 3}), eps = randn({2, 4, 3});
  const auto [alpha, sigma] = energyloss::noise_schedule(torch::tensor({0.2, 0.9}, torch::kDouble));
  const auto x_t = alpha.view({2, 1, 1}) * x + sigma.view({2, 1, 1}) * eps;
  EXPECT_TRUE(torch::allclose(energyloss::x0_from_eps(x_t, eps, alpha, sigma), x, 0, 1e-12));
  EXPECT_TRUE(
      torch::allclose(energyloss::eps_weight(alpha, sigma), alpha.square() / sigma.square()));
  const auto t = torch::tensor({0.25, 0.5}, torch::kDouble);
  const auto x_flow = (1 - t.view({2, 1, 1})) * x + t.view({2, 1, 1}) * eps;
  EXPECT_TRUE(torch::allclose(energyloss::x0_from_velocity(x_flow, eps - x, t), x, 0, 1e-12));
  EXPECT_TRUE(
      torch::allclose(energyloss::flow_weight(t), torch::tensor({16.0, 4.0}, torch::kDouble)));

  EXPECT_THROW(energyloss::x0_from_eps(x_t, eps.slice(1, 0, 2), alpha, sigma), Error);
  EXPECT_THROW(energyloss::eps_weight(alpha, torch::zeros({2}, torch::kDouble)), Error);
  EXPECT_THROW(energyloss::noise_schedule(torch::tensor({1.5}, torch::kDouble)), Error);
  EXPECT_THROW(energyloss::noise_schedule(t, "linear"), Error);
}

}  // namespace
}  // namespace energyloss
