// Constructors of the engine-backed oracles. Plain C++ (no torch): the
// LibTorch layer wraps whatever these return in torch.classes.energyloss.Oracle.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "energyloss/oracle.h"

namespace energyloss {

// OpenMM: a serialized System (XmlSerializer) evaluated on `platform`
// ("Reference", "CPU", ...) with platform `properties`, one Context per
// worker thread. Units: nm, kJ/mol. Periodic systems use the System's
// default box vectors.
std::shared_ptr<EnergyOracle> make_openmm_oracle(
    const std::string& system_xml_path, const std::string& platform = "CPU",
    const std::map<std::string, std::string>& properties = {}, int workers = 1);

// LAMMPS: an input deck defining atoms, force field and units, with
// `-var NAME VALUE` style variables; each worker is a separate process so a
// LAMMPS error comes back as an energyloss::Error carrying LAMMPS's message.
std::shared_ptr<EnergyOracle> make_lammps_oracle(
    const std::string& deck_path, const std::map<std::string, std::string>& variables = {},
    int workers = 1);

// RDKit MMFF94 / MMFF94s (`variant`): `molecule` is the path of an MDL .mol or
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
