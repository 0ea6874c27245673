// LAMMPS oracle throughput (evaluations/s, energies and forces) on a 500-atom
// Lennard-Jones fcc crystal (units lj, cutoff 2.5, skin 0.3), perturbed
// configurations, measured in one run:
//   reference  LAMMPS's library interface in this process, per configuration
//              lammps_scatter_atoms + `run 0` + pe + lammps_gather_atoms
//              (the way existing bridges evaluate LAMMPS);
//   scatter    same, but `run 1 pre no post no` instead of `run 0`: without
//              the minimum-image write every atom that crossed the box edge
//              looks like a large move and forces a neighbour-list rebuild;
//   ours       make_lammps_oracle with 1 and 2 worker processes (positions
//              written in place, `run 1 pre no post no`), one batch per call.
// Each figure is printed as wall-clock evaluations/s (best round) and as CPU
// time per evaluation (this process plus its workers, all rounds).
// Usage: oracle_bench_lammps [BATCH=256] [ROUNDS=5] (see kUsage)
#include <library.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "energyloss/oracles/lammps_oracle.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* kDeck = R"(units lj
atom_style atomic
atom_modify map array
lattice fcc 0.8442
region box block 0 5 0 5 0 5
create_box 1 box
create_atoms 1 box
mass 1 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
neighbor 0.3 bin
)";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// LAMMPS in this process, one configuration per `command` through the
// library interface's scatter/gather.
class InProcess {
 public:
  InProcess(const std::string& deck, const char* command) : command_(command) {
    const char* args[] = {"bench", "-log", "none", "-screen", "none", "-nocite"};
    lmp_ = lammps_open_no_mpi(6, const_cast<char**>(args), nullptr);
    lammps_file(lmp_, deck.c_str());
    lammps_command(lmp_, "thermo_style custom step pe");
    lammps_command(lmp_, "thermo_modify norm no");
    lammps_command(lmp_, "run 0");
  }
  ~InProcess() { lammps_close(lmp_); }

  void evaluate(std::vector<double>& configs, int64_t batch, double* energies, double* forces) {
    const size_t stride = configs.size() / size_t(batch);
    for (int64_t b = 0; b < batch; ++b) {
      lammps_scatter_atoms(lmp_, const_cast<char*>("x"), 1, 3, configs.data() + b * stride);
      lammps_command(lmp_, command_);
      energies[b] = *static_cast<double*>(
          lammps_extract_compute(lmp_, "thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR));
      lammps_gather_atoms(lmp_, const_cast<char*>("f"), 1, 3, forces + b * stride);
    }
  }

 private:
  void* lmp_ = nullptr;
  const char* command_;
};

// CPU seconds (user + system) used so far by this process and by its live
// child processes (the oracle's workers), so that the figures can also be
// compared on a machine busy with other work.
double cpu_seconds() {
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  double seconds = double(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                   1e-6 * double(self.ru_utime.tv_usec + self.ru_stime.tv_usec);
  const std::string pid = std::to_string(::getpid());
  std::ifstream children("/proc/self/task/" + pid + "/children");
  std::string child;
  while (children >> child) {
    std::ifstream stat_file("/proc/" + child + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command name: state is field 3, utime 14, stime 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int n = 3; n <= 15 && fields >> field; ++n) {
      if (n >= 14) ticks += std::atof(field.c_str());
    }
    seconds += ticks / double(::sysconf(_SC_CLK_TCK));
  }
  return seconds;
}

struct Timing {
  double best_rate = 0;     // evaluations/s, best round
  double cpu_seconds = 0;   // all rounds
  int64_t evaluations = 0;  // all rounds
};

template <typename Evaluate>
void measure(int64_t batch, Timing& timing, Evaluate&& evaluate) {
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  evaluate();
  timing.best_rate = std::max(timing.best_rate, double(batch) / seconds_since(start));
  timing.cpu_seconds += cpu_seconds() - cpu_start;
  timing.evaluations += batch;
}

// Prints the evaluations/s of every contender on the same configurations.
void compare(const std::string& deck, std::vector<double>& configs, int64_t batch, int rounds) {
  // Rounds alternate between the contenders; each keeps its best round, so
  // a busy machine penalises all of them alike.
  InProcess reference(deck, "run 0");
  InProcess scatter(deck, "run 1 pre no post no");
  auto one_worker = energyloss::make_lammps_oracle(deck, {}, 1);
  auto two_workers = energyloss::make_lammps_oracle(deck, {}, 2);
  const auto count = static_cast<size_t>(batch);
  std::vector<double> e_reference(count), e_scatter(count), e_one(count), e_two(count);
  std::vector<double> forces(configs.size()), forces_reference(configs.size());
  Timing timing[4];
  for (int round = 0; round < rounds; ++round) {
    measure(batch, timing[0], [&] {
      reference.evaluate(configs, batch, e_reference.data(), forces_reference.data());
    });
    measure(batch, timing[1],
            [&] { scatter.evaluate(configs, batch, e_scatter.data(), forces.data()); });
    measure(batch, timing[2],
            [&] { one_worker->evaluate(configs.data(), batch, e_one.data(), forces.data()); });
    measure(batch, timing[3],
            [&] { two_workers->evaluate(configs.data(), batch, e_two.data(), forces.data()); });
  }
  double energy_gap = 0, force_gap = 0;
  for (size_t b = 0; b < count; ++b) {
    energy_gap =
        std::max(energy_gap, std::abs(e_two[b] - e_reference[b]) / std::abs(e_reference[b]));
  }
  for (size_t n = 0; n < forces.size(); ++n) {
    force_gap = std::max(force_gap, std::abs(forces[n] - forces_reference[n]));
  }

  std::printf("LAMMPS LJ 500 atoms (lj/cut 2.5, skin 0.3), batch %lld, %d rounds\n",
              static_cast<long long>(batch), rounds);
  std::printf("%-50s %14s %8s %16s %8s\n", "", "evaluations/s", "ratio", "CPU us/evaluation",
              "ratio");
  const char* names[4] = {"reference: scatter + run 0 + gather, in process",
                          "scatter + run 1 pre no post no + gather, in proc",
                          "ours, 1 worker process", "ours, 2 worker processes"};
  const double reference_cpu = timing[0].cpu_seconds / double(timing[0].evaluations);
  for (int c = 0; c < 4; ++c) {
    const double cpu = timing[c].cpu_seconds / double(timing[c].evaluations);
    std::printf("%-50s %14.1f %7.2fx %16.1f %7.2fx\n", names[c], timing[c].best_rate,
                timing[c].best_rate / timing[0].best_rate, cpu * 1e6, reference_cpu / cpu);
  }
  std::printf(
      "(evaluations/s: best round, wall clock; CPU: all rounds, this process and its workers)\n");
  std::printf("  ours vs reference: energies within %.1e relative, forces within %.1e\n",
              energy_gap, force_gap);
}

}  // namespace

const char* kUsage = R"(usage: oracle_bench_lammps [BATCH] [ROUNDS]
  LAMMPS oracle throughput on a 500-atom Lennard-Jones crystal: the library
  interface per configuration vs make_lammps_oracle with 1 and 2 workers.
  BATCH       configurations per call (default 256)
  ROUNDS      timed rounds, the best is printed (default 5)
  --help, -h  this text
)";

// A positive integer argument, or nothing when `text` is not one.
bool parse_positive(const char* text, long long& value) {
  char* end = nullptr;
  value = std::strtoll(text, &end, 10);
  return end != text && *end == '\0' && value >= 1;
}

int main(int argc, char** argv) {
  long long values[2] = {256, 5};  // batch, rounds
  for (int a = 1; a < argc; ++a) {
    if (!std::strcmp(argv[a], "--help") || !std::strcmp(argv[a], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a > 2 || !parse_positive(argv[a], values[a - 1])) {
      std::fprintf(stderr, "oracle_bench_lammps: unexpected argument '%s'\n%s", argv[a], kUsage);
      return 2;
    }
  }
  const int64_t batch = values[0];
  const int rounds = static_cast<int>(values[1]);
  char directory[] = "/tmp/energyloss_bench_lammps_XXXXXX";
  const std::string deck = std::string(::mkdtemp(directory)) + "/in.lj500";
  std::ofstream(deck) << kDeck;

  // Configurations: fcc sites (reduced density 0.8442) plus uniform noise.
  const double a = 1.6795962;  // (4 / 0.8442)^(1/3)
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  std::vector<double> sites;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 5; ++k)
        for (const auto& site : basis) {
          sites.push_back((i + site[0]) * a);
          sites.push_back((j + site[1]) * a);
          sites.push_back((k + site[2]) * a);
        }
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  std::vector<double> configs;
  for (int64_t b = 0; b < batch; ++b) {
    for (double x : sites) configs.push_back(x + noise(rng));
  }

  compare(deck, configs, batch, rounds);
  lammps_mpi_finalize();
  std::remove(deck.c_str());
  ::rmdir(directory);
  return 0;
}
