// Baseline losses (MSE, MAE, Kabsch MSE) against independent computations:
// naive loops, brute-force rotation scans, closed forms and finite differences.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_differences.h"
#include "../support/random_values.h"
#include "energyloss/baselines.h"
#include "energyloss/error.h"

namespace energyloss {
namespace {

using test_support::central_difference;
using test_support::expect_error;
using test_support::normal_values;

using Points = std::vector<double>;

// A uniformly random proper rotation (QR of a Gaussian matrix, signs fixed).
Eigen::MatrixXd random_rotation(int64_t dim, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd gaussian(dim, dim);
  for (int64_t i = 0; i < dim * dim; ++i) gaussian(i) = normal(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Eigen::MatrixXd q = qr.householderQ();
  if (q.determinant() < 0) q.col(0) *= -1.0;
  return q;
}

// Applies x -> rotation x + shift to every atom of every system.
Points transform(const Points& points, int64_t dim, const Eigen::MatrixXd& rotation,
                 const Eigen::VectorXd& shift) {
  Points out(points.size());
  for (size_t atom = 0; atom < points.size() / dim; ++atom) {
    const Eigen::Map<const Eigen::VectorXd> x(points.data() + atom * dim, dim);
    Eigen::Map<Eigen::VectorXd>(out.data() + atom * dim, dim) = rotation * x + shift;
  }
  return out;
}

BatchLayout layout_of(int64_t batch, int64_t atoms, int64_t dim, const bool* mask = nullptr) {
  BatchLayout layout;
  layout.batch = batch;
  layout.atoms = atoms;
  layout.dim = dim;
  layout.mask = mask;
  return layout;
}

struct Result {
  std::vector<double> loss, grad_pred, grad_ref;
};

Result evaluate(BaselineKind kind, const Points& pred, const Points& ref,
                const BatchLayout& layout) {
  Result result{std::vector<double>(layout.batch), Points(pred.size()), Points(pred.size())};
  BaselineInput<double> input{pred.data(), ref.data(), layout};
  baseline_loss(
      kind, input,
      BaselineOutput<double>{result.loss.data(), result.grad_pred.data(), result.grad_ref.data()});
  return result;
}

double loss_of(BaselineKind kind, const Points& pred, const Points& ref, const BatchLayout& layout,
               int64_t system) {
  return evaluate(kind, pred, ref, layout).loss[system];
}

// A batch of 3 systems of 7 atoms with systems 1 and 2 padded.
std::vector<char> example_mask() {
  std::vector<char> mask(3 * 7, 1);
  for (int64_t i = 4; i < 7; ++i) mask[7 + i] = 0;
  mask[2 * 7 + 0] = 0;
  mask[2 * 7 + 5] = 0;
  return mask;
}

const bool* as_bools(const std::vector<char>& mask) {
  static_assert(sizeof(bool) == sizeof(char));
  return reinterpret_cast<const bool*>(mask.data());
}

int64_t real_atoms(const std::vector<char>& mask, int64_t system, int64_t atoms) {
  int64_t count = 0;
  for (int64_t i = 0; i < atoms; ++i) count += mask[system * atoms + i];
  return count;
}

TEST(Baselines, MseAndMaeMatchNaiveLoopsWithMasks) {
  std::mt19937 rng(1);
  for (int64_t dim : {2, 3}) {
    const auto mask = example_mask();
    const BatchLayout layout = layout_of(3, 7, dim, as_bools(mask));
    const Points pred = normal_values(3 * 7 * dim, rng), ref = normal_values(3 * 7 * dim, rng);
    const Result mse = evaluate(BaselineKind::MSE, pred, ref, layout);
    const Result mae = evaluate(BaselineKind::MAE, pred, ref, layout);
    for (int64_t b = 0; b < 3; ++b) {
      const double values = static_cast<double>(real_atoms(mask, b, 7) * dim);
      double squares = 0, absolutes = 0;
      for (int64_t i = 0; i < 7; ++i) {
        for (int64_t k = 0; k < dim; ++k) {
          const int64_t index = (b * 7 + i) * dim + k;
          const double diff = pred[index] - ref[index];
          const bool real = mask[b * 7 + i];
          squares += real ? diff * diff : 0.0;
          absolutes += real ? std::abs(diff) : 0.0;
          EXPECT_NEAR(mse.grad_pred[index], real ? 2 * diff / values : 0.0, 1e-14);
          EXPECT_NEAR(mse.grad_ref[index], real ? -2 * diff / values : 0.0, 1e-14);
          EXPECT_EQ(mae.grad_pred[index], real ? (diff > 0 ? 1 : -1) / values : 0.0);
          EXPECT_EQ(mae.grad_ref[index], real ? (diff > 0 ? -1 : 1) / values : 0.0);
        }
      }
      EXPECT_NEAR(mse.loss[b], squares / values, 1e-14);
      EXPECT_NEAR(mae.loss[b], absolutes / values, 1e-14);
    }
  }
}

TEST(Baselines, MaeSubgradientIsZeroAtEqualCoordinates) {
  const Points pred = {1, 2, 3, 4, 5, 6}, ref = {1, 0, 3, 4, 9, 6};
  const Result mae = evaluate(BaselineKind::MAE, pred, ref, layout_of(1, 2, 3));
  EXPECT_DOUBLE_EQ(mae.loss[0], 6.0 / 6.0);
  const Points expected_grad = {0, 1.0 / 6, 0, 0, -1.0 / 6, 0};
  for (size_t k = 0; k < pred.size(); ++k) EXPECT_EQ(mae.grad_pred[k], expected_grad[k]);
}

TEST(Baselines, FloatMatchesDouble) {
  std::mt19937 rng(2);
  const Points pred = normal_values(2 * 5 * 3, rng), ref = normal_values(2 * 5 * 3, rng);
  const std::vector<float> pred_f(pred.begin(), pred.end()), ref_f(ref.begin(), ref.end());
  for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
    // The double reference sees the float-rounded coordinates.
    const Points pred_r(pred_f.begin(), pred_f.end()), ref_r(ref_f.begin(), ref_f.end());
    const Result exact = evaluate(kind, pred_r, ref_r, layout_of(2, 5, 3));
    std::vector<float> loss(2), grad(pred.size());
    baseline_loss<float>(kind, {pred_f.data(), ref_f.data(), layout_of(2, 5, 3)},
                         {loss.data(), grad.data(), nullptr});
    for (int64_t b = 0; b < 2; ++b) EXPECT_NEAR(loss[b], exact.loss[b], 1e-5);
    for (size_t k = 0; k < grad.size(); ++k) EXPECT_NEAR(grad[k], exact.grad_pred[k], 1e-5);
  }
}

TEST(Baselines, PaddingCoordinatesChangeNothing) {
  std::mt19937 rng(3);
  const auto mask = example_mask();
  const BatchLayout layout = layout_of(3, 7, 3, as_bools(mask));
  const Points pred = normal_values(3 * 7 * 3, rng), ref = normal_values(3 * 7 * 3, rng);
  Points pred_moved = pred, ref_moved = ref;
  for (int64_t atom = 0; atom < 3 * 7; ++atom) {
    if (mask[atom]) continue;
    for (int64_t k = 0; k < 3; ++k) {
      pred_moved[atom * 3 + k] += 100.0 + k;
      ref_moved[atom * 3 + k] -= 50.0;
    }
  }
  for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
    const Result before = evaluate(kind, pred, ref, layout);
    const Result after = evaluate(kind, pred_moved, ref_moved, layout);
    for (int64_t b = 0; b < 3; ++b) EXPECT_DOUBLE_EQ(before.loss[b], after.loss[b]);
    for (size_t k = 0; k < pred.size(); ++k) {
      EXPECT_DOUBLE_EQ(before.grad_pred[k], after.grad_pred[k]);
      EXPECT_DOUBLE_EQ(before.grad_ref[k], after.grad_ref[k]);
    }
  }
}

// Each masked system must equal the same system computed alone, unpadded.
TEST(Baselines, MaskedSystemsEqualUnpaddedComputation) {
  std::mt19937 rng(4);
  const auto mask = example_mask();
  for (int64_t dim : {2, 3}) {
    const BatchLayout layout = layout_of(3, 7, dim, as_bools(mask));
    const Points pred = normal_values(3 * 7 * dim, rng), ref = normal_values(3 * 7 * dim, rng);
    for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
      const Result batched = evaluate(kind, pred, ref, layout);
      for (int64_t b = 0; b < 3; ++b) {
        Points pred_alone, ref_alone;
        std::vector<int64_t> kept;
        for (int64_t i = 0; i < 7; ++i) {
          if (!mask[b * 7 + i]) continue;
          kept.push_back(i);
          for (int64_t k = 0; k < dim; ++k) {
            pred_alone.push_back(pred[(b * 7 + i) * dim + k]);
            ref_alone.push_back(ref[(b * 7 + i) * dim + k]);
          }
        }
        const int64_t count = static_cast<int64_t>(kept.size());
        const Result alone = evaluate(kind, pred_alone, ref_alone, layout_of(1, count, dim));
        EXPECT_NEAR(batched.loss[b], alone.loss[0], 1e-13);
        for (int64_t a = 0; a < count; ++a) {
          for (int64_t k = 0; k < dim; ++k) {
            EXPECT_NEAR(batched.grad_pred[(b * 7 + kept[a]) * dim + k],
                        alone.grad_pred[a * dim + k], 1e-13);
          }
        }
      }
    }
  }
}

TEST(Baselines, GradientsMatchCentralFiniteDifferences) {
  std::mt19937 rng(5);
  const auto mask = example_mask();
  for (int64_t dim : {2, 3}) {
    const BatchLayout layout = layout_of(3, 7, dim, as_bools(mask));
    const Points pred = normal_values(3 * 7 * dim, rng), ref = normal_values(3 * 7 * dim, rng);
    for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
      const Result analytic = evaluate(kind, pred, ref, layout);
      const double h = 1e-6;
      for (size_t index = 0; index < pred.size(); ++index) {
        const int64_t system = static_cast<int64_t>(index) / (7 * dim);
        for (bool wrt_pred : {true, false}) {
          Points moved = wrt_pred ? pred : ref;
          const double numeric = central_difference(
              moved, index,
              [&](const Points& x) {
                return wrt_pred ? loss_of(kind, x, ref, layout, system)
                                : loss_of(kind, pred, x, layout, system);
              },
              h);
          const double exact = (wrt_pred ? analytic.grad_pred : analytic.grad_ref)[index];
          EXPECT_NEAR(exact, numeric, 1e-7) << "dim " << dim << " kind " << static_cast<int>(kind)
                                            << " index " << index << " pred " << wrt_pred;
        }
      }
    }
  }
}

TEST(Kabsch, RotatedAndTranslatedCopyHasZeroLoss) {
  std::mt19937 rng(6);
  for (int64_t dim : {2, 3}) {
    for (int trial = 0; trial < 20; ++trial) {
      const Points ref = normal_values(9 * dim, rng, 3.0);
      const Points pred =
          transform(ref, dim, random_rotation(dim, rng), Eigen::VectorXd::Random(dim) * 10.0);
      const Result result = evaluate(BaselineKind::KabschMSE, pred, ref, layout_of(1, 9, dim));
      EXPECT_LE(result.loss[0], 1e-10);
      for (double g : result.grad_pred) EXPECT_NEAR(g, 0.0, 1e-9);

      std::vector<double> aligned(pred.size());
      kabsch_align<double>({pred.data(), ref.data(), layout_of(1, 9, dim)}, aligned.data());
      for (size_t k = 0; k < aligned.size(); ++k) EXPECT_NEAR(aligned[k], ref[k], 1e-10);
    }
  }
}

TEST(Kabsch, MirroredCopyIsNotZeroIn3D) {
  std::mt19937 rng(7);
  const Points ref = normal_values(8 * 3, rng);  // generic, non-planar
  const Eigen::Matrix3d mirror = Eigen::Vector3d(1, 1, -1).asDiagonal();
  const Points pred = transform(ref, 3, mirror, Eigen::Vector3d::Zero());
  const Result kabsch = evaluate(BaselineKind::KabschMSE, pred, ref, layout_of(1, 8, 3));
  EXPECT_GT(kabsch.loss[0], 1e-3);
  // The aligned prediction must be a proper rotation of pred: same
  // orientation of the triple (atom1-atom0, atom2-atom0, atom3-atom0).
  std::vector<double> aligned(pred.size());
  kabsch_align<double>({pred.data(), ref.data(), layout_of(1, 8, 3)}, aligned.data());
  auto orientation = [](const Points& p) {
    Eigen::Matrix3d edges;
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 3; ++k) edges(k, c) = p[(c + 1) * 3 + k] - p[k];
    }
    return edges.determinant();
  };
  EXPECT_GT(orientation(aligned) * orientation(pred), 0);
}

// In 2D the optimal angle has a closed form, theta* = atan2(sum p x y, sum p . y)
// on centred points; a fine scan over angles must not beat it either.
TEST(Kabsch, MatchesBruteForceOverRotationsIn2D) {
  std::mt19937 rng(8);
  for (int trial = 0; trial < 10; ++trial) {
    const int64_t atoms = 6;
    const Points pred = normal_values(atoms * 2, rng), ref = normal_values(atoms * 2, rng);
    Eigen::Vector2d pc = Eigen::Vector2d::Zero(), rc = Eigen::Vector2d::Zero();
    for (int64_t i = 0; i < atoms; ++i) {
      pc += Eigen::Vector2d(pred[2 * i], pred[2 * i + 1]) / atoms;
      rc += Eigen::Vector2d(ref[2 * i], ref[2 * i + 1]) / atoms;
    }
    auto mse_at = [&](double theta) {
      const Eigen::Matrix2d r = Eigen::Rotation2Dd(theta).toRotationMatrix();
      double total = 0;
      for (int64_t i = 0; i < atoms; ++i) {
        const Eigen::Vector2d p(pred[2 * i], pred[2 * i + 1]), y(ref[2 * i], ref[2 * i + 1]);
        total += (r * (p - pc) - (y - rc)).squaredNorm();
      }
      return total / (atoms * 2);
    };
    double cross = 0, dot = 0;
    for (int64_t i = 0; i < atoms; ++i) {
      const Eigen::Vector2d p = Eigen::Vector2d(pred[2 * i], pred[2 * i + 1]) - pc;
      const Eigen::Vector2d y = Eigen::Vector2d(ref[2 * i], ref[2 * i + 1]) - rc;
      cross += p.x() * y.y() - p.y() * y.x();
      dot += p.dot(y);
    }
    double scanned = mse_at(0.0);
    for (int step = 1; step < 100000; ++step) {
      scanned = std::min(scanned, mse_at(2 * M_PI * step / 100000));
    }
    const double kabsch = loss_of(BaselineKind::KabschMSE, pred, ref, layout_of(1, atoms, 2), 0);
    EXPECT_NEAR(kabsch, mse_at(std::atan2(cross, dot)), 1e-12);
    EXPECT_LE(kabsch, scanned + 1e-12);
    EXPECT_NEAR(kabsch, scanned, 1e-6);
  }
}

TEST(Kabsch, InvariantToRotatingOrTranslatingEitherArgument) {
  std::mt19937 rng(9);
  for (int64_t dim : {2, 3}) {
    const Points pred = normal_values(2 * 6 * dim, rng), ref = normal_values(2 * 6 * dim, rng);
    const BatchLayout layout = layout_of(2, 6, dim);
    const Result base = evaluate(BaselineKind::KabschMSE, pred, ref, layout);
    const Eigen::MatrixXd rotation = random_rotation(dim, rng);
    const Eigen::VectorXd shift = Eigen::VectorXd::Random(dim) * 5.0;
    const Points pred_moved = transform(pred, dim, rotation, shift);
    const Points ref_moved = transform(ref, dim, rotation, shift);
    const Result moved_pred = evaluate(BaselineKind::KabschMSE, pred_moved, ref, layout);
    const Result moved_ref = evaluate(BaselineKind::KabschMSE, pred, ref_moved, layout);
    for (int64_t b = 0; b < 2; ++b) {
      EXPECT_NEAR(moved_pred.loss[b], base.loss[b], 1e-12);
      EXPECT_NEAR(moved_ref.loss[b], base.loss[b], 1e-12);
    }
    // Gradients wrt pred rotate with pred (equivariance).
    const Points rotated_grad =
        transform(base.grad_pred, dim, rotation, Eigen::VectorXd::Zero(dim));
    for (size_t k = 0; k < pred.size(); ++k) {
      EXPECT_NEAR(moved_pred.grad_pred[k], rotated_grad[k], 1e-12);
    }
  }
}

TEST(Kabsch, AlignedResidualGivesTheLoss) {
  std::mt19937 rng(10);
  const auto mask = example_mask();
  const BatchLayout layout = layout_of(3, 7, 3, as_bools(mask));
  const Points pred = normal_values(3 * 7 * 3, rng), ref = normal_values(3 * 7 * 3, rng);
  std::vector<double> aligned(pred.size());
  kabsch_align<double>({pred.data(), ref.data(), layout}, aligned.data());
  const Result kabsch = evaluate(BaselineKind::KabschMSE, pred, ref, layout);
  const Result plain = evaluate(BaselineKind::MSE, aligned, ref, layout);
  for (int64_t b = 0; b < 3; ++b) EXPECT_NEAR(kabsch.loss[b], plain.loss[b], 1e-13);
  for (size_t atom = 0; atom < mask.size(); ++atom) {
    if (mask[atom]) continue;
    for (int k = 0; k < 3; ++k) EXPECT_EQ(aligned[atom * 3 + k], pred[atom * 3 + k]);
  }
}

TEST(Baselines, BadInputThrows) {
  const Points four_d(2 * 4, 0.5);
  const Points three_d(2 * 3, 0.5);
  double loss[2];
  for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
    EXPECT_THROW(baseline_loss<double>(kind, {four_d.data(), four_d.data(), layout_of(1, 2, 4)},
                                       {loss, nullptr, nullptr}),
                 Error);
    const bool none[2] = {false, false};
    EXPECT_THROW(
        baseline_loss<double>(kind, {three_d.data(), three_d.data(), layout_of(1, 2, 3, none)},
                              {loss, nullptr, nullptr}),
        Error);
    Points with_nan = three_d;
    with_nan[4] = std::nan("");
    expect_error(
        [&] {
          baseline_loss<double>(kind, {three_d.data(), with_nan.data(), layout_of(1, 2, 3)},
                                {loss, nullptr, nullptr});
        },
        "ref");
    EXPECT_THROW(baseline_loss<double>(kind, {three_d.data(), nullptr, layout_of(1, 2, 3)},
                                       {loss, nullptr, nullptr}),
                 Error);
    EXPECT_THROW(baseline_loss<double>(kind, {three_d.data(), three_d.data(), layout_of(1, 2, 3)},
                                       {nullptr, nullptr, nullptr}),
                 Error);
  }
  std::vector<double> aligned(8);
  EXPECT_THROW(
      kabsch_align<double>({four_d.data(), four_d.data(), layout_of(1, 2, 4)}, aligned.data()),
      Error);
}

// An empty batch (B = 0) is valid for every baseline and kabsch_align: nothing
// is read or written, so null pointers are fine.
TEST(Baselines, EmptyBatchWritesNothing) {
  BaselineInput<double> input;
  input.layout = BatchLayout{0, 4, 3, nullptr};
  const BaselineOutput<double> output;
  for (BaselineKind kind : {BaselineKind::MSE, BaselineKind::MAE, BaselineKind::KabschMSE}) {
    EXPECT_NO_THROW(baseline_loss(kind, input, output));
  }
  EXPECT_NO_THROW(kabsch_align<double>(input, nullptr));
  input.layout.atoms = 0;
  expect_error([&] { baseline_loss(BaselineKind::MSE, input, output); }, "no atoms");
}

}  // namespace
}  // namespace energyloss
