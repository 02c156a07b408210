// SPDX-License-Identifier: Apache-2.0
// The conventions every `gaussot` command shares (CLI.md): the general options, the backend and
// precision, reading and validating inputs, and the report (one JSON object on stdout or --out,
// arrays also as .npy with --save-prefix), written only once everything has succeeded.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
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
  std::string backend = "auto";  ///< cpu | cuda | auto
  std::string precision = "f64";  ///< f64 | f32
  std::string out;                ///< --out FILE: the JSON goes there instead of stdout
  std::string save_prefix;        ///< --save-prefix P: arrays also to P<name>.npy
  int threads = 0;                ///< --threads N: CPU threads (0: all cores)
};

/// Registers the general options on a command.
void add_common_options(CLI::App& command, CommonOptions& options);

/// The context --backend asks for. Throws UsageError when it cannot be had.
Context make_context(const CommonOptions& options);

/// Runs `run_f64` or `run_f32` as --precision says.
void dispatch_precision(const CommonOptions& options, const std::function<void()>& run_f64,
                        const std::function<void()>& run_f32);

/// A batch of square matrices read from one .npy file: (d, d) or (k, d, d).
template <typename T>
struct MatrixFile {
  std::vector<T> data;  ///< k packed d x d items (each item's C order read column-major: its
                        ///< transpose, the same matrix for the symmetric inputs read here)
  std::int64_t d = 0;
  std::int64_t count = 0;
  bool batched = false;  ///< the file was 3-d
};

/// Reads covariances for option `option` (e.g. "--cov") and checks CLI.md's input rules: shape
/// (d, d) or (k, d, d), finite, and symmetric within 1e-10·max|C| (f64; √(u32/u64) looser in
/// f32). Positive semidefiniteness is checked by the computation that needs it.
template <typename T>
MatrixFile<T> read_covariances(const std::string& option, const std::string& path);

/// Collects a command's results and writes them out.
class Report {
 public:
  Report(std::string command, const CommonOptions& options, const Context& ctx);

  /// Result fields, in the order added, after "command", "backend", "precision", "time_ms".
  nlohmann::ordered_json& fields() { return fields_; }
  /// An array result: nested JSON lists of the given shape (C order data), and P<name>.npy.
  void add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                 const std::vector<double>& c_order_data);

  void start_clock() { start_ = std::chrono::steady_clock::now(); }
  void stop_clock();

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

/// Reorders k packed column-major rows x cols items into C order (k, rows, cols), as double.
template <typename T>
std::vector<double> to_c_order(const std::vector<T>& column_major, std::int64_t rows,
                               std::int64_t cols, std::int64_t count);

}  // namespace gaussot::cli
