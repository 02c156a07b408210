// SPDX-License-Identifier: Apache-2.0
#include "pictures.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "gaussot/error.hpp"
#include "gaussot/npy.hpp"
#include "usage_error.hpp"

namespace gaussot::cli {
namespace {

// ---- text helpers ------------------------------------------------------------------------------

/// Characters (UTF-8 code points) of `text`.
std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

/// `text` when it has at most `limit` characters, else an ellipsis and its last limit - 1
/// characters (the end of a layer name is what tells layers apart).
std::string shorten(const std::string& text, std::size_t limit) {
  const std::size_t length = utf8_length(text);
  if (length <= limit) return text;
  // Start at the first byte of code point number length - (limit - 1).
  const std::size_t skip = length - (limit - 1);
  std::size_t position = 0;
  for (std::size_t seen = 0; position < text.size(); ++position) {
    if ((static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) continue;
    if (seen == skip) break;
    ++seen;
  }
  return "\u2026" + text.substr(position);
}

/// `text` padded with spaces to `width` characters, on the right (left-aligned) or the left.
std::string pad(const std::string& text, std::size_t width, bool left_align) {
  const std::size_t length = utf8_length(text);
  const std::string fill(width > length ? width - length : 0, ' ');
  return left_align ? text + fill : fill + text;
}

/// `value` with `digits` significant digits (%g), exponents written short ("1.2e3", "4e-5").
std::string compact_number(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  std::string text = buffer;
  const std::size_t e = text.find('e');
  if (e == std::string::npos) return text;
  std::string exponent = text.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return text.substr(0, e + 1) + (negative ? "-" : "") + (exponent.empty() ? "0" : exponent);
}

/// `text` with the five XML special characters escaped.
std::string escape_xml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// An SVG coordinate: at most two decimals, no trailing zeros.
std::string coordinate(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", x);
  std::string text = buffer;
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

// ---- colours -----------------------------------------------------------------------------------

/// Matplotlib's viridis at t = 0, 1/9, ..., 1 (perceptually uniform, readable in grey and by
/// colour-blind readers); dark purple at 0, yellow at 1.
constexpr std::array<std::array<int, 3>, 10> kViridis = {{{68, 1, 84},
                                                          {72, 40, 120},
                                                          {62, 73, 137},
                                                          {49, 104, 142},
                                                          {38, 130, 142},
                                                          {31, 158, 137},
                                                          {53, 183, 121},
                                                          {110, 206, 88},
                                                          {181, 222, 43},
                                                          {253, 231, 37}}};

std::string hex_colour(int r, int g, int b) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", r, g, b);
  return buffer;
}

/// Viridis at t in [0, 1], linearly interpolated between the table's entries.
std::string viridis(double t) {
  const double x = std::clamp(t, 0.0, 1.0) * (kViridis.size() - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(x), kViridis.size() - 2);
  const double f = x - static_cast<double>(i);
  int rgb[3];
  for (int c = 0; c < 3; ++c) {
    rgb[c] =
        static_cast<int>(std::lround(kViridis[i][c] + f * (kViridis[i + 1][c] - kViridis[i][c])));
  }
  return hex_colour(rgb[0], rgb[1], rgb[2]);
}

constexpr const char* kNanPattern = "nan-hatch";
constexpr const char* kNanBackground = "#d4d4d4";  // grey cells, darker grey stripes
constexpr const char* kNanStripe = "#9e9e9e";

// ---- picture layout ----------------------------------------------------------------------------

/// Where everything of a heatmap goes, in pixels.
struct Layout {
  double cell = 0;                ///< cell side
  double gap = 0;                 ///< white gap between cells
  double label_font = 0;          ///< font size of the axis labels
  std::size_t step = 1;           ///< every step-th label is drawn
  double grid_x = 0, grid_y = 0;  ///< top-left corner of the cells
  double bar_x = 0, bar_y = 0, bar_height = 0;
  double width = 0, height = 0;
};

constexpr double kMargin = 16;
constexpr double kTitleHeight = 48;
constexpr double kBarWidth = 14;
constexpr std::size_t kLabelLimit = 32;  // characters of a label before it is shortened
constexpr std::size_t kValuesUpTo = 12;  // values are printed in the cells up to this k
constexpr double kCharWidth = 0.6;       // average glyph width of sans-serif, in font sizes

Layout layout(const Heatmap& map, const std::vector<std::string>& labels) {
  Layout l;
  const double k = static_cast<double>(labels.size());
  l.cell = labels.size() <= kValuesUpTo ? 48 : std::clamp(720 / k, 3.0, 48.0);
  l.gap = l.cell >= 10 ? 1 : 0;
  l.label_font = std::clamp(l.cell * 0.75, 7.0, 12.0);
  l.step = static_cast<std::size_t>(std::ceil((l.label_font + 1) / l.cell));
  std::size_t longest = 1;
  for (std::size_t i = 0; i < labels.size(); i += l.step)
    longest = std::max(longest, utf8_length(labels[i]));
  const double label_space = static_cast<double>(longest) * l.label_font * kCharWidth + 8;
  l.grid_x = kMargin + label_space;
  l.grid_y = kTitleHeight + label_space;
  const double grid = k * l.cell;
  l.bar_x = l.grid_x + grid + 28;
  l.bar_y = l.grid_y + 18;
  l.bar_height = std::max(grid - 36, 140.0);
  const double legend =
      (18 + static_cast<double>(utf8_length(map.undefined))) * 10 * kCharWidth;  // NaN swatch
  const double ticks = 12 * 11 * kCharWidth + 8;  // "more similar", values
  l.width = l.bar_x + kBarWidth + 6 + std::max(ticks, legend) + kMargin;
  l.width = std::max({l.width, 2 * kMargin + utf8_length(map.title) * 16 * kCharWidth,
                      2 * kMargin + utf8_length(map.note) * 11 * kCharWidth});
  l.height = std::max(l.grid_y + grid, l.bar_y + l.bar_height + 48) + kMargin;
  return l;
}

/// A white background, then the title and, when given, a smaller note under it.
std::string titles(const std::string& title, const std::string& note) {
  std::string text = "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"" +
                     coordinate(kMargin) + "\" y=\"26\" font-size=\"16\" font-weight=\"bold\">" +
                     escape_xml(title) + "</text>\n";
  if (!note.empty()) {
    text += "<text x=\"" + coordinate(kMargin) + "\" y=\"42\" font-size=\"11\" fill=\"#444\">" +
            escape_xml(note) + "</text>\n";
  }
  return text;
}

/// Throws std::invalid_argument (a bug of the caller, not bad input) unless `map` has k > 0 labels
/// and k x k values.
void check_heatmap(const Heatmap& map) {
  const std::size_t k = map.labels.size();
  if (k == 0 || map.values.size() != k * k) {
    throw std::invalid_argument("heatmap '" + map.title +
                                "' needs k x k values for k = " + std::to_string(k) +
                                " labels (k > 0), got " + std::to_string(map.values.size()));
  }
}

}  // namespace

// ---- heatmaps and tables -----------------------------------------------------------------------

std::string heatmap_svg(const Heatmap& map) {
  check_heatmap(map);
  const std::size_t k = map.labels.size();
  std::vector<std::string> labels;
  for (const std::string& label : map.labels) labels.push_back(shorten(label, kLabelLimit));
  const Layout l = layout(map, labels);

  // The colour scale: the finite values from lo to hi; t = 1 (yellow) is the "more similar" end.
  double lo = INFINITY, hi = -INFINITY;
  bool undefined = false;
  for (double v : map.values) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    } else {
      undefined = true;
    }
  }
  const bool any_defined = lo <= hi;
  auto closeness = [&](double v) {
    const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return map.similarity ? t : 1 - t;
  };

  std::ostringstream svg;
  const std::string font = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << coordinate(l.width)
      << "\" height=\"" << coordinate(l.height) << "\" viewBox=\"0 0 " << coordinate(l.width) << ' '
      << coordinate(l.height) << "\" " << font << ">\n"
      << "<title>" << escape_xml(map.title) << "</title>\n"
      << "<defs>\n"
      << "<pattern id=\"" << kNanPattern << "\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
      << "height=\"6\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\""
      << kNanBackground << "\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"" << kNanStripe
      << "\" stroke-width=\"3\"/></pattern>\n"
      << "<linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (std::size_t i = 0; i < kViridis.size(); ++i) {
    const double t = static_cast<double>(i) / (kViridis.size() - 1);
    svg << "<stop offset=\"" << coordinate(t) << "\" stop-color=\"" << viridis(t) << "\"/>";
  }
  svg << "</linearGradient>\n</defs>\n" << titles(map.title, map.note);

  // Cells, row by row, with a tooltip each; values printed when k is small, those below 1e-5 of
  // the largest magnitude (rounding noise of a zero distance, say) as 0.
  const bool print_values = k <= kValuesUpTo;
  const double negligible = any_defined ? 1e-5 * std::max(std::abs(lo), std::abs(hi)) : 0;
  const double side = l.cell - l.gap;
  svg << "<g class=\"cells\">\n";
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const double v = map.values[i * k + j];
      const bool defined = std::isfinite(v);
      const double x = l.grid_x + static_cast<double>(j) * l.cell;
      const double y = l.grid_y + static_cast<double>(i) * l.cell;
      svg << "<rect" << (defined ? "" : " class=\"nan\"") << " x=\"" << coordinate(x) << "\" y=\""
          << coordinate(y) << "\" width=\"" << coordinate(side) << "\" height=\""
          << coordinate(side) << "\" fill=\""
          << (defined ? viridis(closeness(v)) : std::string("url(#") + kNanPattern + ")")
          << "\"><title>" << escape_xml(map.labels[i]) << " / " << escape_xml(map.labels[j]) << ": "
          << (defined ? compact_number(v, 6) : escape_xml(map.undefined)) << "</title></rect>\n";
      if (print_values && defined) {
        svg << "<text x=\"" << coordinate(x + side / 2) << "\" y=\"" << coordinate(y + side / 2)
            << "\" dy=\"0.35em\" text-anchor=\"middle\" font-size=\"11\" fill=\""
            << (closeness(v) < 0.6 ? "white" : "black") << "\">"
            << compact_number(std::abs(v) < negligible ? 0.0 : v, 3) << "</text>\n";
      }
    }
  }
  svg << "</g>\n";

  // Labels: rows on the left, columns above (rotated to read upwards); every step-th of them.
  svg << "<g class=\"labels\" font-size=\"" << coordinate(l.label_font) << "\">\n";
  for (std::size_t i = 0; i < k; i += l.step) {
    const double centre = static_cast<double>(i) * l.cell + l.cell / 2;
    svg << "<text x=\"" << coordinate(l.grid_x - 6) << "\" y=\"" << coordinate(l.grid_y + centre)
        << "\" dy=\"0.35em\" text-anchor=\"end\">" << escape_xml(labels[i]) << "</text>\n"
        << "<text transform=\"translate(" << coordinate(l.grid_x + centre) << ' '
        << coordinate(l.grid_y - 6) << ") rotate(-90)\" dy=\"0.35em\">" << escape_xml(labels[i])
        << "</text>\n";
  }
  svg << "</g>\n";

  // Colour bar: "more similar" (t = 1) at the top, with the values of its ends and middle.
  svg << "<g class=\"colour-bar\" font-size=\"11\">\n"
      << "<text x=\"" << coordinate(l.bar_x) << "\" y=\"" << coordinate(l.bar_y - 7)
      << "\">more similar</text>\n"
      << "<rect x=\"" << coordinate(l.bar_x) << "\" y=\"" << coordinate(l.bar_y) << "\" width=\""
      << kBarWidth << "\" height=\"" << coordinate(l.bar_height)
      << "\" fill=\"url(#scale)\" stroke=\"#666\" stroke-width=\"0.5\"/>\n"
      << "<text x=\"" << coordinate(l.bar_x) << "\" y=\"" << coordinate(l.bar_y + l.bar_height + 15)
      << "\">less similar</text>\n";
  if (any_defined) {
    const double ends[2] = {map.similarity ? hi : lo, map.similarity ? lo : hi};  // top, bottom
    const double tick_values[3] = {ends[0], (lo + hi) / 2, ends[1]};
    for (int t = 0; t < (hi > lo ? 3 : 1); ++t) {
      const double y = hi > lo ? l.bar_y + t * l.bar_height / 2 : l.bar_y + l.bar_height / 2;
      svg << "<line x1=\"" << coordinate(l.bar_x + kBarWidth) << "\" x2=\""
          << coordinate(l.bar_x + kBarWidth + 4) << "\" y1=\"" << coordinate(y) << "\" y2=\""
          << coordinate(y) << "\" stroke=\"#333\"/>\n"
          << "<text class=\"tick\" x=\"" << coordinate(l.bar_x + kBarWidth + 7) << "\" y=\""
          << coordinate(y) << "\" dy=\"0.35em\">" << compact_number(tick_values[t], 4)
          << "</text>\n";
    }
  }
  if (undefined) {
    const double y = l.bar_y + l.bar_height + 26;
    svg << "<rect class=\"nan\" x=\"" << coordinate(l.bar_x) << "\" y=\"" << coordinate(y)
        << "\" width=\"" << kBarWidth << "\" height=\"" << kBarWidth << "\" fill=\"url(#"
        << kNanPattern << ")\"/>\n"
        << "<text x=\"" << coordinate(l.bar_x + kBarWidth + 7) << "\" y=\""
        << coordinate(y + kBarWidth / 2) << "\" dy=\"0.35em\">" << escape_xml(map.undefined)
        << "</text>\n";
  }
  svg << "</g>\n</svg>\n";
  return svg.str();
}

// ---- scatter maps
// --------------------------------------------------------------------------------

namespace {

/// Okabe & Ito's colour-blind-safe qualitative palette.
constexpr std::array<const char*, 8> kGroupColours = {"#0072b2", "#e69f00", "#009e73", "#cc79a7",
                                                      "#56b4e9", "#d55e00", "#f0e442", "#000000"};
constexpr std::size_t kMarkerShapes = 5;
constexpr std::size_t kLegendEntries = 24;

std::string group_colour(std::int64_t group, std::size_t groups) {
  if (groups <= kGroupColours.size()) return kGroupColours[static_cast<std::size_t>(group)];
  return viridis(static_cast<double>(group) / static_cast<double>(groups - 1));
}

/// An SVG marker of `shape` (0..4: circle, square, triangle, diamond, cross) centred at (x, y).
std::string marker(std::size_t shape, double x, double y, double r, const std::string& fill,
                   const std::string& tooltip) {
  std::ostringstream m;
  const std::string cx = coordinate(x), cy = coordinate(y);
  auto polygon = [&](std::initializer_list<std::pair<double, double>> points) {
    m << "<polygon points=\"";
    for (const auto& [dx, dy] : points)
      m << coordinate(x + dx * r) << ',' << coordinate(y + dy * r) << ' ';
    m << "\"";
  };
  switch (shape % kMarkerShapes) {
    case 0:
      m << "<circle cx=\"" << cx << "\" cy=\"" << cy << "\" r=\"" << coordinate(r) << "\"";
      break;
    case 1:
      polygon({{-0.9, -0.9}, {0.9, -0.9}, {0.9, 0.9}, {-0.9, 0.9}});
      break;
    case 2:
      polygon({{0, -1.2}, {1.1, 0.8}, {-1.1, 0.8}});
      break;
    case 3:
      polygon({{0, -1.25}, {1.25, 0}, {0, 1.25}, {-1.25, 0}});
      break;
    default:
      polygon({{-0.35, -1.1},
               {0.35, -1.1},
               {0.35, -0.35},
               {1.1, -0.35},
               {1.1, 0.35},
               {0.35, 0.35},
               {0.35, 1.1},
               {-0.35, 1.1},
               {-0.35, 0.35},
               {-1.1, 0.35},
               {-1.1, -0.35},
               {-0.35, -0.35}});
  }
  m << " fill=\"" << fill << "\" stroke=\"#222\" stroke-width=\"0.6\" fill-opacity=\"0.85\"><title>"
    << escape_xml(tooltip) << "</title></" << (shape % kMarkerShapes == 0 ? "circle" : "polygon")
    << ">\n";
  return m.str();
}

void check_scatter(const ScatterMap& map) {
  const std::size_t n = map.labels.size();
  auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("scatter map '" + map.title + "': " + why);
  };
  if (n == 0) refuse("no points");
  if (map.x.size() != n || map.y.size() != n || map.colour_group.size() != n ||
      !(map.shape_group.empty() || map.shape_group.size() == n)) {
    refuse("labels, coordinates and groups must have one entry per point");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(map.x[i]) || !std::isfinite(map.y[i])) refuse("a coordinate is not finite");
    if (map.colour_group[i] < 0 || std::size_t(map.colour_group[i]) >= map.colour_names.size() ||
        (!map.shape_group.empty() &&
         (map.shape_group[i] < 0 || std::size_t(map.shape_group[i]) >= map.shape_names.size()))) {
      refuse("a group index is out of range");
    }
  }
}

}  // namespace

std::string scatter_svg(const ScatterMap& map) {
  check_scatter(map);
  const std::size_t n = map.labels.size();
  constexpr double kPlot = 480, kTop = kTitleHeight + 8, kRadius = 5;
  const auto [x_lo, x_hi] = std::minmax_element(map.x.begin(), map.x.end());
  const auto [y_lo, y_hi] = std::minmax_element(map.y.begin(), map.y.end());
  const double span = std::max({*x_hi - *x_lo, *y_hi - *y_lo, 1e-300});
  const double scale = (kPlot - 4 * kRadius) / span;  // one scale for both axes
  const double x_mid = (*x_lo + *x_hi) / 2, y_mid = (*y_lo + *y_hi) / 2;
  auto page_x = [&](double v) { return kMargin + kPlot / 2 + (v - x_mid) * scale; };
  auto page_y = [&](double v) { return kTop + kPlot / 2 - (v - y_mid) * scale; };  // y up
  const double radius = n > 500 ? 3 : kRadius;

  std::size_t legend_chars = 0;
  for (const auto* names : {&map.colour_names, &map.shape_names}) {
    for (const std::string& name : *names) legend_chars = std::max(legend_chars, utf8_length(name));
  }
  const double legend_x = kMargin + kPlot + 24;
  const double width =
      std::max(legend_x + 24 + static_cast<double>(legend_chars) * 11 * kCharWidth + kMargin,
               2 * kMargin + utf8_length(map.title) * 16 * kCharWidth);
  const std::size_t colours = std::min(map.colour_names.size(), kLegendEntries);
  const std::size_t shapes =
      map.shape_group.empty() ? 0 : std::min(map.shape_names.size(), kLegendEntries);
  const double legend_height = 18.0 * static_cast<double>(colours + shapes + 2);
  const double height = std::max(kTop + kPlot, kTop + legend_height) + kMargin;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << coordinate(width) << "\" height=\""
      << coordinate(height) << "\" viewBox=\"0 0 " << coordinate(width) << ' ' << coordinate(height)
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      << "<title>" << escape_xml(map.title) << "</title>\n"
      << titles(map.title, map.note);
  svg << "<rect x=\"" << kMargin << "\" y=\"" << kTop << "\" width=\"" << kPlot << "\" height=\""
      << kPlot << "\" fill=\"none\" stroke=\"#bbb\"/>\n<g class=\"points\">\n";
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t c = map.colour_group[i];
    const std::size_t shape = map.shape_group.empty() ? 0 : std::size_t(map.shape_group[i]);
    std::string tooltip = map.labels[i] + ": " + map.colour_names[std::size_t(c)];
    if (!map.shape_group.empty()) tooltip += ", " + map.shape_names[shape];
    svg << marker(shape, page_x(map.x[i]), page_y(map.y[i]), radius,
                  group_colour(c, map.colour_names.size()), tooltip);
  }
  svg << "</g>\n<g class=\"legend\" font-size=\"11\">\n";
  double y = kTop + 10;
  for (std::size_t g = 0; g < colours; ++g, y += 18) {
    svg << marker(0, legend_x + 6, y, kRadius,
                  group_colour(std::int64_t(g), map.colour_names.size()), map.colour_names[g])
        << "<text x=\"" << coordinate(legend_x + 18) << "\" y=\"" << coordinate(y)
        << "\" dy=\"0.35em\">" << escape_xml(map.colour_names[g]) << "</text>\n";
  }
  y += 18;
  for (std::size_t g = 0; g < shapes; ++g, y += 18) {
    svg << marker(g, legend_x + 6, y, kRadius, "#ffffff", map.shape_names[g]) << "<text x=\""
        << coordinate(legend_x + 18) << "\" y=\"" << coordinate(y) << "\" dy=\"0.35em\">"
        << escape_xml(map.shape_names[g]) << "</text>\n";
  }
  svg << "</g>\n</svg>\n";
  return svg.str();
}

ScatterMap clustering_map(std::string title, std::string note, std::vector<std::string> names,
                          const std::vector<double>& embedding,
                          const std::vector<std::int64_t>& assignment, std::int64_t clusters,
                          const std::vector<std::int64_t>& label_codes,
                          const std::vector<std::string>& label_names) {
  ScatterMap map;
  map.title = std::move(title);
  map.note = std::move(note);
  map.labels = std::move(names);
  for (std::size_t i = 0; 2 * i + 1 < embedding.size(); ++i) {
    map.x.push_back(embedding[2 * i]);
    map.y.push_back(embedding[2 * i + 1]);
  }
  map.colour_group = assignment;
  for (std::int64_t c = 0; c < clusters; ++c)
    map.colour_names.push_back("cluster " + std::to_string(c));
  map.shape_group = label_codes;
  for (const std::string& name : label_names) map.shape_names.push_back("label " + name);
  return map;
}

// ---- tables ------------------------------------------------------------------------------------

std::string format_table(const Heatmap& map, int digits) {
  check_heatmap(map);
  const std::size_t k = map.labels.size();
  std::size_t longest = 0;
  for (const std::string& label : map.labels) longest = std::max(longest, utf8_length(label));
  const bool numbered = longest > 12;
  std::vector<std::string> rows(k), headers(k);
  for (std::size_t i = 0; i < k; ++i) {
    headers[i] = numbered ? std::to_string(i + 1) : map.labels[i];
    rows[i] = numbered ? pad(std::to_string(i + 1), std::to_string(k).size(), false) + "  " +
                             map.labels[i]
                       : map.labels[i];
  }
  std::size_t row_width = 0;
  for (const std::string& row : rows) row_width = std::max(row_width, utf8_length(row));
  std::vector<std::string> cells(k * k);
  std::vector<std::size_t> widths(k);
  for (std::size_t j = 0; j < k; ++j) widths[j] = utf8_length(headers[j]);
  for (std::size_t e = 0; e < k * k; ++e) {
    const double v = map.values[e];
    cells[e] = std::isnan(v) ? "-" : compact_number(v, digits);
    widths[e % k] = std::max(widths[e % k], cells[e].size());
  }
  std::string table = pad("", row_width, true);
  for (std::size_t j = 0; j < k; ++j) table += "  " + pad(headers[j], widths[j], false);
  table += '\n';
  for (std::size_t i = 0; i < k; ++i) {
    table += pad(rows[i], row_width, true);
    for (std::size_t j = 0; j < k; ++j) table += "  " + pad(cells[i * k + j], widths[j], false);
    table += '\n';
  }
  return table;
}

// ---- folders of pictures ------------------------------------------------------------------------

void check_out_dir(const std::string& option, const std::string& out_dir) {
  namespace fs = std::filesystem;
  auto refuse = [&](const std::string& why) {
    throw UsageError(option + ": cannot write pictures in '" + out_dir + "': " + why);
  };
  if (out_dir.empty()) refuse("the folder name is empty");
  std::error_code error;
  const fs::path target = fs::absolute(out_dir, error);
  if (error) refuse(error.message());
  // The folder itself, or its nearest existing ancestor, must be a folder we may write in.
  fs::path probe = target;
  while (!fs::exists(probe, error) && probe.has_relative_path()) probe = probe.parent_path();
  if (!fs::is_directory(probe, error)) refuse("'" + probe.string() + "' is not a folder");
  if (::access(probe.c_str(), W_OK | X_OK) != 0) {
    refuse(fs::equivalent(probe, target, error)
               ? "the folder is not writable"
               : "cannot create a folder in '" + probe.string() + "' (permission denied)");
  }
}

std::vector<std::string> write_pictures(const std::string& option, const std::string& out_dir,
                                        const std::vector<Picture>& pictures) {
  namespace fs = std::filesystem;
  std::error_code error;
  const bool existed = fs::is_directory(out_dir, error);
  if (!existed) {
    fs::create_directories(out_dir, error);
    if (error || !fs::is_directory(out_dir, error)) {
      throw UsageError(option + ": cannot create the folder '" + out_dir + "'" +
                       (error ? ": " + error.message() : ""));
    }
  }
  std::vector<std::string> written;
  try {
    for (const Picture& picture : pictures) {
      const std::string path = (fs::path(out_dir) / picture.file_name).string();
      blaming(option,
              [&] { write_file_atomically(path, [&](std::ostream& out) { out << picture.svg; }); });
      written.push_back(path);
    }
  } catch (...) {
    for (const std::string& path : written) fs::remove(path, error);
    if (!existed) fs::remove(out_dir, error);  // only when empty
    throw;
  }
  return written;
}

}  // namespace gaussot::cli
