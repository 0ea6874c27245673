// LAMMPS oracle: the fast path (positions written in place, one `run K pre no
// post no` per batch, in worker processes) against LAMMPS's own `run 0` through its
// library interface in this process, forces against finite differences, and
// errors that come back as exceptions while the test process carries on.
//
// Decks: Debian's lammps-examples `melt` and `peptide`, adapted at test time
// (fix/run/dump lines dropped, `atom_modify map array` added so that the
// reference can use lammps_scatter_atoms, the data file copied next to it).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "energyloss/error.h"
#include "energyloss/oracles/lammps_oracle.h"

namespace {

using energyloss::test_support::central_slopes;
using energyloss::test_support::displaced_copies;
using energyloss::test_support::expect_error;

using energyloss::EnergyOracle;
using energyloss::make_lammps_oracle;

const std::string kExamples = "/usr/share/lammps/examples";

bool exists(const std::string& path) {
  return ::access(path.c_str(), R_OK) == 0;
}

// Debian may ship an example compressed.
std::string read_text(const std::string& path) {
  std::string command;
  if (exists(path)) {
    command = "cat '" + path + "'";
  } else if (exists(path + ".gz")) {
    command = "gzip -dc '" + path + ".gz'";
  } else {
    return {};
  }
  std::string text;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, got);
  ::pclose(pipe);
  return text;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/energyloss_lammps_XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

std::string first_word(const std::string& line) {
  std::istringstream words(line);
  std::string word;
  words >> word;
  return word;
}

// An example deck made fit for an oracle: no fixes, runs or dumps; an atom
// map; data files copied next to it.
std::string adapt_example(const TempDir& dir, const std::string& example, const std::string& deck) {
  const std::string text = read_text(kExamples + "/" + example + "/" + deck);
  if (text.empty()) return {};
  std::istringstream lines(text);
  std::ostringstream adapted;
  std::string line;
  while (std::getline(lines, line)) {
    const std::string command = first_word(line);
    if (command == "fix" || command == "run" || command == "dump" || command == "dump_modify") {
      continue;
    }
    if (command == "read_data") {
      const std::string data = first_word(line.substr(line.find("read_data") + 9));
      dir.write(data, read_text(kExamples + "/" + example + "/" + data));
    }
    adapted << line << "\n";
    if (command == "atom_style") adapted << "atom_modify map array\n";
  }
  return dir.write("in." + example, adapted.str());
}

// LAMMPS's C library, loaded here for the `run 0` reference (no link-time
// dependency of the test on LAMMPS).
struct LammpsLibrary {
  void* library = ::dlopen("liblammps.so.0", RTLD_NOW | RTLD_GLOBAL);
  template <typename Function>
  Function* get(const char* name) {
    return reinterpret_cast<Function*>(::dlsym(library, name));
  }
};

struct Reference {
  std::vector<double> initial_positions;
  std::vector<double> box_lengths;
  std::vector<double> energies;
  std::vector<double> forces;
};

// Per configuration: lammps_scatter_atoms, `run 0`, the pe compute,
// lammps_gather_atoms of the forces.
Reference run0_reference(const std::string& deck, const std::vector<std::vector<double>>& configs) {
  LammpsLibrary lib;
  EXPECT_NE(lib.library, nullptr) << dlerror();
  auto open = lib.get<void*(int, char**, void**)>("lammps_open_no_mpi");
  auto file = lib.get<void(void*, const char*)>("lammps_file");
  auto command = lib.get<char*(void*, const char*)>("lammps_command");
  auto natoms = lib.get<double(void*)>("lammps_get_natoms");
  auto gather = lib.get<void(void*, char*, int, int, void*)>("lammps_gather_atoms");
  auto scatter = lib.get<void(void*, char*, int, int, void*)>("lammps_scatter_atoms");
  auto compute = lib.get<void*(void*, const char*, int, int)>("lammps_extract_compute");
  auto box = lib.get<void(void*, double*, double*, double*, double*, double*, int*, int*)>(
      "lammps_extract_box");
  auto close = lib.get<void(void*)>("lammps_close");

  const char* args[] = {"reference", "-log", "none", "-screen", "none", "-nocite"};
  void* lmp = open(6, const_cast<char**>(args), nullptr);
  // The deck reads its data files relative to its own folder.
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(std::filesystem::path(deck).parent_path());
  file(lmp, deck.c_str());
  std::filesystem::current_path(cwd);
  command(lmp, "thermo_style custom step pe");
  command(lmp, "thermo_modify norm no");
  command(lmp, "run 0");
  Reference reference;
  const auto atoms = size_t(natoms(lmp));
  reference.initial_positions.resize(3 * atoms);
  gather(lmp, const_cast<char*>("x"), 1, 3, reference.initial_positions.data());
  double lo[3], hi[3], xy, yz, xz;
  int periodic[3], changed;
  box(lmp, lo, hi, &xy, &yz, &xz, periodic, &changed);
  for (int d = 0; d < 3; ++d) reference.box_lengths.push_back(hi[d] - lo[d]);
  std::vector<double> forces(3 * atoms);
  for (auto config : configs) {
    scatter(lmp, const_cast<char*>("x"), 1, 3, config.data());
    command(lmp, "run 0");
    reference.energies.push_back(*static_cast<double*>(compute(lmp, "thermo_pe", 0, 0)));
    gather(lmp, const_cast<char*>("f"), 1, 3, forces.data());
    reference.forces.insert(reference.forces.end(), forces.begin(), forces.end());
  }
  close(lmp);
  return reference;
}

// Random displacements of the deck's own structure: small ones, ones beyond
// half the neighbour skin (forcing a rebuild), and a copy with every third
// atom moved by a box vector (the oracle must pick the right image).
std::vector<std::vector<double>> perturbed(const Reference& start, double small, double large) {
  std::mt19937 rng(7);
  std::vector<std::vector<double>> configs;
  for (double amplitude : {small, small, large, small}) {
    std::uniform_real_distribution<double> shift(-amplitude, amplitude);
    auto config = start.initial_positions;
    for (auto& x : config) x += shift(rng);
    configs.push_back(config);
  }
  auto imaged = configs[0];
  for (size_t i = 0; i < imaged.size(); i += 9) imaged[i] += start.box_lengths[0];
  configs.push_back(imaged);
  return configs;
}

void expect_matches_run0(const std::string& deck, double small, double large, int workers) {
  // Initial positions from a first reference pass, then the real comparison.
  const Reference start = run0_reference(deck, {});
  const auto configs = perturbed(start, small, large);
  const Reference reference = run0_reference(deck, configs);

  auto oracle = make_lammps_oracle(deck, {}, workers);
  const size_t stride = start.initial_positions.size();
  ASSERT_EQ(size_t(oracle->atoms()) * 3, stride);
  std::vector<double> positions;
  for (const auto& config : configs)
    positions.insert(positions.end(), config.begin(), config.end());
  std::vector<double> energies(configs.size()), forces(positions.size());
  // Twice: the second pass starts from the last configuration's neighbour list.
  for (int pass = 0; pass < 2; ++pass) {
    oracle->evaluate(positions.data(), int64_t(configs.size()), energies.data(), forces.data());
    for (size_t b = 0; b < configs.size(); ++b) {
      EXPECT_NEAR(energies[b], reference.energies[b],
                  1e-10 * std::max(1.0, std::abs(reference.energies[b])))
          << "configuration " << b;
      double largest = 0, worst = 0;
      for (size_t n = 0; n < stride; ++n) {
        largest = std::max(largest, std::abs(reference.forces[b * stride + n]));
        worst =
            std::max(worst, std::abs(forces[b * stride + n] - reference.forces[b * stride + n]));
      }
      EXPECT_LE(worst, 1e-10 * largest) << "configuration " << b;
    }
  }
}

TEST(LammpsOracle, MeltDeckEqualsRun0) {
  TempDir dir;
  const std::string deck = adapt_example(dir, "melt", "in.melt");
  if (deck.empty()) GTEST_SKIP() << "lammps-examples (melt) not installed";
  expect_matches_run0(deck, 0.02, 0.3, 2);
  auto oracle = make_lammps_oracle(deck);
  EXPECT_EQ(oracle->units().length, "lj");
  EXPECT_EQ(oracle->units().energy, "lj");
  // One atom type: every atom's type name is "1".
  EXPECT_EQ(oracle->elements(), std::vector<std::string>(size_t(oracle->atoms()), "1"));
}

TEST(LammpsOracle, PeptideDeckEqualsRun0) {
  TempDir dir;
  const std::string deck = adapt_example(dir, "peptide", "in.peptide");
  if (deck.empty()) GTEST_SKIP() << "lammps-examples (peptide) not installed";
  expect_matches_run0(deck, 0.01, 1.2, 2);
  auto oracle = make_lammps_oracle(deck);
  EXPECT_EQ(oracle->units().length, "angstrom");
  EXPECT_EQ(oracle->units().energy, "kcal/mol");
}

// A small periodic LJ crystal whose size is a -var variable.
const char* kSmallLj = R"(units lj
atom_style atomic
boundary p p ${zboundary}
lattice fcc 0.8442
region box block 0 ${cells} 0 ${cells} 0 ${cells}
create_box 1 box
create_atoms 1 box
mass 1 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
neighbor 0.3 bin
)";

// The deck's fcc sites (reduced density 0.8442, 4 atoms per cell), each
// coordinate jittered, all lifted by `lift` in z (inside a fixed z boundary).
std::vector<double> lattice_positions(EnergyOracle& oracle, double jitter, double lift = 0) {
  const double a = std::cbrt(4 / 0.8442);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  const int cells = int(std::lround(std::cbrt(oracle.atoms() / 4.0)));
  std::vector<double> x;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> shift(-jitter, jitter);
  for (int i = 0; i < cells; ++i)
    for (int j = 0; j < cells; ++j)
      for (int k = 0; k < cells; ++k)
        for (const auto& site : basis) {
          x.push_back((i + site[0]) * a + shift(rng));
          x.push_back((j + site[1]) * a + shift(rng));
          x.push_back((k + site[2]) * a + shift(rng) + lift);
        }
  return x;
}

TEST(LammpsOracle, ForcesAreMinusEnergyGradient) {
  TempDir dir;
  auto oracle =
      make_lammps_oracle(dir.write("in.lj", kSmallLj), {{"cells", "2"}, {"zboundary", "p"}}, 2);
  ASSERT_EQ(oracle->atoms(), 32);
  const auto x = lattice_positions(*oracle, 0.08);
  std::vector<double> energy(1), forces(x.size());
  oracle->evaluate(x.data(), 1, energy.data(), forces.data());

  // Central differences for a few coordinates, all in one batch.
  const double h = 1e-5;
  const std::vector<size_t> coordinates = {0, 4, 11, 50, 95};
  const std::vector<double> batch = displaced_copies(x, coordinates, h);
  std::vector<double> energies(2 * coordinates.size());
  oracle->evaluate(batch.data(), int64_t(energies.size()), energies.data(), nullptr);
  const std::vector<double> slopes = central_slopes(energies, h);
  for (size_t c = 0; c < coordinates.size(); ++c) {
    const double numeric = -slopes[c];
    EXPECT_NEAR(forces[coordinates[c]], numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
        << "coordinate " << coordinates[c];
  }
}

TEST(LammpsOracle, BrokenDeckCarriesLammpsMessage) {
  TempDir dir;
  const auto deck = dir.write("in.broken", "units lj\nfoo bar\n");
  expect_error([&] { make_lammps_oracle(deck); }, "ERROR: Unknown command: foo bar");
}

TEST(LammpsOracle, MissingFiles) {
  expect_error([] { make_lammps_oracle("/nonexistent/in.deck"); }, "/nonexistent/in.deck");
  TempDir dir;
  const auto deck = dir.write("in.nodata", "units real\natom_style full\nread_data absent.data\n");
  expect_error([&] { make_lammps_oracle(deck); }, "absent.data");
}

TEST(LammpsOracle, DeckRequirements) {
  TempDir dir;
  const std::string lj = std::string(kSmallLj);
  const std::map<std::string, std::string> variables{{"cells", "2"}, {"zboundary", "p"}};
  expect_error([&] { make_lammps_oracle(dir.write("in.fix", lj + "fix 1 all nve\n"), variables); },
               "fix(es) 1");
  expect_error(
      [&] {
        make_lammps_oracle(dir.write("in.gap", lj + "group first id 1\n"
                                                    "delete_atoms group first compress no\n"),
                           variables);
      },
      "atom IDs must be exactly 1..31");
  std::string no_atoms = lj;
  no_atoms.erase(no_atoms.find("create_atoms"), std::string("create_atoms 1 box\n").size());
  expect_error([&] { make_lammps_oracle(dir.write("in.empty", no_atoms), variables); },
               "the deck defines no atoms");
  expect_error([&] { make_lammps_oracle(dir.write("in.ok", lj), variables, 0); }, "workers");
}

TEST(LammpsOracle, BadPositionsAndExplodingConfigurations) {
  TempDir dir;
  auto oracle =
      make_lammps_oracle(dir.write("in.lj", kSmallLj), {{"cells", "2"}, {"zboundary", "f"}}, 2);
  const auto x = lattice_positions(*oracle, 0.05, 0.06);
  std::vector<double> good_energy(1), energies(2);
  oracle->evaluate(x.data(), 1, good_energy.data(), nullptr);

  auto batch = x;
  batch.insert(batch.end(), x.begin(), x.end());
  batch[x.size() + 3 * 5 + 1] = std::nan("");
  expect_error([&] { oracle->evaluate(batch.data(), 2, energies.data(), nullptr); },
               "positions[1, 5, 1] is not finite");

  // Two atoms on top of each other, away from the periodic boundaries (so
  // no image rounding keeps them apart): LJ energy is infinite; the worker
  // lives on. Atom 28 sits at the lattice site (a, a, a).
  batch = x;
  batch.insert(batch.end(), x.begin(), x.end());
  for (int d = 0; d < 3; ++d) batch[x.size() + 3 * 29 + d] = batch[x.size() + 3 * 28 + d];
  expect_error([&] { oracle->evaluate(batch.data(), 2, energies.data(), nullptr); },
               "batch entry 1: LAMMPS returned a non-finite potential energy");

  // An atom far outside the non-periodic z boundary: LAMMPS stops with
  // "Lost atoms" and its worker exits; the next call starts a new one.
  batch = x;
  batch.insert(batch.end(), x.begin(), x.end());
  batch[x.size() + 2] += 100;
  expect_error([&] { oracle->evaluate(batch.data(), 2, energies.data(), nullptr); },
               "batch entry 1: ERROR: Lost atoms: original 32 current 31 (atom ID 1)");

  // [good, bad, good]: the bad entry is named, not the one evaluated after
  // it (entries 1 and 2 go to the same worker, in that order).
  batch = x;
  for (int copy = 0; copy < 2; ++copy) batch.insert(batch.end(), x.begin(), x.end());
  batch[x.size() + 2] += 100;
  energies.resize(3);
  expect_error([&] { oracle->evaluate(batch.data(), 3, energies.data(), nullptr); },
               "batch entry 1: ERROR: Lost atoms");

  batch = x;
  batch.insert(batch.end(), x.begin(), x.end());
  oracle->evaluate(batch.data(), 2, energies.data(), nullptr);
  EXPECT_DOUBLE_EQ(energies[0], good_energy[0]);
  EXPECT_DOUBLE_EQ(energies[1], good_energy[0]);
}

TEST(LammpsOracle, KilledWorkerIsReportedThenRestarted) {
  TempDir dir;
  auto oracle =
      make_lammps_oracle(dir.write("in.lj", kSmallLj), {{"cells", "2"}, {"zboundary", "p"}}, 1);
  const auto x = lattice_positions(*oracle, 0.05);
  double energy = 0, again = 0;
  oracle->evaluate(x.data(), 1, &energy, nullptr);
  // The worker: this process's child named energyloss_lammps_worker (MPI
  // may have started helpers of its own).
  std::ifstream children("/proc/self/task/" + std::to_string(::getpid()) + "/children");
  pid_t worker = 0;
  for (pid_t child = 0; worker == 0 && children >> child;) {
    std::string name;
    std::ifstream("/proc/" + std::to_string(child) + "/comm") >> name;
    if (std::string("energyloss_lammps_worker").rfind(name, 0) == 0) worker = child;
  }
  ASSERT_NE(worker, 0);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ::usleep(100000);
  // The input was fine: a RuntimeError, not an Error.
  expect_error<energyloss::RuntimeError>([&] { oracle->evaluate(x.data(), 1, &again, nullptr); },
                                         "killed by signal 9");
  oracle->evaluate(x.data(), 1, &again, nullptr);
  EXPECT_DOUBLE_EQ(again, energy);
}

}  // namespace
