// XML serialization of EnergyLossForce (XmlSerializer, System XML files).
#include <cmath>
#include <limits>
#include <memory>
#include <typeinfo>

#include "EnergyLossForce.h"
#include "internal/EnergyLossErrors.h"
#include "openmm/OpenMMException.h"
#include "openmm/serialization/SerializationNode.h"
#include "openmm/serialization/SerializationProxy.h"

namespace EnergyLossPlugin {
namespace {

// Version 2 added the pair rule, version 3 periodic boundary conditions;
// older files still load (explicit edges only, non-periodic).
constexpr int kVersion = 3;

class EnergyLossForceProxy : public OpenMM::SerializationProxy {
 public:
  EnergyLossForceProxy() : OpenMM::SerializationProxy("EnergyLossForce") {}

  void serialize(const void* object, OpenMM::SerializationNode& node) const override {
    const auto& force = *static_cast<const EnergyLossForce*>(object);
    node.setIntProperty("version", kVersion);
    node.setIntProperty("forceGroup", force.getForceGroup());
    node.setStringProperty("name", force.getName());
    node.setStringProperty("scaleName", force.getScaleParameterName());
    node.setDoubleProperty("defaultScale", force.getDefaultScale());
    node.setBoolProperty("periodic", force.usesPeriodicBoundaryConditions());
    OpenMM::SerializationNode& positions = node.createChildNode("ReferencePositions");
    for (const OpenMM::Vec3& position : force.getReferencePositions())
      positions.createChildNode("Position")
          .setDoubleProperty("x", position[0])
          .setDoubleProperty("y", position[1])
          .setDoubleProperty("z", position[2]);
    if (force.hasPairsWithinCutoff()) {
      const energyloss::CoefficientSpec& spec = force.getPairCoefficients();
      OpenMM::SerializationNode& rule = node.createChildNode("PairsWithinCutoff");
      rule.setStringProperty("mode", energyloss::coefficient_mode_name(spec.mode))
          .setDoubleProperty("k0", spec.k0)
          .setIntProperty("perAtom", spec.per_atom ? 1 : 0)
          .setDoubleProperty("lengthScale", spec.length_scale)
          .setDoubleProperty("eps", spec.eps);
      // XML has no portable spelling of infinity: no cutoff attribute means none.
      if (std::isfinite(force.getPairCutoff()))
        rule.setDoubleProperty("cutoff", force.getPairCutoff());
    }
    OpenMM::SerializationNode& edges = node.createChildNode("Edges");
    for (int e = 0; e < force.getNumEdges(); ++e) {
      int particle1, particle2;
      double k, r0;
      force.getEdgeParameters(e, particle1, particle2, k, r0);
      edges.createChildNode("Edge")
          .setIntProperty("p1", particle1)
          .setIntProperty("p2", particle2)
          .setDoubleProperty("k", k);
    }
  }

  void* deserialize(const OpenMM::SerializationNode& node) const override {
    const int version = node.getIntProperty("version");
    if (version < 1 || version > kVersion)
      throw OpenMM::OpenMMException("EnergyLossForce: unsupported serialization version " +
                                    std::to_string(version));
    std::vector<OpenMM::Vec3> positions;
    for (const OpenMM::SerializationNode& position :
         node.getChildNode("ReferencePositions").getChildren())
      positions.emplace_back(position.getDoubleProperty("x"), position.getDoubleProperty("y"),
                             position.getDoubleProperty("z"));
    auto force = std::make_unique<EnergyLossForce>(positions);
    force->setForceGroup(node.getIntProperty("forceGroup", 0));
    force->setName(node.getStringProperty("name", force->getName()));
    force->setScaleParameterName(node.getStringProperty("scaleName"));
    force->setDefaultScale(node.getDoubleProperty("defaultScale"));
    force->setUsesPeriodicBoundaryConditions(node.getBoolProperty("periodic", false));
    for (const OpenMM::SerializationNode& rule : node.getChildren()) {
      if (rule.getName() != "PairsWithinCutoff") continue;
      energyloss::CoefficientSpec spec;
      spec.mode = asOpenMMErrors(
          [&] { return energyloss::parse_coefficient_mode(rule.getStringProperty("mode")); });
      spec.k0 = rule.getDoubleProperty("k0");
      spec.per_atom = rule.getIntProperty("perAtom") != 0;
      spec.length_scale = rule.getDoubleProperty("lengthScale");
      spec.eps = rule.getDoubleProperty("eps");
      force->setPairsWithinCutoff(
          spec, rule.getDoubleProperty("cutoff", std::numeric_limits<double>::infinity()));
    }
    for (const OpenMM::SerializationNode& edge : node.getChildNode("Edges").getChildren())
      force->addEdge(edge.getIntProperty("p1"), edge.getIntProperty("p2"),
                     edge.getDoubleProperty("k"));
    return force.release();
  }
};

// Registers the proxy when the API library is loaded. OpenMM's registry keeps
// the pointer and never deletes it, so the proxy is a static object, not a
// heap one that LeakSanitizer would report.
const bool registered = [] {
  static EnergyLossForceProxy proxy;
  OpenMM::SerializationProxy::registerProxy(typeid(EnergyLossForce), &proxy);
  return true;
}();

}  // namespace
}  // namespace EnergyLossPlugin
