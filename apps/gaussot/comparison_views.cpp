// SPDX-License-Identifier: Apache-2.0
#include "comparison_views.hpp"

#include <algorithm>
#include <utility>

namespace gaussot::cli {

std::vector<std::pair<std::string, Heatmap>> comparison_heatmaps(const Comparison& comparison) {
  const std::vector<std::string>& names = comparison.names;
  const std::string note = std::to_string(names.size()) + " activation sets of " +
                           std::to_string(comparison.samples) + " samples";
  std::vector<std::pair<std::string, Heatmap>> maps;
  auto add = [&](const char* stem, const std::vector<double>& values, std::string title,
                 bool similarity, std::string undefined = "undefined") {
    if (values.empty()) return;
    maps.emplace_back(stem, Heatmap{std::move(title), names, values, similarity, note, undefined});
  };
  const bool all_exact = !comparison.igw_exact.empty() &&
                         std::all_of(comparison.igw_exact.begin(), comparison.igw_exact.end(),
                                     [](bool e) { return e; });
  add("igw", comparison.igw,
      all_exact ? "IGW distance (exact)" : "IGW distance (best value found, within the bounds)",
      false);
  if (!all_exact) {
    add("igw_lower", comparison.igw_lower, "IGW lower bound (analytic)", false);
    add("igw_upper", comparison.igw_upper, "IGW upper bound (analytic)", false);
  }
  add("bw", comparison.bw, "Bures-Wasserstein (W2) distance", false, "different dimensions");
  add("cka", comparison.cka, "linear CKA", true);
  add("cka_debiased", comparison.cka_debiased, "debiased linear CKA", true);
  add("nbs", comparison.nbs, "normalized Bures similarity", true);
  add("procrustes", comparison.procrustes, "angular Procrustes shape distance", false);
  return maps;
}

std::vector<Picture> comparison_pictures(const Comparison& comparison) {
  std::vector<Picture> pictures;
  for (const auto& [stem, map] : comparison_heatmaps(comparison)) {
    pictures.push_back({stem + ".svg", heatmap_svg(map)});
  }
  return pictures;
}

std::vector<std::string> write_comparison_pictures(const Comparison& comparison,
                                                   const std::string& out_dir) {
  return write_pictures("--out-dir", out_dir, comparison_pictures(comparison));
}

std::string format_comparison_tables(const Comparison& comparison, int digits) {
  std::string text;
  for (const auto& [stem, map] : comparison_heatmaps(comparison)) {
    text += (text.empty() ? "" : "\n") + map.title + "\n" + format_table(map, digits);
  }
  return text;
}

}  // namespace gaussot::cli
