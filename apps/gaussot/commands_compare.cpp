// SPDX-License-Identifier: Apache-2.0
// `gaussot compare` (CLI.md): activation files, one per (network, layer), each (n, d_i) with the
// same n input rows, compared all against all (compare_representations): IGW, BW where the
// dimensions agree, linear CKA. Files are read when the computation needs them, one at a time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "comparison_views.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace gaussot::cli {
namespace {

namespace fs = std::filesystem;

struct CompareCommandOptions {
  CommonOptions common;
  SampleFileOptions inputs;
  std::int64_t chunk_rows = 0;
  std::string metrics = "igw,bw,cka";
  bool centered = false, table = false, no_progress = false;
  std::string out_dir;
  double memory_limit_mib = 2048;
  AscentOptions ascent;
};

/// The inputs (list_sample_files), all with the same n rows.
std::vector<NamedFile> list_inputs(const CompareCommandOptions& o) {
  std::vector<NamedFile> files = list_sample_files(o.inputs);
  for (const NamedFile& f : files) {
    if (f.n != files.front().n) {
      throw UsageError(f.where() + ": " + std::to_string(f.n) + " rows, but " +
                       files.front().where() + " has " + std::to_string(files.front().n) +
                       " (compared activations share their input rows)");
    }
  }
  return files;
}

constexpr const char* kMetricNames = "igw, bw, cka, cka_debiased, nbs, procrustes";

struct Metrics {
  bool igw = false, bw = false, cka = false, cka_debiased = false, nbs = false, procrustes = false;
};

Metrics parse_metrics(const std::string& list) {
  Metrics m;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == "igw") {
      m.igw = true;
    } else if (item == "bw") {
      m.bw = true;
    } else if (item == "cka") {
      m.cka = true;
    } else if (item == "cka_debiased") {
      m.cka_debiased = true;
    } else if (item == "nbs") {
      m.nbs = true;
    } else if (item == "procrustes") {
      m.procrustes = true;
    } else {
      throw UsageError("--metrics: unknown metric '" + item + "' (choose from " + kMetricNames +
                       ", comma-separated)");
    }
  }
  if (!(m.igw || m.bw || m.cka || m.cka_debiased || m.nbs || m.procrustes)) {
    throw UsageError(std::string("--metrics: name at least one of ") + kMetricNames);
  }
  return m;
}

/// The k x k matrices of a comparison, with their result names, in output order.
std::vector<std::pair<std::string, const std::vector<double>*>> matrices_of(const Comparison& c) {
  std::vector<std::pair<std::string, const std::vector<double>*>> out;
  auto add = [&](const char* name, const std::vector<double>& m) {
    if (!m.empty()) out.emplace_back(name, &m);
  };
  add("igw", c.igw);
  add("igw_lower_bound", c.igw_lower);
  add("igw_upper_bound", c.igw_upper);
  add("bw", c.bw);
  add("cka", c.cka);
  add("cka_debiased", c.cka_debiased);
  add("nbs", c.nbs);
  add("procrustes", c.procrustes);
  return out;
}

/// The fields that are not matrices of numbers.
void add_descriptive_fields(nlohmann::ordered_json& fields, const Comparison& c) {
  fields["names"] = c.names;
  fields["dimensions"] = c.dimensions;
  fields["samples"] = c.samples;
  if (!c.igw_exact.empty()) {
    const std::size_t k = c.names.size();
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < k; ++i) {
      std::vector<bool> row(c.igw_exact.begin() + i * k, c.igw_exact.begin() + (i + 1) * k);
      rows.push_back(row);
    }
    fields["igw_exact"] = rows;
  }
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

/// --chunk-rows: the sets read `chunk_rows` rows at a time, every set's chunk fed to one
/// ComparisonAccumulator (memory O((Σ d_i)²) for the statistics, not O(n d_i) per set); each
/// file is read once.
template <typename T>
Comparison compare_in_chunks(Context& ctx, const std::vector<NamedFile>& files,
                             const CompareOptions& options, std::int64_t chunk_rows,
                             double& reading_ms) {
  std::vector<std::string> names;
  std::vector<std::int64_t> widths;
  for (const NamedFile& f : files) {
    names.push_back(f.name);
    widths.push_back(f.d);
  }
  ComparisonAccumulator<T> accumulator(ctx, names, widths);
  const std::int64_t n = files.front().n, chunks = (n + chunk_rows - 1) / chunk_rows;
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * chunk_rows, count = std::min(chunk_rows, n - begin);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::vector<T>> rows;
    std::vector<MatrixBatch<const T>> layers;
    for (const NamedFile& f : files) {
      rows.push_back(read_rows<T>(f, begin, count));
      layers.push_back(matrices<const T>(rows.back().data(), f.d, count, 1));
    }
    reading_ms += milliseconds_since(start);
    accumulator.update(layers);
    if (options.progress) options.progress("reading", c + 1, chunks);
  }
  Comparison comparison = accumulator.result(options);
  comparison.set_reads = std::int64_t(files.size());
  return comparison;
}

template <typename T>
void run_compare(const CompareCommandOptions& o) {
  const Metrics metrics = parse_metrics(o.metrics);
  const std::vector<NamedFile> files = list_inputs(o);
  if (!o.out_dir.empty()) {
    // Checked now, created with the pictures: a failed comparison leaves no folder behind.
    check_out_dir("--out-dir", o.out_dir);
  }
  Context ctx = make_context(o.common);
  Report report("compare", o.common, ctx);

  // Each loader reads its set into one shared buffer (one set in memory at a time).
  auto buffer = std::make_shared<std::vector<T>>();
  double reading_ms = 0;
  std::vector<ActivationSet<T>> sets;
  for (const NamedFile& f : files) {
    sets.push_back({f.name, f.n, f.d, [f, buffer, &reading_ms] {
                      const auto start = std::chrono::steady_clock::now();
                      *buffer = read_rows<T>(f, 0, f.n);
                      reading_ms += milliseconds_since(start);
                      return matrices<const T>(buffer->data(), f.d, f.n, 1);
                    }});
  }
  CompareOptions options;
  options.igw = metrics.igw;
  options.bw = metrics.bw;
  options.cka = metrics.cka;
  options.cka_debiased = metrics.cka_debiased;
  options.nbs = metrics.nbs;
  options.procrustes = metrics.procrustes;
  options.centered = o.centered;
  options.igw_options = o.ascent.igw_options();
  options.bw_options.spectral = input_rule();
  // --memory-limit is finite and > 0 (its check): below a byte it is a byte (one file at a
  // time), beyond 2^62 bytes it is no limit.
  options.memory_limit_bytes =
      static_cast<std::int64_t>(std::clamp(o.memory_limit_mib * 1024 * 1024, 1.0, 0x1p62));
  ProgressBar bar(!o.no_progress && stderr_is_terminal());
  options.progress = [&bar](const char* stage, std::int64_t done, std::int64_t total) {
    bar.update(stage, done, total);
  };

  report.start_clock();
  Comparison comparison;
  try {
    comparison = o.chunk_rows > 0
                     ? compare_in_chunks<T>(ctx, files, options, o.chunk_rows, reading_ms)
                     : compare_representations<T>(ctx, sets, options);
  } catch (const InvalidArgument& e) {
    bar.finish();
    // "sets[i] ('name')" (compare_representations) or "layers[i] ('name')" (the accumulator):
    // say which file.
    const std::string& argument = e.argument();
    for (const std::string prefix : {"sets[", "layers["}) {
      if (argument.rfind(prefix, 0) == 0) {
        const std::size_t i = std::stoul(argument.substr(prefix.size()));
        if (i < files.size()) throw UsageError(files[i].where() + ": " + e.message());
      }
    }
    throw;
  }
  bar.finish();
  report.stop_clock();
  report.exclude_ms(reading_ms);

  nlohmann::ordered_json& fields = report.fields();
  add_descriptive_fields(fields, comparison);
  const std::int64_t k = static_cast<std::int64_t>(files.size());
  for (const auto& [name, m] : matrices_of(comparison)) report.add_array(name, {k, k}, *m);
  fields["set_reads"] = comparison.set_reads;
  fields["read_ms"] = reading_ms;
  const bool folder_existed = !o.out_dir.empty() && fs::is_directory(o.out_dir);
  std::vector<std::string> pictures;
  if (!o.out_dir.empty()) {
    pictures = write_comparison_pictures(comparison, o.out_dir);
    fields["pictures"] = pictures;
  }
  try {
    if (o.table) {
      // The tables on stdout; the JSON only when --out names a file for it, written first so
      // that a failure to write it leaves nothing on stdout.
      if (!o.common.out.empty()) report.emit();
      std::cout << format_comparison_tables(comparison) << std::flush;
      return;
    }
    report.emit();
  } catch (...) {
    // Nothing is left behind on failure: the pictures go too (and the folder, if made here).
    std::error_code error;
    for (const std::string& path : pictures) fs::remove(path, error);
    if (!o.out_dir.empty() && !folder_existed) fs::remove(o.out_dir, error);  // only when empty
    throw;
  }
}

}  // namespace

nlohmann::ordered_json comparison_json(const Comparison& comparison) {
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  add_descriptive_fields(fields, comparison);
  for (const auto& [name, m] : matrices_of(comparison)) {
    const auto k = static_cast<std::int64_t>(comparison.names.size());
    fields[name] = nested_lists({k, k}, *m);
  }
  fields["set_reads"] = comparison.set_reads;
  return fields;
}

void register_compare(CLI::App& app) {
  auto o = std::make_shared<CompareCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "compare",
      "Compare many representations all against all: activation files (n, d_i) of the same n "
      "inputs, one per network and layer; IGW, BW (same dimensions) and linear CKA matrices");
  add_sample_file_options(*command, o->inputs, "activation files (n, d_i)");
  command->add_option("--metrics", o->metrics, std::string("comma-separated: ") + kMetricNames)
      ->capture_default_str();
  command->add_flag("--centered", o->centered,
                    "compare the centered Gaussians (means dropped): IGW is then exact");
  command->add_option("--out-dir", o->out_dir, "write a heatmap picture (SVG) per metric there");
  command->add_flag("--table", o->table,
                    "print the matrices as text tables on stdout (the JSON then goes to --out "
                    "only)");
  command->add_flag("--no-progress", o->no_progress,
                    "no progress bar (it is shown only when stderr is a terminal)");
  command
      ->add_option("--memory-limit", o->memory_limit_mib,
                   "MiB for the activations held at once for CKA (files are re-read in blocks "
                   "when they do not all fit)")
      ->check(positive_number())
      ->capture_default_str();
  command
      ->add_option("--chunk-rows", o->chunk_rows,
                   "read the sets this many rows at a time and accumulate their statistics "
                   "(memory for the statistics, (Σ d_i)² numbers, instead of whole sets; each "
                   "file read once; --memory-limit does not apply)")
      ->check(CLI::PositiveNumber);
  add_ascent_options(*command, o->ascent);
  add_common_options(*command, o->common);
  command->callback([o] {
    dispatch_precision(
        o->common, [&] { run_compare<double>(*o); }, [&] { run_compare<float>(*o); });
  });
}

}  // namespace gaussot::cli
