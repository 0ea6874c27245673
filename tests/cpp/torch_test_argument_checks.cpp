// The argument checks every LibTorch front end shares (energyloss/torch/common.h),
// through the public C++ API, where they matter most: an undefined
// torch::Tensor() (which Python can only approximate with None), float32 and
// float64 mixed in one call, float16 refused with the C++ cast, and arguments
// the ops have no gradient for (pair edge weights, ising_ground_state's
// couplings) refused while autograd records. Each refusal names the op and
// the argument; tests/python/test_device_refusal.py checks the same through
// torch.ops.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "energyloss/torch/baselines.h"
#include "energyloss/torch/diffusion.h"
#include "energyloss/torch/graphs.h"
#include "energyloss/torch/pair.h"
#include "energyloss/torch/spins.h"

namespace energyloss {
namespace {

using test_support::error_message;
using test_support::expect_error;
using torch::Tensor;

Tensor randn(std::initializer_list<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn(shape, torch::kDouble);
}

// One public op: its name, its tensor arguments' names and a valid call on them.
struct OpCase {
  std::string op;
  std::vector<std::string> names;
  std::vector<Tensor> valid;
  std::function<void(const std::vector<Tensor>&)> call;
};

std::vector<OpCase> op_cases() {
  const Tensor pred = randn({2, 4, 3}, 1), ref = randn({2, 4, 3}, 2);
  const Tensor logits = randn({2, 3, 3}, 3), spins = torch::sign(randn({2, 3, 3}, 4));
  const Tensor Jh = randn({2, 3, 2}, 5), Jv = randn({2, 2, 3}, 6);
  const Tensor points = randn({6, 3}, 7);
  const Tensor edges =
      torch::tensor({0, 1, 1, 2, 2, 3, 0, 3, 0, 2, 1, 3}, torch::kLong).view({6, 2});
  const Tensor alpha = torch::tensor({0.8, 0.6}, torch::kDouble);
  const Tensor sigma = torch::tensor({0.6, 0.8}, torch::kDouble);
  using Args = const std::vector<Tensor>&;
  return {
      {"pair_energy_loss",
       {"pred", "ref"},
       {pred, ref},
       [](Args a) { pair_energy_loss(a[0], a[1]); }},
      {"mse_loss", {"pred", "ref"}, {pred, ref}, [](Args a) { energyloss::mse_loss(a[0], a[1]); }},
      {"mae_loss", {"pred", "ref"}, {pred, ref}, [](Args a) { energyloss::mae_loss(a[0], a[1]); }},
      {"kabsch_mse",
       {"pred", "ref"},
       {pred, ref},
       [](Args a) { energyloss::kabsch_mse(a[0], a[1]); }},
      {"kabsch_align",
       {"pred", "ref"},
       {pred, ref},
       [](Args a) { energyloss::kabsch_align(a[0], a[1]); }},
      {"ising_energy",
       {"spins", "Jh", "Jv"},
       {spins, Jh, Jv},
       [](Args a) { ising_energy(a[0], a[1], a[2]); }},
      {"local_fields",
       {"spins", "Jh", "Jv"},
       {spins, Jh, Jv},
       [](Args a) { local_fields(a[0], a[1], a[2]); }},
      {"local_field_energy_loss",
       {"logits", "target", "Jh", "Jv"},
       {logits, spins, Jh, Jv},
       [](Args a) { local_field_energy_loss(a[0], a[1], a[2], a[3]); }},
      {"spin_bce_loss",
       {"logits", "target"},
       {logits, spins},
       [](Args a) { spin_bce_loss(a[0], a[1]); }},
      {"spin_margin_loss",
       {"logits", "target"},
       {logits, spins},
       [](Args a) { spin_margin_loss(a[0], a[1]); }},
      {"spin_true_energy_loss",
       {"logits", "Jh", "Jv"},
       {logits, Jh, Jv},
       [](Args a) { spin_true_energy_loss(a[0], a[1], a[2]); }},
      {"ising_ground_state",
       {"Jh", "Jv"},
       {Jh, Jv},
       [](Args a) { ising_ground_state(a[0], a[1]); }},
      {"sparse_rigid_edges",
       {"ref"},
       {points},
       [](Args a) { energyloss::sparse_rigid_edges(a[0], 0, 0, false, true); }},
      {"rigidity", {"edges"}, {edges}, [](Args a) { rigidity(a[0], 4, 2); }},
      {"automorphisms", {"ref"}, {points}, [](Args a) { automorphisms(a[0]); }},
      {"symmetrize_edges",
       {"edges", "permutations"},
       {edges, torch::arange(4, torch::kLong).unsqueeze(0)},
       [](Args a) { symmetrize_edges(a[0], a[1]); }},
      {"x0_from_eps",
       {"x_t", "eps_hat", "alpha", "sigma"},
       {pred, ref, alpha, sigma},
       [](Args a) { x0_from_eps(a[0], a[1], a[2], a[3]); }},
      {"eps_weight", {"alpha", "sigma"}, {alpha, sigma}, [](Args a) { eps_weight(a[0], a[1]); }},
      {"x0_from_velocity",
       {"x_t", "velocity", "t"},
       {pred, ref, alpha},
       [](Args a) { x0_from_velocity(a[0], a[1], a[2]); }},
      {"flow_weight", {"t"}, {alpha}, [](Args a) { flow_weight(a[0]); }},
      {"noise_schedule", {"t"}, {alpha}, [](Args a) { noise_schedule(a[0]); }},
  };
}

TEST(TorchArgumentChecks, TheValidCallsRun) {
  for (const OpCase& c : op_cases()) {
    EXPECT_EQ(error_message([&] { c.call(c.valid); }), "no error") << c.op;
  }
}

// Without the check c10 fails first, e.g. "tensor does not have a device".
TEST(TorchArgumentChecks, AnUndefinedTensorIsRefusedNamingTheOpAndTheArgument) {
  int checked = 0;
  for (const OpCase& c : op_cases()) {
    for (size_t k = 0; k < c.names.size(); ++k) {
      std::vector<Tensor> args = c.valid;
      args[k] = Tensor();
      ASSERT_FALSE(args[k].defined());
      expect_error([&] { c.call(args); },
                   "energyloss: " + c.op + ": " + c.names[k] + ": got an undefined tensor");
      ++checked;
    }
  }
  EXPECT_EQ(checked, 45);
}

// An optional argument holding an undefined tensor is refused too: leaving
// it out is std::nullopt.
TEST(TorchArgumentChecks, AnOptionalArgumentHoldingAnUndefinedTensorIsRefused) {
  const Tensor pred = randn({2, 4, 3}, 1), ref = randn({2, 4, 3}, 2);
  const Tensor edges = torch::tensor({0, 1, 1, 2}, torch::kLong).view({2, 2});
  const std::optional<Tensor> undefined = Tensor();
  const auto message = [](const std::string& op, const std::string& name) {
    return "energyloss: " + op + ": " + name + ": got an undefined tensor";
  };
  expect_error([&] { pair_energy_loss(pred, ref, {}, undefined); },
               message("pair_energy_loss", "mask"));
  expect_error([&] { pair_energy_loss(pred, ref, {}, std::nullopt, undefined); },
               message("pair_energy_loss", "edges"));
  expect_error([&] { pair_energy_loss(pred, ref, {}, std::nullopt, edges, undefined); },
               message("pair_energy_loss", "edge_weights"));
  expect_error([&] { energyloss::mse_loss(pred, ref, undefined); }, message("mse_loss", "mask"));
  expect_error([&] { energyloss::kabsch_align(pred, ref, undefined); },
               message("kabsch_align", "mask"));
  expect_error([&] { rigidity(edges, 3, 2, undefined); }, message("rigidity", "positions"));
  expect_error([&] { automorphisms(pred[0], 1e-5, 10, undefined); },
               message("automorphisms", "labels"));
}

TEST(TorchArgumentChecks, Float32AndFloat64MixedAreRefusedNamingBothArguments) {
  const Tensor pred = randn({2, 4, 3}, 1), ref = randn({2, 4, 3}, 2);
  const Tensor logits = randn({2, 3, 3}, 3);
  const Tensor Jh = randn({2, 3, 2}, 5), Jv = randn({2, 2, 3}, 6);
  expect_error([&] { spin_true_energy_loss(logits.to(torch::kFloat), Jh, Jv); },
               "energyloss: spin_true_energy_loss: Jh has dtype Double but logits has dtype Float");
  expect_error([&] { spin_true_energy_loss(logits, Jh, Jv.to(torch::kFloat)); },
               "energyloss: spin_true_energy_loss: Jv has dtype Float but Jh has dtype Double");
  expect_error([&] { ising_ground_state(Jh, Jv.to(torch::kFloat)); },
               "energyloss: ising_ground_state: Jv has dtype Float but Jh has dtype Double");
  expect_error([&] { spin_bce_loss(logits, torch::sign(logits).to(torch::kFloat)); },
               "energyloss: spin_bce_loss: target has dtype Float but logits has dtype Double");
  expect_error([&] { energyloss::mse_loss(pred.to(torch::kFloat), ref); },
               "energyloss: mse_loss: ref has dtype Double but pred has dtype Float");
  expect_error([&] { pair_energy_loss(pred, ref.to(torch::kFloat)); },
               "energyloss: pair_energy_loss: ref has dtype Float but pred has dtype Double");
  const Tensor alpha = torch::tensor(0.8, torch::kDouble),
               sigma = torch::tensor(0.6, torch::kDouble);
  expect_error([&] { x0_from_eps(pred, ref.to(torch::kFloat), alpha, sigma); },
               "energyloss: x0_from_eps: eps_hat has dtype Float but x_t has dtype Double");
}

TEST(TorchArgumentChecks, HalfPrecisionNamesTheCppCast) {
  const Tensor half = randn({2, 4, 3}, 1).to(torch::kHalf);
  expect_error(
      [&] { energyloss::kabsch_mse(half, half); },
      {"energyloss: kabsch_mse: pred: expected float32 or float64, got Half (float16)",
       ".float() or .double() in Python", ".to(torch::kFloat) or .to(torch::kDouble) in C++"});
}

// The weights are constants: without the refusal the loss had a grad_fn (from
// pred) and the weights silently kept no gradient.
TEST(TorchArgumentChecks, EdgeWeightsThatRequireGradAreRefused) {
  const Tensor pred = randn({2, 4, 3}, 1), ref = randn({2, 4, 3}, 2);
  const Tensor edges = torch::tensor({0, 1, 1, 2, 2, 3}, torch::kLong).view({3, 2});
  const Tensor weights = torch::tensor({1.0, 2.0, 3.0}, torch::kDouble).requires_grad_();
  PairLossOptions options;
  options.coeff = "explicit";
  options.reduction = "none";
  expect_error(
      [&] {
        pair_energy_loss(pred.clone().requires_grad_(), ref, options, std::nullopt, edges, weights);
      },
      "energyloss: pair_energy_loss: edge_weights requires grad, but pair_energy_loss is "
      "not differentiable with respect to edge_weights; the weights are constants: pass "
      "edge_weights.detach()");
  // Detached, or with autograd off, the same weights give the explicit-k
  // energy: sum over edges of k/2 (|r_i - r_j| - |p_i - p_j|)^2.
  const auto distance = [&](const Tensor& x, int64_t i, int64_t j) {
    return (x.select(1, i) - x.select(1, j)).norm(2, -1);
  };
  Tensor expected = torch::zeros({2}, torch::kDouble);
  for (int64_t e = 0; e < 3; ++e) {
    const int64_t i = edges[e][0].item<int64_t>(), j = edges[e][1].item<int64_t>();
    expected +=
        0.5 * weights[e].item<double>() * (distance(ref, i, j) - distance(pred, i, j)).square();
  }
  const Tensor detached =
      pair_energy_loss(pred, ref, options, std::nullopt, edges, weights.detach());
  EXPECT_TRUE(torch::allclose(detached, expected, 1e-12, 1e-12));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      torch::equal(pair_energy_loss(pred, ref, options, std::nullopt, edges, weights), detached));
}

TEST(TorchArgumentChecks, GroundStateCouplingsThatRequireGradAreRefused) {
  const Tensor Jh = randn({1, 3, 2}, 5), Jv = randn({1, 2, 3}, 6);
  expect_error([&] { ising_ground_state(Jh.clone().requires_grad_(), Jv); },
               "energyloss: ising_ground_state: Jh requires grad, but ising_ground_state is not "
               "differentiable with respect to Jh; detach it");
  expect_error([&] { ising_ground_state(Jh, Jv.clone().requires_grad_()); },
               "energyloss: ising_ground_state: Jv requires grad, but ising_ground_state is not "
               "differentiable with respect to Jv; detach it");
}

}  // namespace
}  // namespace energyloss
