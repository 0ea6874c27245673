// The GPU pair kernel must reproduce the CPU kernel (itself tested against
// naive formulas and finite differences) for every mode and edge layout.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "energyloss/cuda/pair_energy.h"
#include "energyloss/error.h"

namespace energyloss {
namespace {

using test_support::error_message;
using test_support::expect_error;

template <typename T>
struct DeviceArray {
  T* data = nullptr;
  size_t count = 0;
  explicit DeviceArray(const std::vector<T>& host) : count(host.size()) {
    if (count == 0) return;
    EXPECT_EQ(cudaMalloc(&data, count * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data, host.data(), count * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  ~DeviceArray() { cudaFree(data); }
  std::vector<T> host() const {
    std::vector<T> out(count);
    EXPECT_EQ(cudaMemcpy(out.data(), data, count * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
};

constexpr double kNoCutoff = std::numeric_limits<double>::infinity();

struct Case {
  const char* mode;
  bool edges;
  bool mask;
  bool per_system = false;  // a different edge list for each system
  double cutoff = kNoCutoff;
  int64_t dim = 3;
};

// Keeps ctest's names free of raw bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.mode << (c.edges ? " edges" : " complete") << (c.mask ? " masked" : "")
      << (c.per_system ? " per-system" : "") << " cutoff " << c.cutoff << " dim " << c.dim;
}

class CudaPair : public ::testing::TestWithParam<Case> {};

TEST_P(CudaPair, MatchesTheCpuKernel) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device on this machine";
  const Case c = GetParam();
  const int64_t B = 3, N = 257, dim = c.dim;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  std::vector<double> pred(B * N * dim), ref(B * N * dim);
  for (auto& v : ref) v = normal(rng);
  for (size_t i = 0; i < pred.size(); ++i) pred[i] = ref[i] + 0.3 * normal(rng);
  std::vector<char> mask(B * N, 1);
  for (int64_t i = 200; i < N; ++i) mask[N + i] = 0;
  // Padding atoms are never read: NaN there (a missing atom) changes nothing.
  if (c.mask) {
    for (int64_t i = 200; i < N; ++i)
      for (int64_t d = 0; d < dim; ++d) pred[(N + i) * dim + d] = ref[(N + i) * dim + d] = NAN;
  }
  std::vector<int64_t> edges;
  std::vector<double> weights;
  for (int64_t b = 0; b < (c.per_system ? B : 1); ++b)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t s = 1; s <= 3; ++s) {
        edges.insert(edges.end(), {i, (i + s + b) % N});
        weights.push_back(0.5 + 0.1 * s);
      }

  PairLossInput<double> in;
  in.pred = pred.data();
  in.ref = ref.data();
  in.layout = {B, N, dim, c.mask ? reinterpret_cast<const bool*>(mask.data()) : nullptr};
  in.cutoff = c.cutoff;
  if (c.edges) {
    in.edges = edges.data();
    in.n_edges = int64_t(edges.size() / 2) / (c.per_system ? B : 1);
    in.edges_per_system = c.per_system;
    in.edge_weights = weights.data();
  }
  const CoefficientSpec spec = CoefficientSpec::preset(parse_coefficient_mode(c.mode));
  std::vector<double> energy(B), grad_pred(B * N * dim), grad_ref(B * N * dim), atoms(B * N);
  std::vector<int64_t> pairs(B);
  PairLossOutput<double> out;
  out.energy = energy.data();
  out.grad_pred = grad_pred.data();
  out.grad_ref = grad_ref.data();
  out.atom_energy = atoms.data();
  out.pair_count = pairs.data();
  pair_energy_loss(in, spec, out);

  DeviceArray<double> d_pred(pred), d_ref(ref), d_energy(energy), d_gp(grad_pred), d_gr(grad_ref),
      d_weights(weights), d_atoms(atoms);
  DeviceArray<char> d_mask(mask);
  DeviceArray<int64_t> d_edges(edges), d_pairs(pairs);
  PairLossInput<double> din = in;
  din.pred = d_pred.data;
  din.ref = d_ref.data;
  din.layout.mask = c.mask ? reinterpret_cast<const bool*>(d_mask.data) : nullptr;
  if (c.edges) {
    din.edges = d_edges.data;
    din.edge_weights = d_weights.data;
  }
  PairLossOutput<double> dout;
  dout.energy = d_energy.data;
  dout.grad_pred = d_gp.data;
  dout.grad_ref = d_gr.data;
  const auto expect_cpu_values = [&](bool extras) {
    const auto e = d_energy.host(), gp = d_gp.host(), gr = d_gr.host();
    for (int64_t b = 0; b < B; ++b) EXPECT_NEAR(e[b], energy[b], 1e-10 * std::abs(energy[b]));
    for (size_t i = 0; i < gp.size(); ++i) {
      EXPECT_NEAR(gp[i], grad_pred[i], 1e-9 * (1 + std::abs(grad_pred[i])));
      EXPECT_NEAR(gr[i], grad_ref[i], 1e-9 * (1 + std::abs(grad_ref[i])));
    }
    if (!extras) return;
    const auto a = d_atoms.host();
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a[i], atoms[i], 1e-10 * (1 + std::abs(atoms[i]))) << "atom " << i;
    EXPECT_EQ(d_pairs.host(), pairs);
  };
  // The raw-pointer default: legacy stream, own scratch, waits at the end.
  cuda::pair_energy_loss(din, spec, dout);
  expect_cpu_values(false);

  // As the torch op calls it: its own stream, the caller's scratch, no wait
  // but the flag's, per-atom energies and pair counts; stale outputs are
  // overwritten.
  dout.atom_energy = d_atoms.data;
  dout.pair_count = d_pairs.data;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  DeviceArray<char> workspace(std::vector<char>(cuda::workspace_bytes(B, sizeof(double)), 7));
  cuda::LaunchOptions launch;
  launch.stream = stream;
  launch.workspace = workspace.data;
  launch.synchronize = false;
  cuda::pair_energy_loss(din, spec, dout, launch);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  expect_cpu_values(true);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CudaPair,
    ::testing::Values(Case{"exp", false, false}, Case{"exp", false, true},
                      Case{"inv2", false, true}, Case{"lj", false, false},
                      Case{"constant", true, false}, Case{"explicit", true, true},
                      Case{"morse", true, true, true}, Case{"inv", false, true, false, 1.5},
                      Case{"exp", false, true, false, kNoCutoff, 2},
                      Case{"inv2", true, false, true, kNoCutoff, 2}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.mode) + (info.param.edges ? "_edges" : "_complete") +
             (info.param.mask ? "_masked" : "") + (info.param.per_system ? "_per_system" : "") +
             (std::isfinite(info.param.cutoff) ? "_cutoff" : "") +
             (info.param.dim == 2 ? "_2d" : "");
    });

// Each bad input, as a change to a valid two-system problem with per-system
// edge lists and weights.
struct BadInput {
  const char* name;
  void (*spoil)(std::vector<double>& pred, std::vector<double>& ref, std::vector<char>& mask,
                std::vector<int64_t>& edges, std::vector<double>& weights);
};

void PrintTo(const BadInput& input, std::ostream* os) {
  *os << input.name;
}

class CudaBadInput : public ::testing::TestWithParam<BadInput> {};

// The device scan must reject whatever the CPU checks reject, with the
// CPU's message naming the bad value.
TEST_P(CudaBadInput, FailsWithTheCpuMessage) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device on this machine";
  const int64_t B = 2, N = 4, dim = 3;
  std::vector<double> pred(B * N * dim), ref(B * N * dim);
  for (size_t i = 0; i < pred.size(); ++i) {
    ref[i] = double(i % 7) - 0.5 * double(i % 3);
    pred[i] = ref[i] + 0.1;
  }
  std::vector<char> mask(B * N, 1);
  std::vector<int64_t> edges = {0, 1, 1, 2, 2, 3, 0, 2, 1, 3, -1, -1};
  std::vector<double> weights(6, 1.0);  // [B, n_edges]
  GetParam().spoil(pred, ref, mask, edges, weights);

  PairLossInput<double> in;
  in.pred = pred.data();
  in.ref = ref.data();
  in.layout = {B, N, dim, reinterpret_cast<const bool*>(mask.data())};
  in.edges = edges.data();
  in.n_edges = 3;
  in.edges_per_system = true;
  in.edge_weights = weights.data();
  const CoefficientSpec spec = CoefficientSpec::preset(CoefficientMode::Exp);
  std::vector<double> energy(B);
  PairLossOutput<double> out;
  out.energy = energy.data();
  const std::string cpu = error_message([&] { pair_energy_loss(in, spec, out); });
  ASSERT_NE(cpu, "no error") << "the CPU kernel accepted the spoiled input";

  DeviceArray<double> d_pred(pred), d_ref(ref), d_energy(energy), d_weights(weights);
  DeviceArray<char> d_mask(mask);
  DeviceArray<int64_t> d_edges(edges);
  in.pred = d_pred.data;
  in.ref = d_ref.data;
  in.layout.mask = reinterpret_cast<const bool*>(d_mask.data);
  in.edges = d_edges.data;
  in.edge_weights = d_weights.data;
  out.energy = d_energy.data;
  EXPECT_EQ(error_message([&] { cuda::pair_energy_loss(in, spec, out); }), cpu);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CudaBadInput,
    ::testing::Values(
        BadInput{"nan_pred", [](auto& pred, auto&, auto&, auto&, auto&) { pred[17] = NAN; }},
        BadInput{"inf_ref", [](auto&, auto& ref, auto&, auto&, auto&) { ref[5] = INFINITY; }},
        BadInput{"empty_system", [](auto&, auto&, auto& mask, auto&,
                                    auto&) { std::fill(mask.begin() + 4, mask.end(), 0); }},
        BadInput{"half_padding", [](auto&, auto&, auto&, auto& edges, auto&) { edges[10] = 0; }},
        BadInput{"out_of_range", [](auto&, auto&, auto&, auto& edges, auto&) { edges[7] = 4; }},
        BadInput{"self_edge", [](auto&, auto&, auto&, auto& edges, auto&) { edges[3] = 1; }},
        BadInput{"negative_weight",
                 [](auto&, auto&, auto&, auto&, auto& weights) { weights[4] = -1; }},
        BadInput{"nan_weight",
                 [](auto&, auto&, auto&, auto&, auto& weights) { weights[1] = NAN; }}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return std::string(info.param.name); });

// An empty batch (B = 0) is valid and writes nothing, as on the CPU.
TEST(CudaPair, EmptyBatchWritesNothing) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device on this machine";
  PairLossInput<double> in;
  in.layout = {0, 4, 3, nullptr};
  const PairLossOutput<double> out;
  EXPECT_NO_THROW(cuda::pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Exp), out));
}

// Without a device (or driver) the call says so, not just "allocation
// failed"; with one there is nothing to check here.
TEST(CudaPair, NoDeviceIsNamed) {
  if (cuda::device_available()) return;
  const std::vector<double> x = {0, 0, 0, 1, 0, 0};
  std::vector<double> energy(1);
  PairLossInput<double> in;
  in.pred = in.ref = x.data();
  in.layout = {1, 2, 3, nullptr};
  PairLossOutput<double> out;
  out.energy = energy.data();
  expect_error<RuntimeError>(
      [&] { cuda::pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Exp), out); },
      "no usable CUDA device in this process");
}

TEST(CudaPair, RejectsRowRanges) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device on this machine";
  const std::vector<double> x = {0, 0, 0, 1, 0, 0};
  DeviceArray<double> d_x(x), d_energy(std::vector<double>(1));
  PairLossInput<double> in;
  in.pred = d_x.data;
  in.ref = d_x.data;
  in.layout = {1, 2, 3, nullptr};
  in.row_begin = 1;
  PairLossOutput<double> out;
  out.energy = d_energy.data;
  expect_error(
      [&] { cuda::pair_energy_loss(in, CoefficientSpec::preset(CoefficientMode::Exp), out); },
      "row ranges are CPU-only");
}

}  // namespace
}  // namespace energyloss
