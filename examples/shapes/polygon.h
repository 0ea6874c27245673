// Shape quality of the regular-polygon experiment (paper section C.1):
//   quality = -ln(sigma_dangle / 2pi + sigma_radius / mean_radius)
// where the angles are those of the vertices around their centroid, sorted,
// dangle their consecutive differences (the wrap-around one included), and
// the radii the vertex distances from the centroid. A regular polygon has
// both terms 0; above ~5 shapes look perfect, below ~2 disordered.
#pragma once

#include <cstdint>

namespace shapes {

struct ShapeQuality {
  double quality = 0;
  double sigma_angle = 0;   // std of the angle differences, radians
  double sigma_radius = 0;  // std of the centroid distances, length units
};

// xy: [n_vertices, 2] row-major. Standard deviations are population ones.
ShapeQuality shape_quality(const double* xy, int64_t n_vertices);

}  // namespace shapes
