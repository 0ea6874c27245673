// Analytic energy oracles for tests and small demos: Lennard-Jones and Morse
// over all pairs, and harmonic bonds over a given bond list. Units are pure
// labels ({"lj", "lj"} unless the caller names others); the batch is spread
// over OpenMP threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "energyloss/oracle.h"

namespace energyloss {

// An oracle whose energy is a sum of pair terms with known second derivative
// along each pair's distance. Force-field-derived coefficients use it to skip
// the finite-difference Hessian.
class PairCurvatureOracle : public EnergyOracle {
 public:
  // d^2 E / d r_ij^2 at distance r of atoms i and j (0 when they do not
  // interact), i.e. the curvature of the (i, j) term alone.
  virtual double pair_curvature(int64_t i, int64_t j, double r) const = 0;
};

inline OracleUnits reduced_units() {
  return {"lj", "lj"};
}

// V(r) = 4 epsilon ((sigma/r)^12 - (sigma/r)^6) over all pairs. With a cutoff,
// pairs at r >= cutoff are skipped and V is shifted by -V(cutoff) so the
// energy is continuous (forces and curvatures are unchanged inside).
std::shared_ptr<PairCurvatureOracle> make_lennard_jones_oracle(
    int64_t atoms, double epsilon, double sigma, std::optional<double> cutoff = std::nullopt,
    OracleUnits units = reduced_units());

// V(r) = D ((1 - exp(-a (r - r0)))^2 - 1) over all pairs: minimum -D at r0,
// 0 at infinity, curvature 2 D a^2 at r0. Cutoff handled as for Lennard-Jones.
std::shared_ptr<PairCurvatureOracle> make_morse_oracle(int64_t atoms, double depth, double width,
                                                       double r0,
                                                       std::optional<double> cutoff = std::nullopt,
                                                       OracleUnits units = reduced_units());

// V = sum over bonds of k/2 (r - r0)^2 (OpenMM's convention, not LAMMPS's
// K (r - r0)^2). A pair bonded several times sums its k.
struct HarmonicBond {
  int64_t i = 0, j = 0;
  double k = 0, r0 = 0;
};
std::shared_ptr<PairCurvatureOracle> make_harmonic_bond_oracle(int64_t atoms,
                                                               std::vector<HarmonicBond> bonds,
                                                               OracleUnits units = reduced_units());

}  // namespace energyloss
