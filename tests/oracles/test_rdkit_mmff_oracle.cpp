// The RDKit MMFF oracle: forces against central differences of its own
// energy (ethanol, and 2-methylphenol for the aromatic terms), files against
// mol blocks, and bad input. tests/oracles/test_rdkit_mmff_oracle.py checks
// the numbers against RDKit's Python API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../support/expect_error.h"
#include "../support/oracle_checks.h"
#include "energyloss/error.h"
#include "energyloss/oracles/rdkit_mmff_oracle.h"

namespace energyloss {
namespace {

using test_support::expect_error;
using test_support::expect_forces_are_minus_energy_slopes;

namespace fs = std::filesystem;

// Written by RDKit (AddHs, EmbedMolecule, MMFFOptimizeMolecule).
const std::string kEthanol = R"(ethanol
     RDKit          3D

  9  8  0  0  0  0  0  0  0  0999 V2000
   -0.8628    0.2206    0.2045 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.4056   -0.3731   -0.3724 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.5279    0.4019    0.0236 O   0  0  0  0  0  0  0  0  0  0  0  0
   -1.7390   -0.3558   -0.1051 H   0  0  0  0  0  0  0  0  0  0  0  0
   -0.9869    1.2576   -0.1241 H   0  0  0  0  0  0  0  0  0  0  0  0
   -0.8201    0.2362    1.2985 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.5497   -1.4015   -0.0277 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.3631   -0.3783   -1.4654 H   0  0  0  0  0  0  0  0  0  0  0  0
    1.5625    0.3924    0.9953 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
  1  4  1  0
  1  5  1  0
  1  6  1  0
  2  7  1  0
  2  8  1  0
  3  9  1  0
M  END
)";

const std::string kMethylphenol = R"(2-methylphenol
     RDKit          3D

 16 16  0  0  0  0  0  0  0  0999 V2000
   -1.9360   -0.8934   -0.0848 C   0  0  0  0  0  0  0  0  0  0  0  0
   -0.5379   -0.3506   -0.0365 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.5479   -1.2316   -0.1635 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.8622   -0.7596   -0.1229 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.1098    0.6003    0.0453 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.0429    1.4870    0.1727 C   0  0  0  0  0  0  0  0  0  0  0  0
   -0.2674    1.0131    0.1318 C   0  0  0  0  0  0  0  0  0  0  0  0
   -1.2494    1.9537    0.2649 O   0  0  0  0  0  0  0  0  0  0  0  0
   -2.4853   -0.4511   -0.9220 H   0  0  0  0  0  0  0  0  0  0  0  0
   -1.9437   -1.9800   -0.2219 H   0  0  0  0  0  0  0  0  0  0  0  0
   -2.4596   -0.6751    0.8515 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.3787   -2.2982   -0.2958 H   0  0  0  0  0  0  0  0  0  0  0  0
    2.6921   -1.4544   -0.2227 H   0  0  0  0  0  0  0  0  0  0  0  0
    3.1307    0.9707    0.0773 H   0  0  0  0  0  0  0  0  0  0  0  0
    1.2299    2.5491    0.3041 H   0  0  0  0  0  0  0  0  0  0  0  0
   -2.1150    1.5202    0.2227 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  2  0
  3  4  1  0
  4  5  2  0
  5  6  1  0
  6  7  2  0
  7  8  1  0
  7  2  1  0
  1  9  1  0
  1 10  1  0
  1 11  1  0
  3 12  1  0
  4 13  1  0
  5 14  1  0
  6 15  1  0
  8 16  1  0
M  END
)";

// A mol block of single-bonded `symbols` (bonds as 1-based atom pairs), all at
// distinct made-up coordinates: for the cases that fail before any energy.
std::string mol_block(const std::string& title, const std::vector<std::string>& symbols,
                      const std::vector<std::pair<int, int>>& bonds) {
  char line[128];
  std::string block = title + "\n     hand-written\n\n";
  std::snprintf(line, sizeof line, "%3zu%3zu  0  0  0  0  0  0  0  0999 V2000\n", symbols.size(),
                bonds.size());
  block += line;
  for (size_t i = 0; i < symbols.size(); ++i) {
    std::snprintf(line, sizeof line, "%10.4f%10.4f%10.4f %-3s 0  0  0  0  0  0  0  0  0  0  0  0\n",
                  1.1 * double(i), 0.3 * double(i % 2), 0.0, symbols[i].c_str());
    block += line;
  }
  for (const auto& [from, to] : bonds) {
    std::snprintf(line, sizeof line, "%3d%3d  1  0\n", from, to);
    block += line;
  }
  return block + "M  END\n";
}

// The coordinates of a V2000 mol block, [atoms, 3].
std::vector<double> coordinates(const std::string& block) {
  std::istringstream lines(block);
  std::string line;
  for (int skip = 0; skip < 3; ++skip) std::getline(lines, line);
  std::getline(lines, line);
  const int atoms = std::stoi(line.substr(0, 3));
  std::vector<double> result;
  for (int i = 0; i < atoms; ++i) {
    std::getline(lines, line);
    for (int c = 0; c < 3; ++c) result.push_back(std::stod(line.substr(size_t(10 * c), 10)));
  }
  return result;
}

// The optimised geometry moved off its minimum so that no force is ~0.
std::vector<double> perturbed(const std::string& block) {
  std::vector<double> x = coordinates(block);
  for (size_t n = 0; n < x.size(); ++n) x[n] += 0.08 * std::sin(1.7 * double(n) + 0.3);
  return x;
}

struct Molecule {
  std::string name, block;
};
void PrintTo(const Molecule& molecule, std::ostream* out) {
  *out << molecule.name;
}

class MMFFForces : public ::testing::TestWithParam<std::tuple<Molecule, std::string>> {};

TEST_P(MMFFForces, AreMinusCentralDifferencesOfTheEnergy) {
  const auto& [molecule, variant] = GetParam();
  const auto oracle = make_rdkit_mmff_oracle(molecule.block, variant, 2);
  const std::vector<double> base = perturbed(molecule.block);
  const int64_t stride = int64_t(base.size());
  ASSERT_EQ(oracle->atoms() * 3, stride);

  const double scale = expect_forces_are_minus_energy_slopes(*oracle, base, 1e-5, 1e-6);
  EXPECT_GT(scale, 1.0);  // kcal/mol/angstrom: really off the minimum
}

INSTANTIATE_TEST_SUITE_P(
    Molecules, MMFFForces,
    ::testing::Combine(::testing::Values(Molecule{"ethanol", kEthanol},
                                         Molecule{"methylphenol", kMethylphenol}),
                       ::testing::Values("MMFF94", "MMFF94s")),
    [](const auto& info) { return std::get<0>(info.param).name + "_" + std::get<1>(info.param); });

TEST(RDKitMMFFOracle, DescribesItself) {
  const auto oracle = make_rdkit_mmff_oracle(kEthanol, "MMFF94s", 2);
  EXPECT_EQ(oracle->atoms(), 9);
  EXPECT_EQ(oracle->units().length, "angstrom");
  EXPECT_EQ(oracle->units().energy, "kcal/mol");
  EXPECT_EQ(oracle->elements(),
            (std::vector<std::string>{"C", "C", "O", "H", "H", "H", "H", "H", "H"}));
  EXPECT_NE(oracle->describe().find("MMFF94s"), std::string::npos) << oracle->describe();
  EXPECT_NE(oracle->describe().find("ethanol"), std::string::npos) << oracle->describe();
}

// Each entry is evaluated whole by one worker, so the split cannot change a bit.
TEST(RDKitMMFFOracle, WorkerCountDoesNotChangeResults) {
  std::vector<double> batch;
  for (int copy = 0; copy < 5; ++copy) {
    std::vector<double> x = perturbed(kMethylphenol);
    for (double& v : x) v *= 1.0 + 0.01 * copy;
    batch.insert(batch.end(), x.begin(), x.end());
  }
  std::vector<double> one(5), three(5), forces_one(batch.size()), forces_three(batch.size());
  make_rdkit_mmff_oracle(kMethylphenol, "MMFF94", 1)
      ->evaluate(batch.data(), 5, one.data(), forces_one.data());
  make_rdkit_mmff_oracle(kMethylphenol, "MMFF94", 3)
      ->evaluate(batch.data(), 5, three.data(), forces_three.data());
  EXPECT_EQ(one, three);
  EXPECT_EQ(forces_one, forces_three);
}

// Files the tests write themselves go to a folder of this process's own.
class ScratchDir {
 public:
  ScratchDir()
      : path_(fs::temp_directory_path() / ("energyloss_rdkit_" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

TEST(RDKitMMFFOracle, ReadsTheFirstRecordOfAnSdfFile) {
  const ScratchDir scratch;
  const std::string sdf = scratch.write("two.sdf", kEthanol + "$$$$\n" + kMethylphenol + "$$$$\n");
  const std::string mol = scratch.write("ethanol.mol", kEthanol);
  const std::vector<double> x = perturbed(kEthanol);
  std::vector<double> expected(1), from_sdf(1), from_mol(1);
  make_rdkit_mmff_oracle(kEthanol)->evaluate(x.data(), 1, expected.data(), nullptr);
  make_rdkit_mmff_oracle(sdf)->evaluate(x.data(), 1, from_sdf.data(), nullptr);
  make_rdkit_mmff_oracle(mol)->evaluate(x.data(), 1, from_mol.data(), nullptr);
  EXPECT_EQ(from_sdf, expected);
  EXPECT_EQ(from_mol, expected);
}

TEST(RDKitMMFFOracleErrors, MissingFileAndUnreadableMolBlock) {
  const ScratchDir scratch;
  const std::string missing = scratch.path("no_such.mol");
  expect_error([&] { make_rdkit_mmff_oracle(missing); }, {missing, "cannot be opened"});
  const std::string garbage = scratch.write("garbage.mol", "garbage\n\nnot a counts line\n");
  expect_error([&] { make_rdkit_mmff_oracle(garbage); },
               {"molecule file '" + garbage + "'", "not a readable MDL mol block"});
  expect_error([] { make_rdkit_mmff_oracle("garbage\n\nnot a counts line\n"); },
               {"mol block 'garbage'", "not a readable MDL mol block"});
}

TEST(RDKitMMFFOracleErrors, ChemistryRDKitOrMMFFCannotHandle) {
  // Five hydrogens on one carbon.
  expect_error(
      [] {
        make_rdkit_mmff_oracle(mol_block("pentavalent", {"C", "H", "H", "H", "H", "H"},
                                         {{1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}}));
      },
      {"cannot sanitize", "mol block 'pentavalent'", "valence"});
  // Methanol with its hydrogens left implicit.
  expect_error(
      [] {
        make_rdkit_mmff_oracle(mol_block("bare methanol", {"C", "O"}, {{1, 2}}));
      },
      {"atom 0 (C)", "3 implicit hydrogen", "mol block 'bare methanol'"});
  // MMFF has no boron.
  expect_error(
      [] {
        make_rdkit_mmff_oracle(mol_block("borane", {"B", "H", "H", "H"}, {{1, 2}, {1, 3}, {1, 4}}));
      },
      {"MMFF94 has no parameters for atom 0 (B)", "mol block 'borane'"});
}

TEST(RDKitMMFFOracleErrors, BadArguments) {
  expect_error([] { make_rdkit_mmff_oracle(kEthanol, "MMFF95"); },
               {"variant", "'MMFF95'", "MMFF94s"});
  expect_error([] { make_rdkit_mmff_oracle(kEthanol, "MMFF94", 0); }, {"workers", "got 0"});
}

TEST(RDKitMMFFOracleErrors, NonFinitePositionsNameTheEntryAndAtom) {
  const auto oracle = make_rdkit_mmff_oracle(kEthanol, "MMFF94", 2);
  std::vector<double> batch = perturbed(kEthanol);
  batch.insert(batch.end(), batch.begin(), batch.end());
  batch[27 + 3 * 4 + 2] = std::numeric_limits<double>::infinity();
  std::vector<double> energies(2), forces(batch.size());
  expect_error([&] { oracle->evaluate(batch.data(), 2, energies.data(), forces.data()); },
               {"batch entry 1, atom 4", "not finite", "ethanol"});
}

}  // namespace
}  // namespace energyloss
