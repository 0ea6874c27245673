#include "energyloss/graphs.h"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

#include "energyloss/error.h"
#include "energyloss/openmp.h"

namespace energyloss {
namespace {

// --- Portable randomness ----------------------------------------------------
// std::mt19937_64's output is fixed by the standard; the distributions are
// not, so the few draws we need are written out here.

// splitmix64 finaliser: independent seeds per purpose / try from one seed.
uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Unbiased integer in [0, bound) by rejection.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % bound;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % bound;
}

// Uniform double in [-1, 1).
double uniform_symmetric(std::mt19937_64& rng) {
  return double(rng() >> 11) * 0x1.0p-52 - 1.0;
}

// Memory-latency hint only; large random graphs are bound by cache misses.
template <typename V>
void prefetch(const V* address) {
#if defined(__GNUC__)
  __builtin_prefetch(address);
#else
  (void)address;
#endif
}

// Fisher-Yates. The swap partners are drawn kLookahead steps early (same
// draws, same order) so their cache lines can be prefetched.
template <typename V>
void fisher_yates(std::vector<V>& values, std::mt19937_64& rng) {
  constexpr size_t kLookahead = 16;
  const size_t n = values.size();
  if (n < 2) return;
  size_t partners[kLookahead];
  const size_t steps = n - 1;  // i = n - 1 down to 1
  auto draw = [&](size_t step) { return size_t(uniform_below(rng, n - step)); };
  for (size_t step = 0; step < std::min(steps, kLookahead); ++step) {
    partners[step] = draw(step);
    prefetch(&values[partners[step]]);
  }
  for (size_t step = 0; step < steps; ++step) {
    const size_t partner = partners[step % kLookahead];
    if (step + kLookahead < steps) {
      partners[step % kLookahead] = draw(step + kLookahead);
      prefetch(&values[partners[step % kLookahead]]);
    }
    std::swap(values[n - 1 - step], values[partner]);
  }
}

// Streams of derive_seed, so the graph, configuration and stress draws of
// one try never share a generator state.
constexpr uint64_t kGraphStream = 0;
constexpr uint64_t kConfigurationStream = 1;
constexpr uint64_t kStressStream = 2;

// --- Random regular graphs ---------------------------------------------------

// Fixed-capacity adjacency rows [count, neighbour_1 .. neighbour_capacity] in
// 32-bit ints: a vertex's row is one cache line at the degrees we use, and
// membership tests are a short scan, cheaper than any hash set.
class Adjacency {
 public:
  Adjacency(int64_t n, int64_t capacity) : row_(capacity + 1), rows_(size_t(n * row_), 0) {}

  void clear() { std::fill(rows_.begin(), rows_.end(), 0); }
  int64_t vertices() const { return int64_t(rows_.size()) / row_; }
  int32_t degree(int64_t v) const { return rows_[v * row_]; }
  const int32_t* neighbours(int64_t v) const { return rows_.data() + v * row_ + 1; }
  void prefetch_row(int64_t v) const { prefetch(rows_.data() + v * row_); }

  bool adjacent(int64_t u, int64_t v) const {
    const int32_t* list = neighbours(u);
    return std::find(list, list + degree(u), int32_t(v)) != list + degree(u);
  }
  void connect(int64_t u, int64_t v) {
    append(u, v);
    append(v, u);
  }
  void disconnect(int64_t u, int64_t v) {
    remove(u, v);
    remove(v, u);
  }

  // Sorted (i < j) edge list.
  EdgeList edges() const {
    EdgeList result;
    result.reserve(rows_.size() / 2);
    std::vector<int32_t> sorted;
    for (int64_t u = 0; u < vertices(); ++u) {
      sorted.assign(neighbours(u), neighbours(u) + degree(u));
      std::sort(sorted.begin(), sorted.end());
      for (int32_t v : sorted) {
        if (v > u) result.push_back({u, int64_t(v)});
      }
    }
    return result;
  }

 private:
  void append(int64_t u, int64_t v) {
    int32_t* row = rows_.data() + u * row_;
    row[1 + row[0]++] = int32_t(v);
  }
  void remove(int64_t u, int64_t v) {
    int32_t* row = rows_.data() + u * row_;
    int32_t* slot = std::find(row + 1, row + 1 + row[0], int32_t(v));
    *slot = row[row[0]--];  // move the last neighbour into the hole
  }

  int64_t row_;
  std::vector<int32_t> rows_;
};

// Adds an edge for the leftover stub pair (u, v), which may be a self loop or
// an existing edge: when u - v cannot be added directly, a random edge x - y
// is switched to u - x, v - y (degrees of x and y are unchanged). False when
// no suitable x - y turned up.
bool switch_in(int64_t u, int64_t v, std::mt19937_64& rng, Adjacency& adjacency) {
  if (u != v && !adjacency.adjacent(u, v)) {
    adjacency.connect(u, v);
    return true;
  }
  constexpr int kMaxSwitchAttempts = 1000;
  const uint64_t n = uint64_t(adjacency.vertices());
  for (int attempt = 0; attempt < kMaxSwitchAttempts; ++attempt) {
    const int64_t x = int64_t(uniform_below(rng, n));
    if (adjacency.degree(x) == 0) continue;
    const int64_t y = adjacency.neighbours(x)[uniform_below(rng, uint64_t(adjacency.degree(x)))];
    if (x == u || x == v || y == u || y == v) continue;
    if (adjacency.adjacent(u, x) || adjacency.adjacent(v, y)) continue;
    adjacency.disconnect(x, y);
    adjacency.connect(u, x);
    adjacency.connect(v, y);
    return true;
  }
  return false;
}

// One attempt: a uniformly random pairing of all stubs (configuration
// model), keeping the pairs that form new simple edges and switching the
// rest in. Returns false when a switch failed (caller restarts).
bool pair_stubs(const std::vector<int64_t>& target_degree, std::mt19937_64& rng,
                Adjacency& adjacency) {
  adjacency.clear();
  std::vector<int32_t> stubs, rejected;
  for (int64_t v = 0; v < int64_t(target_degree.size()); ++v) {
    stubs.insert(stubs.end(), size_t(target_degree[v]), int32_t(v));
  }
  fisher_yates(stubs, rng);
  constexpr size_t kLookahead = 32;
  for (size_t k = 0; k + 1 < stubs.size(); k += 2) {
    if (k + kLookahead + 1 < stubs.size()) {
      adjacency.prefetch_row(stubs[k + kLookahead]);
      adjacency.prefetch_row(stubs[k + kLookahead + 1]);
    }
    const int64_t u = stubs[k], v = stubs[k + 1];
    if (u != v && !adjacency.adjacent(u, v)) {
      adjacency.connect(u, v);
    } else {
      rejected.push_back(int32_t(u));
      rejected.push_back(int32_t(v));
    }
  }
  for (size_t k = 0; k + 1 < rejected.size(); k += 2) {
    if (!switch_in(rejected[k], rejected[k + 1], rng, adjacency)) return false;
  }
  return true;
}

EdgeList complement(const EdgeList& edges, int64_t n) {
  std::vector<char> present(size_t(n * n), 0);
  for (const Edge& e : edges) present[e[0] * n + e[1]] = 1;
  EdgeList result;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) {
      if (!present[i * n + j]) result.push_back({i, j});
    }
  }
  return result;
}

// --- Validation helpers ----------------------------------------------------

template <typename T>
void require_finite_points(const T* positions, int64_t n, int64_t dim, const char* argument) {
  require(positions != nullptr || n == 0, argument, ": positions are null");
  for (int64_t k = 0; k < n * dim; ++k) {
    require(std::isfinite(positions[k]), argument, " has a non-finite value (", positions[k],
            ") at atom ", k / dim, ", coordinate ", k % dim);
  }
}

int64_t count_above(const Eigen::VectorXd& magnitudes, double tolerance) {
  const double largest = magnitudes.size() == 0 ? 0.0 : magnitudes.cwiseAbs().maxCoeff();
  if (largest == 0.0) return 0;
  return int64_t((magnitudes.cwiseAbs().array() > tolerance * largest).count());
}

// --- Automorphism search --------------------------------------------------

class AutomorphismSearch {
 public:
  AutomorphismSearch(const double* distances, int64_t n, double tolerance, int64_t max_count,
                     std::vector<std::vector<int64_t>> candidates, Automorphisms& out)
      : distances_(distances),
        n_(n),
        tolerance_(tolerance),
        max_count_(max_count),
        candidates_(std::move(candidates)),
        image_(size_t(n), -1),
        used_(size_t(n), 0),
        out_(out) {
    // Most constrained vertices first: they prune the search earliest.
    order_.resize(size_t(n));
    for (int64_t v = 0; v < n; ++v) order_[v] = v;
    std::stable_sort(order_.begin(), order_.end(), [this](int64_t a, int64_t b) {
      return candidates_[a].size() < candidates_[b].size();
    });
  }

  void run() { extend(0); }

 private:
  double distance(int64_t a, int64_t b) const { return distances_[a * n_ + b]; }

  // Whether mapping `vertex` to `target` keeps its distances to every vertex
  // assigned so far (the first `depth` entries of order_).
  bool consistent(int64_t vertex, int64_t target, int64_t depth) const {
    for (int64_t k = 0; k < depth; ++k) {
      const int64_t u = order_[k];
      if (std::abs(distance(target, image_[u]) - distance(vertex, u)) > tolerance_) return false;
    }
    return true;
  }

  // Returns false once the search must stop (max_count exceeded).
  bool extend(int64_t depth) {
    if (depth == n_) {
      if (out_.count() == max_count_) {
        out_.capped = true;
        return false;
      }
      out_.permutations.insert(out_.permutations.end(), image_.begin(), image_.end());
      return true;
    }
    const int64_t vertex = order_[depth];
    for (int64_t target : candidates_[vertex]) {
      if (used_[target] || !consistent(vertex, target, depth)) continue;
      image_[vertex] = target;
      used_[target] = 1;
      const bool go_on = extend(depth + 1);
      used_[target] = 0;
      if (!go_on) return false;
    }
    return true;
  }

  const double* distances_;
  int64_t n_;
  double tolerance_;
  int64_t max_count_;
  std::vector<std::vector<int64_t>> candidates_;  // each vertex itself first
  std::vector<int64_t> order_;
  std::vector<int64_t> image_;
  std::vector<char> used_;
  Automorphisms& out_;
};

}  // namespace

// ---------------------------------------------------------------------------

EdgeList complete_graph(int64_t n) {
  require(n >= 0, "complete_graph: n must be non-negative, got ", n);
  EdgeList edges;
  edges.reserve(size_t(n * (n - 1) / 2));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) edges.push_back({i, j});
  }
  return edges;
}

EdgeList random_regular_edges(int64_t n, int64_t degree, uint64_t seed) {
  require(n >= 0, "random_regular_graph: n must be non-negative, got ", n);
  require(degree >= 0, "random_regular_graph: degree must be non-negative, got ", degree);
  require(n <= std::numeric_limits<int32_t>::max(), "random_regular_graph: n = ", n,
          " exceeds the 32-bit vertex range");
  if (n <= degree + 1) return complete_graph(n);

  // Dense graphs pair up badly (most random pairs already exist): draw the
  // sparse complement instead. Only when n * degree is even, so the
  // complement is exactly regular too.
  if (2 * degree > n - 1 && (n * degree) % 2 == 0) {
    return complement(random_regular_edges(n, n - 1 - degree, seed), n);
  }

  std::mt19937_64 rng(seed);
  std::vector<int64_t> target_degree(size_t(n), degree);
  if ((n * degree) % 2 == 1) target_degree[uniform_below(rng, uint64_t(n))] += 1;

  constexpr int kMaxRestarts = 10000;
  Adjacency adjacency(n, degree + 1);
  for (int restart = 0; restart < kMaxRestarts; ++restart) {
    if (pair_stubs(target_degree, rng, adjacency)) return adjacency.edges();
  }
  fail("random_regular_graph: no simple ", degree, "-regular graph on ", n, " vertices found in ",
       kMaxRestarts, " restarts");
}

void check_edges(const EdgeList& edges, int64_t n, const char* argument) {
  std::vector<std::pair<Edge, size_t>> sorted;
  sorted.reserve(edges.size());
  for (size_t k = 0; k < edges.size(); ++k) {
    const Edge& e = edges[k];
    require(e[0] >= 0 && e[1] < n && e[0] < e[1], argument, ": edge ", k, " = (", e[0], ", ", e[1],
            ") must satisfy 0 <= i < j < ", n);
    sorted.push_back({e, k});
  }
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 1; k < sorted.size(); ++k) {
    require(sorted[k].first != sorted[k - 1].first, argument, ": edges ", sorted[k - 1].second,
            " and ", sorted[k].second, " both join particles ", sorted[k].first[0], " and ",
            sorted[k].first[1], " (a pair listed twice counts twice); remove one");
  }
}

double nearest_pair_distance(const double* positions, int64_t n, double stop_below) {
  double nearest2 = std::numeric_limits<double>::infinity();
  const double stop2 = stop_below * stop_below;
  for (int64_t i = 0; i < n && !(nearest2 < stop2); ++i)
    for (int64_t j = i + 1; j < n && !(nearest2 < stop2); ++j) {
      double d2 = 0.0;
      for (int c = 0; c < 3; ++c)
        d2 += (positions[3 * j + c] - positions[3 * i + c]) *
              (positions[3 * j + c] - positions[3 * i + c]);
      nearest2 = std::min(nearest2, d2);
    }
  return std::sqrt(nearest2);
}

// ---------------------------------------------------------------------------

template <typename T>
RigidityResult rigidity(const EdgeList& edges, int64_t n, int64_t dim, const T* positions,
                        const RigidityOptions& options) {
  require(dim == 2 || dim == 3, "rigidity: dim must be 2 or 3, got ", dim);
  require(n >= 1, "rigidity: n must be positive, got ", n);
  require(n <= options.max_atoms, "rigidity: ", n, " atoms exceed max_atoms = ", options.max_atoms,
          " (the check is dense, O((n d)^3) time)");
  require(options.tolerance > 0 && options.tolerance < 1,
          "rigidity: tolerance must be in (0, 1), got ", options.tolerance);
  check_edges(edges, n, "rigidity: edges");

  std::vector<double> points(size_t(n * dim));
  if (positions != nullptr) {
    require_finite_points(positions, n, dim, "rigidity: positions");
    std::copy(positions, positions + n * dim, points.begin());
  } else {
    std::mt19937_64 rng(derive_seed(options.seed, kConfigurationStream));
    for (double& x : points) x = uniform_symmetric(rng);
  }

  RigidityResult result;
  const bool simplex = n <= dim + 1;  // spans only n - 1 dimensions
  result.expected_rank = simplex ? n * (n - 1) / 2 : n * dim - dim * (dim + 1) / 2;
  result.expected_stress_rank = simplex ? 0 : n - dim - 1;

  const int64_t m = int64_t(edges.size());
  if (m > 0) {
    // Eigen on this thread alone: the factorisations here are modest, and
    // OpenMP workers only add contention on a busy machine (10x slower
    // measured); callers wanting speed check several graphs in parallel.
    const SingleOpenMPThread serial;
    // Rigidity matrix: row of edge (i, j) holds p_i - p_j in i's columns and
    // p_j - p_i in j's columns.
    Eigen::MatrixXd matrix = Eigen::MatrixXd::Zero(m, n * dim);
    for (int64_t k = 0; k < m; ++k) {
      const int64_t i = edges[k][0], j = edges[k][1];
      for (int64_t c = 0; c < dim; ++c) {
        const double difference = points[i * dim + c] - points[j * dim + c];
        matrix(k, i * dim + c) = difference;
        matrix(k, j * dim + c) = -difference;
      }
    }
    Eigen::BDCSVD<Eigen::MatrixXd> svd(matrix, Eigen::ComputeFullU);
    result.rigidity_rank = count_above(svd.singularValues(), options.tolerance);
    result.stress_dimension = m - result.rigidity_rank;

    if (result.stress_dimension > 0) {
      // Equilibrium stresses are the left null space of the rigidity matrix:
      // the trailing columns of U. A random combination of them has the
      // largest stress-matrix rank with probability 1.
      std::mt19937_64 rng(derive_seed(options.seed, kStressStream));
      Eigen::VectorXd coefficients(result.stress_dimension);
      for (int64_t s = 0; s < result.stress_dimension; ++s) {
        coefficients(s) = uniform_symmetric(rng);
      }
      const Eigen::VectorXd stress =
          svd.matrixU().rightCols(result.stress_dimension) * coefficients;
      // Omega = sum_(i,j) w_ij (e_i - e_j)(e_i - e_j)^T.
      Eigen::MatrixXd omega = Eigen::MatrixXd::Zero(n, n);
      for (int64_t k = 0; k < m; ++k) {
        const int64_t i = edges[k][0], j = edges[k][1];
        omega(i, j) -= stress(k);
        omega(j, i) -= stress(k);
        omega(i, i) += stress(k);
        omega(j, j) += stress(k);
      }
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(omega, Eigen::EigenvaluesOnly);
      result.stress_rank = count_above(eigen.eigenvalues(), options.tolerance);
    }
  }
  result.rigid = result.rigidity_rank == result.expected_rank;
  result.globally_rigid = result.rigid && result.stress_rank == result.expected_stress_rank;
  return result;
}

RigidityResult generic_rigidity(const EdgeList& edges, int64_t n, int64_t dim,
                                const RigidityOptions& options) {
  return rigidity<double>(edges, n, dim, nullptr, options);
}

// ---------------------------------------------------------------------------

Automorphisms distance_automorphisms(const double* distances, int64_t n,
                                     const AutomorphismOptions& options) {
  require(n >= 1, "automorphisms: n must be positive, got ", n);
  require(n <= options.max_atoms, "automorphisms: ", n,
          " atoms exceed max_atoms = ", options.max_atoms, " (the search stores n x n matrices)");
  require(distances != nullptr, "automorphisms: distances are null");
  require(options.tolerance >= 0 && std::isfinite(options.tolerance),
          "automorphisms: tolerance must be finite and non-negative, got ", options.tolerance);
  require(options.max_count >= 1, "automorphisms: max_count must be positive, got ",
          options.max_count);

  double largest = 0;
  for (int64_t k = 0; k < n * n; ++k) {
    require(std::isfinite(distances[k]) && distances[k] >= 0, "automorphisms: distance [", k / n,
            ", ", k % n, "] = ", distances[k], " must be finite and non-negative");
    largest = std::max(largest, distances[k]);
  }
  const double tolerance = options.tolerance * largest;
  for (int64_t i = 0; i < n; ++i) {
    require(distances[i * n + i] <= tolerance, "automorphisms: distance [", i, ", ", i,
            "] = ", distances[i * n + i], " must be 0");
    for (int64_t j = i + 1; j < n; ++j) {
      require(std::abs(distances[i * n + j] - distances[j * n + i]) <= tolerance,
              "automorphisms: distances are not symmetric at [", i, ", ", j, "]");
    }
  }

  // Vertex invariant: the sorted distance row. An automorphism can only map
  // a vertex onto one with the same invariant (and label).
  std::vector<double> sorted_rows(distances, distances + n * n);
  std::vector<double> row_sums(size_t(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    std::sort(sorted_rows.begin() + i * n, sorted_rows.begin() + (i + 1) * n);
    for (int64_t k = 0; k < n; ++k) row_sums[i] += sorted_rows[i * n + k];
  }
  auto same_invariant = [&](int64_t a, int64_t b) {
    if (options.labels != nullptr && options.labels[a] != options.labels[b]) return false;
    // Cheap necessary test first: it rejects almost every pair of points in
    // general position without touching the rows.
    if (std::abs(row_sums[a] - row_sums[b]) > double(n) * tolerance) return false;
    for (int64_t k = 0; k < n; ++k) {
      if (std::abs(sorted_rows[a * n + k] - sorted_rows[b * n + k]) > tolerance) return false;
    }
    return true;
  };
  std::vector<std::vector<int64_t>> candidates(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) {
    candidates[v].push_back(v);  // identity first, so it is found first
    for (int64_t w = 0; w < n; ++w) {
      if (w != v && same_invariant(v, w)) candidates[v].push_back(w);
    }
  }

  Automorphisms result;
  result.atoms = n;
  AutomorphismSearch(distances, n, tolerance, options.max_count, std::move(candidates), result)
      .run();
  return result;
}

template <typename T>
Automorphisms point_automorphisms(const T* positions, int64_t n, int64_t dim,
                                  const AutomorphismOptions& options) {
  require(dim >= 1, "automorphisms: dim must be positive, got ", dim);
  require(n >= 1, "automorphisms: n must be positive, got ", n);
  require(n <= options.max_atoms, "automorphisms: ", n,
          " atoms exceed max_atoms = ", options.max_atoms, " (the search stores n x n matrices)");
  require_finite_points(positions, n, dim, "automorphisms: positions");
  std::vector<double> distances(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) {
      double squared = 0;
      for (int64_t c = 0; c < dim; ++c) {
        const double difference = double(positions[i * dim + c]) - double(positions[j * dim + c]);
        squared += difference * difference;
      }
      distances[i * n + j] = distances[j * n + i] = std::sqrt(squared);
    }
  }
  return distance_automorphisms(distances.data(), n, options);
}

// ---------------------------------------------------------------------------

WeightedEdges symmetrize_edges(const EdgeList& edges, const Automorphisms& group) {
  require(!group.capped,
          "symmetrize_edges: the automorphism list was capped; symmetrising over an incomplete "
          "group breaks the invariance (raise max_count)");
  const int64_t n = group.atoms, count = group.count();
  require(count >= 1, "symmetrize_edges: the group is empty");
  check_edges(edges, n, "symmetrize_edges: edges");
  std::vector<char> seen(static_cast<size_t>(n));
  for (int64_t g = 0; g < count; ++g) {
    std::fill(seen.begin(), seen.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t image = group[g][i];
      require(image >= 0 && image < n && !seen[image], "symmetrize_edges: permutation ", g,
              " is not a permutation of 0..", n - 1, " (entry ", i, " = ", image, ")");
      seen[image] = 1;
    }
  }

  EdgeList images;
  images.reserve(size_t(count) * edges.size());
  for (int64_t g = 0; g < count; ++g) {
    for (const Edge& e : edges) {
      const int64_t a = group[g][e[0]], b = group[g][e[1]];
      images.push_back({std::min(a, b), std::max(a, b)});
    }
  }
  std::sort(images.begin(), images.end());

  WeightedEdges result;
  for (size_t start = 0; start < images.size();) {
    size_t end = start;
    while (end < images.size() && images[end] == images[start]) ++end;
    result.edges.push_back(images[start]);
    result.weights.push_back(double(end - start) / double(count));
    start = end;
  }
  return result;
}

template <typename T>
SparseRigidGraph sparse_rigid_edges(const T* ref, int64_t n, int64_t dim,
                                    const SparseRigidOptions& options) {
  require(dim == 2 || dim == 3, "sparse_rigid_edges: ref must have 2 or 3 coordinates, got ", dim);
  require(n >= 1, "sparse_rigid_edges: ref has no atoms");
  require_finite_points(ref, n, dim, "sparse_rigid_edges: ref");
  const int64_t degree = options.degree == 0 ? 2 * dim : options.degree;
  require(degree >= dim + 1, "sparse_rigid_edges: degree must be at least dim + 1 = ", dim + 1,
          " (a vertex of degree <= d can flip through its neighbours' hyperplane), got ", degree);
  require(options.max_tries >= 1, "sparse_rigid_edges: max_tries must be positive, got ",
          options.max_tries);

  SparseRigidGraph result;
  const bool verify = options.verify && n <= options.verify_max_atoms;
  bool found = false;
  for (int64_t attempt = 0; attempt < options.max_tries && !found; ++attempt) {
    const uint64_t attempt_seed = derive_seed(options.seed, uint64_t(attempt));
    result.edges = random_regular_edges(n, degree, derive_seed(attempt_seed, kGraphStream));
    result.tries = attempt + 1;
    if (verify) {
      RigidityOptions check;
      check.seed = attempt_seed;
      check.max_atoms = n;
      found = generic_rigidity(result.edges, n, dim, check).globally_rigid;
    } else {
      found = true;
    }
  }
  require(found, "sparse_rigid_edges: no generically globally rigid ", degree, "-regular graph on ",
          n, " atoms in ", dim, "D among ", options.max_tries,
          " random draws; raise degree or max_tries");
  result.verified = verify;

  if (options.symmetrize) {
    const Automorphisms group = point_automorphisms(ref, n, dim, options.automorphisms);
    WeightedEdges symmetric = symmetrize_edges(result.edges, group);
    result.edges = std::move(symmetric.edges);
    result.weights = std::move(symmetric.weights);
    result.group_size = group.count();
  } else {
    result.weights.assign(result.edges.size(), 1.0);
  }
  return result;
}

template RigidityResult rigidity<float>(const EdgeList&, int64_t, int64_t, const float*,
                                        const RigidityOptions&);
template RigidityResult rigidity<double>(const EdgeList&, int64_t, int64_t, const double*,
                                         const RigidityOptions&);
template Automorphisms point_automorphisms<float>(const float*, int64_t, int64_t,
                                                  const AutomorphismOptions&);
template Automorphisms point_automorphisms<double>(const double*, int64_t, int64_t,
                                                   const AutomorphismOptions&);
template SparseRigidGraph sparse_rigid_edges<float>(const float*, int64_t, int64_t,
                                                    const SparseRigidOptions&);
template SparseRigidGraph sparse_rigid_edges<double>(const double*, int64_t, int64_t,
                                                     const SparseRigidOptions&);

}  // namespace energyloss
