// The pair loss's C++ API (energyloss/torch/pair.h) on the device rules of
// issue 16, without a GPU: meta tensors (shapes only) go through the Meta
// kernels, autograd included; float16/bfloat16 and tensors on two devices
// are refused by name. tests/python/test_pair_devices.py checks the same
// through torch.ops, and tests/gpu/test_pair_cuda.py the CUDA kernels.
#include <c10/util/Optional.h>  // c10::optional: see energyloss/torch/common.h
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/expect_error.h"
#include "energyloss/torch/pair.h"

namespace energyloss {
namespace {

using test_support::expect_error;

TEST(TorchPairDevices, MetaTensorsGiveTheCpuShapesAndGradients) {
  const auto meta = torch::dtype(torch::kFloat).device(torch::kMeta);
  const auto pred = torch::empty({4, 7, 3}, meta).requires_grad_();
  const auto ref = torch::empty({4, 7, 3}, meta);
  const auto edges = torch::tensor({0, 1, 1, 2, 2, 3}, torch::kLong).reshape({3, 2});  // CPU
  for (const char* reduction : {"none", "sum", "mean_pair"}) {
    PairLossOptions options;
    options.reduction = reduction;
    for (const bool with_edges : {false, true}) {
      const auto loss = pair_energy_loss(pred, ref, options, std::nullopt,
                                         with_edges ? std::optional(edges) : std::nullopt);
      EXPECT_TRUE(loss.is_meta());
      EXPECT_EQ(loss.dim(), std::string(reduction) == "none" ? 1 : 0) << reduction;
      EXPECT_EQ(loss.scalar_type(), torch::kFloat);
      const auto grad = torch::autograd::grad({loss.sum()}, {pred})[0];
      EXPECT_TRUE(grad.is_meta());
      EXPECT_EQ(grad.sizes(), pred.sizes());
    }
  }
}

TEST(TorchPairDevices, HalfPrecisionIsRefusedByName) {
  for (const auto dtype : {torch::kHalf, torch::kBFloat16}) {
    const auto x = torch::zeros({2, 3, 3}, torch::dtype(dtype));
    expect_error([&] { pair_energy_loss(x, x); },
                 {"pair_energy_loss: pred: expected float32 or float64",
                  dtype == torch::kHalf ? "float16" : "bfloat16"});
  }
}

TEST(TorchPairDevices, TensorsOnTwoDevicesAreRefused) {
  const auto cpu = torch::zeros({2, 3, 3});
  const auto meta = torch::empty({2, 3, 3}, torch::device(torch::kMeta));
  expect_error([&] { pair_energy_loss(cpu, meta); },
               "pair_energy_loss: ref is on meta but pred "
               "is on cpu");
  const auto mask = torch::ones({2, 3}, torch::dtype(torch::kBool).device(torch::kMeta));
  expect_error([&] { pair_energy_loss(cpu, cpu, {}, mask); },
               "pair_energy_loss: mask is on meta but pred is on cpu");
}

// The C++ API and the registered op are one code path: same values.
TEST(TorchPairDevices, CppApiAndRegisteredOpAgree) {
  torch::manual_seed(3);
  const auto ref = torch::randn({3, 9, 3}, torch::kDouble);
  const auto pred = ref + 0.2 * torch::randn({3, 9, 3}, torch::kDouble);
  const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("energyloss::pair_energy_loss", "")
          .typed<torch::Tensor(
              const torch::Tensor&, const torch::Tensor&, const c10::optional<torch::Tensor>&,
              const std::string&, c10::optional<double>, c10::optional<bool>, double, double,
              const c10::optional<torch::Tensor>&, const c10::optional<torch::Tensor>&,
              c10::optional<double>, const std::string&)>();
  PairLossOptions options;
  options.reduction = "none";
  const auto ours = pair_energy_loss(pred, ref, options);
  const auto registered = op.call(pred, ref, c10::nullopt, "exp", c10::nullopt, c10::nullopt, 1.0,
                                  1e-5, c10::nullopt, c10::nullopt, c10::nullopt, "none");
  EXPECT_TRUE(torch::equal(ours, registered));
  EXPECT_GT(ours.min().item<double>(), 0.0);
}

}  // namespace
}  // namespace energyloss
