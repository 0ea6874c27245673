// The OpenMM energy oracle: a serialized System evaluated by one Context per
// worker thread, the batch shared out among the workers (the Context engine),
// or by our own kernels (the native engine, native_oracle.cpp).
#include "energyloss/oracles/openmm_oracle.h"

#include <OpenMM.h>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "batch_workers.h"
#include "energyloss/error.h"
#include "native_system.h"
#include "openmm_system.h"

namespace energyloss {
namespace {

// A C++ program starts with only the Reference platform; the CPU and OpenCL
// platforms are plugins.
void load_openmm_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    OpenMM::Platform::loadPluginsFromDirectory(OpenMM::Platform::getDefaultPluginsDirectory());
  });
}

OpenMM::Platform& platform_by_name(const std::string& name) {
  load_openmm_plugins();
  std::string available;
  for (int index = 0; index < OpenMM::Platform::getNumPlatforms(); ++index) {
    const std::string candidate = OpenMM::Platform::getPlatform(index).getName();
    if (candidate == name) return OpenMM::Platform::getPlatform(index);
    available += (available.empty() ? "" : ", ") + candidate;
  }
  fail("OpenMM platform '", name, "' is not available; available platforms: ", available);
}

struct Worker {
  OpenMM::VerletIntegrator integrator{0.001};  // never stepped; a Context needs one
  std::unique_ptr<OpenMM::Context> context;
  std::vector<OpenMM::Vec3> positions;
};

class OpenMMOracle final : public EnergyOracle {
 public:
  OpenMMOracle(const std::string& system_xml_path, std::unique_ptr<OpenMM::System> system,
               const std::string& platform_name, std::map<std::string, std::string> properties,
               int workers)
      : path_(system_xml_path), platform_name_(platform_name), system_(std::move(system)) {
    atoms_ = system_->getNumParticles();
    for (int i = 0; i < system_->getNumParticles() && !has_virtual_sites_; ++i) {
      has_virtual_sites_ = system_->isVirtualSite(i);
    }
    OpenMM::Platform& platform = platform_by_name(platform_name);
    // Each CPU Context starts one thread per core by default; with several
    // workers that oversubscribes the cores, so share them out instead.
    if (platform_name == "CPU" && properties.count("Threads") == 0) {
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      properties["Threads"] = std::to_string(std::max(1u, cores / unsigned(workers)));
    }
    OpenMM::Vec3 box[3];
    system_->getDefaultPeriodicBoxVectors(box[0], box[1], box[2]);
    for (int w = 0; w < workers; ++w) {
      Worker& worker = *workers_.emplace_back(std::make_unique<Worker>());
      try {
        worker.context =
            std::make_unique<OpenMM::Context>(*system_, worker.integrator, platform, properties);
      } catch (const OpenMM::OpenMMException& error) {
        fail("OpenMM could not create a Context for '", path_, "' on platform '", platform_name,
             "': ", error.what());
      }
      if (system_->usesPeriodicBoundaryConditions()) {
        worker.context->setPeriodicBoxVectors(box[0], box[1], box[2]);
      }
      worker.positions.resize(size_t(atoms_));
    }
  }

  int64_t atoms() const override { return atoms_; }
  OracleUnits units() const override { return {"nm", "kJ/mol"}; }
  std::string describe() const override {
    return "OpenMM " + path_ + " on " + platform_name_ + " (" + std::to_string(workers_.size()) +
           " worker" + (workers_.size() > 1 ? "s" : "") + ")";
  }

  // Called by EnergyOracle::evaluate after it has validated the arguments.
  void compute(const double* positions, int64_t batch, double* energies, double* forces) override {
    const int64_t stride = atoms_ * 3;
    // The Contexts are not reentrant: concurrent callers take turns.
    std::lock_guard<std::mutex> lock(evaluating_);
    evaluate_on_workers(batch, workers_.size(), describe(), [&](size_t w, int64_t entry) {
      evaluate_one(*workers_[w], positions + entry * stride, energies[entry],
                   forces == nullptr ? nullptr : forces + entry * stride);
    });
  }

 private:
  void evaluate_one(Worker& worker, const double* positions, double& energy, double* forces) const {
    for (int64_t i = 0; i < atoms_; ++i) {
      worker.positions[size_t(i)] =
          OpenMM::Vec3(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
    }
    worker.context->setPositions(worker.positions);
    if (has_virtual_sites_) worker.context->computeVirtualSites();
    const int wanted = OpenMM::State::Energy | (forces ? OpenMM::State::Forces : 0);
    const OpenMM::State state = worker.context->getState(wanted);
    energy = state.getPotentialEnergy();
    if (forces != nullptr) {
      const std::vector<OpenMM::Vec3>& computed = state.getForces();
      for (int64_t i = 0; i < atoms_; ++i) {
        for (int c = 0; c < 3; ++c) forces[3 * i + c] = computed[size_t(i)][c];
      }
    }
    require_finite_result(energy, forces, atoms_);
  }

  std::string path_;
  std::string platform_name_;
  std::unique_ptr<OpenMM::System> system_;  // outlives the Contexts built on it
  int64_t atoms_ = 0;
  bool has_virtual_sites_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;  // a Context keeps its integrator's address
  std::mutex evaluating_;
};

}  // namespace

std::shared_ptr<EnergyOracle> make_openmm_oracle(
    const std::string& system_xml_path, const std::string& platform,
    const std::map<std::string, std::string>& properties, int workers, const std::string& engine) {
  require(engine == "context" || engine == "native" || engine == "auto",
          "OpenMM oracle: engine must be \"native\", \"context\" or \"auto\", got \"", engine,
          "\"");
  require(workers >= 1, "workers: expected >= 1, got ", workers);
  std::unique_ptr<OpenMM::System> system = read_openmm_system(system_xml_path);
  require(system->getNumParticles() > 0, "OpenMM system '", system_xml_path, "' has no particles");
  if (engine != "context") {
    NativeCompilation compiled = compile_native_force_field(*system);
    if (compiled.force_field != nullptr) {
      return make_native_openmm_oracle(system_xml_path, std::move(compiled.force_field), properties,
                                       workers, engine == "native");
    }
    std::string reasons;
    for (const std::string& line : compiled.unsupported) {
      reasons += (reasons.empty() ? "" : "; ") + line;
    }
    require(engine == "auto", "OpenMM system '", system_xml_path,
            "': the native engine cannot evaluate ", reasons,
            " (engine=\"context\" or \"auto\" evaluates it through an OpenMM Context)");
    std::cerr << "energyloss: OpenMM system '" << system_xml_path
              << "': the native engine cannot evaluate " << reasons
              << "; using the Context engine on " << platform << "\n";
  }
  return std::make_shared<OpenMMOracle>(system_xml_path, std::move(system), platform, properties,
                                        workers);
}

}  // namespace energyloss
