// energyloss::lammps from an installed energyloss: the registration entry
// points are declared by the installed header and resolve in the installed
// library (and its libraries load: LAMMPS, LibTorch, energyloss's own).
#include "register_styles.h"

#include <cstdio>

int main() {
  void (*c_entry)(void*) = &energyloss_lammps_register;
  void (*cpp_entry)(LAMMPS_NS::LAMMPS*) = &LAMMPS_NS::register_energyloss_styles;
  const bool ok = c_entry != nullptr && cpp_entry != nullptr;
  std::printf("registration entry points resolved: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
