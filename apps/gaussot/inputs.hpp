// SPDX-License-Identifier: Apache-2.0
// The inputs of the `gaussot` commands (CLI.md, "Inputs"): .npy files read and checked, the two
// sides of a command and how they pair up, Gaussians and weights moved to the context, and the
// library's complaints about an argument turned into usage errors naming the option and file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gaussot/gaussot.hpp"
#include "options.hpp"
#include "usage_error.hpp"

namespace gaussot::cli {

/// A NumPy-style shape: "(3, 4)", "(5,)", "()".
std::string shape_text(const std::vector<std::int64_t>& shape);

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
    array_ = Array<T>::from_host(ctx, std::move(host_));
  }
  /// The weights for the library (after to_context), or an empty view.
  VectorBatch<const T> view() {
    return count_ > 0 ? VectorBatch<const T>(array_.vectors(count_, 1)) : VectorBatch<const T>();
  }
  /// {"weights", "OPTION: PATH"}, for name_inputs().
  std::pair<std::string, std::string> naming() const { return {"weights", source_}; }

 private:
  std::string source_ = "--weights";
  std::vector<T> host_;
  std::int64_t count_ = 0;
  Array<T> array_;
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
  Array<T> covariances_, means_;
};

/// A sample set (n, d) and the name it goes by in the results: one .npy file, or several row
/// shards (each (n_s, d), same d) read as their concatenation in order.
struct NamedFile {
  std::string name, option;              // option: where it was given, for messages
  std::vector<std::string> shards;       // the files, in row order
  std::vector<std::int64_t> shard_rows;  // n_s of each
  std::int64_t n = 0, d = 0;             // n = Σ n_s
  std::string where() const;
};

/// Rows [begin, begin + count) of a set (count x d, C order: a d x count column-major matrix),
/// across its shards, reading only those rows. UsageError naming the file if it changed or cannot
/// be read.
template <typename T>
std::vector<T> read_rows(const NamedFile& f, std::int64_t begin, std::int64_t count);

/// Where the sets of a set command (compare, cluster) come from: exactly one of
/// - `files`: one .npy file per set, named by its stem;
/// - `dir` (--dir): every *.npy file of the folder in name order, named by its stem;
/// - `dir_of_dirs` (--dir-of-dirs): every subfolder is a set named by the subfolder, its *.npy
///   files (name order) its row shards;
/// - `manifest` (--manifest): one set per line, "NAME PATH [PATH ...]" (several paths: row shards
///   in order) or "PATH" (named by its stem); tokens are separated by blanks, a path with blanks
///   is written in double quotes; empty lines and '#' comments are skipped; relative paths are
///   relative to the manifest's folder.
struct SampleFileOptions {
  std::vector<std::string> files;
  std::string dir, dir_of_dirs, manifest;
};

/// The sets, headers read and checked: each shard a 2-D (n_s, d) float array with n_s >= 1 and
/// d >= 1, one d per set, n >= 2 rows per set; names unique. UsageError naming the file otherwise.
std::vector<NamedFile> list_sample_files(const SampleFileOptions& inputs);

/// Registers the ways to give list_sample_files its sets: positional FILES, --dir, --dir-of-dirs
/// and --manifest; `what` describes the files ("activation files (n, d_i)").
void add_sample_file_options(CLI::App& command, SampleFileOptions& inputs, const std::string& what);

/// Runs a library computation. An InvalidArgument it throws about an argument named in `sources`
/// becomes a UsageError that starts with that input's source; others pass unchanged. The library's
/// message says "argument 'a.covariances' ...": a source named by the whole argument
/// ("options.sigma") wins over one named by the text before the first '.' ("a").
void name_inputs(const std::vector<std::pair<std::string, std::string>>& sources,
                 const std::function<void()>& compute);

}  // namespace gaussot::cli
