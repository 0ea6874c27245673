// The OpenMM oracle's native engine: the System compiled once into our own
// batched kernels (native_force_field.h), the batch shared among OpenMP
// threads.
#include <OpenMM.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "batch_workers.h"
#include "energyloss/error.h"
#include "energyloss/oracles/openmm_oracle.h"
#include "native_system.h"

namespace energyloss {
namespace {

class NativeOpenMMOracle final : public EnergyOracle {
 public:
  NativeOpenMMOracle(std::string path, std::unique_ptr<native::NativeForceField> force_field,
                     bool single_precision, int threads)
      : path_(std::move(path)),
        force_field_(std::move(force_field)),
        single_(single_precision),
        threads_(threads) {}

  int64_t atoms() const override { return force_field_->atoms(); }
  OracleUnits units() const override { return {"nm", "kJ/mol"}; }
  std::string describe() const override {
    return "OpenMM " + path_ + " on the native engine (" + (single_ ? "single" : "double") +
           " precision, " + std::to_string(threads_) + " thread" + (threads_ > 1 ? "s" : "") + ")";
  }

  // terms: [batch, kTermCount]; through evaluate(), so the input is checked
  // as for energies.
  void energy_terms(const double* positions, int64_t batch, double* terms) {
    std::lock_guard<std::recursive_mutex> lock(terms_mutex_);
    std::vector<double> energies(size_t(std::max<int64_t>(batch, 0)));
    terms_ = terms;
    try {
      evaluate(positions, batch, energies.data(), nullptr);
    } catch (...) {
      terms_ = nullptr;
      throw;
    }
    terms_ = nullptr;
  }

 protected:
  void compute(const double* positions, int64_t batch, double* energies, double* forces) override {
    // Concurrent callers take turns (terms_ belongs to the energy_terms call).
    std::lock_guard<std::recursive_mutex> lock(terms_mutex_);
    const int64_t stride = 3 * atoms();
    double* terms = terms_;
    if (single_) {
      std::vector<float> x(positions, positions + batch * stride);
      std::vector<float> f(forces != nullptr ? x.size() : 0);
      force_field_->evaluate(x.data(), batch, energies, forces != nullptr ? f.data() : nullptr,
                             terms, threads_);
      if (forces != nullptr) std::copy(f.begin(), f.end(), forces);
    } else {
      force_field_->evaluate(positions, batch, energies, forces, terms, threads_);
    }
    // The same checks and messages as the Context engine (batch_workers.h).
    for (int64_t b = 0; b < batch; ++b) {
      try {
        require_finite_result(energies[b], forces != nullptr ? forces + b * stride : nullptr,
                              atoms());
      } catch (const Error& error) {
        std::string reason = error.what();
        const std::string prefix = "energyloss: ";
        if (reason.rfind(prefix, 0) == 0) reason.erase(0, prefix.size());
        fail(describe(), ": batch entry ", b, ": ", reason);
      }
    }
  }

  std::string path_;
  std::unique_ptr<native::NativeForceField> force_field_;
  bool single_;
  int threads_;
  std::recursive_mutex terms_mutex_;
  double* terms_ = nullptr;  // set by energy_terms for its evaluate() call
};

}  // namespace

std::vector<std::string> openmm_energy_term_names() {
  std::vector<std::string> names;
  for (int term = 0; term < native::kTermCount; ++term) names.push_back(native::term_name(term));
  return names;
}

void openmm_energy_terms(EnergyOracle& oracle, const double* positions, int64_t batch,
                         double* terms) {
  auto* native_oracle = dynamic_cast<NativeOpenMMOracle*>(&oracle);
  require(native_oracle != nullptr, "energy terms: ", oracle.describe(),
          " is not an OpenMM oracle on the native engine (engine=\"native\" or \"auto\")");
  native_oracle->energy_terms(positions, batch, terms);
}

std::shared_ptr<EnergyOracle> make_native_openmm_oracle(
    const std::string& path, std::unique_ptr<native::NativeForceField> force_field,
    const std::map<std::string, std::string>& properties, int threads, bool strict) {
  bool single = false;
  for (const auto& [name, value] : properties) {
    if (name == "Precision") {
      require(value == "single" || value == "double",
              "OpenMM native engine: property Precision must be 'single' or 'double', got '", value,
              "'");
      single = value == "single";
    } else {
      require(!strict, "OpenMM native engine: unknown property '", name,
              "' (it takes only Precision)");
    }
  }
  return std::make_shared<NativeOpenMMOracle>(path, std::move(force_field), single, threads);
}

}  // namespace energyloss
