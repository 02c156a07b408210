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

#include "command_line.hpp"
#include "commands.hpp"
#include "report.hpp"

namespace gaussot::cli {
namespace {

namespace fs = std::filesystem;

struct CompareCommandOptions {
  CommonOptions common;
  std::vector<std::string> files;
  std::string dir, manifest;
  std::string metrics = "igw,bw,cka";
  bool centered = false, table = false, no_progress = false;
  std::string out_dir;
  double memory_limit_mib = 2048;
  AscentOptions ascent;
};

/// An activation file and the name it goes by in the results.
struct NamedFile {
  std::string name, path, option;  // option: where it was given, for messages
  std::int64_t n = 0, d = 0;
  std::string where() const { return option + ": " + path; }
};

/// The files of --dir: its *.npy files in name order, named by their stems.
std::vector<NamedFile> files_in_directory(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw UsageError("--dir: " + dir + " is not a directory");
  std::vector<NamedFile> files;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == ".npy" && it->is_regular_file(error)) {
      files.push_back({it->path().stem().string(), it->path().string(), "--dir"});
    }
  }
  if (error) throw UsageError("--dir: " + dir + ": cannot be listed (" + error.message() + ")");
  if (files.empty()) throw UsageError("--dir: " + dir + " holds no .npy file");
  std::sort(files.begin(), files.end(),
            [](const NamedFile& a, const NamedFile& b) { return a.path < b.path; });
  return files;
}

/// The files of a manifest: one per line, "NAME PATH" (PATH is the rest of the line) or just
/// "PATH" (named by its stem); empty lines and lines starting with '#' are skipped; relative
/// paths are relative to the manifest's folder.
std::vector<NamedFile> files_in_manifest(const std::string& manifest) {
  std::error_code error;
  if (fs::is_directory(manifest, error)) {
    throw UsageError("--manifest: " + manifest + " is a directory, not a list of files");
  }
  std::ifstream in(manifest);
  if (!in) throw UsageError("--manifest: " + manifest + " cannot be read");
  const fs::path base = fs::path(manifest).parent_path();
  std::vector<NamedFile> files;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string text = line.substr(first, last - first + 1);
    const auto gap = text.find_first_of(" \t");
    std::string name, path;
    if (gap == std::string::npos) {
      path = text;
      name = fs::path(path).stem().string();
    } else {
      name = text.substr(0, gap);
      path = text.substr(text.find_first_not_of(" \t", gap));
    }
    if (fs::path(path).is_relative()) path = (base / path).string();
    files.push_back({name, path, "--manifest " + manifest + " line " + std::to_string(number)});
  }
  if (files.empty()) throw UsageError("--manifest: " + manifest + " lists no file");
  return files;
}

/// The inputs, from exactly one of FILES, --dir, --manifest; headers read and checked: each a
/// 2-D (n, d) float array, all with the same n, names unique.
std::vector<NamedFile> list_inputs(const CompareCommandOptions& o) {
  const int sources = int(!o.files.empty()) + int(!o.dir.empty()) + int(!o.manifest.empty());
  if (sources != 1) {
    throw UsageError(std::string(sources == 0 ? "no input: " : "inputs given twice: ") +
                     "give activation files (n, d_i) .npy as arguments, or --dir DIR, or "
                     "--manifest FILE");
  }
  std::vector<NamedFile> files;
  if (!o.dir.empty()) {
    files = files_in_directory(o.dir);
  } else if (!o.manifest.empty()) {
    files = files_in_manifest(o.manifest);
  } else {
    for (const std::string& path : o.files) {
      files.push_back({fs::path(path).stem().string(), path, "FILES"});
    }
  }
  std::set<std::string> names;
  for (NamedFile& f : files) {
    if (!names.insert(f.name).second) {
      throw UsageError(f.where() + ": the name '" + f.name +
                       "' is given to two files (names must be unique; a manifest line "
                       "'NAME PATH' names a file)");
    }
    NpyHeader header;
    try {
      header = read_npy_header(f.path);
    } catch (const InvalidArgument& e) {
      throw UsageError(f.option + ": " + e.message());
    }
    if (header.shape.size() != 2 || header.shape[0] < 2 || header.shape[1] < 1) {
      std::string shape;
      for (std::int64_t s : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
      throw UsageError(f.where() + ": expected activations of shape (n, d) with n >= 2 rows and " +
                       "d >= 1 features, got (" + shape + ")");
    }
    f.n = header.shape[0];
    f.d = header.shape[1];
    if (f.n != files.front().n) {
      throw UsageError(f.where() + ": " + std::to_string(f.n) + " rows, but " +
                       files.front().where() + " has " + std::to_string(files.front().n) +
                       " (compared activations share their input rows)");
    }
  }
  return files;
}

struct Metrics {
  bool igw = false, bw = false, cka = false, cka_debiased = false;
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
    } else {
      throw UsageError("--metrics: unknown metric '" + item +
                       "' (choose from igw, bw, cka, cka_debiased, comma-separated)");
    }
  }
  if (!(m.igw || m.bw || m.cka || m.cka_debiased)) {
    throw UsageError("--metrics: name at least one of igw, bw, cka, cka_debiased");
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

template <typename T>
void run_compare(const CompareCommandOptions& o) {
  const Metrics metrics = parse_metrics(o.metrics);
  const std::vector<NamedFile> files = list_inputs(o);
  if (!o.out_dir.empty()) {
    // Checked now, created with the pictures: a failed comparison leaves no folder behind.
    try {
      check_out_dir(o.out_dir);
    } catch (const InvalidArgument& e) {
      throw UsageError("--out-dir: " + e.message());
    }
  }
  Context ctx = make_context(o.common);
  Report report("compare", o.common, ctx);

  // Each loader reads its file into one shared buffer (one file in memory at a time).
  auto buffer = std::make_shared<std::vector<T>>();
  double reading_ms = 0;
  std::vector<ActivationSet<T>> sets;
  for (const NamedFile& f : files) {
    sets.push_back({f.name, f.n, f.d, [f, buffer, &reading_ms] {
                      const auto start = std::chrono::steady_clock::now();
                      NdArray<T> array;
                      try {
                        array = read_npy<T>(f.path);
                      } catch (const InvalidArgument& e) {
                        throw UsageError(f.option + ": " + e.message());
                      }
                      if (array.shape != std::vector<std::int64_t>{f.n, f.d}) {
                        throw UsageError(f.where() + ": the file changed while being compared");
                      }
                      *buffer = std::move(array.data);
                      reading_ms += std::chrono::duration<double, std::milli>(
                                        std::chrono::steady_clock::now() - start)
                                        .count();
                      return matrices<const T>(buffer->data(), f.d, f.n, 1);
                    }});
  }
  CompareOptions options;
  options.igw = metrics.igw;
  options.bw = metrics.bw;
  options.cka = metrics.cka;
  options.cka_debiased = metrics.cka_debiased;
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
    comparison = compare_representations<T>(ctx, sets, options);
  } catch (const InvalidArgument& e) {
    bar.finish();
    // "sets[i] ('name')": say which file.
    const std::string& argument = e.argument();
    if (argument.rfind("sets[", 0) == 0) {
      const std::size_t i = std::stoul(argument.substr(5));
      if (i < files.size()) throw UsageError(files[i].where() + ": " + e.message());
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
    try {
      pictures = write_comparison_pictures(comparison, o.out_dir);
    } catch (const InvalidArgument& e) {
      throw UsageError("--out-dir: " + e.message());
    }
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
  command->add_option("files", o->files, "activation files (n, d_i) .npy, named by their stems");
  command->add_option("--dir", o->dir, "compare every .npy file of DIR (named by their stems)");
  command->add_option("--manifest", o->manifest,
                      "a text file listing the inputs, one per line: 'NAME PATH' or 'PATH'");
  command->add_option("--metrics", o->metrics, "comma-separated: igw, bw, cka, cka_debiased")
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
  add_ascent_options(*command, o->ascent);
  add_common_options(*command, o->common);
  command->callback([o] {
    dispatch_precision(
        o->common, [&] { run_compare<double>(*o); }, [&] { run_compare<float>(*o); });
  });
}

}  // namespace gaussot::cli
