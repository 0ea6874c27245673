// The OpenMM energy oracle. Plain C++ (no torch): the LibTorch layer wraps
// it in torch.classes.energyloss.Oracle (torch.ops.energyloss.openmm_oracle).
// Declared whenever this header is included, defined only in builds with
// OpenMM (ENERGYLOSS_HAVE_OPENMM, set by energyloss::oracles).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "energyloss/oracle.h"

namespace energyloss {

// A serialized System (XmlSerializer) evaluated by one of two engines. Units:
// nm, kJ/mol.
//   "context": OpenMM itself, on `platform` ("Reference", "CPU", ...) with
//              platform `properties`, one Context per worker thread. Periodic
//              systems use the System's default box vectors.
//   "native":  our own batched kernels (common/src/oracles/openmm/native_*),
//              the batch shared among `workers` OpenMP threads; they equal
//              the Reference platform to ~1e-14 relative in double. Forces:
//              HarmonicBond/Angle, PeriodicTorsion, RBTorsion, CMAPTorsion,
//              NonbondedForce (NoCutoff, CutoffNonPeriodic), GBSAOBCForce, the
//              CustomGBForce of openmm.app's implicit/obc1.xml and obc2.xml
//              (kappa 0), CMMotionRemover. properties: {"Precision": "double"
//              (default) | "single"}; `platform` is unused. A System with
//              anything else (another force, a periodic box, virtual sites)
//              throws Error naming it.
//   "auto":    "native" when it supports every force (other properties are
//              then ignored), else "context" with a line on stderr naming what
//              the native engine lacks.
// Throws Error on a missing or invalid file, a System without particles,
// workers < 1 or an unknown engine or property.
std::shared_ptr<EnergyOracle> make_openmm_oracle(
    const std::string& system_xml_path, const std::string& platform = "CPU",
    const std::map<std::string, std::string>& properties = {}, int workers = 1,
    const std::string& engine = "context");

// Energy per force term of an oracle on the native engine, in the order of
// openmm_energy_term_names() ("bond", "angle", "torsion" (periodic and
// Ryckaert-Bellemans), "cmap", "nonbonded", "gb"); they sum to the energy.
// positions: [batch, atoms, 3] nm; terms: [batch, terms] kJ/mol. Throws Error
// for any other oracle, and on input evaluate() refuses.
std::vector<std::string> openmm_energy_term_names();
void openmm_energy_terms(EnergyOracle& oracle, const double* positions, int64_t batch,
                         double* terms);

}  // namespace energyloss
