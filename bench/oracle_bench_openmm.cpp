// OpenMM oracle throughput: our batched C++ oracle (one Context per worker
// thread) vs a Python loop over OpenMM's own API (bench/openmm_python_loop.py,
// setPositions + getState per configuration), both on the CPU platform,
// energies and forces, the same configurations, measured in one run.
//
// Usage: oracle_bench_openmm [--batch 256] [--workers 2] [--repeats 5] [--rounds 3]
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
#include <random>
#include <string>
#include <vector>

#include "energyloss/oracles/factories.h"

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

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 256;
  int workers = 2, repeats = 5, rounds = 3;
  for (int a = 1; a + 1 < argc; a += 2) {
    if (!std::strcmp(argv[a], "--batch")) batch = std::atoll(argv[a + 1]);
    if (!std::strcmp(argv[a], "--workers")) workers = std::atoi(argv[a + 1]);
    if (!std::strcmp(argv[a], "--repeats")) repeats = std::atoi(argv[a + 1]);
    if (!std::strcmp(argv[a], "--rounds")) rounds = std::atoi(argv[a + 1]);
  }
  const fs::path folder =
      fs::temp_directory_path() / ("energyloss_openmm_bench_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const fs::path system_xml = folder / "alanine.xml", reference = folder / "alanine.txt",
                 batch_file = folder / "batch.f64";
  const std::string source = ENERGYLOSS_SOURCE_DIR;
  if (run(std::string(ENERGYLOSS_PYTHON) + " " + source + "/examples/openmm/make_system.py" +
          " --system-xml " + system_xml.string() + " --positions " + reference.string()) != 0) {
    return 1;
  }
  const std::vector<double> positions = perturbed_batch(reference, batch);
  std::ofstream(batch_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(positions.data()),
             std::streamsize(positions.size() * sizeof(double)));

  // Ours: the whole batch per call, energies and forces.
  const auto oracle = energyloss::make_openmm_oracle(system_xml.string(), "CPU", {}, workers);
  std::vector<double> energies(static_cast<size_t>(batch)), forces(positions.size());
  oracle->evaluate(positions.data(), batch, energies.data(), forces.data());  // warm-up
  double our_energy_sum = 0;
  for (double e : energies) our_energy_sum += e;
  const std::string loop = std::string(ENERGYLOSS_PYTHON) + " " + source +
                           "/bench/openmm_python_loop.py " + system_xml.string() + " " +
                           batch_file.string() + " --repeats " + std::to_string(repeats);

  // The machine is shared: alternate the two measurements and keep each one's
  // best round, so both see the same load conditions.
  double ours = 0, python = 0, python_energy_sum = 0;
  for (int round = 0; round < rounds; ++round) {
    double per_second = 0;
    if (!read_python_figures(loop, per_second, python_energy_sum)) {
      std::fprintf(stderr, "the Python loop failed: %s\n", loop.c_str());
      fs::remove_all(folder);
      return 1;
    }
    python = std::max(python, per_second);
    for (int r = 0; r < repeats; ++r) {
      const auto start = Clock::now();
      oracle->evaluate(positions.data(), batch, energies.data(), forces.data());
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      ours = std::max(ours, double(batch) / seconds);
    }
  }
  fs::remove_all(folder);

  std::printf("OpenMM alanine dipeptide (22 atoms, amber14 + OBC2), CPU platform, batch %lld\n",
              static_cast<long long>(batch));
  std::printf("  ours (C++ oracle, %d workers)        %10.0f evaluations/s  (%7.1f us each)\n",
              workers, ours, 1e6 / ours);
  std::printf("  Python loop (setPositions+getState)  %10.0f evaluations/s  (%7.1f us each)\n",
              python, 1e6 / python);
  std::printf("  ratio ours / Python                  %10.2fx  (target >= 5x)\n", ours / python);
  std::printf("  energy sums agree to %.1e relative\n",
              std::abs(our_energy_sum - python_energy_sum) / std::abs(python_energy_sum));
  return 0;
}
