// Reading an OpenMM System's forces through OpenMM's own API into the native
// evaluator's tables; anything else is reported by name.
#include "native_system.h"

#include <OpenMM.h>
#include <openmm/internal/CMAPTorsionForceImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <sstream>

namespace energyloss {
namespace {

using native::ForceFieldTables;

// OpenMM's Coulomb constant 1/(4 pi eps0) in kJ nm/(mol e^2), computed as in
// its Reference platform (SimTKOpenMMRealType.h, CODATA 2018).
double one_4pi_eps0() {
  const double e_charge = 1.602176634e-19, avogadro = 6.02214076e23;
  const double epsilon0 = 1e-6 * 8.8541878128e-12 / (e_charge * e_charge * avogadro);
  return 1 / (4 * M_PI * epsilon0);
}

std::string label(const OpenMM::Force& force, int index) {
  return force.getName() + " (force " + std::to_string(index) + ")";
}

void read(const OpenMM::HarmonicBondForce& force, ForceFieldTables& t) {
  for (int n = 0; n < force.getNumBonds(); ++n) {
    int i, j;
    double length, k;
    force.getBondParameters(n, i, j, length, k);
    t.bonds.atoms.push_back({i, j});
    t.bonds.length.push_back(length);
    t.bonds.k.push_back(k);
  }
}

void read(const OpenMM::HarmonicAngleForce& force, ForceFieldTables& t) {
  for (int n = 0; n < force.getNumAngles(); ++n) {
    int i, j, k;
    double angle, constant;
    force.getAngleParameters(n, i, j, k, angle, constant);
    t.angles.atoms.push_back({i, j, k});
    t.angles.angle.push_back(angle);
    t.angles.k.push_back(constant);
  }
}

void read(const OpenMM::PeriodicTorsionForce& force, ForceFieldTables& t) {
  for (int n = 0; n < force.getNumTorsions(); ++n) {
    int a, b, c, d, periodicity;
    double phase, k;
    force.getTorsionParameters(n, a, b, c, d, periodicity, phase, k);
    t.periodic_torsions.atoms.push_back({a, b, c, d});
    t.periodic_torsions.periodicity.push_back(periodicity);
    t.periodic_torsions.phase.push_back(phase);
    t.periodic_torsions.k.push_back(k);
  }
}

void read(const OpenMM::RBTorsionForce& force, ForceFieldTables& t) {
  for (int n = 0; n < force.getNumTorsions(); ++n) {
    int a, b, c, d;
    std::array<double, 6> c_m;
    force.getTorsionParameters(n, a, b, c, d, c_m[0], c_m[1], c_m[2], c_m[3], c_m[4], c_m[5]);
    t.rb_torsions.atoms.push_back({a, b, c, d});
    t.rb_torsions.c.push_back(c_m);
  }
}

void read(const OpenMM::CMAPTorsionForce& force, ForceFieldTables& t) {
  const int first_map = int(t.cmap.map_size.size());
  for (int m = 0; m < force.getNumMaps(); ++m) {
    int size;
    std::vector<double> energy;
    force.getMapParameters(m, size, energy);
    std::vector<std::vector<double>> cells;
    OpenMM::CMAPTorsionForceImpl::calcMapDerivatives(size, energy, cells);
    std::vector<double> flat;
    for (const std::vector<double>& cell : cells) flat.insert(flat.end(), cell.begin(), cell.end());
    t.cmap.map_size.push_back(size);
    t.cmap.coefficients.push_back(std::move(flat));
  }
  for (int n = 0; n < force.getNumTorsions(); ++n) {
    int map;
    std::array<int32_t, 8> atoms;
    force.getTorsionParameters(n, map, atoms[0], atoms[1], atoms[2], atoms[3], atoms[4], atoms[5],
                               atoms[6], atoms[7]);
    t.cmap.map.push_back(first_map + map);
    t.cmap.atoms.push_back(atoms);
  }
}

// Adds the NonbondedForce's table, or returns why it cannot.
std::optional<std::string> read(const OpenMM::NonbondedForce& force, ForceFieldTables& t) {
  const auto method = force.getNonbondedMethod();
  if (method != OpenMM::NonbondedForce::NoCutoff &&
      method != OpenMM::NonbondedForce::CutoffNonPeriodic) {
    const char* const names[] = {"NoCutoff", "CutoffNonPeriodic", "CutoffPeriodic", "Ewald", "PME",
                                 "LJPME"};
    const int m = int(method);
    return std::string("nonbonded method ") + (m >= 0 && m < 6 ? names[m] : "unknown") +
           " (only NoCutoff and CutoffNonPeriodic are native)";
  }
  if (force.getNumParticleParameterOffsets() > 0 || force.getNumExceptionParameterOffsets() > 0) {
    return std::string("parameter offsets (global parameters)");
  }
  if (!force.getIncludeDirectSpace()) return std::string("direct space left out");
  native::NonbondedTable table;
  const int atoms = force.getNumParticles();
  for (int i = 0; i < atoms; ++i) {
    double charge, sigma, epsilon;
    force.getParticleParameters(i, charge, sigma, epsilon);
    table.charge.push_back(charge);
    table.sigma.push_back(sigma);
    table.epsilon.push_back(epsilon);
  }
  table.excluded_above.resize(size_t(atoms));
  for (int n = 0; n < force.getNumExceptions(); ++n) {
    int i, j;
    double charge_product, sigma, epsilon;
    force.getExceptionParameters(n, i, j, charge_product, sigma, epsilon);
    table.excluded_above[size_t(std::min(i, j))].push_back(std::max(i, j));
    if (charge_product != 0 || epsilon != 0) {
      table.exception_atoms.push_back({i, j});
      table.exception_charge_product.push_back(charge_product);
      table.exception_sigma.push_back(sigma);
      table.exception_epsilon.push_back(epsilon);
    }
  }
  for (std::vector<int32_t>& excluded : table.excluded_above) {
    std::sort(excluded.begin(), excluded.end());
    excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  }
  table.coulomb = one_4pi_eps0();
  if (method == OpenMM::NonbondedForce::CutoffNonPeriodic) {
    // ReferenceLJCoulombIxn::setUseCutoff.
    const double cutoff = force.getCutoffDistance(),
                 dielectric = force.getReactionFieldDielectric();
    table.cutoff = cutoff;
    table.reaction_field_k = std::pow(cutoff, -3.0) * (dielectric - 1) / (2 * dielectric + 1);
    table.reaction_field_c = (1 / cutoff) * (3 * dielectric) / (2 * dielectric + 1);
    if (force.getUseSwitchingFunction()) table.switching_distance = force.getSwitchingDistance();
  }
  t.nonbonded.push_back(std::move(table));
  return std::nullopt;
}

std::optional<std::string> read(const OpenMM::GBSAOBCForce& force, ForceFieldTables& t) {
  const auto method = force.getNonbondedMethod();
  if (method != OpenMM::GBSAOBCForce::NoCutoff &&
      method != OpenMM::GBSAOBCForce::CutoffNonPeriodic) {
    return std::string("nonbonded method CutoffPeriodic");
  }
  // ReferenceObc / ObcParameters: OBC type II, dielectric offset 0.009 nm,
  // probe radius 0.14 nm, ACE factor 4 pi x surface-area energy.
  native::GBTable table;
  const double offset = 0.009;
  for (int i = 0; i < force.getNumParticles(); ++i) {
    double charge, radius, scale;
    force.getParticleParameters(i, charge, radius, scale);
    table.charge.push_back(charge);
    table.offset_radius.push_back(radius - offset);
    table.scaled_radius.push_back((radius - offset) * scale);
    table.radius.push_back(radius);
  }
  table.alpha = 1.0;
  table.beta = 0.8;
  table.gamma = 4.85;
  const double solute = force.getSoluteDielectric(), solvent = force.getSolventDielectric();
  table.prefactor = solute != 0 && solvent != 0 ? one_4pi_eps0() * (1 / solute - 1 / solvent) : 0;
  table.surface_area = 4 * M_PI * force.getSurfaceAreaEnergy();
  table.probe_radius = 0.14;
  if (method == OpenMM::GBSAOBCForce::CutoffNonPeriodic) {
    table.cutoff = force.getCutoffDistance();
    table.shift = 1 / table.cutoff;
  }
  table.engulfed_term = true;
  t.gb.push_back(std::move(table));
  return std::nullopt;
}

// Matches `text` against `pattern`, where each '#' stands for a number
// (digits, '.', 'e', 'E', '+', '-'); appends the numbers to `numbers`.
bool match_expression(const std::string& text, const std::string& pattern,
                      std::vector<double>& numbers) {
  size_t at = 0;
  for (const char p : pattern) {
    if (p != '#') {
      if (at >= text.size() || text[at] != p) return false;
      ++at;
      continue;
    }
    const size_t start = at;
    while (at < text.size() && std::string("0123456789.eE+-").find(text[at]) != std::string::npos) {
      ++at;
    }
    const std::string token = text.substr(start, at - start);
    char* end = nullptr;
    const double value = std::strtod(token.c_str(), &end);
    if (token.empty() || end != token.c_str() + token.size()) return false;
    numbers.push_back(value);
  }
  return at == text.size();
}

// The CustomGBForce of openmm.app's GBSAOBC1Force / GBSAOBC2Force
// (app/internal/customgbforces.py, _createEnergyTerms) with kappa = 0, its
// expressions matched character for character; returns why not otherwise.
std::optional<std::string> read(const OpenMM::CustomGBForce& force, ForceFieldTables& t) {
  const std::string not_obc =
      "not the CustomGBForce of openmm.app's implicit/obc1.xml or obc2.xml with kappa = 0";
  const auto method = force.getNonbondedMethod();
  if (method != OpenMM::CustomGBForce::NoCutoff &&
      method != OpenMM::CustomGBForce::CutoffNonPeriodic) {
    return std::string("nonbonded method CutoffPeriodic");
  }
  if (force.getNumPerParticleParameters() != 3 ||
      force.getPerParticleParameterName(0) != "charge" ||
      force.getPerParticleParameterName(1) != "or" ||
      force.getPerParticleParameterName(2) != "sr" || force.getNumGlobalParameters() != 0 ||
      force.getNumExclusions() != 0 || force.getNumTabulatedFunctions() != 0 ||
      force.getNumEnergyParameterDerivatives() != 0 || force.getNumComputedValues() != 2 ||
      force.getNumEnergyTerms() < 2 || force.getNumEnergyTerms() > 3) {
    return not_obc;
  }
  using Type = OpenMM::CustomGBForce::ComputationType;
  std::string name, expression;
  Type type;
  std::vector<double> numbers;
  force.getComputedValueParameters(0, name, expression, type);
  if (name != "I" || type != OpenMM::CustomGBForce::ParticlePairNoExclusions ||
      !match_expression(expression,
                        "select(step(r+sr2-or1), 0.5*(1/L-1/U+0.25*(r-sr2^2/r)*(1/(U^2)-1/"
                        "(L^2))+0.5*log(L/U)/r), 0);U=r+sr2;L=max(or1, D);D=abs(r-sr2)",
                        numbers)) {
    return not_obc;
  }
  native::GBTable table;
  force.getComputedValueParameters(1, name, expression, type);
  const std::string radius_tail = "/radius);psi=I*or; radius=or+offset; offset=0.009";
  if (name != "B" || type != OpenMM::CustomGBForce::SingleParticle) return not_obc;
  if (match_expression(expression, "1/(1/or-tanh(psi-0.8*psi^2+4.85*psi^3)" + radius_tail,
                       numbers)) {
    table.alpha = 1.0, table.beta = 0.8, table.gamma = 4.85;  // OBC2
  } else if (match_expression(expression, "1/(1/or-tanh(0.8*psi+2.909125*psi^3)" + radius_tail,
                              numbers)) {
    table.alpha = 0.8, table.beta = 0.0, table.gamma = 2.909125;  // OBC1
  } else {
    return not_obc;
  }
  // Every energy term ends with the same parameter list; kappa must be 0.
  const std::string parameters = "; solventDielectric=#; soluteDielectric=#; kappa=#; offset=#";
  const std::string pair_tail = ";f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2)))";
  const std::string screening = "*(1/soluteDielectric-1/solventDielectric)*charge";
  std::vector<std::vector<double>> term_parameters;
  bool self = false, nonpolar = false, pair = false;
  double shift = 0;
  for (int n = 0; n < force.getNumEnergyTerms(); ++n) {
    force.getEnergyTermParameters(n, expression, type);
    bool matched = false;
    for (const std::string cutoff : {"", "; cutoff=#"}) {
      std::vector<double> values;
      if (type == OpenMM::CustomGBForce::SingleParticle && !self &&
          match_expression(expression, "-0.5*138.935485" + screening + "^2/B" + parameters + cutoff,
                           values)) {
        self = matched = true;
      } else if (type == OpenMM::CustomGBForce::SingleParticle && !nonpolar &&
                 match_expression(expression,
                                  "28.3919551*(radius+0.14)^2*(radius/B)^6; radius=or+offset" +
                                      parameters + cutoff,
                                  values)) {
        nonpolar = matched = true;
      } else if (type == OpenMM::CustomGBForce::ParticlePairNoExclusions && !pair &&
                 match_expression(
                     expression,
                     "-138.935485" + screening + "1*charge2/f" + pair_tail + parameters + cutoff,
                     values)) {
        pair = matched = true;
      } else if (type == OpenMM::CustomGBForce::ParticlePairNoExclusions && !pair &&
                 match_expression(expression,
                                  "-138.935485" + screening + "1*charge2*(1/f-#)" + pair_tail +
                                      parameters + cutoff,
                                  values)) {
        pair = matched = true;
        shift = values.front();
        values.erase(values.begin());
      }
      if (matched) {
        term_parameters.push_back(values);
        break;
      }
    }
    if (!matched) return not_obc;
  }
  if (!self || !pair) return not_obc;
  for (const std::vector<double>& values : term_parameters) {
    // solventDielectric, soluteDielectric, kappa, offset (, cutoff): one set for all terms.
    if (values != term_parameters.front() || values[2] != 0 ||
        std::abs(values[3] - 0.009) > 1e-15) {
      return not_obc;
    }
  }
  const double solvent = term_parameters.front()[0], solute = term_parameters.front()[1];
  const double offset = 0.009;
  for (int i = 0; i < force.getNumParticles(); ++i) {
    std::vector<double> p;
    force.getParticleParameters(i, p);
    table.charge.push_back(p[0]);
    table.offset_radius.push_back(p[1]);
    table.scaled_radius.push_back(p[2]);
    table.radius.push_back(p[1] + offset);
  }
  table.prefactor = 138.935485 * (1 / solute - 1 / solvent);
  table.surface_area = nonpolar ? 28.3919551 : 0;
  table.probe_radius = 0.14;
  table.cutoff = method == OpenMM::CustomGBForce::CutoffNonPeriodic ? force.getCutoffDistance() : 0;
  table.shift = shift;
  table.engulfed_term = false;
  t.gb.push_back(std::move(table));
  return std::nullopt;
}

}  // namespace

NativeCompilation compile_native_force_field(const OpenMM::System& system) {
  NativeCompilation result;
  ForceFieldTables tables;
  tables.atoms = system.getNumParticles();
  if (system.usesPeriodicBoundaryConditions()) {
    result.unsupported.push_back("a periodic box (the System uses periodic boundary conditions)");
  }
  for (int i = 0; i < system.getNumParticles(); ++i) {
    if (system.isVirtualSite(i)) {
      result.unsupported.push_back("virtual sites (particle " + std::to_string(i) + ")");
      break;
    }
  }
  for (int index = 0; index < system.getNumForces(); ++index) {
    const OpenMM::Force& force = system.getForce(index);
    std::optional<std::string> problem;
    if (auto* f = dynamic_cast<const OpenMM::HarmonicBondForce*>(&force)) {
      read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::HarmonicAngleForce*>(&force)) {
      read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::PeriodicTorsionForce*>(&force)) {
      read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::RBTorsionForce*>(&force)) {
      read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::CMAPTorsionForce*>(&force)) {
      read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::NonbondedForce*>(&force)) {
      problem = read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::GBSAOBCForce*>(&force)) {
      problem = read(*f, tables);
    } else if (auto* f = dynamic_cast<const OpenMM::CustomGBForce*>(&force)) {
      problem = read(*f, tables);
    } else if (dynamic_cast<const OpenMM::CMMotionRemover*>(&force) == nullptr) {
      problem = "no native implementation of this force type";
    }
    if (!problem && force.usesPeriodicBoundaryConditions()) {
      problem = "periodic boundary conditions";
    }
    if (problem) result.unsupported.push_back(label(force, index) + ": " + *problem);
  }
  if (result.unsupported.empty()) {
    result.force_field = std::make_unique<native::NativeForceField>(std::move(tables));
  }
  return result;
}

}  // namespace energyloss
