// SPDX-License-Identifier: Apache-2.0
// `gaussot demo` (CLI.md): the main job on built-in data. Four random-feature networks
// (demo_networks.hpp) see the same inputs; their 12 layers are compared all against all with
// compare_representations (IGW, BW, linear and debiased CKA), the Gaussians of the layers of
// width 64 are averaged (W2 barycenter) and the last layers of two networks compared by their
// Fréchet distance. Prints a readable report (or, with --json, the JSON object of CLI.md) and
// writes the heatmaps to --out-dir.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "comparison_views.hpp"
#include "demo_networks.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace gaussot::cli {
namespace {

/// The options of `gaussot demo`.
struct DemoOptions {
  CommonOptions common;
  std::string out_dir = "gaussot-demo";
  bool json = false;
};

/// The width whose layers are averaged, and the two last layers whose FID is reported.
constexpr std::int64_t kBarycenterWidth = 64;
constexpr const char* kFidLayers[2] = {"A.3", "A'.3"};

/// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The results besides the comparison.
struct Extras {
  std::vector<std::string> barycenter_layers;
  BarycenterReport barycenter;
  std::vector<double> w2_to_barycenter;  ///< W2 from each averaged layer to the barycenter
  double fid = 0;
};

/// Phases of the run, in seconds.
struct Timings {
  double networks = 0, comparison = 0, extras = 0, pictures = 0;
  double compute() const { return networks + comparison + extras; }
};

/// Index of the layer called `name` in data.layers.
std::size_t layer_index(const DemoData& data, const std::string& name) {
  for (std::size_t i = 0; i < data.layers.size(); ++i) {
    if (data.layers[i].name == name) return i;
  }
  throw Error("demo: no layer named " + name, __FILE__, __LINE__);
}

/// The W2 barycenter of the Gaussians fitted to the layers of width kBarycenterWidth, their W2
/// distances to it, and the FID of the two kFidLayers.
template <typename T>
Extras barycenter_and_fid(Context& ctx, const DemoData& data,
                          const std::vector<std::vector<T>>& activations) {
  Extras extras;
  const std::int64_t n = data.samples, d = kBarycenterWidth;
  std::vector<T> stacked;
  for (std::size_t i = 0; i < data.layers.size(); ++i) {
    if (data.layers[i].width != d) continue;
    extras.barycenter_layers.push_back(data.layers[i].name);
    stacked.insert(stacked.end(), activations[i].begin(), activations[i].end());
  }
  const std::int64_t m = static_cast<std::int64_t>(extras.barycenter_layers.size());
  Array<T> samples = Array<T>::from_host(ctx, std::move(stacked));
  Array<T> means(ctx, d * m), covariances(ctx, d * d * m);
  sample_moments<T>(ctx, samples.matrices(d, n, m), means.vectors(d, m),
                    covariances.matrices(d, d, m));
  const GaussianBatch<const T> layers(means.vectors(d, m), covariances.matrices(d, d, m));
  Array<T> mean(ctx, d), covariance(ctx, d * d);
  const GaussianBatch<T> barycenter(mean.vectors(d, 1), covariance.matrices(d, d, 1));
  extras.barycenter = w2_barycenter<T>(ctx, layers, VectorBatch<const T>(), barycenter);
  Array<T> w2(ctx, m);
  w2_squared<T>(ctx, broadcast(GaussianBatch<const T>(barycenter), m), layers, w2.vectors(1, m));
  for (T squared : w2.take_host(ctx)) extras.w2_to_barycenter.push_back(std::sqrt(squared));

  const std::size_t a = layer_index(data, kFidLayers[0]), b = layer_index(data, kFidLayers[1]);
  Array<T> a_samples = Array<T>::from_host(ctx, activations[a]);
  Array<T> b_samples = Array<T>::from_host(ctx, activations[b]);
  Array<T> fid(ctx, 1);
  frechet_distance<T>(ctx, a_samples.matrices(data.layers[a].width, n, 1),
                      b_samples.matrices(data.layers[b].width, n, 1), fid.vectors(1, 1));
  extras.fid = fid.take_host(ctx)[0];
  return extras;
}

/// For layer i, the layer of another network with the best value of `values` (largest when
/// `similarity`, else smallest) and that value; {-1, NaN} when there is none.
std::pair<std::int64_t, double> nearest(const DemoData& data, const std::vector<double>& values,
                                        std::size_t i, bool similarity) {
  const std::size_t k = data.layers.size();
  std::pair<std::int64_t, double> best{-1, NAN};
  for (std::size_t j = 0; j < k; ++j) {
    const double v = values[i * k + j];
    if (data.layers[j].network == data.layers[i].network || !std::isfinite(v)) continue;
    if (best.first < 0 || (similarity ? v > best.second : v < best.second)) {
      best = {static_cast<std::int64_t>(j), v};
    }
  }
  return best;
}

/// `value` with `digits` significant digits.
std::string number(double value, int digits = 3) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

/// `text` padded with spaces to `width` bytes (names are ASCII here).
std::string column(const std::string& text, std::size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

/// The readable report of a run.
std::string text_report(const DemoData& data, const Comparison& comparison, const Extras& extras,
                        const std::vector<std::string>& pictures, const std::string& out_dir,
                        const Timings& time, const std::string& backend,
                        const std::string& precision) {
  std::ostringstream out;
  const std::size_t k = data.layers.size();
  out << "gaussot demo: " << data.networks.size()
      << " random-feature networks compared layer by layer\n\n"
      << "Data: " << data.samples << " inputs x ~ N(0, I) in R^" << data.input_dimension
      << " (seed " << data.seed << "), the same for every network:\n";
  for (const DemoNetwork& network : data.networks) {
    out << "  " << column(network.name, 4) << network.description << "\n";
  }
  std::int64_t exact = 0, pairs = 0;  // distinct pairs i < j
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i + 1; j < k && !comparison.igw_exact.empty(); ++j) {
      exact += comparison.igw_exact[i * k + j];
      ++pairs;
    }
  }
  out << k << " activation sets (n x width, one per network and layer), compared all against all:\n"
      << "  IGW between their fitted Gaussians (uncentered: the best value of the Stiefel ascent,\n"
      << "  between the analytic bounds; exact for " << exact << " of " << pairs
      << " pairs), BW (W2) between Gaussians of the same width,\n"
      << "  linear and debiased CKA between the samples.\n\n";

  out << "Nearest layer of another network:\n"
      << "  layer  width  by CKA           by IGW\n";
  for (std::size_t i = 0; i < k; ++i) {
    auto cell = [&](const std::vector<double>& values, bool similarity) {
      const auto [j, v] = nearest(data, values, i, similarity);
      return j < 0 ? std::string("-") : column(data.layers[j].name, 6) + number(v);
    };
    out << "  " << column(data.layers[i].name, 7) << column(std::to_string(data.layers[i].width), 7)
        << column(cell(comparison.cka, true), 17) << cell(comparison.igw, false) << "\n";
  }

  for (const auto& [stem, map] : comparison_heatmaps(comparison)) {
    if (stem != "cka" && stem != "igw") continue;
    out << "\n" << map.title << ":\n" << format_table(map, 3);
  }

  out << "\nW2 barycenter of the " << extras.barycenter_layers.size() << " layers of width "
      << kBarycenterWidth << ": " << extras.barycenter.iterations
      << " fixed-point iterations, residual " << number(extras.barycenter.residual, 2)
      << "; W2 from each layer to it:\n ";
  for (std::size_t i = 0; i < extras.barycenter_layers.size(); ++i) {
    out << " " << extras.barycenter_layers[i] << " " << number(extras.w2_to_barycenter[i]);
  }
  out << "\nFrechet distance (FID) between the last layers of A and A' (" << kFidLayers[0] << ", "
      << kFidLayers[1] << "): " << number(extras.fid, 4) << "\n\n";

  out << "Pictures (SVG heatmaps, brighter = more similar) in " << out_dir << "/:";
  for (const std::string& path : pictures) {
    out << " " << path.substr(path.find_last_of('/') + 1);
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "\nTime: %.2f s computing (networks %.2f s, comparison %.2f s, barycenter and FID "
                "%.2f s), %.2f s writing pictures; backend %s, precision %s.\n",
                time.compute(), time.networks, time.comparison, time.extras, time.pictures,
                backend.c_str(), precision.c_str());
  out << line << "All matrices: gaussot demo --json (--out-dir DIR for the pictures' folder).\n";
  return out.str();
}

/// The report on stdout, or in `out_file` (--out) when given.
void emit_text(const std::string& text, const std::string& out_file) {
  if (out_file.empty()) {
    std::cout << text << std::flush;
    return;
  }
  blaming("--out",
          [&] { write_file_atomically(out_file, [&](std::ostream& out) { out << text; }); });
}

/// The result fields of --json (after command, backend, precision and time_ms).
void add_json_fields(nlohmann::ordered_json& fields, const DemoData& data,
                     const Comparison& comparison, const Extras& extras, const std::string& out_dir,
                     const std::vector<std::string>& pictures) {
  fields["out_dir"] = out_dir;
  fields["pictures"] = pictures;
  nlohmann::ordered_json networks = nlohmann::ordered_json::array();
  for (const DemoNetwork& network : data.networks) {
    networks.push_back(
        {{"name", network.name}, {"description", network.description}, {"widths", network.widths}});
  }
  fields["data"] = {{"samples", data.samples},
                    {"input_dimension", data.input_dimension},
                    {"seed", data.seed},
                    {"networks", networks}};
  // The comparison's fields (CLI.md `compare`), in their order.
  const nlohmann::ordered_json compared = comparison_json(comparison);
  for (const auto& [key, value] : compared.items()) fields[key] = value;
  fields["barycenter"] = {{"layers", extras.barycenter_layers},
                          {"dimension", kBarycenterWidth},
                          {"iterations", extras.barycenter.iterations},
                          {"residual", extras.barycenter.residual},
                          {"w2_to_layers", extras.w2_to_barycenter}};
  fields["fid"] = {{"layers", std::vector<std::string>{kFidLayers[0], kFidLayers[1]}},
                   {"fid", extras.fid}};
}

/// The whole demo at precision T: out-dir check, data, comparison, barycenter and FID, pictures,
/// then the report (text or JSON); on failure after the pictures, they are removed again.
template <typename T>
void run_demo(const DemoOptions& o) {
  check_out_dir("--out-dir", o.out_dir);
  Context ctx = make_context(o.common);
  Report report("demo", o.common, ctx);
  Timings time;
  report.start_clock();
  auto start = std::chrono::steady_clock::now();
  const DemoData data = make_demo_networks();
  std::vector<std::vector<T>> activations;
  for (const DemoLayer& layer : data.layers) {
    activations.emplace_back(layer.activations.begin(), layer.activations.end());
  }
  time.networks = seconds_since(start);

  start = std::chrono::steady_clock::now();
  std::vector<ActivationSet<T>> sets;
  for (std::size_t i = 0; i < data.layers.size(); ++i) {
    const std::int64_t n = data.samples, d = data.layers[i].width;
    const T* values = activations[i].data();
    sets.push_back({data.layers[i].name, n, d,
                    [values, n, d] { return MatrixBatch<const T>(matrices(values, d, n, 1)); }});
  }
  CompareOptions options;
  options.cka_debiased = true;
  ProgressBar bar(true);
  options.progress = [&bar](const char* stage, std::int64_t done, std::int64_t total) {
    bar.update(stage, done, total);
  };
  const Comparison comparison = compare_representations<T>(ctx, sets, options);
  bar.finish();
  time.comparison = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const Extras extras = barycenter_and_fid<T>(ctx, data, activations);
  time.extras = seconds_since(start);
  report.stop_clock();

  start = std::chrono::steady_clock::now();
  const bool folder_existed = std::filesystem::is_directory(o.out_dir);
  std::vector<std::string> pictures;
  pictures = write_comparison_pictures(comparison, o.out_dir);
  time.pictures = seconds_since(start);

  try {
    if (o.json) {
      add_json_fields(report.fields(), data, comparison, extras, o.out_dir, pictures);
      report.emit();
    } else {
      emit_text(text_report(data, comparison, extras, pictures, o.out_dir, time,
                            to_string(ctx.backend()), o.common.precision),
                o.common.out);
    }
  } catch (...) {
    // Nothing is left behind on failure: the pictures go too (and the folder, if made here).
    std::error_code error;
    for (const std::string& path : pictures) std::filesystem::remove(path, error);
    if (!folder_existed) std::filesystem::remove(o.out_dir, error);  // only when empty
    throw;
  }
}

}  // namespace

void register_demo(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* command = app.add_subcommand(
      "demo",
      "The main job on built-in data: four random networks compared layer by layer (IGW, BW, "
      "CKA), a W2 barycenter and an FID; prints a readable report and writes SVG heatmaps");
  command
      ->add_option("--out-dir", options->out_dir, "folder for the heatmaps (created when missing)")
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "print the JSON object of CLI.md instead of the readable report");
  add_common_options(*command, options->common);
  // The demo's arrays are small and all in the JSON: no .npy copies.
  command->remove_option(command->get_option("--save-prefix"));
  command->callback([options] {
    dispatch_precision(
        options->common, [&] { run_demo<double>(*options); }, [&] { run_demo<float>(*options); });
  });
}

}  // namespace gaussot::cli
