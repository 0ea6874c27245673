// An energy oracle maps a batch of configurations to energies and forces in
// its engine's own units. Implementations wrap MD engines (OpenMM, LAMMPS)
// or analytic potentials; the LibTorch layer turns any of them into a
// differentiable energy (gradient = -forces).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace energyloss {

struct OracleUnits {
  std::string length;  // "nm", "angstrom", or a LAMMPS unit style's length unit
  std::string energy;  // "kJ/mol", "kcal/mol", "eV", "lj", ...
};

class EnergyOracle {
 public:
  virtual ~EnergyOracle() = default;

  virtual int64_t atoms() const = 0;
  virtual OracleUnits units() const = 0;
  // Element symbols or type names, one per atom; empty when unknown.
  virtual std::vector<std::string> elements() const { return {}; }
  // A short description for error messages ("OpenMM system.xml on CPU").
  virtual std::string describe() const = 0;

  // positions: [batch, atoms, 3]; energies: [batch]; forces: [batch, atoms, 3]
  // or nullptr when not wanted. Throws energyloss::Error (naming the batch
  // entry and atom) on bad input or when the engine fails; never aborts the
  // process. Validates, then hands over to compute().
  void evaluate(const double* positions, int64_t batch, double* energies, double* forces);

  // The same under the failure policy errors="mask": a batch entry that
  // cannot be evaluated (a non-finite coordinate, a non-finite energy or
  // force, e.g. from overlapping atoms, lost atoms: whatever the engine
  // reports as an Error for that entry) gets energy +inf, zero forces and
  // valid[b] = false, never 0 or another entry's values; every other entry
  // gets what evaluate() gives and valid[b] = true. valid: [batch]. Bad
  // arguments and failures of the call itself (a worker process that died:
  // RuntimeError) still throw. When the batch fails as a whole, its entries
  // are evaluated one at a time to tell the failed ones from the rest.
  void evaluate_masked(const double* positions, int64_t batch, double* energies, double* forces,
                       bool* valid);

 protected:
  // The engine's work on validated input: batch >= 1, non-null positions
  // and energies, every coordinate finite.
  virtual void compute(const double* positions, int64_t batch, double* energies,
                       double* forces) = 0;
};

}  // namespace energyloss
