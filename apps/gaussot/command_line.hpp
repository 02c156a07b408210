// SPDX-License-Identifier: Apache-2.0
// The conventions every `gaussot` command shares (CLI.md): the general options, the backend and
// precision, reading and validating inputs, and the report (one JSON object on stdout or --out,
// arrays also as .npy with --save-prefix), written only once everything has succeeded.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace gaussot::cli {

/// Bad usage or bad input that the library did not see: exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Options every command takes.
struct CommonOptions {
  std::string backend = "auto";   ///< cpu | cuda | auto
  std::string precision = "f64";  ///< f64 | f32
  std::string out;                ///< --out FILE: the JSON goes there instead of stdout
  std::string save_prefix;        ///< --save-prefix P: arrays also to P<name>.npy
  int threads = 0;                ///< --threads N: CPU threads (0: all cores)
};

/// The most CPU threads --threads accepts (more is a typo, not a machine).
constexpr int kMaxThreads = 4096;

/// Registers the general options on a command. --out and --save-prefix are checked when parsed:
/// their folder must exist (and --out must not be a folder), so that a command refuses them before
/// computing rather than after.
void add_common_options(CLI::App& command, CommonOptions& options);

/// The context --backend asks for. Throws UsageError when it cannot be had.
Context make_context(const CommonOptions& options);

/// Runs `run_f64` or `run_f32` as --precision says.
void dispatch_precision(const CommonOptions& options, const std::function<void()>& run_f64,
                        const std::function<void()>& run_f32);

/// The clamping rule of CLI.md for every spectral step of the command: a covariance is positive
/// semidefinite when its smallest eigenvalue is >= -tau·max(1, largest) (scale floor 1).
SpectralOptions input_rule();

/// A CLI11 check of a numeric option: `ok(value)` must hold, else the option is refused with
/// "must be WHAT, got VALUE". NaN is refused too (unlike CLI::Range) when `ok` compares.
CLI::Validator number_check(const std::string& what, const std::function<bool(double)>& ok);

// The numeric checks every command uses, so that one kind of option means one thing everywhere
// (before, --sigma was "> 0 and < 1e300" in entropic but "finite and > 0" in sinkhorn); what a
// value does beyond them (σ too small or too large for the precision, say) the library refuses,
// naming the option.
/// A scale, step or penalty: finite and > 0.
CLI::Validator positive_number();
/// A tolerance: finite and >= 0.
CLI::Validator non_negative_number();
/// A count (iterations, restarts, samples, batch size): an integer >= minimum, below 1e12.
CLI::Validator count_at_least(std::int64_t minimum);
/// A time or fraction in [0, 1].
CLI::Validator unit_interval();

/// A CLI11 check of an output path, for --out, --save-prefix and other files a command writes:
/// the directory it goes into must exist (`prefix`: the path starts file names, as with
/// --save-prefix "results/run_"), and a file path must not be a directory. Empty passes.
CLI::Validator output_path_check(bool prefix);

/// Refuses, naming `option`, a request for more memory than this machine has: `bytes` (a double,
/// so that absurd requests do not overflow) against the physical memory. `what` says what the
/// memory is for ("2 x 1e12 x 3 coupling samples").
void check_memory(const std::string& option, double bytes, const std::string& what);

/// The options of the IGW Stiefel ascent (igw, igw-map, compare).
struct AscentOptions {
  bool no_ascent = false;
  int restarts = 0;
  int max_iterations = IgwOptions().max_iterations;
  double tolerance = IgwOptions().tolerance;
  std::uint64_t seed = 0;
  /// The library options these give, with the input clamping rule (input_rule()).
  IgwOptions igw_options() const;
};

/// Registers --restarts, --max-iterations, --tolerance, --seed and --no-ascent.
void add_ascent_options(CLI::App& command, AscentOptions& options);

/// One .npy input read for one option, after CLI.md's checks common to every input: float32 or
/// float64 (converted to T), the expected rank, no empty axis but the batch axis, finite values.
template <typename T>
struct InputFile {
  std::string option;  ///< the option that named the file, e.g. "--a-cov"
  std::string path;
  std::vector<T> data;             ///< C order
  std::vector<std::int64_t> item;  ///< shape of one item: (d, d), (d,), (n, d) or (k,)
  std::int64_t count = 1;          ///< items (the leading axis of a batched file)
  bool batched = false;            ///< the file had the leading batch axis
  std::int64_t size() const { return static_cast<std::int64_t>(data.size()); }
  /// The last axis of an item: the dimension of covariances, means and samples.
  std::int64_t d() const { return item.back(); }
  /// The file's shape, as NumPy writes it: "(3, 2, 2)".
  std::string shape_text() const;
  /// "OPTION: PATH", the start of every message about this input.
  std::string where() const { return option + ": " + path; }
};

/// Covariances (d, d) or (k, d, d), square, non-empty, symmetric within 1e-10·max|C| (f64;
/// sqrt(u32/u64) looser in f32). Each item's C order read column-major is its transpose: the same
/// matrix for these symmetric inputs. Positive semidefiniteness is checked later, on the context
/// (validate_gaussians or the computation itself).
template <typename T>
InputFile<T> read_covariances(const std::string& option, const std::string& path);
/// Means (d,) or (k, d).
template <typename T>
InputFile<T> read_means(const std::string& option, const std::string& path);
/// Sample sets (n, d) or (k, n, d) with n >= 2: item i is a column-major d x n matrix whose
/// columns are the samples.
template <typename T>
InputFile<T> read_samples(const std::string& option, const std::string& path);
/// Weights (k,), unbatched. Their values (non-negative, positive sum) are the library's to check.
template <typename T>
InputFile<T> read_weights(const std::string& option, const std::string& path);

/// The options of one side X in {a, b} of a two-sided command (CLI.md, "Inputs"):
/// --X-cov FILE [--X-mean FILE], or --X-samples FILE.
struct SideOptions {
  std::string name;  ///< "a" or "b"
  std::string cov, mean, samples;
  explicit SideOptions(std::string name_) : name(std::move(name_)) {}
};

/// Registers --X-cov, --X-mean and --X-samples.
void add_side_options(CLI::App& command, SideOptions& side);

/// A batch of Gaussians as its files give it, on the host: covariances and optional means, or
/// sample sets to fit.
template <typename T>
struct GaussianInput {
  std::string name;    ///< the library's name of the argument in messages: "a", "b", "inputs"
  std::string source;  ///< "OPTION: PATH" of the covariances or samples, for messages
  std::int64_t d = 0;
  std::int64_t count = 1;
  bool batched = false;
  std::vector<T> covariances;  ///< count packed d x d matrices (empty when given by samples)
  std::vector<T> means;        ///< count packed vectors of length d; empty: zero means
  std::vector<T> samples;      ///< count packed d x n matrices, columns are samples
  std::int64_t n = 0;          ///< samples per set; 0 when covariances are given
  bool from_samples() const { return n > 0; }
};

/// Covariances from `cov_option` and, when `mean_path` is not empty, means from `mean_option`
/// with the same batch structure: (d,) with (d, d), (k, d) with (k, d, d).
template <typename T>
GaussianInput<T> read_gaussians(const std::string& name, const std::string& cov_option,
                                const std::string& cov_path, const std::string& mean_option,
                                const std::string& mean_path);

/// One side of a two-sided command; UsageError for a missing side or conflicting options.
template <typename T>
GaussianInput<T> read_side(const SideOptions& side);

/// How the two sides of a command pair up (CLI.md): both unbatched (one pair, results unbatched),
/// both batched with the same count k (k pairs), or one unbatched against k (one-versus-many).
struct Pairing {
  std::int64_t count = 1;  ///< pairs computed
  bool batched = false;    ///< results carry the leading batch axis
};

/// Checks that both sides live in the same dimension (UsageError naming side b otherwise).
template <typename T>
void check_same_dimension(const GaussianInput<T>& a, const GaussianInput<T>& b);
/// The batch structure of one side, for pair_batches: batched or not, items, "OPTION: PATH".
struct BatchShape {
  bool batched = false;
  std::int64_t count = 1;
  std::string source;
};
/// How two sides pair up by their counts alone (sides of different dimensions: IGW, CKA).
Pairing pair_batches(const BatchShape& a, const BatchShape& b);
/// Checks dimensions and counts and says how the sides pair up.
template <typename T>
Pairing pair_sides(const GaussianInput<T>& a, const GaussianInput<T>& b);

/// An array as nested JSON lists of `shape` (C order data); an empty shape is a number. NaN is
/// written as null.
nlohmann::ordered_json nested_lists(const std::vector<std::int64_t>& shape,
                                    const std::vector<double>& c_order_data);

/// Collects a command's results and writes them out.
class Report {
 public:
  Report(std::string command, const CommonOptions& options, const Context& ctx);

  /// Result fields, in the order added, after "command", "backend", "precision", "time_ms".
  nlohmann::ordered_json& fields() { return fields_; }
  /// An array result: nested JSON lists of the given shape (C order data), and P<name>.npy. An
  /// empty shape is a scalar: a JSON number, and a 0-d array in the .npy file.
  void add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                 const std::vector<double>& c_order_data);

  void start_clock() { start_ = std::chrono::steady_clock::now(); }
  void stop_clock();
  /// Takes `ms` (time spent reading files during the computation) off time_ms.
  void exclude_ms(double ms) { time_ms_ = std::max(0.0, time_ms_ - ms); }

  /// Writes the .npy files, then the JSON (stdout or --out); on a write failure removes what
  /// this report had already written and throws.
  void emit() const;

 private:
  struct SavedArray {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<double> data;
  };
  std::string command_;
  CommonOptions options_;
  std::string backend_;
  nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
  std::vector<SavedArray> arrays_;
  std::chrono::steady_clock::time_point start_{};
  double time_ms_ = 0;
};

/// Data in the context's memory space: a host vector for CPU contexts (no copy), a device array
/// for CUDA contexts (copied in from the host, and back on request).
template <typename T>
class Buffer {
 public:
  /// Input data, moved in.
  Buffer(Context& ctx, std::vector<T> host);
  /// `size` uninitialised elements.
  Buffer(Context& ctx, std::int64_t size);
  MatrixBatch<T> matrices(std::int64_t rows, std::int64_t cols, std::int64_t count);
  VectorBatch<T> vectors(std::int64_t length, std::int64_t count);
  /// The contents as a host vector (the buffer is left empty).
  std::vector<T> take_host();

 private:
  Context& ctx_;
  std::vector<T> host_;
  Array<T> device_;
};

/// The optional --weights FILE of a set command (bw-barycenter, igw-barycenter, mmot): read when
/// constructed, then moved to the context; without a file, view() is empty (count 0), which asks
/// the library for its default weights.
template <typename T>
class SetWeights {
 public:
  explicit SetWeights(const std::string& path) {
    if (path.empty()) return;
    InputFile<T> file = read_weights<T>("--weights", path);
    source_ = file.where();
    host_ = std::move(file.data);
  }
  /// Moves the weights into the context's memory space.
  void to_context(Context& ctx) {
    count_ = static_cast<std::int64_t>(host_.size());
    buffer_.emplace(ctx, std::move(host_));
  }
  /// The weights for the library (after to_context), or an empty view.
  VectorBatch<const T> view() {
    return count_ > 0 ? VectorBatch<const T>(buffer_->vectors(count_, 1)) : VectorBatch<const T>();
  }
  /// {"weights", "OPTION: PATH"}, for name_inputs().
  std::pair<std::string, std::string> naming() const { return {"weights", source_}; }

 private:
  std::string source_ = "--weights";
  std::vector<T> host_;
  std::int64_t count_ = 0;
  std::optional<Buffer<T>> buffer_;
};

/// A batch of Gaussians in the context's memory space, ready for the library: the covariances
/// given, or the moments of the samples (sample_moments). Every batch is checked by
/// validate_gaussians under input_rule(); a failure is a UsageError naming the input's source.
template <typename T>
class Gaussians {
 public:
  /// `validate` false skips validate_gaussians (its eigvalsh per covariance) for commands whose
  /// library call applies the same rule itself while decomposing the covariances (IGW).
  Gaussians(Context& ctx, GaussianInput<T> input, bool validate = true);

  /// All items.
  GaussianBatch<const T> all();
  /// `count` items: the batch itself, or its one Gaussian repeated (one-versus-many).
  GaussianBatch<const T> paired(std::int64_t count);
  std::int64_t count() const { return count_; }
  std::int64_t dimension() const { return d_; }
  /// {library name, source}, for name_inputs().
  std::pair<std::string, std::string> naming() const { return {name_, source_}; }

 private:
  std::string name_, source_;
  std::int64_t d_, count_;
  bool centered_;
  Buffer<T> covariances_, means_;
};

/// Runs a library computation. An InvalidArgument it throws about an argument named in `sources`
/// becomes a UsageError that starts with that input's source; others pass unchanged. The library's
/// message says "argument 'a.covariances' ...": a source named by the whole argument
/// ("options.sigma") wins over one named by the text before the first '.' ("a").
void name_inputs(const std::vector<std::pair<std::string, std::string>>& sources,
                 const std::function<void()>& compute);

/// Shape of a result that follows the inputs: item_shape, after a leading axis of `count` when the
/// inputs were batched. An empty item_shape is a scalar.
std::vector<std::int64_t> result_shape(bool batched, std::int64_t count,
                                       std::vector<std::int64_t> item_shape);

/// Host results as double, for Report::add_array.
template <typename T>
std::vector<double> as_double(const std::vector<T>& values) {
  return {values.begin(), values.end()};
}

/// Reorders k packed column-major rows x cols items into C order (k, rows, cols), as double.
template <typename T>
std::vector<double> to_c_order(const std::vector<T>& column_major, std::int64_t rows,
                               std::int64_t cols, std::int64_t count);

}  // namespace gaussot::cli
