#include "energyloss/coefficients.h"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {

CoefficientSpec CoefficientSpec::preset(CoefficientMode mode) {
  CoefficientSpec spec;
  spec.mode = mode;
  spec.per_atom = false;
  switch (mode) {
    case CoefficientMode::Exp:
      spec.k0 = 24.0;
      spec.per_atom = true;
      break;
    case CoefficientMode::Inv:
      spec.k0 = 3.7;
      spec.per_atom = true;
      break;
    case CoefficientMode::Inv2:
      spec.k0 = 9.0;
      spec.per_atom = true;
      break;
    case CoefficientMode::LennardJones:
      spec.k0 = 72.0;
      break;
    case CoefficientMode::Constant:
    case CoefficientMode::Morse:
    case CoefficientMode::Explicit:
      spec.k0 = 1.0;
      break;
  }
  return spec;
}

CoefficientSpec CoefficientSpec::preset(CoefficientMode mode, double angstrom) {
  require(std::isfinite(angstrom) && angstrom > 0.0,
          "coefficient preset: one angstrom must be a finite, positive length in the target "
          "unit, got ",
          angstrom);
  CoefficientSpec spec = preset(mode);
  spec.length_scale *= angstrom;
  switch (mode) {
    case CoefficientMode::Exp:
    case CoefficientMode::Constant:
      spec.k0 /= angstrom * angstrom;  // energy / length^2
      break;
    case CoefficientMode::Inv:
      spec.k0 /= angstrom;  // k0 / (r + eps): energy / length
      spec.eps *= angstrom;
      break;
    case CoefficientMode::Inv2:
      spec.eps *= angstrom * angstrom;  // k0 / (r^2 + eps): k0 is an energy
      break;
    case CoefficientMode::LennardJones:  // k0 / r^2: k0 is an energy
    case CoefficientMode::Morse:         // 2 k0 / length_scale^2: k0 is an energy
    case CoefficientMode::Explicit:      // k0 multiplies the given k
      break;
  }
  return spec;
}

namespace {
struct ModeName {
  CoefficientMode mode;
  const char* name;
};
constexpr ModeName kModeNames[] = {
    {CoefficientMode::Constant, "constant"}, {CoefficientMode::Exp, "exp"},
    {CoefficientMode::Inv, "inv"},           {CoefficientMode::Inv2, "inv2"},
    {CoefficientMode::LennardJones, "lj"},   {CoefficientMode::Morse, "morse"},
    {CoefficientMode::Explicit, "explicit"},
};
}  // namespace

CoefficientMode parse_coefficient_mode(const std::string& name) {
  for (const auto& entry : kModeNames)
    if (name == entry.name) return entry.mode;
  std::string expected;
  for (const auto& entry : kModeNames)
    expected += (expected.empty() ? "" : ", ") + std::string(entry.name);
  fail("unknown coefficient mode '", name, "'; expected one of ", expected);
}

std::vector<std::string> coefficient_mode_names() {
  std::vector<std::string> names;
  for (const auto& entry : kModeNames) names.emplace_back(entry.name);
  return names;
}

const char* coefficient_mode_name(CoefficientMode mode) {
  for (const auto& entry : kModeNames)
    if (mode == entry.mode) return entry.name;
  return "unknown";
}

void check_coefficient_spec(const CoefficientSpec& spec) {
  const char* name = coefficient_mode_name(spec.mode);
  require(std::string(name) != "unknown", "coefficient mode ", static_cast<int>(spec.mode),
          " is not a CoefficientMode");
  require(std::isfinite(spec.k0) && spec.k0 >= 0.0, "coefficient mode '", name,
          "': k0 must be finite and non-negative, got ", spec.k0);
  require(std::isfinite(spec.length_scale) && spec.length_scale > 0.0, "coefficient mode '", name,
          "': length_scale must be positive, got ", spec.length_scale);
  if (spec.mode == CoefficientMode::Inv || spec.mode == CoefficientMode::Inv2)
    require(std::isfinite(spec.eps) && spec.eps > 0.0, "coefficient mode '", name,
            "': eps must be positive (it keeps k finite at coincident atoms), got ", spec.eps);
  if (!std::isfinite(peak_coefficient(spec)))  // the parameter string only on failure
    fail("coefficient mode '", name, "': k overflows a double (", coefficient_parameters(spec),
         ")");
}

std::string coefficient_parameters(const CoefficientSpec& spec) {
  std::ostringstream text;
  text << "k0 = " << spec.k0;
  if (spec.mode == CoefficientMode::Exp || spec.mode == CoefficientMode::Morse)
    text << ", length_scale = " << spec.length_scale;
  if (spec.mode == CoefficientMode::Inv || spec.mode == CoefficientMode::Inv2)
    text << ", eps = " << spec.eps;
  return text.str();
}

double peak_coefficient(const CoefficientSpec& spec) {
  if (spec.mode == CoefficientMode::LennardJones) return spec.k0;
  double k = 0.0, dk_dr = 0.0;
  coefficient(spec, spec.k0, 0.0, k, dk_dr);
  return k;
}

}  // namespace energyloss
