// The plugin reports bad input as OpenMM::OpenMMException, like OpenMM itself:
// fail()/require() for its own checks (common/'s, throwing OpenMMException),
// and asOpenMMErrors() around calls into common/, whose energyloss::Error
// keeps its message but changes type. An energyloss::RuntimeError (not bad
// input) passes through unchanged: Python RuntimeError.
#pragma once

#include <utility>

#include "energyloss/error.h"
#include "openmm/OpenMMException.h"

namespace EnergyLossPlugin {

// Throws OpenMMException "energyloss: <parts>".
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  energyloss::fail<OpenMM::OpenMMException>(parts...);
}

// Cheap check: the message parts are only formatted when `ok` is false.
template <typename... Parts>
inline void require(bool ok, const Parts&... parts) {
  energyloss::require<OpenMM::OpenMMException>(ok, parts...);
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
