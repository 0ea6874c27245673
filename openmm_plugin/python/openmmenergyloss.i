/* openmmenergyloss._core: the SWIG module under the openmmenergyloss package
   (openmmenergyloss/*.py), next to Debian's openmm module. It wraps the C++
   classes thinly and holds no Python code of its own: the keyword
   constructor, unit handling and seed() live in the package. The compiled
   half is _core_ext (CMake names it). GeneratorSeeder is compiled in only
   with LibTorch (ENERGYLOSS_OPENMM_SEEDER), the force-field coefficients only
   with energyloss's OpenMM oracles (ENERGYLOSS_OPENMM_FORCEFIELD); the
   package asks hasattr(_core, ...). */
%module(package="openmmenergyloss") _core

/* Import openmm first so it, not we, owns SWIG's shared runtime capsule. */
%pythonbegin %{
import openmm
%}

%import(module="openmm.openmm") "openmm_stub.i"

%{
#include <stdexcept>

#include "EnergyLossForce.h"
#include "OpenMM.h"
#include "energyloss/coefficients.h"
#include "energyloss/graphs.h"
%}

%{
namespace EnergyLossPlugin {
std::vector<OpenMM::Vec3> toVec3(const std::vector<double>& flat) {
  if (flat.size() % 3 != 0)
    throw std::invalid_argument("EnergyLossForce: positions must be an N x 3 array, got " +
                                std::to_string(flat.size()) + " numbers");
  std::vector<OpenMM::Vec3> positions(flat.size() / 3);
  for (size_t i = 0; i < positions.size(); ++i)
    positions[i] = OpenMM::Vec3(flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]);
  return positions;
}
std::vector<double> toFlat(const std::vector<OpenMM::Vec3>& positions) {
  std::vector<double> flat;
  flat.reserve(3 * positions.size());
  for (const OpenMM::Vec3& position : positions)
    for (int c = 0; c < 3; ++c) flat.push_back(position[c]);
  return flat;
}
}  // namespace EnergyLossPlugin
%}

%include "exception.i"
%include "std_string.i"
%include "std_vector.i"
%include "stdint.i"
%include "typemaps.i"

/* What our C++ rejects (OpenMMException from the plugin, std::invalid_argument
   from the helpers below) is bad input: ValueError. Anything else is a
   RuntimeError. */
%exception {
  try {
    $action
  } catch (const OpenMM::OpenMMException& error) {
    SWIG_exception(SWIG_ValueError, error.what());
  } catch (const std::invalid_argument& error) {
    SWIG_exception(SWIG_ValueError, error.what());
  } catch (const std::exception& error) {
    SWIG_exception(SWIG_RuntimeError, error.what());
  }
}

%template(DoubleVector) std::vector<double>;
%template(StringVector) std::vector<std::string>;

%apply int& OUTPUT { int& particle1 };
%apply int& OUTPUT { int& particle2 };
%apply double& OUTPUT { double& k };
%apply double& OUTPUT { double& r0 };

/* CoefficientMode, CoefficientSpec and the mode names straight from common/'s
   header (its inline kernel templates are not instantiated, so not wrapped). */
%ignore energyloss::coefficient;  /* kernel templates, overloaded on the mode */
%include "energyloss/coefficients.h"

namespace energyloss {
struct SparseRigidOptions {
  int64_t degree;
  uint64_t seed;
  bool symmetrize;
  bool verify;
  int64_t max_tries;
  int64_t verify_max_atoms;
};
}  // namespace energyloss

namespace EnergyLossPlugin {
class EnergyLossForce : public OpenMM::Force {
 public:
  static energyloss::CoefficientSpec presetCoefficients(energyloss::CoefficientMode mode);
  void setPairsWithinCutoff(const energyloss::CoefficientSpec& coefficients, double cutoff);
  void clearPairsWithinCutoff();
  bool hasPairsWithinCutoff() const;
  // A copy for Python: a proxy of the C++ reference would dangle once the
  // force is garbage-collected (ASan: heap-use-after-free reading .mode of
  // EnergyLossForce(...).getPairCoefficients()).
  energyloss::CoefficientSpec getPairCoefficients() const;
  double getPairCutoff() const;
  void addSparseRigidEdges(const energyloss::CoefficientSpec& coefficients,
                           const energyloss::SparseRigidOptions& options);
  int addBondEdges(const OpenMM::System& system, const energyloss::CoefficientSpec& coefficients);
  int addEdge(int particle1, int particle2, double k);
  int addEdge(int particle1, int particle2, const energyloss::CoefficientSpec& coefficients);
  int getNumEdges() const;
  void getEdgeParameters(int index, int& particle1, int& particle2, double& k, double& r0) const;
  void setEdgeParameters(int index, int particle1, int particle2, double k);
  int getNumParticles() const;
  const std::string& getScaleParameterName() const;
  void setScaleParameterName(const std::string& name);
  double getDefaultScale() const;
  void setDefaultScale(double scale);
  void updateParametersInContext(OpenMM::Context& context);
  void setUsesPeriodicBoundaryConditions(bool periodic);
  bool usesPeriodicBoundaryConditions() const;

  %extend {
    /* Reference positions cross the boundary flat ([x0, y0, z0, x1, ...], nm). */
    EnergyLossForce(const std::vector<double>& flatReference) {
      return new EnergyLossPlugin::EnergyLossForce(EnergyLossPlugin::toVec3(flatReference));
    }
    std::vector<double> _getReferenceFlat() const {
      return EnergyLossPlugin::toFlat($self->getReferencePositions());
    }
    void _setReferenceFlat(const std::vector<double>& flat) {
      $self->setReferencePositions(EnergyLossPlugin::toVec3(flat));
    }
    /* Ownership moves into the returned proxy inside C++ (DISOWN +
       %newobject): toggling .thisown by hand corrupts SWIG 4.1's shared
       runtime. */
    %newobject _takeOwnership;
    static EnergyLossPlugin::EnergyLossForce* _takeOwnership(OpenMM::Force* DISOWN) {
      return &dynamic_cast<EnergyLossPlugin::EnergyLossForce&>(*DISOWN);
    }
    static EnergyLossPlugin::EnergyLossForce& _view(OpenMM::Force& force) {
      return dynamic_cast<EnergyLossPlugin::EnergyLossForce&>(force);
    }
    static bool isInstance(const OpenMM::Force& force) {
      return dynamic_cast<const EnergyLossPlugin::EnergyLossForce*>(&force) != nullptr;
    }
  }
};
}  // namespace EnergyLossPlugin

%template(IntVector) std::vector<int>;

#ifdef ENERGYLOSS_OPENMM_FORCEFIELD
/* k_ij read off the System's force field along each pair (common/'s
   energyloss::openmm_pair_coefficients); pairs flat [i0, j0, i1, j1, ...]. */
%{
#include "energyloss/oracles/openmm_coefficients.h"
%}
%inline %{
std::vector<double> _forceFieldCoefficients(const OpenMM::System& system,
                                            const std::vector<double>& flatReference,
                                            const std::vector<int>& flatPairs) {
  const std::vector<int64_t> pairs(flatPairs.begin(), flatPairs.end());
  return energyloss::openmm_pair_coefficients(system, flatReference.data(),
                                              static_cast<int64_t>(flatReference.size() / 3),
                                              pairs.data(), static_cast<int64_t>(pairs.size() / 2))
      .total.k;
}
%}
#endif

#ifdef ENERGYLOSS_OPENMM_SEEDER
%{
#include "GeneratorSeeder.h"
%}

namespace EnergyLossPlugin {
struct SeedOptions {
  int candidates;
  int64_t sampleSeed;
  bool minimize;
  double tolerance;
  int maxIterations;
  double temperature;
  int velocitySeed;
  std::vector<int> particleMap;
};

struct SeedReport {
  std::vector<double> energies;
  std::vector<double> minimizedEnergies;
  int chosen;
  double chosenEnergy;
};

class GeneratorSeeder {
 public:
  GeneratorSeeder(const std::string& generatorPath);
  int getNumAtoms() const;
  const std::string& getLengthUnit() const;
  SeedReport seed(OpenMM::Context& context, const SeedOptions& options) const;
};
}  // namespace EnergyLossPlugin
#endif
