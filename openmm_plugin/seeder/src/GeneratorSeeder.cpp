#include "GeneratorSeeder.h"

#include <cmath>
#include <limits>
#include <utility>

#include "energyloss/generator.h"
#include "internal/EnergyLossErrors.h"
#include "openmm/LocalEnergyMinimizer.h"
#include "openmm/OpenMMException.h"
#include "openmm/State.h"
#include "openmm/System.h"
#include "openmm/Vec3.h"

namespace EnergyLossPlugin {
namespace {

// The System particle of every generator atom. Virtual sites are computed
// from other particles, so no generator atom may be placed on one.
std::vector<int> particlesOf(const SeedOptions& options, int atoms, const OpenMM::System& system) {
  const int particles = system.getNumParticles();
  if (options.particleMap.empty()) {
    require(atoms == particles, "GeneratorSeeder: the generator has ", atoms,
            " atoms but the System has ", particles,
            " particles (give a particle map to place a subset)");
    std::vector<int> identity(atoms);
    for (int a = 0; a < atoms; ++a) {
      require(!system.isVirtualSite(a), "GeneratorSeeder: particle ", a,
              " is a virtual site (built from other particles); give a particle map that "
              "places the generator's atoms on the real particles only");
      identity[a] = a;
    }
    return identity;
  }
  const std::vector<int>& map = options.particleMap;
  require(static_cast<int>(map.size()) == atoms, "GeneratorSeeder: the particle map has ",
          map.size(), " entries for the generator's ", atoms, " atoms");
  std::vector<bool> taken(particles, false);
  for (int a = 0; a < atoms; ++a) {
    require(map[a] >= 0 && map[a] < particles, "GeneratorSeeder: particle map entry ", a, " = ",
            map[a], " is out of range for a System of ", particles, " particles");
    require(!taken[map[a]], "GeneratorSeeder: the particle map sends two atoms to particle ",
            map[a]);
    require(!system.isVirtualSite(map[a]), "GeneratorSeeder: particle map entry ", a, " = ", map[a],
            " is a virtual site (built from other particles); map the generator's atoms "
            "to real particles only");
    taken[map[a]] = true;
  }
  return map;
}

void checkOptions(const SeedOptions& options) {
  require(options.candidates >= 1, "GeneratorSeeder: candidates must be >= 1, got ",
          options.candidates);
  // LAMMPS's seed_atoms takes seeds >= 0 too; one seed means one set of samples.
  require(options.sampleSeed >= 0, "GeneratorSeeder: the sample seed must be >= 0, got ",
          options.sampleSeed);
  require(std::isfinite(options.tolerance) && options.tolerance > 0.0,
          "GeneratorSeeder: the minimisation tolerance must be positive, got ", options.tolerance);
  require(options.maxIterations >= 0, "GeneratorSeeder: maxIterations must be >= 0, got ",
          options.maxIterations);
  require(std::isfinite(options.temperature) && options.temperature >= 0.0,
          "GeneratorSeeder: the temperature must be >= 0 K, got ", options.temperature);
}

// The potential energy, or NaN when the platform rejects the configuration
// (the CPU platform throws on non-finite coordinates): such a candidate is
// reported and never chosen.
double energyOf(OpenMM::Context& context) {
  try {
    return context.getState(OpenMM::State::Energy).getPotentialEnergy();
  } catch (const OpenMM::OpenMMException&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

// Puts the Context's state back unless dismissed, so that an error halfway
// through scoring leaves the Context as it was.
class RestoreOnError {
 public:
  explicit RestoreOnError(OpenMM::Context& context)
      : context(context),
        saved(context.getState(OpenMM::State::Positions | OpenMM::State::Velocities |
                               OpenMM::State::Parameters)) {}
  ~RestoreOnError() {
    if (dismissed) return;
    try {
      context.setState(saved);
    } catch (...) {  // a destructor must not throw; the original error propagates
    }
  }
  RestoreOnError(const RestoreOnError&) = delete;
  RestoreOnError& operator=(const RestoreOnError&) = delete;
  const std::vector<OpenMM::Vec3>& positions() const { return saved.getPositions(); }
  void dismiss() { dismissed = true; }

 private:
  OpenMM::Context& context;
  const OpenMM::State saved;
  bool dismissed = false;
};

}  // namespace

GeneratorSeeder::GeneratorSeeder(const std::string& generatorPath)
    : generator(
          asOpenMMErrors([&] { return std::make_unique<energyloss::Generator>(generatorPath); })) {}
GeneratorSeeder::~GeneratorSeeder() = default;
GeneratorSeeder::GeneratorSeeder(GeneratorSeeder&&) noexcept = default;
GeneratorSeeder& GeneratorSeeder::operator=(GeneratorSeeder&&) noexcept = default;

int GeneratorSeeder::getNumAtoms() const {
  return static_cast<int>(generator->atoms());
}

const std::string& GeneratorSeeder::getLengthUnit() const {
  return generator->length_unit();
}

SeedReport GeneratorSeeder::seed(OpenMM::Context& context, const SeedOptions& options) const {
  // Everything that can be checked is checked before the Context changes.
  checkOptions(options);
  const OpenMM::System& system = context.getSystem();
  const int atoms = getNumAtoms();
  const std::vector<int> particles = particlesOf(options, atoms, system);
  // OpenMM works in nm; reduced ("lj") generators have no absolute size.
  // Refused here, naming the file (common/'s conversion error does not).
  require(generator->length_unit() != "lj", "GeneratorSeeder: generator '", generator->path(),
          "' has length_unit 'lj': reduced units have no absolute size, and OpenMM needs "
          "lengths in nm (write the generator in nm or angstrom)");
  const std::vector<double> samples =
      generator->sample(options.candidates, options.sampleSeed, "nm");

  RestoreOnError restore(context);
  SeedReport report;
  double best = std::numeric_limits<double>::infinity();
  std::vector<OpenMM::Vec3> bestPositions;
  for (int c = 0; c < options.candidates; ++c) {
    std::vector<OpenMM::Vec3> positions = restore.positions();
    const double* sample = samples.data() + static_cast<size_t>(c) * atoms * 3;
    for (int a = 0; a < atoms; ++a)
      positions[particles[a]] = OpenMM::Vec3(sample[3 * a], sample[3 * a + 1], sample[3 * a + 2]);
    context.setPositions(positions);
    if (system.getNumConstraints() > 0) context.applyConstraints(1e-5);
    // setPositions leaves virtual sites where they were: build them from
    // this candidate's atoms before its energy is asked for.
    context.computeVirtualSites();
    double energy = energyOf(context);
    report.energies.push_back(energy);
    if (options.minimize) {
      if (std::isfinite(energy)) {
        OpenMM::LocalEnergyMinimizer::minimize(context, options.tolerance, options.maxIterations);
        energy = energyOf(context);
      }
      report.minimizedEnergies.push_back(energy);
    }
    if (std::isfinite(energy) && energy < best) {
      best = energy;
      report.chosen = c;
      bestPositions = context.getState(OpenMM::State::Positions).getPositions();
    }
  }
  require(report.chosen >= 0, "GeneratorSeeder: none of the ", options.candidates,
          " candidates from '", generator->path(), "' has a finite energy");

  context.setPositions(bestPositions);
  context.computeVirtualSites();  // bestPositions has them already; stay exact
  if (options.temperature > 0.0)
    context.setVelocitiesToTemperature(options.temperature, options.velocitySeed);
  else
    context.setVelocities(std::vector<OpenMM::Vec3>(system.getNumParticles()));
  report.chosenEnergy = best;
  restore.dismiss();
  return report;
}

}  // namespace EnergyLossPlugin
