// EnergyLossForce on the complete graph vs OpenMM's CustomBondForce with
// 0.5*k*(r-r0)^2 over the same pairs and the same k, on the CPU platform:
// milliseconds per force + energy evaluation for both, and their ratio. The
// two energies and forces are compared first, so a fast but wrong kernel
// fails instead of reporting a speed-up.
//
// usage: openmm_bench_energyloss_force POSITIONS.txt [--threads T] [--repeats R]
//   POSITIONS.txt: N lines "x y z" in nm (examples/openmm/make_system.py --positions).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "EnergyLossForce.h"
#include "OpenMM.h"

namespace {

using OpenMM::Vec3;

std::vector<Vec3> readPositions(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Vec3> positions;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    double x, y, z;
    if (!(fields >> x >> y >> z)) throw std::runtime_error(path + ": bad line '" + line + "'");
    positions.emplace_back(x, y, z);
  }
  if (positions.empty()) throw std::runtime_error(path + ": no positions");
  return positions;
}

// The same restraint as CustomBondForce terms, with k computed from the
// coefficient mode exactly as EnergyLossForce's pair rule defines it.
OpenMM::CustomBondForce* customBondForce(const std::vector<Vec3>& reference,
                                         const energyloss::CoefficientSpec& spec) {
  auto* bonds = new OpenMM::CustomBondForce("0.5*k*(r-r0)^2");
  bonds->addPerBondParameter("k");
  bonds->addPerBondParameter("r0");
  const int n = static_cast<int>(reference.size());
  const double k0 = spec.per_atom ? spec.k0 / n : spec.k0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const Vec3 d = reference[i] - reference[j];
      const double r0 = std::sqrt(d.dot(d));
      double k = 0.0, dk_dr = 0.0;
      energyloss::coefficient(spec, k0, r0, k, dk_dr);
      bonds->addBond(i, j, {k, r0});
    }
  return bonds;
}

struct Timed {
  OpenMM::System system;
  OpenMM::VerletIntegrator integrator{0.001};
  std::unique_ptr<OpenMM::Context> context;

  Timed(OpenMM::Force* force, int particles, const std::string& threads) {
    for (int i = 0; i < particles; ++i) system.addParticle(12.0);
    system.addForce(force);
    context = std::make_unique<OpenMM::Context>(
        system, integrator, OpenMM::Platform::getPlatformByName("CPU"),
        std::map<std::string, std::string>{{"Threads", threads}});
  }
  OpenMM::State evaluate(const std::vector<Vec3>& positions) {
    context->setPositions(positions);
    return context->getState(OpenMM::State::Energy | OpenMM::State::Forces);
  }
  // Median over `repeats` evaluations, in ms: wall-clock time, and the
  // process's CPU time (all threads), which a busy machine disturbs less.
  struct Timing {
    double wallMs, cpuMs;
  };
  Timing msPerEvaluation(const std::vector<Vec3>& positions, int repeats) {
    context->setPositions(positions);
    std::vector<double> wall, cpu;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const std::clock_t cpuStart = std::clock();
      context->getState(OpenMM::State::Energy | OpenMM::State::Forces);
      cpu.push_back(1e3 * static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC);
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    return {median(wall), median(cpu)};
  }
  static double median(std::vector<double> values) {
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    return values[values.size() / 2];
  }
};

}  // namespace

const char* kUsage =
    R"(usage: openmm_bench_energyloss_force POSITIONS.txt [--threads T] [--repeats R]
  EnergyLossForce (complete graph) vs CustomBondForce over the same pairs, CPU
  platform: energies and forces compared, then milliseconds per evaluation.
  POSITIONS.txt  N lines "x y z" in nm (examples/openmm/make_system.py --positions)
  --threads T    CPU platform threads (default 1)
  --repeats R    timed evaluations, the median is printed (default 50)
  --help, -h     this text
)";

int main(int argc, char** argv) {
  for (int a = 1; a < argc; ++a) {
    const std::string option = argv[a];
    if (option == "--help" || option == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (argc < 2 || argv[1][0] == '-') {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string threads = "1";
  int repeats = 50;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string option = argv[a];
    if (option == "--threads")
      threads = argv[a + 1];
    else if (option == "--repeats")
      repeats = std::max(1, std::stoi(argv[a + 1]));
    else {
      std::fprintf(stderr, "unknown option %s\n", option.c_str());
      return 2;
    }
  }
  try {
    OpenMM::Platform::loadPluginsFromDirectory(OpenMM::Platform::getDefaultPluginsDirectory());
    OpenMM::Platform::loadPluginsFromDirectory(ENERGYLOSS_OPENMM_PLUGIN_DIR);
    const std::vector<Vec3> reference = readPositions(argv[1]);
    const int n = static_cast<int>(reference.size());
    std::vector<Vec3> positions = reference;
    std::mt19937 rng(1);
    std::normal_distribution<double> noise(0.0, 0.02);
    for (Vec3& x : positions) x += Vec3(noise(rng), noise(rng), noise(rng));

    const energyloss::CoefficientSpec spec =
        energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp);
    Timed ours(new EnergyLossPlugin::EnergyLossForce(reference, spec), n, threads);
    Timed custom(customBondForce(reference, spec), n, threads);

    const OpenMM::State a = ours.evaluate(positions), b = custom.evaluate(positions);
    const double energyError = std::abs(a.getPotentialEnergy() - b.getPotentialEnergy()) /
                               std::abs(b.getPotentialEnergy());
    double forceError = 0.0, forceScale = 0.0;
    for (int i = 0; i < n; ++i) {
      const Vec3 d = a.getForces()[i] - b.getForces()[i];
      forceError = std::max(forceError, std::sqrt(d.dot(d)));
      forceScale = std::max(forceScale, std::sqrt(b.getForces()[i].dot(b.getForces()[i])));
    }
    std::printf("%d atoms, %lld pairs, CPU platform, %s thread(s), median of %d\n", n,
                static_cast<long long>(n) * (n - 1) / 2, threads.c_str(), repeats);
    std::printf(
        "energy %.10g vs CustomBondForce %.10g (rel. diff %.1e), max force diff %.1e of %.3g\n",
        a.getPotentialEnergy(), b.getPotentialEnergy(), energyError, forceError, forceScale);
    // The CPU platform evaluates bonded forces in double precision: agreement
    // to 1e-9 relative shows both computed the same restraint.
    if (!(energyError < 1e-9) || !(forceError <= 1e-7 * (1.0 + forceScale))) {
      std::printf("FAILED: EnergyLossForce and CustomBondForce disagree\n");
      return 1;
    }
    // What getState costs with no force at all: the floor under both timings.
    Timed empty(new OpenMM::CustomExternalForce("0"), n, threads);
    const Timed::Timing floor = empty.msPerEvaluation(positions, repeats);
    const Timed::Timing oursMs = ours.msPerEvaluation(positions, repeats);
    const Timed::Timing customMs = custom.msPerEvaluation(positions, repeats);
    std::printf("ms per evaluation        wall     cpu\n");
    std::printf("EnergyLossForce      %8.3f %8.3f\n", oursMs.wallMs, oursMs.cpuMs);
    std::printf("CustomBondForce      %8.3f %8.3f\n", customMs.wallMs, customMs.cpuMs);
    std::printf("no restraint (floor) %8.3f %8.3f\n", floor.wallMs, floor.cpuMs);
    std::printf("ratio (CustomBondForce / EnergyLossForce) wall %.2fx, cpu %.2fx\n",
                customMs.wallMs / oursMs.wallMs, customMs.cpuMs / oursMs.cpuMs);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}
