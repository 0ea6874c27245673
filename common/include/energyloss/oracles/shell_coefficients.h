// Shell-balanced pair coefficients: a given total stiffness per graph-distance
// shell, distributed within each shell in proportion to per-edge force-field
// springs.
//
// Why: a force field puts ~90 % of a molecule's pair stiffness on bonds and
// almost none beyond 1-4 pairs (MMFF94 on 362 small molecules, issue 13),
// while the exp preset k0 e^-r spreads it ~46 / 30 / 16 / 8 % over graph
// distances 1 / 2 / 3 / >= 4 -- and the long-range springs are what fix a
// rotation-augmented model's global shape. Keeping a preset's split between
// shells and letting the force field shape k only within a shell combines
// both.
//
// Shells: with S shells, edge (i, j) is in shell s = d(i, j) for
// 1 <= d < S and in shell S for d >= S or when i and j are in different
// connected components of the bond graph (d = infinity); d is the number of
// bonds on a shortest path. Within shell s,
//   k_e = T_s k_ff,e / sum_{f in s} k_ff,f,
// so sum_{e in s} k_e = T_s exactly and the ratios within a shell are the
// input's. A shell whose input springs sum to 0 (all zero) gets T_s split
// evenly over its edges (and is reported); a shell with no edges gets
// nothing. Units: those of the totals (the input k only sets proportions).
// Source: this project (issue 13); the exp preset is the paper's reference
// code (k0 = 24 / N, e^(-r / 1 angstrom)).
#pragma once

#include <cstdint>
#include <vector>

namespace energyloss {

// Shortest-path bond counts between all atom pairs, row-major [atoms, atoms]
// (0 on the diagonal, -1 between different components), by breadth-first
// search from every atom: O(atoms x (atoms + bonds)). bonds [n_bonds, 2].
// Throws Error on out-of-range or self bonds.
std::vector<int64_t> graph_distances(int64_t atoms, const int64_t* bonds, int64_t n_bonds);

struct ShellBalanceOptions {
  // Target total per shell, [S] with S >= 1, each finite and >= 0. Empty:
  // the exp preset's totals (see exp_shell_totals) with `shells` shells.
  std::vector<double> totals;
  // Number of shells S when `totals` is empty (default 4: 1, 2, 3, >= 4).
  int64_t shells = 4;
};

struct ShellBalanced {
  std::vector<double> k;                // [n_edges], the balanced springs
  std::vector<int64_t> shell;           // [n_edges], shell of each edge, 1..S
  std::vector<double> target;           // [S], the totals applied
  std::vector<double> input_total;      // [S], sum of the input k per shell
  std::vector<int64_t> uniform_shells;  // shells (1-based) whose input summed to 0
};

// Shell of each edge ([n_edges], 1..shells) from the bond graph.
std::vector<int64_t> edge_shells(int64_t atoms, const int64_t* bonds, int64_t n_bonds,
                                 const int64_t* edges, int64_t n_edges, int64_t shells);

// Per-shell totals of the exp preset, sum over the shell's edges of
// (24 / atoms) exp(-r_e), r_e the reference distance of edge e in the
// caller's length unit (the preset was made for angstrom). reference
// [atoms, 3]; shell [n_edges] from edge_shells.
std::vector<double> exp_shell_totals(const double* reference, int64_t atoms, const int64_t* edges,
                                     int64_t n_edges, const int64_t* shell, int64_t shells);

// The balanced springs for `k` [n_edges] (finite, >= 0) on `edges`
// [n_edges, 2] given the molecule's `bonds` [n_bonds, 2]. `reference`
// [atoms, 3] is read only for the default (exp preset) totals and may be
// null when options.totals is given. Throws Error on bad indices, negative
// or non-finite k or totals, shells < 1, or a null reference without totals.
ShellBalanced shell_balanced_coefficients(const double* reference, int64_t atoms,
                                          const int64_t* bonds, int64_t n_bonds,
                                          const int64_t* edges, int64_t n_edges, const double* k,
                                          const ShellBalanceOptions& options = {});

}  // namespace energyloss
