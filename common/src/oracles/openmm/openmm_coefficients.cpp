// Force-field-derived pair coefficients read off an OpenMM System's own force
// terms: the analytic counterpart of derived_coefficients' finite-difference
// Hessian projection, exact for the terms it covers (see
// energyloss/oracles/openmm_coefficients.h).
#include <OpenMM.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "atom_pair.h"
#include "energyloss/error.h"
#include "energyloss/oracles/openmm_coefficients.h"
#include "openmm_system.h"

namespace energyloss {
namespace {

constexpr double kCoulombConstant = 138.935456;  // 1 / (4 pi eps0) in kJ/mol nm / e^2
constexpr double kLinearAngleSine = 1e-6;

// Reference positions with the System's default box, for periodic forces.
class Geometry {
 public:
  Geometry(const OpenMM::System& system, const double* reference) : reference_(reference) {
    system.getDefaultPeriodicBoxVectors(box_[0], box_[1], box_[2]);
  }
  // x_i - x_j, the minimum image when `periodic` (OpenMM's reduced triclinic box).
  OpenMM::Vec3 delta(int64_t i, int64_t j, bool periodic) const {
    OpenMM::Vec3 d(reference_[3 * i] - reference_[3 * j],
                   reference_[3 * i + 1] - reference_[3 * j + 1],
                   reference_[3 * i + 2] - reference_[3 * j + 2]);
    if (periodic) {
      for (int axis = 2; axis >= 0; --axis)
        d -= box_[axis] * std::round(d[axis] / box_[axis][axis]);
    }
    return d;
  }
  double distance(int64_t i, int64_t j, bool periodic) const {
    return std::sqrt(delta(i, j, periodic).dot(delta(i, j, periodic)));
  }

 private:
  const double* reference_;
  OpenMM::Vec3 box_[3];
};

// Which edges an unordered atom pair belongs to (edges may repeat).
class EdgeIndex {
 public:
  EdgeIndex(const int64_t* edges, int64_t n_edges, int64_t atoms) : atoms_(atoms) {
    for (int64_t e = 0; e < n_edges; ++e) {
      const int64_t i = edges[2 * e], j = edges[2 * e + 1];
      require_atom_pair(i, j, atoms, "edges[", e, "]");
      pairs_[key(i, j)].push_back(size_t(e));
    }
  }
  const std::vector<size_t>* find(int64_t i, int64_t j) const {
    const auto found = pairs_.find(key(i, j));
    return found == pairs_.end() ? nullptr : &found->second;
  }

 private:
  int64_t key(int64_t i, int64_t j) const { return std::min(i, j) * atoms_ + std::max(i, j); }
  int64_t atoms_;
  std::unordered_map<int64_t, std::vector<size_t>> pairs_;
};

void add_to(std::vector<double>& term, const std::vector<size_t>* edges, double curvature) {
  if (edges == nullptr) return;
  for (size_t e : *edges) term[e] += curvature;
}

// d^2/dd^2 of k/2 (theta - theta0)^2 along the 1-3 distance d with the bond
// lengths a, b fixed: d^2 = a^2 + b^2 - 2 a b cos(theta) gives
// theta'(d) = d / (a b sin theta) and
// theta''(d) = 1 / (a b sin theta) - d^2 cos(theta) / (a^2 b^2 sin^3 theta).
double angle_pair_curvature(double a, double b, double theta, double theta0, double k) {
  const double ab_sin = a * b * std::sin(theta);
  const double d2 = a * a + b * b - 2 * a * b * std::cos(theta);
  const double dtheta = std::sqrt(d2) / ab_sin;
  const double d2theta = 1 / ab_sin - d2 * std::cos(theta) / (ab_sin * ab_sin * ab_sin) * (a * b);
  return k * dtheta * dtheta + k * (theta - theta0) * d2theta;
}

// V(r) = 4 eps ((s/r)^12 - (s/r)^6): V''(r) = 4 eps / r^2 (156 (s/r)^12 - 42 (s/r)^6).
double lennard_jones_curvature(double sigma, double epsilon, double r) {
  const double s6 = std::pow(sigma / r, 6);
  return 4 * epsilon / (r * r) * (156 * s6 * s6 - 42 * s6);
}

void add_harmonic_bonds(const OpenMM::HarmonicBondForce& force, const EdgeIndex& index,
                        std::vector<double>& bond) {
  for (int n = 0; n < force.getNumBonds(); ++n) {
    int i, j;
    double length, k;
    force.getBondParameters(n, i, j, length, k);
    add_to(bond, index.find(i, j), k);  // E = k/2 (r - r0)^2 has E'' = k at any r
  }
}

void add_harmonic_angles(const OpenMM::HarmonicAngleForce& force, const Geometry& geometry,
                         const EdgeIndex& index, std::vector<double>& angle,
                         std::vector<std::string>& ignored) {
  const bool periodic = force.usesPeriodicBoundaryConditions();
  int64_t linear = 0;
  for (int n = 0; n < force.getNumAngles(); ++n) {
    int i, j, k;
    double theta0, stiffness;
    force.getAngleParameters(n, i, j, k, theta0, stiffness);
    const std::vector<size_t>* edges = index.find(i, k);
    if (edges == nullptr) continue;
    const OpenMM::Vec3 u = geometry.delta(i, j, periodic), v = geometry.delta(k, j, periodic);
    const double a = std::sqrt(u.dot(u)), b = std::sqrt(v.dot(v));
    const double theta = std::acos(std::clamp(u.dot(v) / (a * b), -1.0, 1.0));
    if (std::sin(theta) < kLinearAngleSine) {
      ++linear;  // theta(d) has no derivative at a straight angle
      continue;
    }
    add_to(angle, edges, angle_pair_curvature(a, b, theta, theta0, stiffness));
  }
  if (linear > 0) {
    ignored.push_back(force.getName() + ": " + std::to_string(linear) +
                      " (near-)linear angle(s) on edges skipped");
  }
}

void add_nonbonded(const OpenMM::NonbondedForce& force, const Geometry& geometry,
                   const EdgeIndex& index, const int64_t* edges, int64_t n_edges,
                   std::vector<double>& lennard_jones, std::vector<double>& coulomb,
                   std::vector<std::string>& ignored) {
  using Method = OpenMM::NonbondedForce::NonbondedMethod;
  const Method method = force.getNonbondedMethod();
  const bool periodic = force.usesPeriodicBoundaryConditions();
  const double cutoff = force.getCutoffDistance();
  // Reaction field: 1/r becomes 1/r + k_rf r^2 - c_rf inside the cutoff.
  double reaction_field = 0;
  if (method == Method::CutoffNonPeriodic || method == Method::CutoffPeriodic) {
    const double dielectric = force.getReactionFieldDielectric();
    reaction_field = (dielectric - 1) / ((2 * dielectric + 1) * cutoff * cutoff * cutoff);
  } else if (method != Method::NoCutoff) {
    ignored.push_back(force.getName() +
                      ": Ewald/PME electrostatics taken as bare Coulomb within the cutoff");
  }
  if (method != Method::NoCutoff && force.getUseSwitchingFunction()) {
    ignored.push_back(force.getName() + ": LJ switching function ignored");
  }
  if (force.getNumParticleParameterOffsets() + force.getNumExceptionParameterOffsets() > 0) {
    ignored.push_back(force.getName() + ": parameter offsets ignored (base parameters used)");
  }

  // Exceptions (excluded and scaled 1-4 pairs) replace the pair's parameters
  // and are evaluated with bare Coulomb and no cutoff.
  std::vector<bool> has_exception(size_t(n_edges), false);
  const bool exceptions_periodic = periodic && force.getExceptionsUsePeriodicBoundaryConditions();
  for (int n = 0; n < force.getNumExceptions(); ++n) {
    int i, j;
    double charge_product, sigma, epsilon;
    force.getExceptionParameters(n, i, j, charge_product, sigma, epsilon);
    const std::vector<size_t>* pair_edges = index.find(i, j);
    if (pair_edges == nullptr) continue;
    const double r = geometry.distance(i, j, exceptions_periodic);
    add_to(lennard_jones, pair_edges, lennard_jones_curvature(sigma, epsilon, r));
    add_to(coulomb, pair_edges, 2 * kCoulombConstant * charge_product / (r * r * r));
    for (size_t e : *pair_edges) has_exception[e] = true;
  }

  for (int64_t e = 0; e < n_edges; ++e) {
    if (has_exception[size_t(e)]) continue;
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    const double r = geometry.distance(i, j, periodic);
    if (method != Method::NoCutoff && r >= cutoff) continue;
    double charge_i, sigma_i, epsilon_i, charge_j, sigma_j, epsilon_j;
    force.getParticleParameters(int(i), charge_i, sigma_i, epsilon_i);
    force.getParticleParameters(int(j), charge_j, sigma_j, epsilon_j);
    // Lorentz-Berthelot combining rules, as NonbondedForce applies them.
    lennard_jones[size_t(e)] +=
        lennard_jones_curvature((sigma_i + sigma_j) / 2, std::sqrt(epsilon_i * epsilon_j), r);
    coulomb[size_t(e)] +=
        2 * kCoulombConstant * charge_i * charge_j * (1 / (r * r * r) + reaction_field);
  }
}

}  // namespace

OpenMMPairCoefficients openmm_pair_coefficients(const std::string& system_xml_path,
                                                const double* reference, int64_t atoms,
                                                const int64_t* edges, int64_t n_edges,
                                                const DerivedCoefficientOptions& options) {
  const std::unique_ptr<OpenMM::System> system = read_openmm_system(system_xml_path);
  require(atoms == system->getNumParticles(), "reference: has ", atoms, " atoms but the system '",
          system_xml_path, "' has ", system->getNumParticles(), " particles");
  return openmm_pair_coefficients(*system, reference, atoms, edges, n_edges, options);
}

OpenMMPairCoefficients openmm_pair_coefficients(const OpenMM::System& system,
                                                const double* reference, int64_t atoms,
                                                const int64_t* edges, int64_t n_edges,
                                                const DerivedCoefficientOptions& options) {
  require(atoms == system.getNumParticles(), "reference: has ", atoms, " atoms but the System has ",
          system.getNumParticles(), " particles");
  require(reference != nullptr, "reference: must not be null");
  require(n_edges >= 0 && (n_edges == 0 || edges != nullptr),
          "edges: expected a non-null [n_edges, 2] array, n_edges >= 0, got ", n_edges);
  for (int64_t n = 0; n < atoms * 3; ++n) {
    require(std::isfinite(reference[n]), "reference: atom ", n / 3, " coordinate ", n % 3,
            " is not finite (", reference[n], ")");
  }
  const Geometry geometry(system, reference);
  const EdgeIndex index(edges, n_edges, atoms);
  for (int64_t e = 0; e < n_edges; ++e) {
    require(geometry.distance(edges[2 * e], edges[2 * e + 1], false) > 0, "edges[", e, "]: atoms ",
            edges[2 * e], " and ", edges[2 * e + 1], " coincide in the reference");
  }

  OpenMMPairCoefficients result;
  for (std::vector<double>* term :
       {&result.bond, &result.angle, &result.lennard_jones, &result.coulomb}) {
    term->assign(size_t(n_edges), 0.0);
  }
  for (int f = 0; f < system.getNumForces(); ++f) {
    const OpenMM::Force& force = system.getForce(f);
    if (const auto* bonds = dynamic_cast<const OpenMM::HarmonicBondForce*>(&force)) {
      add_harmonic_bonds(*bonds, index, result.bond);
    } else if (const auto* angles = dynamic_cast<const OpenMM::HarmonicAngleForce*>(&force)) {
      add_harmonic_angles(*angles, geometry, index, result.angle, result.ignored);
    } else if (const auto* nonbonded = dynamic_cast<const OpenMM::NonbondedForce*>(&force)) {
      add_nonbonded(*nonbonded, geometry, index, edges, n_edges, result.lennard_jones,
                    result.coulomb, result.ignored);
    } else if (dynamic_cast<const OpenMM::CMMotionRemover*>(&force) == nullptr) {
      result.ignored.push_back(force.getName() + ": not represented (no pair curvature taken)");
    }
  }

  std::vector<double> total(static_cast<size_t>(n_edges));
  for (size_t e = 0; e < total.size(); ++e) {
    total[e] = result.bond[e] + result.angle[e] + result.lennard_jones[e] + result.coulomb[e];
  }
  result.total = apply_curvature_floor(std::move(total), options);
  return result;
}

}  // namespace energyloss
