// One training run of the spin-glass experiment (paper section 6.3, C.3): a
// convolutional ResNet maps the couplings of an L x L open-boundary spin
// glass (J uniform in [-1, 1]) to spin logits, trained against exact ground
// states with cross-entropy, margin, the local-field energy loss, or the
// true (mean-field) energy. The metric is the energy of the rounded
// prediction sign(z) above the exact ground-state energy.
// Torch-free interface so the driver compiles without LibTorch headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spins {

enum class LossKind {
  CrossEntropy,  // energyloss::spin_bce_loss
  Margin,        // energyloss::spin_margin_loss, margin 1
  LocalEnergy,   // energyloss::local_field_energy_loss
  TrueEnergy,    // energyloss::spin_true_energy_loss (uses no ground states)
};

// "cross_entropy" | "margin" | "local_energy" | "true_energy"; throws energyloss::Error otherwise.
LossKind parse_loss(const std::string& name);
const char* loss_name(LossKind kind);

struct DataConfig {
  int64_t side = 16;  // L
  int64_t train = 1000;
  int64_t test = 500;
  // Instances are generated once per (side, split, count) and reused from here.
  std::string folder = "results/spin_data";
};

struct TrainConfig {
  int64_t depth = 4;   // residual 3x3 conv layers
  int64_t width = 32;  // channels
  int64_t epochs = 8;
  int64_t batch = 64;
  double learning_rate = 1e-3;  // Adam, constant (paper C.3)
  double temperature = 0.1;     // local and true energy (paper C.3)
  double h0 = 4.5;              // local-field offset, energyloss::kDefaultLocalFieldOffset
  // A ground state and its global flip are both ground states; the solver's
  // tie-break picks one by a convention no convolution can see. With this
  // set, the classification losses score each prediction against the nearer
  // of the two (the smaller loss per instance).
  bool either_sign = true;
};

// Throws energyloss::Error naming the first bad field (as its command-line flag).
void check_config(const DataConfig& data);
void check_config(const TrainConfig& config);

struct DataSummary {
  bool generated = false;         // false: read from DataConfig::folder
  double seconds = 0;             // generation (ground states) or loading time
  double test_ground_energy = 0;  // mean exact ground-state energy of the test instances
};

// Loads both splits, generating and writing them first where missing.
DataSummary prepare_data(const DataConfig& data);

struct EpochRecord {
  int64_t epoch = 0;       // 1-based
  double train_loss = 0;   // mean per-instance loss over the epoch
  double test_excess = 0;  // mean excess energy per instance on the test set after the epoch
};

struct RunResult {
  // Mean over the test instances of E(sign z) - E_ground after the last epoch.
  double excess_energy = 0;
  double excess_per_spin = 0;
  // Fraction of test instances whose rounded prediction is a ground state.
  double solved_fraction = 0;
  // First epoch whose test excess is within 5 % of the run's best.
  int64_t epochs_to_converge = 0;
  double train_seconds = 0;
  std::vector<EpochRecord> curve;
};

// Trains one model from scratch; fully determined by (loss, seed, configs).
RunResult train_and_evaluate(LossKind loss, int64_t seed, const TrainConfig& config,
                             const DataConfig& data);

// Intra-op threads of LibTorch (and of our OpenMP kernels).
void set_threads(int threads);

}  // namespace spins
