#include "energyloss/baselines.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {
namespace {

// d <= 3: fixed-capacity Eigen types live on the stack. Sums run in double
// whatever T is, so float inputs keep their precision in the reductions.
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 3, 3>;
using Vector = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 3, 1>;

template <typename T>
Vector point(const T* positions, const BatchLayout& layout, int64_t b, int64_t i) {
  return Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(
             positions + b * layout.stride() + i * layout.dim, layout.dim)
      .template cast<double>();
}

// The map pred -> rotation (pred - pred_centroid) + ref_centroid under which a
// system's residuals are measured. MSE and MAE use the identity, so every
// baseline shares one residual loop.
struct Superposition {
  Vector pred_centroid;
  Vector ref_centroid;
  Matrix rotation;

  Vector residual(const Vector& pred, const Vector& ref) const {
    return rotation * (pred - pred_centroid) - (ref - ref_centroid);
  }
};

Superposition identity(int64_t dim) {
  return {Vector::Zero(dim), Vector::Zero(dim), Matrix::Identity(dim, dim)};
}

// Kabsch: centre both sets on their masked centroids, then the proper rotation
// maximising tr(R H) for H = sum p~ y~^T is V D U^T with H = U S V^T and
// D = diag(1, ..., det(V U^T)), i.e. the last (smallest) singular direction is
// flipped when the unconstrained optimum would be a reflection.
template <typename T>
Superposition kabsch(const BaselineInput<T>& input, int64_t b, int64_t count) {
  const BatchLayout& layout = input.layout;
  const int64_t dim = layout.dim;
  Superposition result{Vector::Zero(dim), Vector::Zero(dim), Matrix::Zero(dim, dim)};
  for (int64_t i = 0; i < layout.atoms; ++i) {
    if (!layout.real(b, i)) continue;
    result.pred_centroid += point(input.pred, layout, b, i);
    result.ref_centroid += point(input.ref, layout, b, i);
  }
  result.pred_centroid /= static_cast<double>(count);
  result.ref_centroid /= static_cast<double>(count);

  Matrix covariance = Matrix::Zero(dim, dim);
  for (int64_t i = 0; i < layout.atoms; ++i) {
    if (!layout.real(b, i)) continue;
    covariance += (point(input.pred, layout, b, i) - result.pred_centroid) *
                  (point(input.ref, layout, b, i) - result.ref_centroid).transpose();
  }
  Eigen::JacobiSVD<Matrix> svd(covariance, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Matrix v = svd.matrixV();
  if ((v * svd.matrixU().transpose()).determinant() < 0) v.col(dim - 1) *= -1.0;
  result.rotation = v * svd.matrixU().transpose();
  return result;
}

template <typename T>
void validate(const BaselineInput<T>& input, const char* what, int64_t* counts) {
  check_layout(input.layout, what, counts);
  require(input.pred != nullptr && input.ref != nullptr, what, ": pred and ref must not be null");
  check_finite(input.pred, input.layout, "pred");
  check_finite(input.ref, input.layout, "ref");
}

// One system: returns its loss and writes its gradients (padding stays 0).
template <typename T>
double system_loss(BaselineKind kind, const BaselineInput<T>& input, int64_t b, int64_t count,
                   const BaselineOutput<T>& output) {
  const BatchLayout& layout = input.layout;
  const int64_t dim = layout.dim;
  const Superposition map =
      kind == BaselineKind::KabschMSE ? kabsch(input, b, count) : identity(dim);
  const double scale = 1.0 / static_cast<double>(count * dim);
  T* grad_pred = output.grad_pred == nullptr ? nullptr : output.grad_pred + b * layout.stride();
  T* grad_ref = output.grad_ref == nullptr ? nullptr : output.grad_ref + b * layout.stride();
  if (grad_pred != nullptr) std::fill(grad_pred, grad_pred + layout.stride(), T(0));
  if (grad_ref != nullptr) std::fill(grad_ref, grad_ref + layout.stride(), T(0));

  double total = 0.0;
  for (int64_t i = 0; i < layout.atoms; ++i) {
    if (!layout.real(b, i)) continue;
    const Vector residual =
        map.residual(point(input.pred, layout, b, i), point(input.ref, layout, b, i));
    // d(penalty)/d(residual), per coordinate.
    Vector slope(dim);
    if (kind == BaselineKind::MAE) {
      total += residual.cwiseAbs().sum();
      for (int64_t k = 0; k < dim; ++k) slope[k] = (residual[k] > 0) - (residual[k] < 0);
    } else {
      total += residual.squaredNorm();
      slope = 2.0 * residual;
    }
    // residual = R pred_i - ref_i + const; for Kabsch R is held fixed (envelope
    // theorem) and the centroid terms cancel because the residuals sum to 0.
    if (grad_pred != nullptr) {
      const Vector g = scale * (map.rotation.transpose() * slope);
      for (int64_t k = 0; k < dim; ++k) grad_pred[i * dim + k] = static_cast<T>(g[k]);
    }
    if (grad_ref != nullptr) {
      for (int64_t k = 0; k < dim; ++k) grad_ref[i * dim + k] = static_cast<T>(-scale * slope[k]);
    }
  }
  return total * scale;
}

}  // namespace

const char* baseline_name(BaselineKind kind) {
  switch (kind) {
    case BaselineKind::MSE:
      return "mse_loss";
    case BaselineKind::MAE:
      return "mae_loss";
    case BaselineKind::KabschMSE:
      return "kabsch_mse";
  }
  fail("baseline_loss: unknown baseline kind ", static_cast<int>(kind));
}

template <typename T>
void baseline_loss(BaselineKind kind, const BaselineInput<T>& input,
                   const BaselineOutput<T>& output) {
  const char* what = baseline_name(kind);
  // An empty batch (B = 0): nothing to read or write, pointers may be null.
  if (input.layout.batch == 0) return check_layout_shape(input.layout, what);
  require(output.loss != nullptr, what, ": the loss output must not be null");
  std::vector<int64_t> counts(input.layout.batch > 0 ? input.layout.batch : 0);
  validate(input, what, counts.data());

#pragma omp parallel for schedule(dynamic)
  for (int64_t b = 0; b < input.layout.batch; ++b) {
    output.loss[b] = static_cast<T>(system_loss(kind, input, b, counts[b], output));
  }
}

template <typename T>
void kabsch_align(const BaselineInput<T>& input, T* aligned) {
  if (input.layout.batch == 0) return check_layout_shape(input.layout, "kabsch_align");
  require(aligned != nullptr, "kabsch_align: the output must not be null");
  const BatchLayout& layout = input.layout;
  std::vector<int64_t> counts(layout.batch > 0 ? layout.batch : 0);
  validate(input, "kabsch_align", counts.data());

#pragma omp parallel for schedule(dynamic)
  for (int64_t b = 0; b < layout.batch; ++b) {
    const Superposition map = kabsch(input, b, counts[b]);
    for (int64_t i = 0; i < layout.atoms; ++i) {
      const int64_t offset = b * layout.stride() + i * layout.dim;
      if (!layout.real(b, i)) {
        std::copy(input.pred + offset, input.pred + offset + layout.dim, aligned + offset);
        continue;
      }
      const Vector moved =
          map.rotation * (point(input.pred, layout, b, i) - map.pred_centroid) + map.ref_centroid;
      for (int64_t k = 0; k < layout.dim; ++k) aligned[offset + k] = static_cast<T>(moved[k]);
    }
  }
}

template void baseline_loss<float>(BaselineKind, const BaselineInput<float>&,
                                   const BaselineOutput<float>&);
template void baseline_loss<double>(BaselineKind, const BaselineInput<double>&,
                                    const BaselineOutput<double>&);
template void kabsch_align<float>(const BaselineInput<float>&, float*);
template void kabsch_align<double>(const BaselineInput<double>&, double*);

}  // namespace energyloss
