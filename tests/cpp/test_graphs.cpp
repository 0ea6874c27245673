// Edge sets for the sparse pair loss: random regular graphs, rigidity,
// automorphisms and symmetrisation. Expected values come from hand-derived
// rank counts, independent rank computations (Eigen's FullPivLU) and
// independently constructed symmetry groups.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "../support/expect_error.h"
#include "energyloss/error.h"
#include "energyloss/graphs.h"
#include "energyloss/openmp.h"

namespace energyloss {
namespace {

using test_support::expect_error;

std::vector<int64_t> degrees(const EdgeList& edges, int64_t n) {
  std::vector<int64_t> result(size_t(n), 0);
  for (const Edge& e : edges) {
    ++result[e[0]];
    ++result[e[1]];
  }
  return result;
}

// Every edge has 0 <= i < j < n and none repeats.
void expect_simple(const EdgeList& edges, int64_t n) {
  std::set<Edge> seen;
  for (const Edge& e : edges) {
    EXPECT_LE(0, e[0]);
    EXPECT_LT(e[0], e[1]);
    EXPECT_LT(e[1], n);
    EXPECT_TRUE(seen.insert(e).second) << "duplicate edge " << e[0] << "-" << e[1];
  }
}

std::vector<double> regular_polygon(int64_t n, double radius = 1.0) {
  std::vector<double> points;
  for (int64_t k = 0; k < n; ++k) {
    const double angle = 2 * M_PI * double(k) / double(n);
    points.push_back(radius * std::cos(angle));
    points.push_back(radius * std::sin(angle));
  }
  return points;
}

std::vector<double> random_points(int64_t n, int64_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> points(size_t(n * dim));
  for (double& x : points) x = uniform(rng);
  return points;
}

// Methane-like: carbon at the origin, hydrogens on alternate cube corners.
std::vector<double> methane() {
  return {0, 0, 0, 1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1};
}

double distance(const std::vector<double>& points, int64_t dim, int64_t i, int64_t j) {
  double squared = 0;
  for (int64_t c = 0; c < dim; ++c) {
    const double difference = points[i * dim + c] - points[j * dim + c];
    squared += difference * difference;
  }
  return std::sqrt(squared);
}

// Checks each permutation of `group` independently against the distances
// and returns them as a set (distinctness is then visible in its size).
std::set<std::vector<int64_t>> checked_permutations(const Automorphisms& group,
                                                    const std::vector<double>& points,
                                                    int64_t dim) {
  const int64_t n = group.atoms;
  std::set<std::vector<int64_t>> result;
  for (int64_t g = 0; g < group.count(); ++g) {
    std::vector<int64_t> permutation(group[g], group[g] + n);
    std::vector<int64_t> sorted = permutation;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i) << "row " << g << " not a permutation";
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_NEAR(distance(points, dim, permutation[i], permutation[j]),
                    distance(points, dim, i, j), 1e-9);
      }
    }
    result.insert(permutation);
  }
  return result;
}

EdgeList without(EdgeList edges, Edge removed) {
  edges.erase(std::find(edges.begin(), edges.end(), removed));
  return edges;
}

// ---------------------------------------------------------------------------
// Random regular graphs

TEST(RandomRegularGraph, SimpleRegularAndDeterministic) {
  struct Case {
    int64_t n, degree;
  };
  for (const Case c : {Case{10, 3}, Case{50, 4}, Case{9, 6}, Case{12, 8}, Case{1000, 6},
                       Case{64, 4}, Case{20, 0}}) {
    const EdgeList edges = random_regular_edges(c.n, c.degree, 7);
    SCOPED_TRACE(testing::Message() << "n = " << c.n << ", degree = " << c.degree);
    expect_simple(edges, c.n);
    for (int64_t d : degrees(edges, c.n)) EXPECT_EQ(d, c.degree);
    EXPECT_TRUE(std::is_sorted(edges.begin(), edges.end()));
    EXPECT_EQ(random_regular_edges(c.n, c.degree, 7), edges);
    if (c.degree > 0) {
      EXPECT_NE(random_regular_edges(c.n, c.degree, 8), edges);
    }
  }
}

TEST(RandomRegularGraph, OddDegreeSumGivesOneVertexAnExtraNeighbour) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const EdgeList edges = random_regular_edges(11, 3, seed);
    expect_simple(edges, 11);
    const std::vector<int64_t> d = degrees(edges, 11);
    EXPECT_EQ(std::count(d.begin(), d.end(), 3), 10);
    EXPECT_EQ(std::count(d.begin(), d.end(), 4), 1);
  }
}

TEST(RandomRegularGraph, SmallNGivesCompleteGraph) {
  for (int64_t n = 0; n <= 7; ++n) {
    EXPECT_EQ(random_regular_edges(n, 6, 3), complete_graph(n)) << "n = " << n;
  }
  EXPECT_EQ(complete_graph(4), (EdgeList{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}));
}

TEST(RandomRegularGraph, RejectsNegativeSizes) {
  EXPECT_THROW(random_regular_edges(-1, 3, 0), Error);
  EXPECT_THROW(random_regular_edges(10, -1, 0), Error);
}

TEST(RandomRegularGraph, TimingAt300kVertices) {
  const auto start = std::chrono::steady_clock::now();
  const EdgeList edges = random_regular_edges(300000, 6, 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ timing ] random_regular_edges(n = 300000, degree = 6): %.3f s, %zu edges\n",
              seconds, edges.size());
  EXPECT_EQ(edges.size(), size_t(900000));
  for (int64_t d : degrees(edges, 300000)) ASSERT_EQ(d, 6);
}

// ---------------------------------------------------------------------------
// Rigidity

TEST(Rigidity, TriangleIsGloballyRigidInThePlane) {
  const RigidityResult r = generic_rigidity({{0, 1}, {0, 2}, {1, 2}}, 3, 2);
  EXPECT_EQ(r.rigidity_rank, 3);
  EXPECT_EQ(r.expected_rank, 3);  // n (n - 1) / 2 for n <= d + 1
  EXPECT_EQ(r.stress_dimension, 0);
  EXPECT_TRUE(r.rigid);
  EXPECT_TRUE(r.globally_rigid);
}

TEST(Rigidity, FourCycleIsFlexible) {
  const RigidityResult r = generic_rigidity({{0, 1}, {1, 2}, {2, 3}, {0, 3}}, 4, 2);
  EXPECT_EQ(r.rigidity_rank, 4);  // independent edges
  EXPECT_EQ(r.expected_rank, 5);  // 2 * 4 - 3
  EXPECT_EQ(r.stress_dimension, 0);
  EXPECT_FALSE(r.rigid);
  EXPECT_FALSE(r.globally_rigid);
}

TEST(Rigidity, K4MinusEdgeIsRigidButNotGloballyRigid) {
  // Two triangles sharing an edge: minimally rigid, but one can fold over
  // the shared edge. No stress exists, so the stress matrix has rank 0 < 1.
  const RigidityResult r = generic_rigidity(without(complete_graph(4), {2, 3}), 4, 2);
  EXPECT_EQ(r.rigidity_rank, 5);
  EXPECT_EQ(r.expected_rank, 5);
  EXPECT_EQ(r.stress_dimension, 0);
  EXPECT_EQ(r.stress_rank, 0);
  EXPECT_EQ(r.expected_stress_rank, 1);  // n - d - 1
  EXPECT_TRUE(r.rigid);
  EXPECT_FALSE(r.globally_rigid);
}

TEST(Rigidity, K4IsGloballyRigidInThePlane) {
  const RigidityResult r = generic_rigidity(complete_graph(4), 4, 2);
  EXPECT_EQ(r.rigidity_rank, 5);
  EXPECT_EQ(r.stress_dimension, 1);  // 6 edges - rank 5
  EXPECT_EQ(r.stress_rank, 1);
  EXPECT_TRUE(r.globally_rigid);
}

TEST(Rigidity, K5InSpace) {
  const RigidityResult complete = generic_rigidity(complete_graph(5), 5, 3);
  EXPECT_EQ(complete.rigidity_rank, 9);  // 3 * 5 - 6
  EXPECT_EQ(complete.expected_rank, 9);
  EXPECT_EQ(complete.stress_dimension, 1);  // 10 - 9
  EXPECT_EQ(complete.stress_rank, 1);       // 5 - 3 - 1
  EXPECT_TRUE(complete.globally_rigid);

  // Two tetrahedra glued on a triangle: rigid, but reflects through it.
  const RigidityResult missing = generic_rigidity(without(complete_graph(5), {3, 4}), 5, 3);
  EXPECT_EQ(missing.rigidity_rank, 9);
  EXPECT_TRUE(missing.rigid);
  EXPECT_EQ(missing.stress_dimension, 0);
  EXPECT_FALSE(missing.globally_rigid);
}

TEST(Rigidity, SimplexCases) {
  EXPECT_TRUE(generic_rigidity({}, 1, 3).globally_rigid);
  const RigidityResult pair = generic_rigidity({{0, 1}}, 2, 3);
  EXPECT_EQ(pair.rigidity_rank, 1);
  EXPECT_EQ(pair.expected_rank, 1);
  EXPECT_TRUE(pair.globally_rigid);
  const RigidityResult tetrahedron = generic_rigidity(complete_graph(4), 4, 3);
  EXPECT_EQ(tetrahedron.rigidity_rank, 6);
  EXPECT_TRUE(tetrahedron.globally_rigid);
  EXPECT_FALSE(generic_rigidity(without(complete_graph(4), {0, 1}), 4, 3).rigid);
}

TEST(Rigidity, WheelsAreGloballyRigidInThePlane) {
  // Hub 0 joined to every vertex of the cycle 1..k: 2n - 2 edges, one stress.
  for (int64_t k = 4; k <= 10; ++k) {
    const int64_t n = k + 1;
    EdgeList edges;
    for (int64_t v = 1; v <= k; ++v) edges.push_back({0, v});
    for (int64_t v = 1; v < k; ++v) edges.push_back({v, v + 1});
    edges.push_back({1, k});
    const RigidityResult r = generic_rigidity(edges, n, 2, {uint64_t(k)});
    EXPECT_EQ(r.rigidity_rank, 2 * n - 3) << "k = " << k;
    EXPECT_EQ(r.stress_dimension, 1);
    EXPECT_EQ(r.stress_rank, n - 3);
    EXPECT_TRUE(r.globally_rigid);
  }
}

TEST(Rigidity, CubicGraphsAreNeverGloballyRigidInThePlane) {
  // 3n/2 edges < 2n - 2 (needed for redundant rigidity, Hendrickson) once n >= 6.
  for (int64_t n : {6, 8, 10, 20, 40}) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const RigidityResult r = generic_rigidity(random_regular_edges(n, 3, seed), n, 2, {seed});
      EXPECT_FALSE(r.globally_rigid) << "n = " << n << ", seed = " << seed;
      EXPECT_LE(r.rigidity_rank, 3 * n / 2);
    }
  }
}

TEST(Rigidity, RankMatchesIndependentLuRankAtGivenPositions) {
  for (int64_t dim : {2, 3}) {
    for (uint64_t seed = 0; seed < 6; ++seed) {
      const int64_t n = 12;
      const EdgeList edges = random_regular_edges(n, int64_t(2 + seed % 5), seed);
      const std::vector<double> points = random_points(n, dim, unsigned(seed + 100));
      Eigen::MatrixXd matrix = Eigen::MatrixXd::Zero(int64_t(edges.size()), n * dim);
      for (size_t k = 0; k < edges.size(); ++k) {
        for (int64_t c = 0; c < dim; ++c) {
          const double difference = points[edges[k][0] * dim + c] - points[edges[k][1] * dim + c];
          matrix(int64_t(k), edges[k][0] * dim + c) = difference;
          matrix(int64_t(k), edges[k][1] * dim + c) = -difference;
        }
      }
      Eigen::FullPivLU<Eigen::MatrixXd> lu(matrix);
      lu.setThreshold(1e-10);
      const RigidityResult r = rigidity(edges, n, dim, points.data());
      EXPECT_EQ(r.rigidity_rank, lu.rank()) << "dim = " << dim << ", seed = " << seed;
      EXPECT_EQ(r.stress_dimension, int64_t(edges.size()) - lu.rank());
    }
  }
}

TEST(Rigidity, SpecialPositionsCanBeFlexible) {
  const EdgeList triangle = {{0, 1}, {0, 2}, {1, 2}};
  const std::vector<double> collinear = {0, 0, 1, 0, 3, 0};
  const RigidityResult r = rigidity(triangle, 3, 2, collinear.data());
  EXPECT_EQ(r.rigidity_rank, 2);
  EXPECT_FALSE(r.rigid);
  const std::vector<float> generic = {0, 0, 1, 0, 0.3f, 0.8f};
  EXPECT_TRUE(rigidity(triangle, 3, 2, generic.data()).globally_rigid);
}

TEST(Rigidity, RejectsBadInput) {
  const EdgeList triangle = {{0, 1}, {0, 2}, {1, 2}};
  EXPECT_THROW(generic_rigidity(triangle, 3, 4), Error);
  EXPECT_THROW(generic_rigidity(triangle, 2, 2), Error);              // index out of range
  EXPECT_THROW(generic_rigidity({{1, 1}}, 3, 2), Error);              // self loop
  EXPECT_THROW(generic_rigidity({{1, 0}}, 3, 2), Error);              // not i < j
  EXPECT_THROW(generic_rigidity({{0, 1}, {0, 1}}, 3, 2), Error);      // duplicate
  EXPECT_THROW(generic_rigidity(complete_graph(5), 5000, 2), Error);  // too large
  const std::vector<double> bad = {0, 0, 1, std::numeric_limits<double>::quiet_NaN(), 0, 1};
  EXPECT_THROW(rigidity(triangle, 3, 2, bad.data()), Error);
  expect_error([] { generic_rigidity({{0, 1}, {2, 1}}, 3, 2); }, "edge 1");
}

// Paper Fig. 5: random 2d-regular graphs are globally rigid w.h.p.
TEST(Rigidity, RandomTwoDRegularGraphsAreGloballyRigidWhp) {
  constexpr int kGraphs = 40;
  for (int64_t dim : {2, 3}) {
    for (int64_t n : {8, 16, 32, 64}) {
      int rigid = 0;
      for (uint64_t seed = 0; seed < kGraphs; ++seed) {
        const EdgeList edges = random_regular_edges(n, 2 * dim, seed);
        rigid += generic_rigidity(edges, n, dim, {seed + 1000}).globally_rigid ? 1 : 0;
      }
      const double fraction = double(rigid) / kGraphs;
      std::printf("[ fig. 5 ] d = %lld, n = %2lld, degree %lld: %.3f globally rigid\n",
                  (long long)dim, (long long)n, (long long)(2 * dim), fraction);
      if (n >= 16) {
        EXPECT_GE(fraction, 0.9) << "d = " << dim << ", n = " << n;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Automorphisms

TEST(Automorphisms, RegularPolygonHasTheDihedralGroup) {
  for (int64_t n : {3, 4, 5, 6, 12, 32}) {
    const std::vector<double> points = regular_polygon(n, 1.3);
    const Automorphisms group = point_automorphisms(points.data(), n, 2);
    EXPECT_FALSE(group.capped);
    std::set<std::vector<int64_t>> dihedral;  // rotations i -> i + k, reflections i -> k - i
    for (int64_t k = 0; k < n; ++k) {
      std::vector<int64_t> rotation, reflection;
      for (int64_t i = 0; i < n; ++i) {
        rotation.push_back((i + k) % n);
        reflection.push_back(((k - i) % n + n) % n);
      }
      dihedral.insert(rotation);
      dihedral.insert(reflection);
    }
    ASSERT_EQ(group.count(), 2 * n) << "n = " << n;
    EXPECT_EQ(checked_permutations(group, points, 2), dihedral);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(group[0][i], i);  // identity first
  }
}

TEST(Automorphisms, GenericPointsHaveOnlyTheIdentity) {
  for (int64_t dim : {2, 3}) {
    const std::vector<double> points = random_points(25, dim, unsigned(dim));
    const Automorphisms group = point_automorphisms(points.data(), 25, dim);
    ASSERT_EQ(group.count(), 1);
    for (int64_t i = 0; i < 25; ++i) EXPECT_EQ(group[0][i], i);
  }
}

TEST(Automorphisms, MethaneAndCube) {
  const std::vector<double> ch4 = methane();
  const Automorphisms tetrahedral = point_automorphisms(ch4.data(), 5, 3);
  EXPECT_EQ(tetrahedral.count(), 24);  // all permutations of the 4 hydrogens
  EXPECT_EQ(checked_permutations(tetrahedral, ch4, 3).size(), size_t(24));
  for (int64_t g = 0; g < 24; ++g) EXPECT_EQ(tetrahedral[g][0], 0);  // carbon stays

  std::vector<double> cube;
  for (int corner = 0; corner < 8; ++corner) {
    for (int c = 0; c < 3; ++c) cube.push_back((corner >> c) & 1);
  }
  const Automorphisms octahedral = point_automorphisms(cube.data(), 8, 3);
  EXPECT_EQ(octahedral.count(), 48);
  EXPECT_EQ(checked_permutations(octahedral, cube, 3).size(), size_t(48));
}

TEST(Automorphisms, LabelsRestrictTheGroup) {
  const std::vector<double> square = regular_polygon(4);
  const int64_t labels[] = {0, 1, 0, 1};
  AutomorphismOptions options;
  options.labels = labels;
  const Automorphisms coloured = point_automorphisms(square.data(), 4, 2, options);
  const Automorphisms plain = point_automorphisms(square.data(), 4, 2);
  int64_t expected = 0;  // elements of the full group that keep the colours
  for (int64_t g = 0; g < plain.count(); ++g) {
    bool keeps = true;
    for (int64_t i = 0; i < 4; ++i) keeps = keeps && labels[plain[g][i]] == labels[i];
    expected += keeps ? 1 : 0;
  }
  EXPECT_EQ(expected, 4);
  EXPECT_EQ(coloured.count(), expected);
  for (int64_t g = 0; g < coloured.count(); ++g) {
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(labels[coloured[g][i]], labels[i]);
  }
}

TEST(Automorphisms, CapStopsTheSearch) {
  const std::vector<double> points = regular_polygon(12);
  AutomorphismOptions options;
  options.max_count = 5;
  const Automorphisms capped = point_automorphisms(points.data(), 12, 2, options);
  EXPECT_EQ(capped.count(), 5);
  EXPECT_TRUE(capped.capped);
  options.max_count = 24;  // exactly the group order: complete, not capped
  const Automorphisms exact = point_automorphisms(points.data(), 12, 2, options);
  EXPECT_EQ(exact.count(), 24);
  EXPECT_FALSE(exact.capped);
  // Coincident points: every permutation works; the cap keeps it finite.
  const std::vector<double> same(20 * 3, 0.5);
  const Automorphisms all = point_automorphisms(same.data(), 20, 3);
  EXPECT_EQ(all.count(), 10000);
  EXPECT_TRUE(all.capped);
}

TEST(Automorphisms, RejectsBadInput) {
  std::vector<double> points = regular_polygon(5);
  points[3] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(point_automorphisms(points.data(), 5, 2), Error);
  const double asymmetric[] = {0, 1, 2, 0};
  EXPECT_THROW(distance_automorphisms(asymmetric, 2), Error);
  const double negative[] = {0, -1, -1, 0};
  EXPECT_THROW(distance_automorphisms(negative, 2), Error);
  AutomorphismOptions options;
  options.max_count = 0;
  EXPECT_THROW(point_automorphisms(regular_polygon(5).data(), 5, 2, options), Error);
}

// ---------------------------------------------------------------------------
// Symmetrisation and sparse rigid edges

// The weighted edge set maps onto itself under every permutation of `group`.
void expect_invariant(const EdgeList& edges, const std::vector<double>& weights,
                      const Automorphisms& group) {
  std::map<Edge, double> weight_of;
  for (size_t k = 0; k < edges.size(); ++k) weight_of[edges[k]] = weights[k];
  for (int64_t g = 0; g < group.count(); ++g) {
    for (size_t k = 0; k < edges.size(); ++k) {
      const int64_t a = group[g][edges[k][0]], b = group[g][edges[k][1]];
      const auto image = weight_of.find({std::min(a, b), std::max(a, b)});
      ASSERT_NE(image, weight_of.end()) << "element " << g << " maps edge " << k << " outside";
      EXPECT_DOUBLE_EQ(image->second, weights[k]);
    }
  }
}

TEST(SparseRigidEdges, SymmetrisedPolygonGraphIsInvariant) {
  for (int64_t n : {8, 12, 30}) {
    const std::vector<double> points = regular_polygon(n);
    SparseRigidOptions options;
    options.seed = 3;
    options.symmetrize = true;
    const SparseRigidGraph graph = sparse_rigid_edges(points.data(), n, 2, options);
    EXPECT_TRUE(graph.verified);
    EXPECT_EQ(graph.group_size, 2 * n);
    expect_simple(graph.edges, n);
    double total = 0;
    for (double w : graph.weights) {
      EXPECT_GT(w, 0);
      total += w;
    }
    EXPECT_NEAR(total, 2.0 * n, 1e-9);  // the 4-regular graph had 2n edges
    expect_invariant(graph.edges, graph.weights, point_automorphisms(points.data(), n, 2));
    // A superset of a globally rigid graph stays globally rigid.
    EXPECT_TRUE(generic_rigidity(graph.edges, n, 2, {99}).globally_rigid);
  }
}

TEST(SparseRigidEdges, SymmetrisedMoleculeIsInvariant) {
  // Methane plus a few generic atoms keeps only part of the symmetry; the
  // bare methane is small enough to be complete.
  const std::vector<double> ch4 = methane();
  SparseRigidOptions options;
  options.symmetrize = true;
  options.degree = 4;
  const SparseRigidGraph graph = sparse_rigid_edges(ch4.data(), 5, 3, options);
  EXPECT_EQ(graph.edges, complete_graph(5));
  EXPECT_EQ(graph.group_size, 24);

  std::vector<double> points;
  for (int64_t k = 0; k < 10; ++k) {  // two stacked pentagons: D5h, order 20
    const double angle = 2 * M_PI * double(k % 5) / 5;
    points.insert(points.end(), {std::cos(angle), std::sin(angle), k < 5 ? -0.7 : 0.7});
  }
  options.degree = 0;  // 2 d = 6
  const SparseRigidGraph prism = sparse_rigid_edges(points.data(), 10, 3, options);
  const Automorphisms group = point_automorphisms(points.data(), 10, 3);
  EXPECT_EQ(group.count(), 20);
  EXPECT_EQ(prism.group_size, 20);
  expect_invariant(prism.edges, prism.weights, group);
  double total = 0;
  for (double w : prism.weights) total += w;
  EXPECT_NEAR(total, 30.0, 1e-9);  // 10 atoms * degree 6 / 2
}

TEST(SparseRigidEdges, UnsymmetrisedGraphIsRegularRigidAndDeterministic) {
  for (int64_t dim : {2, 3}) {
    const int64_t n = 40;
    const std::vector<float> points = [&] {
      std::vector<float> result;
      for (double x : random_points(n, dim, 5)) result.push_back(float(x));
      return result;
    }();
    SparseRigidOptions options;
    options.seed = 11;
    const SparseRigidGraph graph = sparse_rigid_edges(points.data(), n, dim, options);
    EXPECT_TRUE(graph.verified);
    EXPECT_GE(graph.tries, 1);
    for (int64_t d : degrees(graph.edges, n)) EXPECT_EQ(d, 2 * dim);
    EXPECT_EQ(graph.weights, std::vector<double>(graph.edges.size(), 1.0));
    EXPECT_TRUE(generic_rigidity(graph.edges, n, dim, {12345}).globally_rigid);
    EXPECT_EQ(sparse_rigid_edges(points.data(), n, dim, options).edges, graph.edges);
    options.seed = 12;
    EXPECT_NE(sparse_rigid_edges(points.data(), n, dim, options).edges, graph.edges);
  }
}

TEST(SparseRigidEdges, LargeInputsSkipVerification) {
  const int64_t n = 20000;
  const std::vector<double> points = random_points(n, 3, 9);
  SparseRigidOptions options;
  options.verify_max_atoms = 1000;
  const SparseRigidGraph graph = sparse_rigid_edges(points.data(), n, 3, options);
  EXPECT_FALSE(graph.verified);
  EXPECT_EQ(graph.tries, 1);
  EXPECT_EQ(graph.edges.size(), size_t(3 * n));
}

TEST(SparseRigidEdges, RejectsBadInput) {
  std::vector<double> points = random_points(20, 2, 1);
  SparseRigidOptions options;
  EXPECT_THROW(sparse_rigid_edges(points.data(), 20, 4, options), Error);  // dim
  options.degree = 2;
  EXPECT_THROW(sparse_rigid_edges(points.data(), 20, 2, options), Error);  // degree < d + 1
  options.degree = 3;  // cubic graphs are never globally rigid in the plane
  options.max_tries = 4;
  expect_error([&] { sparse_rigid_edges(points.data(), 20, 2, options); }, "max_tries");
  options = {};
  points[7] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(sparse_rigid_edges(points.data(), 20, 2, options), Error);

  AutomorphismOptions cap;
  cap.max_count = 3;
  const std::vector<double> polygon = regular_polygon(8);
  const Automorphisms capped = point_automorphisms(polygon.data(), 8, 2, cap);
  EXPECT_THROW(symmetrize_edges(complete_graph(8), capped), Error);
}

// The guard the rigidity check and the OpenMM plugin run under: one thread
// inside, the caller's setting back after.
TEST(SingleOpenMPThread, RunsRegionsOnTheCallingThreadAndRestoresTheSetting) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  {
    const SingleOpenMPThread single;
    int team = 0;
#pragma omp parallel
    {
#pragma omp single
      team = omp_get_num_threads();
    }
    EXPECT_EQ(team, 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  omp_set_num_threads(before);
}

}  // namespace
}  // namespace energyloss
