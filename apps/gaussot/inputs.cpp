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

}  // namespace

std::vector<NamedFile> list_sample_files(const std::vector<std::string>& paths,
                                         const std::string& dir, const std::string& manifest) {
  const int sources = int(!paths.empty()) + int(!dir.empty()) + int(!manifest.empty());
  if (sources != 1) {
    throw UsageError(std::string(sources == 0 ? "no input: " : "inputs given twice: ") +
                     "give sample files (n, d_i) .npy as arguments, or --dir DIR, or "
                     "--manifest FILE");
  }
  std::vector<NamedFile> files;
  if (!dir.empty()) {
    files = files_in_directory(dir);
  } else if (!manifest.empty()) {
    files = files_in_manifest(manifest);
  } else {
    for (const std::string& path : paths) {
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
    const NpyHeader header = blaming(f.option, [&] { return read_npy_header(f.path); });
    if (header.shape.size() != 2 || header.shape[0] < 2 || header.shape[1] < 1) {
      std::string shape;
      for (std::int64_t s : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
      throw UsageError(f.where() + ": expected activations of shape (n, d) with n >= 2 rows and " +
                       "d >= 1 features, got (" + shape + ")");
    }
    f.n = header.shape[0];
    f.d = header.shape[1];
  }
  return files;
}

void add_sample_file_options(CLI::App& command, std::vector<std::string>& paths, std::string& dir,
                             std::string& manifest, const std::string& what) {
  command.add_option("files", paths, what + " .npy, named by their stems");
  command.add_option("--dir", dir, "every .npy file of DIR, named by their stems");
  command.add_option("--manifest", manifest,
                     "a text file listing the inputs, one per line: 'NAME PATH' or 'PATH'");
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
