// SPDX-License-Identifier: Apache-2.0
#include "inputs.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace gaussot::cli {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

namespace {

/// "batch item i " for batched files, nothing for a single item: the start of a message about
/// one item.
template <typename T>
std::string item_text(const InputFile<T>& file, std::int64_t i) {
  return file.batched ? "batch item " + std::to_string(i) + " " : std::string();
}

/// Reads `path` for `option` with the checks every input shares: items of `item_rank` axes, all
/// non-empty, after one leading batch axis when `batch_allowed`; finite values. `expected` lists
/// the accepted shapes for the message.
template <typename T>
InputFile<T> read_input(const std::string& option, const std::string& path, std::size_t item_rank,
                        bool batch_allowed, const std::string& expected) {
  InputFile<T> file;
  file.option = option;
  file.path = path;
  NdArray<T> array = blaming(option, [&] { return read_npy<T>(path); });
  const std::vector<std::int64_t>& shape = array.shape;
  file.batched = batch_allowed && shape.size() == item_rank + 1;
  if (shape.size() != item_rank && !file.batched) {
    throw UsageError(file.where() + ": expected shape " + expected + ", got " + shape_text(shape));
  }
  file.count = file.batched ? shape[0] : 1;
  if (file.count == 0) {  // an empty batch: nothing to compute, most likely a wrong file
    throw UsageError(file.where() + ": expected shape " + expected +
                     " with at least one item, got " + shape_text(shape));
  }
  file.item.assign(shape.end() - static_cast<std::ptrdiff_t>(item_rank), shape.end());
  for (std::int64_t extent : file.item) {
    if (extent == 0) {
      throw UsageError(file.where() + ": expected shape " + expected +
                       " with non-empty items, got " + shape_text(shape));
    }
  }
  file.data = std::move(array.data);
  const std::int64_t item_size = file.count > 0 ? file.size() / file.count : 0;
  for (std::int64_t e = 0; e < file.size(); ++e) {
    if (!std::isfinite(file.data[e])) {
      throw UsageError(file.where() + ": " + item_text(file, e / item_size) +
                       "has a NaN or infinite entry");
    }
  }
  return file;
}

}  // namespace

template <typename T>
std::string InputFile<T>::shape_text() const {
  std::vector<std::int64_t> shape = item;
  if (batched) shape.insert(shape.begin(), count);
  return cli::shape_text(shape);
}

template <typename T>
InputFile<T> read_covariances(const std::string& option, const std::string& path) {
  InputFile<T> file = read_input<T>(option, path, 2, true, "(d, d) or (k, d, d)");
  const std::int64_t d = file.d();
  if (file.item[0] != d) {
    throw UsageError(file.where() + ": covariances must be square, got shape " + file.shape_text());
  }
  // CLI.md: symmetric when |C - Cᵀ| <= tau·max|C|.
  const double tau = input_tolerance<T>();
  for (std::int64_t i = 0; i < file.count; ++i) {
    const T* m = file.data.data() + i * d * d;
    double largest = 0;
    for (std::int64_t e = 0; e < d * d; ++e) largest = std::max(largest, std::abs(double(m[e])));
    for (std::int64_t c = 0; c < d; ++c) {
      for (std::int64_t r = c + 1; r < d; ++r) {
        const double asymmetry = std::abs(double(m[r + c * d]) - double(m[c + r * d]));
        if (asymmetry > tau * largest) {
          throw UsageError(file.where() + ": " + item_text(file, i) + "is not symmetric (|C[" +
                           std::to_string(r) + "," + std::to_string(c) + "] - C[" +
                           std::to_string(c) + "," + std::to_string(r) +
                           "]| = " + std::to_string(asymmetry) + ")");
        }
      }
    }
  }
  return file;
}

template <typename T>
InputFile<T> read_means(const std::string& option, const std::string& path) {
  return read_input<T>(option, path, 1, true, "(d,) or (k, d)");
}

template <typename T>
InputFile<T> read_samples(const std::string& option, const std::string& path) {
  InputFile<T> file = read_input<T>(option, path, 2, true, "(n, d) or (k, n, d)");
  if (file.item[0] < 2) {
    throw UsageError(file.where() + ": needs at least 2 samples (rows) per set, got " +
                     std::to_string(file.item[0]));
  }
  return file;
}

template <typename T>
InputFile<T> read_weights(const std::string& option, const std::string& path) {
  return read_input<T>(option, path, 1, false, "(k,)");
}

namespace {

namespace fs = std::filesystem;

/// The *.npy files of a folder in name order; `option` names the option for messages.
std::vector<std::string> npy_files_in(const std::string& dir, const std::string& option) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw UsageError(option + ": " + dir + " is not a directory");
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == ".npy" && it->is_regular_file(error)) {
      paths.push_back(it->path().string());
    }
  }
  if (error) throw UsageError(option + ": " + dir + ": cannot be listed (" + error.message() + ")");
  if (paths.empty()) throw UsageError(option + ": " + dir + " holds no .npy file");
  std::sort(paths.begin(), paths.end());
  return paths;
}

NamedFile one_file(const std::string& name, const std::string& path, const std::string& option) {
  return {name, option, {path}, {}, 0, 0};
}

/// The sets of --dir: its *.npy files in name order, named by their stems.
std::vector<NamedFile> files_in_directory(const std::string& dir) {
  std::vector<NamedFile> files;
  for (const std::string& path : npy_files_in(dir, "--dir")) {
    files.push_back(one_file(fs::path(path).stem().string(), path, "--dir"));
  }
  return files;
}

/// The sets of --dir-of-dirs: each subfolder (name order) a set of row shards.
std::vector<NamedFile> sets_in_subfolders(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw UsageError("--dir-of-dirs: " + dir + " is not a directory");
  }
  std::vector<std::string> folders;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->is_directory(error)) folders.push_back(it->path().string());
  }
  if (error) {
    throw UsageError("--dir-of-dirs: " + dir + ": cannot be listed (" + error.message() + ")");
  }
  if (folders.empty()) throw UsageError("--dir-of-dirs: " + dir + " holds no folder");
  std::sort(folders.begin(), folders.end());
  std::vector<NamedFile> files;
  for (const std::string& folder : folders) {
    files.push_back({fs::path(folder).filename().string(),
                     "--dir-of-dirs",
                     npy_files_in(folder, "--dir-of-dirs"),
                     {},
                     0,
                     0});
  }
  return files;
}

/// The blank-separated tokens of a manifest line; "..." quotes a token with blanks.
std::vector<std::string> manifest_tokens(const std::string& line, const std::string& where) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (true) {
    i = line.find_first_not_of(" \t\r", i);
    if (i == std::string::npos) break;
    if (line[i] == '"') {
      const std::size_t close = line.find('"', i + 1);
      if (close == std::string::npos) throw UsageError(where + ": unclosed double quote");
      tokens.push_back(line.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      const std::size_t end = line.find_first_of(" \t\r", i);
      tokens.push_back(line.substr(i, end == std::string::npos ? std::string::npos : end - i));
      i = end;
    }
  }
  return tokens;
}

/// The sets of a manifest (SampleFileOptions).
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
    const std::string where = "--manifest " + manifest + " line " + std::to_string(number);
    std::vector<std::string> tokens = manifest_tokens(line, where);
    NamedFile f{
        tokens.size() == 1 ? fs::path(tokens[0]).stem().string() : tokens[0], where, {}, {}, 0, 0};
    for (std::size_t t = tokens.size() == 1 ? 0 : 1; t < tokens.size(); ++t) {
      f.shards.push_back(fs::path(tokens[t]).is_relative() ? (base / tokens[t]).string()
                                                           : tokens[t]);
    }
    files.push_back(std::move(f));
  }
  if (files.empty()) throw UsageError("--manifest: " + manifest + " lists no file");
  return files;
}

}  // namespace

std::string NamedFile::where() const {
  std::string text = option + ": " + (shards.empty() ? std::string() : shards.front());
  if (shards.size() > 1) text += " (and " + std::to_string(shards.size() - 1) + " more shards)";
  return text;
}

template <typename T>
std::vector<T> read_rows(const NamedFile& f, std::int64_t begin, std::int64_t count) {
  std::vector<T> out(static_cast<std::size_t>(count * f.d));
  const std::int64_t end = begin + count;
  std::int64_t shard_begin = 0;  // the set's row where shard s starts
  for (std::size_t s = 0; s < f.shards.size(); ++s) {
    const std::int64_t rows = f.shard_rows[s];
    const std::int64_t from = std::max(begin, shard_begin), to = std::min(end, shard_begin + rows);
    if (from < to) {
      const std::string where = f.option + ": " + f.shards[s];
      blaming(where, [&] {
        if (read_npy_header(f.shards[s]).shape != std::vector<std::int64_t>{rows, f.d}) {
          throw UsageError(where + ": the file changed while being read");
        }
        read_npy_rows<T>(f.shards[s], from - shard_begin, to - from,
                         out.data() + (from - begin) * f.d);
      });
    }
    shard_begin += rows;
  }
  return out;
}

std::vector<NamedFile> list_sample_files(const SampleFileOptions& inputs) {
  const int sources = int(!inputs.files.empty()) + int(!inputs.dir.empty()) +
                      int(!inputs.dir_of_dirs.empty()) + int(!inputs.manifest.empty());
  if (sources != 1) {
    throw UsageError(std::string(sources == 0 ? "no input: " : "inputs given twice: ") +
                     "give sample files (n, d_i) .npy as arguments, or --dir DIR, or "
                     "--dir-of-dirs DIR, or --manifest FILE");
  }
  std::vector<NamedFile> files;
  if (!inputs.dir.empty()) {
    files = files_in_directory(inputs.dir);
  } else if (!inputs.dir_of_dirs.empty()) {
    files = sets_in_subfolders(inputs.dir_of_dirs);
  } else if (!inputs.manifest.empty()) {
    files = files_in_manifest(inputs.manifest);
  } else {
    for (const std::string& path : inputs.files) {
      files.push_back(one_file(fs::path(path).stem().string(), path, "FILES"));
    }
  }
  std::set<std::string> names;
  for (NamedFile& f : files) {
    if (!names.insert(f.name).second) {
      throw UsageError(f.where() + ": the name '" + f.name +
                       "' is given to two sets (names must be unique; a manifest line "
                       "'NAME PATH' names a file)");
    }
    for (const std::string& shard : f.shards) {
      const NpyHeader header = blaming(f.option, [&] { return read_npy_header(shard); });
      const std::string where = f.option + ": " + shard;
      if (header.shape.size() != 2 || header.shape[0] < 1 || header.shape[1] < 1) {
        throw UsageError(where + ": expected activations of shape (n, d) with n >= 1 rows and " +
                         "d >= 1 features, got " + shape_text(header.shape));
      }
      if (!f.shard_rows.empty() && header.shape[1] != f.d) {
        throw UsageError(where + ": " + std::to_string(header.shape[1]) + " features, but " +
                         f.shards.front() + " has " + std::to_string(f.d) +
                         " (the shards of a set share their features)");
      }
      f.d = header.shape[1];
      f.shard_rows.push_back(header.shape[0]);
      f.n += header.shape[0];
    }
    if (f.n < 2) {
      throw UsageError(f.where() + ": expected n >= 2 rows (samples) per set, got " +
                       std::to_string(f.n));
    }
  }
  return files;
}

void add_sample_file_options(CLI::App& command, SampleFileOptions& inputs,
                             const std::string& what) {
  command.add_option("files", inputs.files, what + " .npy, named by their stems");
  command.add_option("--dir", inputs.dir, "every .npy file of DIR, named by their stems");
  command.add_option("--dir-of-dirs", inputs.dir_of_dirs,
                     "every subfolder of DIR is a set named by the subfolder, its .npy files (in "
                     "name order) the set's row shards");
  command.add_option("--manifest", inputs.manifest,
                     "a text file listing the sets, one per line: 'NAME PATH [PATH ...]' (several "
                     "paths: row shards, in order) or 'PATH'; \"...\" quotes a path with blanks");
}

template <typename T>
GaussianInput<T> read_gaussians(const std::string& name, const std::string& cov_option,
                                const std::string& cov_path, const std::string& mean_option,
                                const std::string& mean_path) {
  InputFile<T> cov = read_covariances<T>(cov_option, cov_path);
  GaussianInput<T> g;
  g.name = name;
  g.source = cov.where();
  g.d = cov.d();
  g.count = cov.count;
  g.batched = cov.batched;
  if (!mean_path.empty()) {
    InputFile<T> mean = read_means<T>(mean_option, mean_path);
    if (mean.batched != cov.batched || mean.count != cov.count || mean.d() != cov.d()) {
      const std::vector<std::int64_t> expected =
          cov.batched ? std::vector<std::int64_t>{cov.count, cov.d()} : std::vector{cov.d()};
      throw UsageError(mean.where() + ": expected shape " + shape_text(expected) + " to match " +
                       cov_option + " " + cov.shape_text() + ", got " + mean.shape_text());
    }
    g.means = std::move(mean.data);
  }
  g.covariances = std::move(cov.data);
  return g;
}

template <typename T>
GaussianInput<T> read_side(const SideOptions& side) {
  const std::string x = "--" + side.name + "-";
  if (side.cov.empty() && side.samples.empty()) {
    throw UsageError(x + "cov or " + x + "samples is required (side " + side.name + ")");
  }
  if (!side.cov.empty() && !side.samples.empty()) {
    throw UsageError(x + "cov and " + x + "samples both given: give side " + side.name +
                     " as one or the other");
  }
  if (side.samples.empty()) {
    return read_gaussians<T>(side.name, x + "cov", side.cov, x + "mean", side.mean);
  }
  if (!side.mean.empty()) {
    throw UsageError(x + "mean cannot be combined with " + x +
                     "samples (the mean is fitted to the samples)");
  }
  InputFile<T> samples = read_samples<T>(x + "samples", side.samples);
  GaussianInput<T> g;
  g.name = side.name;
  g.source = samples.where();
  g.d = samples.d();
  g.count = samples.count;
  g.batched = samples.batched;
  g.n = samples.item[0];
  g.samples = std::move(samples.data);  // (k, n, d) in C order: k column-major d x n matrices
  return g;
}

template <typename T>
void check_same_dimension(const GaussianInput<T>& a, const GaussianInput<T>& b) {
  if (a.d != b.d) {
    throw UsageError(b.source + ": dimension " + std::to_string(b.d) +
                     " differs from side a's dimension " + std::to_string(a.d) + " (" + a.source +
                     ")");
  }
}

template <typename T>
Pairing pair_sides(const GaussianInput<T>& a, const GaussianInput<T>& b) {
  check_same_dimension(a, b);
  return pair_batches({a.batched, a.count, a.source}, {b.batched, b.count, b.source});
}

Pairing pair_batches(const BatchShape& a, const BatchShape& b) {
  if (a.batched && b.batched && a.count != b.count) {
    throw UsageError(b.source + ": " + std::to_string(b.count) + " batch items, but side a has " +
                     std::to_string(a.count) + " (" + a.source +
                     "); paired batches need the same count (give one side unbatched for "
                     "one-versus-many)");
  }
  return {a.batched ? a.count : b.count, a.batched || b.batched};
}

namespace {

/// The covariances of `input` in the context's memory: the given ones, or room for the fit.
template <typename T>
Array<T> covariance_array(Context& ctx, GaussianInput<T>& input) {
  if (input.from_samples()) return Array<T>(ctx, input.d * input.d * input.count);
  return Array<T>::from_host(ctx, std::move(input.covariances));
}

/// The means of `input` in the context's memory: the given ones (empty for zero means), or room
/// for the fit.
template <typename T>
Array<T> mean_array(Context& ctx, GaussianInput<T>& input) {
  if (input.from_samples()) return Array<T>(ctx, input.d * input.count);
  return Array<T>::from_host(ctx, std::move(input.means));
}

}  // namespace

template <typename T>
Gaussians<T>::Gaussians(Context& ctx, GaussianInput<T> input, bool validate)
    : name_(input.name),
      source_(input.source),
      d_(input.d),
      count_(input.count),
      centered_(!input.from_samples() && input.means.empty()),
      covariances_(covariance_array(ctx, input)),
      means_(mean_array(ctx, input)) {
  blaming(source_, [&] {  // every failure here is about this one input
    if (input.from_samples()) {
      Array<T> samples = Array<T>::from_host(ctx, std::move(input.samples));
      sample_moments<T>(ctx, samples.matrices(d_, input.n, count_), means_.vectors(d_, count_),
                        covariances_.matrices(d_, d_, count_));
    }
    if (validate) validate_gaussians<T>(ctx, all(), name_.c_str(), input_rule());
  });
}

template <typename T>
GaussianBatch<const T> Gaussians<T>::all() {
  const VectorBatch<const T> means =
      centered_ ? VectorBatch<const T>() : VectorBatch<const T>(means_.vectors(d_, count_));
  return {means, covariances_.matrices(d_, d_, count_)};
}

template <typename T>
GaussianBatch<const T> Gaussians<T>::paired(std::int64_t count) {
  // pair_sides() allows only count_ == count, or one Gaussian against count.
  return count_ == count ? all() : broadcast(all(), count);
}

void name_inputs(const std::vector<std::pair<std::string, std::string>>& sources,
                 const std::function<void()>& compute) {
  try {
    compute();
  } catch (const InvalidArgument& e) {
    // The library names the argument at fault, e.g. "b.covariances": map "b" to its option, or
    // "options.sigma" to --sigma when a source has that whole name.
    const std::string& whole = e.argument();
    const std::string argument = whole.substr(0, whole.find('.'));
    for (const std::string& wanted : {whole, argument}) {
      for (const auto& [name, source] : sources) {
        if (name == wanted) throw UsageError(source + ": " + e.message());
      }
    }
    throw;
  }
}

#define GAUSSOT_INSTANTIATE(T)                                                             \
  template struct InputFile<T>;                                                            \
  template InputFile<T> read_covariances<T>(const std::string&, const std::string&);       \
  template InputFile<T> read_means<T>(const std::string&, const std::string&);             \
  template InputFile<T> read_samples<T>(const std::string&, const std::string&);           \
  template std::vector<T> read_rows<T>(const NamedFile&, std::int64_t, std::int64_t);      \
  template InputFile<T> read_weights<T>(const std::string&, const std::string&);           \
  template GaussianInput<T> read_gaussians<T>(const std::string&, const std::string&,      \
                                              const std::string&, const std::string&,      \
                                              const std::string&);                         \
  template GaussianInput<T> read_side<T>(const SideOptions&);                              \
  template void check_same_dimension<T>(const GaussianInput<T>&, const GaussianInput<T>&); \
  template Pairing pair_sides<T>(const GaussianInput<T>&, const GaussianInput<T>&);        \
  template class Gaussians<T>;
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cli
