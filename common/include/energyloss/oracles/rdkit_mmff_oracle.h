// The RDKit MMFF94 / MMFF94s energy oracle. Plain C++ (no torch): the
// LibTorch layer wraps it in torch.classes.energyloss.Oracle
// (torch.ops.energyloss.rdkit_mmff_oracle). Declared whenever this header is
// included, defined only in builds with RDKit (ENERGYLOSS_HAVE_RDKIT, set by
// energyloss::oracles).
#pragma once

#include <memory>
#include <string>

#include "energyloss/oracle.h"

namespace energyloss {

// MMFF94 / MMFF94s (`variant`): `molecule` is the path of an MDL .mol or
// .sdf file (its first record) or, when it contains a newline, a mol block.
// Every hydrogen must be an atom of the record; atom order is the record's.
// Nonbonded terms cover every pair more than two bonds apart (and within
// RDKit's 100 angstrom at the record's coordinates), also between fragments.
// One RDKit ForceField per worker thread. Units: angstrom, kcal/mol;
// elements: the atoms' symbols.
std::shared_ptr<EnergyOracle> make_rdkit_mmff_oracle(const std::string& molecule,
                                                     const std::string& variant = "MMFF94",
                                                     int workers = 1);

}  // namespace energyloss
