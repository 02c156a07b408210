// SPDX-License-Identifier: Apache-2.0
// Human-readable output of the comparison commands: heatmap pictures (SVG), text tables and a
// progress bar on stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gaussot/compare.hpp"

namespace gaussot::cli {

/// A square matrix of one metric over named items.
struct Heatmap {
  std::string title;                ///< e.g. "IGW distance"
  std::vector<std::string> labels;  ///< k names (rows and columns)
  std::vector<double> values;       ///< k x k, row-major; NaN marks an undefined entry
  bool similarity = false;          ///< true when larger means closer (CKA), for the colour scale
  std::string note;                 ///< a second, smaller title line; may be empty
  std::string undefined = "undefined";  ///< legend of the NaN cells, e.g. "different dimensions"
};

/// Writes `map` as an SVG heatmap and returns nothing else.
///
/// Picture: k x k cells coloured with viridis on one linear scale from the smallest to the largest
/// finite value, oriented so that brighter (yellow) always means more similar: small distances
/// and large similarities are bright. The colour bar on the right says so ("more similar" at its
/// top) and carries the values of its ends and middle. NaN and infinite entries are grey hatched
/// cells (class "nan"), explained under the colour bar with `map.undefined`. Row labels on the
/// left, column labels above, rotated; labels longer than 32 characters keep their last 31 after
/// an ellipsis. Each cell has a tooltip (<title>) with both labels and the value; for k <= 12 the
/// values are also printed in the cells (3 significant digits). For larger k the cells shrink to
/// fit about 720 pixels (at least 3 pixels each) and only every m-th label is drawn when they would
/// overlap, so the picture stays readable up to k ~ 200 (about 5 MB of SVG there).
///
/// Written atomically (write_file_atomically). Throws InvalidArgument naming `map.values` when it
/// does not hold k x k values or k is 0, and naming `path` when it cannot be written.
void write_heatmap_svg(const std::string& path, const Heatmap& map);

/// The matrix as an aligned text table, ending with a newline: row labels on the left, values
/// right-aligned with `digits` significant digits, "-" for NaN. Column headers are the labels
/// when none is longer than 12 characters; otherwise the columns are numbered 1..k and every row
/// label starts with its number. Throws InvalidArgument naming `map.values` as write_heatmap_svg.
std::string format_table(const Heatmap& map, int digits = 4);

/// The heatmaps of the metrics `comparison` holds, in the order igw, igw_lower, igw_upper, bw,
/// cka, cka_debiased, each with its file stem (the metric's name). The IGW bounds are left out
/// when every IGW value is exact (then both bounds equal the value).
std::vector<std::pair<std::string, Heatmap>> comparison_heatmaps(const Comparison& comparison);

/// Writes out_dir/<metric>.svg for every heatmap of comparison_heatmaps (so igw_lower.svg and
/// igw_upper.svg only when some IGW value is not exact); creates out_dir (and its parents) when
/// missing. Returns the paths written. On failure removes the files it wrote (and out_dir when it
/// created it and it is empty) and throws InvalidArgument naming out_dir or the file.
std::vector<std::string> write_comparison_pictures(const Comparison& comparison,
                                                   const std::string& out_dir);

/// Checks, before any work is done, that `out_dir` is an existing folder or can be created (its
/// nearest existing ancestor is a writable folder). Creates nothing. Throws InvalidArgument naming
/// out_dir otherwise.
void check_out_dir(const std::string& out_dir);

/// One text table per heatmap of comparison_heatmaps, each under its title line, separated by
/// blank lines.
std::string format_comparison_tables(const Comparison& comparison, int digits = 4);

/// The comparison as JSON fields (CLI.md `compare`): names, dimensions, samples, and one k x k
/// nested list per metric (null for undefined entries). Implemented in commands_compare.cpp.
nlohmann::ordered_json comparison_json(const Comparison& comparison);

/// A one-line progress bar on stderr, `[#####     ]  53% reading 530/1000`, redrawn in place with
/// a carriage return; does nothing when stderr is not a terminal (or when disabled). update() is
/// cheap to call often: it redraws at most 10 times a second, and at once when the stage changes
/// or the work is done. finish() (and the destructor) clears the line. Not thread-safe: call it
/// from one thread.
class ProgressBar {
 public:
  /// Active when `enabled` and stderr is a terminal.
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  /// `done` of `total` units of `stage` are finished.
  void update(const char* stage, std::int64_t done, std::int64_t total);
  /// Clears the line (if drawn); a later update() draws again.
  void finish();

 private:
  bool enabled_;
  double last_draw_ = -1;  ///< seconds (steady clock) of the last redraw
  bool drawn_ = false;
  std::size_t width_ = 0;  ///< characters on the line now
  std::string stage_;      ///< stage of the last redraw
};

/// True when file descriptor 2 is a terminal.
bool stderr_is_terminal();

}  // namespace gaussot::cli
