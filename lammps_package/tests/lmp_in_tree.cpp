// lmp with the ENERGYLOSS package registered the way a LAMMPS source build
// registers a package: CMake generated style_compute.h, style_fix.h and
// style_command.h from src/ENERGYLOSS's headers with LAMMPS's own rules
// (tests/CMakeLists.txt, after LAMMPS's StyleHeaderUtils.cmake), and this
// file expands them as LAMMPS's modify.cpp and input.cpp do: first for the
// classes, then with COMPUTE_CLASS / FIX_CLASS / COMMAND_CLASS defined for
// the style maps. Same command line as lmp. (No plugin, no run-time
// registration: `clear` drops the compute and fix here, as it would not in a
// real source build, whose Modify fills its maps itself.)
#include <mpi.h>

#include "energylossplugin.h"  // the creators
#include "input.h"
#include "lammps.h"
#include "modify.h"
#include "style_command.h"  // IWYU pragma: keep
#include "style_compute.h"  // IWYU pragma: keep
#include "style_fix.h"      // IWYU pragma: keep

using namespace LAMMPS_NS;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  auto* lmp = new LAMMPS(argc, argv, MPI_COMM_WORLD);

#define COMPUTE_CLASS
#define ComputeStyle(key, Class) \
  (*lmp->modify->compute_map)[#key] = &energyloss_style_creator<Compute, Class>;
#include "style_compute.h"  // IWYU pragma: keep
#undef ComputeStyle
#undef COMPUTE_CLASS

#define FIX_CLASS
#define FixStyle(key, Class) (*lmp->modify->fix_map)[#key] = &energyloss_style_creator<Fix, Class>;
#include "style_fix.h"  // IWYU pragma: keep
#undef FixStyle
#undef FIX_CLASS

#define COMMAND_CLASS
#define CommandStyle(key, Class) \
  (*lmp->input->command_map)[#key] = &energyloss_command_creator<Class>;
#include "style_command.h"  // IWYU pragma: keep
#undef CommandStyle
#undef COMMAND_CLASS

  lmp->input->file();
  delete lmp;
  MPI_Finalize();
  return 0;
}
