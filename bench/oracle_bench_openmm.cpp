// OpenMM oracle throughput: our batched C++ oracle (one Context per worker
// thread) vs a Python loop over OpenMM's own API (bench/openmm_python_loop.py,
// setPositions + getState per configuration), both on the CPU platform,
// energies and forces, the same configurations, measured in one run.
//
// Usage: oracle_bench_openmm [--batch 256] [--workers 2,4] [--repeats 5] [--rounds 3]
// The alanine dipeptide System is made with examples/openmm/make_system.py.
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

// One System: the Python loop's rate and ours for each worker count, measured
// alternately so both see the same load. Returns false if a step failed.
struct SystemCase {
  const char* label;
  const char* forcefields;  // make_system.py --forcefield arguments
};

bool compare(const SystemCase& system, const fs::path& folder, int64_t batch,
             const std::vector<int>& worker_counts, int repeats, int rounds) {
  const fs::path system_xml = folder / "system.xml", reference = folder / "reference.txt",
                 batch_file = folder / "batch.f64";
  const std::string source = ENERGYLOSS_SOURCE_DIR;
  if (run(std::string(ENERGYLOSS_PYTHON) + " " + source + "/examples/openmm/make_system.py" +
          " --forcefield " + system.forcefields + " --system-xml " + system_xml.string() +
          " --positions " + reference.string()) != 0) {
    return false;
  }
  const std::vector<double> positions = perturbed_batch(reference, batch);
  std::ofstream(batch_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(positions.data()),
             std::streamsize(positions.size() * sizeof(double)));
  const std::string loop = std::string(ENERGYLOSS_PYTHON) + " " + source +
                           "/bench/openmm_python_loop.py " + system_xml.string() + " " +
                           batch_file.string() + " --repeats " + std::to_string(repeats);

  std::vector<std::shared_ptr<energyloss::EnergyOracle>> oracles;
  for (int workers : worker_counts) {
    oracles.push_back(energyloss::make_openmm_oracle(system_xml.string(), "CPU", {}, workers));
  }
  std::vector<double> energies(static_cast<size_t>(batch)), forces(positions.size());
  std::vector<double> ours(oracles.size(), 0.0), our_energy_sums(oracles.size(), 0.0);
  double python = 0, python_energy_sum = 0;
  for (int round = 0; round < rounds; ++round) {
    double per_second = 0;
    if (!read_python_figures(loop, per_second, python_energy_sum)) {
      std::fprintf(stderr, "the Python loop failed: %s\n", loop.c_str());
      return false;
    }
    python = std::max(python, per_second);
    for (size_t o = 0; o < oracles.size(); ++o) {
      oracles[o]->evaluate(positions.data(), batch, energies.data(), forces.data());  // warm-up
      for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        oracles[o]->evaluate(positions.data(), batch, energies.data(), forces.data());
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        ours[o] = std::max(ours[o], double(batch) / seconds);
      }
      our_energy_sums[o] = std::accumulate(energies.begin(), energies.end(), 0.0);
    }
  }

  std::printf("OpenMM alanine dipeptide (22 atoms, %s), CPU platform, batch %lld\n", system.label,
              static_cast<long long>(batch));
  std::printf("  Python loop (setPositions+getState)  %10.0f evaluations/s  (%7.1f us each)\n",
              python, 1e6 / python);
  double best = 0;
  for (size_t o = 0; o < oracles.size(); ++o) {
    std::printf(
        "  ours, %d workers                     %10.0f evaluations/s  (%7.1f us each)"
        "  %5.2fx  energy sums agree to %.1e\n",
        worker_counts[o], ours[o], 1e6 / ours[o], ours[o] / python,
        std::abs(our_energy_sums[o] - python_energy_sum) / std::abs(python_energy_sum));
    best = std::max(best, ours[o]);
  }
  std::printf("  ratio ours (best) / Python           %10.2fx  (target >= 5x)\n\n", best / python);
  return true;
}

const char* kUsage =
    R"(usage: oracle_bench_openmm [--batch 256] [--workers 2,4] [--repeats 5] [--rounds 3]
  OpenMM oracle throughput (alanine dipeptide, CPU platform): the batched C++
  oracle vs a Python loop over OpenMM's own API, energies and forces.
  --batch B        configurations per call (default 256)
  --workers W,...  worker thread counts to measure (default 2,4)
  --repeats R      timed calls per round and worker count (default 5)
  --rounds K       rounds, each also re-running the Python loop; the best
                   rates are printed (default 3)
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
                       !std::strcmp(argv[a], "--repeats") || !std::strcmp(argv[a], "--rounds");
    if (!known || a + 1 == argc) {
      std::fprintf(stderr, "oracle_bench_openmm: %s '%s'\n%s",
                   known ? "missing value after" : "unknown option", argv[a], kUsage);
      return 2;
    }
    if (!std::strcmp(argv[a], "--batch")) batch = std::atoll(argv[a + 1]);
    if (!std::strcmp(argv[a], "--workers")) worker_counts = parse_counts(argv[a + 1]);
    if (!std::strcmp(argv[a], "--repeats")) repeats = std::atoi(argv[a + 1]);
    if (!std::strcmp(argv[a], "--rounds")) rounds = std::atoi(argv[a + 1]);
  }
  const fs::path folder =
      fs::temp_directory_path() / ("energyloss_openmm_bench_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  // The target case first; vacuum shows the bridge cost without OBC2's
  // CustomGBForce, which OpenMM evaluates the same way for both callers.
  const SystemCase systems[] = {{"amber14 + OBC2", "amber14-all.xml implicit/obc2.xml"},
                                {"amber14, vacuum", "amber14-all.xml"}};
  bool ok = true;
  for (const SystemCase& system : systems) {
    ok = ok && compare(system, folder, batch, worker_counts, repeats, rounds);
  }
  fs::remove_all(folder);
  return ok ? 0 : 1;
}
