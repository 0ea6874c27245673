#include "seed_atoms.h"

#include <algorithm>
#include <string>

#include <mpi.h>

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "domain.h"
#include "energyloss/error.h"
#include "energyloss/generator.h"
#include "energyloss_errors.h"
#include "error.h"
#include "group.h"
#include "input.h"
#include "irregular.h"
#include "modify.h"
#include "update.h"
#include "utils.h"

using namespace LAMMPS_NS;

namespace {

constexpr const char* kUsage =
    "seed_atoms group-ID FILE.pt [candidates K] [seed S] [select energy|first]";

bool lengths_convert(const std::string& from, const std::string& to) {
  try {
    energyloss::length_unit_factor(from, to);
    return true;
  } catch (const energyloss::Error&) {
    return false;
  }
}

}  // namespace

void SeedAtoms::command(int narg, char** arg) {
  if (domain->box_exist == 0) error->all(FLERR, "seed_atoms: needs a simulation box with atoms");
  if (narg < 2) error->all(FLERR, "seed_atoms: expected '{}'", kUsage);
  // Copies: `run 0` below re-parses the input line that arg points into.
  const std::string group_name = arg[0], path = arg[1];
  int candidates = 1;
  bigint seed = 0;
  bool select_energy = true;
  for (int iarg = 2; iarg < narg; iarg += 2) {
    const std::string keyword = arg[iarg];
    if (keyword != "candidates" && keyword != "seed" && keyword != "select")
      error->all(FLERR, "seed_atoms: unknown keyword '{}'; expected '{}'", keyword, kUsage);
    if (iarg + 1 >= narg) error->all(FLERR, "seed_atoms: keyword '{}' needs 1 value", keyword);
    const std::string value = arg[iarg + 1];
    if (keyword == "candidates") {
      candidates = utils::inumeric(FLERR, value.c_str(), false, lmp);
      if (candidates < 1)
        error->all(FLERR, "seed_atoms: keyword 'candidates' needs K >= 1, got {}", value);
    } else if (keyword == "seed") {
      seed = utils::bnumeric(FLERR, value.c_str(), false, lmp);
      if (seed < 0) error->all(FLERR, "seed_atoms: keyword 'seed' needs S >= 0, got {}", value);
    } else if (value == "energy" || value == "first") {
      select_energy = value == "energy";
    } else {
      error->all(FLERR, "seed_atoms: keyword 'select' got '{}'; supported: energy, first", value);
    }
  }
  const int igroup = group->find(group_name);
  if (igroup < 0) error->all(FLERR, "seed_atoms: group '{}' does not exist", group_name);
  const GroupCoordinates group_atoms =
      gather_group_coordinates(lmp, group->bitmask[igroup], "seed_atoms");
  if (group_atoms.size() == 0) error->all(FLERR, "seed_atoms: group '{}' has no atoms", group_name);

  // Rank 0 loads and samples (LibTorch once, not once per rank); every rank
  // learns the verdict so that error->all is called collectively.
  const size_t sample_size = 3 * static_cast<size_t>(group_atoms.size());
  std::vector<double> samples(candidates * sample_size);
  std::string generator_unit;
  on_rank_zero_as_lammps_errors(lmp, FLERR, "seed_atoms", [&] {
    const energyloss::Generator generator(path);
    generator_unit = generator.length_unit();
    if (!lengths_convert(generator_unit, update->unit_style))
      throw energyloss::Error(
          fmt::format("generator '{}' has length_unit '{}', which does not convert to units {} "
                      "(lj converts only to lj)",
                      path, generator_unit, update->unit_style));
    if (generator.atoms() != group_atoms.size())
      throw energyloss::Error(
          fmt::format("generator '{}' makes {} atoms but group '{}' has {} (wrong atom count)",
                      path, generator.atoms(), group_name, group_atoms.size()));
    samples = generator.sample(candidates, seed, update->unit_style);
  });
  MPI_Bcast(samples.data(), static_cast<int>(samples.size()), MPI_DOUBLE, 0, world);
  for (int k = 0; k < candidates; ++k)
    check_inside_fixed_boundaries(group_atoms, &samples[k * sample_size], k);

  int chosen = 0;
  if (select_energy && candidates > 1) {
    std::vector<double> energies(candidates);
    for (int k = 0; k < candidates; ++k) {
      place(group_atoms, &samples[k * sample_size]);
      energies[k] = potential_energy();
      if (comm->me == 0)
        utils::logmesg(lmp, "seed_atoms: candidate {} of {}: potential energy {:.17g}\n", k + 1,
                       candidates, energies[k]);
    }
    chosen =
        static_cast<int>(std::min_element(energies.begin(), energies.end()) - energies.begin());
  }
  place(group_atoms, &samples[chosen * sample_size]);
  // Whatever is left must describe the kept structure: after evaluating
  // candidates, evaluate it once more (computes such as thermo_pe, pair
  // energies, neighbour lists and fixes then hold its values, so `print
  // $(pe)` needs no `run 0`); otherwise no compute may report values cached
  // before the atoms moved, so they are marked not current.
  if (select_energy && candidates > 1) {
    potential_energy();
  } else {
    forget_computed_values();
  }
  if (comm->me == 0)
    utils::logmesg(lmp,
                   "seed_atoms: group {} ({} atoms) set to candidate {} of {} from generator '{}' "
                   "(seed {}, lengths {} -> {}{})\n",
                   group_name, group_atoms.size(), chosen + 1, candidates, path, seed,
                   generator_unit, update->unit_style,
                   select_energy && candidates > 1 ? ", lowest potential energy" : "");
}

void SeedAtoms::check_inside_fixed_boundaries(const GroupCoordinates& group_atoms,
                                              const double* positions, int candidate) {
  for (int slot = 0; slot < group_atoms.size(); ++slot) {
    double point[3] = {positions[3 * slot], positions[3 * slot + 1], positions[3 * slot + 2]};
    double lo[3] = {domain->boxlo[0], domain->boxlo[1], domain->boxlo[2]};
    double hi[3] = {domain->boxhi[0], domain->boxhi[1], domain->boxhi[2]};
    if (domain->triclinic) {
      double lamda[3];
      domain->x2lamda(point, lamda);
      std::copy(lamda, lamda + 3, point);
      std::fill(lo, lo + 3, 0.0);
      std::fill(hi, hi + 3, 1.0);
    }
    // boundary 1 is `f`: periodic (0) and shrink-wrapped (2, 3) sides take any position.
    for (int d = 0; d < 3; ++d) {
      if ((domain->boundary[d][0] == 1 && point[d] < lo[d]) ||
          (domain->boundary[d][1] == 1 && point[d] >= hi[d]))
        error->all(FLERR,
                   "seed_atoms: candidate {} puts atom {} at ({}, {}, {}), outside the fixed "
                   "boundary in {} (use a larger box or periodic/shrink-wrapped boundaries)",
                   candidate + 1, group_atoms.tags[slot], positions[3 * slot],
                   positions[3 * slot + 1], positions[3 * slot + 2], "xyz"[d]);
    }
  }
}

void SeedAtoms::place(const GroupCoordinates& group_atoms, const double* positions) {
  const imageint unshifted =
      ((imageint)IMGMAX << IMG2BITS) | ((imageint)IMGMAX << IMGBITS) | IMGMAX;
  for (int i = 0; i < atom->nlocal; ++i) {
    const int slot = group_atoms.slot(atom->tag[i]);
    if (slot < 0) continue;
    std::copy(positions + 3 * slot, positions + 3 * slot + 3, atom->x[i]);
    atom->image[i] = unshifted;
    domain->remap(atom->x[i], atom->image[i]);
  }
  // As displace_atoms: atoms may have moved anywhere, so migrate irregularly.
  if (domain->triclinic) domain->x2lamda(atom->nlocal);
  domain->reset_box();
  Irregular irregular(lmp);
  irregular.migrate_atoms(1);
  if (domain->triclinic) domain->lamda2x(atom->nlocal);

  bigint local = atom->nlocal, total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_LMP_BIGINT, MPI_SUM, world);
  if (total != atom->natoms)
    error->all(FLERR, "seed_atoms: {} atoms lost while placing the group", atom->natoms - total);
}

void SeedAtoms::forget_computed_values() {
  for (int c = 0; c < modify->ncompute; ++c) {
    Compute* compute = modify->compute[c];
    compute->invoked_scalar = compute->invoked_vector = compute->invoked_array = -1;
    compute->invoked_peratom = compute->invoked_local = -1;
  }
}

double SeedAtoms::potential_energy() {
  const int index = modify->find_compute("thermo_pe");
  if (index < 0) error->all(FLERR, "seed_atoms: select energy needs the compute thermo_pe");
  Compute* pe = modify->compute[index];
  // Make run 0 tally energy even when the thermo output does not show pe.
  pe->addstep(update->ntimestep);
  input->one("run 0 post no");
  return pe->compute_scalar();
}
