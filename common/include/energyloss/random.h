// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11; the Random123
// library), uniforms from its 32-bit words and standard normals by
// Box-Muller. Stateless: element i of a seeded stream is a pure function of
// (seed, i), so it is the same on every platform and thread count, and a
// TorchScript generator can draw reproducible noise without torch.Generator
// (which Debian's TorchScript lacks). Inline and host/device so CUDA kernels
// can share the formulas.
//
// The normal stream of a seed: element i lies in Philox block b = i / 4,
// computed with counter (b mod 2^32, b / 2^32, 0, 0) and key (seed mod 2^32,
// seed / 2^32) (the seed as an unsigned 64-bit integer, so negative seeds are
// allowed). The block's words w0..w3 give two Box-Muller pairs: from (w0, w1)
// elements 4b and 4b + 1, from (w2, w3) elements 4b + 2 and 4b + 3, with
// u = (w + 1/2) / 2^32 in (0, 1), r = sqrt(-2 ln u_first), theta = 2 pi
// u_second, then r cos(theta) and r sin(theta). Normals are computed in double;
// float outputs are those doubles rounded. The Philox words are identical on
// every platform; the normals are bit-identical wherever log/sqrt/cos/sin
// round alike (any one C library, e.g. glibc), else within their last bit.
#pragma once

#include <cmath>
#include <cstdint>

#ifndef ENERGYLOSS_HOST_DEVICE
#ifdef __CUDACC__
#define ENERGYLOSS_HOST_DEVICE __host__ __device__
#else
#define ENERGYLOSS_HOST_DEVICE
#endif
#endif

namespace energyloss {

// Four 32-bit words: a Philox counter or output block.
struct Philox4x32 {
  uint32_t word[4];
};

// Philox4x32-10 of `counter` under `key` (two 32-bit words): ten rounds of
// multiply-high/low mixing with the Random123 constants, the key bumped by
// the Weyl constants between rounds. Matches Random123's philox4x32 (and its
// known-answer vectors).
ENERGYLOSS_HOST_DEVICE inline Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0,
                                                       uint32_t key1) {
  constexpr uint32_t multiplier0 = 0xD2511F53u, multiplier1 = 0xCD9E8D57u;
  constexpr uint32_t weyl0 = 0x9E3779B9u, weyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += weyl0;
      key1 += weyl1;
    }
    const uint64_t product0 = static_cast<uint64_t>(multiplier0) * counter.word[0];
    const uint64_t product1 = static_cast<uint64_t>(multiplier1) * counter.word[2];
    const uint32_t high0 = static_cast<uint32_t>(product0 >> 32);
    const uint32_t low0 = static_cast<uint32_t>(product0);
    const uint32_t high1 = static_cast<uint32_t>(product1 >> 32);
    const uint32_t low1 = static_cast<uint32_t>(product1);
    counter.word[0] = high1 ^ counter.word[1] ^ key0;
    counter.word[1] = low1;
    counter.word[2] = high0 ^ counter.word[3] ^ key1;
    counter.word[3] = low0;
  }
  return counter;
}

// A uniform in the open interval (0, 1) from a 32-bit word: (bits + 1/2) / 2^32.
// Never 0 or 1, so log() in Box-Muller is finite.
ENERGYLOSS_HOST_DEVICE inline double uniform_open01(uint32_t bits) {
  return (static_cast<double>(bits) + 0.5) * (1.0 / 4294967296.0);
}

// The Philox block holding elements 4 block .. 4 block + 3 of seed's stream.
ENERGYLOSS_HOST_DEVICE inline Philox4x32 seeded_block(uint64_t seed, uint64_t block) {
  const Philox4x32 counter = {
      {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// The four standard normals of one block, in element order (see the file comment).
ENERGYLOSS_HOST_DEVICE inline void box_muller4(const Philox4x32& block, double normal[4]) {
  constexpr double two_pi = 6.283185307179586476925286766559;
  for (int pair = 0; pair < 2; ++pair) {
    const double radius = ::sqrt(-2.0 * ::log(uniform_open01(block.word[2 * pair])));
    const double angle = two_pi * uniform_open01(block.word[2 * pair + 1]);
    normal[2 * pair] = radius * ::cos(angle);
    normal[2 * pair + 1] = radius * ::sin(angle);
  }
}

// Element `index` of seed's standard-normal stream (computes its whole block;
// fill whole blocks with seeded_normal below when drawing many).
ENERGYLOSS_HOST_DEVICE inline double seeded_normal_at(uint64_t seed, uint64_t index) {
  double normal[4];
  box_muller4(seeded_block(seed, index / 4), normal);
  return normal[index % 4];
}

// out[i] = seeded_normal_at(seed, i) for 0 <= i < count (T = float or double;
// float values are the double ones rounded). OpenMP over blocks; the result
// does not depend on the thread count. Throws energyloss::Error if count < 0
// or out is null while count > 0.
template <typename T>
void seeded_normal(uint64_t seed, int64_t count, T* out);

}  // namespace energyloss
