// SPDX-License-Identifier: Apache-2.0
#include "command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <type_traits>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace gaussot::cli {

namespace fs = std::filesystem;

CLI::Validator output_path_check(bool prefix) {
  return CLI::Validator(
      [prefix](std::string& path) -> std::string {
        if (path.empty()) return {};  // the default: stdout, no .npy files
        std::error_code error;
        if (!prefix && fs::is_directory(path, error)) return "'" + path + "' is a directory";
        const fs::path folder = fs::path(path).parent_path();
        if (!folder.empty() && !fs::is_directory(folder, error)) {
          return "the directory '" + folder.string() + "' of '" + path + "' does not exist";
        }
        return {};
      },
      prefix ? "PREFIX" : "FILE");
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  command
      .add_option("--backend", options.backend, "cpu, cuda or auto (CUDA when a device is present)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  command.add_option("--precision", options.precision, "f64 or f32")
      ->check(CLI::IsMember({"f64", "f32"}))
      ->capture_default_str();
  command.add_option("--out", options.out, "write the JSON result to FILE instead of stdout")
      ->check(output_path_check(false));
  command
      .add_option("--save-prefix", options.save_prefix,
                  "also write every array result NAME to PREFIXNAME.npy")
      ->check(output_path_check(true));
  command
      .add_option("--threads", options.threads,
                  "CPU threads (0: one per core; at most " + std::to_string(kMaxThreads) + ")")
      ->check(number_check("an integer from 0 to " + std::to_string(kMaxThreads),
                           [](double n) { return n >= 0 && n <= kMaxThreads; }))
      ->capture_default_str();
}

void check_memory(const std::string& option, double bytes, const std::string& what) {
#if defined(__unix__) || defined(__APPLE__)
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: let the allocation decide
  const double available = double(pages) * double(page_size);
  if (!(bytes <= available)) {  // NaN too
    std::ostringstream message;
    message.precision(3);
    message << option << ": " << what << " need " << bytes / double(1 << 30)
            << " GiB, more than this machine's " << available / double(1 << 30) << " GiB of memory";
    throw UsageError(message.str());
  }
#else
  (void)option, (void)bytes, (void)what;
#endif
}

IgwOptions AscentOptions::igw_options() const {
  IgwOptions options;
  options.ascent = !no_ascent;
  options.restarts = restarts;
  options.max_iterations = max_iterations;
  options.tolerance = tolerance;
  options.seed = seed;
  options.spectral = input_rule();
  return options;
}

void add_ascent_options(CLI::App& command, AscentOptions& o) {
  command
      .add_option("--restarts", o.restarts,
                  "random restarts of the Stiefel ascent (uncentered pairs; local maxima "
                  "exist)")
      ->check(count_at_least(0))
      ->capture_default_str();
  command.add_option("--max-iterations", o.max_iterations, "ascent steps per pair, all restarts")
      ->check(count_at_least(0))
      ->capture_default_str();
  command
      .add_option("--tolerance", o.tolerance,
                  "stop the ascent when the relative Riemannian gradient norm is at most this")
      ->check(non_negative_number())
      ->capture_default_str();
  command.add_option("--seed", o.seed, "seed of the restarts and of the ascent's sketches")
      ->capture_default_str();
  command.add_flag("--no-ascent", o.no_ascent,
                   "report the analytic upper bound for uncentered pairs instead of ascending");
}

Context make_context(const CommonOptions& options) {
  if (options.backend == "cpu") return Context::cpu(options.threads);
  if (options.backend == "cuda") {
    try {
      return Context::cuda(0);
    } catch (const NotCompiled&) {
      throw UsageError("--backend cuda: this gaussot was built without the CUDA backend");
    } catch (const InvalidArgument&) {
      throw UsageError("--backend cuda: no CUDA device is available");
    }
  }
  return cuda_device_count() > 0 ? Context::cuda(0) : Context::cpu(options.threads);
}

void dispatch_precision(const CommonOptions& options, const std::function<void()>& run_f64,
                        const std::function<void()>& run_f32) {
  if (options.precision == "f32") {
    run_f32();
  } else {
    run_f64();
  }
}

SpectralOptions input_rule() {
  SpectralOptions rule;
  rule.scale_floor = 1.0;  // CLI.md: PSD when the smallest eigenvalue >= -tau·max(1, largest)
  return rule;
}

CLI::Validator positive_number() {
  return number_check("finite and > 0", [](double x) { return std::isfinite(x) && x > 0; });
}

CLI::Validator non_negative_number() {
  return number_check("finite and >= 0", [](double x) { return std::isfinite(x) && x >= 0; });
}

CLI::Validator count_at_least(std::int64_t minimum) {
  constexpr double kLargestCount = 1e12;
  return number_check("at least " + std::to_string(minimum) + " (and below 1e12)",
                      [minimum](double n) { return n >= double(minimum) && n < kLargestCount; });
}

CLI::Validator unit_interval() {
  return number_check("in [0, 1]", [](double t) { return t >= 0 && t <= 1; });
}

CLI::Validator number_check(const std::string& what, const std::function<bool(double)>& ok) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return "must be a number, got '" + text + "'";
        // NaN fails every comparison in `ok`, so it is refused (CLI::Range lets it through).
        if (!ok(value)) return "must be " + what + ", got " + text;
        return {};
      },
      what);
}

// ---- inputs ----------------------------------------------------------------------------------

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

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
  NdArray<T> array;
  try {
    array = read_npy<T>(path);
  } catch (const InvalidArgument& e) {
    throw UsageError(option + ": " + e.message());
  }
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

void add_side_options(CLI::App& command, SideOptions& side) {
  const std::string x = "--" + side.name + "-";
  command.add_option(x + "cov", side.cov,
                     "side " + side.name + ": covariances, (d, d) or (k, d, d) .npy");
  command.add_option(x + "mean", side.mean,
                     "side " + side.name + ": means, (d,) or (k, d) .npy (default: zero means)");
  command.add_option(x + "samples", side.samples,
                     "side " + side.name + ": samples, (n, d) or (k, n, d) .npy, instead of " + x +
                         "cov: the fitted Gaussian (sample mean, covariance with divisor n - 1)");
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
Buffer<T> covariance_buffer(Context& ctx, GaussianInput<T>& input) {
  if (input.from_samples()) return Buffer<T>(ctx, input.d * input.d * input.count);
  return Buffer<T>(ctx, std::move(input.covariances));
}

/// The means of `input` in the context's memory: the given ones (empty for zero means), or room
/// for the fit.
template <typename T>
Buffer<T> mean_buffer(Context& ctx, GaussianInput<T>& input) {
  if (input.from_samples()) return Buffer<T>(ctx, input.d * input.count);
  return Buffer<T>(ctx, std::move(input.means));
}

}  // namespace

template <typename T>
Gaussians<T>::Gaussians(Context& ctx, GaussianInput<T> input, bool validate)
    : name_(input.name),
      source_(input.source),
      d_(input.d),
      count_(input.count),
      centered_(!input.from_samples() && input.means.empty()),
      covariances_(covariance_buffer(ctx, input)),
      means_(mean_buffer(ctx, input)) {
  // Every failure here is about this one input.
  try {
    if (input.from_samples()) {
      Buffer<T> samples(ctx, std::move(input.samples));
      sample_moments<T>(ctx, samples.matrices(d_, input.n, count_), means_.vectors(d_, count_),
                        covariances_.matrices(d_, d_, count_));
    }
    if (validate) validate_gaussians<T>(ctx, all(), name_.c_str(), input_rule());
  } catch (const InvalidArgument& e) {
    throw UsageError(source_ + ": " + e.message());
  }
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

std::vector<std::int64_t> result_shape(bool batched, std::int64_t count,
                                       std::vector<std::int64_t> item_shape) {
  if (batched) item_shape.insert(item_shape.begin(), count);
  return item_shape;
}

// ---- outputs ---------------------------------------------------------------------------------

Report::Report(std::string command, const CommonOptions& options, const Context& ctx)
    : command_(std::move(command)), options_(options), backend_(to_string(ctx.backend())) {}

void Report::stop_clock() {
  time_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
}

namespace {
nlohmann::ordered_json nested(const std::vector<std::int64_t>& shape, std::size_t axis,
                              const double*& cursor) {
  if (axis == shape.size()) return *cursor++;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (std::int64_t i = 0; i < shape[axis]; ++i) list.push_back(nested(shape, axis + 1, cursor));
  return list;
}

}  // namespace

nlohmann::ordered_json nested_lists(const std::vector<std::int64_t>& shape,
                                    const std::vector<double>& c_order_data) {
  const double* cursor = c_order_data.data();
  return nested(shape, 0, cursor);
}

void Report::add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                       const std::vector<double>& c_order_data) {
  fields_[name] = nested_lists(shape, c_order_data);
  if (!options_.save_prefix.empty()) arrays_.push_back({name, shape, c_order_data});
}

void Report::emit() const {
  nlohmann::ordered_json document = nlohmann::ordered_json::object();
  document["command"] = command_;
  document["backend"] = backend_;
  document["precision"] = options_.precision;
  document["time_ms"] = time_ms_;
  for (const auto& [key, value] : fields_.items()) document[key] = value;
  const std::string text = document.dump(2) + "\n";

  std::vector<std::string> written;
  try {
    for (const SavedArray& a : arrays_) {
      const std::string path = options_.save_prefix + a.name + ".npy";
      try {
        if (options_.precision == "f32") {
          const std::vector<float> narrowed(a.data.begin(), a.data.end());
          write_npy<float>(path, narrowed.data(), a.shape);
        } else {
          write_npy<double>(path, a.data.data(), a.shape);
        }
      } catch (const InvalidArgument& e) {
        throw UsageError("--save-prefix: " + e.message());
      }
      written.push_back(path);
    }
    if (options_.out.empty()) {
      std::cout << text << std::flush;
    } else {
      try {
        write_file_atomically(options_.out, [&](std::ostream& out) { out << text; });
      } catch (const InvalidArgument& e) {
        throw UsageError("--out: " + e.message());
      }
    }
  } catch (...) {
    for (const std::string& path : written) std::remove(path.c_str());
    throw;
  }
}

template <typename T>
Buffer<T>::Buffer(Context& ctx, std::vector<T> host) : ctx_(ctx), host_(std::move(host)) {
  if (ctx.backend() == Backend::cuda) {
    const std::int64_t n = static_cast<std::int64_t>(host_.size());
    device_ = Array<T>(ctx, n);
    copy<T>(ctx, gaussot::vectors(host_.data(), n, 1), device_.vectors(n, 1));
    host_ = {};
  }
}

template <typename T>
Buffer<T>::Buffer(Context& ctx, std::int64_t size) : ctx_(ctx) {
  if (ctx.backend() == Backend::cuda) {
    device_ = Array<T>(ctx, size);
  } else {
    host_.resize(static_cast<std::size_t>(size));
  }
}

template <typename T>
MatrixBatch<T> Buffer<T>::matrices(std::int64_t rows, std::int64_t cols, std::int64_t count) {
  if (ctx_.backend() == Backend::cuda) return device_.matrices(rows, cols, count);
  return gaussot::matrices(host_.data(), rows, cols, count);
}

template <typename T>
VectorBatch<T> Buffer<T>::vectors(std::int64_t length, std::int64_t count) {
  if (ctx_.backend() == Backend::cuda) return device_.vectors(length, count);
  return gaussot::vectors(host_.data(), length, count);
}

template <typename T>
std::vector<T> Buffer<T>::take_host() {
  if (ctx_.backend() == Backend::cuda) {
    const std::int64_t n = device_.size();
    host_.resize(static_cast<std::size_t>(n));
    copy<T>(ctx_, device_.vectors(n, 1), gaussot::vectors(host_.data(), n, 1));
    device_ = Array<T>();
  }
  return std::move(host_);
}

template <typename T>
std::vector<double> to_c_order(const std::vector<T>& column_major, std::int64_t rows,
                               std::int64_t cols, std::int64_t count) {
  std::vector<double> c(column_major.size());
  for (std::int64_t i = 0; i < count; ++i) {
    const T* item = column_major.data() + i * rows * cols;
    double* out = c.data() + i * rows * cols;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t col = 0; col < cols; ++col) out[r * cols + col] = item[r + col * rows];
    }
  }
  return c;
}

#define GAUSSOT_INSTANTIATE(T)                                                                  \
  template struct InputFile<T>;                                                                 \
  template InputFile<T> read_covariances<T>(const std::string&, const std::string&);            \
  template InputFile<T> read_means<T>(const std::string&, const std::string&);                  \
  template InputFile<T> read_samples<T>(const std::string&, const std::string&);                \
  template InputFile<T> read_weights<T>(const std::string&, const std::string&);                \
  template GaussianInput<T> read_gaussians<T>(const std::string&, const std::string&,           \
                                              const std::string&, const std::string&,           \
                                              const std::string&);                              \
  template GaussianInput<T> read_side<T>(const SideOptions&);                                   \
  template void check_same_dimension<T>(const GaussianInput<T>&, const GaussianInput<T>&);      \
  template Pairing pair_sides<T>(const GaussianInput<T>&, const GaussianInput<T>&);             \
  template class Gaussians<T>;                                                                  \
  template class Buffer<T>;                                                                     \
  template std::vector<double> to_c_order<T>(const std::vector<T>&, std::int64_t, std::int64_t, \
                                             std::int64_t);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cli
