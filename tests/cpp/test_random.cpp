// The counter-based normal sampler (energyloss/random.h): Philox4x32-10 against
// Random123's known-answer vectors, the Box-Muller mapping of a known block
// recomputed here, and the array kernel against the per-element formula.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/random.h"

namespace energyloss {
namespace {

void expect_philox(Philox4x32 counter, uint32_t key0, uint32_t key1, Philox4x32 expected) {
  const Philox4x32 out = philox4x32_10(counter, key0, key1);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(out.word[k], expected.word[k]) << "word " << k;
}

// Random123 1.14, examples/kat_vectors: philox4x32 10 rounds.
TEST(Philox4x32, KnownAnswerZero) {
  expect_philox({{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
}

TEST(Philox4x32, KnownAnswerAllOnes) {
  const uint32_t ones = 0xffffffffu;
  expect_philox({{ones, ones, ones, ones}}, ones, ones,
                {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
}

TEST(Philox4x32, KnownAnswerPi) {
  expect_philox({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
                {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST(SeededNormal, BlockLayoutAndBoxMullerOfKnownWords) {
  // Seed 0, block 0 is Philox(counter 0, key 0): the first known answer.
  const uint32_t words[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  for (int pair = 0; pair < 2; ++pair) {
    const double u1 = (words[2 * pair] + 0.5) / 4294967296.0;
    const double u2 = (words[2 * pair + 1] + 0.5) / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    EXPECT_EQ(seeded_normal_at(0, 2 * pair), r * std::cos(2 * M_PI * u2));
    EXPECT_EQ(seeded_normal_at(0, 2 * pair + 1), r * std::sin(2 * M_PI * u2));
  }
  // Block 2^32 + 5 of seed 0x299f31d0a4093822 uses counter (5, 1, 0, 0) and that key.
  const uint64_t seed = 0x299f31d0a4093822ull, block = (uint64_t(1) << 32) + 5;
  const Philox4x32 expected = philox4x32_10({{5u, 1u, 0u, 0u}}, 0xa4093822u, 0x299f31d0u);
  const Philox4x32 got = seeded_block(seed, block);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(got.word[k], expected.word[k]);
  const double u1 = (expected.word[2] + 0.5) / 4294967296.0;
  const double u2 = (expected.word[3] + 0.5) / 4294967296.0;
  EXPECT_EQ(seeded_normal_at(seed, 4 * block + 3),
            std::sqrt(-2.0 * std::log(u1)) * std::sin(2 * M_PI * u2));
}

TEST(SeededNormal, UniformIsOpen) {
  EXPECT_GT(uniform_open01(0u), 0.0);
  EXPECT_LT(uniform_open01(0xffffffffu), 1.0);
  EXPECT_TRUE(std::isfinite(std::sqrt(-2.0 * std::log(uniform_open01(0u)))));
}

TEST(SeededNormal, ArrayMatchesElementsFloatIsRoundedDouble) {
  const int64_t count = 4 * 5000 + 3;  // past the OpenMP threshold, ragged last block
  for (int64_t seed : {int64_t(0), int64_t(7), int64_t(-3)}) {
    std::vector<double> values(count);
    std::vector<float> floats(count);
    seeded_normal<double>(static_cast<uint64_t>(seed), count, values.data());
    seeded_normal<float>(static_cast<uint64_t>(seed), count, floats.data());
    for (int64_t i = 0; i < count; i += 997) {
      EXPECT_EQ(values[i], seeded_normal_at(static_cast<uint64_t>(seed), i)) << i;
    }
    EXPECT_EQ(values[count - 1], seeded_normal_at(static_cast<uint64_t>(seed), count - 1));
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(floats[i], static_cast<float>(values[i])) << i;
  }
}

TEST(SeededNormal, PrefixAndThreadCountIndependent) {
  const int64_t count = 4 * 6000 + 1;
  std::vector<double> one(count), two(count), prefix(10);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  seeded_normal<double>(42, count, one.data());
  omp_set_num_threads(2);
  seeded_normal<double>(42, count, two.data());
  omp_set_num_threads(threads);
  EXPECT_EQ(one, two);
  seeded_normal<double>(42, 10, prefix.data());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(prefix[i], one[i]);
}

TEST(SeededNormal, MomentsLookNormal) {
  const int64_t count = 200000;
  std::vector<double> values(count);
  seeded_normal<double>(2024, count, values.data());
  double mean = 0, square = 0, fourth = 0;
  for (double x : values) {
    mean += x;
    square += x * x;
    fourth += x * x * x * x;
  }
  mean /= count;
  square /= count;
  fourth /= count;
  // Standard errors: 1/sqrt(n) = 0.0022, sqrt(2/n) = 0.0032, sqrt(96/n) = 0.022.
  EXPECT_NEAR(mean, 0.0, 0.011);
  EXPECT_NEAR(square, 1.0, 0.016);
  EXPECT_NEAR(fourth, 3.0, 0.11);
}

TEST(SeededNormal, BadArgumentsThrow) {
  std::vector<double> out(4);
  EXPECT_THROW(seeded_normal<double>(0, -1, out.data()), Error);
  EXPECT_THROW(seeded_normal<double>(0, 4, static_cast<double*>(nullptr)), Error);
  EXPECT_NO_THROW(seeded_normal<double>(0, 0, static_cast<double*>(nullptr)));
}

}  // namespace
}  // namespace energyloss
