// Helpers shared by the experiment drivers (bin/shapes, bin/spins): the flags
// both accept, parsing of command-line values that names the flag at fault,
// name tables for enum-valued flags (such as --losses),
// the mean ± std summaries their tables print, and main()'s error report.
// Header-only: the drivers are single programs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "energyloss/error.h"

namespace cli {

// "a,b,c" -> {"a", "b", "c"}.
inline std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) parts.push_back(part);
  return parts;
}

inline double parse_double(const std::string& flag, const std::string& text) {
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

inline int64_t parse_int(const std::string& flag, const std::string& text) {
  const double value = parse_double(flag, text);
  energyloss::require(value == std::floor(value), flag, ": expected an integer, got '", text, "'");
  return static_cast<int64_t>(value);
}

// One row of the table of names an enum-valued flag accepts, e.g.
//   constexpr cli::Named<LossKind> kLossNames[] = {{LossKind::Mse, "mse"}, ...};
// Each value's name is written once, in the table; name_of and parse_named read it.
template <typename Kind>
struct Named {
  Kind kind;
  const char* name;
};

// The name `table` gives `kind`; "?" for a value the table lacks.
template <typename Kind, size_t N>
const char* name_of(const Named<Kind> (&table)[N], Kind kind) {
  for (const auto& row : table)
    if (row.kind == kind) return row.name;
  return "?";
}

// The value `table` names `text`; otherwise fails with
// "FLAG: unknown WHAT 'text' (valid: NAME, NAME, ...)", the names in table order.
template <typename Kind, size_t N>
Kind parse_named(const char* flag, const char* what, const Named<Kind> (&table)[N],
                 const std::string& text) {
  std::string valid;
  for (const auto& row : table) {
    if (text == row.name) return row.kind;
    valid += (valid.empty() ? "" : ", ") + std::string(row.name);
  }
  energyloss::fail(flag, ": unknown ", what, " '", text, "' (valid: ", valid, ")");
}

// The flags every driver accepts.
struct CommonOptions {
  bool full = false;  // paper-size run instead of the quick mode
  int64_t seeds = 1;
  int threads = 1;
  std::string out = "results";
};

// Reads the value following a flag; fails with "FLAG: missing value".
using FlagValue = std::function<std::string()>;

// Walks argv: --help/-h prints `usage` and exits, --full/--quick, --seeds,
// --threads and --out fill `common`, and every other flag goes to
// own_flag(flag, value), which returns false for a flag it does not know.
template <typename OwnFlag>
void parse_flags(int argc, char** argv, const char* usage, CommonOptions& common,
                 const OwnFlag& own_flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const FlagValue value = [&]() -> std::string {
      energyloss::require(i + 1 < argc, flag, ": missing value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (flag == "--full" || flag == "--quick") {
      common.full = flag == "--full";
    } else if (flag == "--seeds") {
      common.seeds = parse_int(flag, value());
    } else if (flag == "--threads") {
      common.threads = static_cast<int>(parse_int(flag, value()));
      energyloss::require(common.threads >= 1, "--threads must be >= 1");
    } else if (flag == "--out") {
      common.out = value();
    } else if (!own_flag(flag, value)) {
      energyloss::fail("unknown option '", flag, "' (see --help)");
    }
  }
  energyloss::require(common.seeds >= 1, "--seeds must be >= 1, got ", common.seeds);
}

// main() of a driver: runs it and reports an error as "PROGRAM: message", exit 2.
inline int run_reporting_errors(const char* program, int (*run)(int, char**), int argc,
                                char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", program, error.what());
    return 2;
  }
}

struct Summary {
  double mean = 0;
  double std = 0;  // sample standard deviation; 0 for a single value
  size_t count = 0;
};

inline Summary summarize(const std::vector<double>& values) {
  Summary summary;
  summary.count = values.size();
  if (values.empty()) return summary;
  for (double v : values) summary.mean += v;
  summary.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double variance = 0;
    for (double v : values) variance += (v - summary.mean) * (v - summary.mean);
    summary.std = std::sqrt(variance / static_cast<double>(values.size() - 1));
  }
  return summary;
}

// "m ± s" with several values, "m" with one; `digits` after the point.
inline std::string format_summary(const Summary& summary, int digits) {
  char cell[64];
  if (summary.count > 1)
    std::snprintf(cell, sizeof cell, "%.*f ± %.*f", digits, summary.mean, digits, summary.std);
  else
    std::snprintf(cell, sizeof cell, "%.*f", digits, summary.mean);
  return cell;
}

}  // namespace cli
