// Helpers shared by the experiment drivers (bin/shapes, bin/spins): parsing
// of command-line values that names the flag at fault, and the mean ± std
// summaries their tables print. Header-only: the drivers are single programs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
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
