// Shell-balanced coefficients (energyloss/oracles/shell_coefficients.h):
// graph distances against hand-counted ones, per-shell sums against their
// targets, proportions within a shell against the input, the exp preset's
// totals against 24/N e^-r summed by hand, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../support/pairs.h"
#include "energyloss/error.h"
#include "energyloss/oracles/shell_coefficients.h"

namespace energyloss {
namespace {

using energyloss::testing::complete_edges;

// Butane-like chain 0-1-2-3-4-5 plus a detached atom 6.
const std::vector<int64_t> kBonds = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5};
constexpr int64_t kAtoms = 7;

TEST(ShellCoefficients, GraphDistancesOfAChainWithADetachedAtom) {
  const std::vector<int64_t> d = graph_distances(kAtoms, kBonds.data(), 5);
  for (int64_t i = 0; i < 6; ++i) {
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(d[size_t(i * kAtoms + j)], std::abs(i - j));
    EXPECT_EQ(d[size_t(i * kAtoms + 6)], -1);
  }
  // A ring: the short way round.
  const std::vector<int64_t> ring = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0};
  const std::vector<int64_t> r = graph_distances(6, ring.data(), 6);
  EXPECT_EQ(r[0 * 6 + 4], 2);
  EXPECT_EQ(r[1 * 6 + 4], 3);
}

TEST(ShellCoefficients, ShellSumsMatchTargetsAndProportionsAreKept) {
  const std::vector<int64_t> edges = complete_edges(kAtoms);
  const int64_t n_edges = int64_t(edges.size() / 2);
  std::vector<double> k(static_cast<size_t>(n_edges));
  for (int64_t e = 0; e < n_edges; ++e) k[size_t(e)] = 1.0 + double((e * 7) % 5);
  ShellBalanceOptions options;
  options.totals = {10.0, 5.0, 2.0, 1.0};
  const ShellBalanced result = shell_balanced_coefficients(
      nullptr, kAtoms, kBonds.data(), 5, edges.data(), n_edges, k.data(), options);
  std::vector<double> sums(4, 0.0), inputs(4, 0.0);
  for (int64_t e = 0; e < n_edges; ++e) {
    const int64_t i = edges[size_t(2 * e)], j = edges[size_t(2 * e + 1)];
    const int64_t expected_shell = j == 6 ? 4 : std::min<int64_t>(j - i, 4);
    ASSERT_EQ(result.shell[size_t(e)], expected_shell) << "edge " << e;
    sums[size_t(expected_shell - 1)] += result.k[size_t(e)];
    inputs[size_t(expected_shell - 1)] += k[size_t(e)];
  }
  for (int s = 0; s < 4; ++s) {
    EXPECT_NEAR(sums[size_t(s)], options.totals[size_t(s)], 1e-12);
    EXPECT_NEAR(result.input_total[size_t(s)], inputs[size_t(s)], 1e-12);
  }
  // Ratios within a shell are the input's.
  for (int64_t e = 0; e < n_edges; ++e) {
    for (int64_t f = 0; f < n_edges; ++f) {
      if (result.shell[size_t(e)] != result.shell[size_t(f)]) continue;
      EXPECT_NEAR(result.k[size_t(e)] * k[size_t(f)], result.k[size_t(f)] * k[size_t(e)], 1e-12);
    }
  }
  EXPECT_TRUE(result.uniform_shells.empty());
}

TEST(ShellCoefficients, DefaultTotalsAreTheExpPresetsOnTheSameEdges) {
  std::vector<double> x(static_cast<size_t>(3 * kAtoms));
  for (int64_t a = 0; a < kAtoms; ++a) {
    x[size_t(3 * a)] = 1.3 * double(a);
    x[size_t(3 * a + 1)] = 0.4 * double(a % 2);
    x[size_t(3 * a + 2)] = a == 6 ? 2.0 : 0.0;
  }
  const std::vector<int64_t> edges = complete_edges(kAtoms);
  const int64_t n_edges = int64_t(edges.size() / 2);
  const std::vector<double> k(size_t(n_edges), 1.0);
  const ShellBalanced result = shell_balanced_coefficients(x.data(), kAtoms, kBonds.data(), 5,
                                                           edges.data(), n_edges, k.data());
  std::vector<double> expected(4, 0.0);
  for (int64_t e = 0; e < n_edges; ++e) {
    const int64_t i = edges[size_t(2 * e)], j = edges[size_t(2 * e + 1)];
    double r2 = 0;
    for (int c = 0; c < 3; ++c) r2 += std::pow(x[size_t(3 * i + c)] - x[size_t(3 * j + c)], 2);
    expected[size_t(result.shell[size_t(e)] - 1)] += 24.0 / kAtoms * std::exp(-std::sqrt(r2));
  }
  ASSERT_EQ(result.target.size(), 4u);
  for (int s = 0; s < 4; ++s) EXPECT_NEAR(result.target[size_t(s)], expected[size_t(s)], 1e-12);
}

TEST(ShellCoefficients, AllZeroShellIsSplitEvenlyAndReported) {
  const std::vector<int64_t> edges = {0, 1, 1, 2, 0, 2};
  const std::vector<double> k = {2.0, 6.0, 0.0};
  ShellBalanceOptions options;
  options.totals = {4.0, 3.0};
  const ShellBalanced result = shell_balanced_coefficients(nullptr, kAtoms, kBonds.data(), 5,
                                                           edges.data(), 3, k.data(), options);
  EXPECT_NEAR(result.k[0], 1.0, 1e-14);
  EXPECT_NEAR(result.k[1], 3.0, 1e-14);
  EXPECT_NEAR(result.k[2], 3.0, 1e-14);
  ASSERT_EQ(result.uniform_shells.size(), 1u);
  EXPECT_EQ(result.uniform_shells[0], 2);
}

TEST(ShellCoefficients, RejectsBadInput) {
  const std::vector<int64_t> edges = {0, 1, 1, 2};
  std::vector<double> k = {1.0, 2.0};
  ShellBalanceOptions options;
  options.totals = {1.0, 1.0};
  auto run = [&](const std::vector<int64_t>& bonds, const std::vector<int64_t>& pairs) {
    return shell_balanced_coefficients(nullptr, kAtoms, bonds.data(), int64_t(bonds.size() / 2),
                                       pairs.data(), int64_t(pairs.size() / 2), k.data(), options);
  };
  EXPECT_NO_THROW(run(kBonds, edges));
  EXPECT_THROW(run({0, 7}, edges), Error);         // bond out of range
  EXPECT_THROW(run({2, 2}, edges), Error);         // self bond
  EXPECT_THROW(run(kBonds, {0, 9, 1, 2}), Error);  // edge out of range
  k[1] = -1.0;
  EXPECT_THROW(run(kBonds, edges), Error);
  k[1] = std::nan("");
  EXPECT_THROW(run(kBonds, edges), Error);
  k[1] = 2.0;
  options.totals = {1.0, -2.0};
  EXPECT_THROW(run(kBonds, edges), Error);
  options.totals.clear();  // exp preset needs the reference
  EXPECT_THROW(run(kBonds, edges), Error);
  options.shells = 0;
  EXPECT_THROW(run(kBonds, edges), Error);
}

}  // namespace
}  // namespace energyloss
