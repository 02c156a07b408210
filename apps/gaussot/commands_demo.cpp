// SPDX-License-Identifier: Apache-2.0
// `gaussot demo` (CLI.md): the main job on built-in data. Four random-feature networks
// (demo_networks.hpp) see the same inputs; their 12 layers are compared all against all with
// compare_representations (IGW, BW, linear and debiased CKA), the Gaussians of the layers of
// width 64 are averaged (W2 barycenter) and the last layers of two networks compared by their
// Fréchet distance. Then the paper's other task, heterogeneous clustering: built-in "users" of
// three styles in two widths are clustered by IGW k-means and drawn on an MDS map. Prints a
// readable report (or, with --json, the JSON object of CLI.md) and writes the pictures to
// --out-dir.
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

#include "clustering.hpp"
#include "commands.hpp"
#include "comparison_views.hpp"
#include "demo_networks.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"
#include "pictures.hpp"
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

/// The clustering part: IGW k-means of the built-in users, its scores and map.
struct Clustering {
  DemoUsers data;
  IgwKMeansResult result;
  double ari = 0, nmi = 0;
  PlanarMap map;
};

/// Phases of the run, in seconds.
struct Timings {
  double networks = 0, comparison = 0, extras = 0, clustering = 0, pictures = 0;
  double compute() const { return networks + comparison + extras + clustering; }
};

/// The clusters the demo asks for (the users' styles).
constexpr std::int64_t kStyles = 3;

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

/// The users' IGW spectra: the Gaussians fitted to their samples (one batch per width), centered.
template <typename T>
std::vector<IgwSpectrum> user_spectra(Context& ctx, const DemoUsers& data) {
  std::vector<IgwSpectrum> spectra(data.users.size());
  const std::int64_t n = data.samples;
  for (const std::int64_t d : data.widths) {
    std::vector<std::size_t> members;
    std::vector<T> stacked;
    for (std::size_t i = 0; i < data.users.size(); ++i) {
      if (data.users[i].width != d) continue;
      members.push_back(i);
      stacked.insert(stacked.end(), data.users[i].samples.begin(), data.users[i].samples.end());
    }
    const auto k = static_cast<std::int64_t>(members.size());
    Array<T> samples = Array<T>::from_host(ctx, std::move(stacked));
    Array<T> means(ctx, d * k), covariances(ctx, d * d * k);
    sample_moments<T>(ctx, samples.matrices(d, n, k), means.vectors(d, k),
                      covariances.matrices(d, d, k));
    const std::vector<IgwSpectrum> fitted = igw_spectra<T>(
        ctx, GaussianBatch<const T>(VectorBatch<const T>(), covariances.matrices(d, d, k)));
    for (std::size_t m = 0; m < members.size(); ++m) spectra[members[m]] = fitted[m];
  }
  return spectra;
}

/// IGW k-means of the built-in users into kStyles clusters, scored against their styles.
template <typename T>
Clustering cluster_users(Context& ctx) {
  Clustering c;
  c.data = make_demo_users();
  const std::vector<IgwSpectrum> spectra = user_spectra<T>(ctx, c.data);
  KMeansOptions options;
  options.clusters = kStyles;
  c.result = igw_kmeans(spectra, options);
  std::vector<std::int64_t> styles;
  for (const DemoUser& user : c.data.users) styles.push_back(user.style);
  c.ari = adjusted_rand_index(styles, c.result.assignment);
  c.nmi = normalized_mutual_info(styles, c.result.assignment);
  c.map = planar_map<T>(ctx, igw_distances(ctx, spectra));
  return c;
}

/// The clustering's map, coloured by cluster and shaped by style.
Picture clustering_picture(const Clustering& c) {
  std::vector<std::string> names;
  std::vector<std::int64_t> styles;
  for (const DemoUser& user : c.data.users) {
    names.push_back(user.name + " (" + c.data.styles[std::size_t(user.style)] + ", width " +
                    std::to_string(user.width) + ")");
    styles.push_back(user.style);
  }
  const std::string note = std::to_string(c.data.users.size()) + " users of widths " +
                           std::to_string(c.data.widths[0]) + " and " +
                           std::to_string(c.data.widths[1]) + "; marker shape: true style";
  return {"cluster_map.svg",
          scatter_svg(clustering_map("IGW k-means of heterogeneous users (MDS map)", note, names,
                                     c.map.embedding, c.result.assignment, kStyles, styles,
                                     c.data.styles))};
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
                        const Clustering& clustering, const std::vector<std::string>& pictures,
                        const std::string& out_dir, const Timings& time, const std::string& backend,
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

  const DemoUsers& users = clustering.data;
  out << "Heterogeneous clustering: " << users.users.size() << " users, sample sets of "
      << users.samples << " in R^" << users.widths[0] << " or R^" << users.widths[1]
      << " (as if embedded by two models of\n  different widths), of three spectral styles ("
      << users.styles[0] << ", " << users.styles[1] << ", " << users.styles[2]
      << "), clustered by IGW k-means into " << kStyles << " clusters\n  (k-means++, "
      << KMeansOptions().n_init << " runs; centroids are IGW barycenters): ARI "
      << number(clustering.ari, 4) << ", NMI " << number(clustering.nmi, 4)
      << " against the true styles; objective " << number(clustering.result.objective, 4)
      << ".\n  The MDS map (cluster_map.svg) keeps "
      << number(100 * clustering.map.variance_kept, 3)
      << "% of the variance of the IGW distances.\n\n";

  out << "Pictures (SVG heatmaps, brighter = more similar; the clusters' map) in " << out_dir
      << "/:";
  for (const std::string& path : pictures) {
    out << " " << path.substr(path.find_last_of('/') + 1);
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "\nTime: %.2f s computing (networks %.2f s, comparison %.2f s, barycenter and FID "
                "%.2f s, clustering %.2f s), %.2f s writing pictures; backend %s, precision %s.\n",
                time.compute(), time.networks, time.comparison, time.extras, time.clustering,
                time.pictures, backend.c_str(), precision.c_str());
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
                     const Comparison& comparison, const Extras& extras,
                     const Clustering& clustering, const std::string& out_dir,
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
  nlohmann::ordered_json users = nlohmann::ordered_json::array();
  for (const DemoUser& user : clustering.data.users) {
    users.push_back({{"name", user.name},
                     {"width", user.width},
                     {"style", clustering.data.styles[std::size_t(user.style)]}});
  }
  const auto k = static_cast<std::int64_t>(clustering.data.users.size());
  fields["clustering"] = {{"users", users},
                          {"samples", clustering.data.samples},
                          {"clusters", kStyles},
                          {"assignment", clustering.result.assignment},
                          {"objective", clustering.result.objective},
                          {"iterations", clustering.result.iterations},
                          {"ari", clustering.ari},
                          {"nmi", clustering.nmi},
                          {"embedding", nested_lists({k, 2}, clustering.map.embedding)},
                          {"embedding_variance_kept", clustering.map.variance_kept}};
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

  start = std::chrono::steady_clock::now();
  const Clustering clustering = cluster_users<T>(ctx);
  time.clustering = seconds_since(start);
  report.stop_clock();

  start = std::chrono::steady_clock::now();
  const bool folder_existed = std::filesystem::is_directory(o.out_dir);
  std::vector<Picture> drawn = comparison_pictures(comparison);
  drawn.push_back(clustering_picture(clustering));
  const std::vector<std::string> pictures = write_pictures("--out-dir", o.out_dir, drawn);
  time.pictures = seconds_since(start);

  try {
    if (o.json) {
      add_json_fields(report.fields(), data, comparison, extras, clustering, o.out_dir, pictures);
      report.emit();
    } else {
      emit_text(text_report(data, comparison, extras, clustering, pictures, o.out_dir, time,
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
      "CKA), a W2 barycenter and an FID, and users of two widths clustered by IGW k-means; "
      "prints a readable report and writes SVG pictures");
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
