// The plugin reports bad input as OpenMM::OpenMMException, like OpenMM itself:
// require() for its own checks, and asOpenMMErrors() around calls into
// common/, whose energyloss::Error keeps its message but changes type. An
// energyloss::RuntimeError (not bad input) passes through unchanged: Python
// RuntimeError.
#pragma once

#include <sstream>
#include <utility>

#include "energyloss/error.h"
#include "openmm/OpenMMException.h"

namespace EnergyLossPlugin {

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  message << "energyloss: ";
  (message << ... << parts);
  throw OpenMM::OpenMMException(message.str());
}

// Cheap check: the message parts are only formatted when `ok` is false.
template <typename... Parts>
inline void require(bool ok, const Parts&... parts) {
  if (!ok) fail(parts...);
}

template <typename Body>
decltype(auto) asOpenMMErrors(Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const energyloss::Error& error) {
    throw OpenMM::OpenMMException(error.what());
  }
}

}  // namespace EnergyLossPlugin
