// lmp_energyloss: Debian's LAMMPS with the energyloss styles registered.
// Same command line as lmp (-in, -var, -log, -screen, ...; under mpirun too),
// since LAMMPS parses it itself.
#include <mpi.h>

#include "input.h"
#include "lammps.h"
#include "register_styles.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  auto* lmp = new LAMMPS_NS::LAMMPS(argc, argv, MPI_COMM_WORLD);
  LAMMPS_NS::register_energyloss_styles(lmp);
  lmp->input->file();
  delete lmp;
  MPI_Finalize();
  return 0;
}
