// Spring constants k_ij(y) of the pair energy loss, computed from the
// reference distance r = |y_i - y_j| (paper eq. 7 and A.3). Inline so the
// fused pair kernels, the OpenMM kernels and the LAMMPS styles all evaluate
// the same formula without a call per pair.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

// The coefficient formula is shared with the CUDA kernels.
#ifdef __CUDACC__
#define ENERGYLOSS_HOST_DEVICE __host__ __device__
#else
#define ENERGYLOSS_HOST_DEVICE
#endif

namespace energyloss {

enum class CoefficientMode {
  Constant,      // k = k0
  Exp,           // k = k0 exp(-r / length_scale)
  Inv,           // k = k0 / (r + eps)
  Inv2,          // k = k0 / (r^2 + eps)
  LennardJones,  // k = k0 / r^2, the LJ curvature 72 eps / r_m^2 at its minimum (k0 = 72 eps)
  Morse,         // k = 2 k0 / length_scale^2, Morse 2 D a^2 with D = k0, a = 1 / length_scale
  Explicit,      // k = per-edge value given by the caller
};

struct CoefficientSpec {
  CoefficientMode mode = CoefficientMode::Exp;
  double k0 = 24.0;
  // Divide k0 by the system's real atom count, as the paper's reference code did.
  bool per_atom = true;
  double length_scale = 1.0;
  // Regulariser of inv and inv2: the reference code's k0 / (r + 1e-5) and
  // k0 / (r^2 + 1e-5).
  double eps = 1e-5;

  // The reference code's presets: exp 24/N, inv 3.7/N, inv2 9/N; constant 1,
  // lj 72 (eps = 1), morse D = 1, a = 1; explicit takes k from the edges.
  // Made for coordinates in angstrom: length_scale 1 A, eps 1e-5 A (inv) and
  // 1e-5 A^2 (inv2), k0 per A^2 (exp, constant) or per A (inv).
  static CoefficientSpec preset(CoefficientMode mode);
  // The same preset for coordinates in another length unit, `angstrom` being
  // one angstrom in that unit (0.1 for nm, 1 for angstrom, 1e-10 for m):
  // length_scale and eps are the same lengths, and k0 is converted with the
  // length dimension of its mode (exp, constant: / angstrom^2; inv:
  // / angstrom; inv2, lj, morse, explicit: unchanged), so every term
  // 1/2 k (r - r0)^2 keeps its value. The energy unit is not converted: the
  // loss equals the angstrom preset's on the same structure. Throws Error
  // unless angstrom is finite and positive.
  static CoefficientSpec preset(CoefficientMode mode, double angstrom);
};

// "constant", "exp", "inv", "inv2", "lj", "morse", "explicit"; throws Error
// listing the valid names otherwise.
CoefficientMode parse_coefficient_mode(const std::string& name);
const char* coefficient_mode_name(CoefficientMode mode);
// Every mode's name, in CoefficientMode order: the one list, which the torch
// op energyloss::coefficient_modes and the OpenMM plugin's Python read.
std::vector<std::string> coefficient_mode_names();

// Throws when the spec can produce negative or non-finite k, or its mode is
// not a CoefficientMode.
void check_coefficient_spec(const CoefficientSpec& spec);

// The largest spring constant the spec gives, in double (inf on overflow):
// k at r = 0 for the modes whose k falls with r (constant, exp, inv, inv2,
// morse; explicit: k0, the factor on each edge's k). lj's k0 / r^2 has no
// bound near 0, so its k at r = 1, k0, stands in.
double peak_coefficient(const CoefficientSpec& spec);
// "k0 = 1, length_scale = 1e-200": the parameters the spec's mode reads
// (length_scale for exp and morse, eps for inv and inv2), for messages.
std::string coefficient_parameters(const CoefficientSpec& spec);

// 1 / x for x > 0 and 0 for x = 0 (x >= 0), without a branch, so loops
// using it still vectorise: a zero distance has no direction (gradient 0)
// and coincident atoms no Lennard-Jones minimum.
template <typename T>
ENERGYLOSS_HOST_DEVICE inline T inverse_or_zero(T x) {
  return T(x > T(0)) / (x + T(x == T(0)));
}

// k(r) and dk/dr for reference distance r, with the mode fixed at compile
// time so hot loops carry no switch. `k0` is the effective prefactor (already
// divided by the atom count when per_atom is set).
template <CoefficientMode Mode, typename T>
ENERGYLOSS_HOST_DEVICE inline void coefficient(const CoefficientSpec& spec, T k0, T r, T& k,
                                               T& dk_dr) {
  if constexpr (Mode == CoefficientMode::Constant || Mode == CoefficientMode::Explicit) {
    k = k0;
    dk_dr = T(0);
  } else if constexpr (Mode == CoefficientMode::Exp) {
    k = k0 * std::exp(-r / T(spec.length_scale));
    dk_dr = -k / T(spec.length_scale);
  } else if constexpr (Mode == CoefficientMode::Inv) {
    const T inv = T(1) / (r + T(spec.eps));
    k = k0 * inv;
    dk_dr = -k * inv;
  } else if constexpr (Mode == CoefficientMode::Inv2) {
    const T inv = T(1) / (r * r + T(spec.eps));
    k = k0 * inv;
    dk_dr = T(-2) * r * k * inv;
  } else if constexpr (Mode == CoefficientMode::LennardJones) {
    // Coincident reference atoms have no LJ minimum: treat them as unbonded.
    const T inv = inverse_or_zero(r);
    k = k0 * inv * inv;
    dk_dr = T(-2) * k * inv;
  } else {
    static_assert(Mode == CoefficientMode::Morse);
    k = T(2) * k0 / (T(spec.length_scale) * T(spec.length_scale));
    dk_dr = T(0);
  }
}

// Calls `body(std::integral_constant<CoefficientMode, mode>{})`, turning the
// runtime mode into a compile-time one for the kernels above.
template <typename Body>
inline void dispatch_coefficient_mode(CoefficientMode mode, Body&& body) {
  using M = CoefficientMode;
  switch (mode) {
    case M::Constant:
      return body(std::integral_constant<M, M::Constant>{});
    case M::Exp:
      return body(std::integral_constant<M, M::Exp>{});
    case M::Inv:
      return body(std::integral_constant<M, M::Inv>{});
    case M::Inv2:
      return body(std::integral_constant<M, M::Inv2>{});
    case M::LennardJones:
      return body(std::integral_constant<M, M::LennardJones>{});
    case M::Morse:
      return body(std::integral_constant<M, M::Morse>{});
    case M::Explicit:
      return body(std::integral_constant<M, M::Explicit>{});
  }
}

// Runtime-mode convenience for callers outside hot loops.
template <typename T>
inline void coefficient(const CoefficientSpec& spec, T k0, T r, T& k, T& dk_dr) {
  dispatch_coefficient_mode(
      spec.mode, [&](auto mode) { coefficient<decltype(mode)::value>(spec, k0, r, k, dk_dr); });
}

}  // namespace energyloss
