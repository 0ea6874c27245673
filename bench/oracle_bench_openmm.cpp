// OpenMM oracle throughput: the oracle's native engine (our batched kernels,
// OpenMP threads) and its Context engine (one OpenMM Context per worker
// thread, CPU platform) vs a Python loop over OpenMM's own API
// (bench/openmm_python_loop.py, setPositions + getState per configuration,
// CPU platform), energies and forces, the same configurations, measured in
// one run.
//
// Usage: oracle_bench_openmm [--batch 256] [--workers 2,4] [--threads 2] [--repeats 5]
//                            [--rounds 3]
// The Systems (alanine dipeptide, villin) are made with examples/openmm/make_system.py.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "energyloss/oracles/openmm_oracle.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status != 0) std::fprintf(stderr, "failed (%d): %s\n", status, command.c_str());
  return status;
}

// The reference structure plus Gaussian noise, [batch, atoms, 3].
std::vector<double> perturbed_batch(const fs::path& reference_path, int64_t batch) {
  std::vector<double> reference;
  std::ifstream in(reference_path);
  for (double x; in >> x;) reference.push_back(x);
  std::mt19937_64 random(7);
  std::normal_distribution<double> noise(0.0, 0.005);  // nm
  std::vector<double> positions;
  for (int64_t b = 0; b < batch; ++b) {
    for (double x : reference) positions.push_back(x + noise(random));
  }
  return positions;
}

// Parses "key value" lines of the Python loop's output.
bool read_python_figures(const std::string& command, double& per_second, double& energy_sum) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  char line[256];
  int found = 0;
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    found += std::sscanf(line, "evaluations/s %lf", &per_second);
    found += std::sscanf(line, "energy-sum %lf", &energy_sum);
  }
  return pclose(pipe) == 0 && found == 2;
}

// One System and how hard to time it (villin's OpenMM evaluations take ~80 ms,
// so its slow callers run fewer passes).
struct SystemCase {
  const char* label;
  const char* options;  // make_system.py options (the PDB and force fields)
  int passes;           // timed passes of the slow callers (Python loop, Context engine)
  double target;        // native / Python loop asked for (0: none)
};

struct Rate {
  std::string label;
  double per_second = 0, energy_sum = 0;
};

// The best rate over `repeats` timed calls (after a warm-up) of `oracle`.
void time_oracle(energyloss::EnergyOracle& oracle, const std::vector<double>& positions,
                 int64_t batch, int repeats, Rate& rate) {
  std::vector<double> energies(static_cast<size_t>(batch)), forces(positions.size());
  oracle.evaluate(positions.data(), batch, energies.data(), forces.data());  // warm-up
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    oracle.evaluate(positions.data(), batch, energies.data(), forces.data());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    rate.per_second = std::max(rate.per_second, double(batch) / seconds);
  }
  rate.energy_sum = std::accumulate(energies.begin(), energies.end(), 0.0);
}

// The Python loop's rate, the Context engine's for each worker count and the
// native engine's (double and single precision), measured alternately over
// `rounds` so all see the same load. Returns false if a step failed.
bool compare(const SystemCase& system, const fs::path& folder, int64_t batch,
             const std::vector<int>& worker_counts, int threads, int repeats, int rounds) {
  const fs::path system_xml = folder / "system.xml", reference = folder / "reference.txt",
                 batch_file = folder / "batch.f64";
  const std::string source = ENERGYLOSS_SOURCE_DIR;
  if (run(std::string(ENERGYLOSS_PYTHON) + " " + source + "/examples/openmm/make_system.py " +
          system.options + " --system-xml " + system_xml.string() + " --positions " +
          reference.string()) != 0) {
    return false;
  }
  const std::vector<double> positions = perturbed_batch(reference, batch);
  std::ofstream(batch_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(positions.data()),
             std::streamsize(positions.size() * sizeof(double)));
  const int slow_repeats = std::max(1, std::min(repeats, system.passes));
  const std::string loop = std::string(ENERGYLOSS_PYTHON) + " " + source +
                           "/bench/openmm_python_loop.py " + system_xml.string() + " " +
                           batch_file.string() + " --repeats " + std::to_string(slow_repeats);

  std::vector<std::shared_ptr<energyloss::EnergyOracle>> oracles;
  std::vector<Rate> rates(1, Rate{"Python loop (setPositions+getState)"});
  std::vector<bool> slow;
  for (int workers : worker_counts) {
    oracles.push_back(
        energyloss::make_openmm_oracle(system_xml.string(), "CPU", {}, workers, "context"));
    rates.push_back({"Context engine, CPU, " + std::to_string(workers) + " workers"});
    slow.push_back(true);
  }
  for (const std::string precision : {"double", "single"}) {
    oracles.push_back(energyloss::make_openmm_oracle(
        system_xml.string(), "CPU", {{"Precision", precision}}, threads, "native"));
    rates.push_back({"native engine, " + precision + ", " + std::to_string(threads) + " threads"});
    slow.push_back(false);
  }
  const size_t native = rates.size() - 2;
  for (int round = 0; round < rounds; ++round) {
    double per_second = 0;
    if (!read_python_figures(loop, per_second, rates[0].energy_sum)) {
      std::fprintf(stderr, "the Python loop failed: %s\n", loop.c_str());
      return false;
    }
    rates[0].per_second = std::max(rates[0].per_second, per_second);
    for (size_t o = 0; o < oracles.size(); ++o) {
      time_oracle(*oracles[o], positions, batch, slow[o] ? slow_repeats : repeats, rates[o + 1]);
    }
    if (system.passes < repeats) break;  // one round of the slow callers is enough
  }

  const double python = rates[0].per_second;
  std::printf("OpenMM %s (%lld atoms), batch %lld, energies and forces\n", system.label,
              static_cast<long long>(oracles[0]->atoms()), static_cast<long long>(batch));
  for (const Rate& rate : rates) {
    std::printf(
        "  %-40s %10.0f evaluations/s  (%8.1f us each)  %6.1fx  energy sum vs the loop %.1e\n",
        rate.label.c_str(), rate.per_second, 1e6 / rate.per_second, rate.per_second / python,
        std::abs(rate.energy_sum - rates[0].energy_sum) / std::abs(rates[0].energy_sum));
  }
  std::printf("  ratio native (double) / Python loop     %10.1fx",
              rates[native].per_second / python);
  if (system.target > 0) std::printf("  (target >= %.0fx)", system.target);
  std::printf(
      "\n  ratio native (double) / best Context     %10.1fx\n\n",
      rates[native].per_second /
          std::max_element(rates.begin() + 1, rates.begin() + long(native),
                           [](const Rate& a, const Rate& b) { return a.per_second < b.per_second; })
              ->per_second);
  return true;
}

const char* kUsage =
    R"(usage: oracle_bench_openmm [--batch 256] [--workers 2,4] [--threads 2] [--repeats 5]
                           [--rounds 3]
  OpenMM oracle throughput (alanine dipeptide with amber14 + OBC2 and in
  vacuum, villin with amber14 + OBC2): the oracle's native engine and its
  Context engine (CPU platform) vs a Python loop over OpenMM's own API (CPU
  platform), energies and forces.
  --batch B        configurations per call (default 256)
  --workers W,...  Context-engine worker counts to measure (default 2,4)
  --threads T      native-engine threads (default: the number of cores)
  --repeats R      timed calls per round and engine (default 5; villin's
                   Python loop and Context engine: 1)
  --rounds K       rounds, each also re-running the Python loop; the best
                   rates are printed (default 3; villin: 1)
  --help, -h       this text
)";

// "2,4" -> {2, 4}
std::vector<int> parse_counts(const char* text) {
  std::vector<int> counts;
  for (const char* p = text; *p != '\0';) {
    char* end = nullptr;
    const long value = std::strtol(p, &end, 10);
    if (end == p || value < 1) {
      std::fprintf(stderr,
                   "--workers: expected a comma-separated list of positive counts, got '%s'\n",
                   text);
      std::exit(2);
    }
    counts.push_back(int(value));
    p = (*end == ',') ? end + 1 : end;
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 256;
  int repeats = 5, rounds = 3;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  // OpenMM's CPU platform hands every kernel to its thread pool and sleeps until
  // it finishes; for a 22-atom system those hand-offs dominate, so more
  // single-thread Contexts than cores keep the cores busy.
  std::vector<int> worker_counts = {2, 4};
  for (int a = 1; a < argc; a += 2) {
    if (!std::strcmp(argv[a], "--help") || !std::strcmp(argv[a], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const bool known = !std::strcmp(argv[a], "--batch") || !std::strcmp(argv[a], "--workers") ||
                       !std::strcmp(argv[a], "--threads") || !std::strcmp(argv[a], "--repeats") ||
                       !std::strcmp(argv[a], "--rounds");
    if (!known || a + 1 == argc) {
      std::fprintf(stderr, "oracle_bench_openmm: %s '%s'\n%s",
                   known ? "missing value after" : "unknown option", argv[a], kUsage);
      return 2;
    }
    if (!std::strcmp(argv[a], "--batch")) batch = std::atoll(argv[a + 1]);
    if (!std::strcmp(argv[a], "--workers")) worker_counts = parse_counts(argv[a + 1]);
    if (!std::strcmp(argv[a], "--threads")) threads = std::max(1, std::atoi(argv[a + 1]));
    if (!std::strcmp(argv[a], "--repeats")) repeats = std::atoi(argv[a + 1]);
    if (!std::strcmp(argv[a], "--rounds")) rounds = std::atoi(argv[a + 1]);
  }
  const fs::path folder =
      fs::temp_directory_path() / ("energyloss_openmm_bench_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  // The target cases first; vacuum shows the cost without OBC2's CustomGBForce.
  const SystemCase systems[] = {
      {"alanine dipeptide, amber14 + OBC2", "--forcefield amber14-all.xml implicit/obc2.xml", 1000,
       30},
      {"villin headpiece, amber14 + OBC2",
       "--villin --forcefield amber14-all.xml implicit/obc2.xml", 1, 20},
      {"alanine dipeptide, amber14 vacuum", "--forcefield amber14-all.xml", 1000, 0}};
  bool ok = true;
  for (const SystemCase& system : systems) {
    ok = ok && compare(system, folder, batch, worker_counts, threads, repeats, rounds);
  }
  fs::remove_all(folder);
  return ok ? 0 : 1;
}
