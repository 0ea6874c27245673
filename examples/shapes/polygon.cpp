#include "polygon.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "energyloss/error.h"

namespace shapes {
namespace {

double population_std(const std::vector<double>& values) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  double variance = 0;
  for (double v : values) variance += (v - mean) * (v - mean);
  return std::sqrt(variance / static_cast<double>(values.size()));
}

}  // namespace

ShapeQuality shape_quality(const double* xy, int64_t n_vertices) {
  energyloss::require(n_vertices >= 3, "shape_quality: n_vertices must be >= 3, got ", n_vertices);
  const auto n = static_cast<size_t>(n_vertices);
  double cx = 0, cy = 0;
  for (size_t i = 0; i < n; ++i) {
    cx += xy[2 * i];
    cy += xy[2 * i + 1];
  }
  cx /= static_cast<double>(n);
  cy /= static_cast<double>(n);

  std::vector<double> angles(n), radii(n);
  double mean_radius = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = xy[2 * i] - cx, dy = xy[2 * i + 1] - cy;
    angles[i] = std::atan2(dy, dx);
    radii[i] = std::hypot(dx, dy);
    mean_radius += radii[i];
  }
  mean_radius /= static_cast<double>(n);

  // The model may emit the vertices in any order: sort them around the centroid.
  std::sort(angles.begin(), angles.end());
  std::vector<double> gaps(n);
  for (size_t i = 0; i + 1 < n; ++i) gaps[i] = angles[i + 1] - angles[i];
  gaps[n - 1] = angles[0] + 2 * M_PI - angles[n - 1];

  ShapeQuality result;
  result.sigma_angle = population_std(gaps);
  result.sigma_radius = population_std(radii);
  // A shape collapsed onto its centroid has no regularity at all: radial term 1.
  const double radial = mean_radius > 0 ? result.sigma_radius / mean_radius : 1.0;
  // Floor the irregularity so a perfect shape scores a large finite quality, not +inf.
  result.quality = -std::log(std::max(result.sigma_angle / (2 * M_PI) + radial, 1e-12));
  return result;
}

}  // namespace shapes
