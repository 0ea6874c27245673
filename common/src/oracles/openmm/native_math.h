// log and exp for the native evaluator's pair loops, written so that GCC
// vectorises the loops that call them (libm's are scalar calls unless the
// whole file is built with -ffast-math). Branch-free, double precision
// throughout (float arguments are widened), within a few ulp of libm over the
// ranges the kernels use: log of x in (0, 1e300], exp of x in [-700, 700]
// (arguments outside are clamped).
//   log: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s),
//        s = (m - 1)/(m + 1), |s| < 0.1716, the series to s^23.
//   exp: x = n ln 2 + r, |r| <= ln 2 / 2 (Cody-Waite split of ln 2); Taylor
//        series of e^r to r^13; 2^n put into the exponent bits.
#pragma once

#include <cstdint>
#include <cstring>

namespace energyloss::native {

inline double bits_to_double(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
inline uint64_t double_to_bits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// c[k] = 1/k! (exp) and 1/(2k + 1) (log), folded at compile time.
struct SeriesCoefficients {
  double inverse_factorial[14], inverse_odd[12];
  constexpr SeriesCoefficients() : inverse_factorial(), inverse_odd() {
    double factorial = 1;
    for (int k = 0; k < 14; ++k) {
      factorial *= k > 0 ? k : 1;
      inverse_factorial[k] = 1 / factorial;
    }
    for (int k = 0; k < 12; ++k) inverse_odd[k] = 1.0 / (2 * k + 1);
  }
};
constexpr SeriesCoefficients kSeries;

inline double vector_log(double x) {
  constexpr double two52 = 4503599627370496.0;  // 2^52: integers k < 2^52 as bits(2^52) | k
  const uint64_t bits = double_to_bits(x);
  const double exponent = bits_to_double(double_to_bits(two52) | (bits >> 52)) - two52 - 1023;
  double m = bits_to_double((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);  // [1, 2)
  const bool high = m > 1.4142135623730951;
  m = high ? 0.5 * m : m;
  const double e = high ? exponent + 1 : exponent;
  const double s = (m - 1) / (m + 1), s2 = s * s;
  double series = kSeries.inverse_odd[11];
  for (int k = 10; k >= 0; --k) series = series * s2 + kSeries.inverse_odd[k];
  // e ln 2 with ln 2 = hi + lo, hi exact in few bits so e * hi is exact.
  return e * 0.693145751953125 + (e * 1.4286068203094172321e-6 + 2 * s * series);
}

inline double vector_exp(double x) {
  constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  x = x < -700.0 ? -700.0 : (x > 700.0 ? 700.0 : x);
  const double shifted = x * 1.4426950408889634074 + magic;
  const double n = shifted - magic;
  // n in the low bits, as two's complement modulo 2^64 (unsigned: no UB on shifting).
  const uint64_t n_bits = double_to_bits(shifted) - double_to_bits(magic);
  const double r = (x - n * 0.693145751953125) - n * 1.4286068203094172321e-6;
  double series = kSeries.inverse_factorial[13];
  for (int k = 12; k >= 0; --k) series = series * r + kSeries.inverse_factorial[k];
  return bits_to_double(double_to_bits(series) + (n_bits << 52));
}

inline float vector_log(float x) {
  return float(vector_log(double(x)));
}
inline float vector_exp(float x) {
  return float(vector_exp(double(x)));
}

}  // namespace energyloss::native
