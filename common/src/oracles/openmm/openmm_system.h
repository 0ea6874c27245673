// Private helper of the OpenMM oracle and coefficients (OpenMM types in its
// signature). The oracle is public in energyloss/oracles/openmm_oracle.h, the
// force-field-derived coefficients in energyloss/oracles/openmm_coefficients.h.
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
