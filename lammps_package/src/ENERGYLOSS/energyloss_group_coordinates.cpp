#include "energyloss_group_coordinates.h"

#include <algorithm>
#include <numeric>

#include <mpi.h>

#include "atom.h"
#include "domain.h"
#include "error.h"
#include "lammps.h"

namespace LAMMPS_NS {

int GroupCoordinates::slot(tagint tag) const {
  const auto found = std::lower_bound(tags.begin(), tags.end(), tag);
  return (found != tags.end() && *found == tag) ? static_cast<int>(found - tags.begin()) : -1;
}

GroupCoordinates gather_group_coordinates(LAMMPS* lmp, int groupbit, const char* style) {
  Atom* atom = lmp->atom;
  if (lmp->domain->box_exist == 0)
    lmp->error->all(FLERR, "{} needs the simulation box and atoms to exist", style);
  if (atom->tag_enable == 0)
    lmp->error->all(FLERR, "{} needs atom IDs (atom_modify id yes)", style);

  std::vector<tagint> local_tags;
  std::vector<double> local_x;
  for (int i = 0; i < atom->nlocal; ++i) {
    if (!(atom->mask[i] & groupbit)) continue;
    double unwrapped[3];
    lmp->domain->unmap(atom->x[i], atom->image[i], unwrapped);
    local_tags.push_back(atom->tag[i]);
    local_x.insert(local_x.end(), unwrapped, unwrapped + 3);
  }

  int nprocs = 1;
  MPI_Comm_size(lmp->world, &nprocs);
  const int local_count = static_cast<int>(local_tags.size());
  std::vector<int> counts(nprocs), offsets(nprocs);
  MPI_Allgather(&local_count, 1, MPI_INT, counts.data(), 1, MPI_INT, lmp->world);
  std::exclusive_scan(counts.begin(), counts.end(), offsets.begin(), 0);
  const int total = offsets.back() + counts.back();

  std::vector<tagint> tags(total);
  MPI_Allgatherv(local_tags.data(), local_count, MPI_LMP_TAGINT, tags.data(), counts.data(),
                 offsets.data(), MPI_LMP_TAGINT, lmp->world);
  for (int p = 0; p < nprocs; ++p) {
    counts[p] *= 3;
    offsets[p] *= 3;
  }
  std::vector<double> x(3 * static_cast<size_t>(total));
  MPI_Allgatherv(local_x.data(), 3 * local_count, MPI_DOUBLE, x.data(), counts.data(),
                 offsets.data(), MPI_DOUBLE, lmp->world);

  // Rank order is arbitrary: sort by atom ID so every rank agrees.
  std::vector<int> order(total);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return tags[a] < tags[b]; });
  GroupCoordinates gathered;
  gathered.tags.reserve(total);
  gathered.x.reserve(3 * static_cast<size_t>(total));
  for (const int k : order) {
    gathered.tags.push_back(tags[k]);
    gathered.x.insert(gathered.x.end(), x.begin() + 3 * k, x.begin() + 3 * k + 3);
  }
  return gathered;
}

}  // namespace LAMMPS_NS
