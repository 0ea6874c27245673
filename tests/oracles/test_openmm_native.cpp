// The OpenMM oracle's native engine against OpenMM's Reference platform (the
// Context engine on the same System XML and configurations), each supported
// force alone and together; against finite differences of its own energy;
// per-term energies; the fallback of engine "auto"; and bad input.
// Systems: tests/oracles/make_native_systems.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "../support/comparisons.h"
#include "../support/expect_error.h"
#include "../support/generated_folder.h"
#include "../support/oracle_checks.h"
#include "energyloss/error.h"
#include "energyloss/oracles/openmm_oracle.h"

namespace energyloss {
namespace {

using test_support::error_message;
using test_support::expect_error;
using test_support::expect_forces_are_minus_energy_slopes;
using test_support::generate_folder_once;
using test_support::max_abs;

namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(ENERGYLOSS_BUILD_DIR) / "tests" / "oracles" / "native_systems";

// Writes the Systems once per build tree (generated_folder.h).
class NativeSystems : public ::testing::Environment {
 public:
  void SetUp() override {
    const fs::path script =
        fs::path(ENERGYLOSS_SOURCE_DIR) / "tests/oracles/make_native_systems.py";
    generate_folder_once(kDataDir, script,
                         {std::string(ENERGYLOSS_PYTHON) + " " + script.string() + " {}"});
  }
};
const auto* const kSystems = ::testing::AddGlobalTestEnvironment(new NativeSystems);

std::string system_xml(const std::string& name) {
  return (kDataDir / (name + ".xml")).string();
}

struct Batch {
  int64_t samples = 0, atoms = 0;
  std::vector<double> positions;  // [samples, atoms, 3]
};

Batch read_batch(const std::string& name) {
  std::ifstream in(kDataDir / (name + ".positions"));
  std::string samples_word, atoms_word;
  Batch batch;
  in >> samples_word >> batch.samples >> atoms_word >> batch.atoms;
  batch.positions.resize(size_t(batch.samples * batch.atoms * 3));
  for (double& x : batch.positions) in >> x;
  if (!in) throw std::runtime_error("cannot parse the positions of " + name);
  return batch;
}

std::shared_ptr<EnergyOracle> reference_oracle(const std::string& name) {
  return make_openmm_oracle(system_xml(name), "Reference", {}, 2, "context");
}

std::shared_ptr<EnergyOracle> native_oracle(const std::string& name,
                                            const std::string& precision = "double",
                                            int threads = 2) {
  return make_openmm_oracle(system_xml(name), "CPU", {{"Precision", precision}}, threads, "native");
}

struct Results {
  std::vector<double> energies, forces;
};

Results evaluate(EnergyOracle& oracle, const Batch& batch) {
  Results results{std::vector<double>(size_t(batch.samples)),
                  std::vector<double>(batch.positions.size())};
  oracle.evaluate(batch.positions.data(), batch.samples, results.energies.data(),
                  results.forces.data());
  return results;
}

// Energies within `relative` of OpenMM's, forces within `relative` x the
// largest force.
void expect_matches_reference(const std::string& name, const std::string& precision,
                              double relative) {
  const Batch batch = read_batch(name);
  const auto native = native_oracle(name, precision);
  ASSERT_EQ(native->atoms(), batch.atoms);
  EXPECT_EQ(native->units().length, "nm");
  EXPECT_EQ(native->units().energy, "kJ/mol");
  const Results expected = evaluate(*reference_oracle(name), batch);
  const Results got = evaluate(*native, batch);
  for (int64_t b = 0; b < batch.samples; ++b) {
    EXPECT_NEAR(got.energies[size_t(b)], expected.energies[size_t(b)],
                relative * std::abs(expected.energies[size_t(b)]))
        << name << " sample " << b;
  }
  const double scale = max_abs(expected.forces);
  for (size_t n = 0; n < got.forces.size(); ++n) {
    ASSERT_NEAR(got.forces[n], expected.forces[n], relative * scale)
        << name << " sample " << n / size_t(3 * batch.atoms) << " atom "
        << (n / 3) % size_t(batch.atoms) << " coordinate " << n % 3;
  }
}

const std::vector<std::string> kSupported = {
    "alanine_only_bonds", "alanine_only_angles",  "alanine_only_torsions", "alanine_only_nonbonded",
    "alanine_only_gb",    "alanine_only_rb_cmap", "alanine_vacuum",        "alanine_obc2",
    "alanine_obc1",       "alanine_gbsaobc",      "alanine_cutoff",        "alanine_gbsaobc_cutoff",
    "alanine_switched",   "alanine_rb_cmap",      "engulfed_obc2",         "engulfed_gbsaobc",
    "villin_obc2",        "villin_cutoff"};

class NativeMatchesReference : public ::testing::TestWithParam<std::string> {};

// Double precision: far inside the 1e-6 asked for (the kernels follow the
// Reference platform's formulas; only summation order differs).
TEST_P(NativeMatchesReference, DoublePrecision) {
  expect_matches_reference(GetParam(), "double", 1e-9);
}

TEST_P(NativeMatchesReference, SinglePrecision) {
  expect_matches_reference(GetParam(), "single", 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Systems, NativeMatchesReference, ::testing::ValuesIn(kSupported),
                         [](const auto& info) { return info.param; });

// Central differences of the native energy, on a perturbed configuration (so
// no force is accidentally ~0), for the systems that cover every term.
TEST(OpenMMNative, ForcesAreMinusEnergyGradient) {
  for (const std::string name :
       {"alanine_obc2", "alanine_gbsaobc", "alanine_rb_cmap", "alanine_switched", "alanine_cutoff",
        "engulfed_obc2", "engulfed_gbsaobc"}) {
    const Batch batch = read_batch(name);
    const int64_t stride = batch.atoms * 3;
    const std::vector<double> base(batch.positions.begin() + stride,
                                   batch.positions.begin() + 2 * stride);
    expect_forces_are_minus_energy_slopes(*native_oracle(name), base, 1e-6, 1e-6);
  }
}

TEST(OpenMMNative, ThreadCountDoesNotChangeResults) {
  const Batch batch = read_batch("alanine_obc2");
  const Results one = evaluate(*native_oracle("alanine_obc2", "double", 1), batch);
  const Results three = evaluate(*native_oracle("alanine_obc2", "double", 3), batch);
  EXPECT_EQ(one.energies, three.energies);
  EXPECT_EQ(one.forces, three.forces);
}

// The terms add up to the energy, and a System with one force puts all its
// energy into that force's term.
TEST(OpenMMNative, EnergyTerms) {
  const std::vector<std::string> names = openmm_energy_term_names();
  const std::vector<std::string> expected_names = {"bond", "angle",     "torsion",
                                                   "cmap", "nonbonded", "gb"};
  ASSERT_EQ(names, expected_names);
  const std::vector<std::pair<std::string, std::string>> alone = {
      {"alanine_only_bonds", "bond"},
      {"alanine_only_angles", "angle"},
      {"alanine_only_torsions", "torsion"},
      {"alanine_only_nonbonded", "nonbonded"},
      {"alanine_only_gb", "gb"},
      {"alanine_obc2", ""}};
  for (const auto& [name, term] : alone) {
    const Batch batch = read_batch(name);
    const auto oracle = native_oracle(name);
    const Results total = evaluate(*oracle, batch);
    std::vector<double> terms(size_t(batch.samples) * names.size());
    openmm_energy_terms(*oracle, batch.positions.data(), batch.samples, terms.data());
    for (int64_t b = 0; b < batch.samples; ++b) {
      double sum = 0;
      for (size_t t = 0; t < names.size(); ++t) {
        const double value = terms[size_t(b) * names.size() + t];
        sum += value;
        if (!term.empty() && names[t] != term) {
          EXPECT_EQ(value, 0.0) << name << " " << names[t];
        }
      }
      EXPECT_NEAR(sum, total.energies[size_t(b)], 1e-12 * std::abs(total.energies[size_t(b)]))
          << name;
    }
  }
  expect_error(
      [] {
        std::vector<double> terms(6), positions(3 * 22);
        openmm_energy_terms(*reference_oracle("alanine_obc2"), positions.data(), 1, terms.data());
      },
      {"not an OpenMM oracle on the native engine"});
}

// "auto" takes the native engine when it can, else the Context engine with a
// message naming what the native engine lacks; "native" refuses instead.
TEST(OpenMMNative, AutoFallsBackNamingTheForce) {
  testing::internal::CaptureStderr();
  const auto supported = make_openmm_oracle(system_xml("alanine_obc2"), "CPU", {}, 2, "auto");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_NE(supported->describe().find("native engine"), std::string::npos)
      << supported->describe();

  for (const auto& [name, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"alanine_custom_bond", "CustomBondForce"}, {"alanine_periodic", "periodic box"}}) {
    testing::internal::CaptureStderr();
    const auto fallback = make_openmm_oracle(system_xml(name), "Reference", {}, 2, "auto");
    const std::string message = testing::internal::GetCapturedStderr();
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_NE(message.find("Context engine"), std::string::npos) << message;
    EXPECT_NE(fallback->describe().find("on Reference"), std::string::npos) << fallback->describe();
    // The fallback evaluates what OpenMM does.
    const Batch batch = read_batch(name);
    const Results expected = evaluate(*reference_oracle(name), batch);
    EXPECT_EQ(evaluate(*fallback, batch).energies, expected.energies);

    expect_error([&] { native_oracle(name); }, {"native engine", fragment, name + ".xml"});
  }
}

TEST(OpenMMNative, BadArguments) {
  expect_error([] { make_openmm_oracle(system_xml("alanine_obc2"), "CPU", {}, 1, "fast"); },
               {"engine", "fast", "native", "context", "auto"});
  expect_error([] { native_oracle("alanine_obc2", "half"); }, {"Precision", "half"});
  expect_error(
      [] {
        make_openmm_oracle(system_xml("alanine_obc2"), "CPU", {{"Threads", "2"}}, 1, "native");
      },
      {"Threads"});
  expect_error([] { native_oracle("alanine_obc2", "double", 0); }, {"workers"});
  const std::string missing = (kDataDir / "no_such_system.xml").string();
  EXPECT_EQ(error_message([&] { make_openmm_oracle(missing, "CPU", {}, 1, "native"); }),
            error_message([&] { make_openmm_oracle(missing, "CPU", {}, 1, "context"); }));
}

// A NaN coordinate and overlapping atoms give the Context engine's messages
// (its description aside), and the oracle stays usable.
TEST(OpenMMNative, BadConfigurationsGiveTheContextEnginesErrors) {
  const Batch batch = read_batch("alanine_obc2");
  const int64_t stride = batch.atoms * 3;
  const auto native = native_oracle("alanine_obc2");
  const auto context = reference_oracle("alanine_obc2");
  std::vector<double> energies(size_t(batch.samples)), forces(batch.positions.size());
  const auto message = [&](EnergyOracle& oracle, const std::vector<double>& positions) {
    std::string text = error_message(
        [&] { oracle.evaluate(positions.data(), batch.samples, energies.data(), forces.data()); });
    const size_t at = text.find(oracle.describe());
    if (at != std::string::npos) text.replace(at, oracle.describe().size(), "ORACLE");
    return text;
  };
  std::vector<double> with_nan = batch.positions;
  with_nan[size_t(stride + 3 * 5 + 1)] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(message(*native, with_nan), message(*context, with_nan));
  EXPECT_NE(message(*native, with_nan).find("batch entry 1, atom 5"), std::string::npos);

  std::vector<double> overlapping = batch.positions;
  std::copy_n(&overlapping[size_t(2 * stride + 3 * 3)], 3,
              &overlapping[size_t(2 * stride + 3 * 4)]);
  const std::string native_message = message(*native, overlapping);
  EXPECT_NE(native_message.find("batch entry 2: "), std::string::npos) << native_message;
  EXPECT_NE(native_message.find("not finite"), std::string::npos) << native_message;
  EXPECT_NE(message(*context, overlapping).find("batch entry 2: "), std::string::npos);

  const Results after = evaluate(*native, batch);
  EXPECT_NEAR(after.energies[0], evaluate(*context, batch).energies[0],
              1e-9 * std::abs(after.energies[0]));
}

}  // namespace
}  // namespace energyloss
