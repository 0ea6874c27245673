#include "seed_atoms.h"

#include <algorithm>
#include <cmath>
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
#include "fix.h"
#include "force.h"
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
  std::vector<std::string> given;
  for (int iarg = 2; iarg < narg; iarg += 2) {
    const std::string keyword = arg[iarg];
    if (keyword != "candidates" && keyword != "seed" && keyword != "select")
      error->all(FLERR, "seed_atoms: unknown keyword '{}'; expected '{}'", keyword, kUsage);
    if (std::find(given.begin(), given.end(), keyword) != given.end())
      error->all(FLERR, "seed_atoms: keyword '{}' given twice", keyword);
    given.push_back(keyword);
    if (iarg + 1 >= narg) error->all(FLERR, "seed_atoms: keyword '{}' needs 1 value", keyword);
    const std::string value = arg[iarg + 1];
    if ((keyword == "candidates" || keyword == "seed") && !utils::is_integer(value))
      error->all(FLERR, "seed_atoms: keyword '{}': Expected integer parameter instead of '{}'",
                 keyword, value);
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
  for (int k = 0; k < candidates; ++k) check_candidate(group_atoms, &samples[k * sample_size], k);

  int chosen = 0;
  if (select_energy && candidates > 1) {
    check_force_field();
    // Non-finite energies (overlapping atoms) are reported and never kept,
    // as OpenMM's seeder does; a NaN would otherwise win when it comes first.
    chosen = -1;
    double lowest = 0.0;
    bool all_zero = true;
    for (int k = 0; k < candidates; ++k) {
      place(group_atoms, &samples[k * sample_size]);
      const double energy = potential_energy();
      all_zero = all_zero && energy == 0.0;
      const bool finite = std::isfinite(energy);
      if (comm->me == 0)
        utils::logmesg(lmp, "seed_atoms: candidate {} of {}: potential energy {:.17g}{}\n", k + 1,
                       candidates, energy, finite ? "" : " (not finite: skipped)");
      if (finite && (chosen < 0 || energy < lowest)) {
        chosen = k;
        lowest = energy;
      }
    }
    if (chosen < 0)
      error->all(FLERR, "seed_atoms: none of the {} candidates from '{}' has a finite energy",
                 candidates, path);
    // Whatever the styles (check_force_field reads names; `pair_style hybrid
    // zero` passes it): energies that are all exactly 0 choose nothing.
    if (all_zero)
      error->all(FLERR,
                 "seed_atoms: select energy cannot choose: every one of the {} candidates from "
                 "'{}' has potential energy 0 (is a force field defined?); define one, or use "
                 "select first",
                 candidates, path);
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

void SeedAtoms::periodic_images(const double* position, double* images) const {
  // Fractional coordinates: lamda for triclinic boxes, (x - lo) / prd otherwise.
  double lamda[3];
  if (domain->triclinic) {
    double point[3] = {position[0], position[1], position[2]};
    domain->x2lamda(point, lamda);
  } else {
    for (int d = 0; d < 3; ++d) lamda[d] = (position[d] - domain->boxlo[d]) / domain->prd[d];
  }
  for (int d = 0; d < 3; ++d) images[d] = domain->periodicity[d] ? std::floor(lamda[d]) : lamda[d];
}

void SeedAtoms::check_candidate(const GroupCoordinates& group_atoms, const double* positions,
                                int candidate) {
  // Image flags hold -IMGMAX .. IMGMAX - 1 per dimension; beyond, they wrap
  // silently and the unwrapped coordinates are no longer the sample.
  const double image_limit = IMGMAX - 1;
  for (int slot = 0; slot < group_atoms.size(); ++slot) {
    const double* x = positions + 3 * slot;
    double images[3];  // image counts in periodic dimensions, fractions in the others
    periodic_images(x, images);
    for (int d = 0; d < 3; ++d) {
      // boundary 1 is `f`: periodic (0) and shrink-wrapped (2, 3) sides take any position.
      if ((domain->boundary[d][0] == 1 && images[d] < 0.0) ||
          (domain->boundary[d][1] == 1 && images[d] >= 1.0))
        error->all(FLERR,
                   "seed_atoms: candidate {} puts atom {} at ({}, {}, {}), outside the fixed "
                   "boundary in {} (use a larger box or periodic/shrink-wrapped boundaries)",
                   candidate + 1, group_atoms.tags[slot], x[0], x[1], x[2], "xyz"[d]);
      if (domain->periodicity[d] && !(std::fabs(images[d]) <= image_limit))
        error->all(FLERR,
                   "seed_atoms: candidate {} puts atom {} at ({}, {}, {}), {:.6g} periodic box "
                   "lengths away in {}; image flags hold at most {} per dimension, so its "
                   "unwrapped coordinates could not equal the sample",
                   candidate + 1, group_atoms.tags[slot], x[0], x[1], x[2], images[d], "xyz"[d],
                   static_cast<int>(image_limit));
    }
  }
}

void SeedAtoms::place(const GroupCoordinates& group_atoms, const double* positions) {
  for (int i = 0; i < atom->nlocal; ++i) {
    const int slot = group_atoms.slot(atom->tag[i]);
    if (slot < 0) continue;
    // Shift by whole box vectors arithmetically (check_candidate bounded the
    // counts); domain->remap, which loops one box length at a time, then
    // only mends rounding at the box edges.
    double images[3];
    periodic_images(positions + 3 * slot, images);
    int n[3];
    for (int d = 0; d < 3; ++d) n[d] = domain->periodicity[d] ? static_cast<int>(images[d]) : 0;
    double* x = atom->x[i];
    const double* h = domain->h;  // box vectors a = (h0,0,0), b = (h5,h1,0), c = (h4,h3,h2)
    x[0] = positions[3 * slot] - n[0] * h[0] - n[1] * h[5] - n[2] * h[4];
    x[1] = positions[3 * slot + 1] - n[1] * h[1] - n[2] * h[3];
    x[2] = positions[3 * slot + 2] - n[2] * h[2];
    atom->image[i] = ((imageint)(IMGMAX + n[2]) << IMG2BITS) |
                     ((imageint)(IMGMAX + n[1]) << IMGBITS) | (imageint)(IMGMAX + n[0]);
    domain->remap(x, atom->image[i]);
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

void SeedAtoms::check_force_field() {
  // The rule: some style must be able to contribute energy. A pair style
  // other than `zero`, a bond/angle/dihedral/improper or kspace style, or a
  // fix with fix_modify energy yes each counts; a deck with bonds alone, or
  // restraint fixes alone, is fine.
  const bool pair = force->pair && !utils::strmatch(force->pair_style, "^zero");
  bool fix_energy = false;
  for (int f = 0; f < modify->nfix; ++f)
    if ((modify->fix[f]->energy_global_flag || modify->fix[f]->energy_peratom_flag) &&
        modify->fix[f]->thermo_energy)
      fix_energy = true;
  if (!pair && !force->bond && !force->angle && !force->dihedral && !force->improper &&
      !force->kspace && !fix_energy)
    error->all(FLERR,
               "seed_atoms: select energy needs a force field (a pair style other than zero, "
               "bonded or kspace styles, or a fix with fix_modify energy yes); with none every "
               "candidate's energy is 0. Define one first, or use select first");
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
