// Compiles an OpenMM System into the native evaluator's tables
// (native_force_field.h), or says which of its forces the native engine
// cannot evaluate. Private to the OpenMM oracle.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "energyloss/oracle.h"
#include "native_force_field.h"

namespace OpenMM {
class System;
}

namespace energyloss {

struct NativeCompilation {
  // Null when anything is unsupported.
  std::unique_ptr<native::NativeForceField> force_field;
  // One line per unsupported feature, naming the force ("CustomNonbondedForce
  // (force 4)", "NonbondedForce (force 3): method PME"), the periodic box or
  // virtual sites.
  std::vector<std::string> unsupported;
};

// Supported: HarmonicBondForce, HarmonicAngleForce, PeriodicTorsionForce,
// RBTorsionForce, CMAPTorsionForce, NonbondedForce (NoCutoff,
// CutoffNonPeriodic; no parameter offsets), GBSAOBCForce (NoCutoff,
// CutoffNonPeriodic), the CustomGBForce of openmm.app's implicit/obc1.xml and
// implicit/obc2.xml (kappa = 0; recognised by its exact expressions), and
// CMMotionRemover (no energy). Constraints do not enter energies or forces
// and are ignored, as a Context's getState does.
NativeCompilation compile_native_force_field(const OpenMM::System& system);

// The oracle evaluating `force_field` (compiled from the System in `path`) on
// `threads` OpenMP threads. properties: {"Precision": "double" (default) or
// "single"}; a bad Precision throws Error, and so does any other property
// when `strict` (engine "native"; "auto" leaves them to the Context engine).
// Defined in native_oracle.cpp.
std::shared_ptr<EnergyOracle> make_native_openmm_oracle(
    const std::string& path, std::unique_ptr<native::NativeForceField> force_field,
    const std::map<std::string, std::string>& properties, int threads, bool strict);

}  // namespace energyloss
