// SPDX-License-Identifier: Apache-2.0
// Pictures and tables of the commands' results: SVG heatmaps and aligned text tables of a matrix
// over named items, and a folder of pictures written all or nothing (--out-dir).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

/// `map` as an SVG heatmap (the document's text).
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
/// Throws std::invalid_argument (a bug of the caller) when `map.values` does not hold k x k values
/// or k is 0.
std::string heatmap_svg(const Heatmap& map);

/// Named points in the plane (a map from classical MDS), coloured by one grouping (clusters) and
/// optionally drawn with a marker shape per group of a second one (known labels).
struct ScatterMap {
  std::string title;                       ///< e.g. "IGW k-means, 3 clusters"
  std::string note;                        ///< a second, smaller title line; may be empty
  std::vector<std::string> labels;         ///< n names, shown in the tooltips
  std::vector<double> x, y;                ///< n coordinates each
  std::vector<std::int64_t> colour_group;  ///< n group indices in [0, colour_names.size())
  std::vector<std::string> colour_names;   ///< legend of the colours, e.g. "cluster 0"
  std::vector<std::int64_t> shape_group;   ///< empty, or n group indices in [0, shape_names)
  std::vector<std::string> shape_names;    ///< legend of the marker shapes, e.g. "label formal"
};

/// `map` as an SVG scatter plot (the document's text). Both axes share one scale (distances on
/// the page are proportional to distances in the map, as MDS needs), fitted into a 480-pixel
/// square. Colours: the Okabe–Ito palette (colour-blind safe) for up to 8 groups, viridis beyond;
/// shapes: circle, square, triangle, diamond, cross, repeated beyond 5 groups. Each point has a
/// tooltip with its name and groups; the legend lists the colours, then the shapes (the first 24
/// of each). Throws std::invalid_argument (a bug of the caller) when the lengths disagree, a group
/// index is out of range, a coordinate is not finite or n is 0.
std::string scatter_svg(const ScatterMap& map);

/// The map of a clustering: points (an (n, 2) C-order embedding) coloured by cluster ("cluster
/// c"), and shaped by known labels ("label NAME") when `label_codes` is not empty.
ScatterMap clustering_map(std::string title, std::string note, std::vector<std::string> names,
                          const std::vector<double>& embedding,
                          const std::vector<std::int64_t>& assignment, std::int64_t clusters,
                          const std::vector<std::int64_t>& label_codes = {},
                          const std::vector<std::string>& label_names = {});

/// The matrix as an aligned text table, ending with a newline: row labels on the left, values
/// right-aligned with `digits` significant digits, "-" for NaN. Column headers are the labels
/// when none is longer than 12 characters; otherwise the columns are numbered 1..k and every row
/// label starts with its number. Throws std::invalid_argument as heatmap_svg.
std::string format_table(const Heatmap& map, int digits = 4);

/// Checks, before any work is done, that `out_dir` is an existing folder or can be created (its
/// nearest existing ancestor is a writable folder). Creates nothing. Throws a UsageError that
/// starts with `option` ("--out-dir") otherwise.
void check_out_dir(const std::string& option, const std::string& out_dir);

/// A picture to write: its file name in the folder and its SVG text.
struct Picture {
  std::string file_name;
  std::string svg;
};

/// Writes every picture into `out_dir` (each file atomically), creating the folder (and its
/// parents) when missing. Returns the paths written. On failure removes the files it wrote (and
/// out_dir when it created it and it is empty) and throws a UsageError that starts with `option`.
std::vector<std::string> write_pictures(const std::string& option, const std::string& out_dir,
                                        const std::vector<Picture>& pictures);

}  // namespace gaussot::cli
