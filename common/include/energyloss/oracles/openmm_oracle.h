// The OpenMM energy oracle. Plain C++ (no torch): the LibTorch layer wraps
// it in torch.classes.energyloss.Oracle (torch.ops.energyloss.openmm_oracle).
// Declared whenever this header is included, defined only in builds with
// OpenMM (ENERGYLOSS_HAVE_OPENMM, set by energyloss::oracles).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "energyloss/oracle.h"

namespace energyloss {

// A serialized System (XmlSerializer) evaluated on `platform`
// ("Reference", "CPU", ...) with platform `properties`, one Context per
// worker thread. Units: nm, kJ/mol. Periodic systems use the System's
// default box vectors.
std::shared_ptr<EnergyOracle> make_openmm_oracle(
    const std::string& system_xml_path, const std::string& platform = "CPU",
    const std::map<std::string, std::string>& properties = {}, int workers = 1);

}  // namespace energyloss
