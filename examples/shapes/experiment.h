// One training run of the regular-polygon experiment (paper section 6.1,
// C.1): an MLP maps a radius r ~ U[0.5, 1.5] to the N vertices of a regular
// polygon of that radius, trained on targets rotated by theta ~
// U[-theta_aug, theta_aug]. A loss that is not rotation invariant (MSE) must
// predict the average over rotations, which degrades as theta_aug grows; the
// invariant losses (Kabsch-aligned MSE, energy) keep producing regular shapes.
// Torch-free interface so the driver compiles without LibTorch headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polygon.h"

namespace shapes {

enum class LossKind {
  Mse,           // energyloss::mse_loss
  Kabsch,        // energyloss::kabsch_mse
  Energy,        // pair energy loss, exp coefficients, complete graph
  EnergySparse,  // pair energy loss over a sparse globally rigid 4-regular graph
};

// "mse" | "kabsch" | "energy" | "energy_sparse"; throws energyloss::Error otherwise.
LossKind parse_loss(const std::string& name);
const char* loss_name(LossKind kind);
// Adam step sizes that converge in the quick setting (found by a small sweep).
double default_learning_rate(LossKind kind);

struct TrainConfig {
  int64_t vertices = 8;
  int64_t hidden = 64;              // width of both hidden layers
  std::string activation = "relu";  // relu | silu
  int64_t samples = 8000;           // training set size
  int64_t epochs = 16;
  int64_t batch = 256;
  int64_t test_size = 1000;  // evaluation radii, evenly spaced over [0.5, 1.5]
  int64_t graph_pool = 100;  // sparse rigid graphs energy_sparse draws from
};

// Throws energyloss::Error naming the first bad field.
void check_config(const TrainConfig& config);

struct SampleShape {
  double radius = 0;
  std::vector<double> xy;  // [vertices, 2] predicted vertices
  ShapeQuality quality;
};

struct RunResult {
  // Means over the test radii of the per-shape metrics.
  ShapeQuality test;
  // Mean quality on held-out random radii: selects the learning rate
  // without looking at the test set.
  double validation_quality = 0;
  double final_loss = 0;  // mean training loss over the last epoch
  double train_seconds = 0;
  // Forward + backward of the loss alone (no model) on one training batch,
  // median milliseconds: the loss's own cost per step (fig. 3c, table 11).
  double loss_ms_per_step = 0;
  std::vector<SampleShape> samples;  // predictions at a few fixed radii, for plots
};

// Trains one model from scratch; fully determined by (loss, theta_aug, seed, lr, config).
// The Adam step size follows a cosine decay from `learning_rate` to 0.
RunResult train_and_evaluate(LossKind loss, double theta_aug, int64_t seed, double learning_rate,
                             const TrainConfig& config);

// Intra-op threads of LibTorch (and of our OpenMP kernels).
void set_threads(int threads);

}  // namespace shapes
