// The LAMMPS energy oracle. Plain C++ (no torch): the LibTorch layer wraps
// it in torch.classes.energyloss.Oracle (torch.ops.energyloss.lammps_oracle).
// Declared whenever this header is included, defined only in builds with
// LAMMPS (ENERGYLOSS_HAVE_LAMMPS, set by energyloss::oracles).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "energyloss/oracle.h"

namespace energyloss {

// An input deck defining atoms, force field and units, with
// `-var NAME VALUE` style variables; each worker is a separate process
// (energyloss_lammps_worker) so a LAMMPS error comes back as an
// energyloss::Error carrying LAMMPS's message.
std::shared_ptr<EnergyOracle> make_lammps_oracle(
    const std::string& deck_path, const std::map<std::string, std::string>& variables = {},
    int workers = 1);

}  // namespace energyloss
