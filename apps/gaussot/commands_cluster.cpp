// SPDX-License-Identifier: Apache-2.0
// `gaussot cluster` (CLI.md): k-means of Gaussians (cluster.hpp) given as sample files of any
// sizes (fitted one file at a time) or as covariances, with the IGW geometry (centered, any
// dimensions: k-means on zero-padded spectra) or the Bures–Wasserstein one (one dimension); a
// classical-MDS map of the distances, scores against known labels, and pictures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clustering.hpp"
#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"
#include "pictures.hpp"
#include "progress.hpp"

namespace gaussot::cli {
namespace {

struct ClusterCommandOptions {
  CommonOptions common;
  SampleFileOptions inputs;
  std::string cov, mean;
  std::int64_t clusters = 0;
  std::string metric = "igw";
  int n_init = KMeansOptions().n_init;
  int max_iterations = KMeansOptions().max_iterations;
  std::uint64_t seed = 0;
  std::string labels, out_dir;
  bool no_progress = false;
};

/// Known labels of the items (--labels): integer codes in order of first appearance, and the
/// label each code stands for.
struct Labels {
  std::vector<std::int64_t> codes;
  std::vector<std::string> names;
};

/// --labels FILE: a .npy of k numbers with integer values (float32/float64, as every input), or
/// a text file with one label (any word) per non-empty line.
Labels read_labels(const std::string& path) {
  std::vector<std::string> words;
  if (std::filesystem::path(path).extension() == ".npy") {
    const NdArray<double> array = blaming("--labels", [&] { return read_npy<double>(path); });
    if (array.ndim() != 1) throw UsageError("--labels: " + path + ": expected shape (k,)");
    for (double v : array.data) {
      if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) > 0x1p53) {
        throw UsageError("--labels: " + path + ": labels must be integers, got " +
                         std::to_string(v));
      }
      words.push_back(std::to_string(static_cast<std::int64_t>(v)));
    }
  } else {
    std::ifstream in(path);
    if (!in || std::filesystem::is_directory(path)) {
      throw UsageError("--labels: " + path + " cannot be read");
    }
    for (std::string line; std::getline(in, line);) {
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos) continue;
      words.push_back(line.substr(first, line.find_last_not_of(" \t\r") - first + 1));
    }
  }
  Labels labels;
  std::map<std::string, std::int64_t> code_of;
  for (const std::string& word : words) {
    const auto [it, added] = code_of.emplace(word, std::int64_t(labels.names.size()));
    if (added) labels.names.push_back(word);
    labels.codes.push_back(it->second);
  }
  return labels;
}

void check_label_count(const Labels& labels, const std::string& path, std::int64_t items) {
  if (static_cast<std::int64_t>(labels.codes.size()) != items) {
    throw UsageError("--labels: " + path + ": " + std::to_string(labels.codes.size()) +
                     " labels for " + std::to_string(items) + " items");
  }
}

/// The clustered items on the host, whatever their source: names, dimensions, and the k x k
/// distances (IGW or W2, not squared) for the map.
struct Items {
  std::vector<std::string> names;
  std::vector<std::int64_t> dimensions;
  std::vector<double> distances;  ///< k x k, symmetric (row- and column-major alike)
  std::int64_t count() const { return static_cast<std::int64_t>(names.size()); }
};

/// Reads file f (n, d) and fits its Gaussian on the context into (mean, covariance); errors name
/// the file. Adds the reading time to `reading_ms`.
template <typename T>
void fit_file(Context& ctx, const NamedFile& f, VectorBatch<T> mean, MatrixBatch<T> covariance,
              double& reading_ms) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<T> rows = read_rows<T>(f, 0, f.n);
  reading_ms +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  Array<T> samples = Array<T>::from_host(ctx, std::move(rows));  // columns are samples
  blaming(f.where(),
          [&] { sample_moments<T>(ctx, samples.matrices(f.d, f.n, 1), mean, covariance); });
}

/// The names and dimensions of items given by one --cov file: "0", "1", ...
void name_covariance_items(Items& items, std::int64_t count, std::int64_t d) {
  for (std::int64_t i = 0; i < count; ++i) {
    items.names.push_back(std::to_string(i));
    items.dimensions.push_back(d);
  }
}

/// The library's option names, mapped to the command's.
const std::vector<std::pair<std::string, std::string>> kOptionSources = {
    {"options.clusters", "--k"},
    {"options.n_init", "--n-init"},
    {"options.max_iterations", "--max-iterations"}};

KMeansOptions kmeans_options(const ClusterCommandOptions& o) {
  KMeansOptions options;
  options.clusters = o.clusters;
  options.n_init = o.n_init;
  options.max_iterations = o.max_iterations;
  options.seed = o.seed;
  options.spectral = input_rule();
  options.barycenter.spectral = input_rule();
  return options;
}

// ---- igw ---------------------------------------------------------------------------------------

/// The IGW spectra of the inputs, one file or covariance at a time.
template <typename T>
std::vector<IgwSpectrum> igw_inputs(Context& ctx, const ClusterCommandOptions& o,
                                    const std::vector<NamedFile>& files, Items& items,
                                    ProgressBar& bar, double& reading_ms) {
  std::vector<IgwSpectrum> spectra;
  if (!o.cov.empty()) {
    if (!o.mean.empty()) {
      throw UsageError(
          "--mean: the igw metric clusters centered Gaussians; drop --mean, or use "
          "--metric bw");
    }
    Gaussians<T> g(ctx, read_gaussians<T>("gaussians", "--cov", o.cov, "", ""), false);
    name_inputs({g.naming()}, [&] { spectra = igw_spectra<T>(ctx, g.all(), input_rule()); });
    name_covariance_items(items, g.count(), g.dimension());
    return spectra;
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const NamedFile& f = files[i];
    bar.update("fitting", std::int64_t(i), std::int64_t(files.size()));
    Array<T> mean(ctx, f.d), covariance(ctx, f.d * f.d);
    fit_file<T>(ctx, f, mean.vectors(f.d, 1), covariance.matrices(f.d, f.d, 1), reading_ms);
    const GaussianBatch<const T> centered(VectorBatch<const T>(), covariance.matrices(f.d, f.d, 1));
    blaming(f.where(), [&] { spectra.push_back(igw_spectra<T>(ctx, centered, input_rule())[0]); });
    items.names.push_back(f.name);
    items.dimensions.push_back(f.d);
  }
  return spectra;
}

template <typename T>
void run_igw_clustering(Context& ctx, const ClusterCommandOptions& o,
                        const std::vector<NamedFile>& files, Items& items, Report& report,
                        ProgressBar& bar, double& reading_ms) {
  const std::vector<IgwSpectrum> spectra = igw_inputs<T>(ctx, o, files, items, bar, reading_ms);
  bar.update("clustering", 0, 1);
  IgwKMeansResult result;
  name_inputs(kOptionSources, [&] { result = igw_kmeans(spectra, kmeans_options(o)); });
  const std::int64_t k = items.count();
  items.distances = igw_distances(ctx, spectra);
  report.fields()["metric"] = "igw";
  report.fields()["assignment"] = result.assignment;
  report.fields()["objective"] = result.objective;
  report.fields()["iterations"] = result.iterations;
  report.fields()["converged"] = result.converged;
  report.add_array("squared_distances", {k}, result.squared_distances);
  report.add_array("centroid_eigenvalues", {o.clusters, result.dimension},
                   result.centroid_eigenvalues);
}

// ---- bw ----------------------------------------------------------------------------------------

template <typename T>
void run_bw_clustering(Context& ctx, const ClusterCommandOptions& o,
                       const std::vector<NamedFile>& files, Items& items, Report& report,
                       ProgressBar& bar, double& reading_ms) {
  std::optional<Gaussians<T>> given;
  Array<T> means, covariances;
  std::int64_t d = 0, k = 0;
  std::pair<std::string, std::string> source = {"gaussians", "the Gaussians fitted to the files"};
  if (!o.cov.empty()) {
    given.emplace(ctx, read_gaussians<T>("gaussians", "--cov", o.cov, "--mean", o.mean));
    d = given->dimension();
    k = given->count();
    source = given->naming();
    name_covariance_items(items, k, d);
  } else {
    d = files.front().d;
    k = static_cast<std::int64_t>(files.size());
    means = Array<T>(ctx, d * k);
    covariances = Array<T>(ctx, d * d * k);
    for (std::int64_t i = 0; i < k; ++i) {
      const NamedFile& f = files[std::size_t(i)];
      if (f.d != d) {
        throw UsageError(f.where() + ": dimension " + std::to_string(f.d) + ", but " +
                         files.front().where() + " has " + std::to_string(d) +
                         " (the bw metric compares Gaussians of one dimension; --metric igw "
                         "clusters any dimensions)");
      }
      bar.update("fitting", i, k);
      fit_file<T>(ctx, f, means.vectors(d, k).slice(i, i + 1),
                  covariances.matrices(d, d, k).slice(i, i + 1), reading_ms);
      items.names.push_back(f.name);
      items.dimensions.push_back(d);
    }
  }
  const GaussianBatch<const T> gaussians =
      given ? given->all()
            : GaussianBatch<const T>(means.vectors(d, k), covariances.matrices(d, d, k));
  bar.update("clustering", 0, 1);
  const std::int64_t clusters = o.clusters;
  Array<T> centroid_means(ctx, d * std::max<std::int64_t>(clusters, 0)),
      centroid_covs(ctx, d * d * std::max<std::int64_t>(clusters, 0));
  KMeansResult result;
  Array<T> squared(ctx, k * k);
  std::vector<std::pair<std::string, std::string>> sources = kOptionSources;
  sources.push_back(source);
  name_inputs(sources, [&] {
    result = w2_kmeans<T>(ctx, gaussians,
                          GaussianBatch<T>(centroid_means.vectors(d, clusters),
                                           centroid_covs.matrices(d, d, clusters)),
                          kmeans_options(o));
    BuresOptions bures;
    bures.spectral = input_rule();
    w2_squared_all_pairs<T>(ctx, gaussians, gaussians, squared.matrices(k, k, 1), bures);
  });
  const std::vector<T> squared_host = squared.take_host(ctx);
  items.distances = distances_from_squares({squared_host.begin(), squared_host.end()}, k);
  report.fields()["metric"] = "bw";
  report.fields()["assignment"] = result.assignment;
  report.fields()["objective"] = result.objective;
  report.fields()["iterations"] = result.iterations;
  report.fields()["converged"] = result.converged;
  report.add_array("squared_distances", {k}, result.squared_distances);
  report.add_array("centroid_means", {clusters, d}, as_double(centroid_means.take_host(ctx)));
  report.add_array("centroid_covs", {clusters, d, d},
                   to_c_order(centroid_covs.take_host(ctx), d, d, clusters));
}

// ---- map, scores and pictures
// --------------------------------------------------------------------

/// map.svg (the MDS map coloured by cluster, shaped by label) and distances.svg (the distance
/// heatmap, rows and columns ordered by cluster).
std::vector<Picture> cluster_pictures(const ClusterCommandOptions& o, const Items& items,
                                      const std::vector<std::int64_t>& assignment,
                                      const std::vector<double>& embedding,
                                      const std::optional<Labels>& labels) {
  const std::size_t k = items.names.size();
  const std::string geometry = o.metric == "igw" ? "IGW" : "Bures-Wasserstein (W2)";
  const ScatterMap map =
      clustering_map(geometry + " k-means, " + std::to_string(o.clusters) + " clusters",
                     "classical MDS of the " + std::to_string(k) + " items' " + geometry +
                         " distances" + (labels ? "; marker shape: known label" : ""),
                     items.names, embedding, assignment, o.clusters,
                     labels ? labels->codes : std::vector<std::int64_t>{},
                     labels ? labels->names : std::vector<std::string>{});
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return assignment[a] < assignment[b]; });
  Heatmap heatmap;
  heatmap.title = geometry + " distance, ordered by cluster";
  heatmap.note = std::to_string(k) + " items in " + std::to_string(o.clusters) + " clusters";
  for (std::size_t i : order) {
    heatmap.labels.push_back(items.names[i] + " (" + std::to_string(assignment[i]) + ")");
    for (std::size_t j : order) heatmap.values.push_back(items.distances[i * k + j]);
  }
  return {{"map.svg", scatter_svg(map)}, {"distances.svg", heatmap_svg(heatmap)}};
}

template <typename T>
void run_cluster(const ClusterCommandOptions& o) {
  const bool from_files = !o.inputs.files.empty() || !o.inputs.dir.empty() ||
                          !o.inputs.dir_of_dirs.empty() || !o.inputs.manifest.empty();
  if (from_files == !o.cov.empty()) {
    throw UsageError(std::string(from_files ? "inputs given twice: " : "no input: ") +
                     "give sample files (n_i, d_i) .npy (as arguments, --dir or --manifest), or "
                     "--cov FILE");
  }
  if (!o.mean.empty() && o.cov.empty()) throw UsageError("--mean needs --cov");
  std::vector<NamedFile> files;
  if (from_files) files = list_sample_files(o.inputs);
  std::optional<Labels> labels;
  if (!o.labels.empty()) labels = read_labels(o.labels);
  if (labels && from_files) check_label_count(*labels, o.labels, std::int64_t(files.size()));
  if (!o.out_dir.empty()) check_out_dir("--out-dir", o.out_dir);

  Context ctx = make_context(o.common);
  Report report("cluster", o.common, ctx);
  ProgressBar bar(!o.no_progress && stderr_is_terminal());
  double reading_ms = 0;
  Items items;
  report.start_clock();
  if (o.metric == "igw") {
    run_igw_clustering<T>(ctx, o, files, items, report, bar, reading_ms);
  } else {
    run_bw_clustering<T>(ctx, o, files, items, report, bar, reading_ms);
  }
  const PlanarMap map = planar_map<T>(ctx, items.distances);
  report.add_array("embedding", {items.count(), 2}, map.embedding);
  report.fields()["embedding_variance_kept"] = map.variance_kept;
  bar.finish();
  report.stop_clock();
  report.exclude_ms(reading_ms);

  nlohmann::ordered_json& fields = report.fields();
  const auto assignment = fields["assignment"].get<std::vector<std::int64_t>>();
  if (labels) {
    check_label_count(*labels, o.labels, items.count());
    fields["ari"] = adjusted_rand_index(labels->codes, assignment);
    fields["nmi"] = normalized_mutual_info(labels->codes, assignment);
  }
  fields["names"] = items.names;
  fields["dimensions"] = items.dimensions;
  fields["read_ms"] = reading_ms;
  if (!o.out_dir.empty()) {
    fields["pictures"] = write_pictures(
        "--out-dir", o.out_dir, cluster_pictures(o, items, assignment, map.embedding, labels));
  }
  report.emit();
}

}  // namespace

void register_cluster(CLI::App& app) {
  auto o = std::make_shared<ClusterCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "cluster",
      "k-means of Gaussians: sample files (n_i, d_i) of any sizes, fitted one at a time, or "
      "--cov (k, d, d); IGW (centered, any dimensions) or Bures-Wasserstein (one dimension); "
      "an MDS map of the distances; ARI and NMI against --labels");
  add_sample_file_options(*command, o->inputs, "sample files (n_i, d_i)");
  command->add_option("--cov", o->cov, "instead of sample files: covariances, (k, d, d) .npy");
  command->add_option("--mean", o->mean, "with --cov and --metric bw: means, (k, d) .npy");
  command->add_option("--k", o->clusters, "the number of clusters K, 1 <= K <= items")
      ->required()
      ->check(count_at_least(1));
  command->add_option("--metric", o->metric, "igw (centered, any dimensions) or bw (one dimension)")
      ->check(CLI::IsMember({"igw", "bw"}))
      ->capture_default_str();
  command->add_option("--n-init", o->n_init, "k-means runs from different seeds; the best is kept")
      ->check(count_at_least(1))
      ->capture_default_str();
  command->add_option("--max-iterations", o->max_iterations, "Lloyd iterations per run at the most")
      ->check(count_at_least(0))
      ->capture_default_str();
  command->add_option("--seed", o->seed, "seed of the k-means++ seeding")->capture_default_str();
  command->add_option("--labels", o->labels,
                      "known labels of the items, in input order: a .npy of k integers or a text "
                      "file with one label per line; adds ari and nmi");
  command->add_option("--out-dir", o->out_dir,
                      "write map.svg (the MDS map by cluster) and distances.svg there");
  command->add_flag("--no-progress", o->no_progress,
                    "no progress bar (it is shown only when stderr is a terminal)");
  add_common_options(*command, o->common);
  command->callback([o] {
    dispatch_precision(
        o->common, [&] { run_cluster<double>(*o); }, [&] { run_cluster<float>(*o); });
  });
}

}  // namespace gaussot::cli
