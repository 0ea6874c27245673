// LAMMPS's unit styles (the `units` command, https://docs.lammps.org/units.html)
// in one table: each style's length and energy unit and its length unit in
// meters. Read by the LAMMPS oracle (the units of its coordinates and
// energies, OracleUnits) and by length_unit_factor() (generator.h), which
// converts generator samples and the LAMMPS package's coefficient presets to
// a deck's units. lj has no absolute size (0 meters): it converts only to lj.
#pragma once

#include <string_view>

namespace energyloss {

struct LammpsUnitStyle {
  const char* name;         // as in `units NAME`
  const char* length_unit;  // OracleUnits::length
  const char* energy_unit;  // OracleUnits::energy
  double meters;            // one length unit in meters; 0 for lj
};

inline constexpr LammpsUnitStyle kLammpsUnitStyles[] = {
    {"lj", "lj", "lj", 0.0},
    {"real", "angstrom", "kcal/mol", 1e-10},
    {"metal", "angstrom", "eV", 1e-10},
    {"si", "m", "J", 1.0},
    {"cgs", "cm", "erg", 1e-2},
    {"electron", "bohr", "hartree", 0.529177210903e-10},
    {"micro", "micrometer", "picogram*micrometer^2/microsecond^2", 1e-6},
    {"nano", "nanometer", "attogram*nanometer^2/nanosecond^2", 1e-9},
};

// The unit style called `name`, or nullptr when LAMMPS has none of that name.
inline const LammpsUnitStyle* find_lammps_unit_style(std::string_view name) {
  for (const auto& style : kLammpsUnitStyles) {
    if (name == style.name) return &style;
  }
  return nullptr;
}

}  // namespace energyloss
