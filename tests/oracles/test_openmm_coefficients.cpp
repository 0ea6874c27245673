// Force-field-derived pair coefficients from an OpenMM System, checked against
// closed forms (bond k, LJ 72 eps / r_m^2, Coulomb 2 C q q / r^3) and against
// finite differences of the OpenMM oracle's own energies and forces.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "energyloss/error.h"
#include "energyloss/oracles/openmm_coefficients.h"
#include "energyloss/oracles/openmm_oracle.h"

namespace energyloss {
namespace {

using test_support::central_difference;
using test_support::error_message;

namespace fs = std::filesystem;

const fs::path kScratchDir =
    fs::temp_directory_path() / ("energyloss_openmm_coefficients_" + std::to_string(::getpid()));

class ScratchFolder : public ::testing::Environment {
 public:
  void SetUp() override { fs::create_directories(kScratchDir); }
  void TearDown() override { fs::remove_all(kScratchDir); }
};
const auto* const kScratch = ::testing::AddGlobalTestEnvironment(new ScratchFolder);

constexpr double kCoulombConstant = 138.935456;

// Minimal serialized Systems (OpenMM 7.7 XmlSerializer format), built as text
// because the tests do not link OpenMM themselves.
struct Particle {
  double charge, sigma, epsilon;
};
struct Exception {
  int i, j;
  double charge_product, sigma, epsilon;
};

std::string bonds_force(const std::vector<std::tuple<int, int, double, double>>& bonds) {
  std::ostringstream xml;
  xml << R"(<Force forceGroup="0" name="HarmonicBondForce" type="HarmonicBondForce" usesPeriodic="0" version="2"><Bonds>)";
  for (const auto& [i, j, length, k] : bonds) {
    xml << "<Bond d=\"" << length << "\" k=\"" << k << "\" p1=\"" << i << "\" p2=\"" << j << "\"/>";
  }
  xml << "</Bonds></Force>";
  return xml.str();
}

std::string angle_force(int i, int j, int k, double theta0, double stiffness) {
  std::ostringstream xml;
  xml << R"(<Force forceGroup="0" name="HarmonicAngleForce" type="HarmonicAngleForce" usesPeriodic="0" version="2"><Angles>)"
      << "<Angle a=\"" << theta0 << "\" k=\"" << stiffness << "\" p1=\"" << i << "\" p2=\"" << j
      << "\" p3=\"" << k << "\"/></Angles></Force>";
  return xml.str();
}

// method: OpenMM's NonbondedMethod number (0 NoCutoff, 1 CutoffNonPeriodic).
std::string nonbonded_force(const std::vector<Particle>& particles,
                            const std::vector<Exception>& exceptions, int method = 0) {
  std::ostringstream xml;
  xml.precision(17);
  xml << R"(<Force alpha="0" cutoff="1" dispersionCorrection="0" ewaldTolerance=".0005" exceptionsUsePeriodic="0" forceGroup="0" includeDirectSpace="1" ljAlpha="0" ljnx="0" ljny="0" ljnz="0" method=")"
      << method
      << R"(" name="NonbondedForce" nx="0" ny="0" nz="0" recipForceGroup="-1" rfDielectric="78.3" switchingDistance="-1" type="NonbondedForce" useSwitchingFunction="0" version="4"><GlobalParameters/><ParticleOffsets/><ExceptionOffsets/><Particles>)";
  for (const Particle& p : particles) {
    xml << "<Particle eps=\"" << p.epsilon << "\" q=\"" << p.charge << "\" sig=\"" << p.sigma
        << "\"/>";
  }
  xml << "</Particles><Exceptions>";
  for (const Exception& e : exceptions) {
    xml << "<Exception eps=\"" << e.epsilon << "\" p1=\"" << e.i << "\" p2=\"" << e.j << "\" q=\""
        << e.charge_product << "\" sig=\"" << e.sigma << "\"/>";
  }
  xml << "</Exceptions></Force>";
  return xml.str();
}

std::string write_system(const std::string& name, int particles, const std::string& forces) {
  const fs::path path = kScratchDir / (name + ".xml");
  std::ofstream xml(path);
  xml << R"(<?xml version="1.0" ?><System openmmVersion="7.7" type="System" version="1">)"
      << R"(<PeriodicBoxVectors><A x="2" y="0" z="0"/><B x="0" y="2" z="0"/><C x="0" y="0" z="2"/></PeriodicBoxVectors><Particles>)";
  for (int n = 0; n < particles; ++n) xml << R"(<Particle mass="12"/>)";
  xml << "</Particles><Constraints/><Forces>" << forces << "</Forces></System>\n";
  return path.string();
}

OpenMMPairCoefficients coefficients(const std::string& path, const std::vector<double>& reference,
                                    const std::vector<int64_t>& edges,
                                    const DerivedCoefficientOptions& options = {}) {
  return openmm_pair_coefficients(path, reference.data(), int64_t(reference.size() / 3),
                                  edges.data(), int64_t(edges.size() / 2), options);
}

// -u^T H_ij u by central differences of the oracle's forces: moving atom j
// along u changes the force on atom i by -H_ij u per unit step.
std::vector<double> finite_difference_curvatures(EnergyOracle& oracle,
                                                 const std::vector<double>& reference,
                                                 const std::vector<int64_t>& edges, double step) {
  const size_t n_edges = edges.size() / 2;
  std::vector<double> curvature(n_edges), moved(reference.size()), forces(reference.size());
  for (size_t e = 0; e < n_edges; ++e) {
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    double u[3], norm = 0;
    for (int c = 0; c < 3; ++c) {
      u[c] = reference[size_t(3 * i + c)] - reference[size_t(3 * j + c)];
      norm += u[c] * u[c];
    }
    for (double& component : u) component /= std::sqrt(norm);
    // u . (force on i) with atom j moved by `along` u.
    const auto force_along_u = [&](double along) {
      moved = reference;
      for (int c = 0; c < 3; ++c) moved[size_t(3 * j + c)] += along * u[c];
      double energy = 0;
      oracle.evaluate(moved.data(), 1, &energy, forces.data());
      double projected = 0;
      for (int c = 0; c < 3; ++c) projected += u[c] * forces[size_t(3 * i + c)];
      return projected;
    };
    curvature[e] = central_difference(force_along_u, step);
  }
  return curvature;
}

TEST(OpenMMCoefficients, HarmonicBondsGiveTheBondConstant) {
  const std::string path = write_system(
      "bonds", 4, bonds_force({{0, 1, 0.1, 1000}, {1, 2, 0.15, 2500}, {2, 3, 0.12, 400}}));
  // Off the bond minima on purpose: a harmonic bond's curvature is k at any length.
  const std::vector<double> reference = {0, 0, 0, 0.11, 0.01, 0, 0.2, 0.12, 0.03, 0.3, 0.1, 0.12};
  const std::vector<int64_t> edges = {0, 1, 2, 1, 2, 3, 0, 2};
  const OpenMMPairCoefficients result = coefficients(path, reference, edges);
  EXPECT_DOUBLE_EQ(result.total.k[0], 1000);
  EXPECT_DOUBLE_EQ(result.total.k[1], 2500);
  EXPECT_DOUBLE_EQ(result.total.k[2], 400);
  EXPECT_DOUBLE_EQ(result.bond[1], 2500);
  // (0, 2) has no term: raised to the default floor, 1e-6 x the largest k.
  EXPECT_EQ(result.total.curvature[3], 0);
  EXPECT_DOUBLE_EQ(result.total.floor, 2500 * kRelativeCurvatureFloor);
  EXPECT_DOUBLE_EQ(result.total.k[3], result.total.floor);
  EXPECT_EQ(result.total.floored, 1);
  EXPECT_TRUE(result.ignored.empty());

  // The generic route: the finite-difference Hessian projection of the oracle.
  const auto oracle = make_openmm_oracle(path, "Reference");
  const std::vector<double> numeric = finite_difference_curvatures(*oracle, reference, edges, 1e-5);
  for (size_t e = 0; e < numeric.size(); ++e) {
    EXPECT_NEAR(result.total.curvature[e], numeric[e], 1e-6 * 2500) << "edge " << e;
  }
}

TEST(OpenMMCoefficients, LennardJonesDimerAtItsMinimum) {
  // Combining rules: sigma = (0.3 + 0.4) / 2, epsilon = sqrt(0.5 * 2) = 1.
  const double sigma = 0.35, epsilon = 1.0, minimum = std::pow(2.0, 1.0 / 6) * sigma;
  const std::string path =
      write_system("lj_dimer", 2, nonbonded_force({{0, 0.3, 0.5}, {0, 0.4, 2.0}}, {}));
  const std::vector<double> reference = {
      0, 0, 0, minimum / std::sqrt(3.0), minimum / std::sqrt(3.0), minimum / std::sqrt(3.0)};
  const OpenMMPairCoefficients result = coefficients(path, reference, {0, 1});
  EXPECT_NEAR(result.total.k[0], 72 * epsilon / (minimum * minimum), 1e-9);
  EXPECT_NEAR(result.lennard_jones[0], result.total.k[0], 1e-12);
  EXPECT_EQ(result.coulomb[0], 0);

  // An exception replaces the pair's parameters.
  const double sigma14 = 0.25, epsilon14 = 0.3, minimum14 = std::pow(2.0, 1.0 / 6) * sigma14;
  const std::string excepted = write_system(
      "lj_exception", 2,
      nonbonded_force({{0, 0.3, 0.5}, {0, 0.4, 2.0}}, {{0, 1, 0, sigma14, epsilon14}}));
  const OpenMMPairCoefficients scaled = coefficients(excepted, {0, 0, 0, 0, minimum14, 0}, {1, 0});
  EXPECT_NEAR(scaled.total.k[0], 72 * epsilon14 / (minimum14 * minimum14), 1e-9);
}

// An LJ triangle with every side at the pair minimum is a stationary point,
// so eq. 7 with the derived k is the force field's own energy change to
// second order: the mismatch shrinks like the displacement cubed.
TEST(OpenMMCoefficients, PairLossReproducesTheEnergyChangeToSecondOrder) {
  const double sigma = 0.3, epsilon = 0.8, side = std::pow(2.0, 1.0 / 6) * sigma;
  const std::string path = write_system(
      "lj_triangle", 3,
      nonbonded_force({{0, sigma, epsilon}, {0, sigma, epsilon}, {0, sigma, epsilon}}, {}));
  const std::vector<double> reference = {0, 0, 0, side, 0, 0, side / 2, side * std::sqrt(0.75), 0};
  const std::vector<int64_t> edges = {0, 1, 0, 2, 1, 2};
  const OpenMMPairCoefficients result = coefficients(path, reference, edges);
  const auto oracle = make_openmm_oracle(path, "Reference");
  const std::vector<double> direction = {0.3, -0.2, 0.5, -0.1, 0.4, 0.2, 0.6, 0.1, -0.3};
  auto mismatch = [&](double scale) {
    std::vector<double> batch = reference;
    for (size_t n = 0; n < direction.size(); ++n)
      batch.push_back(reference[n] + scale * direction[n]);
    std::vector<double> energies(2);
    oracle->evaluate(batch.data(), 2, energies.data(), nullptr);
    double pair_loss = 0;
    for (size_t e = 0; e < result.total.k.size(); ++e) {
      double r_ref = 0, r_new = 0;
      for (int c = 0; c < 3; ++c) {
        const size_t i = size_t(3 * edges[2 * e] + c), j = size_t(3 * edges[2 * e + 1] + c);
        r_ref += std::pow(reference[i] - reference[j], 2);
        r_new += std::pow(batch[9 + i] - batch[9 + j], 2);
      }
      pair_loss += 0.5 * result.total.k[e] * std::pow(std::sqrt(r_new) - std::sqrt(r_ref), 2);
    }
    const double change = energies[1] - energies[0];
    return std::abs(pair_loss - change) / change;
  };
  const double coarse = mismatch(2e-3), fine = mismatch(1e-3);
  EXPECT_LT(coarse, 0.05);
  EXPECT_NEAR(coarse / fine, 2.0, 0.2);  // relative error linear in the step: exact second order
}

TEST(OpenMMCoefficients, CoulombPairAndTheFloor) {
  const std::string path =
      write_system("ions", 2, nonbonded_force({{0.5, 0.3, 0}, {-0.3, 0.3, 0}}, {}));
  const std::vector<double> reference = {0, 0, 0, 0.5, 0, 0};
  const double expected = 2 * kCoulombConstant * 0.5 * -0.3 / (0.5 * 0.5 * 0.5);
  DerivedCoefficientOptions options;
  options.floor = 5.0;
  const OpenMMPairCoefficients result = coefficients(path, reference, {0, 1}, options);
  EXPECT_NEAR(result.coulomb[0], expected, 1e-9);
  EXPECT_NEAR(result.total.curvature[0], expected, 1e-9);
  EXPECT_EQ(result.total.k[0], 5.0);  // an attracting pair curves downwards: floored
  EXPECT_EQ(result.total.floored, 1);

  const auto oracle = make_openmm_oracle(path, "Reference");
  EXPECT_NEAR(finite_difference_curvatures(*oracle, reference, {0, 1}, 1e-5)[0], expected,
              1e-6 * std::abs(expected));
}

// Reaction field inside the 1 nm cutoff, nothing beyond it.
TEST(OpenMMCoefficients, CutoffNonPeriodicUsesTheReactionField) {
  const std::string path =
      write_system("ions_cutoff", 3,
                   nonbonded_force({{0.5, 0.3, 0.2}, {-0.3, 0.25, 0.4}, {0.2, 0.3, 0.1}}, {}, 1));
  const std::vector<double> reference = {0, 0, 0, 0.45, 0.1, 0, 1.3, 0.2, 0.1};
  const std::vector<int64_t> edges = {0, 1, 0, 2};
  const OpenMMPairCoefficients result = coefficients(path, reference, edges);
  const auto oracle = make_openmm_oracle(path, "Reference");
  const std::vector<double> numeric = finite_difference_curvatures(*oracle, reference, edges, 1e-5);
  EXPECT_NEAR(result.total.curvature[0], numeric[0], 1e-6 * std::abs(numeric[0]));
  EXPECT_EQ(result.total.curvature[1], 0);  // beyond the cutoff
  EXPECT_NEAR(numeric[1], 0, 1e-6);
}

// E along the 1-3 distance d with both bond lengths held fixed, from the
// oracle's own energies: atom 1 at the origin, 0 on the x axis, 2 at angle theta(d).
TEST(OpenMMCoefficients, AngleProjectedOnTheOneThreePair) {
  const double a = 0.1, b = 0.15, theta = 1.7;
  const std::string path = write_system("angle", 3, angle_force(0, 1, 2, 1.9, 400));
  auto positions = [&](double d) {
    const double angle = std::acos((a * a + b * b - d * d) / (2 * a * b));
    return std::vector<double>{a, 0, 0, 0, 0, 0, b * std::cos(angle), b * std::sin(angle), 0};
  };
  const double d = std::sqrt(a * a + b * b - 2 * a * b * std::cos(theta));
  const OpenMMPairCoefficients result = coefficients(path, positions(d), {2, 0});

  const auto oracle = make_openmm_oracle(path, "Reference");
  const double step = 1e-4;
  std::vector<double> batch;
  for (double at : {d - step, d, d + step}) {
    const std::vector<double> x = positions(at);
    batch.insert(batch.end(), x.begin(), x.end());
  }
  std::vector<double> energies(3);
  oracle->evaluate(batch.data(), 3, energies.data(), nullptr);
  const double numeric = (energies[0] - 2 * energies[1] + energies[2]) / (step * step);
  EXPECT_NEAR(result.angle[0], numeric, 1e-5 * std::abs(numeric));
  EXPECT_EQ(result.total.curvature[0], result.angle[0]);
}

// Alanine dipeptide with only its bonds and nonbonded terms (both pair
// additive, so -u^T H_ij u is exactly the pair's own curvature): every pair,
// bonded, excluded, 1-4 scaled or plain, against the finite differences.
TEST(OpenMMCoefficients, AlanineBondsAndNonbondedMatchFiniteDifferences) {
  const fs::path script = fs::path(ENERGYLOSS_SOURCE_DIR) / "examples/openmm/make_system.py";
  const fs::path full = kScratchDir / "alanine.xml", positions_path = kScratchDir / "alanine.txt";
  const std::string command = std::string(ENERGYLOSS_PYTHON) + " " + script.string() +
                              " --system-xml " + full.string() + " --positions " +
                              positions_path.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<double> reference;
  std::ifstream positions_file(positions_path);
  for (double x; positions_file >> x;) reference.push_back(x);
  const int64_t atoms = int64_t(reference.size() / 3);
  ASSERT_EQ(atoms, 22);

  std::vector<int64_t> all_pairs;
  for (int64_t i = 0; i < atoms; ++i) {
    for (int64_t j = i + 1; j < atoms; ++j) all_pairs.insert(all_pairs.end(), {i, j});
  }
  const OpenMMPairCoefficients complete = coefficients(full.string(), reference, all_pairs);
  auto ignored = [&](const std::string& name) {
    for (const std::string& line : complete.ignored) {
      if (line.find(name) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(ignored("PeriodicTorsionForce"));
  EXPECT_FALSE(ignored("HarmonicBondForce"));

  // Keep only the pair-additive forces of the serialized System.
  std::ifstream full_file(full);
  std::string xml{std::istreambuf_iterator<char>(full_file), std::istreambuf_iterator<char>()};
  for (size_t start = 0; (start = xml.find("<Force ", start)) != std::string::npos;) {
    const size_t end = xml.find("</Force>", start) + std::string("</Force>").size();
    const std::string type = xml.substr(xml.find("type=\"", start) + 6, 24);
    const bool pair_additive =
        type.rfind("HarmonicBondForce\"", 0) == 0 || type.rfind("NonbondedForce\"", 0) == 0;
    if (pair_additive) {
      start = end;
    } else {
      xml.erase(start, end - start);
    }
  }
  const std::string pairs_only = (kScratchDir / "alanine_pairs.xml").string();
  std::ofstream(pairs_only) << xml;

  const OpenMMPairCoefficients result = coefficients(pairs_only, reference, all_pairs);
  EXPECT_TRUE(result.ignored.empty());
  const auto oracle = make_openmm_oracle(pairs_only, "Reference", {}, 2);
  const std::vector<double> numeric =
      finite_difference_curvatures(*oracle, reference, all_pairs, 1e-5);
  int64_t bonded = 0;
  for (size_t e = 0; e < numeric.size(); ++e) {
    bonded += result.bond[e] > 0;
    EXPECT_NEAR(result.total.curvature[e], numeric[e], 1e-6 * std::abs(numeric[e]) + 1e-3)
        << "pair (" << all_pairs[2 * e] << ", " << all_pairs[2 * e + 1] << ")";
    // The angle-free System agrees with the full one on everything but angles.
    EXPECT_NEAR(result.total.curvature[e], complete.total.curvature[e] - complete.angle[e],
                1e-9 * std::abs(result.total.curvature[e]) + 1e-9);
  }
  EXPECT_EQ(bonded, 21);  // 22 atoms, one molecule, no rings
}

TEST(OpenMMCoefficients, BadInputsNameTheirArgument) {
  const std::string path = write_system("bond", 2, bonds_force({{0, 1, 0.1, 1000}}));
  auto message = [&](const std::vector<double>& reference, const std::vector<int64_t>& edges,
                     const std::string& file) {
    return error_message([&] { coefficients(file, reference, edges); });
  };
  const std::string wrong_count = message({0, 0, 0, 0.1, 0, 0, 0.2, 0, 0}, {0, 1}, path);
  EXPECT_NE(wrong_count.find("3 atoms"), std::string::npos) << wrong_count;
  EXPECT_NE(wrong_count.find("2 particles"), std::string::npos) << wrong_count;
  EXPECT_NE(message({0, 0, 0, NAN, 0, 0}, {0, 1}, path).find("atom 1"), std::string::npos);
  EXPECT_NE(message({0, 0, 0, 0.1, 0, 0}, {0, 2}, path).find("edges[0]"), std::string::npos);
  EXPECT_NE(message({0, 0, 0, 0.1, 0, 0}, {1, 1}, path).find("edges[0]"), std::string::npos);
  EXPECT_NE(message({0, 0, 0, 0, 0, 0}, {0, 1}, path).find("coincide"), std::string::npos);
  const std::string missing = (kScratchDir / "missing.xml").string();
  EXPECT_NE(message({0, 0, 0, 0.1, 0, 0}, {0, 1}, missing).find(missing), std::string::npos);
}

}  // namespace
}  // namespace energyloss
