// Internal: the neighbour lists of a bond list, checked, shared by the
// shell-balanced and modified-Seminario coefficients.
#pragma once

#include <cstdint>
#include <vector>

#include "atom_pair.h"
#include "energyloss/error.h"

namespace energyloss {

// bonds: [n_bonds * 2] atom indices. Throws Error naming a null list, a
// negative count or a bond whose atoms are out of [0, atoms) or equal.
inline std::vector<std::vector<int64_t>> bonded_neighbours(int64_t atoms, const int64_t* bonds,
                                                           int64_t n_bonds) {
  require(atoms >= 1, "atoms: expected >= 1, got ", atoms);
  require(n_bonds >= 0, "bonds: count must be >= 0, got ", n_bonds);
  require(n_bonds == 0 || bonds != nullptr, "bonds: must not be null");
  std::vector<std::vector<int64_t>> neighbours(static_cast<size_t>(atoms));
  for (int64_t b = 0; b < n_bonds; ++b) {
    const int64_t i = bonds[2 * b], j = bonds[2 * b + 1];
    require_atom_pair(i, j, atoms, "bonds[", b, "]");
    neighbours[size_t(i)].push_back(j);
    neighbours[size_t(j)].push_back(i);
  }
  return neighbours;
}

}  // namespace energyloss
