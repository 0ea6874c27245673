// Regular-polygon experiment of "Energy Loss Functions for Physical Systems"
// (section 6.1, C.1): sweeps the rotation augmentation theta_aug (fig. 3b)
// and the vertex count (fig. 3c) for MSE, Kabsch-aligned MSE and the
// (complete / sparse) pair energy loss, prints quality tables and writes
// <out>/shapes.csv, <out>/shapes_scaling.csv and <out>/shapes_samples.csv.
//
//   shapes                 quick sweep (a minute or two on 2 cores)
//   shapes --full          paper size: 100K samples, 50 epochs, learning-rate sweep
//   shapes --help          all options
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "energyloss/error.h"
#include "experiment.h"

namespace {

using shapes::LossKind;

struct Options {
  shapes::TrainConfig train;
  std::vector<LossKind> losses = {LossKind::Mse, LossKind::Kabsch, LossKind::Energy,
                                  LossKind::EnergySparse};
  std::vector<int64_t> vertex_counts = {8};
  std::vector<double> theta_fractions = {0, 0.25, 0.5, 0.75, 1};  // of pi
  double learning_rate = 0;                                       // > 0: one rate for every loss
  std::vector<double> lr_factors = {1.0};  // candidates: factor x the loss's rate
  cli::CommonOptions common = {false, 1, 1,
                               "results"};  // tiny matrices: more threads only add synchronisation
};

const char* kUsage = R"(usage: shapes [options]
  --full              paper size: 100K samples, 50 epochs, learning rates x{1/3, 1, 3}
                      (the best on held-out radii is kept); default is the quick mode
  --seeds K           seeds 0..K-1 per setting (default 1)
  --vertices N,...    polygon vertex counts (default 8; fig. 3c: 8,16,32,64,128)
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

Options parse_options(int argc, char** argv) {
  Options options;
  bool samples_given = false, epochs_given = false;
  // The driver's own flags; cli::parse_flags handles the common ones.
  const auto own_flag = [&](const std::string& flag, const cli::FlagValue& value) {
    if (flag == "--vertices") {
      options.vertex_counts.clear();
      for (const auto& text : cli::split(value()))
        options.vertex_counts.push_back(cli::parse_int(flag, text));
    } else if (flag == "--losses") {
      options.losses.clear();
      for (const auto& name : cli::split(value()))
        options.losses.push_back(shapes::parse_loss(name));
    } else if (flag == "--thetas") {
      options.theta_fractions.clear();
      for (const auto& text : cli::split(value()))
        options.theta_fractions.push_back(cli::parse_double(flag, text));
    } else if (flag == "--samples") {
      options.train.samples = cli::parse_int(flag, value());
      samples_given = true;
    } else if (flag == "--epochs") {
      options.train.epochs = cli::parse_int(flag, value());
      epochs_given = true;
    } else if (flag == "--batch") {
      options.train.batch = cli::parse_int(flag, value());
    } else if (flag == "--hidden") {
      options.train.hidden = cli::parse_int(flag, value());
    } else if (flag == "--activation") {
      options.train.activation = value();
    } else if (flag == "--lr") {
      options.learning_rate = cli::parse_double(flag, value());
      energyloss::require(options.learning_rate > 0, "--lr must be > 0");
    } else if (flag == "--test-size") {
      options.train.test_size = cli::parse_int(flag, value());
    } else if (flag == "--graph-pool") {
      options.train.graph_pool = cli::parse_int(flag, value());
    } else {
      return false;
    }
    return true;
  };
  cli::parse_flags(argc, argv, kUsage, options.common, own_flag);
  if (options.common.full) {
    if (!samples_given) options.train.samples = 100000;
    if (!epochs_given) options.train.epochs = 50;
    if (options.learning_rate <= 0) options.lr_factors = {1.0 / 3, 1.0, 3.0};
  }
  energyloss::require(!options.losses.empty(), "--losses: empty list");
  energyloss::require(!options.theta_fractions.empty(), "--thetas: empty list");
  energyloss::require(!options.vertex_counts.empty(), "--vertices: empty list");
  for (double fraction : options.theta_fractions)
    energyloss::require(fraction >= 0, "--thetas: values must be >= 0, got ", fraction);
  for (int64_t vertices : options.vertex_counts) {
    auto config = options.train;
    config.vertices = vertices;
    shapes::check_config(config);
  }
  return options;
}

struct Row {
  LossKind loss;
  int64_t vertices;
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

  // The same runs keyed by vertex count too, with the loss's own cost (fig. 3c);
  // a separate file keeps the columns of shapes.csv stable for its readers.
  std::ofstream scaling(folder / "shapes_scaling.csv");
  scaling.precision(10);
  scaling << "loss,vertices,theta_aug,seed,quality,loss_ms_per_step\n";
  for (const auto& row : rows)
    scaling << shapes::loss_name(row.loss) << ',' << row.vertices << ','
            << row.theta_fraction * M_PI << ',' << row.seed << ',' << row.result.test.quality << ','
            << row.result.loss_ms_per_step << '\n';

  std::ofstream samples(folder / "shapes_samples.csv");
  samples.precision(17);
  samples << "loss,vertices,theta_aug,seed,radius,quality,vertex,x,y\n";
  for (const auto& row : rows)
    for (const auto& shape : row.result.samples)
      for (size_t v = 0; v < shape.xy.size() / 2; ++v)
        samples << shapes::loss_name(row.loss) << ',' << row.vertices << ','
                << row.theta_fraction * M_PI << ',' << row.seed << ',' << shape.radius << ','
                << shape.quality.quality << ',' << v << ',' << shape.xy[2 * v] << ','
                << shape.xy[2 * v + 1] << '\n';
  energyloss::require(csv.good() && scaling.good() && samples.good(), "--out: cannot write into '",
                      folder.string(), "'");
}

// One table per vertex count; rows theta_aug, columns losses: mean over
// seeds (± std with several seeds) of the quality, and in parentheses of the
// loss's own time per step.
void print_table(const Options& options, const std::vector<Row>& rows) {
  std::printf(
      "\nquality = -ln(sigma_dangle/2pi + sigma_radius/r), mean over %lld test radii;\n"
      "in parentheses: forward + backward of the loss alone on one batch, ms\n",
      static_cast<long long>(options.train.test_size));
  for (int64_t vertices : options.vertex_counts) {
    std::printf("\nN = %lld vertices\n%-10s", static_cast<long long>(vertices), "theta_aug");
    for (auto loss : options.losses) std::printf(" %27s", shapes::loss_name(loss));
    std::printf("\n");
    for (double fraction : options.theta_fractions) {
      std::printf("%-10s", (std::to_string(fraction).substr(0, 4) + "pi").c_str());
      for (auto loss : options.losses) {
        std::vector<double> quality, milliseconds;
        for (const auto& row : rows)
          if (row.loss == loss && row.vertices == vertices && row.theta_fraction == fraction) {
            quality.push_back(row.result.test.quality);
            milliseconds.push_back(row.result.loss_ms_per_step);
          }
        const std::string cell = cli::format_summary(cli::summarize(quality), 2) + " (" +
                                 cli::format_summary(cli::summarize(milliseconds), 2) + ")";
        std::printf(" %27s", cell.c_str());
      }
      std::printf("\n");
    }
  }
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  shapes::set_threads(options.common.threads);
  const std::filesystem::path folder(options.common.out);
  std::filesystem::create_directories(folder);

  const auto start = std::chrono::steady_clock::now();
  const size_t total = options.vertex_counts.size() * options.losses.size() *
                       options.theta_fractions.size() * static_cast<size_t>(options.common.seeds) *
                       options.lr_factors.size();
  std::printf("shapes: %lld samples x %lld epochs, batch %lld, %s MLP 2x%lld, %zu runs\n",
              static_cast<long long>(options.train.samples),
              static_cast<long long>(options.train.epochs),
              static_cast<long long>(options.train.batch), options.train.activation.c_str(),
              static_cast<long long>(options.train.hidden), total);
  std::vector<Row> rows;
  size_t done = 0;
  for (int64_t vertices : options.vertex_counts) {
    auto config = options.train;
    config.vertices = vertices;
    for (auto loss : options.losses)
      for (double fraction : options.theta_fractions)
        for (int64_t seed = 0; seed < options.common.seeds; ++seed) {
          const double base_rate = options.learning_rate > 0 ? options.learning_rate
                                                             : shapes::default_learning_rate(loss);
          std::optional<Row> best;
          for (double factor : options.lr_factors) {
            Row row{loss,
                    vertices,
                    fraction,
                    seed,
                    base_rate * factor,
                    shapes::train_and_evaluate(loss, fraction * M_PI, seed, base_rate * factor,
                                               config)};
            std::printf(
                "[%3zu/%zu] N=%lld loss=%-13s theta_aug=%.3f seed=%lld lr=%.1e train_loss=%.3e "
                "quality=%.3f (val %.3f) %.1fs, loss %.3f ms/step\n",
                ++done, total, static_cast<long long>(vertices), shapes::loss_name(loss),
                fraction * M_PI, static_cast<long long>(seed), row.learning_rate,
                row.result.final_loss, row.result.test.quality, row.result.validation_quality,
                row.result.train_seconds, row.result.loss_ms_per_step);
            std::fflush(stdout);
            if (!best || row.result.validation_quality > best->result.validation_quality)
              best = row;
          }
          rows.push_back(*best);
        }
  }

  print_table(options, rows);
  write_results(folder, rows);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nwrote shapes.csv, shapes_scaling.csv and shapes_samples.csv into %s (%.1f s)\n",
              folder.string().c_str(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_reporting_errors("shapes", run, argc, argv);
}
