// SPDX-License-Identifier: Apache-2.0
// The views of a comparison (compare, demo): one heatmap per metric, as pictures, text tables and
// JSON fields.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gaussot/compare.hpp"
#include "pictures.hpp"

namespace gaussot::cli {

/// The heatmaps of the metrics `comparison` holds, in the order igw, igw_lower, igw_upper, bw,
/// cka, cka_debiased, each with its file stem (the metric's name). The IGW bounds are left out
/// when every IGW value is exact (then both bounds equal the value).
std::vector<std::pair<std::string, Heatmap>> comparison_heatmaps(const Comparison& comparison);

/// <metric>.svg for every heatmap of comparison_heatmaps.
std::vector<Picture> comparison_pictures(const Comparison& comparison);

/// Writes out_dir/<metric>.svg for every heatmap of comparison_heatmaps (so igw_lower.svg and
/// igw_upper.svg only when some IGW value is not exact); creates out_dir (and its parents) when
/// missing. Returns the paths written. On failure removes the files it wrote (and out_dir when it
/// created it and it is empty) and throws a UsageError that starts with --out-dir.
std::vector<std::string> write_comparison_pictures(const Comparison& comparison,
                                                   const std::string& out_dir);

/// One text table per heatmap of comparison_heatmaps, each under its title line, separated by
/// blank lines.
std::string format_comparison_tables(const Comparison& comparison, int digits = 4);

/// The comparison as JSON fields (CLI.md `compare`): names, dimensions, samples, and one k x k
/// nested list per metric (null for undefined entries). Implemented in commands_compare.cpp.
nlohmann::ordered_json comparison_json(const Comparison& comparison);

}  // namespace gaussot::cli
