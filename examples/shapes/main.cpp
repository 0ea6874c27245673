// Regular-polygon experiment of "Energy Loss Functions for Physical Systems"
// (section 6.1, C.1): sweeps the rotation augmentation theta_aug for MSE,
// Kabsch-aligned MSE and the (complete / sparse) pair energy loss, prints a
// quality table and writes <out>/shapes.csv and <out>/shapes_samples.csv.
//
//   shapes                 quick sweep (a minute or two on 2 cores)
//   shapes --full          paper size: 100K samples, 50 epochs, learning-rate sweep
//   shapes --help          all options
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "energyloss/error.h"
#include "experiment.h"

namespace {

using shapes::LossKind;

struct Options {
  shapes::TrainConfig train;
  std::vector<LossKind> losses = {LossKind::Mse, LossKind::Kabsch, LossKind::Energy,
                                  LossKind::EnergySparse};
  std::vector<double> theta_fractions = {0, 0.25, 0.5, 0.75, 1};  // of pi
  int64_t seeds = 1;
  double learning_rate = 0;                // > 0: one rate for every loss
  std::vector<double> lr_factors = {1.0};  // candidates: factor x the loss's rate
  std::string out = "results";
  int threads = 1;  // tiny matrices: more threads only add synchronisation
};

const char* kUsage = R"(usage: shapes [options]
  --full              paper size: 100K samples, 50 epochs, learning rates x{1/3, 1, 3}
                      (the best on held-out radii is kept); default is the quick mode
  --seeds K           seeds 0..K-1 per setting (default 1)
  --vertices N        polygon vertices (default 8)
  --losses L,...      among mse,kabsch,energy,energy_sparse (default all)
  --thetas F,...      theta_aug values in units of pi (default 0,0.25,0.5,0.75,1)
  --samples S         training samples (quick 8000, full 100000)
  --epochs E          epochs (quick 16, full 50)
  --batch B           mini-batch size (default 256)
  --hidden H          hidden width of the 2-layer MLP (default 64)
  --activation A      relu | silu (default relu)
  --lr X              one Adam learning rate for every loss, no sweep
                      (default per loss: mse, kabsch 3e-3; energy, energy_sparse 1e-2)
  --test-size T       evaluation radii over [0.5, 1.5] (default 1000)
  --graph-pool P      random rigid graphs energy_sparse draws from, per sample (default 100)
  --threads T         LibTorch threads (default 1)
  --out DIR           output folder (default results)
)";

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) parts.push_back(part);
  return parts;
}

double parse_double(const std::string& flag, const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  energyloss::require(used == text.size() && !text.empty() && std::isfinite(value), flag,
                      ": expected a number, got '", text, "'");
  return value;
}

int64_t parse_int(const std::string& flag, const std::string& text) {
  const double value = parse_double(flag, text);
  energyloss::require(value == std::floor(value), flag, ": expected an integer, got '", text, "'");
  return static_cast<int64_t>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  bool full = false;
  bool samples_given = false, epochs_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      energyloss::require(i + 1 < argc, flag, ": missing value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--full") {
      full = true;
    } else if (flag == "--quick") {
      full = false;
    } else if (flag == "--seeds") {
      options.seeds = parse_int(flag, value());
    } else if (flag == "--vertices") {
      options.train.vertices = parse_int(flag, value());
    } else if (flag == "--losses") {
      options.losses.clear();
      for (const auto& name : split(value())) options.losses.push_back(shapes::parse_loss(name));
    } else if (flag == "--thetas") {
      options.theta_fractions.clear();
      for (const auto& text : split(value()))
        options.theta_fractions.push_back(parse_double(flag, text));
    } else if (flag == "--samples") {
      options.train.samples = parse_int(flag, value());
      samples_given = true;
    } else if (flag == "--epochs") {
      options.train.epochs = parse_int(flag, value());
      epochs_given = true;
    } else if (flag == "--batch") {
      options.train.batch = parse_int(flag, value());
    } else if (flag == "--hidden") {
      options.train.hidden = parse_int(flag, value());
    } else if (flag == "--activation") {
      options.train.activation = value();
    } else if (flag == "--lr") {
      options.learning_rate = parse_double(flag, value());
      energyloss::require(options.learning_rate > 0, "--lr must be > 0");
    } else if (flag == "--test-size") {
      options.train.test_size = parse_int(flag, value());
    } else if (flag == "--graph-pool") {
      options.train.graph_pool = parse_int(flag, value());
    } else if (flag == "--threads") {
      options.threads = static_cast<int>(parse_int(flag, value()));
      energyloss::require(options.threads >= 1, "--threads must be >= 1");
    } else if (flag == "--out") {
      options.out = value();
    } else {
      energyloss::fail("unknown option '", flag, "' (see --help)");
    }
  }
  if (full) {
    if (!samples_given) options.train.samples = 100000;
    if (!epochs_given) options.train.epochs = 50;
    if (options.learning_rate <= 0) options.lr_factors = {1.0 / 3, 1.0, 3.0};
  }
  energyloss::require(options.seeds >= 1, "--seeds must be >= 1, got ", options.seeds);
  energyloss::require(!options.losses.empty(), "--losses: empty list");
  energyloss::require(!options.theta_fractions.empty(), "--thetas: empty list");
  for (double fraction : options.theta_fractions)
    energyloss::require(fraction >= 0, "--thetas: values must be >= 0, got ", fraction);
  shapes::check_config(options.train);
  return options;
}

struct Row {
  LossKind loss;
  double theta_fraction;
  int64_t seed;
  double learning_rate;
  shapes::RunResult result;
};

void write_results(const std::filesystem::path& folder, const std::vector<Row>& rows) {
  std::ofstream csv(folder / "shapes.csv");
  csv.precision(10);
  csv << "loss,theta_aug,seed,quality,sigma_angle,sigma_radius,train_seconds,lr,final_loss\n";
  for (const auto& row : rows)
    csv << shapes::loss_name(row.loss) << ',' << row.theta_fraction * M_PI << ',' << row.seed << ','
        << row.result.test.quality << ',' << row.result.test.sigma_angle << ','
        << row.result.test.sigma_radius << ',' << row.result.train_seconds << ','
        << row.learning_rate << ',' << row.result.final_loss << '\n';

  std::ofstream samples(folder / "shapes_samples.csv");
  samples.precision(17);
  samples << "loss,theta_aug,seed,radius,quality,vertex,x,y\n";
  for (const auto& row : rows)
    for (const auto& shape : row.result.samples)
      for (size_t v = 0; v < shape.xy.size() / 2; ++v)
        samples << shapes::loss_name(row.loss) << ',' << row.theta_fraction * M_PI << ','
                << row.seed << ',' << shape.radius << ',' << shape.quality.quality << ',' << v
                << ',' << shape.xy[2 * v] << ',' << shape.xy[2 * v + 1] << '\n';
  energyloss::require(csv.good() && samples.good(), "--out: cannot write into '", folder.string(),
                      "'");
}

// Rows theta_aug, columns losses: mean quality over seeds (± std with several seeds).
void print_table(const Options& options, const std::vector<Row>& rows) {
  std::printf("\nquality = -ln(sigma_dangle/2pi + sigma_radius/r), mean over %lld test radii\n",
              static_cast<long long>(options.train.test_size));
  std::printf("%-10s", "theta_aug");
  for (auto loss : options.losses) std::printf("%16s", shapes::loss_name(loss));
  std::printf("\n");
  for (double fraction : options.theta_fractions) {
    std::printf("%-10s", (std::to_string(fraction).substr(0, 4) + "pi").c_str());
    for (auto loss : options.losses) {
      std::vector<double> values;
      for (const auto& row : rows)
        if (row.loss == loss && row.theta_fraction == fraction)
          values.push_back(row.result.test.quality);
      double mean = 0, variance = 0;
      for (double v : values) mean += v;
      mean /= static_cast<double>(values.size());
      for (double v : values) variance += (v - mean) * (v - mean);
      char cell[32];
      if (values.size() > 1)
        std::snprintf(cell, sizeof cell, "%.2f ± %.2f", mean,
                      std::sqrt(variance / static_cast<double>(values.size() - 1)));
      else
        std::snprintf(cell, sizeof cell, "%.2f", mean);
      std::printf("%16s", cell);
    }
    std::printf("\n");
  }
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  shapes::set_threads(options.threads);
  const std::filesystem::path folder(options.out);
  std::filesystem::create_directories(folder);

  const auto start = std::chrono::steady_clock::now();
  const size_t total = options.losses.size() * options.theta_fractions.size() *
                       static_cast<size_t>(options.seeds) * options.lr_factors.size();
  std::printf(
      "shapes: %lld vertices, %lld samples x %lld epochs, batch %lld, %s MLP 2x%lld, %zu runs\n",
      static_cast<long long>(options.train.vertices), static_cast<long long>(options.train.samples),
      static_cast<long long>(options.train.epochs), static_cast<long long>(options.train.batch),
      options.train.activation.c_str(), static_cast<long long>(options.train.hidden), total);
  std::vector<Row> rows;
  size_t done = 0;
  for (auto loss : options.losses)
    for (double fraction : options.theta_fractions)
      for (int64_t seed = 0; seed < options.seeds; ++seed) {
        const double base_rate =
            options.learning_rate > 0 ? options.learning_rate : shapes::default_learning_rate(loss);
        std::optional<Row> best;
        for (double factor : options.lr_factors) {
          Row row{loss, fraction, seed, base_rate * factor,
                  shapes::train_and_evaluate(loss, fraction * M_PI, seed, base_rate * factor,
                                             options.train)};
          std::printf(
              "[%3zu/%zu] loss=%-13s theta_aug=%.3f seed=%lld lr=%.1e train_loss=%.3e "
              "quality=%.3f (val %.3f) %.1fs\n",
              ++done, total, shapes::loss_name(loss), fraction * M_PI, static_cast<long long>(seed),
              row.learning_rate, row.result.final_loss, row.result.test.quality,
              row.result.validation_quality, row.result.train_seconds);
          std::fflush(stdout);
          if (!best || row.result.validation_quality > best->result.validation_quality) best = row;
        }
        rows.push_back(*best);
      }

  print_table(options, rows);
  write_results(folder, rows);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nwrote %s and %s (%.1f s total)\n", (folder / "shapes.csv").string().c_str(),
              (folder / "shapes_samples.csv").string().c_str(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "shapes: %s\n", error.what());
    return 2;
  }
}
