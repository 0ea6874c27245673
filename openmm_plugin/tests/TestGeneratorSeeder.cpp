// GeneratorSeeder on alanine dipeptide (amber14 + OBC2): candidates are the
// generator's own samples (drawn again here with energyloss::Generator and
// scored in a separate Context), the lowest-energy one is chosen, and bad
// input leaves the Context untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>

#include "../../tests/support/expect_error.h"
#include "GeneratorSeeder.h"
#include "energyloss/generator.h"
#include "openmm/Context.h"
#include "openmm/OpenMMException.h"
#include "openmm/Platform.h"
#include "openmm/State.h"
#include "openmm/System.h"
#include "openmm/VerletIntegrator.h"
#include "openmm/serialization/XmlSerializer.h"

using energyloss::test_support::expect_error;
using EnergyLossPlugin::GeneratorSeeder;
using EnergyLossPlugin::SeedOptions;
using EnergyLossPlugin::SeedReport;
using OpenMM::Vec3;

namespace {

const std::string kData = ENERGYLOSS_OPENMM_TEST_DATA;
const std::string kGenerator = kData + "/alanine_gen.pt";

std::unique_ptr<OpenMM::System> alanine() {
  std::ifstream xml(kData + "/alanine.xml");
  return std::unique_ptr<OpenMM::System>(OpenMM::XmlSerializer::deserialize<OpenMM::System>(xml));
}

struct Simulation {
  std::unique_ptr<OpenMM::System> system;
  OpenMM::VerletIntegrator integrator{0.001};
  std::unique_ptr<OpenMM::Context> context;
  explicit Simulation(std::unique_ptr<OpenMM::System> system_) : system(std::move(system_)) {
    context = std::make_unique<OpenMM::Context>(*system, integrator,
                                                OpenMM::Platform::getPlatformByName("Reference"));
    std::vector<Vec3> positions(system->getNumParticles());
    for (size_t i = 0; i < positions.size(); ++i) positions[i] = Vec3(0.3 * i, 0.1 * (i % 3), 0);
    context->setPositions(positions);
  }
  std::vector<Vec3> positions() const {
    return context->getState(OpenMM::State::Positions).getPositions();
  }
  double energy(const std::vector<Vec3>& positions) {
    context->setPositions(positions);
    return context->getState(OpenMM::State::Energy).getPotentialEnergy();
  }
};

// Candidate c of the generator, in nm (the generator writes angstrom).
std::vector<Vec3> candidate(const std::vector<double>& samples, int c, int atoms) {
  std::vector<Vec3> positions(atoms);
  for (int a = 0; a < atoms; ++a)
    for (int k = 0; k < 3; ++k) positions[a][k] = samples[(c * atoms + a) * 3 + k] / 10.0;
  return positions;
}

TEST(GeneratorSeeder, ChoosesTheLowestEnergyCandidate) {
  const energyloss::Generator generator(kGenerator);
  ASSERT_EQ(generator.length_unit(), "angstrom");
  const int atoms = static_cast<int>(generator.atoms());
  SeedOptions options;
  options.candidates = 6;
  options.sampleSeed = 11;
  options.minimize = false;
  options.temperature = 0.0;
  const std::vector<double> samples = generator.sample(options.candidates, options.sampleSeed);

  Simulation scorer(alanine());
  std::vector<double> expected;
  for (int c = 0; c < options.candidates; ++c)
    expected.push_back(scorer.energy(candidate(samples, c, atoms)));
  const int lowest =
      static_cast<int>(std::min_element(expected.begin(), expected.end()) - expected.begin());

  Simulation simulation(alanine());
  const SeedReport report = GeneratorSeeder(kGenerator).seed(*simulation.context, options);
  ASSERT_EQ(report.energies.size(), expected.size());
  for (size_t c = 0; c < expected.size(); ++c)
    EXPECT_NEAR(report.energies[c], expected[c], 1e-9 * std::abs(expected[c]));
  EXPECT_TRUE(report.minimizedEnergies.empty());
  EXPECT_EQ(report.chosen, lowest);
  const std::vector<Vec3> placed = simulation.positions(),
                          chosen = candidate(samples, lowest, atoms);
  for (int a = 0; a < atoms; ++a)
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(placed[a][k], chosen[a][k], 1e-12);
  const OpenMM::State state =
      simulation.context->getState(OpenMM::State::Energy | OpenMM::State::Velocities);
  EXPECT_NEAR(state.getPotentialEnergy(), expected[lowest], 1e-9 * std::abs(expected[lowest]));
  // 0 K: at rest. (Verlet's kinetic energy is taken half a step on, so the
  // velocities themselves are checked.)
  for (const Vec3& v : state.getVelocities()) EXPECT_EQ(v.dot(v), 0.0);
}

TEST(GeneratorSeeder, MinimisesEveryCandidateAndDrawsVelocities) {
  Simulation simulation(alanine());
  SeedOptions options;
  options.candidates = 3;
  options.maxIterations = 200;
  options.temperature = 300.0;
  options.velocitySeed = 5;
  const SeedReport report = GeneratorSeeder(kGenerator).seed(*simulation.context, options);
  ASSERT_EQ(report.minimizedEnergies.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_LT(report.minimizedEnergies[c], report.energies[c]);
  EXPECT_EQ(report.chosenEnergy,
            *std::min_element(report.minimizedEnergies.begin(), report.minimizedEnergies.end()));
  EXPECT_EQ(report.chosenEnergy, report.minimizedEnergies[report.chosen]);
  const OpenMM::State state =
      simulation.context->getState(OpenMM::State::Energy | OpenMM::State::Velocities);
  EXPECT_NEAR(state.getPotentialEnergy(), report.chosenEnergy, 1e-6);
  // 22 atoms at 300 K: kinetic energy 3/2 N k T ~ 82 kJ/mol, give or take the draw.
  EXPECT_GT(state.getKineticEnergy(), 20.0);
  EXPECT_LT(state.getKineticEnergy(), 250.0);
}

TEST(GeneratorSeeder, ParticleMapPlacesAtomsAndKeepsTheRest) {
  auto system = std::make_unique<OpenMM::System>();
  for (int i = 0; i < 30; ++i) system->addParticle(1.0);
  Simulation simulation(std::move(system));
  const std::vector<Vec3> before = simulation.positions();
  SeedOptions options;
  options.candidates = 2;
  options.minimize = false;
  for (int a = 0; a < 22; ++a) options.particleMap.push_back(29 - a);
  const SeedReport report = GeneratorSeeder(kGenerator).seed(*simulation.context, options);
  const std::vector<double> samples = energyloss::Generator(kGenerator).sample(2, 0);
  const std::vector<Vec3> chosen = candidate(samples, report.chosen, 22);
  const std::vector<Vec3> after = simulation.positions();
  for (int a = 0; a < 22; ++a)
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(after[29 - a][k], chosen[a][k], 1e-12);
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 3; ++k) EXPECT_EQ(after[i][k], before[i][k]);
}

TEST(GeneratorSeeder, BadInputRaisesAndLeavesTheContextUntouched) {
  auto system = std::make_unique<OpenMM::System>();
  for (int i = 0; i < 23; ++i) system->addParticle(1.0);
  Simulation simulation(std::move(system));
  const std::vector<Vec3> before = simulation.positions();
  const GeneratorSeeder seeder(kGenerator);
  auto expectError = [&](const SeedOptions& options, const std::string& words) {
    expect_error<OpenMM::OpenMMException>([&] { seeder.seed(*simulation.context, options); },
                                          words);
    const std::vector<Vec3> after = simulation.positions();
    for (size_t i = 0; i < before.size(); ++i)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(after[i][k], before[i][k]);
  };
  expectError(SeedOptions{}, "the generator has 22 atoms but the System has 23 particles");
  SeedOptions badMap;
  badMap.particleMap = std::vector<int>(22, 0);
  expectError(badMap, "sends two atoms to particle 0");
  badMap.particleMap.assign(21, 0);
  expectError(badMap, "21 entries for the generator's 22 atoms");
  SeedOptions none;
  none.candidates = 0;
  expectError(none, "candidates must be >= 1");
  SeedOptions negative;
  negative.sampleSeed = -1;  // LAMMPS's seed_atoms refuses it too
  expectError(negative, "the sample seed must be >= 0, got -1");
  EXPECT_THROW(GeneratorSeeder(kData + "/missing.pt"), OpenMM::OpenMMException);
}

}  // namespace
