// EnergyLossForce on the Reference and CPU platforms, checked against
// common/'s pair kernel (complete-graph path, k computed inside the kernel),
// a naive sum, finite differences and rigid motions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "../../tests/support/expect_error.h"
#include "../../tests/support/finite_differences.h"
#include "EnergyLossForce.h"
#include "energyloss/pair_energy.h"
#include "openmm/Context.h"
#include "openmm/HarmonicBondForce.h"
#include "openmm/OpenMMException.h"
#include "openmm/Platform.h"
#include "openmm/State.h"
#include "openmm/System.h"
#include "openmm/VerletIntegrator.h"
#include "openmm/serialization/XmlSerializer.h"

using energyloss::test_support::central_difference;
using energyloss::test_support::expect_error;
using EnergyLossPlugin::EnergyLossForce;
using OpenMM::Vec3;

namespace {

class LoadPlugins : public ::testing::Environment {
 public:
  void SetUp() override {
    // A C++ program starts with only the Reference platform.
    OpenMM::Platform::loadPluginsFromDirectory(OpenMM::Platform::getDefaultPluginsDirectory());
    OpenMM::Platform::loadPluginsFromDirectory(ENERGYLOSS_OPENMM_PLUGIN_DIR);
    for (const std::string& failure : OpenMM::Platform::getPluginLoadFailures())
      std::printf("plugin load failure: %s\n", failure.c_str());
  }
};
const auto* const environment = ::testing::AddGlobalTestEnvironment(new LoadPlugins);

std::vector<Vec3> randomPositions(int n, unsigned seed, double spread = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-spread, spread);
  std::vector<Vec3> positions(n);
  for (Vec3& x : positions) x = Vec3(uniform(rng), uniform(rng), uniform(rng));
  return positions;
}

std::vector<Vec3> perturbed(const std::vector<Vec3>& positions, unsigned seed, double amount) {
  std::vector<Vec3> noise = randomPositions(static_cast<int>(positions.size()), seed, amount);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] += positions[i];
  return noise;
}

std::vector<double> flat(const std::vector<Vec3>& positions) {
  std::vector<double> values;
  for (const Vec3& x : positions)
    for (int c = 0; c < 3; ++c) values.push_back(x[c]);
  return values;
}

// The restraint in a System of its own, evaluated on one platform.
struct Evaluation {
  OpenMM::System system;
  EnergyLossForce* force;  // owned by system
  OpenMM::VerletIntegrator integrator{0.001};
  std::unique_ptr<OpenMM::Context> context;

  Evaluation(std::unique_ptr<EnergyLossForce> restraint, const std::string& platform,
             const std::map<std::string, std::string>& properties = {}) {
    for (int i = 0; i < restraint->getNumParticles(); ++i) system.addParticle(12.0);
    force = restraint.release();
    system.addForce(force);
    context = std::make_unique<OpenMM::Context>(
        system, integrator, OpenMM::Platform::getPlatformByName(platform), properties);
  }
  OpenMM::State state(const std::vector<Vec3>& positions) {
    context->setPositions(positions);
    return context->getState(OpenMM::State::Energy | OpenMM::State::Forces);
  }
  double energy(const std::vector<Vec3>& positions) {
    context->setPositions(positions);
    return context->getState(OpenMM::State::Energy).getPotentialEnergy();
  }
};

// Calls visit(i, j, k, r0) for every pair of the force's pair rule, k from
// coefficients.h's k(r) with the prefactor divided by N when per_atom.
template <typename Visit>
void forEachRulePair(const EnergyLossForce& force, Visit visit) {
  if (!force.hasPairsWithinCutoff()) return;
  const energyloss::CoefficientSpec& spec = force.getPairCoefficients();
  const int n = force.getNumParticles();
  const double k0 = spec.per_atom ? spec.k0 / n : spec.k0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const Vec3 d = force.getReferencePositions()[i] - force.getReferencePositions()[j];
      const double r0 = std::sqrt(d.dot(d));
      if (!(r0 < force.getPairCutoff())) continue;
      double k = 0.0, dk_dr = 0.0;
      energyloss::coefficient(spec, k0, r0, k, dk_dr);
      visit(i, j, k, r0);
    }
}

// The force's energy written out pair by pair: its pair rule plus its
// explicit edges, each 1/2 k (|x_i - x_j| - r0)^2.
double naiveEnergy(const EnergyLossForce& force, const std::vector<Vec3>& positions) {
  double energy = 0.0;
  auto addStretchEnergy = [&](int i, int j, double k, double r0) {
    const Vec3 d = positions[i] - positions[j];
    const double stretch = std::sqrt(d.dot(d)) - r0;
    energy += 0.5 * k * stretch * stretch;
  };
  forEachRulePair(force, addStretchEnergy);
  for (int e = 0; e < force.getNumEdges(); ++e) {
    int i, j;
    double k, r0;
    force.getEdgeParameters(e, i, j, k, r0);
    addStretchEnergy(i, j, k, r0);
  }
  return energy;
}

// The force's pair rule turned into explicit edges (the edge-list path).
std::unique_ptr<EnergyLossForce> pairRuleAsEdges(const EnergyLossForce& force) {
  auto edges = std::make_unique<EnergyLossForce>(force.getReferencePositions());
  forEachRulePair(force, [&](int i, int j, double k, double) { edges->addEdge(i, j, k); });
  return edges;
}

// common/'s kernel on its complete-graph path: k(r0) computed by the kernel.
double commonKernelEnergy(const std::vector<Vec3>& positions, const std::vector<Vec3>& reference,
                          const energyloss::CoefficientSpec& spec, double cutoff) {
  const std::vector<double> pred = flat(positions), ref = flat(reference);
  energyloss::PairLossInput<double> input;
  input.pred = pred.data();
  input.ref = ref.data();
  input.layout.atoms = static_cast<int64_t>(positions.size());
  input.cutoff = cutoff;
  double energy = 0.0;
  energyloss::PairLossOutput<double> output;
  output.energy = &energy;
  energyloss::pair_energy_loss(input, spec, output);
  return energy;
}

class OnPlatform : public ::testing::TestWithParam<std::string> {};

TEST_P(OnPlatform, EnergyEqualsCommonKernelForEachCoefficientMode) {
  const std::vector<Vec3> reference = randomPositions(17, 1);
  const std::vector<Vec3> positions = perturbed(reference, 2, 0.2);
  const double inf = std::numeric_limits<double>::infinity();
  for (const char* mode : {"exp", "inv", "inv2", "constant", "lj", "morse"})
    for (double cutoff : {inf, 1.2}) {
      const energyloss::CoefficientSpec spec =
          energyloss::CoefficientSpec::preset(energyloss::parse_coefficient_mode(mode));
      Evaluation evaluation(std::make_unique<EnergyLossForce>(reference, spec, cutoff), GetParam());
      const double expected = commonKernelEnergy(positions, reference, spec, cutoff);
      EXPECT_GT(expected, 0.0);
      EXPECT_NEAR(evaluation.energy(positions), expected, 1e-12 * (1.0 + expected))
          << mode << " cutoff " << cutoff;
      EXPECT_NEAR(evaluation.energy(positions), naiveEnergy(*evaluation.force, positions),
                  1e-12 * (1.0 + expected));
      EXPECT_NEAR(evaluation.energy(reference), 0.0, 1e-14) << mode;
    }
}

TEST_P(OnPlatform, PairRuleEqualsTheSamePairsAsExplicitEdges) {
  const std::vector<Vec3> reference = randomPositions(40, 24, 1.5);
  const std::vector<Vec3> positions = perturbed(reference, 25, 0.2);
  for (double cutoff : {std::numeric_limits<double>::infinity(), 1.0}) {
    const EnergyLossForce rule(
        reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Inv2), cutoff);
    std::unique_ptr<EnergyLossForce> edges = pairRuleAsEdges(rule);
    if (std::isfinite(cutoff)) {
      EXPECT_LT(edges->getNumEdges(), 40 * 39 / 2);
    }
    Evaluation onRule(std::make_unique<EnergyLossForce>(rule), GetParam());
    Evaluation onEdges(std::move(edges), GetParam());
    const OpenMM::State a = onRule.state(positions), b = onEdges.state(positions);
    EXPECT_GT(a.getPotentialEnergy(), 0.0);
    EXPECT_NEAR(a.getPotentialEnergy(), b.getPotentialEnergy(), 1e-12 * b.getPotentialEnergy());
    for (size_t i = 0; i < positions.size(); ++i)
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(a.getForces()[i][c], b.getForces()[i][c], 1e-10);
  }
}

TEST_P(OnPlatform, ForcesEqualFiniteDifferences) {
  const std::vector<Vec3> reference = randomPositions(9, 3);
  const std::vector<Vec3> positions = perturbed(reference, 4, 0.3);
  auto restraint = std::make_unique<EnergyLossForce>(
      reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Inv));
  restraint->addEdge(0, 5, 40.0);  // an explicit edge on top of a complete-graph one
  Evaluation evaluation(std::move(restraint), GetParam());
  const std::vector<Vec3> forces = evaluation.state(positions).getForces();
  const double h = 1e-5;
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c) {
      const double derivative = central_difference(
          [&](double step) {
            std::vector<Vec3> moved = positions;
            moved[i][c] += step;
            return evaluation.energy(moved);
          },
          h);
      EXPECT_NEAR(forces[i][c], -derivative, 1e-6) << "particle " << i << " axis " << c;
    }
}

TEST_P(OnPlatform, EnergyUnchangedByRotationAndTranslation) {
  const std::vector<Vec3> reference = randomPositions(20, 5);
  const std::vector<Vec3> positions = perturbed(reference, 6, 0.25);
  Evaluation evaluation(
      std::make_unique<EnergyLossForce>(
          reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp)),
      GetParam());
  const OpenMM::State before = evaluation.state(positions);
  // Rotation about the axis (1, 2, 2) / 3 by 0.7 rad (Rodrigues), then a shift.
  const Vec3 axis = Vec3(1, 2, 2) / 3.0;
  const double angle = 0.7;
  const Vec3 shift(3.0, -1.5, 0.25);
  auto rotate = [&](const Vec3& v) {
    return v * std::cos(angle) + axis.cross(v) * std::sin(angle) +
           axis * (axis.dot(v) * (1 - std::cos(angle)));
  };
  std::vector<Vec3> moved;
  for (const Vec3& x : positions) moved.push_back(rotate(x) + shift);
  const OpenMM::State after = evaluation.state(moved);
  EXPECT_GT(before.getPotentialEnergy(), 0.0);
  EXPECT_NEAR(after.getPotentialEnergy(), before.getPotentialEnergy(),
              1e-12 * before.getPotentialEnergy());
  // Forces rotate with the system (and ignore the shift).
  for (size_t i = 0; i < positions.size(); ++i) {
    const Vec3 expected = rotate(before.getForces()[i]);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(after.getForces()[i][c], expected[c], 1e-10);
  }
}

TEST_P(OnPlatform, PeriodicImagesGiveTheUnwrappedStructuresEnergyAndForces) {
  // A compact structure in a triclinic box (OpenMM's reduced form), each
  // particle then moved by its own random lattice vector, as a wrapping
  // integrator would leave it.
  const Vec3 box[3] = {Vec3(3.0, 0, 0), Vec3(0.5, 3.1, 0), Vec3(-0.4, 0.6, 2.9)};
  const std::vector<Vec3> reference = randomPositions(20, 41, 0.6);
  const std::vector<Vec3> unwrapped = perturbed(reference, 42, 0.1);
  std::vector<Vec3> wrapped = unwrapped;
  std::mt19937 rng(43);
  std::uniform_int_distribution<int> image(-2, 2);
  for (Vec3& x : wrapped) x += box[0] * image(rng) + box[1] * image(rng) + box[2] * image(rng);

  auto restraint = [&](bool periodic) {
    auto force = std::make_unique<EnergyLossForce>(
        reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp));
    force->addEdge(3, 17, 25.0);
    force->setUsesPeriodicBoundaryConditions(periodic);
    return force;
  };
  Evaluation periodic(restraint(true), GetParam());
  periodic.context->setPeriodicBoxVectors(box[0], box[1], box[2]);
  Evaluation open(restraint(false), GetParam());
  EXPECT_TRUE(periodic.force->usesPeriodicBoundaryConditions());

  const OpenMM::State expected = open.state(unwrapped);
  const OpenMM::State state = periodic.state(wrapped);
  EXPECT_GT(expected.getPotentialEnergy(), 0.0);
  EXPECT_NEAR(state.getPotentialEnergy(), expected.getPotentialEnergy(),
              1e-10 * expected.getPotentialEnergy());
  EXPECT_NEAR(state.getPotentialEnergy(), naiveEnergy(*periodic.force, unwrapped),
              1e-10 * expected.getPotentialEnergy());
  for (size_t i = 0; i < wrapped.size(); ++i)
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(state.getForces()[i][c], expected.getForces()[i][c], 1e-9) << "particle " << i;
  // Without periodic boundary conditions the wrapped coordinates are a
  // different, badly stretched structure.
  EXPECT_GT(open.energy(wrapped), 10 * expected.getPotentialEnergy());

  // Switching periodicity is not a parameter update.
  periodic.force->setUsesPeriodicBoundaryConditions(false);
  EXPECT_THROW(periodic.force->updateParametersInContext(*periodic.context),
               OpenMM::OpenMMException);
}

TEST_P(OnPlatform, ScaleParameterTakesEffect) {
  const std::vector<Vec3> reference = randomPositions(8, 7);
  const std::vector<Vec3> positions = perturbed(reference, 8, 0.3);
  Evaluation evaluation(
      std::make_unique<EnergyLossForce>(
          reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp)),
      GetParam());
  const std::string name = EnergyLossForce::kDefaultScaleName;
  EXPECT_EQ(evaluation.context->getParameter(name), 1.0);
  const OpenMM::State full = evaluation.state(positions);
  EXPECT_NEAR(full.getPotentialEnergy(), naiveEnergy(*evaluation.force, positions), 1e-12);
  evaluation.context->setParameter(name, 0.25);
  EXPECT_EQ(evaluation.context->getParameter(name), 0.25);
  const OpenMM::State quarter = evaluation.state(positions);
  EXPECT_NEAR(quarter.getPotentialEnergy(), 0.25 * full.getPotentialEnergy(), 1e-14);
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(quarter.getForces()[i][c], 0.25 * full.getForces()[i][c], 1e-12);
  evaluation.context->setParameter(name, 0.0);
  EXPECT_EQ(evaluation.energy(positions), 0.0);
}

TEST_P(OnPlatform, RenamedScaleWithDefault) {
  const std::vector<Vec3> reference = randomPositions(6, 9);
  const std::vector<Vec3> positions = perturbed(reference, 10, 0.3);
  auto restraint = std::make_unique<EnergyLossForce>(
      reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Constant));
  restraint->setScaleParameterName("lambda");
  restraint->setDefaultScale(3.0);
  const double unscaled = naiveEnergy(*restraint, positions);
  Evaluation evaluation(std::move(restraint), GetParam());
  EXPECT_EQ(evaluation.context->getParameter("lambda"), 3.0);
  EXPECT_NEAR(evaluation.energy(positions), 3.0 * unscaled, 1e-12);
}

TEST_P(OnPlatform, UpdateParametersInContext) {
  const std::vector<Vec3> reference = randomPositions(7, 11);
  const std::vector<Vec3> positions = perturbed(reference, 12, 0.3);
  auto restraint = std::make_unique<EnergyLossForce>(
      reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Constant));
  for (int i = 0; i + 2 < restraint->getNumParticles(); ++i) restraint->addEdge(i, i + 2, 30.0);
  Evaluation evaluation(std::move(restraint), GetParam());
  EnergyLossForce& force = *evaluation.force;
  int particle1, particle2;
  double k, r0;
  force.getEdgeParameters(0, particle1, particle2, k, r0);
  force.setEdgeParameters(0, particle1, particle2, 250.0);
  force.setReferencePositions(perturbed(reference, 13, 0.1));
  energyloss::CoefficientSpec exp =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp);
  exp.k0 = 60.0;
  force.setPairsWithinCutoff(exp, 1.5);
  const double expected = naiveEnergy(force, positions);
  EXPECT_NE(evaluation.energy(positions), expected);  // not pushed yet
  force.updateParametersInContext(*evaluation.context);
  EXPECT_NEAR(evaluation.energy(positions), expected, 1e-12 * expected);
  // A new k on edge 0 with new particles on the last edge: rejected as a whole.
  const int last = force.getNumEdges() - 1;
  int lastParticle1, lastParticle2;
  force.getEdgeParameters(last, lastParticle1, lastParticle2, k, r0);
  force.setEdgeParameters(0, particle1, particle2, 999.0);
  force.setEdgeParameters(last, lastParticle1 == 0 ? 2 : 0, lastParticle2, k);
  EXPECT_THROW(force.updateParametersInContext(*evaluation.context), OpenMM::OpenMMException);
  EXPECT_NEAR(evaluation.energy(positions), expected, 1e-12 * expected);
  force.setEdgeParameters(last, lastParticle1, lastParticle2, k);
  force.addEdge(0, 1, 1.0);
  EXPECT_THROW(force.updateParametersInContext(*evaluation.context), OpenMM::OpenMMException);
  EXPECT_NEAR(evaluation.energy(positions), expected, 1e-12 * expected);
}

TEST_P(OnPlatform, SparseRigidEdgesRestrainTowardTheReference) {
  const std::vector<Vec3> reference = randomPositions(30, 14);
  const std::vector<Vec3> positions = perturbed(reference, 15, 0.2);
  auto restraint = std::make_unique<EnergyLossForce>(reference);
  restraint->addSparseRigidEdges(
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp));
  EXPECT_LT(restraint->getNumEdges(), 30 * 29 / 2);
  EXPECT_GT(restraint->getNumEdges(), 0);
  const double expected = naiveEnergy(*restraint, positions);
  Evaluation evaluation(std::move(restraint), GetParam());
  EXPECT_NEAR(evaluation.energy(positions), expected, 1e-12);
  EXPECT_NEAR(evaluation.energy(reference), 0.0, 1e-14);
}

TEST_P(OnPlatform, NonFinitePositionsRaiseInsteadOfReturningNaN) {
  const std::vector<Vec3> reference = randomPositions(5, 21);
  Evaluation evaluation(
      std::make_unique<EnergyLossForce>(
          reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp)),
      GetParam());
  std::vector<Vec3> positions = reference;
  positions[3][1] = std::nan("");
  evaluation.context->setPositions(positions);
  // The CPU platform checks coordinates itself before our kernel runs; on
  // Reference the kernel's own check (common/'s, rethrown as OpenMM's type) raises.
  EXPECT_THROW(evaluation.context->getState(OpenMM::State::Energy), OpenMM::OpenMMException);
}

TEST_P(OnPlatform, DynamicsConserveEnergy) {
  const std::vector<Vec3> reference = randomPositions(12, 22);
  const std::vector<Vec3> start = perturbed(reference, 23, 0.2);
  energyloss::CoefficientSpec spec =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Constant);
  spec.k0 = 500.0;
  Evaluation evaluation(std::make_unique<EnergyLossForce>(reference, spec), GetParam());
  evaluation.context->setPositions(start);
  const OpenMM::State before =
      evaluation.context->getState(OpenMM::State::Energy | OpenMM::State::Velocities);
  evaluation.integrator.step(200);
  const OpenMM::State after =
      evaluation.context->getState(OpenMM::State::Energy | OpenMM::State::Velocities);
  // Started at rest: total energy is conserved while potential turns into kinetic.
  EXPECT_LT(after.getPotentialEnergy(), before.getPotentialEnergy());
  EXPECT_NEAR(after.getKineticEnergy() + after.getPotentialEnergy(), before.getPotentialEnergy(),
              1e-3 * before.getPotentialEnergy());
}

TEST_P(OnPlatform, PeriodicReferenceEdgeLongerThanHalfABoxThrowsNamingThePair) {
  // Two particles 0.6 nm apart in the reference, one edge with k = 100, the
  // second moved 0.05 nm: E = 1/2 100 0.05^2 while the box holds the pair.
  // In a 1.0 nm box the nearest image is 0.35 nm away and the energy was
  // silently 1/2 100 0.25^2 (trial B, F7); now it throws.
  const std::vector<Vec3> reference = {Vec3(0.1, 0.1, 0.1), Vec3(0.7, 0.1, 0.1)};
  const std::vector<Vec3> moved = {Vec3(0.1, 0.1, 0.1), Vec3(0.75, 0.1, 0.1)};
  auto force = std::make_unique<EnergyLossForce>(reference);
  force->addEdge(0, 1, 100.0);
  force->setUsesPeriodicBoundaryConditions(true);
  Evaluation evaluation(std::move(force), GetParam());
  auto cube = [&](double side) {
    evaluation.context->setPeriodicBoxVectors(Vec3(side, 0, 0), Vec3(0, side, 0), Vec3(0, 0, side));
  };
  cube(1.5);
  EXPECT_NEAR(evaluation.energy(moved), 0.5 * 100.0 * 0.05 * 0.05, 1e-12);
  cube(1.0);
  expect_error<OpenMM::OpenMMException>(
      [&] { evaluation.energy(moved); },
      "periodic: particles 0 and 1 are 0.6 nm apart in the reference, at least half");
  cube(1.5);  // a box that holds the pair again
  EXPECT_NEAR(evaluation.energy(moved), 0.5 * 100.0 * 0.05 * 0.05, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Platforms, OnPlatform, ::testing::Values("Reference", "CPU"));

TEST(EnergyLossForce, ReferenceAndCpuAgree) {
  const std::vector<Vec3> reference = randomPositions(300, 16, 2.0);
  const std::vector<Vec3> positions = perturbed(reference, 17, 0.3);
  auto restraint = [&] {
    auto force = std::make_unique<EnergyLossForce>(
        reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp));
    for (int i = 0; i + 7 < force->getNumParticles(); ++i) force->addEdge(i, i + 7, 3.0);
    return force;
  };
  Evaluation onReference(restraint(), "Reference");
  // Three threads on 44850 rule pairs and 293 edges: uneven row and edge
  // shares, more threads than this machine's cores.
  Evaluation onCpu(restraint(), "CPU", {{"Threads", "3"}});
  EXPECT_EQ(onCpu.context->getPlatform().getPropertyValue(*onCpu.context, "Threads"), "3");
  const OpenMM::State a = onReference.state(positions), b = onCpu.state(positions);
  EXPECT_NEAR(a.getPotentialEnergy(), naiveEnergy(*onReference.force, positions),
              1e-12 * a.getPotentialEnergy());
  EXPECT_NEAR(a.getPotentialEnergy(), b.getPotentialEnergy(), 1e-12 * a.getPotentialEnergy());
  for (size_t i = 0; i < positions.size(); ++i)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(a.getForces()[i][c], b.getForces()[i][c], 1e-10);
}

TEST(EnergyLossForce, SerializationRoundTrip) {
  const std::vector<Vec3> reference = randomPositions(10, 18);
  EnergyLossForce force(
      reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Inv2), 1.0);
  force.addEdge(2, 7, 12.5);
  force.setForceGroup(3);
  force.setName("restraint");
  force.setScaleParameterName("lambda");
  force.setDefaultScale(0.5);
  force.setUsesPeriodicBoundaryConditions(true);
  std::stringstream xml;
  OpenMM::XmlSerializer::serialize<OpenMM::Force>(&force, "Force", xml);
  std::unique_ptr<OpenMM::Force> base(OpenMM::XmlSerializer::deserialize<OpenMM::Force>(xml));
  const auto* copy = dynamic_cast<const EnergyLossForce*>(base.get());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->getForceGroup(), 3);
  EXPECT_EQ(copy->getName(), "restraint");
  EXPECT_EQ(copy->getScaleParameterName(), "lambda");
  EXPECT_EQ(copy->getDefaultScale(), 0.5);
  EXPECT_TRUE(copy->usesPeriodicBoundaryConditions());
  ASSERT_EQ(copy->getNumParticles(), force.getNumParticles());
  for (int i = 0; i < force.getNumParticles(); ++i)
    for (int c = 0; c < 3; ++c)
      EXPECT_EQ(copy->getReferencePositions()[i][c], force.getReferencePositions()[i][c]);
  ASSERT_TRUE(copy->hasPairsWithinCutoff());
  EXPECT_EQ(copy->getPairCutoff(), 1.0);
  EXPECT_EQ(copy->getPairCoefficients().mode, energyloss::CoefficientMode::Inv2);
  EXPECT_EQ(copy->getPairCoefficients().k0, force.getPairCoefficients().k0);
  EXPECT_EQ(copy->getPairCoefficients().per_atom, force.getPairCoefficients().per_atom);
  EXPECT_EQ(copy->getPairCoefficients().eps, force.getPairCoefficients().eps);
  const std::vector<Vec3> positions = perturbed(reference, 26, 0.2);
  EXPECT_EQ(naiveEnergy(*copy, positions), naiveEnergy(force, positions));
  ASSERT_EQ(copy->getNumEdges(), force.getNumEdges());
  for (int e = 0; e < force.getNumEdges(); ++e) {
    int i1, j1, i2, j2;
    double k1, r1, k2, r2;
    force.getEdgeParameters(e, i1, j1, k1, r1);
    copy->getEdgeParameters(e, i2, j2, k2, r2);
    EXPECT_EQ(i1, i2);
    EXPECT_EQ(j1, j2);
    EXPECT_EQ(k1, k2);  // XmlSerializer writes doubles with full precision
    EXPECT_EQ(r1, r2);
  }
}

TEST(EnergyLossForce, CompleteGraphRuleSurvivesSerialization) {
  // No cutoff: infinity has no XML spelling and must come back as "none".
  const std::vector<Vec3> reference = randomPositions(6, 27);
  const EnergyLossForce force(
      reference, energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp));
  std::stringstream xml;
  OpenMM::XmlSerializer::serialize<OpenMM::Force>(&force, "Force", xml);
  std::unique_ptr<OpenMM::Force> base(OpenMM::XmlSerializer::deserialize<OpenMM::Force>(xml));
  const auto& copy = dynamic_cast<const EnergyLossForce&>(*base);
  ASSERT_TRUE(copy.hasPairsWithinCutoff());
  EXPECT_TRUE(std::isinf(copy.getPairCutoff()));
  const std::vector<Vec3> positions = perturbed(reference, 28, 0.2);
  EXPECT_GT(naiveEnergy(copy, positions), 0.0);
  EXPECT_EQ(naiveEnergy(copy, positions), naiveEnergy(force, positions));
}

TEST(EnergyLossForce, BondEdgesAndCoefficientEdges) {
  const std::vector<Vec3> reference = randomPositions(5, 29);
  OpenMM::System system;
  auto* bonds = new OpenMM::HarmonicBondForce();
  for (int i = 0; i < 5; ++i) system.addParticle(1.0);
  for (int i = 0; i + 1 < 5; ++i) bonds->addBond(i + 1, i, 0.1, 1000.0);  // reversed order
  bonds->addBond(0, 1, 0.1, 1000.0);                                      // a repeat
  system.addForce(bonds);
  energyloss::CoefficientSpec constant =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Constant);
  constant.k0 = 7.0;
  constant.per_atom = false;
  EnergyLossForce force(reference);
  EXPECT_EQ(force.addBondEdges(system, constant), 4);
  for (int e = 0; e < 4; ++e) {
    int i, j;
    double k, r0;
    force.getEdgeParameters(e, i, j, k, r0);
    EXPECT_EQ(i, e);
    EXPECT_EQ(j, e + 1);
    EXPECT_EQ(k, 7.0);
  }
  // k(r0) of a mode at the pair's reference distance, k0 divided by N.
  const energyloss::CoefficientSpec exp =
      energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp);
  const int index = force.addEdge(0, 3, exp);
  int i, j;
  double k, r0;
  force.getEdgeParameters(index, i, j, k, r0);
  EXPECT_NEAR(k, exp.k0 / 5 * std::exp(-r0 / exp.length_scale), 1e-14);
  OpenMM::System empty;
  for (int p = 0; p < 5; ++p) empty.addParticle(1.0);
  EXPECT_THROW(force.addBondEdges(empty, constant), OpenMM::OpenMMException);
}

TEST(EnergyLossForce, BadInputIsRejectedWithClearErrors) {
  const std::vector<Vec3> reference = randomPositions(4, 19);
  EnergyLossForce force(reference);
  EXPECT_THROW(force.addEdge(0, 4, 1.0), OpenMM::OpenMMException);
  EXPECT_THROW(force.addEdge(2, 2, 1.0), OpenMM::OpenMMException);
  EXPECT_THROW(force.addEdge(0, 1, -1.0), OpenMM::OpenMMException);
  EXPECT_THROW(force.addEdge(0, 1, std::nan("")), OpenMM::OpenMMException);
  EXPECT_THROW(force.setPairsWithinCutoff(
                   energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Explicit)),
               OpenMM::OpenMMException);
  EXPECT_THROW(force.setReferencePositions(randomPositions(5, 20)), OpenMM::OpenMMException);
  EXPECT_THROW(EnergyLossForce(std::vector<Vec3>{}), OpenMM::OpenMMException);
  EXPECT_THROW(EnergyLossForce({Vec3(0, 0, 0), Vec3(std::nan(""), 0, 0)}), OpenMM::OpenMMException);
  expect_error<OpenMM::OpenMMException>([&] { force.addEdge(0, 9, 1.0); }, "(0, 9)");
  // A force with neither a pair rule nor edges restrains nothing: refused
  // when a Context is created (as LAMMPS refuses an empty edges file).
  {
    OpenMM::System empty;
    for (int i = 0; i < 4; ++i) empty.addParticle(1.0);
    empty.addForce(new EnergyLossForce(reference));
    OpenMM::VerletIntegrator integrator(0.001);
    expect_error<OpenMM::OpenMMException>(
        [&] {
          OpenMM::Context(empty, integrator, OpenMM::Platform::getPlatformByName("Reference"));
        },
        "no pairs to restrain");
  }
  // A System whose particle count differs from the reference.
  OpenMM::System system;
  for (int i = 0; i < 5; ++i) system.addParticle(1.0);
  system.addForce(new EnergyLossForce(reference));
  OpenMM::VerletIntegrator integrator(0.001);
  EXPECT_THROW(
      OpenMM::Context(system, integrator, OpenMM::Platform::getPlatformByName("Reference")),
      OpenMM::OpenMMException);
}

}  // namespace
