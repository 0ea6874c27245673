// Private helpers of the oracles whose engine evaluates one configuration at a
// time on a per-thread engine object (OpenMM Contexts, RDKit force fields):
// sharing a batch out among those workers, and checking what they computed.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {

// Calls evaluate_entry(worker, entry) once for every entry in [0, batch) on
// min(batch, workers) threads (worker 0 is the caller's thread); each thread
// takes the next unclaimed entry, so slow entries do not hold the others up.
// Once an entry fails no new ones are started, and the failures come back as
// one Error: "`label`: batch entry E: reason".
template <typename EvaluateEntry>
void evaluate_on_workers(int64_t batch, size_t workers, const std::string& label,
                         const EvaluateEntry& evaluate_entry) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::string> errors(workers);
  auto work = [&](size_t w) {
    int64_t entry = 0;
    try {
      while (!failed && (entry = next++) < batch) evaluate_entry(w, entry);
    } catch (const std::exception& error) {
      // Our own checks already carry the "energyloss: " prefix: say it once.
      std::string reason = error.what();
      if (reason.rfind("energyloss: ", 0) == 0) reason.erase(0, std::strlen("energyloss: "));
      errors[w] = label + ": batch entry " + std::to_string(entry) + ": " + reason;
      failed = true;
    }
  };
  const size_t threads = size_t(std::min<int64_t>(batch, int64_t(workers)));
  std::vector<std::thread> helpers;
  for (size_t w = 1; w < threads; ++w) helpers.emplace_back(work, w);
  work(0);
  for (std::thread& helper : helpers) helper.join();
  for (const std::string& error : errors) {
    if (!error.empty()) throw Error("energyloss: " + error);
  }
}

// Engines return inf or NaN for overlapping atoms or an exploded
// configuration; `forces` ([atoms, 3]) may be null.
inline void require_finite_result(double energy, const double* forces, int64_t atoms) {
  require(std::isfinite(energy), "the energy is not finite (", energy,
          "); overlapping atoms or an exploded configuration?");
  if (forces == nullptr) return;
  for (int64_t n = 0; n < 3 * atoms; ++n) {
    require(std::isfinite(forces[n]), "the force on atom ", n / 3,
            " is not finite; overlapping atoms or an exploded configuration?");
  }
}

}  // namespace energyloss
