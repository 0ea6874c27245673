// Private helpers of the OpenMM oracle and coefficients (OpenMM types in their
// signatures). The oracle is made by make_openmm_oracle
// (energyloss/oracles/factories.h); the force-field-derived coefficients are
// public in energyloss/oracles/openmm.h.
#pragma once

#include <memory>
#include <string>

namespace OpenMM {
class System;
}

namespace energyloss {

// Deserializes the System stored in `path` (OpenMM's XmlSerializer format).
// Throws Error naming the file when it is missing, unreadable or not a System.
std::unique_ptr<OpenMM::System> read_openmm_system(const std::string& path);

}  // namespace energyloss
