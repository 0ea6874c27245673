// The generator protocol: a trained generator is a TorchScript file (torch.jit.save)
// whose module has
//   n_atoms: int                  atoms per sample (>= 1)
//   length_unit: str              "nm", "angstrom" or "lj" (reduced units)
//   elements: List[str]           optional, one symbol or type name per atom
//   def sample(self, n: int, seed: int) -> Tensor   shape [n, n_atoms, 3], finite
// The same (n, seed) must give the same samples. Generator loads and validates
// such a file (one trial sample is drawn at load time) and converts lengths to
// the unit a simulation engine wants. The header is torch-free so plugins can
// include it; the implementation lives in energyloss_oracles_torch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace energyloss {

// Meters per length unit, for the names a generator or engine may use:
// "nm", "angstrom", LAMMPS unit styles "real" and "metal" (angstrom), "si" (m),
// "cgs" (cm), "micro" (micrometer), "nano" (nm), "electron" (bohr). "lj" has no
// absolute size: it converts only to itself. Throws Error listing the valid names.
double length_unit_factor(const std::string& from, const std::string& to);

class Generator {
 public:
  // Throws energyloss::Error naming the file and what is wrong with it:
  // missing file, a directory or other non-regular file, an unreadable or
  // empty file, not TorchScript (a torch.save file said so), missing or
  // mistyped attribute, missing sample method, unknown unit, wrong output
  // shape, NaN/inf output.
  explicit Generator(const std::string& path);
  ~Generator();
  Generator(Generator&&) noexcept;
  Generator& operator=(Generator&&) noexcept;

  const std::string& path() const;
  int64_t atoms() const;
  const std::string& length_unit() const;
  // Empty when the module has no `elements` attribute.
  const std::vector<std::string>& elements() const;

  // n samples [n, atoms, 3], row-major, in `target_length_unit` (empty: the
  // generator's own unit). Output is checked for shape and finiteness.
  // Throws Error for n < 1 ("Generator.sample: n must be at least 1, got n"),
  // an unknown unit, or a sample that fails or breaks the protocol.
  std::vector<double> sample(int64_t n, int64_t seed,
                             const std::string& target_length_unit = "") const;

 private:
  struct Module;
  std::unique_ptr<Module> module_;
  std::string path_, length_unit_;
  std::vector<std::string> elements_;
  int64_t atoms_ = 0;
};

}  // namespace energyloss
