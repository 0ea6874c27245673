// lmp_energyloss: Debian's LAMMPS with the energyloss styles registered.
// Same command line as lmp (-in, -var, -log, -screen, ...; under mpirun too),
// since LAMMPS parses it itself.
#include <mpi.h>

#include <cstdio>
#include <cstring>

#include "input.h"
#include "lammps.h"
#include "register_styles.h"

namespace {

const char* kUsage = R"(usage: lmp_energyloss [LAMMPS command-line options] [-in DECK]
  LAMMPS with the energyloss styles registered: compute energyloss, fix
  energyloss and the seed_atoms command. The command line is lmp's (-in,
  -var, -log, -screen, ...; under mpirun too); `lmp_energyloss -h` lists
  LAMMPS's own options and styles.
  --help      this text
)";

}  // namespace

int main(int argc, char** argv) {
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--help") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  MPI_Init(&argc, &argv);
  auto* lmp = new LAMMPS_NS::LAMMPS(argc, argv, MPI_COMM_WORLD);
  LAMMPS_NS::register_energyloss_styles(lmp);
  lmp->input->file();
  delete lmp;
  MPI_Finalize();
  return 0;
}
