#include "compute_energyloss.h"

#include "atom.h"
#include "error.h"
#include "memory.h"
#include "update.h"

using namespace LAMMPS_NS;

ComputeEnergyLoss::ComputeEnergyLoss(LAMMPS* lmp, int narg, char** arg)
    : Compute(lmp, narg, arg), loss(lmp, "Compute energyloss"), nmax(0) {
  scalar_flag = 1;
  extscalar = 1;
  peratom_flag = 1;
  size_peratom_cols = 0;
  vector_atom = nullptr;

  for (int iarg = 3; iarg < narg;) {
    const int used = loss.parse_keyword(narg, arg, iarg);
    if (used == 0) error->all(FLERR, "Compute energyloss: unknown keyword '{}'", arg[iarg]);
    iarg += used;
  }
  loss.define(groupbit, arg[1]);
}

ComputeEnergyLoss::~ComputeEnergyLoss() {
  memory->destroy(vector_atom);
}

double ComputeEnergyLoss::compute_scalar() {
  invoked_scalar = update->ntimestep;
  scalar = loss.evaluate(false);
  return scalar;
}

void ComputeEnergyLoss::compute_peratom() {
  invoked_peratom = update->ntimestep;
  if (atom->nmax > nmax) {
    memory->destroy(vector_atom);
    nmax = atom->nmax;
    memory->create(vector_atom, nmax, "energyloss:vector_atom");
  }
  loss.evaluate(false);
  const std::vector<double>& shares = loss.atom_energy();
  for (int i = 0; i < atom->nlocal; ++i) {
    const int slot = (atom->mask[i] & groupbit) ? loss.slot(atom->tag[i]) : -1;
    vector_atom[i] = slot >= 0 ? shares[slot] : 0.0;
  }
}

double ComputeEnergyLoss::memory_usage() {
  return sizeof(double) * nmax + loss.memory_usage();
}
