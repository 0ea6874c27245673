// Analytic oracles: one batched driver (validation, OpenMP over the batch,
// finiteness check of the results) and per-potential energy terms.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "atom_pair.h"
#include "energyloss/error.h"
#include "energyloss/oracles/analytic_oracles.h"

namespace energyloss {
namespace {

void require_units(const OracleUnits& units) {
  require(!units.length.empty() && !units.energy.empty(),
          "units: length and energy unit names must not be empty");
}

class AnalyticOracle : public PairCurvatureOracle {
 public:
  AnalyticOracle(int64_t atoms, OracleUnits units) : atoms_(atoms), units_(std::move(units)) {
    require(atoms >= 1, "n_atoms: expected >= 1, got ", atoms);
    require_units(units_);
  }

  int64_t atoms() const override { return atoms_; }
  OracleUnits units() const override { return units_; }

  // Called by EnergyOracle::evaluate after it has validated the arguments.
  void compute(const double* positions, int64_t batch, double* energies, double* forces) override {
    const int64_t stride = atoms_ * 3;
    // Errors cannot leave an OpenMP region: remember the first bad entry.
    int64_t first_bad = batch;
#pragma omp parallel
    {
      std::vector<double> scratch(forces == nullptr ? size_t(stride) : 0);
#pragma omp for schedule(dynamic, 1) reduction(min : first_bad)
      for (int64_t b = 0; b < batch; ++b) {
        double* f = forces != nullptr ? forces + b * stride : scratch.data();
        std::memset(f, 0, sizeof(double) * size_t(stride));
        energies[b] = system_energy(positions + b * stride, f);
        bool finite = std::isfinite(energies[b]);
        for (int64_t n = 0; n < stride && finite; ++n) finite = std::isfinite(f[n]);
        if (!finite) first_bad = std::min(first_bad, b);
      }
    }
    require(first_bad == batch, describe(), ": energy or forces not finite for batch entry ",
            first_bad, " (coincident atoms?)");
  }

 protected:
  // Energy of one configuration [atoms, 3]; adds -dE/dx to `forces` (zeroed).
  virtual double system_energy(const double* x, double* forces) const = 0;

  // Adds the forces of a pair term with derivative dv = dV/dr at distance r
  // along d = x_i - x_j.
  static void add_pair_forces(const double* d, double r, double dv, double* fi, double* fj) {
    if (r == 0) return;  // no direction: the gradient of |d| is set to 0
    const double scale = -dv / r;
    for (int c = 0; c < 3; ++c) {
      fi[c] += scale * d[c];
      fj[c] -= scale * d[c];
    }
  }

  static double distance(const double* xi, const double* xj, double* d) {
    for (int c = 0; c < 3; ++c) d[c] = xi[c] - xj[c];
    return std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  }

  int64_t atoms_;
  OracleUnits units_;
};

struct LennardJonesTerm {
  double epsilon, sigma;

  // V and dV/dr at r.
  void operator()(double r, double& v, double& dv) const {
    const double s2 = sigma * sigma / (r * r);
    const double s6 = s2 * s2 * s2;
    v = 4 * epsilon * (s6 * s6 - s6);
    dv = -24 * epsilon * (2 * s6 * s6 - s6) / r;
  }
  double curvature(double r) const {
    const double s2 = sigma * sigma / (r * r);
    const double s6 = s2 * s2 * s2;
    return 4 * epsilon * (156 * s6 * s6 - 42 * s6) / (r * r);
  }
  std::string name() const {
    std::ostringstream out;
    out << "Lennard-Jones oracle (epsilon " << epsilon << ", sigma " << sigma;
    return out.str();
  }
};

struct MorseTerm {
  double depth, width, r0;

  void operator()(double r, double& v, double& dv) const {
    const double e = std::exp(-width * (r - r0));
    v = depth * ((1 - e) * (1 - e) - 1);
    dv = 2 * depth * width * (1 - e) * e;
  }
  double curvature(double r) const {
    const double e = std::exp(-width * (r - r0));
    return 2 * depth * width * width * e * (2 * e - 1);
  }
  std::string name() const {
    std::ostringstream out;
    out << "Morse oracle (D " << depth << ", a " << width << ", r0 " << r0;
    return out.str();
  }
};

// A pair potential over all pairs, optionally truncated and shifted at a cutoff.
template <typename Term>
class AllPairsOracle : public AnalyticOracle {
 public:
  AllPairsOracle(int64_t atoms, Term term, std::optional<double> cutoff, OracleUnits units)
      : AnalyticOracle(atoms, std::move(units)), term_(term) {
    if (cutoff.has_value()) {
      require(std::isfinite(*cutoff) && *cutoff > 0,
              "cutoff: expected a positive finite value, got ", *cutoff);
      cutoff_ = *cutoff;
      double dv = 0;
      term_(cutoff_, shift_, dv);
    }
  }

  std::string describe() const override {
    std::ostringstream out;
    out << term_.name();
    if (std::isfinite(cutoff_)) out << ", cutoff " << cutoff_;
    out << ", " << atoms_ << " atoms)";
    return out.str();
  }

  double pair_curvature(int64_t i, int64_t j, double r) const override {
    require_atom_pair(i, j, atoms_, "pair_curvature");
    return r < cutoff_ ? term_.curvature(r) : 0.0;
  }

 protected:
  double system_energy(const double* x, double* forces) const override {
    double energy = 0;
    for (int64_t i = 0; i < atoms_; ++i) {
      for (int64_t j = i + 1; j < atoms_; ++j) {
        double d[3];
        const double r = distance(x + 3 * i, x + 3 * j, d);
        if (r >= cutoff_) continue;
        // Coincident atoms give an infinite Lennard-Jones energy, reported by evaluate().
        double v = 0, dv = 0;
        term_(r, v, dv);
        energy += v - shift_;
        add_pair_forces(d, r, dv, forces + 3 * i, forces + 3 * j);
      }
    }
    return energy;
  }

 private:
  Term term_;
  double cutoff_ = std::numeric_limits<double>::infinity();
  double shift_ = 0;
};

class HarmonicBondOracle : public AnalyticOracle {
 public:
  HarmonicBondOracle(int64_t atoms, std::vector<HarmonicBond> bonds, OracleUnits units)
      : AnalyticOracle(atoms, std::move(units)), bonds_(std::move(bonds)) {
    for (size_t e = 0; e < bonds_.size(); ++e) {
      const HarmonicBond& bond = bonds_[e];
      require_atom_pair(bond.i, bond.j, atoms, "bonds[", e, "]");
      require(std::isfinite(bond.k) && bond.k >= 0, "k[", e, "]: expected finite and >= 0, got ",
              bond.k);
      require(std::isfinite(bond.r0) && bond.r0 >= 0, "r0[", e, "]: expected finite and >= 0, got ",
              bond.r0);
    }
  }

  std::string describe() const override {
    std::ostringstream out;
    out << "harmonic bond oracle (" << bonds_.size() << " bonds, " << atoms_ << " atoms)";
    return out.str();
  }

  double pair_curvature(int64_t i, int64_t j, double /*r*/) const override {
    require_atom_pair(i, j, atoms_, "pair_curvature");
    double k = 0;
    for (const HarmonicBond& bond : bonds_) {
      if ((bond.i == i && bond.j == j) || (bond.i == j && bond.j == i)) k += bond.k;
    }
    return k;
  }

 protected:
  double system_energy(const double* x, double* forces) const override {
    double energy = 0;
    for (const HarmonicBond& bond : bonds_) {
      double d[3];
      const double r = distance(x + 3 * bond.i, x + 3 * bond.j, d);
      energy += 0.5 * bond.k * (r - bond.r0) * (r - bond.r0);
      add_pair_forces(d, r, bond.k * (r - bond.r0), forces + 3 * bond.i, forces + 3 * bond.j);
    }
    return energy;
  }

 private:
  std::vector<HarmonicBond> bonds_;
};

}  // namespace

std::shared_ptr<PairCurvatureOracle> make_lennard_jones_oracle(int64_t atoms, double epsilon,
                                                               double sigma,
                                                               std::optional<double> cutoff,
                                                               OracleUnits units) {
  require(std::isfinite(epsilon) && epsilon > 0, "epsilon: expected > 0, got ", epsilon);
  require(std::isfinite(sigma) && sigma > 0, "sigma: expected > 0, got ", sigma);
  return std::make_shared<AllPairsOracle<LennardJonesTerm>>(atoms, LennardJonesTerm{epsilon, sigma},
                                                            cutoff, std::move(units));
}

std::shared_ptr<PairCurvatureOracle> make_morse_oracle(int64_t atoms, double depth, double width,
                                                       double r0, std::optional<double> cutoff,
                                                       OracleUnits units) {
  require(std::isfinite(depth) && depth > 0, "D: expected > 0, got ", depth);
  require(std::isfinite(width) && width > 0, "a: expected > 0, got ", width);
  require(std::isfinite(r0) && r0 >= 0, "r0: expected finite and >= 0, got ", r0);
  return std::make_shared<AllPairsOracle<MorseTerm>>(atoms, MorseTerm{depth, width, r0}, cutoff,
                                                     std::move(units));
}

std::shared_ptr<PairCurvatureOracle> make_harmonic_bond_oracle(int64_t atoms,
                                                               std::vector<HarmonicBond> bonds,
                                                               OracleUnits units) {
  return std::make_shared<HarmonicBondOracle>(atoms, std::move(bonds), std::move(units));
}

}  // namespace energyloss
