// GeneratorSeeder: starts a simulation from a trained generator. It draws K
// candidate structures from a generator file (energyloss's TorchScript
// generator protocol, energyloss/generator.h), places them on the Context's
// particles, scores each with the Context's own force field (optionally after
// local minimisation), keeps the lowest-energy one, and draws velocities at a
// temperature. Bad input (atom counts, index maps, units, non-finite samples)
// raises before the Context is touched; an error during scoring restores the
// Context's state. The header is torch-free; the library links LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "openmm/Context.h"

namespace energyloss {
class Generator;
}

namespace EnergyLossPlugin {

struct SeedOptions {
  int candidates = 8;
  // Generator seed (>= 0): the same seed draws the same candidates.
  int64_t sampleSeed = 0;
  bool minimize = true;
  // LocalEnergyMinimizer's tolerance (kJ/mol/nm) and iteration cap (0: none).
  double tolerance = 10.0;
  int maxIterations = 0;
  // Velocities from Maxwell-Boltzmann at this temperature (K); 0 gives zero velocities.
  double temperature = 300.0;
  int velocitySeed = 0;  // 0: OpenMM picks one
  // Generator atom a goes to System particle particleMap[a]; empty: the same
  // count and order. Particles the map leaves out keep their positions;
  // virtual sites may not be mapped to (they are rebuilt from their atoms).
  std::vector<int> particleMap;
};

struct SeedReport {
  // Potential energy (kJ/mol) of every candidate as drawn, and after
  // minimisation (empty when not minimising); non-finite energies are kept
  // as they came (such candidates are never chosen).
  std::vector<double> energies;
  std::vector<double> minimizedEnergies;
  int chosen = -1;
  double chosenEnergy = 0.0;  // kJ/mol, the energy the Context now has
};

class GeneratorSeeder {
 public:
  // Loads and validates the generator file (energyloss::Error on a bad file).
  explicit GeneratorSeeder(const std::string& generatorPath);
  ~GeneratorSeeder();
  GeneratorSeeder(GeneratorSeeder&&) noexcept;
  GeneratorSeeder& operator=(GeneratorSeeder&&) noexcept;

  int getNumAtoms() const;
  const std::string& getLengthUnit() const;

  // Seeds `context` as described above and returns what it measured.
  SeedReport seed(OpenMM::Context& context, const SeedOptions& options = {}) const;

 private:
  std::unique_ptr<energyloss::Generator> generator;
};

}  // namespace EnergyLossPlugin
