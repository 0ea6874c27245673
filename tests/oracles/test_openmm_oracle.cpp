// The OpenMM oracle against OpenMM's own Python API (same System XML, same
// positions), against finite differences of its own energy, and on bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "../support/comparisons.h"
#include "../support/expect_error.h"
#include "../support/generated_folder.h"
#include "../support/oracle_checks.h"
#include "energyloss/error.h"
#include "energyloss/oracles/openmm_oracle.h"

namespace energyloss {
namespace {

using test_support::expect_error;
using test_support::expect_forces_are_minus_energy_slopes;
using test_support::generate_folder_once;
using test_support::max_abs;

namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(ENERGYLOSS_BUILD_DIR) / "tests" / "oracles" / "openmm_data";

// What OpenMM's Python API computed for a few configurations (make_system.py --reference).
struct Reference {
  int64_t samples = 0, atoms = 0;
  std::vector<double> positions, energies, forces;
};

Reference read_reference(const fs::path& path) {
  std::ifstream in(path);
  std::string hash, platform_word, platform, samples_word, atoms_word;
  Reference result;
  in >> hash >> platform_word >> platform >> samples_word >> result.samples >> atoms_word >>
      result.atoms;
  const int64_t stride = result.atoms * 3;
  result.positions.resize(size_t(result.samples * stride));
  result.forces.resize(size_t(result.samples * stride));
  result.energies.resize(size_t(result.samples));
  for (int64_t b = 0; b < result.samples; ++b) {
    in >> result.energies[size_t(b)];
    for (int64_t n = 0; n < stride; ++n) in >> result.positions[size_t(b * stride + n)];
    for (int64_t n = 0; n < stride; ++n) in >> result.forces[size_t(b * stride + n)];
  }
  if (!in) throw std::runtime_error("cannot parse " + path.string());
  return result;
}

// Files the tests write themselves go to a folder of this process's own.
const fs::path kScratchDir =
    fs::temp_directory_path() / ("energyloss_openmm_" + std::to_string(::getpid()));
fs::path scratch_file(const std::string& name) {
  fs::create_directories(kScratchDir);
  return kScratchDir / name;
}

std::string system_xml(const std::string& name) {
  return (kDataDir / (name + ".xml")).string();
}
fs::path reference_path(const std::string& name, const std::string& platform) {
  return kDataDir / (name + "_" + platform + ".txt");
}

// Builds alanine dipeptide and villin with examples/openmm/make_system.py and
// has OpenMM's Python API evaluate them on both platforms, once per build
// tree (generated_folder.h).
class OpenMMSystems : public ::testing::Environment {
 public:
  void SetUp() override {
    const fs::path script = fs::path(ENERGYLOSS_SOURCE_DIR) / "examples/openmm/make_system.py";
    std::vector<std::string> commands;
    for (const std::string name : {"alanine", "villin"}) {
      const std::string scratch = "{}/" + name;
      std::ostringstream command;
      command << ENERGYLOSS_PYTHON << " " << script << (name == "villin" ? " --villin" : "")
              << " --system-xml " << scratch << ".xml --positions " << scratch
              << ".txt --samples 3 --noise 0.01 --reference CPU:" << scratch
              << "_CPU.txt --reference Reference:" << scratch << "_Reference.txt";
      commands.push_back(command.str());
    }
    generate_folder_once(kDataDir, script, commands);
  }
  void TearDown() override { fs::remove_all(kScratchDir); }
};
const auto* const kSystems = ::testing::AddGlobalTestEnvironment(new OpenMMSystems);

// (system, platform)
class MatchesOpenMMPython : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
};

TEST_P(MatchesOpenMMPython, EnergiesAndForces) {
  const auto& [system, platform] = GetParam();
  const Reference expected = read_reference(reference_path(system, platform));
  // One CPU thread per Context, like the Python reference, so sums run in the same order.
  const std::map<std::string, std::string> properties =
      platform == "CPU" ? std::map<std::string, std::string>{{"Threads", "1"}}
                        : std::map<std::string, std::string>{};
  const auto oracle = make_openmm_oracle(system_xml(system), platform, properties, 2);
  ASSERT_EQ(oracle->atoms(), expected.atoms);
  EXPECT_EQ(oracle->units().length, "nm");
  EXPECT_EQ(oracle->units().energy, "kJ/mol");

  std::vector<double> energies(static_cast<size_t>(expected.samples)),
      forces(expected.forces.size());
  oracle->evaluate(expected.positions.data(), expected.samples, energies.data(), forces.data());
  for (int64_t b = 0; b < expected.samples; ++b) {
    EXPECT_NEAR(energies[size_t(b)], expected.energies[size_t(b)],
                1e-6 * std::abs(expected.energies[size_t(b)]))
        << "sample " << b;
  }
  const double force_scale = max_abs(expected.forces);
  for (size_t n = 0; n < forces.size(); ++n) {
    ASSERT_NEAR(forces[n], expected.forces[n], 1e-6 * force_scale) << "component " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Systems, MatchesOpenMMPython,
                         ::testing::Combine(::testing::Values("alanine", "villin"),
                                            ::testing::Values("Reference", "CPU")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

// Reference platform: double precision, so central differences are sharp.
TEST(OpenMMOracle, ForcesAreMinusEnergyGradient) {
  const Reference reference = read_reference(reference_path("alanine", "Reference"));
  const auto oracle = make_openmm_oracle(system_xml("alanine"), "Reference", {}, 2);
  const int64_t stride = reference.atoms * 3;
  const double step = 1e-5;
  // Configuration 1 is perturbed, so no force is accidentally ~0.
  const std::vector<double> base(reference.positions.begin() + stride,
                                 reference.positions.begin() + 2 * stride);
  expect_forces_are_minus_energy_slopes(*oracle, base, step, 1e-5);
}

TEST(OpenMMOracle, WorkerCountDoesNotChangeResults) {
  const Reference reference = read_reference(reference_path("alanine", "Reference"));
  std::vector<double> one(static_cast<size_t>(reference.samples)), three(one.size());
  make_openmm_oracle(system_xml("alanine"), "Reference", {}, 1)
      ->evaluate(reference.positions.data(), reference.samples, one.data(), nullptr);
  make_openmm_oracle(system_xml("alanine"), "Reference", {}, 3)
      ->evaluate(reference.positions.data(), reference.samples, three.data(), nullptr);
  EXPECT_EQ(one, three);
}

// A small periodic LJ box: moving an atom by a box vector changes nothing.
TEST(OpenMMOracle, PeriodicSystemUsesTheDefaultBox) {
  const fs::path path = scratch_file("periodic_lj.xml");
  std::ofstream(path) << R"(<?xml version="1.0" ?>
<System openmmVersion="7.7" type="System" version="1">
  <PeriodicBoxVectors><A x="2" y="0" z="0"/><B x="0" y="2" z="0"/><C x="0" y="0" z="2"/></PeriodicBoxVectors>
  <Particles><Particle mass="40"/><Particle mass="40"/></Particles>
  <Constraints/>
  <Forces>
    <Force alpha="0" cutoff=".9" dispersionCorrection="0" ewaldTolerance=".0005" exceptionsUsePeriodic="0" forceGroup="0" includeDirectSpace="1" ljAlpha="0" ljnx="0" ljny="0" ljnz="0" method="2" name="NonbondedForce" nx="0" ny="0" nz="0" recipForceGroup="-1" rfDielectric="78.3" switchingDistance="-1" type="NonbondedForce" useSwitchingFunction="0" version="4">
      <GlobalParameters/><ParticleOffsets/><ExceptionOffsets/>
      <Particles><Particle eps="1" q="0" sig=".34"/><Particle eps="1" q="0" sig=".34"/></Particles>
      <Exceptions/>
    </Force>
  </Forces>
</System>
)";
  const auto oracle = make_openmm_oracle(path.string(), "Reference", {}, 1);
  // Atoms 0.4 nm apart directly, or across the boundary of the 2 nm box.
  const std::vector<double> positions = {0.1, 0.1, 0.1, 0.5,       0.1, 0.1,
                                         0.1, 0.1, 0.1, 0.5 - 2.0, 0.1, 0.1 + 2.0};
  std::vector<double> energies(2);
  oracle->evaluate(positions.data(), 2, energies.data(), nullptr);
  const double s6 = std::pow(0.34 / 0.4, 6);
  EXPECT_NEAR(energies[0], 4 * (s6 * s6 - s6), 1e-9);
  EXPECT_NEAR(energies[1], energies[0], 1e-9);
}

TEST(OpenMMOracleErrors, MissingOrInvalidFile) {
  const std::string missing = (scratch_file("no_such_system.xml")).string();
  expect_error([&] { make_openmm_oracle(missing); }, {missing, "cannot be opened"});

  const fs::path garbage = scratch_file("garbage.xml");
  std::ofstream(garbage) << "this is not XML";
  expect_error([&] { make_openmm_oracle(garbage.string()); }, {garbage.string(), "System"});

  const fs::path integrator = scratch_file("integrator.xml");
  std::ofstream(integrator) << R"(<?xml version="1.0" ?>
<Integrator constraintTolerance="1e-05" stepSize=".001" type="VerletIntegrator" version="1"/>)";
  expect_error([&] { make_openmm_oracle(integrator.string()); }, {integrator.string(), "System"});

  const fs::path broken = scratch_file("broken_system.xml");
  std::ofstream(broken)
      << R"(<?xml version="1.0" ?><System openmmVersion="7.7" type="System" version="1"><Particles>)";
  expect_error([&] { make_openmm_oracle(broken.string()); }, {broken.string()});
}

TEST(OpenMMOracleErrors, UnknownPlatformListsTheAvailableOnes) {
  expect_error([] { make_openmm_oracle(system_xml("alanine"), "Quantum"); },
               {"Quantum", "available platforms", "Reference", "CPU"});
  expect_error([] { make_openmm_oracle(system_xml("alanine"), "CPU", {}, 0); }, {"workers"});
}

TEST(OpenMMOracleErrors, BadConfigurationsNameTheBatchEntryAndTheOracleSurvives) {
  const Reference reference = read_reference(reference_path("alanine", "CPU"));
  const int64_t stride = reference.atoms * 3;
  for (const std::string platform : {"Reference", "CPU"}) {
    const auto oracle = make_openmm_oracle(system_xml("alanine"), platform, {}, 2);
    std::vector<double> positions(reference.positions.begin(),
                                  reference.positions.begin() + 3 * stride);
    std::vector<double> energies(3), forces(size_t(3 * stride));

    std::vector<double> with_nan = positions;
    with_nan[size_t(stride + 3 * 5 + 1)] = std::numeric_limits<double>::quiet_NaN();
    expect_error([&] { oracle->evaluate(with_nan.data(), 3, energies.data(), forces.data()); },
                 {"batch entry 1", "atom 5", "not finite"});

    // Atoms 3 and 4 of entry 2 on top of each other: the energy explodes.
    std::vector<double> overlapping = positions;
    std::copy_n(&overlapping[size_t(2 * stride + 3 * 3)], 3,
                &overlapping[size_t(2 * stride + 3 * 4)]);
    expect_error([&] { oracle->evaluate(overlapping.data(), 3, energies.data(), forces.data()); },
                 {"batch entry 2", "not finite"});

    // Still usable afterwards.
    oracle->evaluate(positions.data(), 3, energies.data(), forces.data());
    EXPECT_NEAR(energies[0], reference.energies[0], 1e-4 * std::abs(reference.energies[0]))
        << platform;
  }
}

}  // namespace
}  // namespace energyloss
