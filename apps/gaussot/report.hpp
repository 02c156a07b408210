// SPDX-License-Identifier: Apache-2.0
// Human-readable output of the comparison commands: heatmap pictures (SVG), text tables and a
// progress bar on stderr.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gaussot/compare.hpp"

namespace gaussot::cli {

/// A square matrix of one metric over named items.
struct Heatmap {
  std::string title;                ///< e.g. "IGW distance"
  std::vector<std::string> labels;  ///< k names (rows and columns)
  std::vector<double> values;       ///< k x k, row-major; NaN marks an undefined entry
  bool similarity = false;          ///< true when larger means closer (CKA), for the colour scale
};

/// Writes `map` as an SVG heatmap (cells coloured on one scale from the finite values, undefined
/// cells hatched grey, labels on both axes, a colour bar, values printed in the cells when they
/// fit). Written atomically (write_file_atomically); throws InvalidArgument naming `path`.
void write_heatmap_svg(const std::string& path, const Heatmap& map);

/// The matrix as an aligned text table (labels as row and column headers, `digits` significant
/// digits, "-" for NaN), ending with a newline.
std::string format_table(const Heatmap& map, int digits = 4);

/// Heatmaps of every metric `comparison` holds, written as out_dir/<metric>.svg for the metrics
/// igw, igw_lower, igw_upper, bw, cka, cka_debiased that are present; creates out_dir (and its
/// parents) when missing. Returns the paths written. Throws InvalidArgument naming out_dir.
std::vector<std::string> write_comparison_pictures(const Comparison& comparison,
                                                   const std::string& out_dir);

/// One text table per metric of `comparison`, each under a title line.
std::string format_comparison_tables(const Comparison& comparison);

/// The comparison as JSON fields (CLI.md `compare`): names, dimensions, samples, and one k x k
/// nested list per metric (null for undefined entries). Implemented in commands_compare.cpp.
nlohmann::json comparison_json(const Comparison& comparison);

/// A one-line progress bar on stderr, redrawn in place; does nothing when stderr is not a
/// terminal (or when disabled). update() is cheap to call often: it redraws at most ~10 times a
/// second. finish() clears the line.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(const char* stage, std::int64_t done, std::int64_t total);
  void finish();

 private:
  bool enabled_;
  double last_draw_ = -1;
  bool drawn_ = false;
};

/// True when file descriptor 2 is a terminal.
bool stderr_is_terminal();

}  // namespace gaussot::cli
