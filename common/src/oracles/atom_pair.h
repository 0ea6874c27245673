// Internal: the checks on an atom pair shared by the oracles and the
// coefficient methods, so that every bad pair gets the same message.
#pragma once

#include <cmath>
#include <cstdint>

#include "energyloss/error.h"

namespace energyloss {

// Throws Error "<label>: expected two distinct atoms in [0, atoms), got (i, j)"
// unless i != j and both are in [0, atoms). label: the message parts naming
// the argument, e.g. "edges[", e, "]".
template <typename... Label>
inline void require_atom_pair(int64_t i, int64_t j, int64_t atoms, const Label&... label) {
  require(i >= 0 && i < atoms && j >= 0 && j < atoms && i != j, label...,
          ": expected two distinct atoms in [0, ", atoms, "), got (", i, ", ", j, ")");
}

// An edge (i, j) with its length and direction in the reference geometry.
struct ReferenceEdge {
  int64_t i, j;
  double r;     // |x_i - x_j|, > 0, in the reference's length unit
  double u[3];  // unit vector from j to i: (x_i - x_j) / r
};

// Edge e of edges [n_edges * 2] measured in reference [atoms * 3]. Throws Error
// naming edges[e] when its atoms are not two distinct atoms in [0, atoms) or
// coincide in the reference (the pair then has no direction).
inline ReferenceEdge reference_edge(const double* reference, int64_t atoms, const int64_t* edges,
                                    int64_t e) {
  ReferenceEdge edge;
  edge.i = edges[2 * e];
  edge.j = edges[2 * e + 1];
  require_atom_pair(edge.i, edge.j, atoms, "edges[", e, "]");
  double r2 = 0;
  for (int c = 0; c < 3; ++c) {
    edge.u[c] = reference[3 * edge.i + c] - reference[3 * edge.j + c];
    r2 += edge.u[c] * edge.u[c];
  }
  edge.r = std::sqrt(r2);
  require(edge.r > 0, "edges[", e, "]: atoms ", edge.i, " and ", edge.j,
          " coincide in the reference, so the pair has no direction");
  for (double& component : edge.u) component /= edge.r;
  return edge;
}

}  // namespace energyloss
