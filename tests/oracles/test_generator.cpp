// The generator protocol from C++: a valid generator written by
// examples/generators/make_generator.py, and broken ones (each written by
// test_oracles_core.py --write-generators) giving their specific error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "energyloss/error.h"
#include "energyloss/generator.h"

namespace energyloss {
namespace {

using test_support::expect_error;

namespace fs = std::filesystem;

const std::vector<double> kWater = {0.0, 0.0, 0.0, 0.96, 0.0, 0.0, -0.24, 0.93, 0.0};

class GeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (const char* shared = std::getenv("ENERGYLOSS_GENERATOR_DIR"); shared != nullptr) {
      directory_ = shared;  // written by the ctest fixture
      return;
    }
    owned_ = true;
    directory_ = fs::temp_directory_path() / ("energyloss_generators_" + std::to_string(getpid()));
    const std::string command = std::string("PYTHONPATH=") + ENERGYLOSS_BUILD_DIR + "/python " +
                                ENERGYLOSS_PYTHON + " " + ENERGYLOSS_SOURCE_DIR +
                                "/tests/oracles/test_oracles_core.py --write-generators " +
                                directory_.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    if (owned_) fs::remove_all(directory_);
  }

  static std::string path(const std::string& name) { return (directory_ / name).string(); }

  static fs::path directory_;
  static bool owned_;
};
fs::path GeneratorTest::directory_;
bool GeneratorTest::owned_ = false;

TEST_F(GeneratorTest, ValidGeneratorLoadsAndSamplesDeterministically) {
  const Generator generator(path("water.pt"));
  EXPECT_EQ(generator.atoms(), 3);
  EXPECT_EQ(generator.length_unit(), "angstrom");
  EXPECT_EQ(generator.elements(), (std::vector<std::string>{"O", "H", "H"}));
  const std::vector<double> a = generator.sample(5, 11), b = generator.sample(5, 11),
                            c = generator.sample(5, 12);
  ASSERT_EQ(a.size(), 5u * 3 * 3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Noise of 0.05 angstrom around the reference.
  for (size_t n = 0; n < a.size(); ++n) EXPECT_NEAR(a[n], kWater[n % 9], 0.05 * 6);
}

TEST_F(GeneratorTest, NoiselessGeneratorReturnsTheReference) {
  const Generator generator(path("water_exact.pt"));
  const std::vector<double> samples = generator.sample(2, 3);
  for (size_t n = 0; n < samples.size(); ++n) EXPECT_DOUBLE_EQ(samples[n], kWater[n % 9]);
}

TEST_F(GeneratorTest, ConvertsLengthUnits) {
  const Generator generator(path("water_exact.pt"));
  const std::vector<double> nm = generator.sample(1, 0, "nm");
  const std::vector<double> metal = generator.sample(1, 0, "metal");
  const std::vector<double> si = generator.sample(1, 0, "si");
  const std::vector<double> cgs = generator.sample(1, 0, "cgs");
  for (size_t n = 0; n < kWater.size(); ++n) {
    EXPECT_NEAR(nm[n], kWater[n] / 10, 1e-15);
    EXPECT_DOUBLE_EQ(metal[n], kWater[n]);
    EXPECT_NEAR(si[n], kWater[n] * 1e-10, 1e-24);
    EXPECT_NEAR(cgs[n], kWater[n] * 1e-8, 1e-22);
  }
  EXPECT_THROW(generator.sample(1, 0, "lj"), Error);
  EXPECT_THROW(generator.sample(1, 0, "furlong"), Error);
  expect_error([&] { generator.sample(0, 0); }, "Generator.sample: n must be at least 1, got 0");
  EXPECT_DOUBLE_EQ(length_unit_factor("nm", "angstrom"), 10.0);
  EXPECT_DOUBLE_EQ(length_unit_factor("lj", "lj"), 1.0);
}

TEST_F(GeneratorTest, BrokenGeneratorsGiveSpecificErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"absent.pt", "file not found"},
      {"not_torchscript.pt", "not a TorchScript module"},
      {"no_n_atoms.pt", "missing attribute n_atoms"},
      {"no_unit.pt", "missing attribute length_unit"},
      {"bad_unit.pt", "\"furlong\""},
      {"no_sample.pt", "missing method sample"},
      {"wrong_shape.pt", "returned shape [2, 4, 3], expected [2, 3, 3]"},
      {"not_finite.pt", "non-finite value at [1, 2, 1]"},
      {"bad_elements.pt", "elements has 2 entries but n_atoms is 3"},
  };
  for (const auto& [name, expected] : cases) {
    const std::string file = path(name);
    SCOPED_TRACE(name);
    expect_error([&file] { Generator generator(file); }, {expected, name});  // names the file
  }
}

TEST_F(GeneratorTest, PathsThatAreNotGeneratorFilesSayWhatTheyAre) {
  // Before, a directory was "file not found".
  const std::string folder = directory_.string();
  expect_error([&] { Generator generator(folder); }, {"'" + folder + "': is a directory"});
  expect_error([] { Generator generator("/dev/null"); },
               "generator '/dev/null': not a regular file");
  expect_error([&] { Generator generator(path("absent.pt")); }, "absent.pt': file not found");
}

}  // namespace
}  // namespace energyloss
